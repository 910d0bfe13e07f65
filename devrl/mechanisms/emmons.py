"""Scott Emmons' statistics: far corners, a cheese by the start, and edits that send the mouse.

Emmons asked of Mini et al.'s agent (issue 12, item 6): with the cheese in the top-left
or bottom-right cell, how often does the unedited agent reach it within the mean
in-distribution episode length; how often does an activation edit send the mouse there
with the cheese left where it spawned, and what share of the activations does the edit
change; and with the cheese near the start (bottom-left), how often does it go to it?

All are :func:`devrl.mechanisms.retarget_scores` with special targets: its
``move-cheese`` condition is the unedited agent with the cheese on the target, ``clamp``
the edit with the cheese where it spawned, ``none`` how often the mouse gets there
anyway and ``random-channels`` the same edit on other channels (the control).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from torch import nn

from devrl.envs.levels import mouse_start
from devrl.mechanisms._probe import Level
from devrl.mechanisms.retarget import retarget_scores, touched_fraction, within_reach
from devrl.stats.intervals import wilson

NEAR_SIDE = 3
"""Side of the bottom-left region whose free cells are ``near-start`` targets."""

TARGETS = ("top-left", "bottom-right", "near-start")
"""The target cells: the two corners the training distribution never rewards, and a free
cell of the bottom-left region of side :data:`NEAR_SIDE` other than the start (the mouse
starts bottom-left)."""


def target_cell(name: str, walls: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """The cell ``name`` (one of :data:`TARGETS`) of the maze ``walls``.

    ``near-start`` draws one of the free cells of the bottom-left region of side
    :data:`NEAR_SIDE` (the start excluded) with ``rng``; the corners are fixed cells, free in every devrl maze.
    """
    size = walls.shape[0]
    if name == "top-left":
        cell = (0, 0)
    elif name == "bottom-right":
        cell = (size - 1, size - 1)
    elif name == "near-start":
        start = mouse_start(size)
        near = [
            (r, c)
            for r in range(size - NEAR_SIDE, size)
            for c in range(NEAR_SIDE)
            if not walls[r, c] and (r, c) != start
        ]
        cell = near[rng.integers(len(near))]
    else:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {name!r}.")
    if walls[cell]:
        raise ValueError(f"the {name} cell {cell} is a wall in this maze.")
    return cell


def emmons_statistics(
    policy: nn.Module,
    levels: Sequence[Level],
    layer: str,
    channels: Sequence[int],
    *,
    value: float,
    max_steps: int,
    seed: int = 0,
) -> pd.DataFrame:
    """Reach rates toward each of :data:`TARGETS` with and without the edit, over ``levels``.

    Args:
        policy: A maze agent with hook points.
        levels: ``(walls, cheese)`` pairs with the cheese where training puts it (a level
            whose cheese sits on a target is skipped for that target).
        layer: Hook point of the edited channels.
        channels: The channels clamped to ``value`` at the target cell (the edit).
        value: The clamp value.
        max_steps: Steps allowed (Emmons: the mean in-distribution episode length).
        seed: Seeds the sampled actions, the random channels and ``near-start`` cells.

    Returns:
        One row per target and condition of :data:`devrl.mechanisms.CONDITIONS`:
        ``target, condition, n, reached, low, high`` (Wilson 95%), ``path_gmean`` (mean of
        the per-level geometric mean probability of the path to the target) and
        ``touched`` (share of one forward pass's activations the edit sets; 0 without it)
        and ``within_reach`` (share of levels whose shortest way to the target fits in
        ``max_steps``: the ceiling of every rate).
    """
    levels = list(levels)
    if not levels:
        raise ValueError("levels must hold at least one level.")
    size = levels[0][0].shape[0]
    rng = np.random.default_rng(seed)
    rows = []
    for name in TARGETS:
        cells = [target_cell(name, walls, rng) for walls, _ in levels]
        keep = [i for i, ((_, cheese), t) in enumerate(zip(levels, cells)) if tuple(cheese) != t]
        if not keep:
            continue
        chosen, targets = [levels[i] for i in keep], [cells[i] for i in keep]
        scores = retarget_scores(
            policy, chosen, targets, layer, channels, value=value, max_steps=max_steps, seed=seed
        )
        edited = touched_fraction(policy, layer, channels, size, targets=targets)
        reachable = np.mean(within_reach(chosen, targets, max_steps))
        for condition, grp in scores.groupby("condition", sort=False):
            hits = int(grp["reached"].sum())
            rate, low, high = wilson(hits, len(grp))
            rows.append(
                {
                    "target": name,
                    "condition": condition,
                    "n": len(grp),
                    "reached": rate,
                    "low": low,
                    "high": high,
                    "path_gmean": float(grp["path_gmean"].mean()),
                    "touched": edited if condition in ("clamp", "random-channels") else 0.0,
                    "within_reach": float(reachable),
                }
            )
    return pd.DataFrame(rows)


__all__ = ["NEAR_SIDE", "TARGETS", "emmons_statistics", "target_cell"]
