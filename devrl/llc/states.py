"""Fixed buffers of states for LLC datasets: visited by a policy, or uniform over maze levels.

Why separate from the losses: the state distribution is the second axis of an RL
dataset. Taking states from the measured checkpoint itself mixes on-policy drift
with parameter change; taking them from a fixed policy, or from every free cell of
fixed levels, holds the distribution still while the parameters move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from devrl._registration import MAZE_ID

_ENV_KEYS = ("size", "corner", "reward", "max_steps", "cheese_anywhere")

__all__ = ["StateBuffer", "discounted_returns", "policy_states", "uniform_states"]


@dataclass
class StateBuffer:
    """A fixed set of states to build datasets on.

    Attributes:
        obs: ``[n, *obs_shape]`` observations (maze: ``[n, 3, S, S]`` uint8).
        returns: ``[n]`` discounted Monte-Carlo return from each state (None for
            states not taken from rollouts).
        source: Where the states came from (``"self"``, ``"policy"``, ``"uniform"``).
    """

    obs: np.ndarray
    returns: np.ndarray | None
    source: str


def _check_env_kwargs(env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    env_kwargs = dict(env_kwargs or {})
    unknown = sorted(set(env_kwargs) - set(_ENV_KEYS))
    if unknown:
        raise ValueError(
            f"env_kwargs may only hold {list(_ENV_KEYS)}; got unknown {unknown} "
            "(pass env.config() or run.env_variables, without num_envs/seed)."
        )
    return env_kwargs


def _check_samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples must be a positive integer; got {samples!r}.")
    return int(samples)


def discounted_returns(
    rewards: np.ndarray, episode: np.ndarray, t: np.ndarray, gamma: float
) -> np.ndarray:
    """Return-to-go ``G_t = Σ_k γ^k r_{t+k}`` within each episode of a flat rollout."""
    order = np.lexsort((t, episode))  # by episode, then time
    g = np.zeros(len(rewards))
    acc, prev = 0.0, None
    for i in order[::-1]:
        acc = rewards[i] + (gamma * acc if episode[i] == prev else 0.0)
        g[i], prev = acc, episode[i]
    return g


def policy_states(
    policy: nn.Module,
    env_kwargs: Mapping[str, Any] | None = None,
    samples: int = 2048,
    *,
    seed: int = 0,
    gamma: float = 0.95,
    num_envs: int = 64,
    source: str = "self",
    env_id: str = MAZE_ID,
    wrappers: Sequence[Any] | None = None,
) -> StateBuffer:
    """States visited by ``policy``, sampled uniformly from the transitions of finished episodes.

    Episodes are collected in rounds of ``num_envs`` (each env copy finishing one
    episode, so short episodes are not over-represented) until there are at least
    ``samples`` transitions; ``samples`` of them are then drawn without replacement.
    Any gymnasium environment with discrete actions (``env_id``, ``wrappers``); the
    maze by default.

    Args:
        policy: ``obs -> (logits, value)``; actions are sampled from it.
        env_kwargs: Arguments of the environment (the maze's: size, corner, reward,
            max_steps).
        samples: Number of states.
        seed: Seeds levels, actions and the subsample.
        gamma: Discount of the Monte-Carlo returns.
        num_envs: Env copies (and episodes per round).
        source: Label recorded in the buffer.
        env_id: Any gymnasium environment with discrete actions (default the maze).
        wrappers: Wrapper specs for a non-maze environment
            (see :mod:`devrl.envs.external`).

    Returns:
        A :class:`StateBuffer` with Monte-Carlo returns.
    """
    from devrl.envs.external import vector_env
    from devrl.rollouts import collect

    if env_id == MAZE_ID:
        env_kwargs = _check_env_kwargs(env_kwargs)
    samples = _check_samples(samples)
    obs, returns, total, rnd = [], [], 0, 0
    was_training = policy.training
    policy.eval()
    try:
        while total < samples:
            env = vector_env(
                env_id, num_envs, seed=seed * 1000 + rnd, env_kwargs=env_kwargs, wrappers=wrappers
            )
            try:
                roll = collect(policy, env, episodes=num_envs, seed=seed * 1000 + rnd)
            finally:
                env.close()
            obs.append(roll.obs)
            returns.append(discounted_returns(roll.rewards, roll.episode, roll.t, gamma))
            total += len(roll)
            rnd += 1
    finally:
        policy.train(was_training)
    obs_all, ret_all = np.concatenate(obs), np.concatenate(returns)
    pick = np.sort(np.random.default_rng(seed).choice(len(obs_all), samples, replace=False))
    return StateBuffer(obs_all[pick], ret_all[pick].astype(np.float32), source)


def uniform_states(
    env_kwargs: Mapping[str, Any] | None = None, samples: int = 2048, *, seed: int = 0
) -> StateBuffer:
    """Every free non-cheese cell of fixed levels, then ``samples`` of them drawn at random.

    Levels are drawn with :func:`devrl.envs.sample_level` (the env's size and
    ``corner``) from ``seed`` until they hold at least ``samples`` cells, so the
    buffer does not depend on any policy: the same states for every checkpoint.

    Returns:
        A :class:`StateBuffer` without returns.
    """
    from devrl.envs import sample_level
    from devrl.envs.levels import validate_corner, validate_share, validate_size
    from devrl.maps import level_observations

    env_kwargs, samples = _check_env_kwargs(env_kwargs), _check_samples(samples)
    size = validate_size(env_kwargs.get("size", 9))
    corner = validate_corner(env_kwargs.get("corner", 1), size)
    anywhere = validate_share(env_kwargs.get("cheese_anywhere", 0.0))
    rng = np.random.default_rng(seed)
    obs, total = [], 0
    while total < samples:
        walls, cheese = sample_level(size, corner, rng, anywhere)
        level_obs, _ = level_observations(walls, cheese)
        obs.append(level_obs)
        total += len(level_obs)
    obs_all = np.concatenate(obs)
    pick = np.sort(rng.choice(len(obs_all), samples, replace=False))
    return StateBuffer(obs_all[pick], None, "uniform")
