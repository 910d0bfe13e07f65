"""The sampler's settings: one validated dataclass shared by ``estimate`` and ``estimate_many``."""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from devinterp.optim import SGMCMC

Sampler = Literal["sgld", "rmsprop_sgld"]
Vectorize = Literal["auto", "vmap", "loop"]
SAMPLERS = {"sgld": SGMCMC.sgld, "rmsprop_sgld": SGMCMC.rmsprop_sgld}


def default_nbeta(batch_size: int) -> float:
    """nβ = batch / ln(batch), the usual choice for minibatch SGLD (devinterp's default)."""
    return batch_size / math.log(batch_size) if batch_size > 1 else 1.0


@dataclass(frozen=True)
class SamplerSettings:
    """Settings of the SGMCMC chains behind an LLC estimate; validated on construction.

    ``nbeta=None`` and ``batch_size=None`` depend on the dataset's size n; ``resolve(n)``
    fills them in (full batch; nβ = batch/ln(batch)) and checks ``batch_size <= n``.
    """

    lr: float
    """SGLD step size ε. Keep ``lr · nβ · (largest curvature) ≪ 1``."""
    nbeta: float | None = None
    """Inverse temperature times n; None: ``batch/ln(batch)``."""
    localization: float = 1.0
    """γ, strength of the pull toward w* (directions with nβ·h not ≫ γ are under-counted)."""
    chains: int = 4
    """Chains per model (run vectorized, not one after another)."""
    draws: int = 200
    """Steps per chain that enter the estimate."""
    burnin: int = 50
    """Steps per chain discarded before the draws."""
    batch_size: int | None = 256
    """Minibatch size; None uses the full dataset every step."""
    sampler: Sampler = "sgld"
    """``"sgld"`` or ``"rmsprop_sgld"`` (devinterp's SGMCMC factories)."""
    seed: int = 0
    """Fixes minibatches and noise: the same seed gives the same result."""
    sampler_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra arguments for the SGMCMC factory (e.g. ``eps``, ``alpha``, ``weight_decay``)."""
    divergence_factor: float = 10.0
    """A chain with nβ·(L_t − L_t(w*)) above this many times max(d/2, 1) has diverged
    (``math.inf``: only a NaN/inf loss counts)."""
    vectorize: Vectorize = "auto"
    """``"vmap"``, ``"loop"`` (one functional call per chain) or ``"auto"`` (vmap, else loop)."""
    params: tuple[str, ...] | None = None
    """Weight-refined LLC: the parameters sampled, as names, glob patterns (``"0.*"``) or
    module prefixes (``"encoder"`` matches ``"encoder.weight"``); the others stay at w*.
    None samples every parameter with ``requires_grad=True``."""
    param_masks: Mapping[str, Any] | None = None
    """Elementwise refinement within sampled tensors: ``{name: bool mask of its shape}``;
    only the True entries move (devinterp's SGMCMC ``mask``), e.g. one head of a fused
    projection. None: whole tensors."""

    def __post_init__(self) -> None:
        if self.vectorize not in ("auto", "vmap", "loop"):
            raise ValueError(f"vectorize must be 'auto', 'vmap' or 'loop'; got {self.vectorize!r}.")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}; got {self.sampler!r}.")
        set_ = object.__setattr__  # normalize types once, for the sampling loop and the config
        set_(self, "lr", _number("lr", self.lr, "a positive finite number", positive=True))
        if self.nbeta is not None:
            set_(self, "nbeta", _number("nbeta", self.nbeta, "a positive finite number", True))
        loc = _number("localization", self.localization, "a finite number >= 0", positive=False)
        set_(self, "localization", loc)
        for name, low in (("chains", 1), ("draws", 1), ("burnin", 0), ("seed", 0)):
            set_(self, name, _integer(name, getattr(self, name), low))
        if self.batch_size is not None:
            set_(self, "batch_size", _integer("batch_size", self.batch_size, 1, " (or None)"))
        set_(self, "divergence_factor", _divergence_factor(self.divergence_factor))
        set_(self, "sampler_kwargs", _sampler_kwargs(self.sampler, self.sampler_kwargs))
        set_(self, "params", _patterns(self.params))
        set_(self, "param_masks", _masks(self.param_masks))

    def resolve(self, n: int) -> SamplerSettings:
        """These settings for a dataset of ``n`` samples: concrete batch size and nβ.

        Raises:
            ValueError: ``batch_size`` is larger than ``n``.
        """
        batch_size = n if self.batch_size is None else self.batch_size
        if not 1 <= batch_size <= n:
            raise ValueError(
                f"batch_size must be an integer in [1, n={n}] (or None for full batch); "
                f"got {self.batch_size!r}."
            )
        nbeta = default_nbeta(batch_size) if self.nbeta is None else self.nbeta
        return dataclasses.replace(self, batch_size=batch_size, nbeta=nbeta)


def _number(name: str, value: Any, expected: str, positive: bool) -> float:
    """``value`` as a float, if it is a real number (not a bool), finite, and > 0 or >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}; got {value!r} ({type(value).__name__}).")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    return v


def _integer(name: str, value: Any, low: int, extra: str = "") -> int:
    """``value`` as an int, if it is an integer (not a bool or a float) and ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {low}{extra}; got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}{extra}; got {value!r}.")
    return int(value)


def _patterns(value: Any) -> tuple[str, ...] | None:
    """``params`` as a tuple of non-empty strings (one string is one pattern), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(
            f"params must be None or a list of parameter names / glob patterns; got {value!r}."
        )
    if not value or not all(value):
        raise ValueError(
            f"params must name at least one parameter (no empty names); got {value!r}."
        )
    return tuple(value)


def _masks(value: Any) -> dict[str, Any] | None:
    """``param_masks`` as ``{name: bool tensor}`` with at least one True entry each, or None."""
    import torch

    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError(f"param_masks must be a dict {{parameter name: bool mask}}; got {value!r}.")
    masks = {}
    for k, m in value.items():
        t = torch.as_tensor(m)
        if t.dtype != torch.bool:
            raise TypeError(f"param_masks[{k!r}] must be a boolean mask; got dtype {t.dtype}.")
        if not t.any():
            raise ValueError(f"param_masks[{k!r}] selects no entry; drop it from params instead.")
        masks[k] = t
    return masks


def _divergence_factor(value: Any) -> float:
    """A positive number or ``math.inf``; NaN would silently switch the check off."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"divergence_factor must be a positive number (or math.inf); got {value!r}."
        )
    if not float(value) > 0:  # also refuses NaN
        raise ValueError(
            f"divergence_factor must be a positive number (or math.inf); got {value!r}."
        )
    return float(value)


def _sampler_kwargs(sampler: str, kwargs: Any) -> dict[str, Any]:
    """Extra arguments the sampler's factory takes, other than those the settings set."""
    if kwargs is None:
        return {}
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"sampler_kwargs must be a dict; got {type(kwargs).__name__}.")
    accepted = set(inspect.signature(SAMPLERS[sampler]).parameters) - _SET_BY_SETTINGS
    unknown = sorted(map(str, set(kwargs) - accepted))
    if unknown:
        owned = sorted(set(map(str, kwargs)) & _SET_BY_SETTINGS)
        hint = f" ({', '.join(owned)}: set the field itself)" if owned else ""
        raise ValueError(
            f"sampler_kwargs has {unknown}, which {sampler} does not take{hint}; "
            f"it takes {sorted(accepted)}."
        )
    return dict(kwargs)


_SET_BY_SETTINGS = {"params", "lr", "nbeta", "localization", "mask"}


def make_settings(settings: SamplerSettings | None, fields: dict[str, Any]) -> SamplerSettings:
    """``settings`` with keyword overrides, or new settings from the keywords alone."""
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(SamplerSettings)})
    if unknown:
        raise TypeError(
            f"unknown sampler setting(s) {unknown}; the settings are the fields of "
            "devrl.llc.SamplerSettings."
        )
    if settings is None:
        if "lr" not in fields:
            raise TypeError("pass the step size lr=... (or settings=SamplerSettings(lr=...)).")
        return SamplerSettings(**fields)
    if not isinstance(settings, SamplerSettings):
        raise TypeError(f"settings must be a SamplerSettings; got {type(settings).__name__}.")
    return dataclasses.replace(settings, **fields)
