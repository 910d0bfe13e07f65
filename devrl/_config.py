"""Config dataclasses <-> argparse flags and dicts, plus field validators.

Why: a config is a dataclass whose fields each carry ``metadata={"help": ...}``.
The command line is generated from it, so flags, defaults and help text never
drift from the code; dicts (``config.json``) round-trip through the same checks,
so an unknown key or an out-of-range value fails loudly, naming the field.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_NONE_WORDS = {"none", "null"}


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """Return ``(inner_type, allows_none)`` for ``X | None`` / ``Optional[X]``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(tp)):
            return args[0], True
        if len(args) == 1:
            return args[0], False
        raise TypeError(f"unsupported union type {tp!r} in config")
    return tp, False


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _scalar_parser(tp: Any, allows_none: bool):
    """A function str -> value for one field type (used by argparse ``type=``)."""

    def parse(text: str):
        if allows_none and text.strip().lower() in _NONE_WORDS:
            return None
        if tp is bool:
            return _parse_bool(text)
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if tp is str:
            return text
        origin = typing.get_origin(tp) or tp
        if origin in (dict, list, tuple):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                # a bare word such as ``cheese`` is accepted for str-or-dict fields
                return text
            return tuple(value) if origin is tuple else value
        raise TypeError(f"unsupported config field type {tp!r}")

    parse.__name__ = getattr(tp, "__name__", str(tp))
    return parse


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--field-name`` flag per dataclass field, with its help and default.

    Flags default to ``argparse.SUPPRESS`` so that only fields given on the command
    line appear in the namespace; :func:`dataclass_from_args` fills the rest from the
    dataclass defaults (or a preset). Booleans get ``--flag/--no-flag``; ``X | None``
    fields accept ``none``; dict/list fields accept JSON.

    Args:
        parser: Parser (or argument group) to extend.
        cls: A dataclass type whose fields carry ``metadata={"help": ...}``.
    """
    hints = _field_types(cls)
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        tp, allows_none = _unwrap_optional(hints[field.name])
        flag = "--" + field.name.replace("_", "-")
        default = _field_default(field)
        help_text = field.metadata.get("help", "")
        help_text = f"{help_text} (default: {default!r})" if help_text else f"default: {default!r}"
        if tp is bool and not allows_none:
            parser.add_argument(
                flag,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag,
                dest=field.name,
                type=_scalar_parser(tp, allows_none),
                default=argparse.SUPPRESS,
                metavar=field.name.upper(),
                help=help_text,
            )


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return None


def args_to_dict(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The subset of ``args`` that names fields of ``cls`` (flags the user actually gave)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in vars(args).items() if k in names}


def dataclass_from_args(cls: type[T], args: argparse.Namespace, base: Mapping | None = None) -> T:
    """Build ``cls`` from parsed flags, on top of ``base`` (e.g. a preset) and the defaults."""
    values = dict(base or {})
    values.update(args_to_dict(cls, args))
    return from_dict(cls, values)


def from_dict(cls: type[T], values: Mapping[str, Any]) -> T:
    """Build a config dataclass from a mapping, refusing unknown keys.

    Args:
        cls: The config dataclass type.
        values: Field values; missing fields take their defaults.

    Returns:
        The config instance (its ``__post_init__`` validates the values).

    Raises:
        ValueError: if a key is not a field of ``cls``; the message lists valid fields.
    """
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(
            f"unknown {cls.__name__} field(s) {unknown}; valid fields are: {', '.join(names)}"
        )
    return cls(**dict(values))


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


# ----------------------------------------------------------------------------- validators


def check_type(name: str, value: Any, tp: type | tuple[type, ...], *, allow_none=False) -> None:
    """Raise ``ValueError`` unless ``value`` is an instance of ``tp`` (bools are not ints)."""
    if value is None and allow_none:
        return
    tps = tp if isinstance(tp, tuple) else (tp,)
    ok = isinstance(value, tps) and not (isinstance(value, bool) and bool not in tps)
    if float in tps and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        expected = " or ".join(t.__name__ for t in tps) + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")


def check_range(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> None:
    """Raise ``ValueError`` naming the field and the allowed range if ``value`` is outside it.

    NaN and infinities are always outside (an unbounded side still means finite).

    Args:
        name: Field name shown in the message.
        value: The value to check.
        low, high: Bounds (``None`` = unbounded).
        integer: Require an ``int`` (not bool).
        low_open, high_open: Exclude the bound itself.
        allow_none: Accept ``None``.
    """
    if value is None and allow_none:
        return
    check_type(name, value, int if integer else float, allow_none=allow_none)
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not math.isfinite(value) or not (lo_ok and hi_ok):
        lb = "-inf" if low is None else _bound(low)
        hb = "inf" if high is None else _bound(high)
        interval = ("(" if low_open or low is None else "[") + f"{lb}, {hb}"
        interval += ")" if high_open or high is None else "]"
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind} in {interval}, got {value!r}")


def _bound(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def check_numeric_fields(config: Any) -> None:
    """Check every ``int``/``float`` field of a config dataclass against its annotation.

    Why: ``lr=True`` would train with lr 1 and ``lr=float("inf")`` with NaN weights; a
    config's ``__post_init__`` calls this first, then checks each field's range. Bools
    are not numbers here, ints are accepted for floats, and floats must be finite.

    Raises:
        ValueError: naming the first field of the wrong type or not finite.
    """
    hints = _field_types(type(config))
    for field in dataclasses.fields(config):
        tp, allows_none = _unwrap_optional(hints[field.name])
        if tp not in (int, float):
            continue
        value = getattr(config, field.name)
        check_type(field.name, value, tp, allow_none=allows_none)
        if tp is float and value is not None and not math.isfinite(value):
            raise ValueError(f"{field.name} must be a finite number, got {value!r}")


def check_choice(name: str, value: Any, choices: typing.Collection[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(map(str, choices))}, got {value!r}")
