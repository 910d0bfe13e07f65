"""Named TMS reinforcement-learning settings: the learners and the ladder of difficulties.

Plain dicts of :class:`~devrl.agents.tms_rl_config.TMSRLConfig` fields, kept apart from the
trainer like :mod:`devrl.agents.presets` is from PPO. The learners were chosen so that every
one of them learns from random initialisation (paper section tms_rl); the rungs each add one
difficulty of RL to REINFORCE from a 4-gon (theory/tms_rl.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TMS_LADDER", "TMS_LEARNERS", "TMS_SIGMA"]

#: The Gaussian policy's standard deviation for every learner.
TMS_SIGMA = 0.1
TMS_LEARNERS: dict[str, dict[str, Any]] = {
    "online": {"algo": "online", "batch": 200, "lr": 0.05, "sigma": TMS_SIGMA},
    "reinforce": {"algo": "reinforce", "batch": 200, "lr": 0.05, "sigma": TMS_SIGMA},
    "ppo": {
        "algo": "ppo",
        "batch": 1000,
        "minibatch": 250,
        "ppo_epochs": 4,
        "lr": 0.001,
        "optimizer": "adam",
        "sigma": TMS_SIGMA,
    },
}
TMS_LADDER: dict[str, dict[str, Any]] = {
    "noise": {"reward_noise": 0.2},
    "drift": {"drift_probs": [1, 1, 1, 1, 4, 4], "drift_start": 0.25, "drift_end": 0.5},
    "delayed": {"episode_length": 4, "delayed_reward": True},
    "feedback": {"feedback": 0.5},
}
