"""One trial, as a worker runs it: train a run directory, then track its measures.

:func:`execute` is what every backend sends to a worker. It wraps a trial function
(default :func:`train_trial`) so that an exception becomes a recorded failure instead
of stopping the sweep, and sends the trial's output (progress bars, warnings) to its
log file instead of the sweep's terminal. A trial is an ordinary run directory
trained by :func:`devrl.agents.train` with ``resume=True``: run again after a crash,
it continues from its last checkpoint, bit-identically.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial (plain data: it travels to other processes/hosts).

    Attributes:
        name: Trial name (its run directory's name).
        config: Full PPOConfig dict.
        run_dir: The trial's run directory.
        log: File the trial's output is appended to.
        measures: Measures to track, as ``{"name": ..., **params}`` dicts.
        measure_seed: Seed of the measurements.
        attempts_file: One line is appended per attempt (counts retries across processes).
    """

    name: str
    config: dict[str, Any]
    run_dir: str
    log: str
    measures: list[dict[str, Any]] = field(default_factory=list)
    measure_seed: int = 12345
    attempts_file: str | None = None


@dataclass
class TrialOutcome:
    """How a trial ended: ``status`` is ``"finished"`` or ``"failed"`` (with ``error``)."""

    name: str
    status: str
    error: str | None = None
    seconds: float = float("nan")
    attempts: int = 1
    host: str = ""
    info: dict[str, Any] = field(default_factory=dict)


TrialFn = Callable[[TrialTask], Any]
"""A trial function: does the work of one trial; its (JSON-ready) return value is kept."""


def train_trial(
    task: TrialTask, on_checkpoint: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Train the trial's run (resuming it if it exists), then track its measures (cached).

    Returns:
        ``{"checkpoints", "final_step", "train_cpu_seconds", "track_cpu_seconds"}``: the CPU
        seconds of this process spent training and tracking in this attempt
        (what a budget is planned with; wall time depends on the machine's load).
    """
    import torch

    from devrl.agents import PPOConfig, train
    from devrl.measures import get_measure
    from devrl.track import track

    torch.set_num_threads(1)
    start = time.process_time()
    run = train(
        PPOConfig.from_dict(task.config), task.run_dir, resume=True, on_checkpoint=on_checkpoint
    )
    trained = time.process_time()
    if task.measures:
        measures = [
            get_measure(m["name"], **{k: v for k, v in m.items() if k != "name"})
            for m in task.measures
        ]
        track(run, measures, measure_seed=task.measure_seed, progress=False)
    return {
        "checkpoints": len(run.steps),
        "final_step": run.steps[-1],
        "train_cpu_seconds": round(trained - start, 3),
        "track_cpu_seconds": round(time.process_time() - trained, 3),
    }


def count_attempts(task: TrialTask) -> int:
    """How many attempts have started for ``task`` (lines in its attempts file)."""
    if task.attempts_file is None or not Path(task.attempts_file).is_file():
        return 0
    return len(Path(task.attempts_file).read_text().splitlines())


def execute(fn: TrialFn, task: TrialTask) -> TrialOutcome:
    """Run ``fn(task)`` in this process; an exception becomes a failed outcome.

    Output goes to ``task.log`` (appended, with the traceback of a failure). A worker
    killed mid-trial returns nothing: the backend sees the dead worker and retries.
    """
    host = socket.gethostname()
    if task.attempts_file is not None:
        Path(task.attempts_file).parent.mkdir(parents=True, exist_ok=True)
        with open(task.attempts_file, "a") as f:  # one short line: appends are atomic
            f.write(f"{time.time():.3f} {host} {os.getpid()}\n")
    attempts = max(1, count_attempts(task))
    Path(task.log).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(task.log, "a", buffering=1) as log:
        log.write(f"=== {task.name}: attempt {attempts} on {host} pid {os.getpid()}\n")
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                info = fn(task)
        except Exception as exc:  # noqa: BLE001 -- recorded, so the sweep goes on
            traceback.print_exc(file=log)
            return TrialOutcome(
                task.name,
                "failed",
                error=f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - start,
                attempts=attempts,
                host=host,
            )
        seconds = time.perf_counter() - start
        log.write(f"=== {task.name}: finished in {seconds:.1f} s\n")
    return TrialOutcome(
        task.name,
        "finished",
        seconds=seconds,
        attempts=attempts,
        host=host,
        info=info if isinstance(info, dict) else {},
    )


__all__ = ["TrialFn", "TrialOutcome", "TrialTask", "count_attempts", "execute", "train_trial"]
