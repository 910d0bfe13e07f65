"""TMS measures: the exact population loss and the polygon of a TMS model at a checkpoint.

=================  ===============================================================
name               value
=================  ===============================================================
population-loss    L(W, b) = E Σ_k I_k (x_k − f(x)_k)², exact (closed form), on the
                   run's context distribution (``env_kwargs`` probs and importance:
                   the start of training for a drifting run; ``distribution="uniform"``
                   for Chen et al.'s uniform one)
polygon            rows ``polygon/k`` (large columns forming a regular k-gon) and
                   ``polygon/n_plus`` (small columns with positive bias), from
                   :func:`devrl.theory.tms.classify_polygon`; NaN when 'other'
=================  ===============================================================

Both need a run on ``devrl/TMSBandit-v0`` holding a :class:`~devrl.agents.tms_model.TMSModel`
(what :mod:`devrl.agents.tms_sgd` and :mod:`devrl.agents.tms_rl` write).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from devrl.agents.tms_model import TMSModel
from devrl.agents.tms_runs import TMS_ENV_ID
from devrl.measures.base import Context, register_measure
from devrl.theory.tms import classify_polygon, phase_counts, population_loss


def _weights(policy: nn.Module, context: Context, measure: str) -> tuple[np.ndarray, np.ndarray]:
    context.require_env(TMS_ENV_ID, measure)
    if not isinstance(policy, TMSModel):
        raise TypeError(
            f"measure {measure!r} needs a TMSModel; run {context.run.path} holds a "
            f"{type(policy).__name__}."
        )
    return policy.W.detach().double().numpy(), policy.b.detach().double().numpy()


def tms_population_loss(policy: nn.Module, context: Context, *, distribution: str = "run"):
    """Exact population loss of the checkpoint's (W, b); see the module docstring."""
    W, b = _weights(policy, context, "population-loss")
    if distribution == "uniform":
        return population_loss(W, b)
    if distribution != "run":
        raise ValueError(f"distribution must be 'run' or 'uniform', got {distribution!r}.")
    kw = context.env_kwargs
    return population_loss(W, b, kw.get("probs"), kw.get("importance"))


def tms_polygon(policy: nn.Module, context: Context) -> dict[str, float]:
    """``{"k": k, "n_plus": n_plus}`` of the checkpoint's polygon (NaNs for 'other')."""
    W, b = _weights(policy, context, "polygon")
    k, n_plus = phase_counts(classify_polygon(W, b))
    return {"k": k, "n_plus": n_plus}


register_measure(
    "population-loss",
    tms_population_loss,
    "exact TMS population loss L(W, b) on the run's context distribution",
    distribution="run",
)
register_measure("polygon", tms_polygon, "TMS polygon class: polygon/k and polygon/n_plus")

__all__ = ["tms_polygon", "tms_population_loss"]
