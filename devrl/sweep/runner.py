"""Run a sweep: expand the spec, skip finished trials, run the rest on a backend, write results.

Resumable: a trial whose status file says it finished with the same fingerprint
(config, measures, measurement seed) is skipped; any other trial runs, and its run
directory resumes from its last checkpoint, so a sweep killed at any point continues
where it stopped. Deterministic: a trial is a seeded run in a one-thread process, so
its checkpoints are the same bits whichever backend or worker ran it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from devrl._io import atomic_write_json
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


def _progress_bar(total: int, initial: int, desc: str, enabled: bool | None) -> Any:
    """The progress display over trials (tqdm: its rate gives the time left)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="trial",
        disable=None if enabled is None else not enabled,
        dynamic_ncols=True,
    )


def _show(bar: Any, counts: dict[str, int], running: int) -> None:
    bar.set_postfix(
        finished=counts["finished"] + counts["skipped"], running=running, failed=counts["failed"]
    )


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
        progress: Progress bar over trials (None: only on a terminal).

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
    bar = _progress_bar(len(trials), counts["skipped"], f"sweep {spec.name}", progress)
    try:
        _show(bar, counts, 0)
        for outcome in runner.run(trial_fn, tasks, retries=retries):
            write_status(out, outcome, fingerprints[outcome.name], runner.name)
            counts[outcome.status] += 1
            bar.update(1)
            _show(bar, counts, runner.running)
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
