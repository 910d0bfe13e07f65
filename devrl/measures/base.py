"""What a measure is, what it may know (its context), and the registry of named measures.

A *measure* is a function ``fn(policy, context, **params)`` returning a float, a
``(value, stderr)`` pair, or a mapping of such values; a mapping's key ``""`` is the
measure itself and any other key ``k`` becomes the row ``"<measure>/k"`` (e.g.
``llc-action/rhat``). The LLC on a rollout dataset, success and regret are all
measures, so :func:`devrl.track.track` serves them all. Nothing here imports
``devrl.track``: the tracker imports measures, never the reverse.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from torch import nn

from devrl.runs import Run

DEFAULT_MEASURE_SEED = 12345
"""Seeds evaluation levels, rollouts and samplers of every measure unless told otherwise."""

MeasureFn = Callable[..., Any]
"""``fn(policy, context, **params) -> float | (value, stderr) | Mapping[str, ...]``."""


@dataclass
class Context:
    """What a measure may know besides the policy: the run, the step, its environment.

    Environment-agnostic: ``env_id`` and ``env_kwargs`` name any gymnasium environment
    (the maze, the TMS bandit, an imported agent's environment); measures that need a
    particular environment check ``env_id``.

    Attributes:
        run: The run being tracked.
        step: The checkpoint's env step.
        measure_seed: Seeds evaluation levels, rollouts and samplers; the same at every
            step, so checkpoints are compared on common random numbers.
        memo: Results shared by the measures of one step (evaluation episodes, state
            buffers, other checkpoints), so no two measures compute the same thing.
    """

    run: Run
    step: int
    measure_seed: int = DEFAULT_MEASURE_SEED
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        """The run's training seed."""
        return int(self.run.config.get("seed", 0))

    @property
    def env_id(self) -> str:
        """The gymnasium id of the run's environment."""
        return self.run.env_id

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the run's environment (for the maze: size, corner, ...)."""
        return self.run.env_kwargs

    @property
    def wrappers(self) -> list[Any]:
        """Wrapper specs of the run's environment (``config["wrappers"]``; none for the maze)."""
        return list(self.run.config.get("wrappers") or [])

    @property
    def gamma(self) -> float:
        """The run's discount (regret, Monte-Carlo returns)."""
        return float(self.run.config.get("gamma", 0.95))

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per step for ``key``; later measures get the same object."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def policy_at(self, step: int | str) -> nn.Module:
        """Another checkpoint of the run: an env step, ``"final"`` or ``"initial"``."""
        steps = self.run.steps
        if step == "final":
            step = steps[-1]
        elif step == "initial":
            step = steps[0]
        elif isinstance(step, str):
            raise ValueError(f"a checkpoint is an env step, 'final' or 'initial'; got {step!r}.")
        return self.shared(("policy", int(step)), lambda: self.run.policy(int(step)))

    def require_env(self, env_id: str, measure: str) -> None:
        """Raise a clear error if the run's environment is not ``env_id``."""
        if self.env_id != env_id:
            raise ValueError(
                f"measure {measure!r} needs a run on {env_id}; run {self.run.path} is on "
                f"{self.env_id}."
            )


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and tuples turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Measure:
    """A named measure with its parameters; call it as ``measure(policy, context)``.

    Attributes:
        name: Row label in the tidy frame.
        fn: ``fn(policy, context, **params)``.
        params: Keyword arguments for ``fn`` (the documented defaults, overridden).
        help: One line on what it measures.
    """

    name: str
    fn: MeasureFn
    params: Mapping[str, Any] = field(default_factory=dict)
    help: str = ""

    def __call__(self, policy: nn.Module, context: Context) -> Any:
        return self.fn(policy, context, **self.params)

    def with_params(self, **changes: Any) -> Measure:
        """A copy with some parameters changed; unknown names raise ``ValueError``."""
        unknown = sorted(set(changes) - set(self.params))
        if unknown:
            raise ValueError(
                f"measure {self.name!r} has no parameter(s) {unknown}; "
                f"its parameters are {sorted(self.params)}."
            )
        hints = _param_types(self.fn)
        for param, value in changes.items():
            if param in hints and not _is_instance(value, hints[param]):
                raise TypeError(
                    f"measure {self.name!r} parameter {param!r} must be "
                    f"{_type_text(hints[param])}, got {value!r} ({type(value).__name__})."
                )
            if isinstance(value, numbers.Real) and not math.isfinite(value):
                raise ValueError(
                    f"measure {self.name!r} parameter {param!r} must be finite, got {value!r}."
                )
        return replace(self, params={**self.params, **changes})

    def key(self, measure_seed: int) -> str:
        """Cache folder name: the name plus a hash of the parameters and the seed."""
        blob = json.dumps(
            {"params": jsonable(dict(self.params)), "seed": int(measure_seed)},
            sort_keys=True,
            default=str,
        )
        return f"{self.name}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    def rows(self, result: Any) -> list[dict[str, Any]]:
        """This measure's return value as rows ``{measure, value, stderr}``."""
        items = result.items() if isinstance(result, Mapping) else [("", result)]
        rows = []
        for key, val in items:
            value, stderr = val if isinstance(val, (tuple, list)) else (val, math.nan)
            rows.append(
                {
                    "measure": self.name if key == "" else f"{self.name}/{key}",
                    "value": float(value),
                    "stderr": float(stderr),
                }
            )
        return rows


def _param_types(fn: Callable[..., Any]) -> dict[str, Any]:
    """The annotated types of ``fn``'s parameters ({} if they cannot be resolved)."""
    try:
        return typing.get_type_hints(fn)
    except (NameError, TypeError, AttributeError, SyntaxError):  # unresolvable: no check
        return {}


def _is_instance(value: Any, tp: Any) -> bool:
    """Whether ``value`` fits the annotation ``tp`` (bools are not numbers; ints are floats)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_is_instance(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp in (int, float):  # numpy scalars count: np.int64 is an Integral, np.float32 a Real
        kind = numbers.Integral if tp is int else numbers.Real
        return isinstance(value, kind) and not isinstance(value, (bool, np.bool_))
    cls = origin or tp
    return not isinstance(cls, type) or isinstance(value, cls)


def _type_text(tp: Any) -> str:
    """``int | str`` as text: the annotation's type names joined by 'or'."""
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else ()
    parts = args or (tp,)
    return " or ".join("None" if a is type(None) else getattr(a, "__name__", str(a)) for a in parts)


MEASURES: dict[str, Measure] = {}
"""The registry of named measures (the built-in ones are registered by ``devrl.measures``)."""


def register_measure(name: str, fn: MeasureFn, help: str = "", **defaults: Any) -> Measure:
    """Add a named measure with default parameters to :data:`MEASURES` and return it."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}.")
    if not name or "/" in name:
        raise ValueError(f"measure name must be non-empty without '/'; got {name!r}.")
    if not callable(fn):
        raise TypeError(f"fn must be a callable (policy, context, **params), got {fn!r}.")
    MEASURES[name] = Measure(name, fn, dict(defaults), help)
    return MEASURES[name]


def get_measure(name: str, **params: Any) -> Measure:
    """The registered measure ``name`` with some parameters overridden."""
    if name not in MEASURES:
        raise ValueError(
            f"unknown measure {name!r}; registered: {sorted(MEASURES)}. "
            "Register your own with devrl.measures.register_measure."
        )
    return MEASURES[name].with_params(**params)


def as_measure(m: str | Measure | MeasureFn) -> Measure:
    """A registered name, a :class:`Measure` or a plain callable ``(policy, context)``."""
    if isinstance(m, Measure):
        return m
    if isinstance(m, str):
        return get_measure(m)
    if callable(m):
        return Measure(getattr(m, "__name__", "measure"), lambda p, c, _f=m: _f(p, c))
    raise TypeError(
        f"a measure is a registered name, a Measure or a callable (policy, context); "
        f"got {type(m).__name__}."
    )


__all__ = [
    "DEFAULT_MEASURE_SEED",
    "MEASURES",
    "Context",
    "Measure",
    "MeasureFn",
    "as_measure",
    "get_measure",
    "jsonable",
    "register_measure",
]
