"""The sampler's settings: one validated dataclass shared by ``estimate`` and ``estimate_many``."""

from __future__ import annotations

import dataclasses
import math
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

    def __post_init__(self) -> None:
        if self.vectorize not in ("auto", "vmap", "loop"):
            raise ValueError(f"vectorize must be 'auto', 'vmap' or 'loop'; got {self.vectorize!r}.")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}; got {self.sampler!r}.")
        for name in ("lr", "nbeta"):
            value = getattr(self, name)
            if name == "nbeta" and value is None:
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
        if not (math.isfinite(self.localization) and self.localization >= 0):
            raise ValueError(
                f"localization must be a finite number >= 0; got {self.localization!r}."
            )
        for name in ("chains", "draws"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if int(self.burnin) != self.burnin or self.burnin < 0:
            raise ValueError(f"burnin must be an integer >= 0; got {self.burnin!r}.")
        if self.batch_size is not None and (
            int(self.batch_size) != self.batch_size or self.batch_size < 1
        ):
            raise ValueError(
                "batch_size must be a positive integer (or None for full batch); "
                f"got {self.batch_size!r}."
            )
        if not self.divergence_factor > 0:  # math.inf: only a NaN/inf loss counts
            raise ValueError(
                f"divergence_factor must be a positive number (or math.inf); "
                f"got {self.divergence_factor!r}."
            )
        # Normalize types once, so the sampling loop and the result's config see plain values.
        set_ = object.__setattr__
        set_(self, "lr", float(self.lr))
        set_(self, "nbeta", None if self.nbeta is None else float(self.nbeta))
        set_(self, "localization", float(self.localization))
        for name in ("chains", "draws", "burnin", "seed"):
            set_(self, name, int(getattr(self, name)))
        set_(self, "batch_size", None if self.batch_size is None else int(self.batch_size))
        set_(self, "sampler_kwargs", dict(self.sampler_kwargs or {}))
        set_(self, "divergence_factor", float(self.divergence_factor))

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
