"""Where a weight difference lives: per layer, per channel, and per input position of the dense layer.

Why (issue 14, item 5): if "reach cell k" is stored in the weights, its specific part should
sit in the same places for every k (a consistent channel profile) and, in the dense layer
that reads the conv features cell by cell, at the input positions of cell k. A pointer
objective (the cheese, shown in the observation) needs no position-specific weights. Nulls:
an isotropic direction puts each layer's share at its share of parameters; a direction with
equal per-layer norms (:func:`devrl.objectives.deltas.random_like`) spreads evenly over
channels and positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from devrl.stats import spearman

__all__ = [
    "channel_profile",
    "dense_position_map",
    "layer_shares",
    "position_rank",
    "profile_consistency",
]


def layer_shares(delta: Mapping[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """Per entry: (share of the squared norm, share of the parameters).

    The ratio of the two is the entry's enrichment: 1 for an isotropic random direction.
    """
    sq = {k: float(v.double().pow(2).sum()) for k, v in delta.items()}
    n = {k: v.numel() for k, v in delta.items()}
    tot_sq, tot_n = sum(sq.values()), sum(n.values())
    if tot_sq <= 0:
        raise ValueError("delta is zero: shares are undefined.")
    return {k: (sq[k] / tot_sq, n[k] / tot_n) for k in delta}


def channel_profile(delta: Mapping[str, torch.Tensor], key: str) -> np.ndarray:
    """Share of ``delta[key]``'s squared norm in each output unit (dim 0) [units]."""
    if key not in delta:
        raise ValueError(f"delta has no entry {key!r}.")
    w = delta[key].double()
    sq = w.pow(2).reshape(w.shape[0], -1).sum(1).numpy()
    total = sq.sum()
    if total <= 0:
        raise ValueError(f"delta[{key!r}] is zero: its profile is undefined.")
    return sq / total


def profile_consistency(profiles: Sequence[np.ndarray]) -> float:
    """Mean Spearman correlation over all pairs of profiles (one per target).

    Why: a channel that carries "reach a stored target" for every k is large in every
    specific part; unrelated edits give rank correlations near 0.
    """
    profiles = [np.asarray(p, dtype=float) for p in profiles]
    if len(profiles) < 2:
        raise ValueError("need at least two profiles.")
    pairs = [
        spearman(profiles[i], profiles[j])
        for i in range(len(profiles))
        for j in range(i + 1, len(profiles))
    ]
    return float(np.nanmean(pairs))


def dense_position_map(weight: torch.Tensor, channels: int, height: int, width: int) -> np.ndarray:
    """Share of a dense weight's squared norm reading each input position ``[height, width]``.

    Args:
        weight: ``[hidden, channels * height * width + extra]`` (channel-major flatten of
            ``[C, H, W]`` features first; ``extra`` trailing inputs, e.g. a readout, ignored).
        channels, height, width: the shape of the flattened conv features.
    """
    w = weight.detach().double()
    n = channels * height * width
    if w.ndim != 2 or w.shape[1] < n:
        raise ValueError(
            f"weight must be [hidden, >= {n}] for features [{channels}, {height}, {width}], "
            f"got {tuple(w.shape)}."
        )
    sq = w[:, :n].pow(2).sum(0).reshape(channels, height, width).sum(0).numpy()
    total = sq.sum()
    if total <= 0:
        raise ValueError("weight is zero on the spatial inputs: the map is undefined.")
    return sq / total


def position_rank(pos_map: np.ndarray, pos: tuple[int, int]) -> float:
    """Fraction of the other positions whose value is below ``pos_map[pos]`` (1 = the peak).

    Null: 0.5 on average when the map does not depend on ``pos``.
    """
    m = np.asarray(pos_map, dtype=float)
    if m.ndim != 2 or m.size < 2:
        raise ValueError(f"pos_map must be a 2-d map with at least two cells, got {m.shape}.")
    r, c = pos
    if not (0 <= r < m.shape[0] and 0 <= c < m.shape[1]):
        raise ValueError(f"pos {pos} is outside the map of shape {m.shape}.")
    v = m[r, c]
    return float(((m < v).sum()) / (m.size - 1))
