"""State buffers and rollout datasets on environments other than the maze."""

import numpy as np
import pytest
import torch

from devrl.agents.sb3 import SB3ActorCritic
from devrl.llc.rollout_data import rollout_dataset
from devrl.llc.states import policy_states


@pytest.fixture
def cartpole_policy():
    torch.manual_seed(0)
    return SB3ActorCritic((4,), 2, pi=[8], vf=[8]).eval()


def test_policy_states_on_a_gymnasium_env_are_seeded_episodes(cartpole_policy):
    a = policy_states(cartpole_policy, None, 50, seed=1, num_envs=4, env_id="CartPole-v1")
    b = policy_states(cartpole_policy, None, 50, seed=1, num_envs=4, env_id="CartPole-v1")
    assert a.obs.shape == (50, 4) and a.obs.dtype == np.float32  # the env's dtype, not uint8
    np.testing.assert_array_equal(a.obs, b.obs)
    assert np.all(a.returns > 0)  # CartPole pays 1 per step


@pytest.mark.parametrize("kind", ["action", "kl", "value"])
def test_rollout_datasets_take_any_discrete_env(cartpole_policy, kind):
    data = rollout_dataset(
        kind, cartpole_policy, samples=40, seed=2, env_id="CartPole-v1", target="value"
    )
    assert data.n == 40 and data.obs.shape == (40, 4)
    assert torch.isfinite(data.loss(cartpole_policy, data.tensors)).all()


def test_solver_and_level_datasets_need_the_maze(cartpole_policy):
    with pytest.raises(ValueError, match="exact solver"):
        rollout_dataset("regret", cartpole_policy, samples=8, env_id="CartPole-v1")
    with pytest.raises(ValueError, match="states='uniform'"):
        rollout_dataset("kl", cartpole_policy, samples=8, states="uniform", env_id="CartPole-v1")
