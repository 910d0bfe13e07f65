"""The toy model of superposition (TMS) as a dataset and a contextual bandit.

Chen et al. (2023) train f(x) = ReLU(WᵀW x + b) to reconstruct sparse inputs
x = μ e_i (i uniform on 1..c, μ ~ U[0,1]) under L = E‖x − f(x)‖². ``TMSBandit`` poses the
same task as reinforcement learning: the context is x, the action a reconstruction x̂,
the reward −‖x − x̂‖². With a Gaussian policy N(f(x), σ²I) the expected reward is
−L(W, b) − cσ² (theory/tms_rl.md), so the supervised critical points carry over.

The context distribution is configurable (which feature is active, per-output reward
importances, reward noise, several contexts per episode with delayed reward) so that later
experiments can add RL's difficulties one at a time; the defaults are the paper's setting.
The model itself is :class:`devrl.agents.tms_model.TMSModel`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = ["TMSBandit", "TMSBanditEnv", "per_sample_loss", "sample_contexts"]

_STATE_VERSION = 1


def _check_probs(name: str, value, c: int, simplex: bool) -> np.ndarray:
    if value is None:
        return np.full(c, 1.0 / c) if simplex else np.ones(c)
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (c,) or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name} must be {c} finite non-negative numbers, got {value!r}.")
    if simplex:
        if v.sum() <= 0:
            raise ValueError(f"{name} must have a positive sum, got {value!r}.")
        v = v / v.sum()
    return v


def sample_contexts(
    n: int,
    rng: np.random.Generator,
    c: int = 6,
    probs=None,
) -> np.ndarray:
    """Draw n high-sparsity inputs x = μ e_i, i ~ probs (default uniform), μ ~ U[0, 1].

    Deterministic given ``rng``. Returns float32 [n, c].
    """
    p = _check_probs("probs", probs, c, simplex=True)
    idx = rng.choice(c, size=n, p=p)
    mu = rng.random(n)
    x = np.zeros((n, c), dtype=np.float32)
    x[np.arange(n), idx] = mu
    return x


def per_sample_loss(x_hat: torch.Tensor, x: torch.Tensor, importance=None) -> torch.Tensor:
    """Σ_k I_k (x_k − x̂_k)² per sample, [B] (I = 1 by default: the TMS loss)."""
    sq = (x - x_hat) ** 2
    if importance is not None:
        sq = sq * torch.as_tensor(np.asarray(importance), dtype=sq.dtype)
    return sq.sum(-1)


class TMSBandit(VectorEnv):
    """A batch of TMS reconstruction bandits, stepped together with numpy.

    ## Description
    Each step every environment shows a sparse context x = μ e_i; the agent answers with
    a reconstruction x̂ and is paid −Σ_k I_k (x_k − x̂_k)². This is the toy model of
    superposition (Chen et al. 2023) with bandit feedback instead of the target.

    ## Action Space
    ``Box(-inf, inf, (c,), float32)`` per environment: the reconstruction x̂.

    ## Observation Space
    ``Box(0, 1, (c,), float32)`` per environment: the context x (one non-zero entry).

    ## Starting State
    A fresh context: feature i with probability ``probs[i]`` (default 1/c), value μ ~ U[0,1].

    ## Rewards
    −Σ_k I_k (x_k − x̂_k)² with importances ``importance`` (default 1), plus optional
    N(0, ``reward_noise``²) noise. With ``delayed_reward`` the step rewards of an episode
    are summed and paid on its last step (0 before).

    ## Episode End
    Terminated after ``episode_length`` contexts (default 1: one context per episode).
    Never truncated. Autoreset is SAME_STEP: the obs returned after the last step is the
    first context of the next episode; ``info["final_obs"]`` holds the pre-reset obs.
    ``info["context"]`` is the context the action answered and ``info["sq_error"]`` the
    noise-free unweighted ‖x − x̂‖².

    ## Arguments
    num_envs, c, probs, importance, reward_noise, episode_length, delayed_reward, seed.
    One generator drives the batch, so contexts depend on ``(seed, num_envs)``.
    ``set_distribution(probs=..., importance=...)`` changes the distribution mid-training
    (drift); :meth:`state_dict` / :meth:`load_state_dict` resume bit-identically.
    """

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        c: int = 6,
        probs=None,
        importance=None,
        reward_noise: float = 0.0,
        episode_length: int = 1,
        delayed_reward: bool = False,
        seed: int | None = None,
    ):
        if int(num_envs) < 1 or int(c) < 1 or int(episode_length) < 1:
            raise ValueError(
                f"num_envs, c and episode_length must be >= 1; got {num_envs}, {c}, {episode_length}."
            )
        if not np.isfinite(reward_noise) or reward_noise < 0:
            raise ValueError(f"reward_noise must be a finite std >= 0, got {reward_noise!r}.")
        self.num_envs, self.c = int(num_envs), int(c)
        self.reward_noise = float(reward_noise)
        self.episode_length = int(episode_length)
        self.delayed_reward = bool(delayed_reward)
        self.set_distribution(probs=probs, importance=importance)
        self.render_mode = None
        self.single_observation_space = spaces.Box(0.0, 1.0, (self.c,), np.float32)
        self.single_action_space = spaces.Box(-np.inf, np.inf, (self.c,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rng = np.random.default_rng(seed)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._return = np.zeros(self.num_envs, dtype=np.float64)
        self._pending = np.zeros(self.num_envs, dtype=np.float64)
        self._obs = self._draw(self.num_envs)

    def set_distribution(self, probs=None, importance=None) -> None:
        """Set feature probabilities and reward importances (None restores the default)."""
        self.probs = _check_probs("probs", probs, self.c, simplex=True)
        self.importance = _check_probs("importance", importance, self.c, simplex=False)

    def _draw(self, n: int) -> np.ndarray:
        return sample_contexts(n, self._rng, self.c, self.probs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start new episodes everywhere; an int ``seed`` reseeds the batch generator."""
        if options:
            raise ValueError(f"TMSBandit.reset takes no options, got {options!r}.")
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t[:] = 0
        self._return[:] = 0.0
        self._pending[:] = 0.0
        self._obs = self._draw(self.num_envs)
        return self._obs.copy(), {}

    def step(self, actions):
        """Answer every context with a reconstruction [B, c]; returns the gymnasium 5-tuple."""
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != (self.num_envs, self.c) or not np.all(np.isfinite(a)):
            raise ValueError(
                f"actions must be finite floats of shape ({self.num_envs}, {self.c}), got "
                f"shape {a.shape}."
            )
        x = self._obs.astype(np.float64)
        sq = (x - a) ** 2
        r = -(sq * self.importance).sum(-1)
        if self.reward_noise > 0:
            r = r + self.reward_noise * self._rng.standard_normal(self.num_envs)
        self._t += 1
        terminated = self._t >= self.episode_length
        if self.delayed_reward:
            self._pending += r
            r = np.where(terminated, self._pending, 0.0)
            self._pending[terminated] = 0.0
        self._return += r
        info = {
            "context": self._obs.copy(),
            "sq_error": sq.sum(-1),
            "episode_return": self._return.copy(),
            "episode_length": self._t.copy(),
        }
        nxt = self._draw(self.num_envs)  # next contexts for every row (same draw count always)
        info["final_obs"] = np.where(terminated[:, None], self._obs, nxt).astype(np.float32)
        self._obs = nxt
        self._t[terminated] = 0
        self._return[terminated] = 0.0
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs.copy(), r.astype(np.float32), terminated, truncated, info

    def config(self) -> dict[str, Any]:
        """Environment variables for run configs; ``TMSBandit(num_envs, **env.config())`` rebuilds it."""
        return {
            "c": self.c,
            "probs": self.probs.tolist(),
            "importance": self.importance.tolist(),
            "reward_noise": self.reward_noise,
            "episode_length": self.episode_length,
            "delayed_reward": self.delayed_reward,
        }

    def state_dict(self) -> dict[str, Any]:
        """Full state (contexts, episode stats, generator state) as plain Python types."""
        return {
            "version": _STATE_VERSION,
            "num_envs": self.num_envs,
            "config": self.config(),
            "obs": self._obs.tolist(),
            "t": self._t.tolist(),
            "episode_return": self._return.tolist(),
            "pending": self._pending.tolist(),
            "rng_state": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (including a drifted distribution)."""
        if state.get("version") != _STATE_VERSION or state["num_envs"] != self.num_envs:
            raise ValueError(
                f"state (version {state.get('version')}, num_envs {state.get('num_envs')}) does "
                f"not fit this env (version {_STATE_VERSION}, num_envs {self.num_envs})."
            )
        cfg = state["config"]
        self.set_distribution(cfg["probs"], cfg["importance"])
        self._obs = np.asarray(state["obs"], dtype=np.float32)
        self._t = np.asarray(state["t"], dtype=np.int64)
        self._return = np.asarray(state["episode_return"], dtype=np.float64)
        self._pending = np.asarray(state["pending"], dtype=np.float64)
        self._rng.bit_generator.state = state["rng_state"]


class TMSBanditEnv(gym.Env):
    """Single-environment view of :class:`TMSBandit` (id ``devrl/TMSBandit-v0``); same code."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, c: int = 6, render_mode: str | None = None, **kwargs):
        self._vec = TMSBandit(1, c=c, **kwargs)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = render_mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs, info = self._vec.reset(seed=seed, options=options)
        return obs[0], info

    def step(self, action):
        obs, r, term, trunc, info = self._vec.step(np.asarray(action)[None])
        return (
            obs[0],
            float(r[0]),
            bool(term[0]),
            bool(trunc[0]),
            {k: v[0] for k, v in info.items()},
        )
