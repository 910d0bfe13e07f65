"""Shared test settings (one torch thread per process, as in production: see
docs/architecture.md) and fixtures: a hand-made maze run and a tiny trained one."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)


@pytest.fixture
def run_dir(tmp_path):
    """A hand-made maze run directory: two checkpoints of an untrained net, no training."""
    from devrl.agents import ActorCritic
    from devrl.runs import Run

    config = {
        "size": 5,
        "corner": 1,
        "reward": {"type": "cheese"},
        "max_steps": 20,
        "seed": 0,
        "gamma": 0.9,
    }
    run = Run.create(tmp_path / "run", config, resume=False)
    torch.manual_seed(0)
    net = ActorCritic(obs_shape=(3, 5, 5), channels=2, hidden=4)
    run.save_checkpoint(0, net)
    run.save_checkpoint(100, net)
    return run.path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A maze run trained for six tiny PPO updates, three checkpoints (seconds)."""
    from devrl.agents import PPOConfig, train

    cfg = PPOConfig(
        size=5,
        num_envs=4,
        num_steps=8,
        total_timesteps=4 * 8 * 6,
        num_minibatches=2,
        update_epochs=1,
        channels=2,
        hidden=8,
        checkpoints=3,
        seed=3,
    )
    return train(cfg, tmp_path_factory.mktemp("run") / "tiny", resume=False)
