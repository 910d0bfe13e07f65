"""A sweep's results on disk: one status file per trial, one tidy table for the whole sweep.

Layout of a sweep directory::

    out/
      runs/<trial>/        each trial's ordinary run directory (config, checkpoints, tracks)
      trials/<trial>.json  how the trial last ended: status, error, attempts, seconds, host
      logs/<trial>.log     the trial's output (progress bars, tracebacks), every attempt
      trials.csv           one row per trial: status, error, swept fields, env variables
      results.csv          the tidy frame: one row per (trial, step, measure), the trial's
                           columns repeated; a trial with no measurements is one row

The tidy frame is the pipeline's (docs/architecture.md: ``run, seed, step, measure,
value, stderr`` plus the environment variables), with the trial's ``status``, ``error``
and swept fields as further columns, so ``devrl.forms.effects`` reads it directly. Every file is written
atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from devrl._io import atomic_write_json, atomic_write_text
from devrl.runs import ENV_VARIABLES
from devrl.sweep.spec import Trial
from devrl.sweep.trial import TrialOutcome

STATUSES = ("pending", "finished", "failed")
MEASURE_COLUMNS = ("step", "measure", "value", "stderr")


def run_dir(out: str | os.PathLike, name: str) -> Path:
    """The run directory of trial ``name``."""
    return Path(out) / "runs" / name


def status_path(out: str | os.PathLike, name: str) -> Path:
    return Path(out) / "trials" / f"{name}.json"


def log_path(out: str | os.PathLike, name: str) -> Path:
    return Path(out) / "logs" / f"{name}.log"


def read_status(out: str | os.PathLike, name: str) -> dict[str, Any] | None:
    """The last recorded outcome of trial ``name``, or None if it never ended."""
    path = status_path(out, name)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:  # cannot happen with atomic writes; treat as never ended
        return None


def write_status(
    out: str | os.PathLike, outcome: TrialOutcome, fingerprint: str, backend: str
) -> None:
    """Record how a trial ended (atomically)."""
    atomic_write_json(
        status_path(out, outcome.name),
        {
            "name": outcome.name,
            "status": outcome.status,
            "error": outcome.error,
            "attempts": outcome.attempts,
            "seconds": None if math.isnan(outcome.seconds) else round(outcome.seconds, 3),
            "host": outcome.host,
            "backend": backend,
            "fingerprint": fingerprint,
            "info": outcome.info,
        },
    )


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def trial_columns(trial: Trial, status: Mapping[str, Any] | None) -> dict[str, Any]:
    """One trial's columns: run, status, error, attempts, seconds, swept fields, env variables."""
    status = status or {"status": "pending"}
    cols: dict[str, Any] = {
        "run": trial.name,
        "status": status["status"],
        "error": status.get("error"),
        "attempts": status.get("attempts"),
        "seconds": status.get("seconds"),
    }
    cols.update({k: _cell(v) for k, v in trial.swept.items()})
    for key in ENV_VARIABLES:
        cols.setdefault(key, _cell(trial.config.get(key)))
    return cols


def collect(
    trials: Sequence[Trial],
    out: str | os.PathLike,
    measures: Sequence[Any] = (),
    measure_seed: int = 12345,
    metrics: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(trials, results)``: one row per trial, and the sweep's tidy frame.

    Measurements are read from each finished trial's track cache (computed by the
    trial itself; a missing one is computed here). ``metrics`` names training metrics
    (columns of the runs' ``metrics.csv``, e.g. ``charts/success_rate``) to add as
    rows with that measure name, one per PPO update.
    """
    from devrl.runs import Run
    from devrl.track import track

    rows, frames = [], []
    for trial in trials:
        status = read_status(out, trial.name)
        cols = trial_columns(trial, status)
        rows.append(cols)
        frame = None
        if (measures or metrics) and cols["status"] == "finished":
            run = Run.load(run_dir(out, trial.name))
            parts = []
            if measures:
                parts.append(track(run, list(measures), measure_seed=measure_seed, progress=False))
            if metrics:
                tidy = run.tidy_metrics()
                parts.append(tidy[tidy["measure"].isin(metrics)])
            frame = pd.concat(parts, ignore_index=True)
            frame = frame.drop(columns=[c for c in frame.columns if c in cols])
        if frame is None or frame.empty:
            frame = pd.DataFrame([dict.fromkeys(MEASURE_COLUMNS)])
        for i, (key, value) in enumerate(cols.items()):
            frame.insert(i, key, [value] * len(frame))
        frames.append(frame)
    table = pd.DataFrame(rows)
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table, results


def write_tables(out: str | os.PathLike, table: pd.DataFrame, results: pd.DataFrame) -> None:
    """Write ``trials.csv`` and ``results.csv`` atomically."""
    atomic_write_text(Path(out) / "trials.csv", table.to_csv(index=False))
    atomic_write_text(Path(out) / "results.csv", results.to_csv(index=False))


__all__ = [
    "STATUSES",
    "collect",
    "log_path",
    "read_status",
    "run_dir",
    "status_path",
    "trial_columns",
    "write_status",
    "write_tables",
]
