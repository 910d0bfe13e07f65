"""Decision squares: where the way to the cheese and the way to the corner part.

Mini et al. (2023) read a maze agent's goals off one cell per level: the *decision
square*, where the shortest path from the mouse's start to the cheese and the shortest
path to the top-right corner separate. There, and only there, going to the cheese and
going to the corner are different actions, so the policy's choice at that cell says
which goal it pursues. Solver-exact: distances are :func:`devrl.envs.bfs_distances`.

**Definition.** Let ``d_c`` and ``d_k`` be the BFS step counts to the cheese and to the
corner cell. From the start, walk while some action shortens *both* distances, taking
the lowest-numbered such action (up, right, down, left). The decision square is the
first cell of the walk where no action shortens both. Its *cheese actions* shorten
``d_c`` and its *corner actions* shorten ``d_k``; the two sets are disjoint. If the
walk reaches the cheese or the corner first, there is no decision square (``None``):
then the cheese lies on a shortest start→corner path or the corner on a shortest
start→cheese path, so one goal is passed on the way to the other. That case does not
depend on the tie-break (a shortest path to the far goal through the near one keeps
every step of the walk shortest for both).

**Several shortest paths.** Mazes devrl generates are perfect (one path between any two
cells), so each goal has one shortest path, the definition is the cell where those two
paths part, and each action set has one action. Hand-made mazes with loops may have
several; the walk then follows the lowest-numbered action shortest for both goals, and
the decision square is where *that* common prefix ends (another prefix may end
elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from torch import nn

from devrl.envs.levels import (
    ACTION_NAMES,
    corner_cell,
    mouse_start,
    next_cell_table,
    observation,
    sample_level,
)
from devrl.envs.solver import bfs_distances
from devrl.rollouts import action_log_probs
from devrl.stats.intervals import mean_interval, wilson

Cell = tuple[int, int]
Level = tuple[np.ndarray, Cell]


@dataclass(frozen=True)
class DecisionSquare:
    """The cell of a level where the paths to the cheese and to the corner part.

    Attributes:
        cell: ``(row, col)`` of the decision square.
        cheese_actions: Actions there that shorten the distance to the cheese.
        corner_actions: Actions there that shorten the distance to the corner (disjoint
            from ``cheese_actions``).
        steps: Steps from the start to the decision square along the common path.
    """

    cell: Cell
    cheese_actions: tuple[int, ...]
    corner_actions: tuple[int, ...]
    steps: int


def _cell(value: Sequence[int], name: str) -> Cell:
    try:
        r, c = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (row, col) pair, got {value!r}.") from None
    return r, c


def decision_square(
    walls: np.ndarray,
    cheese: Sequence[int],
    *,
    start: Sequence[int] | None = None,
    corner: Sequence[int] | None = None,
) -> DecisionSquare | None:
    """The decision square of a level, or None when one goal lies on the way to the other.

    See the module docstring for the exact definition and the tie-break.

    Args:
        walls: ``[S, S]`` bool.
        cheese: ``(row, col)`` of the cheese.
        start: The mouse's start (default: bottom-left, :func:`devrl.envs.mouse_start`).
        corner: The corner goal (default: the top-right cell, :func:`devrl.envs.corner_cell`).

    Returns:
        A :class:`DecisionSquare`, or None if the cheese lies on a shortest start→corner
        path or the corner on a shortest start→cheese path.
    """
    walls = np.asarray(walls)
    if walls.ndim != 2 or walls.shape[0] != walls.shape[1] or walls.dtype != bool:
        raise ValueError(
            f"walls must be a square [S, S] bool array, got {walls.dtype} {walls.shape}."
        )
    S = walls.shape[0]
    cheese = _cell(cheese, "cheese")
    start = mouse_start(S) if start is None else _cell(start, "start")
    corner = corner_cell(S) if corner is None else _cell(corner, "corner")
    for name, (r, c) in (("cheese", cheese), ("start", start), ("corner", corner)):
        if not (0 <= r < S and 0 <= c < S) or walls[r, c]:
            raise ValueError(f"{name} {(r, c)} must be a free cell inside the {S}x{S} maze.")
    d_c = bfs_distances(walls, cheese).reshape(-1)
    d_k = bfs_distances(walls, corner).reshape(-1)
    s = start[0] * S + start[1]
    if d_c[s] < 0 or d_k[s] < 0:
        raise ValueError(f"start {start} must be connected to the cheese and the corner.")
    nxt = next_cell_table(walls)  # [S*S, 4]
    pos, steps = s, 0
    while d_c[pos] > 0 and d_k[pos] > 0:
        to_cheese = d_c[nxt[pos]] == d_c[pos] - 1  # [4]
        to_corner = d_k[nxt[pos]] == d_k[pos] - 1
        both = np.flatnonzero(to_cheese & to_corner)
        if both.size == 0:
            return DecisionSquare(
                (pos // S, pos % S),
                tuple(int(a) for a in np.flatnonzero(to_cheese)),
                tuple(int(a) for a in np.flatnonzero(to_corner)),
                steps,
            )
        pos, steps = int(nxt[pos, both[0]]), steps + 1
    return None


def sample_decision_levels(
    size: int, levels: int, seed: int = 0, *, max_draws: int | None = None
) -> tuple[list[Level], int]:
    """Cheese-anywhere levels that have a decision square, and how many were drawn.

    Levels are drawn with :func:`devrl.envs.sample_level` (``corner=None``) from
    ``numpy.random.default_rng(seed)``; those without a decision square are skipped.

    Args:
        size: Maze side.
        levels: How many levels with a decision square to return.
        seed: Seeds the draws.
        max_draws: Give up (ValueError) after this many draws (default ``100 * levels``).

    Returns:
        ``(levels, draws)``: a list of ``(walls, cheese)`` and the number of levels drawn.
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be a positive int, got {levels!r}.")
    rng = np.random.default_rng(seed)
    cap = 100 * int(levels) if max_draws is None else int(max_draws)
    out: list[Level] = []
    draws = 0
    while len(out) < levels:
        if draws >= cap:
            raise ValueError(
                f"only {len(out)} of {draws} levels had a decision square (max_draws={cap})."
            )
        walls, cheese = sample_level(size, None, rng)
        draws += 1
        if decision_square(walls, cheese) is not None:
            out.append((walls, cheese))
    return out, draws


def decision_choices(policy: nn.Module, levels: Iterable[Level]) -> pd.DataFrame:
    """The policy's choice at each level's decision square (levels without one are skipped).

    The mouse is placed on the decision square of each level and the policy run once on
    that observation (valid for policies that see only the current observation, as
    every devrl maze agent does).

    Args:
        policy: ``forward(obs [N, 3, S, S]) -> logits [N, 4]`` or ``(logits, value)``.
        levels: ``(walls, cheese)`` pairs.

    Returns:
        One row per level with a decision square: ``level`` (index in ``levels``),
        ``ds_row, ds_col, ds_steps``, ``p_up, p_right, p_down, p_left``, ``p_cheese`` and
        ``p_corner`` (probability of a cheese / corner action), ``greedy`` (the argmax
        action) and ``branch`` (``"cheese"``, ``"corner"`` or ``"other"``: where the
        greedy action leads).
    """
    rows, obs = [], []
    for i, (walls, cheese) in enumerate(levels):
        ds = decision_square(walls, cheese)
        if ds is None:
            continue
        rows.append((i, ds))
        obs.append(observation(walls, ds.cell, tuple(cheese)))
    columns = ["level", "ds_row", "ds_col", "ds_steps", *(f"p_{a}" for a in ACTION_NAMES)]
    columns += ["p_cheese", "p_corner", "greedy", "branch"]
    if not rows:
        return pd.DataFrame(columns=columns)
    probs = np.exp(action_log_probs(policy, np.stack(obs)))  # [N, 4]
    greedy = probs.argmax(axis=1)
    records = []
    for (i, ds), p, g in zip(rows, probs, greedy, strict=True):
        branch = (
            "cheese" if g in ds.cheese_actions else "corner" if g in ds.corner_actions else "other"
        )
        records.append(
            [i, ds.cell[0], ds.cell[1], ds.steps, *p.tolist()]
            + [float(p[list(ds.cheese_actions)].sum()), float(p[list(ds.corner_actions)].sum())]
            + [int(g), branch]
        )
    return pd.DataFrame(records, columns=columns)


@dataclass(frozen=True)
class DecisionStats:
    """P(cheese | decision square) over levels, with 95% intervals.

    Attributes:
        levels: Levels with a decision square.
        p_cheese, p_cheese_low, p_cheese_high: Mean probability of a cheese action at the
            decision square (what a sampling agent does), percentile-bootstrap interval
            over levels.
        greedy_cheese, greedy_low, greedy_high: Fraction of levels whose greedy action
            is a cheese action, Wilson interval.
        p_corner: Mean probability of a corner action at the decision square.
        greedy_corner: Fraction of levels whose greedy action is a corner action.
    """

    levels: int
    p_cheese: float
    p_cheese_low: float
    p_cheese_high: float
    greedy_cheese: float
    greedy_low: float
    greedy_high: float
    p_corner: float
    greedy_corner: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain dict (one row of a table)."""
        return asdict(self)


def decision_stats(choices: pd.DataFrame, level: float = 0.95, seed: int = 0) -> DecisionStats:
    """Summarise :func:`decision_choices` as P(cheese | decision square) with intervals."""
    missing = {"p_cheese", "p_corner", "branch"} - set(choices.columns)
    if missing:
        raise ValueError(
            f"choices must come from decision_choices; missing columns {sorted(missing)}."
        )
    n = len(choices)
    if n == 0:
        raise ValueError("choices has no level with a decision square.")
    p, lo, hi = mean_interval(choices["p_cheese"].to_numpy(), level, seed=seed)
    k = int((choices["branch"] == "cheese").sum())
    g, glo, ghi = wilson(k, n, level)
    return DecisionStats(
        n,
        p,
        lo,
        hi,
        g,
        glo,
        ghi,
        float(choices["p_corner"].mean()),
        float((choices["branch"] == "corner").mean()),
    )


__all__ = [
    "DecisionSquare",
    "DecisionStats",
    "decision_choices",
    "decision_square",
    "decision_stats",
    "sample_decision_levels",
]
