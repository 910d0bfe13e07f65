"""The track cache: one checksummed JSON file per (measure, step), and where the files live.

Why: a cache that is trusted blindly turns one bad file into a wrong table or a blocked
command. Each file carries a SHA-256 of its content, so a file that no longer parses, lacks
fields or was edited by hand is reported (a warning naming it) and recomputed, never
returned. A run that cannot be written (read-only storage, another user's run) is cached
outside it, so it can still be tracked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from devrl._io import atomic_write_json

FORMAT = 1
"""Version of the step-file layout; part of what the checksum covers."""

_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


class UnwritableCacheError(PermissionError, ValueError):
    """No folder the track cache could be written to (a bad ``cache_dir`` argument, too)."""


class CacheFileWarning(UserWarning):
    """A cached result was unreadable, incomplete or edited, and is being recomputed."""


def step_file(folder: Path, step: int) -> Path:
    """The cache file of one measure (``folder``) at checkpoint ``step``."""
    return folder / f"step_{int(step):08d}.json"


def _checksum(payload: dict[str, Any]) -> str:
    """SHA-256 of everything in a step file but the timing and the checksum itself."""
    keys = ("format", "measure", "step", "rows", "nonfinite_weights")
    blob = json.dumps({k: payload.get(k) for k in keys}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def write_result(
    path: Path,
    measure: str,
    step: int,
    rows: list[dict[str, Any]],
    seconds: float,
    nonfinite_weights: int = 0,
) -> None:
    """Atomically write one result with its checksum.

    ``nonfinite_weights``: NaN/inf values in the checkpoint it was measured on, kept so a
    later run that reads the result instead of the checkpoint can still warn.
    """
    payload = {
        "format": FORMAT,
        "measure": measure,
        "step": int(step),
        "rows": rows,
        "nonfinite_weights": int(nonfinite_weights),
    }
    atomic_write_json(path, {**payload, "seconds": seconds, "sha256": _checksum(payload)})


def read_result(
    path: Path, measure: str | None = None, step: int | None = None
) -> dict[str, Any] | None:
    """The checked payload of ``path`` (``rows``, ``nonfinite_weights``, ...), or ``None``.

    A missing file is ``None`` without a warning; an unreadable, incomplete or edited one
    is ``None`` with a :class:`CacheFileWarning` naming it. ``measure`` and ``step``, when
    given, must match what the file records (a file copied to the wrong name is bad too).
    """
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004 (caught below, as a bad file)
        saved = payload.get("sha256")
        if saved is None:
            raise ValueError("no checksum (written by an older devrl)")
        if saved != _checksum(payload):
            raise ValueError("checksum mismatch: the file was edited or damaged")
        if measure is not None and payload["measure"] != measure:
            raise ValueError(f"it holds measure {payload['measure']!r}, not {measure!r}")
        if step is not None and payload["step"] != int(step):
            raise ValueError(f"it holds step {payload['step']}, not {step}")
        if not isinstance(payload["rows"], list):
            raise TypeError("its rows are not a list")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        warnings.warn(
            f"track cache file {path} is unusable ({err}); recomputing it",
            CacheFileWarning,
            stacklevel=3,
        )
        return None
    return payload


def can_write(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (made if missing); tried, not guessed.

    ``os.access`` is not enough: it says yes to root on a read-only mount.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe.", suffix=".tmp")
    except OSError as err:
        if err.errno in _UNWRITABLE:
            return False
        raise
    os.close(fd)
    os.unlink(probe)
    return True


def default_cache_dir(run_path: Path) -> Path:
    """Where a run that cannot be written is cached: ``$DEVRL_CACHE_DIR`` or the user cache.

    One folder per run, named for the run and a hash of its absolute path, so two runs
    with the same name do not share results.
    """
    root = os.environ.get("DEVRL_CACHE_DIR")
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "devrl"
    digest = hashlib.sha1(str(run_path.resolve()).encode()).hexdigest()[:12]
    return Path(root) / "tracks" / f"{run_path.name}-{digest}"


def resolve_cache_dir(run_path: Path, tracks_dir: Path, cache_dir) -> tuple[Path, list[Path]]:
    """``(folder to write, folders to read)`` for a run's track cache.

    An explicit ``cache_dir`` is used alone. Otherwise the run's own ``tracks/`` folder
    when it can be written, else :func:`default_cache_dir` (with a warning naming it),
    still reading results already cached inside the run.
    """
    if cache_dir is not None:
        if isinstance(cache_dir, bool) or not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                f"cache_dir must be a path (str or os.PathLike), got {type(cache_dir).__name__}."
            )
        folder = Path(cache_dir)
        if str(cache_dir) == "" or (folder.exists() and not folder.is_dir()):
            raise ValueError(f"cache_dir must be a directory path, got {str(cache_dir)!r}.")
        if not can_write(folder):
            raise UnwritableCacheError(
                f"cache_dir {folder} cannot be written; pass another folder."
            )
        return folder, [folder]
    if can_write(tracks_dir):
        return tracks_dir, [tracks_dir]
    folder = default_cache_dir(run_path)
    warnings.warn(
        f"run {run_path} cannot be written; caching its tracks in {folder} "
        "(pass cache_dir= or --cache-dir to choose)",
        stacklevel=3,
    )
    if not can_write(folder):
        raise UnwritableCacheError(
            f"run {run_path} cannot be written and neither can {folder}; pass cache_dir=."
        )
    return folder, [folder, tracks_dir]
