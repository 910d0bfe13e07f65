"""Look-ahead probes: do a layer's activations at a cell encode that the mouse will go there?

Why: issue 13 asks whether a maze agent represents its own future path. Following Bush
et al. (2025) and Jenner et al. (2024), three probes read a layer's spatial activations
``[B, C, h, w]`` and predict, at every cell and for every horizon ``N``, whether the
mouse enters that cell within ``N`` steps (:mod:`devrl.mechanisms.future_path`):

* ``"1x1"``: logistic regression on the ``C`` channels at the cell, shared across cells
  (a 1x1 convolution with one output per horizon);
* ``"3x3"``: the same on the 3x3 neighbourhood (a 3x3 convolution, zero-padded);
* ``"bilinear"``: Jenner-style, the activation ``m`` at the mouse's cell combined with
  each cell's activation ``x``: ``logit = m^T W_N x + v_N^T x + b_N`` (so it contains the
  1x1 probe).

Inputs are z-scored per channel over all training units; each probe is fitted by full-batch
L-BFGS on the masked binary cross-entropy with a small L2 penalty, and scored on
held-out levels by F1 (threshold 0.5) and AUROC (``sklearn.metrics``) per horizon.

**Cells.** A map at the maze's resolution (``h == S``) has one unit per maze square. A
stride-2 map (``h == (S + 1) // 2``, the ``downsample`` trunk) has unit ``(i, j)``
centred on square ``(2i, 2j)``, the maze's node cells (passages sit at odd squares), so
labels are read at those squares and passages are not scored; the mouse, which can stand
in a passage, is the mean of the units whose stride-2 window holds it. ``nodes_only``
scores full-resolution maps at the same node squares, so layers compare on one cell set.
Walls are never scored (they are never entered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, roc_auc_score
from torch import nn

from devrl.envs.levels import corner_cell
from devrl.hooks import run_with_cache
from devrl.mechanisms.future_path import HORIZONS, episode_labels

if TYPE_CHECKING:
    from devrl.rollouts import Rollout

KINDS: tuple[str, ...] = ("1x1", "3x3", "bilinear")


def grid_stride(size: int, h: int, w: int) -> int:
    """Maze squares per activation unit: 1 (same grid) or 2 (stride-2 map); else ValueError."""
    if h == w == size:
        return 1
    if h == w == (size + 1) // 2:
        return 2
    raise ValueError(
        f"activations must be [.., {size}, {size}] or [.., {(size + 1) // 2}, "
        f"{(size + 1) // 2}] for a {size}x{size} maze, got spatial shape ({h}, {w})."
    )


@dataclass
class ProbeData:
    """States on one activation grid: inputs, labels and which units are scored.

    Attributes:
        acts: ``[N, C, h, w]`` float activations.
        labels: ``[N, K, h, w]`` bool, entered within horizon ``k``, read on the grid.
        mask: ``[N, h, w]`` bool, the units scored (free squares, nodes if asked).
        mouse: ``[N, h, w]`` float, weights of the mouse's units (each row sums to 1).
    """

    acts: torch.Tensor
    labels: np.ndarray
    mask: np.ndarray
    mouse: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)

    def subset(self, index: np.ndarray) -> ProbeData:
        """The states at ``index`` (bool mask or integer positions)."""
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index)
        return ProbeData(self.acts[torch.as_tensor(idx)], self.labels[idx], self.mask[idx],
                         self.mouse[idx])  # fmt: skip


def probe_data(
    acts: torch.Tensor,
    labels: np.ndarray,
    walls: np.ndarray,
    positions: np.ndarray,
    *,
    nodes_only: bool = True,
) -> ProbeData:
    """Put maze-resolution labels on the grid of ``acts`` (see the module doc for the map).

    Args:
        acts: ``[N, C, h, w]`` activations of ``N`` states.
        labels: ``[N, K, S, S]`` bool future-path labels of the same states.
        walls: ``[N, S, S]`` bool walls of each state's maze.
        positions: ``[N, 2]`` int the mouse's square in each state.
        nodes_only: On a full-resolution map, score only the node squares (even row and
            column), as a stride-2 map does.
    """
    acts = torch.as_tensor(acts).float()
    labels, walls, pos = np.asarray(labels, bool), np.asarray(walls, bool), np.asarray(positions)
    if acts.ndim != 4:
        raise ValueError(f"acts must be [N, C, h, w], got shape {tuple(acts.shape)}.")
    N, _, h, w = acts.shape
    if labels.ndim != 4 or labels.shape[0] != N or labels.shape[2] != labels.shape[3]:
        raise ValueError(f"labels must be [N={N}, K, S, S], got shape {labels.shape}.")
    S = labels.shape[2]
    if walls.shape != (N, S, S) or pos.shape != (N, 2):
        raise ValueError(
            f"walls must be [{N}, {S}, {S}] and positions [{N}, 2]; got {walls.shape} "
            f"and {pos.shape}."
        )
    st = grid_stride(S, h, w)
    free = ~walls[:, ::st, ::st]
    if st == 1 and nodes_only:
        nodes = np.zeros((S, S), bool)
        nodes[::2, ::2] = True
        free = free & nodes
    rows, cols = np.arange(h) * st, np.arange(w) * st
    near_r = np.abs(rows[None, :] - pos[:, :1]) < st  # [N, h]
    near_c = np.abs(cols[None, :] - pos[:, 1:]) < st  # [N, w]
    mouse = (near_r[:, :, None] & near_c[:, None, :]).astype(np.float32)
    mouse /= mouse.sum((1, 2), keepdims=True)
    return ProbeData(acts, labels[:, :, ::st, ::st].copy(), free, mouse)


class CellProbe(nn.Module):
    """One logit per horizon at every unit of a ``[N, C, h, w]`` map (see :data:`KINDS`)."""

    def __init__(self, kind: str, channels: int, horizons: int):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        self.kind = kind
        k = 3 if kind == "3x3" else 1
        self.conv = nn.Conv2d(channels, horizons, k, padding=k // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.bilinear = (
            nn.Parameter(torch.zeros(horizons, channels, channels)) if kind == "bilinear" else None
        )
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))

    def forward(self, acts: torch.Tensor, mouse: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, K, h, w]`` from ``acts [N, C, h, w]`` and mouse weights ``[N, h, w]``."""
        x = (acts - self.mean) / self.std
        out = self.conv(x)
        if self.bilinear is not None:
            m = (x * mouse[:, None]).sum((2, 3))  # [N, C] activation at the mouse
            out = out + torch.einsum("na,kab,nbhw->nkhw", m, self.bilinear, x)
        return out

    def penalty(self) -> torch.Tensor:
        """Sum of squared weights (biases excluded)."""
        p = self.conv.weight.square().sum()
        return p + (self.bilinear.square().sum() if self.bilinear is not None else 0.0)


def fit_probe(
    kind: str, data: ProbeData, *, l2: float = 1e-3, max_iter: int = 200, seed: int = 0
) -> CellProbe:
    """Fit a :class:`CellProbe` of ``kind`` on ``data`` (all horizons at once, L-BFGS)."""
    if len(data) < 2:
        raise ValueError(f"data must hold at least 2 states to fit a probe, got {len(data)}.")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}.")
    torch.manual_seed(seed)
    C = data.acts.shape[1]
    probe = CellProbe(kind, C, data.labels.shape[1])
    mask = torch.as_tensor(data.mask)
    cells = data.acts.permute(0, 2, 3, 1).reshape(-1, C)  # all units: 3x3 sees unscored ones
    probe.mean.copy_(cells.mean(0).view(1, C, 1, 1))
    probe.std.copy_(cells.std(0).clamp_min(1e-6).view(1, C, 1, 1))
    y = torch.as_tensor(data.labels).float()
    weight = mask[:, None].expand_as(y).float()
    mouse = torch.as_tensor(data.mouse)
    opt = torch.optim.LBFGS(
        probe.parameters(), lr=1, max_iter=max_iter, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = probe(data.acts, mouse)
        loss = F.binary_cross_entropy_with_logits(logits, y, weight, reduction="sum")
        loss = loss / weight.sum() + l2 * probe.penalty()
        loss.backward()
        return loss

    opt.step(closure)
    return probe.eval()


@torch.no_grad()
def predict(probe: CellProbe, data: ProbeData) -> np.ndarray:
    """Probabilities ``[N, K, h, w]`` of entering each unit within each horizon."""
    return torch.sigmoid(probe(data.acts, torch.as_tensor(data.mouse))).numpy()


def score(
    probs: np.ndarray, labels: np.ndarray, mask: np.ndarray, horizons: Sequence[int]
) -> pd.DataFrame:
    """F1 (threshold 0.5) and AUROC per horizon over the masked units.

    Args:
        probs: ``[N, K, h, w]`` predicted probabilities.
        labels: ``[N, K, h, w]`` bool targets (e.g. another label set than the probe's).
        mask: ``[N, h, w]`` bool units scored.
        horizons: the ``K`` horizon values, for the ``horizon`` column.

    Returns:
        One row per horizon: ``horizon, f1, auroc, positives, cells`` (AUROC NaN when the
        scored units hold one class only).
    """
    probs, labels, mask = np.asarray(probs), np.asarray(labels, bool), np.asarray(mask, bool)
    if probs.shape != labels.shape or probs.shape[1] != len(horizons):
        raise ValueError(
            f"probs {probs.shape} and labels {labels.shape} must match, with "
            f"{len(horizons)} horizons on axis 1."
        )
    rows = []
    for k, n in enumerate(horizons):
        p, y = probs[:, k][mask], labels[:, k][mask]
        both = 0 < y.sum() < len(y)
        rows.append(
            {
                "horizon": int(n),
                "f1": float(f1_score(y, p >= 0.5, zero_division=0.0)),
                "auroc": float(roc_auc_score(y, p)) if both else np.nan,
                "positives": int(y.sum()),
                "cells": len(y),
            }
        )
    return pd.DataFrame(rows)


def probe_scores(
    train: ProbeData,
    test: ProbeData,
    horizons: Sequence[int],
    kinds: Sequence[str] = KINDS,
    *,
    l2: float = 1e-3,
    seed: int = 0,
    extra_labels: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Fit each probe kind on ``train`` and score it on ``test``, per horizon.

    Args:
        train, test: From :func:`probe_data` (held-out levels in ``test``).
        horizons: the ``K`` horizons of the labels.
        kinds: Probe kinds to fit.
        l2: L2 strength.
        seed: Seeds the fit.
        extra_labels: Further label sets for ``test`` (name -> ``[N, K, h, w]`` on the grid,
            e.g. the cheese path), scored with the same predictions.

    Returns:
        Rows of :func:`score` with ``kind`` and ``labels`` (``"probe"`` for the probe's
        own targets, else the ``extra_labels`` name).
    """
    frames = []
    for kind in kinds:
        probs = predict(fit_probe(kind, train, l2=l2, seed=seed), test)
        sets = {"probe": test.labels} | dict(extra_labels or {})
        for name, lab in sets.items():
            frames.append(score(probs, lab, test.mask, horizons).assign(kind=kind, labels=name))
    return pd.concat(frames, ignore_index=True)


@dataclass
class RolloutStates:
    """The states of a rollout's finished episodes with their three future-path label sets.

    Attributes:
        horizons: the ``K`` horizons.
        obs: ``[N, 3, S, S]`` float observations.
        walls: ``[N, S, S]`` bool; positions: ``[N, 2]`` the mouse's square.
        episode: ``[N]`` episode id of each state.
        own, cheese, corner: ``[N, K, S, S]`` bool labels (own future, shortest paths).
        corner_first: ``[N]`` bool, the state's episode reached the top-right corner before
            the cheese (and the cheese is elsewhere): own and cheese paths part there.
    """

    horizons: tuple[int, ...]
    obs: torch.Tensor
    walls: np.ndarray
    positions: np.ndarray
    episode: np.ndarray
    own: np.ndarray
    cheese: np.ndarray
    corner: np.ndarray
    corner_first: np.ndarray

    def probe_data(self, acts: torch.Tensor, labels: str = "own", **kw) -> ProbeData:
        """:func:`probe_data` of ``acts`` (of these states) against one label set."""
        return probe_data(acts, getattr(self, labels), self.walls, self.positions, **kw)


def _first(positions: np.ndarray, cell: tuple[int, int]) -> float:
    hit = np.flatnonzero((positions == np.asarray(cell)).all(axis=1))
    return float(hit[0]) if len(hit) else np.inf


def rollout_states(
    rollout: Rollout, horizons: Sequence[int] = HORIZONS, max_states: int | None = None
) -> RolloutStates:
    """The states of the finished episodes of a maze rollout, with labels.

    ``max_states`` keeps only each episode's first states (a stuck agent's long loops
    would otherwise dominate); their labels still see the whole future.
    """
    if max_states is not None and max_states < 1:
        raise ValueError(f"max_states must be a positive int or None, got {max_states!r}.")
    keep = slice(None, max_states)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("obs", "pos", "ep", "own", "ch", "co", "cf")
    }
    for e in np.unique(rollout.episode):
        rows = np.flatnonzero(rollout.episode == e)
        if not rollout.done[rows].any():
            continue
        lab = episode_labels(rollout, int(e), horizons)
        rows = rows[np.argsort(rollout.t[rows], kind="stable")]
        S = lab.own_entered.shape[-1]
        cheese = tuple(int(x) for x in rollout.cheese_pos[rows[0]])
        corner = corner_cell(S)
        first = cheese != corner and _first(lab.positions, corner) < _first(lab.positions, cheese)
        rows = rows[keep]
        parts["obs"].append(rollout.obs[rows])
        parts["pos"].append(lab.positions[:-1][keep])
        parts["ep"].append(np.full(len(rows), e))
        parts["own"].append(lab.own_entered[keep])
        parts["ch"].append(lab.cheese_entered[keep])
        parts["co"].append(lab.corner_entered[keep])
        parts["cf"].append(np.full(len(rows), first))
    if not parts["obs"]:
        raise ValueError("rollout must hold at least one finished episode.")
    obs = np.concatenate(parts["obs"])
    return RolloutStates(
        tuple(int(h) for h in horizons),
        torch.as_tensor(obs).float(),
        obs[:, 0].astype(bool),
        np.concatenate(parts["pos"]),
        np.concatenate(parts["ep"]),
        np.concatenate(parts["own"]),
        np.concatenate(parts["ch"]),
        np.concatenate(parts["co"]),
        np.concatenate(parts["cf"]),
    )


@torch.no_grad()
def layer_activations(policy: nn.Module, obs: torch.Tensor, layer: str) -> torch.Tensor:
    """The ``[N, C, h, w]`` activation of ``policy`` at hook ``layer`` on ``obs``."""
    _, cache = run_with_cache(policy, obs, [layer])
    acts = cache[layer]
    if acts.ndim != 4:
        raise ValueError(f"layer {layer!r} is not spatial: shape {tuple(acts.shape)}.")
    return acts.float()


__all__ = [
    "KINDS",
    "CellProbe",
    "ProbeData",
    "RolloutStates",
    "fit_probe",
    "grid_stride",
    "layer_activations",
    "predict",
    "probe_data",
    "probe_scores",
    "rollout_states",
    "score",
]
