"""Fit in standard units: y is centred and scaled before fitting, parameters mapped back.

Why: a least-squares fit in the caller's units depends on them through the
optimiser's tolerances, step sizes and starting points, so the same curve recorded as
a learning rate (1e-5) or as a percentage ranked forms differently. Every built-in form
is equivariant under y -> m + s*y (each parameter is a level, a scale or a shape), so
fitting ``z = (y - mean) / sd`` and mapping the parameters back gives the same form,
the same curve up to the units, and likelihoods that differ by the same constant for
every form: rankings are unit-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devrl.forms.registry import Form


@dataclass(frozen=True)
class YUnits:
    """The map between the caller's y and the fitter's standard units: ``y = shift + scale*z``.

    Attributes:
        shift: added back to levels (the mean of y; 0 when the form declares no roles).
        scale: multiplies levels and scales (the standard deviation of y; 1 likewise).
        roles: per parameter, ``"level"``, ``"scale"`` or ``"shape"``.
    """

    shift: float
    scale: float
    roles: tuple[str, ...]

    @classmethod
    def of(cls, form: Form, y: np.ndarray) -> YUnits:
        """Standard units of ``y`` for ``form`` (the identity when it declares no ``y_roles``)."""
        if form.y_roles is None:
            return cls(0.0, 1.0, ("shape",) * form.n_params)
        return cls(float(np.mean(y)), float(np.std(y)), tuple(form.y_roles))

    @property
    def factors(self) -> np.ndarray:
        """Per-parameter factor from standard to caller units (scale for levels and scales)."""
        return np.array([1.0 if r == "shape" else self.scale for r in self.roles])

    @property
    def shifts(self) -> np.ndarray:
        """Per-parameter offset from standard to caller units (shift for levels)."""
        return np.array([self.shift if r == "level" else 0.0 for r in self.roles])

    def y_to_z(self, y: np.ndarray) -> np.ndarray:
        return (y - self.shift) / self.scale

    def params_from_z(self, theta_z: np.ndarray) -> np.ndarray:
        """Parameters (one vector or rows of draws) in the caller's units."""
        return self.shifts + self.factors * np.asarray(theta_z, dtype=float)

    def params_to_z(self, theta: np.ndarray) -> np.ndarray:
        return (np.asarray(theta, dtype=float) - self.shifts) / self.factors

    def cov_from_z(self, cov_z: np.ndarray) -> np.ndarray:
        f = self.factors
        return cov_z * np.outer(f, f)
