"""Argument types and output checks shared by the ``devrl`` subcommands.

Why: the same flag kinds (a path that must not be empty, a JSON object, a table to
write) appear in several commands; checking them in one place gives every command
the same one-line errors. Argument types raise ``argparse.ArgumentTypeError`` (a usage
error, exit 2); :func:`check_output` runs before a command's work starts, so a typo in
``--out`` fails in a second, not after an hour of tracking (a runtime error, exit 1).
Imports nothing heavy: parsers are built from these for ``--help``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def nonempty_path(text: str) -> Path:
    """A path flag's value; an empty string (which would mean the current directory) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return Path(text)


def positive_int(text: str) -> int:
    """An integer flag that must be >= 1 (a count: episodes, samples)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object flag's value, e.g. ``'{"max_steps": 50}'``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"max_steps\": 50}}', got {text!r} ({exc.msg})"
        ) from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"max_steps\": 50}}', got {type(value).__name__} "
            f"{text!r}"
        )
    return value


def check_output(path: str | Path | None, flag: str = "--out") -> None:
    """Raise a clear ``OSError`` now if ``path`` cannot be written later (no-op for None).

    Raises:
        FileNotFoundError: the folder that would hold ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        NotADirectoryError: the folder that would hold ``path`` is a file.
    """
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{flag} {path} is a directory; expected a file path")
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"{flag} {path}: folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise NotADirectoryError(f"{flag} {path}: {parent} is a file, not a folder")


def write_csv(frame: Any, path: str | Path) -> None:
    """Write a DataFrame as CSV atomically (a reader never sees a half-written table)."""
    from devrl._io import atomic_write_text

    atomic_write_text(path, frame.to_csv(index=False))
