"""Agents: small actor-critic networks with named hook points, and the PPO trainer.

Public API:
    ActorCritic     conv actor-critic for grid observations (``devrl.agents.network``)
    MLPActorCritic  MLP actor-critic for flat observations; Gaussian head for Box actions
    PPOConfig       every training setting, validated (``devrl.agents.ppo``)
    PRESETS         tuned configs by name (``"quick"``; ``devrl.agents.presets``)
    train           run PPO into a run directory with dense checkpoints (the maze, or
                    any gymnasium VectorEnv passed as ``envs``)
    compute_gae     generalized advantage estimation (exposed for tests and analysis)

The names are imported on first use (PEP 562), so ``devrl.agents.config`` and
``devrl.agents.presets`` load without torch: ``devrl train --help`` builds its flags
from PPOConfig in a fraction of a second.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "ActorCritic": "devrl.agents.network",
    "MLPActorCritic": "devrl.agents.network",
    "PPOConfig": "devrl.agents.config",
    "PRESETS": "devrl.agents.presets",
    "compute_gae": "devrl.agents.ppo",
    "train": "devrl.agents.ppo",
}

__all__ = ["PRESETS", "ActorCritic", "MLPActorCritic", "PPOConfig", "compute_gae", "train"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'devrl.agents' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
