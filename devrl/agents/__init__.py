"""Agents: small actor-critic networks with named hook points, and the PPO trainer.

Public API:
    ActorCritic     conv actor-critic for grid observations (``devrl.agents.network``)
    MLPActorCritic  MLP actor-critic for flat observations; Gaussian head for Box actions
    PPOConfig       every training setting, validated (``devrl.agents.ppo``)
    PRESETS         tuned configs by name (``"quick"``; ``devrl.agents.presets``)
    train           run PPO into a run directory with dense checkpoints (the maze, or
                    any gymnasium VectorEnv passed as ``envs``)
    compute_gae     generalized advantage estimation (exposed for tests and analysis)
"""

from devrl.agents.config import PPOConfig
from devrl.agents.network import ActorCritic, MLPActorCritic
from devrl.agents.ppo import compute_gae, train
from devrl.agents.presets import PRESETS

__all__ = ["PRESETS", "ActorCritic", "MLPActorCritic", "PPOConfig", "compute_gae", "train"]
