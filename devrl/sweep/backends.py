"""Where trials run: a local process pool (default) or a Ray cluster; one interface.

A backend takes a trial function and the trial tasks and yields a
:class:`~devrl.sweep.trial.TrialOutcome` as each trial ends, in any order. Both run
:func:`~devrl.sweep.trial.execute` in a worker, so an exception in a trial is a failed
outcome on either. A worker that dies mid-trial (kill -9, out of memory) is retried
``retries`` times; the retry resumes the trial's run from its last checkpoint.

- :class:`LocalBackend`: one spawned process per core (``concurrent.futures`` with the
  spawn context), one torch thread each. Each worker slot is its own one-process pool,
  so a dead worker is pinned on the one trial it was running and only that slot is
  restarted.
- :class:`RayBackend`: Ray core tasks (``num_cpus=1``, ``max_retries=retries``, never
  ``local_mode``): ``ray.init()`` starts Ray on this machine, ``address="auto"`` or
  ``"ray://host:10001"`` joins a cluster. The sweep directory must then be on a file
  system every node sees, and devrl must be installed on every node.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from devrl._pool import check_workers, process_pool
from devrl.sweep.trial import TrialFn, TrialOutcome, TrialTask, count_attempts, execute

BACKENDS = ("local", "ray")


class LocalBackend:
    """Trials in spawned processes on this machine, ``workers`` at a time (default: all cores)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = check_workers(workers)
        self.running = 0

    def run(
        self, fn: TrialFn, tasks: Sequence[TrialTask], retries: int = 1
    ) -> Iterator[TrialOutcome]:
        """Yield each trial's outcome as it ends (see the module docstring)."""
        queue = deque((task, 0) for task in tasks)
        slots: list[ProcessPoolExecutor | None] = [None] * min(self.workers, len(tasks))
        busy: dict[Future, tuple[int, TrialTask, int]] = {}
        try:
            while queue or busy:
                taken = {slot for slot, _, _ in busy.values()}
                for i in range(len(slots)):
                    if queue and i not in taken:
                        if slots[i] is None:
                            slots[i] = process_pool(1)
                        task, used = queue.popleft()
                        busy[slots[i].submit(execute, fn, task)] = (i, task, used)
                self.running = len(busy)
                done, _ = wait(busy, return_when=FIRST_COMPLETED)
                for future in done:
                    i, task, used = busy.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        slots[i].shutdown(wait=False, cancel_futures=True)
                        slots[i] = None
                        if used < retries:
                            queue.appendleft((task, used + 1))
                            continue
                        outcome = _died(task, used + 1)
                    except Exception as exc:  # noqa: BLE001 -- the task could not reach the worker (pickling)
                        outcome = TrialOutcome(task.name, "failed", error=_one_line(exc))
                    self.running = len(busy)
                    yield outcome
        finally:
            for slot in slots:
                if slot is not None:
                    slot.shutdown(wait=False, cancel_futures=True)
            self.running = 0


class RayBackend:
    """Trials as Ray core tasks, on a local Ray instance or a cluster.

    Args:
        address: None starts Ray on this machine with ``workers`` CPUs; ``"auto"`` joins
            the cluster this machine belongs to; ``"ray://host:10001"`` a remote one.
            If Ray is already initialized in this process, that instance is used.
        workers: CPUs of a local instance (default: all cores); ignored with ``address``.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError(
                'the ray backend needs Ray: pip install "devrl[ray]" (or "ray>=2.9")'
            ) from None
        self.address = address
        self.workers = check_workers(workers)
        self.running = 0

    def run(
        self, fn: TrialFn, tasks: Sequence[TrialTask], retries: int = 1
    ) -> Iterator[TrialOutcome]:
        """Yield each trial's outcome as it ends (see the module docstring)."""
        import ray

        started = not ray.is_initialized()
        if started:
            if self.address is None:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
        remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(execute)
        refs = {remote.remote(fn, task): task for task in tasks}
        pending = list(refs)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        try:
            while pending:
                self.running = min(len(pending), cpus)
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    task = refs[ref]
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.WorkerCrashedError:
                        outcome = _died(task, retries + 1)
                    except ray.exceptions.RayError as exc:
                        outcome = TrialOutcome(task.name, "failed", error=_one_line(exc))
                    self.running = min(len(pending), cpus)
                    yield outcome
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            self.running = 0
            if started:
                ray.shutdown()


def make_backend(
    name: str = "local", *, workers: int | None = None, address: str | None = None
) -> LocalBackend | RayBackend:
    """The backend called ``name`` (``"local"`` or ``"ray"``)."""
    if name == "local":
        if address is not None:
            raise ValueError("address is for the ray backend; use backend='ray'")
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(address, workers)
    raise ValueError(f"backend must be one of {list(BACKENDS)}, got {name!r}")


def _died(task: TrialTask, attempts: int) -> TrialOutcome:
    attempts = max(attempts, count_attempts(task))
    return TrialOutcome(
        task.name,
        "failed",
        error=f"worker process died ({attempts} attempts; see {task.log})",
        attempts=attempts,
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


__all__ = ["BACKENDS", "LocalBackend", "RayBackend", "make_backend"]
