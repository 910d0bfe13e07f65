"""Jozdien's patch: networks built from edited weights, retrained, and scored on a target cell.

Why: the patch MB* = MA - Delta_k is not a checkpoint of any training run, yet the short
retraining on RA must go through the ordinary trainer (``train(init_from=...)``). So
:func:`weights_run` writes edited weights as a one-checkpoint run that ``init_from`` can
start from, and :func:`target_visits` scores a policy on how it treats cells it was never
shown: does it visit cell k, and how close does it stay to it?
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from devrl.envs.levels import level_from_obs
from devrl.envs.solver import bfs_distances
from devrl.rollouts import Rollout, collect
from devrl.runs import Run

__all__ = [
    "episode_target_stats",
    "lean",
    "own_minus_others",
    "target_visits",
    "weights_run",
]


def weights_run(
    path: str | os.PathLike, source: str | os.PathLike, state: Mapping[str, torch.Tensor]
) -> Run:
    """A run directory holding ``state`` as its only checkpoint (step 0), configured like ``source``.

    Reopening with the same config keeps the directory (resumable experiments); the
    checkpoint is rewritten only if missing.

    Args:
        path: the new run directory.
        source: the run whose config and network the weights belong to.
        state: a state dict for that network (e.g. ``add_delta(MA, Delta, -1)``).
    """
    src = Run.load(source)
    config = {**src.config, "init_from": None, "total_timesteps": 0, "note": "edited weights"}
    run = Run.create(path, config, resume=True, purpose="write edited weights to")
    if not run.checkpoint_path(0).is_file():
        model = src.policy()
        model.load_state_dict(dict(state))
        run.save_checkpoint(0, model)
    return run


def episode_target_stats(roll: Rollout, targets: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """Per finished episode and target: did the mouse enter the target, its mean BFS distance.

    Args:
        roll: a maze rollout (finished episodes are scored; unfinished ones dropped).
        targets: ``(row, col)`` cells.

    Returns:
        Rows ``episode, target, visited (bool), mean_distance, length, reached_cheese``;
        ``mean_distance`` averages the distance from every state the mouse occupied
        (including the last) to the target, NaN if the target is a wall on that level.
    """
    if len(targets) == 0:
        raise ValueError("targets must hold at least one (row, col) cell.")
    done_eps = np.unique(roll.episode[roll.done])
    rows: list[dict[str, Any]] = []
    for ep in done_eps:
        idx = np.flatnonzero(roll.episode == ep)
        idx = idx[np.argsort(roll.t[idx])]
        walls, _, _ = level_from_obs(roll.obs[idx[0]])
        path = np.concatenate([roll.mouse_pos[idx], roll.next_mouse_pos[idx[-1:]]])
        path = path[(path >= 0).all(1)]
        reached_cheese = bool(roll.terminated[idx[-1]] and roll.rewards[idx[-1]] > 0)
        for r, c in targets:
            if walls[r, c]:
                visited, dist = False, float("nan")
            else:
                d = bfs_distances(walls, (r, c)).astype(np.float64)
                visited = bool(((path[:, 0] == r) & (path[:, 1] == c)).any())
                dist = float(d[path[:, 0], path[:, 1]].mean())
            rows.append(
                {
                    "episode": int(ep),
                    "target": f"cell_{r}_{c}",
                    "visited": visited,
                    "mean_distance": dist,
                    "length": len(idx),
                    "reached_cheese": reached_cheese,
                }
            )
    return pd.DataFrame(rows)


def target_visits(
    policy: torch.nn.Module,
    env_kwargs: Mapping[str, Any],
    targets: Sequence[tuple[int, int]],
    *,
    episodes: int = 200,
    seed: int = 12345,
    num_envs: int = 32,
) -> pd.DataFrame:
    """Play ``episodes`` maze episodes (sampled actions) and score them with :func:`episode_target_stats`."""
    from devrl.envs import MazeVecEnv

    env = MazeVecEnv(num_envs=min(num_envs, episodes), seed=seed, **dict(env_kwargs))
    try:
        roll = collect(policy, env, episodes=episodes, seed=seed)
    finally:
        env.close()
    return episode_target_stats(roll, targets)


def lean(
    arm: pd.DataFrame,
    baseline: pd.DataFrame,
    *,
    level: float = 0.95,
    n_resamples: int = 4999,
    seed: int = 0,
) -> pd.DataFrame:
    """Per target: how much less ``arm`` visits it (and how much farther it stays) than ``baseline``.

    Why: the patch "leans toward minimizing RB_k" if MA - Delta_k, retrained on RA, visits
    cell k less and stays farther from it than MA retrained the same way. Episodes are
    independent units; the interval is a percentile bootstrap resampling each side's
    episodes separately.

    Args:
        arm, baseline: :func:`episode_target_stats` tables (columns ``target, visited,
            mean_distance``).

    Returns:
        One row per target shared by both: ``visit_arm, visit_base, d_visit`` (arm minus
        baseline; negative = avoids) with ``d_visit_low/high``, and ``dist_arm, dist_base,
        d_dist`` (positive = stays farther) with ``d_dist_low/high``, and ``n_arm, n_base``.
    """
    for name, t in (("arm", arm), ("baseline", baseline)):
        missing = {"target", "visited", "mean_distance"} - set(t.columns)
        if missing:
            raise ValueError(f"{name} lacks columns {sorted(missing)} (see episode_target_stats).")
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    rows = []
    for target in sorted(set(arm["target"]) & set(baseline["target"])):
        a = arm[arm["target"] == target]
        b = baseline[baseline["target"] == target]
        row: dict[str, Any] = {"target": target, "n_arm": len(a), "n_base": len(b)}
        for col, key in (("visited", "visit"), ("mean_distance", "dist")):
            x = a[col].to_numpy(np.float64)
            y = b[col].to_numpy(np.float64)
            x, y = x[np.isfinite(x)], y[np.isfinite(y)]
            boots = x[rng.integers(len(x), size=(n_resamples, len(x)))].mean(1) - y[
                rng.integers(len(y), size=(n_resamples, len(y)))
            ].mean(1)
            lo, hi = np.quantile(boots, [alpha, 1 - alpha])
            row |= {
                f"{key}_arm": x.mean(),
                f"{key}_base": y.mean(),
                f"d_{key}": x.mean() - y.mean(),
                f"d_{key}_low": float(lo),
                f"d_{key}_high": float(hi),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def own_minus_others(table: pd.DataFrame, own: str) -> dict[str, float]:
    """The lean on the edited target minus the mean lean on the other targets.

    Why: an edit that breaks competence changes visits to *every* cell (a stuck agent
    visits the cells near the start more and far cells less); only a change on cell k
    beyond the change on the other targets speaks to an objective about k.

    Args:
        table: :func:`lean` output holding ``own`` and at least one other target.
        own: the edited target's name (``"cell_r_c"``).

    Returns:
        ``{"d_visit": ..., "d_dist": ...}``.
    """
    if own not in set(table["target"]) or table["target"].nunique() < 2:
        raise ValueError(f"table must hold target {own!r} and at least one other target.")
    mine, others = table[table["target"] == own], table[table["target"] != own]
    return {col: float(mine[col].iloc[0] - others[col].mean()) for col in ("d_visit", "d_dist")}
