"""Atomic file writes: write a temporary file in the same directory, then ``os.replace``.

Why: a run killed mid-write must never leave a half-written config, checkpoint or
metrics table behind; readers see either the old file or the new one.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

WRITE_HOOKS: list[Callable[[str, Path], None]] = []
"""Functions ``hook(event, path)`` called at each boundary of every atomic write.

``event`` is ``"open"`` (temporary file created, nothing written), ``"written"`` (its
content is on disk, not yet renamed) or ``"replaced"`` (``path`` holds the new content).
Why: the fault-injection tests kill a process or raise ``ENOSPC`` at exactly these
points; a hook that raises aborts the write like a real failure would (the temporary
file is removed, ``path`` keeps its old content).
"""

_TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # atomic_write's mkstemp names


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_write`'s temporary files."""
    return bool(_TEMP_FILE.match(name))


def _at(event: str, path: Path) -> None:
    for hook in WRITE_HOOKS:
        hook(event, path)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it over ``path``.

    Args:
        path: Destination file.
        write: Function that writes the content to the open file object.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _at("open", path)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _at("written", path)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            # a full disk surfaces from write() or fsync() without a file name: add it
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    _at("replaced", path)
    return path


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left under ``folder``.

    Why: a process killed between creating its temporary file and renaming it leaves
    ``.<name>.<random>.tmp`` behind forever. Call this only while no other process
    writes under ``folder`` (e.g. holding its :func:`devrl._lock.lock_dir`); files not
    named like :func:`atomic_write`'s temporaries are never touched.

    Returns:
        The files removed.
    """
    removed = []
    for path in Path(folder).rglob("*.tmp"):
        if is_temp_file(path.name) and path.is_file():
            try:
                path.unlink()
            except OSError:  # gone already, or a read-only run (where nothing is written)
                continue
            removed.append(path)
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically ``torch.save`` ``obj`` (serialised in memory first, then written)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, lambda f: f.write(buffer.getbuffer()))
