"""Steering through the plan: write another route into the probed representation.

Why: if a layer holds the agent's future path cell by cell and the policy reads it (issue
13, item 5; Bush et al. 2025 steered a Sokoban agent this way), then adding the
future-path probe's direction at the cells of a route the agent did not choose should
make it take that route. At a level's decision square (where the ways to the cheese and
to the top-right corner part, :mod:`devrl.mechanisms.decision`) the agent's greedy action
picks one branch; the *alternative route* is the first ``steps`` cells of the shortest
path to the other goal. At ``layer``, every unit covering one of those cells (one unit
per square at the maze's resolution; on a stride-2 map, the units whose 3x3 window holds
it), except the mouse's own units, gets ``coeff * scale * d``, where ``d`` is the unit-norm direction that raises a 1x1
probe's logit (:func:`probe_direction`) and ``scale`` the mean norm of a unit's
activation vector at that layer. Success: the greedy action becomes one of the
alternative branch's actions.

Controls: a random direction per level of the same norm at the same units
(``random``), and the probe direction written at the cells of the chosen route
(``chosen``, which should leave the choice alone). Networks without look-ahead (random
weights, the initial checkpoint) are the other null: run the same function on them with
their own probe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from devrl.hooks import run_with_cache, steering_hook
from devrl.mechanisms._probe import Level, decision_batch, hooked_probs
from devrl.mechanisms.future_path import shortest_path_labels
from devrl.mechanisms.lookahead import CellProbe, grid_stride
from devrl.stats.intervals import wilson

VECTORS: tuple[str, ...] = ("probe", "random", "chosen")
"""What :func:`route_steering` writes: the probe at the other route, a random direction
there, the probe at the chosen route."""


def probe_direction(probe: CellProbe, horizon_index: int) -> torch.Tensor:
    """``[C]`` unit direction in activation space that raises a linear probe's logit.

    A 1x1 probe's logit is ``w . (x - mean) / std + b``, so its gradient in the raw
    activation ``x`` is ``w / std``; the bilinear part (if any) is ignored.
    """
    if probe.kind != "1x1":
        raise ValueError(f"probe_direction needs a '1x1' probe, got {probe.kind!r}.")
    K = probe.conv.weight.shape[0]
    if not 0 <= horizon_index < K:
        raise ValueError(f"horizon_index must be in [0, {K}), got {horizon_index}.")
    d = probe.conv.weight[horizon_index, :, 0, 0].detach() / probe.std.view(-1)
    n = d.norm()
    if n == 0:
        raise ValueError("the probe's weights are zero: it has no direction to steer along.")
    return d / n


def _cover(cells: np.ndarray, S: int, stride: int) -> np.ndarray:
    """``[h, w]`` bool units whose window holds one of ``cells`` (``[n, 2]`` squares)."""
    h = S if stride == 1 else (S + 1) // 2
    mask = np.zeros((h, h), bool)
    for r, c in cells:
        if stride == 1:
            mask[r, c] = True
            continue
        rows = {r // 2} if r % 2 == 0 else {(r - 1) // 2, (r + 1) // 2}
        cols = {c // 2} if c % 2 == 0 else {(c - 1) // 2, (c + 1) // 2}
        mask[np.ix_(sorted(rows), sorted(cols))] = True
    return mask


def route_mask(walls: np.ndarray, start: tuple[int, int], target: tuple[int, int],
               steps: int, stride: int) -> np.ndarray:  # fmt: skip
    """``[h, w]`` bool units covering the first ``steps`` cells of the path start -> target,
    except the units covering ``start`` itself (the mouse's units feed the policy's
    readout directly, whatever route they belong to)."""
    entered, _ = shortest_path_labels(walls, np.array([start]), target, (steps,))
    S = walls.shape[0]
    route = _cover(np.argwhere(entered[0, 0]), S, stride)
    return route & ~_cover(np.array([start]), S, stride)


@torch.no_grad()
def route_steering(
    policy: nn.Module,
    levels: Iterable[Level],
    layer: str,
    direction: torch.Tensor,
    *,
    coeffs: Sequence[float] = (1.0, 2.0, 4.0),
    steps: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """How often writing ``direction`` along the unchosen route makes the agent take it.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs; those without a decision square are skipped.
        layer: A spatial hook (maze resolution or stride 2).
        direction: ``[C]`` direction to write (e.g. :func:`probe_direction`).
        coeffs: Multiples of ``scale`` (the mean unit-activation norm at ``layer``).
        steps: Cells of the route written (from the decision square on).
        seed: Seeds the random control.

    Returns:
        One row per level (whose greedy action at the decision square takes one of the
        two branches), vector (:data:`VECTORS`) and coefficient: ``level``, ``chosen``
        (``cheese``/``corner``), ``vector``, ``coeff``, ``units`` (written), ``p_alt_before``,
        ``p_alt_after`` (probability of the alternative branch's actions), ``switched``
        (the greedy action is now an alternative-branch action).
    """
    batch = decision_batch(levels)
    obs = batch.at_ds.float()
    probs = hooked_probs(policy, obs)
    greedy = probs.argmax(1)
    n = np.arange(len(batch))
    to_cheese = batch.cheese_actions[n, greedy]
    to_corner = batch.corner_actions[n, greedy]
    keep = np.flatnonzero(to_cheese | to_corner)
    if len(keep) == 0:
        raise ValueError("no level's greedy action at the decision square takes a branch.")
    _, cache = run_with_cache(policy, obs[keep], [layer])
    acts = cache[layer]  # [B, C, h, w]
    if acts.ndim != 4:
        raise ValueError(f"layer {layer!r} is not spatial: shape {tuple(acts.shape)}.")
    d = torch.as_tensor(direction, dtype=acts.dtype).flatten()
    if d.shape[0] != acts.shape[1]:
        raise ValueError(
            f"direction has {d.shape[0]} entries; {layer!r} has {acts.shape[1]} channels."
        )
    d = d / d.norm()
    scale = float(acts.norm(dim=1).mean())
    S = obs.shape[-1]
    st = grid_stride(S, acts.shape[-2], acts.shape[-1])
    corner = (0, S - 1)
    masks = {"alt": [], "own": []}
    for i in keep:
        walls = batch.at_ds[i, 0].numpy().astype(bool)
        m = np.argwhere(batch.at_ds[i, 1].numpy())[0]
        ds = (int(m[0]), int(m[1]))
        cheese = (int(batch.cheese[i][0]), int(batch.cheese[i][1]))
        alt, own = (corner, cheese) if to_cheese[i] else (cheese, corner)
        masks["alt"].append(route_mask(walls, ds, alt, steps, st))
        masks["own"].append(route_mask(walls, ds, own, steps, st))
    alt_m = torch.as_tensor(np.stack(masks["alt"]))[:, None].to(acts.dtype)  # [B, 1, h, w]
    own_m = torch.as_tensor(np.stack(masks["own"]))[:, None].to(acts.dtype)
    gen = torch.Generator().manual_seed(int(seed))
    rnd = torch.randn((len(keep), acts.shape[1]), generator=gen, dtype=acts.dtype)
    rnd = rnd / rnd.norm(dim=1, keepdim=True)
    vectors = {
        "probe": d.view(1, -1, 1, 1) * alt_m,
        "random": rnd[:, :, None, None] * alt_m,
        "chosen": d.view(1, -1, 1, 1) * own_m,
    }
    alt_actions = np.where(to_cheese[keep, None], batch.corner_actions[keep],
                           batch.cheese_actions[keep])  # fmt: skip
    p_before = (probs[keep] * alt_actions).sum(1)
    sub = obs[keep]
    frames = []
    for kind, vec in vectors.items():
        for coeff in coeffs:
            after = hooked_probs(policy, sub, [(layer, steering_hook(vec, coeff * scale))])
            frames.append(
                pd.DataFrame(
                    {
                        "level": batch.index[keep],
                        "chosen": np.where(to_cheese[keep], "cheese", "corner"),
                        "vector": kind,
                        "coeff": float(coeff),
                        "units": alt_m.flatten(1).sum(1).numpy().astype(int)
                        if kind != "chosen"
                        else own_m.flatten(1).sum(1).numpy().astype(int),
                        "p_alt_before": p_before,
                        "p_alt_after": (after * alt_actions).sum(1),
                        "switched": alt_actions[np.arange(len(keep)), after.argmax(1)],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def route_steering_summary(effects: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per vector and coefficient: the share of levels switched (Wilson interval).

    Returns:
        ``vector, coeff, levels, switched, switched_low, switched_high, p_alt_before,
        p_alt_after`` (means).
    """
    needed = {"vector", "coeff", "switched", "p_alt_before", "p_alt_after"}
    if missing := needed - set(effects.columns):
        raise ValueError(f"effects must come from route_steering; missing {sorted(missing)}.")
    rows = []
    for (kind, coeff), g in effects.groupby(["vector", "coeff"], sort=False):
        k = int(g["switched"].sum())
        share, low, high = wilson(k, len(g), level)
        rows.append(
            {
                "vector": kind,
                "coeff": float(coeff),
                "levels": len(g),
                "switched": share,
                "switched_low": low,
                "switched_high": high,
                "p_alt_before": float(g["p_alt_before"].mean()),
                "p_alt_after": float(g["p_alt_after"].mean()),
            }
        )
    return pd.DataFrame(rows)


__all__ = ["VECTORS", "probe_direction", "route_mask", "route_steering", "route_steering_summary"]
