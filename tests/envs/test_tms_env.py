"""TMS model, data and bandit environment."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from devrl.agents.tms_model import TMSModel
from devrl.envs.tms import TMSBandit, TMSBanditEnv, sample_contexts
from devrl.theory.tms import kgon, population_loss


def test_sample_contexts_is_one_hot_uniform_and_deterministic():
    x = sample_contexts(60_000, np.random.default_rng(0))
    assert x.shape == (60_000, 6) and x.dtype == np.float32
    assert ((x > 0).sum(1) == 1).all() and x.max() <= 1
    freq = (x > 0).mean(0)
    assert np.allclose(freq, 1 / 6, atol=0.01)
    assert x.sum(1).mean() == pytest.approx(0.5, abs=0.01)
    assert np.array_equal(x, sample_contexts(60_000, np.random.default_rng(0)))
    skewed = sample_contexts(20_000, np.random.default_rng(1), probs=[1, 0, 0, 0, 0, 1])
    assert np.allclose((skewed > 0).mean(0), [0.5, 0, 0, 0, 0, 0.5], atol=0.02)


def test_reward_is_negative_squared_error():
    env = TMSBandit(4, seed=0)
    obs, _ = env.reset(seed=0)
    a = np.random.default_rng(0).normal(size=(4, 6))
    _, r, term, trunc, info = env.step(a)
    assert np.allclose(r, -((obs - a) ** 2).sum(1), atol=1e-5)
    assert np.array_equal(info["context"], obs) and term.all() and not trunc.any()


def test_gaussian_policy_expected_reward_is_minus_loss_minus_c_sigma2():
    # E[reward] under a ~ N(f(x), sigma^2 I) equals -L(W, b) - c sigma^2 (theory/tms_rl.md).
    p, sigma, B, steps = kgon("6"), 0.2, 4096, 25
    model = TMSModel(W=p.W, b=p.b)
    env = TMSBandit(B, seed=1)
    obs, _ = env.reset(seed=1)
    rng, rewards = np.random.default_rng(1), []
    with torch.no_grad():
        for _ in range(steps):
            mean = model(torch.from_numpy(obs)).numpy()
            obs, r, *_ = env.step(mean + sigma * rng.standard_normal(mean.shape))
            rewards.append(r)
    rewards = np.concatenate(rewards)
    want = -population_loss(p.W, p.b) - 6 * sigma**2
    assert abs(rewards.mean() - want) < 4 * rewards.std() / np.sqrt(rewards.size)


@pytest.mark.filterwarnings("ignore:.*Box action space")  # Gaussian actions are unbounded
def test_single_env_passes_check_env_and_is_registered():
    check_env(TMSBanditEnv(), skip_render_check=True)
    env = gym.make("devrl/TMSBandit-v0")
    obs, _ = env.reset(seed=3)
    assert obs.shape == (6,)


def test_vector_api_autoreset_and_seeding():
    env = TMSBandit(8, seed=5)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    o1, _ = env.reset(seed=11)
    o2, _ = TMSBandit(8).reset(seed=11)
    assert np.array_equal(o1, o2) and env.observation_space.contains(o1)
    obs, _r, _term, _trunc, info = env.step(np.zeros((8, 6)))
    assert np.array_equal(info["final_obs"], o1)  # one context per episode: all rows reset
    assert not np.array_equal(obs, o1)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((8, 5)))


def test_state_dict_resumes_bit_identically_and_drift_is_kept():
    env = TMSBandit(3, reward_noise=0.1, seed=7)
    env.set_distribution(probs=[3, 1, 1, 1, 1, 1], importance=[2, 1, 1, 1, 1, 1])
    env.step(np.zeros((3, 6)))
    state = env.state_dict()
    a = [env.step(np.full((3, 6), 0.1)) for _ in range(3)]
    env2 = TMSBandit(3, reward_noise=0.1, seed=0)
    env2.load_state_dict(state)
    b = [env2.step(np.full((3, 6), 0.1)) for _ in range(3)]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
    assert env2.config() == env.config()


def test_delayed_reward_pays_the_sum_at_episode_end():
    env = TMSBandit(2, episode_length=3, delayed_reward=True, seed=0)
    obs, _ = env.reset(seed=0)
    total = np.zeros(2)
    for t in range(3):
        a = np.full((2, 6), 0.2)
        total -= ((obs - a) ** 2).sum(1)
        obs, r, term, _, _ = env.step(a)
        if t < 2:
            assert (r == 0).all() and not term.any()
    assert term.all() and np.allclose(r, total, atol=1e-5)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="probs"):
        TMSBandit(2, probs=[1, 2])
    with pytest.raises(ValueError, match="reward_noise"):
        TMSBandit(2, reward_noise=-1)
