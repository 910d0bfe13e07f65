"""Subsets of maze states for data-refined LLCs: decision squares, junctions, corridors,
cells near the cheese.

Why: a data-refined LLC restricts the loss to the states where a mechanism acts (where
the agent chooses between cheese and corner, or where it homes in on the cheese), so
its coefficient counts the directions those states' behaviour depends on.
"""

from __future__ import annotations

import numpy as np

from devrl.envs import bfs_distances, level_from_obs

__all__ = ["STATE_SUBSETS", "maze_state_mask"]

STATE_SUBSETS = ("all", "decision", "junction", "corridor", "near-cheese")
"""``all``; ``decision``: the mouse stands on its level's decision square
(:func:`devrl.mechanisms.decision.decision_square`); ``junction``: ≥ 3 open neighbours;
``corridor``: ≤ 2 open neighbours; ``near-cheese``: within ``radius`` steps of the cheese."""


def _open_neighbours(walls: np.ndarray, cell: tuple[int, int]) -> int:
    S, (r, c) = walls.shape[0], cell
    steps = ((-1, 0), (0, 1), (1, 0), (0, -1))
    return sum(
        0 <= r + dr < S and 0 <= c + dc < S and not walls[r + dr, c + dc] for dr, dc in steps
    )


def maze_state_mask(obs: np.ndarray, which: str, radius: int = 2) -> np.ndarray:
    """Boolean mask ``[n]`` of the maze observations ``obs [n, 3, S, S]`` in subset ``which``.

    Raises:
        ValueError: an unknown ``which``, a negative ``radius`` or observations that are
            not maze states.
    """
    from devrl.mechanisms.decision import decision_square

    if which not in STATE_SUBSETS:
        raise ValueError(f"which must be one of {list(STATE_SUBSETS)}; got {which!r}.")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be an integer >= 0; got {radius!r}.")
    obs = np.asarray(obs)
    if obs.ndim != 4 or obs.shape[1] != 3:
        raise ValueError(f"obs must be maze observations [n, 3, S, S]; got {obs.shape}.")
    mask = np.zeros(len(obs), dtype=bool)
    cache: dict[bytes, object] = {}  # per level (walls + cheese): decision square / distances
    for i, o in enumerate(obs):
        walls, mouse, cheese = level_from_obs(o)
        if which == "all":
            mask[i] = True
        elif which in ("junction", "corridor"):
            k = _open_neighbours(walls, mouse)
            mask[i] = k >= 3 if which == "junction" else k <= 2
        else:
            key = walls.tobytes() + bytes(cheese)
            if key not in cache:
                if which == "decision":
                    cache[key] = decision_square(walls, cheese)
                else:
                    cache[key] = bfs_distances(walls, cheese)
            found = cache[key]
            if which == "decision":
                mask[i] = found is not None and found.cell == mouse
            else:
                mask[i] = 0 <= found[mouse] <= radius
    return mask
