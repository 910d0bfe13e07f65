"""Trivial trackers of change between checkpoints: the baselines a learning coefficient must beat.

Why: a detector of a goal switch is only interesting if it beats what any practitioner
already logs: how far the weights moved, how much the policy changed, how sure it is.

===============  ===================================================================
name             value (stderr)
===============  ===================================================================
weight-distance  ‖w_t − w_prev‖ (prev: the run's previous checkpoint; NaN at the
                 first); ``/per-kstep`` the same per 1,000 env steps between them
policy-kl        mean KL(π_prev(·|s) ‖ π_t(·|s)) over a fixed uniform buffer of maze
                 states (se over states); ``/per-kstep`` per 1,000 env steps
state-entropy    mean policy entropy (nats) over the same buffer (se over states)
===============  ===================================================================

``policy-kl`` and ``state-entropy`` use :func:`devrl.measures.shared.state_buffer` with
``states="uniform"`` (the LLCs' buffer); ``buffer_anywhere`` replaces the run's
``cheese_anywhere`` share, so runs on different environments share one buffer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, register_measure
from devrl.measures.behaviour import mean_se
from devrl.measures.defaults import STATE_SAMPLES
from devrl.measures.shared import state_buffer
from devrl.rollouts import action_log_probs

KSTEP = 1000.0
"""Rates are per this many env steps."""


def previous_step(context: Context) -> int | None:
    """The run's checkpoint step just before ``context.step`` (None at the first)."""
    earlier = [s for s in context.run.steps if s < context.step]
    return max(earlier) if earlier else None


@torch.no_grad()
def _flat(policy: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().double().reshape(-1).cpu() for p in policy.parameters()])


def weight_distance(policy: nn.Module, context: Context) -> dict[str, float]:
    """Euclidean distance of the weights from the previous checkpoint's, and per 1,000 steps."""
    prev = previous_step(context)
    if prev is None:
        return {"": np.nan, "per-kstep": np.nan}
    d = float(torch.linalg.vector_norm(_flat(policy) - _flat(context.policy_at(prev))))
    return {"": d, "per-kstep": d * KSTEP / (context.step - prev)}


def _uniform_obs(policy, context: Context, samples: int, anywhere: float | None) -> np.ndarray:
    context.require_env(MAZE_ID, "a uniform state buffer")
    return state_buffer(policy, context, "uniform", samples, anywhere=anywhere).obs


def policy_kl(
    policy: nn.Module,
    context: Context,
    *,
    samples: int = STATE_SAMPLES,
    buffer_anywhere: float | None = None,
) -> dict[str, tuple[float, float]]:
    """Mean KL(π_prev ‖ π_t) over a fixed uniform buffer of states, and per 1,000 steps."""
    prev = previous_step(context)
    if prev is None:
        return {"": (np.nan, np.nan), "per-kstep": (np.nan, np.nan)}
    obs = _uniform_obs(policy, context, samples, buffer_anywhere)
    lp_prev, lp = action_log_probs(context.policy_at(prev), obs), action_log_probs(policy, obs)
    kl = np.maximum((np.exp(lp_prev) * (lp_prev - lp)).sum(axis=1), 0.0)
    mean, se = mean_se(kl)
    rate = KSTEP / (context.step - prev)
    return {"": (mean, se), "per-kstep": (mean * rate, se * rate)}


def state_entropy(
    policy: nn.Module,
    context: Context,
    *,
    samples: int = STATE_SAMPLES,
    buffer_anywhere: float | None = None,
) -> tuple[float, float]:
    """Mean policy entropy (nats) over a fixed uniform buffer of states."""
    lp = action_log_probs(policy, _uniform_obs(policy, context, samples, buffer_anywhere))
    return mean_se(-(np.exp(lp) * lp).sum(axis=1))


register_measure(
    "weight-distance", weight_distance, "distance of the weights from the previous checkpoint's"
)
register_measure(
    "policy-kl",
    policy_kl,
    "KL(previous checkpoint's policy || this one's) on uniform states",
    samples=STATE_SAMPLES,
    buffer_anywhere=None,
)
register_measure(
    "state-entropy",
    state_entropy,
    "mean policy entropy on uniform states",
    samples=STATE_SAMPLES,
    buffer_anywhere=None,
)

__all__ = ["KSTEP", "policy_kl", "previous_step", "state_entropy", "weight_distance"]
