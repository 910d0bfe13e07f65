"""Evaluate a policy at every free cell of one level: action probabilities, values, regret.

Mazes are small, so a policy can be read off exhaustively: place the mouse on each free
cell of a fixed level and run the network once on the whole batch. The resulting
``[S, S, ...]`` maps are what figures draw (:func:`devrl.envs.plot_policy`) and what
state-complete measures (regret over all states) average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from devrl.envs.levels import observation
from devrl.envs.solver import solve


@dataclass
class PolicyMap:
    """A policy evaluated with the mouse on every free cell of one level.

    Attributes:
        walls: ``[S, S]`` bool.
        cheese: ``(row, col)`` of the cheese.
        probs: ``[S, S, 4]`` action probabilities; NaN on walls and on the cheese cell.
        values: ``[S, S]`` the critic's values; NaN where ``probs`` is NaN.
        regret: ``[S, S]`` one-step regret ``V*(s) - sum_a pi(a|s) Q*(s, a)`` against the
            exact solver; NaN where ``probs`` is NaN.
    """

    walls: np.ndarray
    cheese: tuple[int, int]
    probs: np.ndarray
    values: np.ndarray
    regret: np.ndarray

    @property
    def mean_regret(self) -> float:
        """Regret averaged uniformly over the free cells (the cheese excluded)."""
        return float(np.nanmean(self.regret))


def level_observations(walls: np.ndarray, cheese: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Observations with the mouse on each free non-cheese cell of a level.

    Returns:
        ``(obs [N, 3, S, S] uint8, cells [N, 2] int)``.
    """
    walls = np.asarray(walls, dtype=bool)
    cells = np.argwhere(~walls)
    cells = cells[~((cells[:, 0] == cheese[0]) & (cells[:, 1] == cheese[1]))]
    obs = np.stack([observation(walls, tuple(cell), cheese) for cell in cells])
    return obs, cells


@torch.no_grad()
def policy_map(
    policy: nn.Module,
    walls: np.ndarray,
    cheese: tuple[int, int],
    gamma: float = 0.99,
    reward: object = None,
) -> PolicyMap:
    """Run ``policy`` (obs -> (logits, value)) with the mouse on every free cell.

    Args:
        policy: Actor-critic module returning ``(logits [N, 4], value [N])``.
        walls: ``[S, S]`` bool walls of the level.
        cheese: ``(row, col)`` of the cheese.
        gamma: Discount for the exact solver's ``Q*`` used in the regret map.
        reward: Reward object for the solver (default: the cheese reward).

    Returns:
        A :class:`PolicyMap`.
    """
    walls = np.asarray(walls, dtype=bool)
    cheese = (int(cheese[0]), int(cheese[1]))
    if walls[cheese]:
        raise ValueError(f"cheese {cheese} is on a wall; pass a free cell of the level.")
    obs, cells = level_observations(walls, cheese)
    logits, values = policy(torch.as_tensor(obs))  # [N, 4], [N]
    probs_flat = torch.softmax(logits.float(), dim=-1).numpy()
    size = walls.shape[0]
    probs = np.full((size, size, 4), np.nan)
    value_map = np.full((size, size), np.nan)
    rows, cols = cells[:, 0], cells[:, 1]
    probs[rows, cols] = probs_flat
    value_map[rows, cols] = values.float().numpy()
    solution = solve(walls, cheese, reward=reward, gamma=gamma)
    regret = np.full((size, size), np.nan)
    regret[rows, cols] = solution.V[rows, cols] - (probs_flat * solution.Q[rows, cols]).sum(-1)
    return PolicyMap(walls=walls, cheese=cheese, probs=probs, values=value_map, regret=regret)
