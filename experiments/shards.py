"""Shards over training: which goal maze agents pursue, the mechanisms behind it, and when they form.

Issue 12 on agents trained with the cheese in the top-right region of side 1, 3 and 5
(``experiments/specs/shard_agents_9.json``: 9x9, 3 seeds each, 2M steps, 30
checkpoints; devrl's sweep pool). At the final checkpoint of each agent, on the same
seeded cheese-anywhere levels with a decision square (:mod:`devrl.mechanisms`):

* ``choices.csv``: the greedy choice and P(cheese action) at the decision square;
* ``regression_*.csv``: L1 logistic regression of "goes to the cheese" on z-scored
  geometry, accuracy and ROC AUC over 50 random 80/20 splits against the majority class,
  bootstrap coefficients, VIFs; ``_reduced`` without ``path_cheese_corner`` (the sum of
  two other path features in a perfect maze);
* ``steering_*.csv`` / ``corner_*.csv``: the cheese vector (the corner vector) subtracted
  and added at every hook point, with a same-norm random vector and another level's
  vector as controls;
* ``channels_*.csv``: per channel, correlation of its map with the cheese and the change
  in the policy when it is resampled from the maze with the cheese elsewhere;
* ``retarget.csv``: the 3 most cheese-correlated channels of two layers clamped (1x and 5x
  their largest activation) at a random cell off the ways to the cheese and the corner,
  against no intervention, the cheese moved there and 3 random channels;
* ``emmons.csv``: Scott Emmons' statistics (:mod:`devrl.mechanisms.emmons`) with the
  cheese where training puts it; ``probe.csv``: a linear probe for the cheese's cell.

Over training, ``tracks.csv``: ``choice-regression``, ``cheese-vector``,
``cheese-channels``, ``cheese-probe``, ``retarget`` (at ``trunk.res1.hook_out``) and the
LLC (``llc-action-uniform``, the LLC section's calibrated setting) at every checkpoint
(quick: 5 of 10) per agent, with the sweep's ``success`` and ``decision-cheese`` at all of
them; onsets, their lags against success and against the LLC, and functional forms
(:mod:`devrl.forms`). ``pilot_13x13.csv``: the training logs of a 13x13 pilot
(``experiments/specs/shard_agents_13.json``, stopped early: it did not learn in time), when
its sweep is present.

    nice -n 10 python experiments/shards.py --workers 2          # full: ~1.5 CPU-h, resumable
    python experiments/shards.py --quick                         # 7x7, 3 agents: ~4 CPU-min
    python experiments/shards.py --figures-only [--quick]        # redraw from saved tables

The run directories (with checkpoints) stay in the git-ignored ``sweeps/``; only the
tidy tables are committed under ``paper/data/shards/{quick,full}/``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write, atomic_write_text
from devrl._pool import parallel_map
from devrl.checkpoints import nearest_checkpoints
from devrl.envs import sample_level
from devrl.forms import compare_curves, halfway_onsets, onset_lags
from devrl.measures import Measure, get_measure, uniform_llc
from devrl.mechanisms import (
    channel_correlations,
    cheese_channels,
    cheese_edit,
    cheese_probe,
    choice_regression,
    decision_choices,
    emmons_statistics,
    level_features,
    off_path_targets,
    resampling_ablation,
    retarget_scores,
    sample_decision_levels,
    steering_effects,
    steering_summary,
    touched_fraction,
    within_reach,
)
from devrl.paper import (
    data_dir,
    experiment_parser,
    llc_calibration,
)
from devrl.rollouts import evaluate
from devrl.runs import Run
from devrl.sweep import run_sweep
from devrl.track import track

try:  # run as a script (devrl paper) or imported from the repository root
    import shards_figures as figures
    import shards_report as report
    import shards_summary as summaries
    from shards_summary import TRACKED
except ImportError:  # pragma: no cover
    from experiments import shards_figures as figures
    from experiments import shards_report as report
    from experiments import shards_summary as summaries
    from experiments.shards_summary import TRACKED

NAME = "shards"
ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "specs" / "shard_agents_9.json"
PILOT = ROOT / "sweeps" / "shard_agents"
"""The 13x13 pilot's sweep (``experiments/specs/shard_agents_13.json``), stopped early: the
same network did not learn that maze (the section's limits quote its training logs)."""
QUICK = {
    "name": "shards_quick",
    "base": {"size": 7, "total_timesteps": 300_000, "checkpoints": 10},
    "seeds": 1,
    "measures": ["success", "corner", {"name": "decision-cheese", "levels": 200}],
    "out": "sweeps/shards_quick",
}
"""Quick mode: the full spec with these keys replaced (7x7, one seed per corner size)."""
LEVEL_SEED = 2024
"""Seeds the decision-square levels of the final-checkpoint analyses."""
LAYER = "trunk.res1.hook_out"
"""The layer of the tracked vector, channels, probe and retargeting (first block's output)."""
RETARGET_LAYERS = ("trunk.conv2.hook_out", LAYER)
VALUE_SCALES = (1.0, 5.0)
"""Clamp values, in units of the largest activation of the clamped channels on the levels."""
EMMONS_SCALE = 5.0
"""The clamp value of Emmons' edit, in units of the channels' largest activation."""
REG_SPLITS = 50
"""Random train/test splits behind the regression's accuracy."""
PROBE_THRESHOLD = 0.9
"""Emmons' bar for a probe that recovers the cheese's exact cell."""
SIZES = {
    "quick": {"reg": 300, "mech": 50, "probe": 500, "episodes": 64, "k": 5},
    "full": {"reg": 3000, "mech": 300, "probe": 2000, "episodes": 256, "k": None},
}
"""Levels per analysis, evaluation episodes and tracked checkpoints per agent (None: all)."""
TRACK_COLUMNS = ["run", "seed", "corner", "size", "step", "measure", "value", "stderr"]
"""Columns of ``tracks.csv``: the sweep's measures at every checkpoint, the rest at ~k."""
PERSIST = 2
"""Checkpoints a curve must stay past half its way for an onset (one noisy point is not one)."""


def _write(frame: pd.DataFrame, path: Path) -> None:
    """A table as CSV; gzipped (with a fixed header, so the bytes are reproducible) when
    ``path`` ends in ``.gz``: the per-level tables of 9 agents would otherwise take 30 MB."""
    text = frame.to_csv(index=False, float_format="%.6g")
    if path.suffix == ".gz":
        data = gzip.compress(text.encode(), mtime=0)
        atomic_write(path, lambda f: f.write(data))
    else:
        atomic_write_text(path, text)


def sweep_spec(quick: bool) -> dict:
    """The committed full spec, or its quick reduction."""
    spec = json.loads(SPEC.read_text())
    if quick:
        spec = {**spec, **QUICK, "base": {**spec["base"], **QUICK["base"]}}
    return spec


# ----------------------------------------------------------------- one agent, final checkpoint
def analyse_agent(run: Run, out: Path, sizes: dict) -> None:
    """Every final-checkpoint table of one agent, written under ``out`` (resumable)."""
    if (out / "done.txt").is_file():
        return
    out.mkdir(parents=True, exist_ok=True)
    policy = run.policy(run.steps[-1])
    size, corner = int(run.config["size"]), int(run.config["corner"])
    in_dist = evaluate(policy, {"size": size, "corner": corner}, episodes=sizes["episodes"])
    max_steps = round(float(in_dist["length"].mean()))
    _write(
        pd.DataFrame([{"success": in_dist["reached_cheese"].mean(), "length": max_steps}]),
        out / "evaluation.csv",
    )
    levels, _ = sample_decision_levels(size, sizes["reg"], seed=LEVEL_SEED)
    choices = decision_choices(policy, levels).set_index("level")
    _write(choices.reset_index()[["level", "p_cheese", "p_corner", "branch"]], out / "choices.csv")
    feats = level_features(levels).set_index("level")
    y = (choices.loc[feats.index, "branch"] == "cheese").to_numpy()
    if 0 < y.sum() < len(y) - 1:  # a regression needs both choices
        for label, frame in (("", feats), ("_reduced", feats.drop(columns="path_cheese_corner"))):
            res = choice_regression(frame, y, splits=REG_SPLITS, resamples=200, seed=0)
            _write(res.coefficients, out / f"regression{label}_coefficients.csv")
            _write(pd.DataFrame([res.summary()]), out / f"regression{label}_summary.csv")

    mech = levels[: sizes["mech"]]
    effects = steering_effects(policy, mech, coeffs=(-1.0, 1.0), seed=0)
    _write(effects, out / "steering_effects.csv.gz")
    _write(steering_summary(effects), out / "steering_summary.csv")
    corner_eff = steering_effects(policy, mech, coeffs=(1.0, -1.0), seed=0, goal="corner")
    _write(corner_eff, out / "corner_effects.csv.gz")

    corr = channel_correlations(policy, mech, seed=0)
    abl = resampling_ablation(policy, mech, [str(x) for x in corr["layer"].unique()], seed=0)
    _write(corr, out / "channels_correlation.csv")
    _write(cheese_channels(corr, abl), out / "channels_count.csv")
    _write(retarget(policy, mech, corr, max_steps), out / "retarget.csv.gz")

    rng = np.random.default_rng(LEVEL_SEED)
    trained = [sample_level(size, corner, rng) for _ in range(sizes["mech"])]
    channels, value = cheese_edit(policy, mech, LAYER, corr, k=3, scale=EMMONS_SCALE)
    emmons = emmons_statistics(
        policy, trained, LAYER, channels, value=value, max_steps=max_steps, seed=0
    )
    _write(emmons, out / "emmons.csv")
    anywhere = [sample_level(size, None, rng) for _ in range(sizes["probe"])]
    _write(cheese_probe(policy, anywhere, seed=0), out / "probe.csv")
    atomic_write_text(out / "done.txt", "all tables of this agent are written\n")


def retarget(
    policy: torch.nn.Module, levels: list, corr: pd.DataFrame, max_steps: int
) -> pd.DataFrame:
    """The cheese edit at each of ``RETARGET_LAYERS`` x ``VALUE_SCALES``, scored on ``levels``."""
    targets = off_path_targets(levels, seed=LEVEL_SEED)
    keep = [i for i, t in enumerate(targets) if t is not None]
    levels, targets = [levels[i] for i in keep], [targets[i] for i in keep]
    size = levels[0][0].shape[0]
    reach = within_reach(levels, targets, max_steps)
    frames = []
    for layer in RETARGET_LAYERS:
        for scale in VALUE_SCALES:
            channels, value = cheese_edit(policy, levels, layer, corr, k=3, scale=scale)
            scores = retarget_scores(
                policy, levels, targets, layer, channels, value=value, max_steps=max_steps
            )
            frames.append(
                scores.assign(
                    layer=layer,
                    scale=scale,
                    channels=" ".join(map(str, channels)),
                    touched=touched_fraction(policy, layer, channels, size, targets=targets),
                    within_reach=scores["level"].map(dict(enumerate(reach))),
                )
            )
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------- over training
def llc_measure(quick: bool) -> Measure:
    """The LLC section's estimator: ``experiments/llc_over_training.py`` calibrated SGLD on
    agents of the same preset; its committed ``calibration.json`` of the same mode is reused."""
    return uniform_llc(llc_calibration(quick))


def over_training(
    runs: dict[str, Run], k: int | None, workers: int | None, llc: Measure
) -> pd.DataFrame:
    """The shard measures and the LLC at ~``k`` checkpoints of each agent (None: at all)."""
    measures = [
        llc,
        get_measure("choice-regression", levels=300),
        get_measure("cheese-vector", levels=100),
        get_measure("cheese-channels", levels=100),
        get_measure("cheese-probe", levels=1000),
        get_measure("retarget", levels=100),
    ]
    frames = []
    for run in runs.values():
        steps = (
            run.steps if k is None else [run.steps[i] for i in nearest_checkpoints(run.steps, k)]
        )
        frames.append(track(run, measures, steps=steps, workers=workers, progress=True))
    return pd.concat(frames, ignore_index=True)[TRACK_COLUMNS]


# ----------------------------------------------------------------- main
def _analyse_one(job: tuple[str, str, dict]) -> str:
    """Pool task: one agent's final-checkpoint tables (module level: it is pickled)."""
    run_dir, out, sizes = job
    torch.set_num_threads(1)
    analyse_agent(Run.load(run_dir), Path(out), sizes)
    return out


def collect_pilot(sweep: Path) -> pd.DataFrame:
    """In-distribution success over training of each run of the 13x13 pilot, from its logs.

    Success per PPO update (``charts/success_rate`` of ``metrics.csv``, with the number of
    episodes it averages); the pilot was stopped before its budget, so its logs, not its
    checkpoints, are the record.
    """
    frames = []
    for run_dir in sorted((sweep / "runs").glob("*/metrics.csv")):
        run = Run.load(run_dir.parent)
        metrics = run.metrics[["step", "charts/success_rate", "charts/episodes"]]
        about = {k: run.config[k] for k in ("size", "corner", "seed", "total_timesteps")}
        frames.append(
            metrics.rename(
                columns={"charts/success_rate": "success", "charts/episodes": "episodes"}
            ).assign(run=run_dir.parent.name, **about)
        )
    return pd.concat(frames, ignore_index=True)


def run_experiment(args, spec: dict, root: Path) -> None:
    """Train (or resume) the agents, analyse each final checkpoint, track them over training."""
    sizes = SIZES["quick" if args.quick else "full"]
    result = run_sweep(spec, workers=args.workers, out=ROOT / spec["out"], progress=True)
    trials = result.trials
    failed = trials[trials["status"] != "finished"]
    if len(failed):
        raise SystemExit(f"error: {len(failed)} agent(s) did not finish: {list(failed['run'])}")
    agents = trials[["run", "corner", "seed"]].copy()
    root.mkdir(parents=True, exist_ok=True)
    runs = {name: Run.load(result.out / "runs" / name) for name in agents["run"]}
    jobs = [(str(runs[n].path), str(root / "agents" / n), sizes) for n in agents["run"]]
    for i, done in enumerate(parallel_map(_analyse_one, jobs, workers=args.workers), 1):
        print(f"[{NAME}] agent {i}/{len(jobs)} analysed: {Path(done).name}", flush=True)
    llc = llc_measure(args.quick)
    swept = result.results[result.results["measure"].isin(TRACKED)][TRACK_COLUMNS]
    tracked = over_training(runs, sizes["k"], args.workers, llc)
    _write(pd.concat([swept, tracked], ignore_index=True), root / "tracks.csv")
    _write(agents, root / "agents.csv")
    if not args.quick and (PILOT / "runs").is_dir():
        _write(collect_pilot(PILOT), root / "pilot_13x13.csv")


def analyse(root: Path) -> dict[str, pd.DataFrame]:
    """Over-agent summaries, onsets, their order and forms, written next to the agents."""
    agents = pd.read_csv(root / "agents.csv")
    summary = summaries.summarize(root, agents)
    for key, frame in summary.items():
        _write(frame, root / f"summary_{key}.csv")
    tracks = pd.read_csv(root / "tracks.csv")
    onset = halfway_onsets(tracks, list(TRACKED), keep=("corner", "seed"), persist=PERSIST)
    _write(onset, root / "onsets.csv")
    _write(onset_lags(onset, "success"), root / "onset_order.csv")
    if "llc-action-uniform" in set(onset.loc[onset["moved"], "measure"]):
        _write(onset_lags(onset, "llc-action-uniform"), root / "onset_order_llc.csv")
    forms = compare_curves(tracks, list(TRACKED), by=["corner"])
    keep = ["form", "status", "k", "aicc", "delta_aicc", "weight", "corner", "measure"]
    _write(forms[keep] if len(forms) else forms, root / "forms.csv")
    return summary


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes side by side (default: all cores)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = sweep_spec(args.quick)
    root = data_dir(args.out, args.quick)
    if args.figures_only and not args.quick and not (root / "agents.csv").is_file():
        print(f"[{NAME}] no full-mode data in {root}: nothing to draw (run without --quick)")
        return
    if args.figures_only:
        data_dir(args.out, args.quick, reading="agents.csv")  # says what to run if absent
    else:
        run_experiment(args, spec, root)
    analyse(root)  # the summaries are rebuilt from the per-agent tables (seconds)
    agents = pd.read_csv(root / "agents.csv")
    summary = {
        key: pd.read_csv(root / f"summary_{key}.csv")
        for key in (
            "decision",
            "steering",
            "corner_vector",
            "channels",
            "retarget",
            "emmons",
            "probe",
        )
    }
    for key in ("regression", "coefficients"):
        if (root / f"summary_{key}.csv").is_file():
            summary[key] = pd.read_csv(root / f"summary_{key}.csv")
    tracks, onset = pd.read_csv(root / "tracks.csv"), pd.read_csv(root / "onsets.csv")
    forms = (
        pd.read_csv(root / "forms.csv")
        if (root / "forms.csv").stat().st_size > 1
        else pd.DataFrame()
    )
    order = pd.read_csv(root / "onset_order.csv")
    args.figures.mkdir(parents=True, exist_ok=True)
    figures.figure_over_training(tracks, onset, args.figures / f"{NAME}_over_training")
    figures.figure_final(summary, args.figures / f"{NAME}_final")
    design = {
        "name": NAME,
        "size": int(spec["base"]["size"]),
        "steps": int(spec["base"]["total_timesteps"]),
        "checkpoints": tracks[tracks["measure"] == "success"]["step"].nunique(),
        "tracked": tracks[tracks["measure"] == "cheese-vector"]["step"].nunique(),
        "layer": LAYER,
        "retarget_layers": dict(zip(("Conv", ""), RETARGET_LAYERS, strict=True)),
        "value_scales": dict(zip(("", "High"), VALUE_SCALES, strict=True)),
        "emmons_scale": EMMONS_SCALE,
        "tracks": tracks,
        "reg_splits": REG_SPLITS,
        "probe_threshold": PROBE_THRESHOLD,
        "persist": PERSIST,
        "pilot": root / "pilot_13x13.csv",
    }
    report.write_tables(summary, forms, design, args.tables)
    llc_order = root / "onset_order_llc.csv"
    report.write_lag_table(
        order, pd.read_csv(llc_order) if llc_order.is_file() else None, args.tables
    )
    report.make_macros(summary, order, agents, design, args.tables / f"{NAME}_macros.tex")
    print(f"[{NAME}] wrote {root}, figures and tables")


if __name__ == "__main__":
    main()
