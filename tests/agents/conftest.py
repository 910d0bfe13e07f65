"""Tiny PPO configs so training tests run in seconds."""

import pytest


@pytest.fixture
def tiny_config():
    from devrl.agents import PPOConfig

    return PPOConfig(
        size=5,
        num_envs=4,
        num_steps=8,
        total_timesteps=4 * 8 * 8,
        num_minibatches=2,
        update_epochs=2,
        channels=2,
        hidden=8,
        checkpoints=4,
        seed=3,
    )
