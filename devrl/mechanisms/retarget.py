"""Retargeting: clamp the cheese channels at a target cell and see whether the mouse goes there.

Mini et al. (2023) set a few cheese-tracking channels of their agent to a large value at
one position and the mouse headed there, with the cheese left where it was. Here any
set of channels of any maze agent is clamped to ``value`` at the units that see the
target cell (:func:`devrl.mechanisms.cheese_indicator`), in every forward pass, and
scored two ways per level:

* ``path_gmean``: the geometric mean, over the cells of the shortest path from the start
  to the target, of the policy's probability of the step along that path;
* ``reached``: whether an episode (actions sampled, seeded) reaches the target within
  ``max_steps`` (e.g. the in-distribution mean episode length) without first reaching
  the cheese, which ends the episode.

Conditions: ``none`` (no intervention), ``clamp`` (the channels), ``move-cheese`` (no
intervention, the cheese actually on the target: the ceiling), ``random-channels`` (as
many other channels of the layer, chosen at random, clamped the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from devrl.envs.levels import mouse_start, next_cell_table, observation
from devrl.envs.solver import bfs_distances
from devrl.hooks import HookFn, run_with_cache
from devrl.mechanisms._probe import Level, default_layers, hooked_probs
from devrl.mechanisms.channels import cheese_indicator

CONDITIONS = ("none", "clamp", "move-cheese", "random-channels")


def clamp_hook(mask: torch.Tensor, channels: Sequence[int], value: float) -> HookFn:
    """A hook setting ``channels`` to ``value`` where ``mask [B, H, W]`` is true."""
    chans = list(channels)

    def clamp(tensor: torch.Tensor, *, name: str) -> torch.Tensor:
        if tensor.dim() != 4 or tensor.shape[0] != mask.shape[0]:
            raise ValueError(
                f"cannot clamp {name!r} of shape {tuple(tensor.shape)}: need [B, C, H, W]."
            )
        sel = torch.zeros(tensor.shape[1], dtype=torch.bool)
        sel[chans] = True
        where = mask[:, None].to(tensor.device) & sel[None, :, None, None].to(tensor.device)
        return torch.where(where, torch.as_tensor(value, dtype=tensor.dtype), tensor)

    return clamp


def touched_fraction(
    policy: nn.Module,
    layer: str,
    channels: Sequence[int],
    size: int,
    units: float = 1,
    targets: Sequence[Sequence[int]] | None = None,
) -> float:
    """Share of one forward pass's activations (every hook point studied) that the clamp sets.

    Args:
        policy: The agent.
        layer: The clamped hook point.
        channels: The clamped channels.
        size: Maze side (sets the activation shapes).
        units: Units per channel under the target (1 for a cell at half resolution).
        targets: Target cells; when given, ``units`` is their mean number of units of
            ``layer`` (:func:`devrl.mechanisms.cheese_indicator`), read off the same pass.
    """
    obs = torch.as_tensor(observation(np.zeros((size, size), bool), (size - 1, 0), (0, 0)))[None]
    layers = default_layers(policy)
    _, cache = run_with_cache(policy, obs.float(), layers)
    total = sum(cache[n][0].numel() for n in layers)
    if targets is not None:
        seen = cheese_indicator(np.array(targets), size, cache[layer].shape[2:])
        units = float(seen.sum((1, 2)).mean())
    return len(list(channels)) * units / total


def within_reach(
    levels: Sequence[Level], targets: Sequence[Sequence[int]], max_steps: int
) -> list[bool]:
    """Per level, whether the target's shortest way from the start fits in ``max_steps``:
    the ceiling of any rate of reaching it within that limit."""
    return [
        len(shortest_path(w, mouse_start(w.shape[0]), tuple(t))) <= max_steps
        for (w, _), t in zip(levels, targets, strict=True)
    ]


def shortest_path(
    walls: np.ndarray, start: tuple[int, int], target: tuple[int, int]
) -> list[tuple[int, int, int]]:
    """``(row, col, action)`` of each step of the shortest path from ``start`` to ``target``."""
    S = walls.shape[0]
    d = bfs_distances(walls, target).reshape(-1)
    nxt = next_cell_table(walls)
    pos, out = start[0] * S + start[1], []
    while d[pos] > 0:
        a = int(np.flatnonzero(d[nxt[pos]] == d[pos] - 1)[0])
        out.append((pos // S, pos % S, a))
        pos = int(nxt[pos, a])
    return out


def off_path_targets(levels: Sequence[Level], seed: int = 0) -> list[tuple[int, int] | None]:
    """One random free cell per level, off the shortest ways from the start to the cheese and
    to the top-right cell (so reaching it is not a side effect of either goal), and not
    behind the cheese (whose way from the start passes the cheese, which ends an episode).
    ``None`` for a level without such a cell (small mazes can have none)."""
    rng = np.random.default_rng(seed)
    targets = []
    for walls, cheese in levels:
        size = walls.shape[0]
        start, corner = mouse_start(size), (0, size - 1)
        banned = {
            (r, c)
            for goal in (tuple(cheese), corner)
            for r, c, _ in shortest_path(walls, start, goal)
        }
        banned |= {tuple(cheese), corner, start}
        from_start, from_cheese = bfs_distances(walls, start), bfs_distances(walls, tuple(cheese))
        behind = from_start == from_start[tuple(cheese)] + from_cheese
        free = [
            tuple(int(v) for v in c)
            for c in np.argwhere(~walls & ~behind)
            if tuple(c) not in banned
        ]
        targets.append(free[rng.integers(len(free))] if free else None)
    return targets


def cheese_edit(
    policy: nn.Module,
    levels: Sequence[Level],
    layer: str,
    corr: pd.DataFrame,
    *,
    k: int = 3,
    scale: float = 5.0,
) -> tuple[list[int], float]:
    """The retargeting edit: the ``k`` most cheese-correlated channels of ``layer`` and a value.

    Only channels whose map varies on at least half the levels are candidates (``corr``
    from :func:`devrl.mechanisms.channel_correlations`). The value is ``scale`` times the
    largest activation of those channels on ``levels`` (mouse at the start), so it is
    comparable across agents, layers and checkpoints.
    """
    live = corr[(corr["layer"] == layer) & (corr["defined"] >= 0.5)]
    if live.empty:
        raise ValueError(f"no channel of {layer!r} varies on half the levels: nothing to clamp.")
    channels = live.nlargest(k, "r")["channel"].astype(int).tolist()
    size = levels[0][0].shape[0]
    obs = torch.as_tensor(
        np.stack([observation(w, mouse_start(size), tuple(c)) for w, c in levels])
    ).float()
    _, cache = run_with_cache(policy, obs, [layer])
    return channels, scale * float(cache[layer][:, channels].max())


def retarget_scores(
    policy: nn.Module,
    levels: Iterable[Level],
    targets: Sequence[Sequence[int]],
    layer: str,
    channels: Sequence[int],
    *,
    value: float,
    max_steps: int,
    seed: int = 0,
) -> pd.DataFrame:
    """Score each condition of :data:`CONDITIONS` on each level.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs.
        targets: One target cell per level (free, not the cheese, not the start).
        layer: Hook point of the channels (a spatial ``[B, C, H, W]`` activation).
        channels: The channels to clamp.
        value: The value they are clamped to at the target.
        max_steps: Episode length limit for ``reached``.
        seed: Seeds the random channels and the sampled actions (each condition draws the
            same uniforms, so conditions are compared on common random numbers).

    Returns:
        One row per level and condition: ``level, condition, path_gmean, reached, steps``
        (steps taken; ``max_steps`` when not reached).
    """
    levels = list(levels)
    targets = [(int(t[0]), int(t[1])) for t in targets]
    if len(targets) != len(levels) or not levels:
        raise ValueError(f"targets must give one cell per level: {len(targets)} for {len(levels)}.")
    size = levels[0][0].shape[0]
    for (walls, cheese), t in zip(levels, targets, strict=True):
        if walls[t] or t == tuple(cheese) or t == mouse_start(size):
            raise ValueError(f"target {t} must be a free cell, not the cheese or the start.")
    rng = np.random.default_rng(seed)
    probe = torch.as_tensor(observation(levels[0][0], mouse_start(size), levels[0][1]))[None]
    _, cache = run_with_cache(policy, probe.float(), [layer])
    shape, n_channels = cache[layer].shape[2:], cache[layer].shape[1]
    if len(shape) != 2:
        raise ValueError(f"layer {layer!r} must be a spatial [B, C, H, W] activation.")
    others = [c for c in range(n_channels) if c not in set(channels)]
    random_channels = list(rng.choice(others, size=min(len(channels), len(others)), replace=False))
    masks = cheese_indicator(np.array(targets), size, shape).bool()  # [N, H, W]
    rows = []
    for condition in CONDITIONS:
        draws = np.random.default_rng([seed, 1])
        chans = {"clamp": list(channels), "random-channels": random_channels}.get(condition)
        cheeses = [
            t if condition == "move-cheese" else tuple(c) for (_, c), t in zip(levels, targets)
        ]

        def hooks(idx: np.ndarray, chans=chans) -> list:
            return [] if chans is None else [(layer, clamp_hook(masks[idx], chans, value))]

        # path score: every cell of each level's path in one batch
        cells, owner, actions = [], [], []
        for i, ((walls, _), t) in enumerate(zip(levels, targets, strict=True)):
            for r, c, a in shortest_path(walls, mouse_start(size), t):
                cells.append(observation(walls, (r, c), cheeses[i]))
                owner.append(i)
                actions.append(a)
        owner = np.array(owner)
        probs = hooked_probs(policy, torch.as_tensor(np.stack(cells)), hooks(owner))
        logp = np.log(np.maximum(probs[np.arange(len(owner)), actions], 1e-300))
        gmean = np.exp(
            np.bincount(owner, logp, len(levels)) / np.bincount(owner, minlength=len(levels))
        )
        # episodes
        tables = [next_cell_table(w) for w, _ in levels]
        pos = np.array([mouse_start(size)[0] * size + mouse_start(size)[1]] * len(levels))
        done = np.zeros(len(levels), bool)
        reached = np.zeros(len(levels), bool)
        steps = np.full(len(levels), max_steps)
        for t in range(max_steps):
            idx = np.flatnonzero(~done)
            if idx.size == 0:
                break
            obs = np.stack(
                [
                    observation(levels[i][0], (pos[i] // size, pos[i] % size), cheeses[i])
                    for i in idx
                ]
            )
            p = hooked_probs(policy, torch.as_tensor(obs), hooks(idx))
            u = draws.random(len(levels))[idx, None]  # one uniform per level and step
            acts = (p.cumsum(1) > u).argmax(1)
            for i, a in zip(idx, acts, strict=True):
                pos[i] = tables[i][pos[i], a]
                cell = (pos[i] // size, pos[i] % size)
                if cell == targets[i]:
                    done[i] = reached[i] = True
                    steps[i] = t + 1
                elif cell == tuple(cheeses[i]):
                    done[i] = True
        for i in range(len(levels)):
            rows.append([i, condition, float(gmean[i]), bool(reached[i]), int(steps[i])])
    return pd.DataFrame(rows, columns=["level", "condition", "path_gmean", "reached", "steps"])


__all__ = [
    "CONDITIONS",
    "cheese_edit",
    "clamp_hook",
    "off_path_targets",
    "retarget_scores",
    "shortest_path",
    "touched_fraction",
    "within_reach",
]
