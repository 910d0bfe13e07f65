"""The toy model of superposition (TMS): f(x) = ReLU(WᵀW x + b), one forward pass for all.

Chen et al. (2023) train f to reconstruct sparse inputs; devrl trains it by SGD
(:mod:`devrl.agents.tms_sgd`) and by policy gradient (:mod:`devrl.agents.tms_rl`), samples
its LLC and measures it over training. Every one of them computes f through
:func:`tms_forward` (or :func:`tms_layers` where the hand-written gradients need the hidden
activations), batched over any leading dimensions (seeds, checkpoints, chains), and
:class:`TMSModel` is the same function as a module with hook points, the model kind ``"tms"``
that TMS runs save.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from devrl.hooks import HookPoint
from devrl.theory.tms import polygon_weights

__all__ = ["TMSModel", "init_tms_params", "tms_backward", "tms_forward", "tms_layers"]


def _hidden(W: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return x @ W.transpose(-1, -2)  # [..., N, m]


def _pre(W: torch.Tensor, b: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return h @ W + b.unsqueeze(-2)  # [..., N, c]


def tms_layers(
    W: torch.Tensor, b: torch.Tensor, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hidden h = Wx, pre-activation WᵀWx + b and output f(x), batched.

    Args:
        W: weights [..., m, c].
        b: biases [..., c].
        x: inputs [..., N, c] (leading dimensions broadcast against W's and b's).

    Returns:
        (h [..., N, m], pre [..., N, c], f [..., N, c]).
    """
    h = _hidden(W, x)
    pre = _pre(W, b, h)
    return h, pre, torch.relu(pre)


def tms_forward(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f(x) = ReLU(WᵀW x + b) for W [..., m, c], b [..., c], x [..., N, c] -> [..., N, c]."""
    return torch.relu(_pre(W, b, _hidden(W, x)))


def tms_backward(
    W: torch.Tensor, x: torch.Tensor, h: torch.Tensor, pre: torch.Tensor, d_out: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients (W [..., m, c], b [..., c]) of Σ_n d_out_n · f(x_n), by hand.

    The trainers step thousands of tiny batched models, where autograd's bookkeeping
    costs more than the dozen tensor ops of this closed form.

    Args:
        W: weights [..., m, c]. x: inputs [..., N, c].
        h, pre: the hidden and pre-activation :func:`tms_layers` returned for x.
        d_out: the loss's gradient with respect to f(x) [..., N, c].
    """
    d_pre = d_out * (pre > 0)
    gW = h.transpose(-1, -2) @ d_pre + (d_pre @ W.transpose(-1, -2)).transpose(-1, -2) @ x
    return gW, d_pre.sum(-2)


def init_tms_params(
    init: str, m: int, c: int, noise: float, gens: Sequence[torch.Generator]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial (W [S, m, c], b [S, c]) of S runs, one generator each.

    ``init="4gon"`` is the unit square on features 0..3 (other columns and biases 0),
    ``"random"`` is W ~ N(0, 1/m), b = 0; both plus N(0, noise²) on every parameter. Each
    seed draws only from its own generator, so a run does not depend on the others.
    """
    S = len(gens)
    if init == "4gon":
        W = torch.as_tensor(polygon_weights(4, 1.0, c), dtype=torch.float32).expand(S, m, c).clone()
    elif init == "random":
        W = torch.stack([torch.randn(m, c, generator=g) for g in gens]) / m**0.5
    else:
        raise ValueError(f"init must be '4gon' or 'random', got {init!r}.")
    noise_W = torch.stack([torch.randn(m, c, generator=g) for g in gens])
    noise_b = torch.stack([torch.randn(c, generator=g) for g in gens])
    return W + noise * noise_W, torch.zeros(S, c) + noise * noise_b


class TMSModel(nn.Module):
    """f(x) = ReLU(WᵀW x + b) with W [m, c] (tied weights), b [c].

    Hook points: ``hook_hidden`` (h = W x [B, m]), ``hook_pre`` (WᵀW x + b [B, c]),
    ``hook_out`` (f(x) [B, c]).

    Args:
        c: number of features (input = output dimension).
        m: hidden dimension.
        W, b: optional initial values (arrays or tensors) instead of N(0, 1/m) / zeros.
    """

    model_kind: ClassVar[str] = "tms"

    def __init__(self, c: int = 6, m: int = 2, W=None, b=None):
        super().__init__()
        if c < 1 or m < 1:
            raise ValueError(f"c and m must be positive, got c={c}, m={m}.")
        self.c, self.m = c, m
        W0 = (
            torch.randn(m, c) / m**0.5
            if W is None
            else torch.as_tensor(np.asarray(W), dtype=torch.float32)
        )
        b0 = torch.zeros(c) if b is None else torch.as_tensor(np.asarray(b), dtype=torch.float32)
        if W0.shape != (m, c) or b0.shape != (c,):
            raise ValueError(
                f"expected W {(m, c)} and b {(c,)}, got {tuple(W0.shape)}, {tuple(b0.shape)}."
            )
        self.W = nn.Parameter(W0.clone())
        self.b = nn.Parameter(b0.clone())
        self.hook_hidden = HookPoint()
        self.hook_pre = HookPoint()
        self.hook_out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct x [B, c] -> f(x) [B, c] (:func:`tms_forward` with hooks between layers)."""
        h = self.hook_hidden(_hidden(self.W, x))  # [B, m]
        pre = self.hook_pre(_pre(self.W, self.b, h))  # [B, c]
        return self.hook_out(torch.relu(pre))

    def config(self) -> dict[str, int]:
        """Constructor arguments (``c``, ``m``); ``from_config`` inverts it."""
        return {"c": self.c, "m": self.m}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TMSModel:
        """A freshly initialised model of the size :meth:`config` records."""
        return cls(int(config["c"]), int(config["m"]))
