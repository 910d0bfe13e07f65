"""SB3ActorCritic: SB3's PPO policies rebuilt in torch agree with SB3's own outputs."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from devrl.agents.registry import build_model, model_config
from devrl.agents.sb3 import SB3ActorCritic
from devrl.llc.datasets import vmap_safe

sb3 = pytest.importorskip("stable_baselines3")


class _ImageEnv(gym.Env):
    """Random 40x40 RGB frames (channels last), three actions: large enough for NatureCNN."""

    observation_space = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _sb3_outputs(model, obs):
    """SB3's raw logits and values on environment observations (its own preprocessing)."""
    policy = model.policy
    tensor, _ = policy.obs_to_tensor(obs)  # transposes images as VecTransposeImage did
    with torch.no_grad():
        pi_features, vf_features = policy.extract_features(tensor), None
        if isinstance(pi_features, tuple):
            pi_features, vf_features = pi_features
        else:
            vf_features = pi_features
        logits = policy.action_net(policy.mlp_extractor.forward_actor(pi_features))
        values = policy.value_net(policy.mlp_extractor.forward_critic(vf_features)).squeeze(-1)
        logp = policy.get_distribution(tensor).distribution.logits
    return logits, values, logp


def _agree(tmp_path, model, obs_shape, obs):
    from devrl.importers import read_sb3_zip

    model.save(tmp_path / "agent.zip")
    ours = read_sb3_zip(tmp_path / "agent.zip").model(obs_shape)
    logits, values, logp = _sb3_outputs(model, obs)
    with torch.no_grad():
        our_logits, our_values = ours(torch.as_tensor(obs))
    assert torch.allclose(our_logits, logits, atol=1e-5)
    assert torch.allclose(our_values, values, atol=1e-5)
    assert torch.allclose(torch.log_softmax(our_logits, -1), logp, atol=1e-5)
    return ours


def test_mlp_policy_on_vector_observations_agrees_with_sb3(tmp_path):
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(64)  # move the weights off their initialisation
    obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    ours = _agree(tmp_path, model, (4,), obs)
    assert ours.config()["extractor"] == "flatten" and not ours.config()["normalize"]


def test_cnn_policy_transposes_and_normalises_images_like_sb3(tmp_path):
    kwargs = {
        "activation_fn": torch.nn.ReLU,
        "net_arch": {"pi": [16], "vf": [8]},
        "share_features_extractor": False,
    }
    model = sb3.PPO("CnnPolicy", _ImageEnv(), n_steps=32, batch_size=16, policy_kwargs=kwargs)
    obs = np.random.default_rng(1).integers(0, 256, (6, 40, 40, 3)).astype(np.uint8)
    ours = _agree(tmp_path, model, (40, 40, 3), obs)
    config = ours.config()
    assert config["transpose"] and config["normalize"] and config["extractor"] == "nature_cnn"
    assert config["pi"] == [16] and config["vf"] == [8] and config["activation"] == "ReLU"


def test_model_kind_round_trips_and_runs_under_vmap():
    model = SB3ActorCritic((7, 7, 3), 7, transpose=True, normalize=True, pi=[8], vf=[8])
    rebuilt = build_model(model_config(model))
    assert isinstance(rebuilt, SB3ActorCritic) and rebuilt.config() == model.config()
    assert vmap_safe(model) is model
    logits, value = model(torch.zeros(5, 7, 7, 3, dtype=torch.uint8))
    assert logits.shape == (5, 7) and value.shape == (5,)


def test_bad_settings_say_what_is_allowed():
    with pytest.raises(ValueError, match="activation must be one of"):
        SB3ActorCritic((4,), 2, activation="Swish")
    with pytest.raises(ValueError, match="transpose needs"):
        SB3ActorCritic((4,), 2, transpose=True)
