"""Fault injection for run directories: hooks on the write points, forked writers killed
with SIGKILL, and the comparison of a faulted-then-resumed run with an uninterrupted one.

Every atomic write in devrl passes three boundaries (``devrl._io.WRITE_HOOKS``): ``open``
(temporary file created, empty), ``written`` (content on disk, not yet renamed) and
``replaced`` (the file holds the new content). The tests enumerate the boundaries of an
uninterrupted job, then kill a forked copy of the job at each one, or make the write at
each one fail with ENOSPC, and resume.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from devrl import _io
from devrl.runs import Run

# 8 PPO updates on a 5x5 maze, checkpoints after updates 0, 1, 4, 8: ~0.3 s once warm
TINY = {
    "size": 5,
    "num_envs": 4,
    "num_steps": 8,
    "total_timesteps": 4 * 8 * 8,
    "num_minibatches": 2,
    "update_epochs": 1,
    "channels": 2,
    "hidden": 8,
    "checkpoints": 4,
    "seed": 5,
}

Event = tuple[str, str]  # (boundary, path relative to the job's directory)


@contextlib.contextmanager
def write_hook(hook: Callable[[str, Path], None]) -> Iterator[None]:
    """Install ``hook(event, path)`` at every atomic write's boundaries for the block."""
    _io.WRITE_HOOKS.append(hook)
    try:
        yield
    finally:
        _io.WRITE_HOOKS.remove(hook)


def record_writes(root: Path, action: Callable[[], Any]) -> list[Event]:
    """Run ``action`` and list the write boundaries it passed, paths relative to ``root``."""
    events: list[Event] = []
    with write_hook(lambda event, path: events.append((event, os.path.relpath(path, root)))):
        action()
    return events


class KillAt:
    """Hook that sends this process SIGKILL at the ``k``-th write boundary (0-based)."""

    def __init__(self, k: int):
        self.k, self.seen = k, 0

    def __call__(self, event: str, path: Path) -> None:
        if self.seen == self.k:
            os.kill(os.getpid(), signal.SIGKILL)
        self.seen += 1


class FailAt:
    """Hook that fails the ``k``-th write boundary (0-based) with ``OSError(code)``."""

    def __init__(self, k: int, code: int = errno.ENOSPC):
        self.k, self.code, self.seen = k, code, 0

    def __call__(self, event: str, path: Path) -> None:
        self.seen += 1
        if self.seen - 1 == self.k:
            raise OSError(self.code, os.strerror(self.code), str(path))


def start_child(action: Callable[[], Any], hook: Callable[[str, Path], None] | None = None) -> int:
    """Fork a process that runs ``action`` with ``hook`` installed; its pid.

    The child exits with 0 if ``action`` returned and 3 if it raised (traceback on
    stderr), never returning into pytest.
    """
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        if hook is not None:
            _io.WRITE_HOOKS.append(hook)
        action()
    except BaseException:  # noqa: BLE001 - the child reports any failure by its exit code
        traceback.print_exc()
        code = 3
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def wait_child(pid: int) -> int:
    """``-signal`` if the child was killed, else its exit code."""
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def in_child(action: Callable[[], Any], hook: Callable[[str, Path], None] | None = None) -> int:
    """Run ``action`` in a forked process with ``hook`` installed; how it ended (:func:`wait_child`)."""
    return wait_child(start_child(action, hook))


def assert_tree_equal(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of nested checkpoint payloads (tensors with ``torch.equal``)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and np.array_equal(a, b), where
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping) and set(a) == set(b), f"{where}: {set(a) ^ set(b)}"
        for key in a:
            assert_tree_equal(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_tree_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def temp_files(root: Path) -> list[Path]:
    """Temporary files of interrupted writes under ``root``."""
    return [p for p in root.rglob("*") if _io.is_temp_file(p.name)]


def without_timing(metrics: pd.DataFrame) -> pd.DataFrame:
    """Metrics without ``charts/SPS`` (wall-clock speed, the one column not reproducible)."""
    return metrics.drop(columns=["charts/SPS"])


def assert_same_run(reference: Run, run: Run) -> None:
    """Nothing lost, nothing changed: config, every checkpoint file's full payload, metrics."""
    run = Run.load(run.path)
    assert run.config == reference.config
    assert run.steps == reference.steps
    for step in reference.steps:
        assert_tree_equal(
            reference.load_checkpoint(step), run.load_checkpoint(step), f"step {step}"
        )
    pd.testing.assert_frame_equal(without_timing(reference.metrics), without_timing(run.metrics))
    assert not temp_files(run.path), temp_files(run.path)


def copy_run(run: Run, dest: Path) -> Run:
    """A copy of a finished run's directory, without its tracks (for tracking jobs)."""
    shutil.copytree(run.path, dest, ignore=shutil.ignore_patterns("tracks"))
    return Run.load(dest)
