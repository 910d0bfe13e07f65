"""``fisher``: the Fisher (Gauss–Newton) spectrum of the policy on an LLC's state buffer.

=============  ===================================================================
name           value
=============  ===================================================================
fisher         trace E_s Σ_a π(a|s) ‖∇ log π(a|s)‖² (exact over actions)
fisher/top     largest eigenvalue
fisher/visible-g<γ>  ½ Σ_i nβh_i/(nβh_i + γ): the LLC a quadratic loss with this
               curvature would give at nβ and localization γ (one row per γ)
fisher/count-g<γ>    number of eigenvalues above γ/(nβ)
=============  ===================================================================

Why: the action-likelihood LLC counts only directions stiffer than γ/(nβ); if it rises
as ``fisher/visible-g100`` does, the rise is the policy sharpening (curvature growing),
not a change of degeneracy (:mod:`devrl.llc.policy_fisher`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from devrl.measures.base import Context, register_measure
from devrl.measures.defaults import NBETA, STATE_SAMPLES
from devrl.measures.shared import state_buffer


def fisher(
    policy: nn.Module,
    context: Context,
    *,
    states: str = "uniform",
    state_policy: int | str = "final",
    samples: int = STATE_SAMPLES,
    nbeta: float = NBETA,
    localizations: tuple = (10.0, 100.0, 1000.0),
) -> dict[str, Any]:
    """Trace, top eigenvalue and γ-visible count of the policy's Fisher matrix on its buffer."""
    from devrl.llc.datasets import vmap_safe
    from devrl.llc.geometry import visible_llc
    from devrl.llc.policy_fisher import policy_fisher_eigenvalues

    if nbeta <= 0:
        raise ValueError(f"nbeta must be > 0, got {nbeta}.")
    if not localizations or any(g <= 0 for g in localizations):
        raise ValueError(f"localizations must be positive numbers, got {localizations!r}.")
    buffer = state_buffer(policy, context, states, samples, state_policy)
    eig = policy_fisher_eigenvalues(vmap_safe(policy), buffer.obs)
    out: dict[str, Any] = {"": float(eig.sum()), "top": float(eig[0])}
    for g in localizations:
        tag = f"g{g:g}"
        out[f"visible-{tag}"] = visible_llc(eig, nbeta, g)
        out[f"count-{tag}"] = float(np.sum(eig > g / nbeta))
    return out


register_measure(
    "fisher",
    fisher,
    "Fisher trace/spectrum of pi on the LLC's state buffer (exact over actions)",
    states="uniform",
    state_policy="final",
    samples=STATE_SAMPLES,
    nbeta=NBETA,
    localizations=(10.0, 100.0, 1000.0),
)


def weight_norm(policy: nn.Module, context: Context) -> float:
    """Euclidean norm of all the network's parameters (the scale a sharpening policy grows)."""
    import torch

    with torch.no_grad():
        return float(torch.sqrt(sum((p.double() ** 2).sum() for p in policy.parameters())))


register_measure("weight-norm", weight_norm, "Euclidean norm of all parameters")
__all__ = ["fisher", "weight_norm"]
