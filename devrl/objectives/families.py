"""Reward families for objective-editing experiments, and how orthogonal two rewards are.

Why: the weight-difference method (fine-tune MA on RB, take Delta = MB - MA) needs many
target rewards that differ only in *what* is wanted. "Reach cell k" does this on the
maze: the target cell is not in the observation, so the objective must be stored in the
weights, unlike the cheese (a pointer to an observation plane). Orthogonality is measured
as the correlation of the optimal value functions over states, averaged over levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from devrl.envs.levels import corner_cell, mouse_start, sample_level, validate_size
from devrl.envs.rewards import CellReward, CheeseReward, CornerReward, NegatedReward, Reward
from devrl.envs.solver import solve

__all__ = [
    "cell_targets",
    "reward_family",
    "sample_levels",
    "value_correlation",
    "value_correlation_matrix",
]


def cell_targets(size: int, n: int, seed: int = 0) -> list[tuple[int, int]]:
    """``n`` distinct target cells that are free on every level, drawn without replacement.

    Perfect mazes of odd side keep every (even row, even column) cell free; the mouse start
    and the top-right corner (the training goal) are excluded so that "reach cell k" never
    coincides with the start or with RA.

    Args:
        size: maze side (odd).
        n: number of targets (at most ``((size + 1) // 2) ** 2 - 2``).
        seed: seeds the draw.

    Returns:
        ``n`` ``(row, col)`` tuples.
    """
    size = validate_size(size)
    pool = [
        (r, c)
        for r in range(0, size, 2)
        for c in range(0, size, 2)
        if (r, c) not in (mouse_start(size), corner_cell(size))
    ]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(pool):
        raise ValueError(f"n must be an integer in [1, {len(pool)}] for size {size}, got {n!r}.")
    idx = np.random.default_rng(seed).choice(len(pool), size=int(n), replace=False)
    return [pool[i] for i in idx]


def reward_family(
    targets: Sequence[tuple[int, int]], *, negations: bool = True
) -> dict[str, Reward]:
    """Named rewards: ``cheese``, ``corner``, ``cell_r_c`` per target, and ``neg_*`` versions.

    Args:
        targets: ``(row, col)`` cells for the "reach cell k" rewards.
        negations: also include the avoidance version ``neg_<name>`` of every reward.

    Returns:
        Ordered dict name -> Reward (names are stable file/column keys).
    """
    family: dict[str, Reward] = {"cheese": CheeseReward(), "corner": CornerReward()}
    for r, c in targets:
        family[f"cell_{r}_{c}"] = CellReward(r, c)
    if negations:
        family.update({f"neg_{k}": NegatedReward(v) for k, v in list(family.items())})
    return family


def sample_levels(
    size: int, n: int, corner: int | None = None, seed: int = 0
) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """``n`` levels ``(walls, cheese)`` drawn as the environment draws them (cheese anywhere by default)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    rng = np.random.default_rng(seed)
    return [sample_level(size, corner, rng) for _ in range(int(n))]


def _values(reward: Reward, walls: np.ndarray, cheese: tuple[int, int], gamma: float) -> np.ndarray:
    """``V*`` with NaN on walls *and* terminal cells: a terminal cell's 0 is a convention, not a
    preference, and as the lone outlier among values near 1 it would dominate the correlation."""
    v = solve(walls, cheese, reward, gamma, method="policy_iteration").V.copy()
    v[reward.tabular(walls, cheese).terminal] = np.nan
    return v


def _level_corr(va: np.ndarray, vb: np.ndarray) -> float:
    ok = np.isfinite(va) & np.isfinite(vb)
    a, b = va[ok], vb[ok]
    if a.size < 2 or np.ptp(a) < 1e-12 or np.ptp(b) < 1e-12:
        return float("nan")  # a constant V* (e.g. pure avoidance) has no direction
    return float(np.corrcoef(a, b)[0, 1])


def value_correlation(
    reward_a: Reward,
    reward_b: Reward,
    levels: Sequence[tuple[np.ndarray, tuple[int, int]]],
    gamma: float = 0.99,
) -> float:
    """Mean over levels of the Pearson correlation of ``V*_A`` and ``V*_B`` over states.

    States are the free cells that are terminal for neither reward (where the mouse acts).

    Why: two rewards are "orthogonal" for the weight-difference method when being good at
    one says nothing about being good at the other; the optimal value functions capture
    that (1: same preferences over states, 0: unrelated, negative: opposed). Levels where
    either ``V*`` is constant (no preference at all) are skipped; NaN if all are.

    Args:
        reward_a, reward_b: the two rewards.
        levels: ``(walls, cheese)`` pairs, e.g. from :func:`sample_levels`.
        gamma: discount of the solver.

    Returns:
        The mean correlation in [-1, 1], or NaN.
    """
    for name, r in (("reward_a", reward_a), ("reward_b", reward_b)):
        if not isinstance(r, Reward):
            raise TypeError(f"{name} must be a Reward, got {r!r}.")
    if len(levels) == 0:
        raise ValueError("levels must hold at least one (walls, cheese) pair.")
    corrs = [
        _level_corr(
            _values(reward_a, walls, cheese, gamma), _values(reward_b, walls, cheese, gamma)
        )
        for walls, cheese in levels
    ]
    corrs = np.asarray(corrs)
    return float(np.nanmean(corrs)) if np.isfinite(corrs).any() else float("nan")


def value_correlation_matrix(
    rewards: Mapping[str, Reward],
    levels: Sequence[tuple[np.ndarray, tuple[int, int]]],
    gamma: float = 0.99,
) -> pd.DataFrame:
    """:func:`value_correlation` for every pair of named rewards, solving each level once per reward.

    Returns:
        Tidy rows ``reward_a, reward_b, correlation, levels_used`` for every ordered pair
        (the diagonal is 1 wherever ``V*`` is not constant).
    """
    if len(levels) == 0:
        raise ValueError("levels must hold at least one (walls, cheese) pair.")
    values = {name: [_values(r, w, c, gamma) for w, c in levels] for name, r in rewards.items()}
    rows = []
    for a in rewards:
        for b in rewards:
            corrs = np.array([_level_corr(x, y) for x, y in zip(values[a], values[b], strict=True)])
            ok = np.isfinite(corrs)
            rows.append(
                {
                    "reward_a": a,
                    "reward_b": b,
                    "correlation": float(corrs[ok].mean()) if ok.any() else float("nan"),
                    "levels_used": int(ok.sum()),
                }
            )
    return pd.DataFrame(rows)
