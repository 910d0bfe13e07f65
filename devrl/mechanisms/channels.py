"""Cheese channels: which channels of a maze agent track where the cheese is, and matter.

Mini et al. (2023) found about a dozen channels in one residual block of their agent
whose spatial maps follow the cheese, and that resampling them (taking their values from
the same maze with the cheese elsewhere) changes the policy. Two measurements per
channel, on any maze agent:

* **Correlation.** For each level (mouse at the start), the Pearson correlation over
  positions between the channel's spatial map and the cheese indicator at the layer's
  resolution; averaged over levels, with a percentile-bootstrap interval over levels.
* **Resampling ablation.** With the mouse on the decision square, replace the channel's
  activations by those computed on the same maze with the cheese on another free cell
  (uniform, seeded), and measure the change in the action distribution (total variation)
  and in the probability of the cheese action.

A channel *tracks the cheese* when the lower end of its correlation interval exceeds
``min_r`` on at least ``min_defined`` of the levels (a channel silent on most levels has
no map to correlate, and one level's correlation says little), and *matters* when its mean total-variation change is at least ``min_tv``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from devrl.envs.levels import observation
from devrl.hooks import HookFn, run_with_cache
from devrl.mechanisms._probe import Level, decision_batch, default_layers, hooked_probs
from devrl.mechanisms.decision import decision_square
from devrl.stats.intervals import mean_interval


def cheese_indicator(cheese: np.ndarray, size: int, shape: Sequence[int]) -> torch.Tensor:
    """``[N, H, W]`` float: 1 at the layer's units that see each cheese cell, else 0.

    At full resolution (``H == size``) the cheese cell; at half resolution (``H ==
    (size + 1) // 2``, a stride-2 3x3 conv) every unit whose window contains it.
    """
    cheese = np.asarray(cheese).reshape(-1, 2)
    onehot = torch.zeros(len(cheese), 1, size, size)
    onehot[torch.arange(len(cheese)), 0, cheese[:, 0], cheese[:, 1]] = 1.0
    H, W = (int(s) for s in shape)
    if (H, W) == (size, size):
        return onehot[:, 0]
    if (H, W) == ((size + 1) // 2,) * 2:
        return F.max_pool2d(onehot, 3, stride=2, padding=1)[:, 0]
    raise ValueError(
        f"shape must be the maze's ({size}, {size}) or half of it, got {(H, W)} (not a "
        "spatial map of this maze)."
    )


def _spatial_r(acts: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """``[N, C]`` Pearson r over positions of ``acts [N, C, H, W]`` with ``target [N, H, W]``."""
    a = acts.double().flatten(2)
    a = a - a.mean(2, keepdim=True)
    t = target.double().flatten(1)[:, None]
    t = t - t.mean(2, keepdim=True)
    denom = a.norm(dim=2) * t.norm(dim=2)
    r = (a * t).sum(2) / denom
    return torch.where(denom > 0, r, torch.nan).numpy()


@torch.no_grad()
def channel_correlations(
    policy: nn.Module,
    levels: Iterable[Level],
    layers: Sequence[str] | None = None,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Per spatial layer and channel: mean over levels of the map's correlation with the cheese.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs (levels without a decision square are skipped, so
            the levels match :func:`resampling_ablation`'s).
        layers: Hook names (default: every hook point; non-spatial ones are skipped).
        seed: Seeds the bootstrap.

    Returns:
        ``layer, channel, r, r_low, r_high`` (mean and 95% percentile bootstrap over levels
        where the map is not constant) and ``defined`` (the share of such levels).
    """
    batch = decision_batch(levels)
    layers = default_layers(policy) if layers is None else list(layers)
    _, cache = run_with_cache(policy, batch.at_start.float(), layers)
    size = batch.at_start.shape[-1]
    rows = []
    for name in layers:
        acts = cache[name]
        if acts.dim() != 4:
            continue
        r = _spatial_r(acts, cheese_indicator(batch.cheese, size, acts.shape[2:]))  # [N, C]
        for c in range(r.shape[1]):
            ok = r[:, c][np.isfinite(r[:, c])]
            mean, low, high = mean_interval(ok, seed=seed) if ok.size else (np.nan,) * 3
            rows.append(
                {
                    "layer": name,
                    "channel": c,
                    "r": mean,
                    "r_low": low,
                    "r_high": high,
                    "defined": ok.size / len(r),
                }
            )
    if not rows:
        raise ValueError(f"none of the layers {layers} has a spatial [N, C, H, W] activation.")
    return pd.DataFrame(rows)


def _channel_patch(source: torch.Tensor, channel: int | None) -> HookFn:
    def patch(tensor: torch.Tensor, *, name: str) -> torch.Tensor:
        out = tensor.clone()
        if channel is None:
            return source.to(tensor.dtype).clone()
        out[:, channel] = source[:, channel].to(tensor.dtype)
        return out

    return patch


def _moved_cheese(levels: list[Level], index: np.ndarray, seed: int) -> torch.Tensor:
    """Observations at each decision square with the cheese on another random free cell."""
    rng = np.random.default_rng(seed)
    out = []
    for i in index:
        walls, cheese = levels[i]
        ds = decision_square(walls, cheese)
        free = [
            (r, c)
            for r, c in zip(*np.nonzero(~walls), strict=True)
            if (r, c) != tuple(cheese) and (r, c) != ds.cell
        ]
        out.append(observation(walls, ds.cell, free[rng.integers(len(free))]))
    return torch.as_tensor(np.stack(out))


@torch.no_grad()
def resampling_ablation(
    policy: nn.Module,
    levels: Iterable[Level],
    layers: Sequence[str] | None = None,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Change in the policy at the decision square when one channel sees the cheese elsewhere.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs; those without a decision square are skipped.
        layers: Hook names (default: every hook point between input and heads).
        seed: Seeds where the cheese is moved.

    Returns:
        One row per level, layer and channel (``channel = -1``: the whole layer resampled):
        ``level, layer, channel, tv`` (total-variation distance between the action
        distributions), ``change`` (in the probability of the cheese action), ``p_before``.
    """
    levels = list(levels)
    batch = decision_batch(levels)
    layers = default_layers(policy) if layers is None else list(layers)
    obs = batch.at_ds.float()
    before = hooked_probs(policy, obs)
    p_before = (before * batch.cheese_actions).sum(1)
    _, source = run_with_cache(policy, _moved_cheese(levels, batch.index, seed).float(), layers)
    frames = []
    for name in layers:
        channels = source[name].shape[1]
        for c in [None, *range(channels)]:
            after = hooked_probs(policy, obs, [(name, _channel_patch(source[name], c))])
            frames.append(
                pd.DataFrame(
                    {
                        "level": batch.index,
                        "layer": name,
                        "channel": -1 if c is None else c,
                        "tv": 0.5 * np.abs(after - before).sum(1),
                        "change": (after * batch.cheese_actions).sum(1) - p_before,
                        "p_before": p_before,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def cheese_channels(
    correlations: pd.DataFrame,
    ablation: pd.DataFrame,
    *,
    min_r: float = 0.2,
    min_tv: float = 0.01,
    min_defined: float = 0.5,
) -> pd.DataFrame:
    """Per layer: how many channels track the cheese, matter, or both, and their share.

    Args:
        correlations: From :func:`channel_correlations`.
        ablation: From :func:`resampling_ablation`.
        min_r: A channel tracks the cheese when its ``r_low`` exceeds this.
        min_tv: A channel matters when its mean total-variation change is at least this.
        min_defined: ...and tracks only if its map varies on at least this share of levels.

    Returns:
        ``layer, channels, tracking, mattering, both, share`` (``both / channels``),
        ``which`` (the channels counted in ``both``), ``layer_tv`` (mean total variation
        when the whole layer is resampled).
    """
    if missing := {"layer", "channel", "r_low", "defined"} - set(correlations.columns):
        raise ValueError(f"correlations must come from channel_correlations; missing {missing}.")
    if missing := {"layer", "channel", "tv"} - set(ablation.columns):
        raise ValueError(f"ablation must come from resampling_ablation; missing {missing}.")
    tv = ablation.groupby(["layer", "channel"], sort=False)["tv"].mean()
    rows = []
    for name, grp in correlations.groupby("layer", sort=False):
        if name not in tv.index.get_level_values(0):
            continue
        ok = (grp["r_low"] > min_r) & (grp["defined"] >= min_defined)
        track = set(grp.loc[ok, "channel"].astype(int))
        matter = {int(c) for c in grp["channel"] if tv.get((name, int(c)), 0.0) >= min_tv}
        both = sorted(track & matter)
        rows.append(
            {
                "layer": name,
                "channels": len(grp),
                "tracking": len(track),
                "mattering": len(matter),
                "both": len(both),
                "share": len(both) / len(grp),
                "which": " ".join(map(str, both)),
                "layer_tv": float(tv.get((name, -1), np.nan)),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "channel_correlations",
    "cheese_channels",
    "cheese_indicator",
    "resampling_ablation",
]
