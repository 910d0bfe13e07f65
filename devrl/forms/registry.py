"""Registry of functional forms: what a curve over training may look like.

A :class:`Form` bundles everything the fitter needs to treat a formula as a
statistical model: the function, its parameter names, data-driven bounds and
data-driven starting points. Forms are registered by name, so the comparison
table, the command line and user code all refer to them the same way; users add
their own with :func:`register_form`. The built-in forms live in
``devrl/forms/library.py`` and their training-dynamics mechanisms in
``theory/forms.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

ArrayFn = Callable[..., np.ndarray]
BoundsFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
GuessFn = Callable[[np.ndarray, np.ndarray], Sequence[np.ndarray]]


@dataclass(frozen=True)
class Form:
    """A parametric curve ``y = func(t, *params)`` with bounds and starting points.

    Attributes:
        name: registry key, e.g. ``"logistic"``.
        func: vectorised ``func(t, *params) -> y``.
        param_names: names of the parameters, in ``func``'s order.
        formula: the formula in plain text, for tables and plots.
        bounds: ``bounds(t, y) -> (lower, upper)``; data-driven so that time
            parameters stay near the observed time range.
        guess: ``guess(t, y) -> [p0, ...]``; one or more starting points, the
            fitter runs a bounded least-squares fit from each and keeps the best.
        canonicalize: maps a parameter vector to its canonical representative when
            the form has symmetries (e.g. swapping the two stages of a double
            logistic); ``None`` when there are none.
        needs_positive_t: the form uses ``log t``, so every ``t`` must be > 0.
        description: one line on what the form means.
        y_roles: how each parameter moves when y changes units (y -> m + s*y):
            ``"level"`` (p -> m + s*p), ``"scale"`` (p -> s*p) or ``"shape"``
            (unchanged: times, widths, exponents). With roles declared, ``fit``
            works in standard units of y, so rankings and fitted curves do not depend
            on the units; ``bounds`` and ``guess`` must then be equivariant too (computed
            from the data). ``None`` fits in the caller's units.
    """

    name: str
    func: ArrayFn
    param_names: tuple[str, ...]
    formula: str
    bounds: BoundsFn
    guess: GuessFn
    canonicalize: Callable[[np.ndarray], np.ndarray] | None = None
    needs_positive_t: bool = False
    description: str = field(default="")
    y_roles: tuple[str, ...] | None = None

    @property
    def n_params(self) -> int:
        """Number of curve parameters (the noise scale is not counted here)."""
        return len(self.param_names)

    def __call__(self, t: np.ndarray, params: Sequence[float]) -> np.ndarray:
        """Evaluate the form at ``t`` with parameter vector ``params``."""
        return np.asarray(self.func(np.asarray(t, dtype=float), *params), dtype=float)


_REGISTRY: dict[str, Form] = {}


def register_form(form: Form, *, overwrite: bool = False) -> Form:
    """Add a form to the registry so ``fit``, ``compare`` and the CLI know it by name.

    Args:
        form: the form to add.
        overwrite: replace an existing form of the same name instead of raising.

    Returns:
        The form, so this can be used inline.

    Raises:
        TypeError: if ``form`` is not a :class:`Form`.
        ValueError: if the name is taken (and ``overwrite`` is false) or the form
            is malformed (no parameters, duplicate parameter names).
    """
    if not isinstance(form, Form):
        raise TypeError(f"register_form expects a devrl.forms.Form, got {type(form).__name__}.")
    if not form.param_names or len(set(form.param_names)) != len(form.param_names):
        raise ValueError(
            f"form {form.name!r} needs at least one parameter and unique parameter names, "
            f"got {form.param_names}."
        )
    if form.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"a form named {form.name!r} is already registered; pick another name or pass "
            "overwrite=True."
        )
    check_roles(form)
    _REGISTRY[form.name] = form
    return form


Y_ROLES = ("level", "scale", "shape")


def check_roles(form: Form) -> None:
    """Raise ValueError unless ``form.y_roles`` is None or one known role per parameter."""
    roles = form.y_roles
    if roles is None:
        return
    if len(roles) != form.n_params or any(r not in Y_ROLES for r in roles):
        raise ValueError(
            f"form {form.name!r}: y_roles must give one of {Y_ROLES} per parameter "
            f"{form.param_names}, got {roles!r}."
        )


def get_form(form: str | Form) -> Form:
    """Look a form up by name (a :class:`Form` is returned unchanged).

    Raises:
        ValueError: naming the registered forms when the name is unknown.
    """
    if isinstance(form, Form):
        return form
    if not isinstance(form, str):
        raise TypeError(f"form must be a registered form name or a devrl.forms.Form, got {form!r}.")
    try:
        return _REGISTRY[form]
    except KeyError:
        raise ValueError(
            f"unknown form {form!r}; registered forms are {sorted(_REGISTRY)}. "
            "Register your own with devrl.forms.register_form."
        ) from None


def available_forms() -> list[str]:
    """Names of all registered forms, in registration order."""
    return list(_REGISTRY)
