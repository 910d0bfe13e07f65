"""Gymnasium ids of devrl's environments, registered by ``import devrl``.

Why: the gymnasium convention is ``import devrl; gymnasium.make("devrl/Maze-v0")``.
Entry points are strings, so registering imports gymnasium but none of the
environments' own modules; ``gymnasium.make`` imports them on first use.
"""

from __future__ import annotations

import gymnasium

MAZE_ID = "devrl/Maze-v0"
TMS_BANDIT_ID = "devrl/TMSBandit-v0"

ENTRY_POINTS: dict[str, dict[str, str]] = {
    MAZE_ID: {
        "entry_point": "devrl.envs.maze:MazeEnv",
        "vector_entry_point": "devrl.envs.vector:MazeVecEnv",
    },
    TMS_BANDIT_ID: {"entry_point": "devrl.envs.tms:TMSBanditEnv"},
}


def register_envs() -> None:
    """Register every id in :data:`ENTRY_POINTS` not yet in gymnasium's registry.

    Ids already there are left alone, so calling this again (a reload of ``devrl``)
    neither warns nor replaces them.
    """
    for env_id, entry_points in ENTRY_POINTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, **entry_points)
