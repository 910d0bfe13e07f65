"""The PPO recorder's bookkeeping: metrics before checkpoints, two training states, and
the NaN/Inf guard that stops training before a bad checkpoint is written."""

import math

import numpy as np
import pytest
import torch
from gymnasium.vector import VectorWrapper

from devrl._io import WRITE_HOOKS
from devrl.agents import PPOConfig, train
from devrl.agents._recorder import TrainingDivergedError
from devrl.agents.ppo import make_env
from devrl.runs import Run

TINY = {
    "size": 5,
    "num_envs": 4,
    "num_steps": 8,
    "total_timesteps": 4 * 8 * 8,
    "num_minibatches": 2,
    "update_epochs": 1,
    "channels": 2,
    "hidden": 8,
    "checkpoints": 4,
    "seed": 5,
}


class NaNRewardsAfter(VectorWrapper):
    """Rewards turn NaN after ``steps`` batched steps (a broken reward, say)."""

    def __init__(self, env, steps):
        super().__init__(env)
        self.steps, self.episode_keys = steps, env.episode_keys
        self.count = 0

    def step(self, actions):
        obs, reward, term, trunc, info = self.env.step(actions)
        self.count += 1
        if self.count > self.steps:
            reward = np.full_like(reward, np.nan)
        return obs, reward, term, trunc, info


def test_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    config = PPOConfig(**TINY)
    envs = NaNRewardsAfter(make_env(config), steps=2 * config.num_steps)  # NaN in update 3
    with pytest.raises(TrainingDivergedError) as info:
        train(config, tmp_path / "run", envs=envs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("training diverged at update 3: non-finite losses/value_loss=nan")
    assert "the last good checkpoint is step 32 of" in message and "Lower lr (0.001)" in message
    run = Run.load(tmp_path / "run")
    assert run.steps == [0, 32]  # update 4's checkpoint never written
    for step in run.steps:
        assert all(torch.isfinite(v).all() for v in run.load_checkpoint(step)["model"].values())
    assert list(run.metrics["update"]) == [1, 2]  # rows up to the failure, none after
    assert math.isfinite(run.metrics["losses/value_loss"].iloc[-1])


def test_metrics_are_flushed_before_each_checkpoint(tmp_path):
    opened = []

    def hook(event, path):
        if event == "open":
            opened.append(path.name)

    WRITE_HOOKS.append(hook)
    try:
        train(PPOConfig(**TINY), tmp_path / "run")
    finally:
        WRITE_HOOKS.remove(hook)
    new = [
        i for i, name in enumerate(opened) if name.startswith("step_") and name not in opened[:i]
    ]
    assert [opened[i] for i in new] == [f"step_{s:08d}.pt" for s in (0, 32, 128, 256)]
    assert [opened[i - 1] for i in new[1:]] == ["metrics.csv"] * 3
    assert opened.count("metrics.csv") == 3  # once per checkpoint, none at the end
