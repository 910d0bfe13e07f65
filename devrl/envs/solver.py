"""Exact solutions of a maze level: shortest paths, optimal values, regret.

Because levels are small deterministic MDPs, optimal values are known exactly, so
the regret of any policy is a measured quantity rather than an estimate.

The MDP: states are free cells; action ``a`` moves the mouse as in the environment
(walls and the grid edge block); a transition ``s -> s'`` pays ``step + cell[s']``
(the reward's tabular form) and ends the episode if ``s'`` is terminal. Terminal
cells have value 0. **The time limit is ignored**: values are those of the
infinite-horizon discounted problem, which is what a policy that does not see the
clock can optimise. Wall cells get NaN in ``V`` and ``Q``.

Two routes: for :class:`~devrl.envs.rewards.CheeseReward` the closed form
``V*(s) = gamma^(d(s)-1)`` (``d`` = BFS steps to the cheese); for any reward, exact
policy iteration (each policy evaluated by a linear solve). Tests check they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devrl.envs.levels import bfs_flat, next_cell_table
from devrl.envs.rewards import CheeseReward, Reward

_TIE_TOL = 1e-9


@dataclass
class Solution:
    """Optimal values of one level under one reward and discount.

    Attributes:
        V: ``[S, S]`` optimal state values (0 on terminal cells, NaN on walls).
        Q: ``[S, S, 4]`` optimal action values (0 on terminal cells, NaN on walls).
        optimal_actions: ``[S, S, 4]`` bool, actions within 1e-9 of the best
            (all False on walls and terminal cells).
        distance: ``[S, S]`` int, BFS steps to the cheese (-1 on walls).
        gamma: the discount.
    """

    V: np.ndarray
    Q: np.ndarray
    optimal_actions: np.ndarray
    distance: np.ndarray
    gamma: float


def _check_level(walls: np.ndarray, cell: tuple[int, int], name: str) -> tuple[np.ndarray, tuple]:
    walls = np.asarray(walls)
    if walls.ndim != 2 or walls.shape[0] != walls.shape[1] or walls.dtype != bool:
        raise ValueError(
            f"walls must be a square [S, S] bool array, got {walls.dtype} {walls.shape}."
        )
    r, c = (int(x) for x in cell)
    if not (0 <= r < walls.shape[0] and 0 <= c < walls.shape[1]) or walls[r, c]:
        raise ValueError(
            f"{name} {(r, c)} must be a free cell inside the {walls.shape[0]}x"
            f"{walls.shape[1]} maze."
        )
    return walls, (r, c)


def bfs_distances(walls: np.ndarray, target: tuple[int, int]) -> np.ndarray:
    """Shortest-path step counts from every cell to ``target``.

    Args:
        walls: ``[S, S]`` bool.
        target: ``(row, col)`` of a free cell.

    Returns:
        ``[S, S]`` int64, -1 where the cell is a wall or cannot reach the target.
    """
    walls, (r, c) = _check_level(walls, target, "target")
    S = walls.shape[0]
    return bfs_flat(next_cell_table(walls), ~walls.reshape(-1), r * S + c).reshape(S, S)


def _cheese_closed_form(walls, cheese, gamma, next_table, dist):
    S = walls.shape[0]
    d = dist.reshape(-1).astype(np.float64)
    V = np.where(d > 0, gamma ** (d - 1), 0.0)
    cheese_flat = cheese[0] * S + cheese[1]
    # Q(s, a) = 1 if a enters the cheese, else gamma * V(s').
    Q = np.where(next_table == cheese_flat, 1.0, gamma * V[next_table])
    return V, Q


def _policy_iteration(walls, table, gamma, next_table):
    """Exact optimal values of the deterministic MDP by Howard's policy iteration."""
    n = next_table.shape[0]
    free = ~walls.reshape(-1)
    terminal = table.terminal.reshape(-1) & free
    live = np.flatnonzero(free & ~terminal)  # states where the mouse acts
    r_sa = table.step + table.cell.reshape(-1)[next_table]  # [n, 4]
    cont = gamma * ~terminal[next_table]  # [n, 4] discount unless the move ends the episode
    index = np.full(n, -1)
    index[live] = np.arange(len(live))
    policy = np.zeros(n, dtype=np.int64)
    V = np.zeros(n)
    for _ in range(4 * n + 10):  # policy iteration on a finite MDP ends; this bounds it
        a = policy[live]
        nxt = next_table[live, a]
        A = np.eye(len(live))
        keep = index[nxt] >= 0
        np.add.at(A, (np.flatnonzero(keep), index[nxt[keep]]), -cont[live, a][keep])
        V = np.zeros(n)
        V[live] = np.linalg.solve(A, r_sa[live, a])
        Q = r_sa + cont * V[next_table]
        best = Q[live].max(axis=1)
        current = Q[live, policy[live]]
        improve = best > current + _TIE_TOL * (1 + np.abs(best))
        if not improve.any():
            break
        policy[live[improve]] = Q[live[improve]].argmax(axis=1)
    else:  # pragma: no cover - would mean a bug
        raise RuntimeError("policy iteration did not converge")
    return V, r_sa + cont * V[next_table]


def solve(
    walls: np.ndarray,
    cheese: tuple[int, int],
    reward: Reward | None = None,
    gamma: float = 0.99,
    method: str = "auto",
) -> Solution:
    """Optimal values of a level (time limit ignored; see the module docstring).

    Args:
        walls: ``[S, S]`` bool.
        cheese: ``(row, col)`` of the cheese.
        reward: a reward object (default :class:`~devrl.envs.rewards.CheeseReward`).
        gamma: discount in (0, 1).
        method: ``"auto"`` (closed form for the plain cheese reward, else policy
            iteration), ``"closed_form"`` (cheese reward only) or ``"policy_iteration"``.

    Returns:
        A :class:`Solution`.
    """
    walls, cheese = _check_level(walls, cheese, "cheese")
    if not 0.0 < gamma < 1.0:
        raise ValueError(
            f"gamma must be in (0, 1) (the time limit is ignored, so gamma=1 may "
            f"diverge), got {gamma}."
        )
    reward = CheeseReward() if reward is None else reward
    if method not in ("auto", "closed_form", "policy_iteration"):
        raise ValueError(
            f"method must be 'auto', 'closed_form' or 'policy_iteration', got {method!r}."
        )
    is_cheese = isinstance(reward, CheeseReward)
    if method == "closed_form" and not is_cheese:
        raise ValueError(f"the closed form holds for CheeseReward only, got {reward!r}.")
    S = walls.shape[0]
    next_table = next_cell_table(walls)
    free = ~walls.reshape(-1)
    dist = bfs_flat(next_table, free, cheese[0] * S + cheese[1])
    if method == "closed_form" or (method == "auto" and is_cheese):
        V, Q = _cheese_closed_form(walls, cheese, gamma, next_table, dist)
        terminal = np.zeros(S * S, dtype=bool)
        terminal[cheese[0] * S + cheese[1]] = True
    else:
        table = reward.tabular(walls, cheese)
        V, Q = _policy_iteration(walls, table, gamma, next_table)
        terminal = table.terminal.reshape(-1)
    inactive = ~free | terminal
    Q = np.where(inactive[:, None], 0.0, Q)
    V = np.where(inactive, 0.0, V)
    optimal = Q >= Q.max(axis=1, keepdims=True) - _TIE_TOL * (1 + np.abs(V[:, None]))
    optimal &= ~inactive[:, None]
    V[~free] = np.nan
    Q[~free] = np.nan
    return Solution(
        V.reshape(S, S),
        Q.reshape(S, S, 4),
        optimal.reshape(S, S, 4),
        dist.reshape(S, S),
        float(gamma),
    )


def regret(solution: Solution, probs: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """One-step regret ``V*(s) - sum_a pi(a|s) Q*(s, a)`` of a policy at given cells.

    Args:
        solution: from :func:`solve`.
        probs: ``[..., 4]`` action probabilities (rows sum to 1).
        positions: ``[..., 2]`` (row, col) free cells, same leading shape as ``probs``.

    Returns:
        ``[...]`` float64, >= 0; 0 exactly where the policy puts all mass on optimal actions.
    """
    probs = np.asarray(probs, dtype=np.float64)
    positions = np.asarray(positions)
    if (
        probs.shape[-1:] != (4,)
        or positions.shape[-1:] != (2,)
        or probs.shape[:-1] != positions.shape[:-1]
    ):
        raise ValueError(
            f"probs must be [..., 4] and positions [..., 2] with the same leading "
            f"shape, got {probs.shape} and {positions.shape}."
        )
    if not np.allclose(probs.sum(-1), 1.0, atol=1e-5) or (probs < 0).any():
        raise ValueError("probs must be non-negative and sum to 1 over the last axis.")
    r, c = positions[..., 0], positions[..., 1]
    S = solution.V.shape[0]
    if (
        (r < 0).any()
        or (r >= S).any()
        or (c < 0).any()
        or (c >= S).any()
        or np.isnan(solution.V[r, c]).any()
    ):
        raise ValueError("positions must be free cells of the solved maze.")
    return solution.V[r, c] - (probs * solution.Q[r, c]).sum(-1)
