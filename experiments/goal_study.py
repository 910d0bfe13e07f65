"""What shapes the agent's goal: goal misgeneralization over corner size, share and maze size.

Runs the sweep of ``experiments/specs/goal_misgeneralization.json`` (issue 11's study) on
devrl's local process pool: maze agents trained with the cheese in a top-right region of
side 1-7 (9x9), with a share 0-0.1 of training levels with the cheese anywhere (corner
1), and on mazes of side 7, 9 and 11 (corner 1), several seeds per cell. Every
checkpoint of every run is tracked in distribution (success, corner visits, regret) and
with the cheese anywhere: success against the exact pure corner-seeker's on the same
episodes (``success-vs-corner``), reaching the corner before the cheese
(``corner-first``) and P(cheese | decision square) (``decision-cheese``).

The analysis (devrl.forms, devrl.stats): the functional form of each tracked quantity
over training per run, and the effects of the environment variables on the fitted
parameters (seed as a random effect); the form of the final off-distribution success and
P(cheese | decision square) as a function of corner size and of the share (logistic,
power, threshold, against constant and linear); when corner-seeking first appears
(``corner-first`` crossing a threshold) and whether the environment variables move it.

    nice -n 10 python experiments/goal_study.py --quick --workers 1   # 8 runs, ~7 CPU-min
    nice -n 10 python experiments/goal_study.py --workers 2           # 50 runs, 3.4 CPU-h
    python experiments/goal_study.py --figures-only [--quick]         # redraw from saved data

Budget of the full mode (from measured speeds, see experiments/specs/goal_misgeneralization.md):
50 runs of 1M environment steps with 25 tracked checkpoints: measured 3.32 CPU-hours (most
runs beside other jobs; planned 2.9 on a free machine, ~1.5 h wall on 2 free cores), plus
4.2 CPU-min of analysis; resumable
(rerun the command: finished trials are skipped, interrupted ones resume from their last
checkpoint). Run directories stay under ``sweeps/`` (git-ignored) with their checkpoints,
so later studies (issue 12's shard measures on the corner 1/3/5 runs) can track them.
Only the tidy tables are copied to ``--out``/quick or ``--out``/full. Quick mode (measured):
52.5 CPU-s per run (41.4 training, 11.1 tracking), 7.0 CPU-minutes for the 8 runs (33 min
wall at nice 10 on a machine at load 7-9), ~0.6 CPU-min of analysis.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from devrl._io import atomic_write_text
from devrl.paper import data_dir, experiment_parser
from devrl.sweep import read_status, run_sweep

try:  # run as a script (devrl paper) or imported from the repository root
    from goal_study_analysis import analyse
    from goal_study_report import NAME, make_figures
except ImportError:  # pragma: no cover
    from experiments.goal_study_analysis import analyse
    from experiments.goal_study_report import NAME, make_figures

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "specs" / "goal_misgeneralization.json"
QUICK = {
    "name": "goal_study_quick",
    "base": {"size": 7, "total_timesteps": 300_000, "checkpoints": 10},
    "grid": [{"corner": [1, 3, 5]}, {"cheese_anywhere": [0.1]}],
    "seeds": 2,
    "out": "sweeps/goal_study_quick",
}
"""Quick mode: the full spec with these keys replaced (a reduced grid on 7x7)."""


def study_spec(quick: bool) -> dict:
    """The sweep spec: the committed full spec, or its quick reduction."""
    spec = json.loads(SPEC.read_text())
    if quick:
        base = {**spec["base"], **QUICK["base"]}
        spec = {**spec, **QUICK, "base": base}
    return spec


def run_experiment(args) -> Path:
    """Run (or resume) the sweep, then copy its tidy tables into the data folder."""
    folder = data_dir(args.out, args.quick)
    spec = study_spec(args.quick)
    # the runs (with their checkpoints) stay in the repository's git-ignored sweeps/
    result = run_sweep(spec, workers=args.workers, out=ROOT / spec["out"], progress=True)
    trials = result.trials.copy()
    info = [(read_status(result.out, name) or {}).get("info", {}) for name in trials["run"]]
    for key in ("train_cpu_seconds", "track_cpu_seconds", "final_step"):
        trials[key] = [i.get(key, np.nan) for i in info]
    folder.mkdir(parents=True, exist_ok=True)
    keep = [c for c in result.results.columns if c not in ("error", "attempts", "seconds")]
    atomic_write_text(folder / "results.csv", result.results[keep].to_csv(index=False))
    atomic_write_text(folder / "trials.csv", trials.to_csv(index=False))
    failed = trials[trials["status"] != "finished"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} trial(s) did not finish: {list(failed['run'])}")
    return folder


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--workers", type=int, default=None, help="trials side by side (default: all cores)"
    )
    parser.add_argument(
        "--boot", type=int, default=200, help="seed resamples of the form comparisons"
    )
    args = parser.parse_args()
    base = study_spec(args.quick)["base"]
    folder = data_dir(args.out, args.quick)
    if args.figures_only and not args.quick and not (folder / "results.csv").is_file():
        # the full sweep (~3 CPU-hours) has not been run here: its section says so
        print(f"[{NAME}] no full-mode data in {folder}: nothing to draw (run without --quick)")
        return
    if args.figures_only:
        data_dir(args.out, args.quick, reading="study_table.csv")  # says what to run if absent
    else:
        run_experiment(args)
        analyse(folder, base, args.boot)
    make_figures(args, base)


if __name__ == "__main__":
    main()
