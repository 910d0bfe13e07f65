"""Future-path labels: which cells the mouse will enter within N steps, and from where.

Why: look-ahead probes (issue 13) ask whether a network's activations at a cell encode
that the mouse will pass through that cell soon. That needs exact targets. For every
state of an episode and each horizon ``N`` (default 1, 2, 4, 8, 16) these are, per cell,

* **entered**: the mouse enters the cell at one of the next ``N`` steps, and
* **direction**: the action that entered it (0 up, 1 right, 2 down, 3 left, as in
  :data:`devrl.envs.levels.ACTION_DELTAS`), -1 where it is not entered.

"Enter" means a move that changes the mouse's cell: a step against a wall (the mouse
stays put) enters nothing, and the current cell counts only if the mouse leaves and
comes back. When a cell is entered several times within ``N`` steps, ``direction`` is
the *first* entry's action. After the episode ends nothing more is entered, so a state
``k`` steps before the end has at most ``k`` entries at every horizon.

Three label sets share this definition:

* :func:`trajectory_labels`: the mouse's own future, a function of its positions only,
  so it serves greedy and sampled rollouts alike;
* :func:`shortest_path_labels`: the solver's shortest path from the mouse's current cell
  to a target (the cheese, or the top-right corner), walked until the target; BFS
  distances come from :func:`devrl.envs.solver.bfs_distances`. Generated mazes are
  perfect, so the path is unique; on hand-made mazes with loops the walk takes the
  lowest-numbered action that shortens the distance (as in
  :mod:`devrl.mechanisms.decision`);
* :func:`episode_labels`: all three for one finished episode of a
  :class:`~devrl.rollouts.Rollout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from devrl.envs.levels import ACTION_DELTAS, corner_cell, next_cell_table
from devrl.envs.solver import bfs_distances

if TYPE_CHECKING:
    from devrl.rollouts import Rollout

HORIZONS: tuple[int, ...] = (1, 2, 4, 8, 16)

# (step s >= 1 after the state, row, col, action) of each cell entry.
_Entry = tuple[int, int, int, int]


def _check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    try:
        hs = tuple(int(h) for h in horizons)
    except (TypeError, ValueError):
        raise ValueError(
            f"horizons must be a sequence of positive ints, got {horizons!r}."
        ) from None
    if not hs or any(h < 1 for h in hs) or any(h != orig for h, orig in zip(hs, horizons)):
        raise ValueError(
            f"horizons must be a non-empty sequence of positive ints, got {horizons!r}."
        )
    return hs


def _check_positions(positions: np.ndarray, size: int) -> np.ndarray:
    pos = np.asarray(positions)
    if pos.ndim != 2 or pos.shape[1] != 2 or len(pos) < 1:
        raise ValueError(f"positions must be a [T, 2] array of (row, col), got shape {pos.shape}.")
    if not np.issubdtype(pos.dtype, np.integer):
        raise ValueError(f"positions must be integers, got dtype {pos.dtype}.")
    if (pos < 0).any() or (pos >= size).any():
        raise ValueError(f"positions must lie inside the {size}x{size} maze (no -1 entries).")
    return pos.astype(np.int64)


def _fill(direction: np.ndarray, t: int, entries: list[_Entry], horizons: tuple[int, ...]) -> None:
    """Write the first entry of each cell within each horizon into ``direction[t]``."""
    for k, n in enumerate(horizons):
        plane = direction[t, k]
        for s, r, c, a in entries:
            if s > n:
                break
            if plane[r, c] < 0:
                plane[r, c] = a


def _move_action(delta: np.ndarray, t: int) -> int:
    """The action whose delta is ``delta`` (one step up/right/down/left)."""
    hit = np.flatnonzero((ACTION_DELTAS == delta).all(axis=1))
    if len(hit) != 1:
        raise ValueError(
            f"positions must move by at most one cell per step; step {t} -> {t + 1} moves "
            f"by {tuple(int(x) for x in delta)}."
        )
    return int(hit[0])


def trajectory_labels(
    positions: np.ndarray, size: int, horizons: Sequence[int] = HORIZONS
) -> tuple[np.ndarray, np.ndarray]:
    """Labels from the mouse's own future positions within one episode.

    Args:
        positions: ``[T, 2]`` int (row, col) of the mouse at steps 0..T-1 of one episode,
            ending with its cell after the last action (so a ``T - 1``-action episode gives
            ``T`` positions). Consecutive positions are equal or one cell apart.
        size: side ``S`` of the maze.
        horizons: the ``N`` values (steps ahead).

    Returns:
        ``(entered [T, K, S, S] bool, direction [T, K, S, S] int8)`` with ``K =
        len(horizons)``; row ``t`` labels what happens after the mouse stands at
        ``positions[t]``.
    """
    hs = _check_horizons(horizons)
    pos = _check_positions(positions, size)
    T = len(pos)
    moves: list[tuple[int, int, int] | None] = [None]  # moves[i]: how step i was entered
    for i in range(1, T):
        delta = pos[i] - pos[i - 1]
        moved = bool(delta.any())
        moves.append(
            (int(pos[i, 0]), int(pos[i, 1]), _move_action(delta, i - 1)) if moved else None
        )
    direction = np.full((T, len(hs), size, size), -1, np.int8)
    longest = max(hs)
    for t in range(T):
        entries = [
            (s, *moves[t + s])
            for s in range(1, min(longest, T - 1 - t) + 1)
            if moves[t + s] is not None
        ]
        _fill(direction, t, entries, hs)
    return direction >= 0, direction


def _path_entries(
    start: int, target: int, dist: np.ndarray, table: np.ndarray, longest: int, S: int
) -> list[_Entry]:
    """The first ``longest`` steps of the shortest path from flat ``start`` to ``target``."""
    out: list[_Entry] = []
    cur = start
    for s in range(1, longest + 1):
        if cur == target:
            break
        nxt = table[cur]
        a = int(np.flatnonzero(dist[nxt] == dist[cur] - 1)[0])
        cur = int(nxt[a])
        out.append((s, cur // S, cur % S, a))
    return out


def shortest_path_labels(
    walls: np.ndarray,
    positions: np.ndarray,
    target: tuple[int, int],
    horizons: Sequence[int] = HORIZONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the solver's shortest path from each position to ``target``.

    For state ``t`` the path starts at ``positions[t]`` and stops at ``target`` (nothing is
    entered after it, and nothing at all when the mouse stands on it). One BFS per call.

    Args:
        walls: ``[S, S]`` bool.
        positions: ``[T, 2]`` int free cells (e.g. the mouse's cells in an episode).
        target: ``(row, col)`` of a free cell: the cheese, or
            :func:`~devrl.envs.levels.corner_cell`.
        horizons: the ``N`` values (steps ahead).

    Returns:
        ``(entered [T, K, S, S] bool, direction [T, K, S, S] int8)``, as
        :func:`trajectory_labels`.
    """
    hs = _check_horizons(horizons)
    dist = bfs_distances(walls, target)  # validates walls and target
    S = dist.shape[0]
    pos = _check_positions(positions, S)
    flat_dist = dist.reshape(-1)
    bad = flat_dist[pos[:, 0] * S + pos[:, 1]] < 0
    if bad.any():
        raise ValueError(
            f"positions must be free cells that reach target {tuple(target)}; "
            f"{tuple(int(x) for x in pos[np.argmax(bad)])} does not."
        )
    table = next_cell_table(np.asarray(walls, bool))
    goal = int(target[0]) * S + int(target[1])
    direction = np.full((len(pos), len(hs), S, S), -1, np.int8)
    cache: dict[int, list[_Entry]] = {}
    for t, (r, c) in enumerate(pos):
        start = int(r) * S + int(c)
        if start not in cache:
            cache[start] = _path_entries(start, goal, flat_dist, table, max(hs), S)
        _fill(direction, t, cache[start], hs)
    return direction >= 0, direction


@dataclass
class FuturePathLabels:
    """Future-path labels of one episode's states (``T`` = its number of actions).

    Attributes:
        horizons: the ``N`` values, ``K`` of them.
        positions: ``[T + 1, 2]`` the mouse's cells, the last one after the final action.
        own_entered, own_direction: ``[T, K, S, S]`` from the mouse's own trajectory.
        cheese_entered, cheese_direction: ``[T, K, S, S]`` shortest path to the cheese.
        corner_entered, corner_direction: ``[T, K, S, S]`` shortest path to the top-right
            corner.
    """

    horizons: tuple[int, ...]
    positions: np.ndarray
    own_entered: np.ndarray
    own_direction: np.ndarray
    cheese_entered: np.ndarray
    cheese_direction: np.ndarray
    corner_entered: np.ndarray
    corner_direction: np.ndarray


def episode_labels(
    rollout: Rollout, episode: int, horizons: Sequence[int] = HORIZONS
) -> FuturePathLabels:
    """All three label sets for the states of one finished maze episode of a rollout.

    Args:
        rollout: a :class:`~devrl.rollouts.Rollout` of a maze env (greedy or sampled).
        episode: its episode id; the episode must have ended (terminated or truncated),
            since the future of a cut-off episode is unknown.
        horizons: the ``N`` values (steps ahead).

    Returns:
        A :class:`FuturePathLabels`; row ``t`` of each array is the state at ``t``.
    """
    rows = np.flatnonzero(rollout.episode == episode)
    if len(rows) == 0:
        raise ValueError(f"episode {episode!r} is not in the rollout.")
    rows = rows[np.argsort(rollout.t[rows], kind="stable")]
    if not rollout.done[rows[-1]]:
        raise ValueError(
            f"episode {episode} was cut off by collection before it ended; its future is "
            "unknown, so it has no future-path labels."
        )
    positions = np.concatenate([rollout.mouse_pos[rows], rollout.next_mouse_pos[rows[-1:]]])
    walls = rollout.obs[rows[0], 0].astype(bool)
    cheese = tuple(int(x) for x in rollout.cheese_pos[rows[0]])
    S = walls.shape[0]
    hs = _check_horizons(horizons)
    own_e, own_d = trajectory_labels(positions, S, hs)
    states = positions[:-1]
    ch_e, ch_d = shortest_path_labels(walls, states, cheese, hs)
    co_e, co_d = shortest_path_labels(walls, states, corner_cell(S), hs)
    return FuturePathLabels(hs, positions, own_e[:-1], own_d[:-1], ch_e, ch_d, co_e, co_d)
