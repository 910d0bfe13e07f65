"""What can be wrong with a run directory, checked where a run is opened or created.

Why a module of its own: every check here ends in one error that names the file and
the fix (a ``ValueError`` subclass, so callers and the CLI catch them one way), and the
run store itself (:mod:`devrl.runs`) stays about reading and writing runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from devrl._io import is_temp_file
from devrl._lock import LOCK_NAME


class RunError(ValueError):
    """A run directory cannot be used as asked: the message names the file and the fix."""


class NotARunError(RunError, FileNotFoundError):
    """A path is not a devrl run directory (no ``config.json``)."""


class RunConfigMismatch(RunError):
    """A run directory already holds a run with a different config."""


def run_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path, refusing the empty string (which would mean the current directory)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"run directory must be a path, got {path!r} ({type(path).__name__})")
    if os.fspath(path) == "":
        raise RunError("run directory must be a non-empty path, got ''")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"run directory {path} is a file, not a directory")
    return path


def check_new_run_dir(path: Path) -> None:
    """Refuse an existing directory without config.json that holds anything but our own files."""
    if not path.is_dir():
        return
    foreign = sorted(
        p.name for p in path.iterdir() if p.name != LOCK_NAME and not is_temp_file(p.name)
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise RunError(
            f"{path} is not empty ({shown}) and holds no devrl run (no config.json); "
            "choose a new or empty directory"
        )


def check_columns(frame: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    """Raise :class:`RunError` naming ``path`` if ``frame`` (read from it) lacks ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RunError(
            f"{path} lacks the column(s) {missing} (has {list(frame.columns)[:6]}); "
            "it was not written by devrl or was damaged: delete it to start a new table"
        )
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise RunError(
                f"{path} has a non-integer {column!r} in data row {row + 1} "
                f"({frame[column].iloc[row]!r}); it was not written by devrl or was damaged: "
                "delete it to start a new table"
            )
