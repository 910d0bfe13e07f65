"""An exclusive, advisory lock on a directory, held while one process writes into it.

Why: two trainers (or a trainer and a tracker) started on one run directory would
interleave their config, checkpoints and metrics without any error. Whoever writes
into a run holds ``<dir>/.lock`` with ``fcntl.flock``; a second writer fails at once
with an error naming the holder's pid. The kernel drops the lock when the holder
exits, however it exits (kill -9 included), so a stale lock file never blocks anyone.

The lock is re-entrant within one process (a tracker called from a trainer's
``on_checkpoint`` shares the trainer's lock). A directory this process cannot write
(a read-only run) is not locked: nothing can be written into it through this process
anyway, and readers never lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from devrl._io import remove_stale_temps

LOCK_NAME = ".lock"

_held: dict[tuple[int, Path], int] = {}  # (pid, directory) -> nesting depth; a forked
# child inherits the dict but not the lock, hence the pid


class DirectoryLockedError(ValueError):
    """Another process holds the lock on a directory this one wants to write."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "another process (its pid is not recorded)"


def _open(lock_file: Path) -> int | None:
    """A descriptor on the lock file, or None where the directory is read-only to us."""
    try:
        return os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:  # an existing lock file in a read-only run can still be locked through O_RDONLY
        return os.open(lock_file, os.O_RDONLY)
    except OSError:
        return None


@contextlib.contextmanager
def lock_dir(path: str | os.PathLike, *, purpose: str = "write") -> Iterator[Path]:
    """Hold the exclusive lock on directory ``path`` for the duration of the ``with``.

    On first acquisition in this process, temporary files left by interrupted atomic
    writes under ``path`` are deleted (no one else can be writing them).

    Args:
        path: An existing directory.
        purpose: What this process is about to do, for the error message ("train", ...).

    Yields:
        The directory.

    Raises:
        DirectoryLockedError: if another process holds the lock; the message names its pid.
        NotADirectoryError: if ``path`` is not a directory.
    """
    path = Path(path).resolve()
    if not path.is_dir():
        raise NotADirectoryError(f"cannot lock {path}: not a directory")
    key = (os.getpid(), path)
    if key in _held:
        _held[key] += 1
        try:
            yield path
        finally:
            _held[key] -= 1
        return
    fd = _open(path / LOCK_NAME)
    if fd is None:
        yield path
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DirectoryLockedError(
                f"cannot {purpose} {path}: {_holder(fd)} is writing it "
                f"(lock file {path / LOCK_NAME}); wait for it to finish or stop it"
            ) from None
        with contextlib.suppress(OSError):  # read-only descriptor: the pid stays unknown
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        remove_stale_temps(path)
        _held[key] = 1
        try:
            yield path
        finally:
            del _held[key]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
