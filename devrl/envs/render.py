"""Pictures of mazes: an RGB image of a level, and a policy drawn as arrows over it."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import FancyArrow

from devrl.envs.levels import ACTION_DELTAS

FREE = (236, 232, 220)
WALL = (45, 52, 70)
CHEESE = (250, 190, 20)
CHEESE_EDGE = (190, 130, 0)
MOUSE = (140, 90, 60)


def render_maze(
    walls: np.ndarray,
    mouse: np.ndarray | tuple[int, int] | None = None,
    cheese: np.ndarray | tuple[int, int] | None = None,
    cell_px: int = 16,
) -> np.ndarray:
    """Draw a level as an RGB image: dark walls, light floor, gold cheese, brown round mouse.

    Args:
        walls: ``[S, S]`` bool.
        mouse: ``(row, col)`` or None to leave it out.
        cheese: ``(row, col)`` or None to leave it out.
        cell_px: pixels per cell side (>= 4).

    Returns:
        ``[S * cell_px, S * cell_px, 3]`` uint8.
    """
    walls = np.asarray(walls, dtype=bool)
    if walls.ndim != 2:
        raise ValueError(f"walls must be [S, S], got shape {walls.shape}.")
    if cell_px < 4:
        raise ValueError(f"cell_px must be >= 4, got {cell_px}.")
    palette = np.array([FREE, WALL], dtype=np.uint8)
    img = palette[walls.astype(np.int64)]  # [S, S, 3]
    img = img.repeat(cell_px, axis=0).repeat(cell_px, axis=1)
    yy, xx = np.mgrid[0:cell_px, 0:cell_px] + 0.5
    centre = cell_px / 2
    if cheese is not None:
        r, c = (int(v) for v in cheese)
        block = img[r * cell_px : (r + 1) * cell_px, c * cell_px : (c + 1) * cell_px]
        inset = cell_px * 0.15
        inside = (np.abs(yy - centre) < centre - inset) & (np.abs(xx - centre) < centre - inset)
        edge = inside & ~(
            (np.abs(yy - centre) < centre - inset - 1.5)
            & (np.abs(xx - centre) < centre - inset - 1.5)
        )
        block[inside] = CHEESE
        block[edge] = CHEESE_EDGE
    if mouse is not None:
        r, c = (int(v) for v in mouse)
        block = img[r * cell_px : (r + 1) * cell_px, c * cell_px : (c + 1) * cell_px]
        disc = (yy - centre) ** 2 + (xx - centre) ** 2 < (cell_px * 0.36) ** 2
        block[disc] = MOUSE
    return img


def plot_policy(
    ax: Any,
    walls: np.ndarray,
    probs: np.ndarray,
    mouse: np.ndarray | tuple[int, int] | None = None,
    cheese: np.ndarray | tuple[int, int] | None = None,
    *,
    min_prob: float = 0.02,
    scale: str = "linear",
    color: str = "crimson",
    title: str | None = None,
) -> Any:
    """Draw a policy over a maze: from each free cell, one arrow per action, length ~ probability.

    Args:
        ax: a matplotlib Axes.
        walls: ``[S, S]`` bool.
        probs: ``[S, S, 4]`` action probabilities (up, right, down, left); NaN rows skipped.
        mouse: optional ``(row, col)`` of the mouse to draw.
        cheese: optional ``(row, col)`` of the cheese to draw.
        min_prob: arrows below this probability are not drawn (keeps the picture legible).
        scale: arrow length ``~ p`` (``"linear"``) or ``~ sqrt(p)`` (``"sqrt"``: unlikely
            actions stay visible, e.g. a 0.01 arrow is a tenth of a certain one).
        color: arrow colour.
        title: optional axes title.

    Returns:
        The axes.
    """
    walls = np.asarray(walls, dtype=bool)
    probs = np.asarray(probs, dtype=np.float64)
    S = walls.shape[0]
    if scale not in ("linear", "sqrt"):
        raise ValueError(f"scale must be 'linear' or 'sqrt', got {scale!r}.")
    if probs.shape != (S, S, 4):
        raise ValueError(
            f"probs must be [S, S, 4] = {(S, S, 4)} to match walls, got {probs.shape}."
        )
    ax.imshow(
        render_maze(walls, mouse, cheese, cell_px=32),
        extent=(-0.5, S - 0.5, S - 0.5, -0.5),
        interpolation="nearest",
    )
    rows, cols = np.nonzero(~walls)
    arrows = []
    for a, (dr, dc) in enumerate(ACTION_DELTAS.tolist()):
        p = probs[rows, cols, a]
        keep = np.isfinite(p) & (p >= min_prob)
        for x, y, q in zip(cols[keep].tolist(), rows[keep].tolist(), p[keep].tolist()):
            # Arrows keep their shape and shrink with probability (area ~ p^2), so unlikely
            # actions fade out instead of turning into blobs of arrowhead.
            length = 0.45 * (q if scale == "linear" else np.sqrt(q))  # 1: just short of the edge
            arrows.append(
                FancyArrow(
                    x,
                    y,
                    dc * length,
                    dr * length,
                    width=0.13 * length,
                    head_width=0.4 * length,
                    head_length=0.35 * length,
                    length_includes_head=True,
                )
            )
    ax.add_collection(PatchCollection(arrows, facecolor=color, edgecolor="none", zorder=3))
    ax.set_xlim(-0.5, S - 0.5)
    ax.set_ylim(S - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax
