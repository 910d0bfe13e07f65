"""Levels of the cheese-in-the-corner maze: perfect mazes and where the cheese goes.

A level is a wall grid plus a cheese cell. Mazes are *perfect* (exactly one path
between any two free cells), made with randomized Kruskal on an odd ``size x size``
grid: "cells" sit at (even, even) coordinates, the cells between two of them are
walls unless the generator carved a passage, and (odd, odd) cells are always walls.
So the mouse start (bottom-left, ``(size-1, 0)``) and the top-right cell
``(0, size-1)`` are always free.

Every random draw of a level goes through :func:`sample_level`, which consumes the
generator in a fixed order; the environments rely on that for reproducible level
sequences.
"""

from __future__ import annotations

from collections import deque
from functools import cache

import numpy as np

MIN_SIZE = 5
MAX_SIZE = 25

# Action -> (row change, column change). Row 0 is the TOP row.
ACTION_DELTAS = np.array(
    [[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64
)  # up, right, down, left
ACTION_NAMES = ("up", "right", "down", "left")


def validate_size(size: object) -> int:
    """Return ``size`` as an int, or raise a ValueError explaining the allowed sizes."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"size must be an odd integer in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}.")  # noqa: TRY004
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an odd integer in [{MIN_SIZE}, {MAX_SIZE}], got {size}.")
    if size % 2 == 0:
        raise ValueError(
            f"size must be odd (perfect mazes put cells at even coordinates, so the mouse start "
            f"and the top-right cell are cells only on odd grids), got {size}; use {size - 1} "
            f"or {size + 1}."
        )
    return size


def validate_corner(corner: object, size: int) -> int | None:
    """Return ``corner`` as an int (or None), or raise a ValueError; needs ``1 <= corner <= size``."""
    if corner is None:
        return None
    if isinstance(corner, bool) or not isinstance(corner, (int, np.integer)):
        raise ValueError(f"corner must be None or an integer in [1, size={size}], got {corner!r}.")  # noqa: TRY004
    corner = int(corner)
    if not 1 <= corner <= size:
        raise ValueError(
            f"corner must be in [1, size={size}] (side of the top-right region where the cheese "
            f"may appear; 1 = the top-right cell only) or None (cheese anywhere), got {corner}."
        )
    return corner


def validate_share(share: object, name: str = "cheese_anywhere") -> float:
    """Return ``share`` as a float in [0, 1], or raise a ValueError naming ``name``."""
    if isinstance(share, bool) or not isinstance(share, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [0, 1], got {share!r}.")  # noqa: TRY004
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(
            f"{name} must be in [0, 1] (the share of levels whose cheese is placed anywhere "
            f"instead of in the corner region), got {share}."
        )
    return share


def mouse_start(size: int) -> tuple[int, int]:
    """The mouse's starting cell (row, col): bottom-left."""
    return size - 1, 0


def corner_cell(size: int) -> tuple[int, int]:
    """The top-right cell (row, col): where the cheese is in training when ``corner=1``."""
    return 0, size - 1


def num_free_cells(size: int) -> int:
    """Number of free cells of any perfect maze of this size: n^2 cells + (n^2 - 1) passages."""
    n = (size + 1) // 2
    return 2 * n * n - 1


def default_max_steps(size: int) -> int:
    """Default time limit: 4 x the number of free cells."""
    return 4 * num_free_cells(size)


@cache
def _kruskal_edges(size: int) -> tuple[list[int], list[int], list[int]]:
    """Edges of the cell lattice: (cell u, cell v, flat index of the wall between them)."""
    n = (size + 1) // 2
    us, vs, between = [], [], []
    for i in range(n):
        for j in range(n):
            if j + 1 < n:  # horizontal neighbour
                us.append(i * n + j)
                vs.append(i * n + j + 1)
                between.append(2 * i * size + 2 * j + 1)
            if i + 1 < n:  # vertical neighbour
                us.append(i * n + j)
                vs.append((i + 1) * n + j)
                between.append((2 * i + 1) * size + 2 * j)
    return us, vs, between  # plain lists: indexing them in the Kruskal loop is fastest


@cache
def _empty_walls(size: int) -> np.ndarray:
    """Flat wall grid with only the (even, even) cells free."""
    walls = np.ones((size, size), dtype=bool)
    walls[::2, ::2] = False
    return walls.ravel()


def generate_maze(size: int, rng: np.random.Generator) -> np.ndarray:
    """Generate a perfect maze with randomized Kruskal.

    Args:
        size: odd side length in [5, 25].
        rng: the generator to draw from (one ``permutation`` call).

    Returns:
        walls: ``[size, size]`` bool, True where there is a wall.
    """
    return _generate_maze(validate_size(size), rng)


def _generate_maze(size: int, rng: np.random.Generator) -> np.ndarray:
    us, vs, between = _kruskal_edges(size)
    n = (size + 1) // 2
    parent = list(range(n * n))
    carved, needed = [], n * n - 1
    for e in rng.permutation(len(us)).tolist():
        ru, rv = us[e], vs[e]
        while parent[ru] != ru:  # find with path halving
            parent[ru] = parent[parent[ru]]
            ru = parent[ru]
        while parent[rv] != rv:
            parent[rv] = parent[parent[rv]]
            rv = parent[rv]
        if ru != rv:
            parent[ru] = rv
            carved.append(between[e])
            if len(carved) == needed:
                break
    walls = _empty_walls(size).copy()
    walls[carved] = False
    return walls.reshape(size, size)


@cache
def _cheese_region(size: int, corner: int | None) -> np.ndarray:
    """Flat bool mask of where the cheese may go (before removing walls): never the mouse start."""
    region = np.zeros((size, size), dtype=bool)
    if corner is None:
        region[:] = True
    else:
        region[:corner, size - corner :] = True
    region[mouse_start(size)] = False
    region.setflags(write=False)
    return region.ravel()


def sample_cheese(
    walls: np.ndarray, corner: int | None, rng: np.random.Generator
) -> tuple[int, int]:
    """Draw the cheese uniformly over free cells of the top-right ``corner x corner`` region.

    ``corner=None`` means anywhere free except the mouse start (the test distribution).
    Always one ``rng.integers`` call, so level sequences stay aligned across settings.
    """
    size = walls.shape[0]
    candidates = np.flatnonzero(_cheese_region(size, corner) & ~walls.ravel())
    k = int(candidates[rng.integers(len(candidates))])
    return k // size, k % size


def sample_level(
    size: int, corner: int | None, rng: np.random.Generator, cheese_anywhere: float = 0.0
) -> tuple[np.ndarray, tuple[int, int]]:
    """Draw one level: a perfect maze, then the cheese. Returns ``(walls [S,S] bool, (row, col))``.

    With ``cheese_anywhere > 0``, a share of levels places the cheese anywhere (as at test
    time) instead of in the corner region: one ``rng.random()`` between the maze and the
    cheese decides (``u < cheese_anywhere``). Its draws do not depend on the share, so
    the anywhere-levels of a smaller share are among those of a larger one; with the
    default 0 nothing extra is drawn and level sequences are those of older versions.
    """
    walls = _generate_maze(validate_size(size), rng)
    if cheese_anywhere > 0.0 and rng.random() < cheese_anywhere:
        corner = None
    return walls, sample_cheese(walls, corner, rng)


def observation(walls: np.ndarray, mouse: tuple[int, int], cheese: tuple[int, int]) -> np.ndarray:
    """The observation of a state: ``[3, S, S]`` uint8 planes (wall, mouse, cheese)."""
    walls = np.asarray(walls, dtype=bool)
    obs = np.zeros((3, *walls.shape), dtype=np.uint8)
    obs[0] = walls
    obs[1][tuple(mouse)] = 1
    obs[2][tuple(cheese)] = 1
    return obs


def level_from_obs(obs: np.ndarray) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Read a state back from its observation: ``(walls [S,S] bool, mouse (r, c), cheese (r, c))``.

    Rollouts store only observations; this recovers what :func:`~devrl.envs.solve` needs.
    """
    obs = np.asarray(obs)
    if obs.ndim != 3 or obs.shape[0] != 3 or obs[1].sum() != 1 or obs[2].sum() != 1:
        raise ValueError(
            f"obs must be one [3, S, S] maze observation with one mouse and one "
            f"cheese, got shape {obs.shape}."
        )
    S = obs.shape[1]
    m, c = int(obs[1].argmax()), int(obs[2].argmax())
    return obs[0].astype(bool), (m // S, m % S), (c // S, c % S)


def next_cell_table(walls: np.ndarray) -> np.ndarray:
    """Flat transition table ``[S*S, 4]``: the flat cell reached by each action from each cell.

    Moving into a wall or off the grid leaves the mouse in place. Rows of wall cells map
    to themselves (the mouse is never there).
    """
    size = walls.shape[0]
    free_padded = np.zeros((size + 2, size + 2), dtype=bool)  # off-grid counts as wall
    free_padded[1:-1, 1:-1] = ~walls
    free = free_padded[1:-1, 1:-1]
    ok = np.empty((size, size, 4), dtype=bool)  # [S, S, action] the move is possible
    np.logical_and(free, free_padded[:-2, 1:-1], out=ok[:, :, 0])
    np.logical_and(free, free_padded[1:-1, 2:], out=ok[:, :, 1])
    np.logical_and(free, free_padded[2:, 1:-1], out=ok[:, :, 2])
    np.logical_and(free, free_padded[1:-1, :-2], out=ok[:, :, 3])
    flat_step = ACTION_DELTAS[:, 0] * size + ACTION_DELTAS[:, 1]
    return (_flat_index(size)[:, :, None] + ok * flat_step).reshape(size * size, 4)


@cache
def _flat_index(size: int) -> np.ndarray:
    return np.arange(size * size, dtype=np.int64).reshape(size, size)


def bfs_flat(next_table: np.ndarray, free: np.ndarray, target: int) -> np.ndarray:
    """BFS step counts from every flat cell to ``target`` (-1 where unreachable or wall)."""
    nbrs = next_table.tolist()
    dist = [-1] * len(nbrs)
    if not free[target]:
        return np.array(dist, dtype=np.int64)
    dist[target] = 0
    queue = deque([target])
    while queue:
        p = queue.popleft()
        d = dist[p] + 1
        for q in nbrs[p]:  # moves are symmetric, so neighbours-of equals predecessors-of
            if dist[q] < 0:
                dist[q] = d
                queue.append(q)
    return np.array(dist, dtype=np.int64)
