"""Shards in the maze agent: behavioural regression, cheese vector and cheese channels.

Applies issue 12's items 2-4 (:mod:`devrl.mechanisms`) to the final checkpoint of each
trained 9x9 agent of ``experiments/maze_baseline.py`` (read-only), on cheese-anywhere
levels with a decision square (the same levels for every agent):

* ``regression_*.csv``: L1 logistic regression of "the greedy action at the decision
  square goes to the cheese" on z-scored geometry, accuracy and ROC AUC over 50 random
  80/20 splits against the majority class, bootstrap coefficients, VIFs; ``_reduced``
  without ``path_cheese_corner`` (the sum of two other path features in a perfect maze).
* ``steering_*.csv``: the cheese vector subtracted (−1) and added (+1) at every hook
  point, with a same-norm random vector and another level's vector as controls;
  ``corner_*.csv`` the same for the corner vector (top-right cell walled off), added
  (+1) and subtracted, measured on the corner action.
* ``channels_*.csv``: per channel, correlation of its map with the cheese and the
  change in the policy when it is resampled from the maze with the cheese elsewhere.
* ``retarget.csv``: the 3 most cheese-correlated channels of two layers clamped at a
  random target cell off the ways to the cheese and the corner
  (at 1x and 5x their largest activation); path geometric mean and reach within the agent's in-distribution
  mean episode length (``<agents>/evaluations.csv``), against no intervention, the
  cheese moved there, and 3 random channels.

``probe.csv``: held-out accuracy of a linear probe for the cheese's exact cell at every
layer (mouse at the start, cheese anywhere).

``tracks.csv``: ``decision-cheese``, ``choice-regression``, ``cheese-vector`` and
``cheese-channels`` (at ``trunk.res1.hook_out``) at about 8 (quick) or 32 checkpoints of
each agent, tracked on copies of those checkpoints under ``<out>/<mode>/runs/``.

Each seed's tables are written once under ``<out>/<mode>/seed<k>/`` (resumable); the
over-seed summaries are rebuilt from them.

    python experiments/shards.py --quick --agents /path/to/maze_baseline   # ~1 CPU-minute
    python experiments/shards.py --agents /path/to/maze_baseline           # full (not run yet)
    python experiments/shards.py --quick --figures-only   # rebuild the over-seed summaries

No figures or paper section yet: the tables are the result.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.checkpoints import nearest_checkpoints
from devrl.envs import mouse_start, observation, sample_level
from devrl.hooks import run_with_cache
from devrl.measures import get_measure
from devrl.mechanisms import (
    channel_correlations,
    cheese_channels,
    cheese_indicator,
    cheese_probe,
    choice_regression,
    decision_choices,
    level_features,
    resampling_ablation,
    retarget_scores,
    sample_decision_levels,
    steering_effects,
    steering_summary,
    touched_fraction,
)
from devrl.mechanisms.retarget import shortest_path
from devrl.paper import experiment_parser
from devrl.runs import Run
from devrl.stats import mean_interval, seed_level_interval
from devrl.track import track

NAME = "shards"
LEVEL_SEED = 2024
"""Seeds the levels (the maze baseline's decision-square levels, extended)."""
RETARGET_LAYERS = ("trunk.conv2.hook_out", "trunk.res1.hook_out")
"""Where channels are clamped: the first half-resolution layer and the first block's output."""
VALUE_SCALES = (1.0, 5.0)
"""Clamp values, in units of the largest activation of the clamped channels on the levels."""
PROBE_LEVELS = {"quick": 2000, "full": 10000}
"""Cheese-anywhere levels for the linear probe of the cheese's cell (80% train)."""
SIZES_TRACK = (300, 100)
"""(regression / decision levels, vector / channel levels) of the measures over training."""
SIZES = {"quick": (1000, 100), "full": (5000, 1000)}
"""(regression levels, steering / channel levels) per mode."""


def _write(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def run_seed(policy: torch.nn.Module, out: Path, n_reg: int, n_mech: int, max_steps: int) -> None:
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
    corner = steering_effects(policy, mech, coeffs=(1.0, -1.0), seed=0, goal="corner")
    _write(corner, out / "corner_effects.csv")
    _write(steering_summary(corner), out / "corner_summary.csv")

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
    _write(retarget(policy, mech, corr, max_steps), out / "retarget.csv")
    atomic_write_text(out / "done.txt", "all tables of this agent are written\n")


def retarget(
    policy: torch.nn.Module, levels: list, corr: pd.DataFrame, max_steps: int
) -> pd.DataFrame:
    """Clamp the 3 most cheese-correlated channels of each retarget layer at a random cell.

    Only channels whose map varies on at least half the levels are candidates.

    The value is each of ``VALUE_SCALES`` times the largest activation of those channels on the
    levels (mouse at the start), so it is comparable across agents and layers.
    """
    rng = np.random.default_rng(LEVEL_SEED)
    targets = []
    for walls, cheese in levels:  # off the ways to the cheese and to the corner
        on_way = {
            (r, c)
            for goal in (tuple(cheese), (0, 8))
            for r, c, _ in shortest_path(walls, (8, 0), goal)
        }
        banned = on_way | {tuple(cheese), (0, 8)}
        free = [tuple(c) for c in np.argwhere(~walls) if tuple(c) not in banned]
        targets.append(free[rng.integers(len(free))])
    obs = torch.as_tensor(
        np.stack([observation(w, mouse_start(9), tuple(c)) for w, c in levels])
    ).float()
    frames = []
    for layer, scale in itertools.product(RETARGET_LAYERS, VALUE_SCALES):
        live = corr[(corr["layer"] == layer) & (corr["defined"] >= 0.5)]
        top = live.nlargest(3, "r")["channel"].astype(int).tolist()
        _, cache = run_with_cache(policy, obs, [layer])
        value = scale * float(cache[layer][:, top].max())
        units = float(
            cheese_indicator(np.array(targets), 9, cache[layer].shape[2:]).sum(1).sum(1).mean()
        )
        scores = retarget_scores(
            policy, levels, targets, layer, top, value=value, max_steps=max_steps, seed=0
        )
        frames.append(
            scores.assign(
                layer=layer,
                scale=scale,
                channels=" ".join(map(str, top)),
                value=value,
                touched=touched_fraction(policy, layer, top, 9, units=units),
                max_steps=max_steps,
            )
        )
    return pd.concat(frames, ignore_index=True)


def over_seeds(root: Path, seeds: list[int], table: str) -> pd.DataFrame:
    """Mean change of P(goal action) per layer, vector and coefficient, seeds and levels."""
    effects = pd.concat(
        pd.read_csv(root / f"seed{s}" / f"{table}.csv").assign(run_seed=s) for s in seeds
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


def retarget_over_seeds(root: Path, seeds: list[int]) -> pd.DataFrame:
    """Reach rate and path geometric mean per layer and condition, over seeds and levels."""
    scores = pd.concat(
        pd.read_csv(root / f"seed{s}" / "retarget.csv").assign(run_seed=s) for s in seeds
    )
    rows = []
    for (layer, scale, condition), grp in scores.groupby(
        ["layer", "scale", "condition"], sort=False
    ):
        g = grp["run_seed"].to_numpy()
        r = seed_level_interval(grp["reached"].to_numpy(float), g)
        p = seed_level_interval(grp["path_gmean"].to_numpy(), g)
        rows.append([layer, scale, condition, len(grp), *r, *p, grp["touched"].mean()])
    return pd.DataFrame(
        rows,
        columns=["layer", "scale", "condition", "n", "reached", "reached_low", "reached_high"]
        + ["path_gmean", "gmean_low", "gmean_high", "touched"],
    )


def over_training(agents: Path, root: Path, seeds: list[int], k: int) -> pd.DataFrame:
    """The shard measures at ~``k`` checkpoints of each agent, tracked on local copies.

    The checkpoints are copied (config and the chosen ``.pt`` files) under
    ``<root>/runs/`` (git-ignored), so the agents' folder is only read and track()'s
    cache lives here: a rerun resumes from it.
    """
    measures = [
        get_measure("decision-cheese", levels=SIZES_TRACK[0]),
        get_measure("choice-regression", levels=SIZES_TRACK[0]),
        get_measure("cheese-vector", levels=SIZES_TRACK[1]),
        get_measure("cheese-channels", levels=SIZES_TRACK[1]),
    ]
    frames = []
    for s in seeds:
        src, dst = Run.load(agents / f"run_seed{s}"), root / "runs" / f"run_seed{s}"
        (dst / "checkpoints").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src.path / "config.json", dst / "config.json")
        for i in nearest_checkpoints(src.steps, k):
            target = dst / "checkpoints" / src.checkpoint_path(src.steps[i]).name
            if not target.is_file():
                shutil.copyfile(src.checkpoint_path(src.steps[i]), target)
        frame = track(dst, measures, progress=False)
        frames.append(frame[["step", "measure", "value", "stderr"]].assign(run_seed=s))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--agents",
        type=Path,
        default=Path("paper/data/maze_baseline"),
        help="maze_baseline's data folder: run_seed<k>/ with checkpoints, evaluations.csv",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--checkpoints", type=int, default=None, help="checkpoints tracked per agent"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    mode = "quick" if args.quick else "full"
    n_reg, n_mech = SIZES[mode]
    root = args.out / mode
    for s in [] if args.figures_only else args.seeds:  # --figures-only: summaries only
        run_dir = args.agents / f"run_seed{s}"
        try:
            run = Run.load(run_dir)
            steps = run.steps
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: cannot open the agent {run_dir}: {err}") from None
        if not steps:
            raise SystemExit(f"error: {run_dir} has no checkpoints (train maze_baseline first).")
        out = root / f"seed{s}"
        if not (out / "probe.csv").is_file():
            rng = np.random.default_rng(LEVEL_SEED)
            anywhere = [sample_level(9, None, rng) for _ in range(PROBE_LEVELS[mode])]
            _write(cheese_probe(run.policy(steps[-1]), anywhere, seed=0), out / "probe.csv")
        if (out / "done.txt").is_file():
            print(f"seed {s}: done already")
            continue
        print(f"seed {s}: final checkpoint, step {steps[-1]}")
        evals = pd.read_csv(args.agents / "evaluations.csv")
        in_dist = evals[(evals["run_seed"] == s) & (evals["condition"] == "in-distribution")]
        max_steps = round(float(in_dist["length"].mean()))
        run_seed(run.policy(steps[-1]), out, n_reg, n_mech, max_steps)
    _write(over_seeds(root, args.seeds, "steering_effects"), root / "steering_over_seeds.csv")
    _write(over_seeds(root, args.seeds, "corner_effects"), root / "corner_over_seeds.csv")
    _write(retarget_over_seeds(root, args.seeds), root / "retarget_over_seeds.csv")
    k = args.checkpoints or (8 if args.quick else 32)
    if not args.figures_only:
        _write(over_training(args.agents, root, args.seeds, k), root / "tracks.csv")
    print(f"wrote {root}")


if __name__ == "__main__":
    main()
