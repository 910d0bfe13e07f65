"""Shared by the steering and channel analyses: decision-square batches and hooked probabilities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from devrl.envs.levels import mouse_start, observation
from devrl.hooks import HookFn, hook_names, run_with_hooks
from devrl.mechanisms.decision import decision_square

Level = tuple[np.ndarray, tuple[int, int]]

_SKIP = {"hook_obs", "hook_logits", "hook_value"}


@dataclass(frozen=True)
class DecisionBatch:
    """Levels with a decision square as tensors: the mouse there, and at the start.

    Attributes:
        index: ``[N]`` position of each kept level in the input.
        cheese: ``[N, 2]`` cheese cells.
        at_ds: ``[N, 3, S, S]`` observations with the mouse on the decision square.
        at_start: ``[N, 3, S, S]`` observations with the mouse at the start.
        cheese_actions, corner_actions: ``[N, 4]`` bool, the actions there that lead to
            the cheese / the corner.
    """

    index: np.ndarray
    cheese: np.ndarray
    at_ds: torch.Tensor
    at_start: torch.Tensor
    cheese_actions: np.ndarray
    corner_actions: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def decision_batch(levels: Iterable[Level]) -> DecisionBatch:
    """Stack the levels that have a decision square (ValueError if none has)."""
    index, cheese, at_ds, at_start, ch, co = [], [], [], [], [], []
    for i, (walls, c) in enumerate(levels):
        ds = decision_square(walls, c)
        if ds is None:
            continue
        c = (int(c[0]), int(c[1]))
        index.append(i)
        cheese.append(c)
        at_ds.append(observation(walls, ds.cell, c))
        at_start.append(observation(walls, mouse_start(walls.shape[0]), c))
        ch.append(np.isin(np.arange(4), ds.cheese_actions))
        co.append(np.isin(np.arange(4), ds.corner_actions))
    if not index:
        raise ValueError("levels must include at least one level with a decision square.")
    return DecisionBatch(
        np.array(index),
        np.array(cheese),
        torch.as_tensor(np.stack(at_ds)),
        torch.as_tensor(np.stack(at_start)),
        np.array(ch),
        np.array(co),
    )


def without_cheese(obs: torch.Tensor) -> torch.Tensor:
    """``obs [N, 3, S, S]`` with the cheese plane emptied."""
    out = obs.clone()
    out[:, 2] = 0
    return out


def default_layers(policy: nn.Module) -> list[str]:
    """Every hook point of ``policy`` between its input and its heads' outputs."""
    layers = [n for n in hook_names(policy) if n.rsplit(".", 1)[-1] not in _SKIP]
    if not layers:
        raise ValueError(f"{type(policy).__name__} has no hook points to study; pass layers.")
    return layers


@torch.no_grad()
def hooked_probs(
    policy: nn.Module, obs: torch.Tensor, fwd_hooks: Sequence[tuple[str, HookFn]] = ()
) -> np.ndarray:
    """Action probabilities ``[N, 4]`` (float64) of ``policy`` on ``obs`` with hooks attached."""
    out = run_with_hooks(policy, obs, fwd_hooks)
    logits = out[0] if isinstance(out, (tuple, list)) else out
    return torch.softmax(logits.double(), dim=-1).cpu().numpy()
