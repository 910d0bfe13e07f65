"""Shards in the maze agent: behavioural regression, cheese vector and cheese channels.

Applies issue 12's items 2-4 (:mod:`devrl.mechanisms`) to the final checkpoint of each
trained 9x9 agent of ``experiments/maze_baseline.py`` (read-only), on cheese-anywhere
levels with a decision square (the same levels for every agent):

* ``regression_*.csv``: L1 logistic regression of "the greedy action at the decision
  square goes to the cheese" on z-scored geometry, accuracy and ROC AUC over 50 random
  80/20 splits against the majority class, bootstrap coefficients, VIFs; ``_reduced``
  without ``path_cheese_corner`` (the sum of two other path features in a perfect maze).
* ``steering_*.csv``: the cheese vector subtracted (−1) and added (+1) at every hook
  point, with a same-norm random vector and another level's vector as controls.
* ``channels_*.csv``: per channel, correlation of its map with the cheese and the
  change in the policy when it is resampled from the maze with the cheese elsewhere.

Each seed's tables are written once under ``<out>/<mode>/seed<k>/`` (resumable); the
over-seed summaries are rebuilt from them.

    python experiments/shards.py --quick --agents /path/to/maze_baseline   # ~1 CPU-minute
    python experiments/shards.py --agents /path/to/maze_baseline           # full
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.mechanisms import (
    channel_correlations,
    cheese_channels,
    choice_regression,
    decision_choices,
    level_features,
    mean_interval,
    resampling_ablation,
    sample_decision_levels,
    seed_level_interval,
    steering_effects,
    steering_summary,
)
from devrl.runs import Run

NAME = "shards"
LEVEL_SEED = 2024
"""Seeds the levels (the maze baseline's decision-square levels, extended)."""
SIZES = {"quick": (1000, 100), "full": (5000, 1000)}
"""(regression levels, steering / channel levels) per mode."""


def _write(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def run_seed(policy: torch.nn.Module, out: Path, n_reg: int, n_mech: int) -> None:
    """Every table of one agent, written under ``out``."""
    levels, _ = sample_decision_levels(9, n_reg, seed=LEVEL_SEED)
    choices = decision_choices(policy, levels).set_index("level")
    feats = level_features(levels).set_index("level")
    y = (choices.loc[feats.index, "branch"] == "cheese").to_numpy()
    # all features, then without the one that is the sum of two others in a perfect maze
    for label, frame in (("", feats), ("_reduced", feats.drop(columns="path_cheese_corner"))):
        res = choice_regression(frame, y, splits=50, resamples=200, seed=0)
        _write(res.coefficients, out / f"regression{label}_coefficients.csv")
        _write(pd.DataFrame([res.summary()]), out / f"regression{label}_summary.csv")
    _write(
        choices.reset_index()[["level", "p_cheese", "p_corner", "branch"]],
        out / "choices.csv",
    )

    mech = levels[:n_mech]
    effects = steering_effects(policy, mech, coeffs=(-1.0, 1.0), seed=0)
    _write(effects, out / "steering_effects.csv")
    _write(steering_summary(effects), out / "steering_summary.csv")

    corr = channel_correlations(policy, mech, seed=0)
    abl = resampling_ablation(policy, mech, [str(x) for x in corr["layer"].unique()], seed=0)
    rows = []
    for (layer, channel), grp in abl.groupby(["layer", "channel"], sort=False):
        tv, tv_lo, tv_hi = mean_interval(grp["tv"].to_numpy())
        ch, ch_lo, ch_hi = mean_interval(grp["change"].to_numpy())
        rows.append([layer, channel, tv, tv_lo, tv_hi, ch, ch_lo, ch_hi])
    ablation = pd.DataFrame(
        rows,
        columns=["layer", "channel", "tv", "tv_low", "tv_high"]
        + ["change", "change_low", "change_high"],
    )
    _write(corr, out / "channels_correlation.csv")
    _write(ablation, out / "channels_ablation.csv")
    _write(cheese_channels(corr, abl), out / "channels_count.csv")


def over_seeds(root: Path, seeds: list[int]) -> pd.DataFrame:
    """Mean change of P(cheese action) per layer, vector and coefficient, seeds and levels."""
    effects = pd.concat(
        pd.read_csv(root / f"seed{s}" / "steering_effects.csv").assign(run_seed=s) for s in seeds
    )
    rows = []
    for (layer, vector, coeff), grp in effects.groupby(["layer", "vector", "coeff"], sort=False):
        m, lo, hi = seed_level_interval(grp["change"].to_numpy(), grp["run_seed"].to_numpy())
        f, flo, fhi = seed_level_interval(
            (grp["change"] < -1e-9).to_numpy(float), grp["run_seed"].to_numpy()
        )
        rows.append([layer, vector, coeff, len(grp), m, lo, hi, f, flo, fhi])
    return pd.DataFrame(
        rows,
        columns=["layer", "vector", "coeff", "n", "mean_change", "low", "high"]
        + ["fell", "fell_low", "fell_high"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=Path, default=Path("paper/data/maze_baseline"))
    parser.add_argument("--out", type=Path, default=Path("paper/data") / NAME)
    parser.add_argument("--quick", action="store_true", help="fewer levels (about a minute)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    mode = "quick" if args.quick else "full"
    n_reg, n_mech = SIZES[mode]
    root = args.out / mode
    for s in args.seeds:
        run_dir = args.agents / f"run_seed{s}"
        try:
            run = Run.load(run_dir)
            steps = run.steps
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: cannot open the agent {run_dir}: {err}") from None
        if not steps:
            raise SystemExit(f"error: {run_dir} has no checkpoints (train maze_baseline first).")
        out = root / f"seed{s}"
        if (out / "channels_count.csv").is_file():
            print(f"seed {s}: done already")
            continue
        print(f"seed {s}: final checkpoint, step {steps[-1]}")
        run_seed(run.policy(steps[-1]), out, n_reg, n_mech)
    _write(over_seeds(root, args.seeds), root / "steering_over_seeds.csv")
    print(f"wrote {root}")


if __name__ == "__main__":
    main()
