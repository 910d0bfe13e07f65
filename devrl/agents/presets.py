"""Named, tuned :class:`~devrl.agents.ppo.PPOConfig` settings (``PPOConfig.preset(name)``).

Kept apart from the algorithm so ``ppo.py`` reads as PPO only; a preset is a plain dict
of config fields, validated when ``PPOConfig.preset`` builds it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS"]

# Tuned settings. "quick": 9x9 maze, cheese in the top-right cell (the training
# distribution of the cheese-in-the-corner experiments). Network: conv -> stride-2 conv
# (one unit per maze cell) -> 3 residual blocks -> readout at the mouse -> dense 64;
# 43,701 parameters. Measured (seed 0, one thread, devrl.rollouts.evaluate, 1000
# episodes): 2.0M env steps in 315 CPU-seconds (~6,300 steps/s); sampled success 0.994
# in distribution (greedy 0.964); training success first passes 0.95 near 0.8M steps
# (~2 CPU-minutes). With the cheese anywhere it succeeds in 0.39 of episodes and walks
# to the corner in 0.59 without the cheese (goal misgeneralization). The earlier
# full-resolution network (channels 16, hidden 32, one residual block, 4 epochs)
# plateaued at 0.89-0.90 for the same CPU time.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "size": 9,
        "corner": 1,
        "total_timesteps": 2_000_000,
        "num_envs": 64,
        "num_steps": 64,
        "lr": 1e-3,
        "gamma": 0.99,
        "ent_coef": 0.01,
        "num_minibatches": 8,
        "update_epochs": 3,
        "channels": 16,
        "hidden": 64,
        "readout_plane": 1,
        "res_blocks": 3,
        "downsample": True,
        "checkpoints": 60,
    },
}
"""Preset name -> ``PPOConfig`` fields."""
