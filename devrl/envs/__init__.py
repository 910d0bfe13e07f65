"""Environments: batched numpy mazes behind the gymnasium API, with exact solvers.

The cheese-in-the-corner maze (:class:`MazeVecEnv`, :class:`MazeEnv`, gymnasium id
``"devrl/Maze-v0"``), its levels (:func:`generate_maze`), swappable reward objects
(:mod:`devrl.envs.rewards`), exact optimal values and regret (:mod:`devrl.envs.solver`)
and pictures (:mod:`devrl.envs.render`). ``import devrl`` registers the gymnasium ids
(:mod:`devrl._registration`); importing this package is not needed for ``gymnasium.make``.
"""

from devrl._registration import MAZE_ID
from devrl.envs.levels import (
    ACTION_NAMES,
    corner_cell,
    default_max_steps,
    generate_maze,
    level_from_obs,
    mouse_start,
    num_free_cells,
    observation,
    sample_level,
)
from devrl.envs.maze import MazeEnv
from devrl.envs.render import plot_policy, render_maze
from devrl.envs.rewards import (
    CellReward,
    CheeseReward,
    CornerReward,
    NegatedReward,
    Reward,
    StepPenalty,
    SumReward,
    TabularReward,
    reward_from_spec,
)
from devrl.envs.solver import Solution, bfs_distances, regret, solve
from devrl.envs.vector import MazeVecEnv, env_rng, make_vec_env

__all__ = [
    "ACTION_NAMES",
    "MAZE_ID",
    "CellReward",
    "CheeseReward",
    "CornerReward",
    "MazeEnv",
    "MazeVecEnv",
    "NegatedReward",
    "Reward",
    "Solution",
    "StepPenalty",
    "SumReward",
    "TabularReward",
    "bfs_distances",
    "corner_cell",
    "default_max_steps",
    "env_rng",
    "generate_maze",
    "level_from_obs",
    "make_vec_env",
    "mouse_start",
    "num_free_cells",
    "observation",
    "plot_policy",
    "regret",
    "render_maze",
    "reward_from_spec",
    "sample_level",
    "solve",
]
