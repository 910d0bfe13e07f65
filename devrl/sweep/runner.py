"""Run a sweep: expand the spec, skip finished trials, run the rest on a backend, write results.

Resumable: a trial whose status file says it finished with the same fingerprint
(config, measures, measurement seed) is skipped; any other trial runs, and its run
directory resumes from its last checkpoint, so a sweep killed at any point continues
where it stopped. Deterministic: a trial is a seeded run in a one-thread process, so
its checkpoints are the same bits whichever backend or worker ran it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from devrl._io import atomic_write_json
from devrl._progress import progress
from devrl.checkpoints import checkpoint_steps
from devrl.sweep.backends import make_backend
from devrl.sweep.results import (
    collect,
    log_path,
    read_status,
    run_dir,
    write_status,
    write_tables,
)
from devrl.sweep.spec import SweepSpec, load_spec
from devrl.sweep.trial import TrialFn, TrialTask, train_trial


@dataclass
class SweepResult:
    """What a sweep left: its directory, the per-trial table and the tidy results frame."""

    out: Path
    trials: pd.DataFrame
    results: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    """Trials ``finished``, ``failed`` and ``skipped`` (finished before this call)."""

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"SweepResult({str(self.out)!r}, {len(self.trials)} trials: {counts})"


def _steps_done(path: Path) -> int:
    """Environment steps a run directory has reached: its newest checkpoint, or the step of
    the last line of its ``metrics.csv`` (written every update) when that is further."""
    steps = checkpoint_steps(path / "checkpoints")
    done = steps[-1] if steps else 0
    try:
        with open(path / "metrics.csv", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            last = f.read().splitlines()[-1].decode()
        done = max(done, int(float(last.split(",")[1])))
    except (OSError, IndexError, ValueError):
        pass  # no metrics yet, or a header only, or a line being written
    return done


class _StepProgress:
    """Progress over a sweep in environment steps, so it moves while trials train.

    Counting whole trials would leave a log silent for the length of a trial (minutes to
    hours); steps let :func:`devrl._progress.progress` report a rate and the time left.
    A daemon thread reads how far every unfinished trial is every few seconds (the
    newest checkpoint or the last metrics line; no loading); a finished or failed trial counts whole.
    """

    def __init__(
        self,
        out: Path,
        budgets: dict[str, int],
        done: set[str],
        desc: str,
        enabled: bool | None,
        poll: float = 5.0,
    ) -> None:
        self.out, self.budgets, self.poll = out, budgets, poll
        self.counted = {name: (budgets[name] if name in done else 0) for name in budgets}
        self.bar = progress(
            desc=desc,
            total=sum(budgets.values()),
            initial=sum(self.counted.values()),
            unit="step",
            enabled=enabled,
        )
        self._closed = set(done)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _advance(self, name: str, steps: int) -> None:
        with self._lock:
            delta = min(steps, self.budgets[name]) - self.counted[name]
            if delta > 0:
                self.counted[name] += delta
                self.bar.update(delta)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            for name in self.budgets:
                if name not in self._closed:
                    self._advance(name, _steps_done(run_dir(self.out, name)))

    def trial_done(self, name: str, counts: dict[str, int]) -> None:
        """A trial ended (finished or failed): count its whole budget, show the counts."""
        self._closed.add(name)
        self._advance(name, self.budgets[name])
        with self._lock:
            self.bar.set_postfix(
                finished=counts["finished"] + counts["skipped"],
                left=len(self.budgets) - len(self._closed),
                failed=counts["failed"],
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.bar.close()


def run_sweep(
    spec: SweepSpec | dict[str, Any] | str | os.PathLike,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: str | os.PathLike | None = None,
    retries: int = 1,
    trial_fn: TrialFn = train_trial,
    progress: bool | None = None,
) -> SweepResult:
    """Run every trial of ``spec`` that has not finished, then write the sweep's tables.

    Args:
        spec: A :class:`SweepSpec`, a spec dict, or the path of a JSON/YAML spec file.
        backend: ``"local"`` (process pool) or ``"ray"``.
        workers: Processes (local) or CPUs of a local Ray instance; default all cores.
        address: Ray cluster to join (``"auto"``, ``"ray://host:10001"``); ray only.
        out: Sweep directory (default: the spec's ``out``).
        retries: Times a trial whose worker died is retried (it resumes from its last
            checkpoint). A trial that raises is not retried: its error is recorded.
        trial_fn: What a worker does with a :class:`TrialTask` (default: train the run,
            then track the measures). Must be a module-level function (it is pickled).
        progress: Progress in environment steps over all trials (``False``: silent;
            None: a bar on a terminal, a line every 30 s elsewhere).

    Returns:
        The :class:`SweepResult`; ``out/trials.csv`` and ``out/results.csv`` hold the same.
    """
    if isinstance(spec, (str, os.PathLike)):
        spec = load_spec(spec)
    elif not isinstance(spec, SweepSpec):
        spec = SweepSpec.from_dict(spec)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    runner = make_backend(backend, workers=workers, address=address)
    out = Path(out) if out is not None else Path(spec.out)
    trials = spec.trials()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "spec.json", _spec_record(spec))

    fingerprints = {t.name: t.fingerprint(spec.measures, spec.measure_seed) for t in trials}
    tasks = []
    for trial in trials:
        status = read_status(out, trial.name)
        fingerprint = fingerprints[trial.name]
        if status and status["status"] == "finished" and status.get("fingerprint") == fingerprint:
            continue
        attempts = out / "trials" / f"{trial.name}.attempts"
        attempts.unlink(missing_ok=True)
        tasks.append(
            TrialTask(
                name=trial.name,
                config=trial.config,
                run_dir=str(run_dir(out, trial.name).resolve()),
                log=str(log_path(out, trial.name).resolve()),
                measures=spec.measures,
                measure_seed=spec.measure_seed,
                attempts_file=str(attempts.resolve()),
            )
        )
    counts = {"finished": 0, "failed": 0, "skipped": len(trials) - len(tasks)}
    pending = {task.name for task in tasks}
    budgets = {t.name: int(t.config["total_timesteps"]) for t in trials}
    done = {name for name in budgets if name not in pending}
    bar = _StepProgress(out, budgets, done, f"sweep {spec.name}", progress)
    try:
        for outcome in runner.run(trial_fn, tasks, retries=retries):
            write_status(out, outcome, fingerprints[outcome.name], runner.name)
            counts[outcome.status] += 1
            bar.trial_done(outcome.name, counts)
    finally:
        bar.close()
    table, results = collect(
        trials, out, spec.measure_objects(), spec.measure_seed, metrics=spec.metrics
    )
    write_tables(out, table, results)
    return SweepResult(out, table, results, counts)


def _spec_record(spec: SweepSpec) -> dict[str, Any]:
    """The expanded spec as JSON, kept in the sweep directory for the record."""
    return {
        "name": spec.name,
        "base": spec.base,
        "grid": spec.grid,
        "random": spec.random,
        "samples": spec.samples,
        "sample_seed": spec.sample_seed,
        "seeds": spec.seeds,
        "measures": spec.measures,
        "measure_seed": spec.measure_seed,
        "metrics": spec.metrics,
    }


__all__ = ["SweepResult", "run_sweep"]
