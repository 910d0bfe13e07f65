"""Steering vectors: does subtracting the cheese's activations make the agent ignore the cheese?

Mini et al. (2023) took, at one layer, the activations on a level minus those on the
same level without the cheese (the mouse at its start): the *cheese vector*. Subtracting
it (coefficient −1) in every forward pass made their agent go for the cheese less often
at the decision square; adding it (+1) did little. Here the same experiment runs at every
hook point of any maze agent, with two controls: a random vector of the same norm, and
the cheese vector of a different level (the next one in the list). The corner vector
(the top-right region walled off instead of the cheese removed) asks the same of the
corner: does adding it send the mouse there? Each level is steered
with its own vector; the policy is evaluated with the mouse on the decision square, which
for these feed-forward agents is the one forward pass that decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from devrl.hooks import run_with_cache, steering_hook
from devrl.mechanisms._probe import (
    Level,
    decision_batch,
    default_layers,
    hooked_probs,
    without_cheese,
)
from devrl.stats.intervals import bootstrap_ci, wilson

VECTORS = ("cheese", "random", "other-level")
"""The vectors :func:`steering_effects` applies: the level's own, and the two controls."""


@torch.no_grad()
def cheese_vectors(
    policy: nn.Module, levels: Iterable[Level], layers: Sequence[str] | None = None
) -> dict[str, torch.Tensor]:
    """The cheese vector of each level with a decision square, at each layer.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs (levels without a decision square are skipped).
        layers: Hook names (default: every hook point between input and heads).

    Returns:
        ``{layer: [N, ...]}``: activations with the mouse at the start minus the same with
        the cheese removed.
    """
    batch = decision_batch(levels)
    layers = default_layers(policy) if layers is None else list(layers)
    _, on = run_with_cache(policy, batch.at_start.float(), layers)
    _, off = run_with_cache(policy, without_cheese(batch.at_start).float(), layers)
    return {name: on[name] - off[name] for name in layers}


@torch.no_grad()
def corner_vectors(
    policy: nn.Module,
    levels: Iterable[Level],
    layers: Sequence[str] | None = None,
    *,
    region: int = 1,
) -> dict[str, torch.Tensor]:
    """The corner vector of each level with a decision square, at each layer.

    Built like the cheese vector, with the top-right ``region x region`` cells changed
    instead of the cheese: activations on the level (mouse at the start) minus those on
    the same level with those cells walled off (the corner gone from the observation).

    Returns:
        ``{layer: [N, ...]}``.
    """
    batch = decision_batch(levels)
    size = batch.at_start.shape[-1]
    if isinstance(region, bool) or not isinstance(region, int) or not 1 <= region < size:
        raise ValueError(f"region must be an int in [1, size={size}), got {region!r}.")
    layers = default_layers(policy) if layers is None else list(layers)
    walled = batch.at_start.clone()
    walled[:, 0, :region, size - region :] = 1
    walled[:, 1:, :region, size - region :] = 0  # a wall holds neither mouse nor cheese
    _, on = run_with_cache(policy, batch.at_start.float(), layers)
    _, off = run_with_cache(policy, walled.float(), layers)
    return {name: on[name] - off[name] for name in layers}


def same_norm_random(vectors: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Gaussian directions with the norm of each row of ``vectors [N, ...]`` (the control)."""
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(vectors.shape, generator=gen, dtype=vectors.dtype)
    flat = noise.flatten(1)
    norms = vectors.flatten(1).norm(dim=1, keepdim=True)
    return (flat / flat.norm(dim=1, keepdim=True) * norms).reshape(vectors.shape)


def steering_effects(
    policy: nn.Module,
    levels: Iterable[Level],
    layers: Sequence[str] | None = None,
    *,
    coeffs: Sequence[float] = (-1.0, 1.0),
    seed: int = 0,
    goal: str = "cheese",
) -> pd.DataFrame:
    """P(cheese action) at the decision square with each level's cheese vector added.

    With ``goal="corner"`` the corner vector (:func:`corner_vectors`) is applied instead
    and ``p_before``/``p_after``/``change`` are about the corner action.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs; those without a decision square are skipped.
        layers: Hook names (default: every hook point between input and heads).
        coeffs: Multipliers of the vector (−1 removes the cheese, +1 adds it again).
        seed: Seeds the random control.
        goal: ``"cheese"`` or ``"corner"``: which vector, and which action's probability.

    Returns:
        One row per level, layer, vector (:data:`VECTORS`, the first named after
        ``goal``) and coefficient: ``level``,
        ``layer``, ``vector``, ``coeff``, ``norm`` (of the vector), ``p_before`` and
        ``p_after`` (probability of the cheese action), ``change`` (after − before),
        ``p_other_after`` (probability of the other goal's action).
    """
    if goal not in ("cheese", "corner"):
        raise ValueError(f"goal must be 'cheese' or 'corner', got {goal!r}.")
    levels = list(levels)
    batch = decision_batch(levels)
    if len(batch) < 2:
        raise ValueError("levels must hold at least two levels with a decision square.")
    layers = default_layers(policy) if layers is None else list(layers)
    make = cheese_vectors if goal == "cheese" else corner_vectors
    vectors = make(policy, levels, layers)
    mine, other = (
        (batch.cheese_actions, batch.corner_actions)
        if goal == "cheese"
        else (batch.corner_actions, batch.cheese_actions)
    )
    obs = batch.at_ds.float()
    before = hooked_probs(policy, obs)
    p_before = (before * mine).sum(1)
    frames = []
    for k, name in enumerate(layers):
        own = vectors[name]
        candidates = {
            goal: own,
            "random": same_norm_random(own, seed + k),
            "other-level": torch.roll(own, -1, dims=0),
        }
        for kind, vec in candidates.items():
            norm = vec.flatten(1).norm(dim=1).double().numpy()
            for coeff in coeffs:
                after = hooked_probs(policy, obs, [(name, steering_hook(vec, coeff))])
                p_after = (after * mine).sum(1)
                frames.append(
                    pd.DataFrame(
                        {
                            "level": batch.index,
                            "layer": name,
                            "vector": kind,
                            "coeff": float(coeff),
                            "norm": norm,
                            "p_before": p_before,
                            "p_after": p_after,
                            "change": p_after - p_before,
                            "p_other_after": (after * other).sum(1),
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def _median_interval(x: np.ndarray, level: float, seed: int) -> tuple[float, float]:
    if x.size < 2:
        return float(np.median(x)), float(np.median(x))
    ci = bootstrap_ci(x, np.median, level=level, n_resamples=2000, seed=seed)
    return ci.low, ci.high


def steering_summary(
    effects: pd.DataFrame, level: float = 0.95, seed: int = 0, *, tol: float = 1e-9
) -> pd.DataFrame:
    """Per layer, vector and coefficient: how often and how much P(cheese action) moves.

    Changes within ``tol`` of zero (float noise) count as neither falling nor rising.

    Returns:
        ``layer, vector, coeff, levels``, ``fell`` (fraction of levels where the
        probability fell; ``fell_low``/``fell_high`` Wilson), ``rose`` (fraction where it
        rose), ``median_change`` (``median_low``/``median_high``: percentile bootstrap over
        levels), ``mean_change``, ``p_before``, ``p_after`` (means).
    """
    needed = {"layer", "vector", "coeff", "change", "p_before", "p_after"}
    if missing := needed - set(effects.columns):
        raise ValueError(f"effects must come from steering_effects; missing {sorted(missing)}.")
    rows = []
    for (name, kind, coeff), grp in effects.groupby(["layer", "vector", "coeff"], sort=False):
        change = grp["change"].to_numpy(np.float64)
        fell, fell_low, fell_high = wilson(int((change < -tol).sum()), len(change), level)
        low, high = _median_interval(change, level, seed)
        rows.append(
            {
                "layer": name,
                "vector": kind,
                "coeff": coeff,
                "levels": len(change),
                "fell": fell,
                "fell_low": fell_low,
                "fell_high": fell_high,
                "rose": float((change > tol).mean()),
                "median_change": float(np.median(change)),
                "median_low": low,
                "median_high": high,
                "mean_change": float(change.mean()),
                "p_before": float(grp["p_before"].mean()),
                "p_after": float(grp["p_after"].mean()),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "VECTORS",
    "cheese_vectors",
    "corner_vectors",
    "same_norm_random",
    "steering_effects",
    "steering_summary",
]
