"""Settings of TMS runs trained by policy gradient, and the context distribution over training.

:class:`TMSRLConfig` is what :func:`devrl.agents.tms_rl.train_tms_rl` trains and what each
run's ``config.json`` records: learner, policy, the environment ladder's settings (reward
noise, episodes, delayed reward, drift, feedback) and budget. :meth:`TMSRLConfig.distribution`
is the drift: the feature probabilities and importances in force at a point of training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from devrl._config import check_numeric_fields, check_range
from devrl.agents.tms_runs import TMSBatchConfig

__all__ = ["TMSRLConfig"]


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class TMSRLConfig(TMSBatchConfig):
    """Settings of a batch of TMS runs trained by policy gradient on ``TMSBandit``."""

    trainer: ClassVar[str] = "tms_rl"
    step_unit: ClassVar[str] = "update on one batch of `batch` fresh contexts"

    algo: str = _f(
        "reinforce",
        "'reinforce' (baseline, one step per batch), 'ppo', or 'online' "
        "(supervised SGD on the same fresh contexts: the control)",
    )
    n_seeds: int = _f(16, "number of runs (seeds seed0 .. seed0 + n_seeds - 1)")
    seed0: int = _f(0, "first seed")
    c: int = _f(6, "number of features")
    m: int = _f(2, "hidden dimension")
    init: str = _f("4gon", "'4gon' (unit square on features 0..3) or 'random' (W ~ N(0, 1/m))")
    init_noise: float = _f(0.01, "std of Gaussian noise added to every initial parameter")
    sigma: float = _f(0.1, "policy standard deviation (initial value if learned)")
    learn_sigma: bool = _f(False, "learn log σ (one per seed) by policy gradient")
    sigma_min: float = _f(0.02, "floor of a learned σ")
    contexts: int = _f(4_500_000, "fresh contexts per seed over the whole run")
    batch: int = _f(200, "contexts per step (rollout size); a multiple of episode_length")
    lr: float = _f(0.05, "learning rate")
    optimizer: str = _f("sgd", "'sgd' or 'adam'")
    baseline: str = _f(
        "critic", "'critic' (linear critic on past batches), 'batch' (batch mean) or 'none'"
    )
    critic_decay: float = _f(0.9, "weight of the past in the critic's least-squares statistics")
    ppo_epochs: int = _f(4, "PPO: passes over each batch")
    minibatch: int = _f(50, "PPO: minibatch size (must divide batch)")
    clip: float = _f(0.2, "PPO: clipping range ε of the likelihood ratio")
    normalize_advantage: bool = _f(True, "PPO: standardise advantages per batch")
    reward_noise: float = _f(0.0, "std of Gaussian noise added to every reward")
    episode_length: int = _f(1, "contexts per episode")
    delayed_reward: bool = _f(False, "pay the summed reward at the end of the episode only")
    probs: list | None = field(
        default=None, metadata={"help": "initial feature probabilities (None: uniform)"}
    )
    importance: list | None = field(
        default=None, metadata={"help": "initial per-output reward importances (None: ones)"}
    )
    drift_probs: list | None = field(
        default=None, metadata={"help": "feature probabilities reached by the end of the drift"}
    )
    drift_importance: list | None = field(
        default=None, metadata={"help": "importances reached by the end of the drift"}
    )
    drift_start: float = _f(0.25, "fraction of training where the drift begins")
    drift_end: float = _f(0.5, "fraction of training where the drift ends (linear ramp)")
    feedback: float = _f(
        0.0,
        "actions influence the next contexts: next step's feature "
        "probabilities are (1-κ)·probs + κ·(share of argmax actions)",
    )
    n_log_checkpoints: int = _f(100, "log-spaced checkpoint steps")
    n_linear_checkpoints: int = _f(200, "linearly spaced checkpoint steps")
    run: str = _f("tms_rl", "run name written in the 'run' column")

    def __post_init__(self) -> None:
        check_numeric_fields(self)  # no bools for numbers (lr=True), no NaN/inf
        check_range("lr", self.lr, 0, 10, low_open=True)
        if self.algo not in ("reinforce", "ppo", "online"):
            raise ValueError(f"algo must be 'reinforce', 'ppo' or 'online', got {self.algo!r}.")
        if self.optimizer not in ("sgd", "adam") or self.baseline not in (
            "critic",
            "batch",
            "none",
        ):
            raise ValueError(
                f"optimizer must be 'sgd'/'adam' and baseline 'critic'/'batch'/'none'; "
                f"got {self.optimizer!r}, {self.baseline!r}."
            )
        for name in (
            "n_seeds",
            "c",
            "m",
            "contexts",
            "batch",
            "ppo_epochs",
            "minibatch",
            "episode_length",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if self.batch % self.episode_length or (self.algo == "ppo" and self.batch % self.minibatch):
            raise ValueError(
                f"batch ({self.batch}) must be a multiple of episode_length "
                f"({self.episode_length}) and, for PPO, of minibatch ({self.minibatch})."
            )
        if self.init not in ("4gon", "random") or (
            self.init == "4gon" and (self.m != 2 or self.c < 4)
        ):
            raise ValueError(
                f"init must be 'random', or '4gon' with m = 2, c >= 4; got {self.init!r}."
            )
        if not (self.lr > 0 and self.sigma > 0 and 0 < self.sigma_min <= self.sigma):
            raise ValueError(
                f"need lr > 0 and 0 < sigma_min <= sigma; got lr={self.lr}, "
                f"sigma={self.sigma}, sigma_min={self.sigma_min}."
            )
        if not (
            0 <= self.critic_decay < 1
            and 0 <= self.feedback <= 1
            and self.clip > 0
            and 0 <= self.drift_start <= self.drift_end <= 1
        ):
            raise ValueError(
                "need 0 <= critic_decay < 1, 0 <= feedback <= 1, clip > 0 and "
                "0 <= drift_start <= drift_end <= 1."
            )

    @property
    def total_steps(self) -> int:
        return self.contexts // self.batch

    def env_kwargs(self) -> dict[str, Any]:
        """``TMSBandit``'s arguments at the start of training (drift and feedback move them)."""
        return {
            "c": self.c,
            "probs": self.probs,
            "importance": self.importance,
            "reward_noise": self.reward_noise,
            "episode_length": self.episode_length,
            "delayed_reward": self.delayed_reward,
        }

    def metric_columns(self, metrics: pd.DataFrame) -> dict[str, Any]:
        """Config fields (and contexts seen) written as columns of the tidy metrics."""
        keys = (
            "algo",
            "init",
            "sigma",
            "learn_sigma",
            "lr",
            "batch",
            "reward_noise",
            "episode_length",
            "feedback",
        )
        return {**{k: getattr(self, k) for k in keys}, "contexts": metrics["step"] * self.batch}

    def steps_per_epoch(self, n_samples: int = 1000) -> float:
        """Steps per 'epoch' of ``n_samples`` contexts, to compare with SGD's epochs."""
        return n_samples / self.batch

    def distribution(self, frac: float) -> tuple[np.ndarray, np.ndarray]:
        """(probs, importance) in force at a fraction ``frac`` of training (the drift ramp)."""
        c = self.c
        p0 = (
            np.full(c, 1 / c)
            if self.probs is None
            else np.asarray(self.probs, float) / np.sum(self.probs)
        )
        i0 = np.ones(c) if self.importance is None else np.asarray(self.importance, float)
        p1 = (
            p0
            if self.drift_probs is None
            else np.asarray(self.drift_probs, float) / np.sum(self.drift_probs)
        )
        i1 = i0 if self.drift_importance is None else np.asarray(self.drift_importance, float)
        span = max(self.drift_end - self.drift_start, 1e-12)
        w = float(np.clip((frac - self.drift_start) / span, 0.0, 1.0))
        return (1 - w) * p0 + w * p1, (1 - w) * i0 + w * i1
