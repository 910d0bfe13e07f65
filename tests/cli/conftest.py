"""A hand-made run directory (two checkpoints of an untrained net): no training needed."""

import pytest
import torch

from devrl.agents import ActorCritic
from devrl.runs import Run


@pytest.fixture
def run_dir(tmp_path):
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
