"""Exact baselines: what a pure corner-seeker and a pure cheese-seeker score.

An agent trained with the cheese in the top-right corner may have learned "go to the
cheese" or "go to the corner"; the two agree in training. Where the cheese is moved,
their success differs, and so does what their success means: an agent scoring 0.4
with the cheese anywhere is a cheese-seeker that failed often or a corner-seeker that
found the cheese on its way. These baselines are exact per level (BFS from
:func:`devrl.envs.bfs_distances`), never a policy's rollouts.

**The seekers.** Both start at the mouse start and walk a shortest path.

* The *corner-seeker* walks to the top-right cell and **stays there**: it succeeds iff
  the cheese lies on its path, the corner cell included (on the perfect mazes devrl
  generates the path is unique; with loops, iff the cheese lies on *some* shortest
  start→corner path). It visits the corner before the cheese iff it fails.
* The *cheese-seeker* walks to the cheese: it succeeds whenever the cheese can be
  reached within the time limit (always, on perfect mazes with the default limit); it
  visits the corner before the cheese iff the corner lies on its path strictly before
  the cheese.

**Exact over the cheese, sampled over mazes.** Given a maze, the cheese is uniform
over the free cells of its region (:func:`devrl.envs.levels.sample_cheese`), so each
rate is an exact average over every cheese cell of the maze; only the maze is sampled
(:func:`devrl.envs.generate_maze`), and intervals are over mazes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from devrl.envs.levels import (
    corner_cell,
    default_max_steps,
    generate_maze,
    level_from_obs,
    mouse_start,
    next_cell_table,
    validate_corner,
    validate_size,
)
from devrl.envs.solver import bfs_distances
from devrl.stats.intervals import mean_interval

QUANTITIES = {
    "corner_seeker_success": "P(cheese on the shortest start->corner path)",
    "cheese_seeker_success": "P(cheese reachable within the time limit)",
    "decision_square": "P(the level has a decision square)",
    "cheese_seeker_corner_first": "P(corner on the start->cheese path before the cheese)",
}
"""What :func:`seeker_baselines` estimates, by name."""


def level_outcomes(
    walls: np.ndarray, cheese: Sequence[int], max_steps: int | None = None
) -> dict[str, bool]:
    """Exact outcomes of both seekers on one level.

    Args:
        walls: ``[S, S]`` bool.
        cheese: ``(row, col)`` of the cheese.
        max_steps: The time limit (default :func:`devrl.envs.default_max_steps`).

    Returns:
        ``corner_seeker_success``, ``cheese_seeker_success``,
        ``cheese_seeker_corner_first`` and ``decision_square`` (the level has one), bools.
    """
    walls = np.asarray(walls)
    d_s, d_k = _start_corner_distances(walls)
    S = walls.shape[0]
    limit = default_max_steps(S) if max_steps is None else int(max_steps)
    r, c = (int(v) for v in cheese)
    if not (0 <= r < S and 0 <= c < S) or walls[r, c]:
        raise ValueError(f"cheese {(r, c)} must be a free cell inside the {S}x{S} maze.")
    out = _rates(d_s, d_k, np.array([r * S + c]), S, limit)
    return {name: bool(v[0]) for name, v in out.items()}


def _start_corner_distances(walls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    S = walls.shape[0]
    return (
        bfs_distances(walls, mouse_start(S)).reshape(-1),
        bfs_distances(walls, corner_cell(S)).reshape(-1),
    )


def _rates(
    d_s: np.ndarray, d_k: np.ndarray, cells: np.ndarray, S: int, limit: int
) -> dict[str, np.ndarray]:
    """Per cheese cell (flat ``cells``): the seekers' outcomes, as bool arrays."""
    k = corner_cell(S)[0] * S + corner_cell(S)[1]
    ds_x, dk_x, ds_k = d_s[cells], d_k[cells], d_s[k]
    reachable = ds_x >= 0
    cheese_on_corner_path = reachable & (ds_x + dk_x == ds_k)
    corner_on_cheese_path = reachable & (ds_k + dk_x == ds_x)
    return {
        "corner_seeker_success": cheese_on_corner_path,
        "cheese_seeker_success": reachable & (ds_x <= limit),
        "decision_square": reachable & ~cheese_on_corner_path & ~corner_on_cheese_path,
        "cheese_seeker_corner_first": corner_on_cheese_path & (cells != k),
    }


def maze_rates(
    walls: np.ndarray, corner: int | None, max_steps: int | None = None
) -> dict[str, float]:
    """Exact rates of both seekers on one maze, averaged over every cheese cell of ``corner``'s region.

    Args:
        walls: ``[S, S]`` bool.
        corner: Side of the top-right region the cheese is drawn from, or None (anywhere
            but the mouse start), as in :func:`devrl.envs.sample_level`.
        max_steps: The time limit (default :func:`devrl.envs.default_max_steps`).

    Returns:
        The :data:`QUANTITIES` as probabilities over the cheese draw.
    """
    walls = np.asarray(walls)
    S = walls.shape[0]
    corner = validate_corner(corner, S)
    region = np.zeros((S, S), dtype=bool)
    if corner is None:
        region[:] = True
    else:
        region[:corner, S - corner :] = True
    region[mouse_start(S)] = False
    cells = np.flatnonzero(region.ravel() & ~walls.ravel())
    if cells.size == 0:
        raise ValueError(
            f"the corner={corner} region of this maze has no free cell for the cheese."
        )
    d_s, d_k = _start_corner_distances(walls)
    limit = default_max_steps(S) if max_steps is None else int(max_steps)
    return {name: float(v.mean()) for name, v in _rates(d_s, d_k, cells, S, limit).items()}


def seeker_baselines(
    size: int,
    corners: Sequence[int | None] = (None,),
    mazes: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Both seekers' rates on the maze distribution of each corner region, with intervals.

    The same ``mazes`` mazes (``generate_maze(size, default_rng(seed))``, drawn in order)
    serve every corner region; each maze contributes its exact rate over the cheese
    (:func:`maze_rates`), and the interval is a percentile bootstrap over mazes.

    Args:
        size: Maze side.
        corners: Corner-region sides (None: cheese anywhere).
        mazes: Mazes to draw.
        seed: Seeds the mazes.
        level: Confidence level of the intervals.

    Returns:
        One row per (corner, quantity): ``size, corner, quantity, estimate, low, high,
        mazes`` (``corner`` is ``"anywhere"`` for None).
    """
    size = validate_size(size)
    if isinstance(mazes, bool) or not isinstance(mazes, (int, np.integer)) or mazes < 1:
        raise ValueError(f"mazes must be a positive int, got {mazes!r}.")
    corners = [validate_corner(c, size) for c in corners]
    rng = np.random.default_rng(seed)
    per_maze = {c: [] for c in corners}
    for _ in range(int(mazes)):
        walls = generate_maze(size, rng)
        for c in corners:
            per_maze[c].append(maze_rates(walls, c))
    rows = []
    for c in corners:
        frame = pd.DataFrame(per_maze[c])
        for name in QUANTITIES:
            est, lo, hi = mean_interval(frame[name].to_numpy(), level, seed=seed)
            rows.append(
                {
                    "size": size,
                    "corner": "anywhere" if c is None else c,
                    "quantity": name,
                    "estimate": est,
                    "low": lo,
                    "high": hi,
                    "mazes": int(mazes),
                }
            )
    return pd.DataFrame(rows)


class SeekerPolicy(nn.Module):
    """A pure seeker as a policy: a shortest path to the cheese or to the top-right cell.

    For checking the exact baselines against rollouts and for testing measures on a
    policy whose goal is known. From each observation it takes the lowest-numbered
    action that shortens the BFS distance to its goal (logit ``confidence``, others 0);
    on the goal it pushes up, into the grid's edge, so the corner-seeker stays put.

    Args:
        goal: ``"corner"`` or ``"cheese"``.
        confidence: Logit of the chosen action (50: the others get ~e^-50).
    """

    def __init__(self, goal: str, confidence: float = 50.0):
        super().__init__()
        if goal not in ("corner", "cheese"):
            raise ValueError(f"goal must be 'corner' or 'cheese', got {goal!r}.")
        self.goal, self.confidence = goal, float(confidence)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [N, 3, S, S]`` -> logits ``[N, 4]``."""
        x = obs.detach().cpu().numpy().round().astype(np.uint8)
        logits = np.zeros((len(x), 4), dtype=np.float32)
        for i, o in enumerate(x):
            walls, mouse, cheese = level_from_obs(o)
            S = walls.shape[0]
            target = cheese if self.goal == "cheese" else corner_cell(S)
            d = bfs_distances(walls, target).reshape(-1)
            here = mouse[0] * S + mouse[1]
            closer = np.flatnonzero(d[next_cell_table(walls)[here]] == d[here] - 1)
            logits[i, int(closer[0]) if d[here] > 0 and closer.size else 0] = self.confidence
        return torch.from_numpy(logits).to(obs.device)


__all__ = ["QUANTITIES", "SeekerPolicy", "level_outcomes", "maze_rates", "seeker_baselines"]
