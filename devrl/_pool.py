"""The local process pool every parallel part of devrl uses: spawned workers, one torch thread.

Why: devrl's networks are tiny, so one process per core with one torch thread each is
the fastest way to use a machine (docs/architecture.md). Sweep trials, a run's
checkpoints in ``devrl track`` and the paper's sections all run side by side this way. Workers are
*spawned*, never forked: a forked child inherits the parent's torch thread pool and
locks, which can deadlock, and spawn behaves the same on Linux, macOS and Windows.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """All cores this process may use (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int:
    """``workers`` as a positive int (None: :func:`default_workers`), or a ValueError."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None (all cores), got {workers!r}")
    return workers


PARENT_ENV = "DEVRL_EXIT_WITH"
"""Environment variable naming a parent pid: a process started with it (an experiment script
run by ``devrl paper``) exits when that parent dies (:func:`exit_with_inherited_parent`)."""


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)  # the parent is gone: nobody will read this worker's results


def exit_with_parent(parent: int) -> None:
    """Exit this process (at once, from a daemon thread) when ``parent`` is no longer its
    parent process, i.e. when the parent died."""
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def exit_with_inherited_parent() -> None:
    """:func:`exit_with_parent` for the pid in :data:`PARENT_ENV`, if that is this process's
    parent (so grandchildren, which inherit the variable, are left to their own parent)."""
    try:
        parent = int(os.environ.get(PARENT_ENV, ""))
    except ValueError:
        return
    if parent == os.getppid():
        exit_with_parent(parent)


def init_worker(parent: int | None = None) -> None:
    """Run in every worker before any task: one torch thread (set before torch's pool
    starts), and an exit when the ``parent`` process dies.

    Why the exit: a parent stopped with ``kill`` (not Ctrl-C, which reaches the whole
    process group) would leave its workers computing results nobody reads, holding the
    run directories' locks so that a rerun refuses to start.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    if parent is not None:
        exit_with_parent(parent)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A spawn-context pool of ``workers`` processes, each with one torch thread."""
    return ProcessPoolExecutor(
        max_workers=check_workers(workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(os.getpid(),),
    )


def imap_unordered(
    fn: Callable[[T], R], items: Sequence[T], workers: int | None = None
) -> Iterator[tuple[int, R]]:
    """Yield ``(index, fn(items[index]))`` as each finishes, over ``workers`` processes.

    ``workers == 1`` (or a single item) runs in this process, in order, with no pool:
    the serial path costs nothing extra. ``fn`` and the items must pickle (module-level
    functions, plain data). An exception in ``fn`` is raised here, after the pool stops.
    """
    workers = check_workers(workers)
    if workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    with process_pool(min(workers, len(items))) as pool:
        futures: dict[Future, int] = {pool.submit(fn, item): i for i, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` over ``workers`` spawned processes, results in input order."""
    out: list[Any] = [None] * len(items)
    for i, value in imap_unordered(fn, items, workers):
        out[i] = value
    return out


__all__ = [
    "check_workers",
    "default_workers",
    "imap_unordered",
    "init_worker",
    "parallel_map",
    "process_pool",
]
