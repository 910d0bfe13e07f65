"""Objectives in weight space: reward families, weight differences, Jozdien's patch, and edits.

Issue 14. Items 1-3: from MA (a trained 9x9 maze agent of ``maze_baseline``), fine-tune on
K "reach cell k" rewards (the target is not in the observation); Delta_k = MB_k - MA, with
per-layer norms, pairwise cosines and the shared (mean over k) and specific parts. Then
Jozdien's patch MB*_k = MA - Delta_k, retrained briefly on RA (the cheese): does it visit
cell k less, or stay farther from it, than MA retrained the same way, and than MA minus a
random direction with Delta_k's per-layer norms?
Item 4: the shared part applied alone; decoding k from the specific part on held-out
targets; transplants MA + alpha * specific_k and negations MA - alpha * specific_k against
random directions of equal per-layer norms; all as K grows. Item 5: where the specific parts
live (layers, channels, the dense layer's input positions) and the cheese (pointer) delta for
comparison. Item 4c retrained: MA - specific_k retrained on RA like the patch, against its
random direction. Item 7: items 4-5 again from MA's earlier checkpoints (step 0 is the
random-weight network), as tidy tracks beside MA's success and its LLC (the LLC section's
estimator; every 5th checkpoint in quick mode, every one in full mode, where the look-ahead
section has cached them): halfway onsets and their lags behind success, Spearman
correlations with seed-shuffled nulls, and functional forms of the dense curves.

    nice python experiments/objectives.py --quick   # K=4, one MA seed, 3 MA checkpoints:
                                                    # 8.7 CPU-min measured from scratch
    nice python experiments/objectives.py --workers 3   # K=16, three MA seeds x 5 checkpoints,
                                                    # ~3.7 CPU-hours measured, resumable

Full-mode budget (planned from measured speeds: 4,400 env steps per CPU-second for MA's
network, 0.7-3 CPU-s per 200-episode evaluation, 3 CPU-s per LLC estimate): per MA seed
10.5M fine-tuning steps (16 targets x 5 checkpoints x 131k), 4.3M retraining steps (65 arms
x 2 seeds x 32.8k) and ~750 evaluations, about 1.25 CPU-hours; three MA seeds about 3.75
CPU-hours. Measured: 1h40m wall on 2 cores with ``--workers 3`` (the three seeds side by
side, 131k-step fine-tunes in 30-40 s wall each) after 48 of the 243 fine-tunes had been
done in an earlier session, about 3.7 CPU-hours in all.

Runs (checkpoints) go to ``--runs`` (git-ignored); tidy tables to ``--out``.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from devrl import progress
from devrl._io import atomic_write, atomic_write_json, atomic_write_text
from devrl._pool import imap_unordered
from devrl.measures import uniform_llc
from devrl.objectives.families import (
    cell_targets,
    reward_family,
    sample_levels,
    value_correlation_matrix,
)
from devrl.objectives.pipeline import TABLES, seed_job
from devrl.objectives.summary import (
    arm_summary,
    editability_track,
    lean_summary,
    lean_table,
    track_relations,
)
from devrl.objectives.training import over_training, with_llc
from devrl.paper import data_dir, experiment_parser, llc_calibration
from devrl.runs import Run
from devrl.track import track

try:  # run as a script (devrl paper) or imported from the repository root
    from objectives_report import NAME, make_outputs
except ImportError:  # pragma: no cover
    from experiments.objectives_report import NAME, make_outputs

SIZE = 9
TARGET_SEED = 14


def settings(quick: bool) -> dict:
    """Sizes of the quick and full modes."""
    if quick:
        return {
            "K": 4,
            "ma_seeds": 1,
            "finetune": 4096 * 16,
            "retrain": 4096 * 8,
            "retrain_seeds": 2,
            "episodes": 200,
            "levels": 30,
            "alphas": [0.5, 1.0, 2.0],
            "k_levels": [2],
            "k_alpha": 1.0,
            "checkpoints": [0.0, 0.12],
            "subsets": 10,
            "curve_every": 5,
        }
    return {
        "K": 16,
        "ma_seeds": 3,
        "finetune": 4096 * 32,
        "retrain": 4096 * 8,
        "retrain_seeds": 2,
        "episodes": 200,
        "levels": 100,
        "alphas": [0.5, 1.0, 2.0, 4.0],
        "k_levels": [2, 4, 8],
        "k_alpha": 1.0,
        "checkpoints": [0.0, 0.05, 0.12, 0.3],
        "subsets": 20,
        "curve_every": 1,
    }


def ma_curves(
    ma: Run, steps: list[int], calibration: Mapping[str, Any], every: int
) -> pd.DataFrame:
    """Item 7's references: MA's success and action LLC on uniform states at every
    ``every``-th checkpoint and at ``steps``, cached in MA's run (where the look-ahead
    section's tracks of the same agents, with the same estimator, already are).

    The LLC runs at a calibrated SGLD setting (:func:`devrl.measures.uniform_llc`); its
    health rows (``/rhat``, ``/healthy``) are kept, so a network other than the calibrated
    one can say how far to trust it.

    Returns:
        Tidy rows ``seed, step, measure, value, stderr, run``.
    """
    grid = sorted({*ma.steps[::every], *steps, ma.steps[-1]})
    measures = [uniform_llc(calibration), "success"]
    frame = track(ma, measures, steps=grid, progress=False)
    return frame[["seed", "step", "measure", "value", "stderr"]].assign(
        run=f"run_seed{ma.config['seed']}"
    )


def run_experiment(args) -> None:
    """Every item in order, MA seeds side by side (``--workers``); each stage skips work
    already on disk."""
    torch.set_num_threads(1)
    cfg = settings(args.quick)
    out, runs = args.out, args.runs
    out.mkdir(parents=True, exist_ok=True)
    targets = cell_targets(SIZE, cfg["K"], seed=TARGET_SEED)
    t0 = time.perf_counter()
    family = reward_family(targets, negations=False)
    levels = sample_levels(SIZE, cfg["levels"], corner=None, seed=TARGET_SEED)
    ortho = value_correlation_matrix(family, levels)
    atomic_write_text(out / "orthogonality.csv", ortho.to_csv(index=False))
    timing = {"orthogonality": [time.perf_counter() - t0]}
    seeds = list(range(args.seed, args.seed + cfg["ma_seeds"]))
    jobs = [(str(args.ma_dir / f"run_seed{s}"), s, targets, cfg, str(runs)) for s in seeds]
    parts: dict[int, dict] = {}
    bar = progress(None, "objectives MA seeds", total=len(jobs), unit="seed")
    for i, (frames, seed_timing) in imap_unordered(seed_job, jobs, args.workers):
        parts[seeds[i]] = frames
        for k, v in seed_timing.items():
            timing.setdefault(k, []).extend(v)
        bar.update(1)
    bar.close()
    frames = {
        k: pd.concat([parts[s][k] for s in seeds], ignore_index=True) for k in parts[seeds[0]]
    }
    for name in TABLES:
        atomic_write_text(out / f"{name}.csv", frames[name].to_csv(index=False))
    eps = frames["episodes"]
    # per-episode rows are the bulk of the data: gzip with a fixed mtime (reproducible bytes)
    atomic_write(
        out / "episodes.csv.gz",
        lambda f: f.write(gzip.compress(eps.to_csv(index=False).encode(), mtime=0)),
    )
    lean_runs = lean_table(eps)
    atomic_write_text(out / "lean.csv", lean_runs.to_csv(index=False))
    atomic_write_text(out / "lean_summary.csv", lean_summary(lean_runs).to_csv(index=False))
    atomic_write_text(out / "arms.csv", arm_summary(eps).to_csv(index=False))
    track_frame = editability_track(frames, cfg["k_alpha"])
    calib = llc_calibration(args.quick)
    curves = pd.concat(
        [
            ma_curves(
                Run.load(args.ma_dir / f"run_seed{s}"),
                sorted(track_frame.loc[track_frame["seed"] == s, "step"].unique()),
                calib,
                cfg["curve_every"],
            )
            for s in seeds
        ],
        ignore_index=True,
    )
    atomic_write_text(out / "ma_curves.csv", curves.to_csv(index=False))
    track_frame = with_llc(track_frame, curves)
    atomic_write_text(out / "track.csv", track_frame.to_csv(index=False))
    relations = pd.concat(
        [track_relations(track_frame, reference=r) for r in ("ma_success", "ma_llc")],
        ignore_index=True,
    )
    atomic_write_text(out / "track_relations.csv", relations.to_csv(index=False))
    onsets, lags, forms = over_training(track_frame, curves)
    atomic_write_text(out / "onsets.csv", onsets.to_csv(index=False))
    atomic_write_text(out / "onset_lags.csv", lags.to_csv(index=False))
    atomic_write_text(out / "forms.csv", forms.to_csv(index=False))
    atomic_write_json(
        out / "settings.json",
        {
            **cfg,
            "size": SIZE,
            "targets": [list(t) for t in targets],
            "timing_s": {k: [round(x, 1) for x in v] for k, v in timing.items()},
        },
    )


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--ma-dir",
        type=Path,
        default=None,
        help="folder holding the MA runs run_seed<k> with checkpoints (default: maze_baseline's "
        "data of the same mode, paper/data/maze_baseline[/quick])",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="folder for the fine-tuning runs (default runs/objectives[/quick])",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="MA seeds fine-tuned side by side (default 1)"
    )
    args = parser.parse_args()
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if (
        args.ma_dir is None
    ):  # quick mode fine-tunes the quick paper's own agents (a fresh clone has them)
        args.ma_dir = Path("paper/data/maze_baseline") / ("quick" if args.quick else "")
    args.out = data_dir(args.out, args.quick)  # out/quick or out/full, never the other's
    if args.runs is None:
        args.runs = Path("runs") / NAME / ("quick" if args.quick else "full")
    if not args.figures_only:
        run_experiment(args)
    make_outputs(args)


if __name__ == "__main__":
    main()
