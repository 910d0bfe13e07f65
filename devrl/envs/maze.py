"""Single cheese-in-the-corner maze, gymnasium id ``"devrl/Maze-v0"``."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from devrl.envs.rewards import Reward
from devrl.envs.vector import MazeVecEnv, env_rng


class MazeEnv(gym.Env):
    """One cheese-in-the-corner maze: a batch of one :class:`~devrl.envs.MazeVecEnv` underneath.

    ## Description
    A mouse must find the cheese in a procedurally generated perfect maze (Kruskal)
    on an odd ``size x size`` grid. In training the cheese sits in the top-right
    ``corner x corner`` region; with ``corner=None`` it can be anywhere.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left. Moving into a wall or off the grid
    leaves the mouse in place.

    ## Observation Space
    ``Box(0, 1, (3, size, size), uint8)``: planes (wall, mouse, cheese). Row 0 is the top.

    ## Starting State
    A new maze per episode; the mouse at bottom-left ``(size-1, 0)``; the cheese uniform
    over free cells of the top-right ``corner x corner`` region (never the start).

    ## Rewards
    From a reward object (:mod:`devrl.envs.rewards`); by default +1 on reaching the cheese.

    ## Episode End
    Terminated on entering a terminal cell of the reward (the cheese by default);
    truncated after ``max_steps`` steps (default 4 x the number of free cells). No
    autoreset: call :meth:`reset`.

    ## Info
    ``mouse_pos`` (2,), ``cheese_pos`` (2,), ``optimal_distance`` (BFS steps to the
    cheese), ``reached_corner``; after a step also ``episode_return``,
    ``episode_length`` and ``episode_success`` (running values until the episode ends).

    ## Arguments
    Args:
        size: odd side length in [5, 25] (default 9).
        corner: side of the top-right cheese region in [1, size], or None (anywhere).
        reward: a :class:`~devrl.envs.rewards.Reward`, its spec dict, or None (cheese).
        max_steps: time limit (default 4 x free cells).
        render_mode: None or ``"rgb_array"``.
        cheese_anywhere: share of levels with the cheese anywhere instead of in the
            corner region, in [0, 1] (default 0).

    ``reset(seed=s)`` gives the same levels as environment 0 of ``MazeVecEnv(n, seed=s)``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        size: int = 9,
        corner: int | None = 1,
        reward: Reward | dict | None = None,
        max_steps: int | None = None,
        render_mode: str | None = None,
        cheese_anywhere: float = 0.0,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}.")
        self._core = MazeVecEnv(
            1,
            size=size,
            corner=corner,
            reward=reward,
            max_steps=max_steps,
            seed=0,
            cheese_anywhere=cheese_anywhere,
        )
        self.render_mode = render_mode
        self.observation_space = self._core.single_observation_space
        self.action_space = self._core.single_action_space
        self.size, self.corner = self._core.size, self._core.corner
        self.reward, self.max_steps = self._core.reward, self._core.max_steps

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"MazeEnv.reset takes no options, got {options!r}.")
        if seed is not None:
            self._np_random = env_rng(int(seed), 0)
        self._core._rngs = [self.np_random]  # shared, so gymnasium's seeding checks see it
        self._core.reset()
        return self._core._obs[0].copy(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in {{0, 1, 2, 3}}, got {action!r}.")
        reward, terminated, truncated = self._core._advance(np.array([action], dtype=np.int64))
        info = self._info()
        info["episode_return"] = float(self._core._return[0])
        info["episode_length"] = int(self._core._t[0])
        info["episode_success"] = bool(terminated[0])
        return (
            self._core._obs[0].copy(),
            float(reward[0]),
            bool(terminated[0]),
            bool(truncated[0]),
            info,
        )

    def _info(self) -> dict[str, Any]:
        core = self._core
        return {
            "mouse_pos": core.mouse[0],
            "cheese_pos": core.cheese[0].copy(),
            "optimal_distance": int(core._dist[core._pos[0]]),
            "reached_corner": bool(core._corner_seen[0]),
        }

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from devrl.envs.render import render_maze

        return render_maze(self._core.walls[0], self._core.mouse[0], self._core.cheese[0])

    @property
    def walls(self) -> np.ndarray:
        """``[S, S]`` bool, the current maze."""
        return self._core.walls[0]

    @property
    def mouse(self) -> np.ndarray:
        """(row, col) of the mouse."""
        return self._core.mouse[0]

    @property
    def cheese(self) -> np.ndarray:
        """(row, col) of the cheese."""
        return self._core.cheese[0]

    def config(self) -> dict[str, Any]:
        """Environment variables for run configs (same keys as :meth:`MazeVecEnv.config`)."""
        return self._core.config()
