"""Measures over checkpoints: one tidy DataFrame per run, cached in the run directory.

:func:`track` evaluates measures (:mod:`devrl.measures`: functions ``(policy, context)
-> value(s)``, the LLC among them) at each checkpoint of a run of any model kind and
returns the tidy frame of docs/architecture.md: columns ``run, seed, step, measure, value,
stderr`` plus the run's environment variables.

Caching: each (measure, step) result is one small JSON file,
``run/tracks/<measure>-<hash>/step_XXXXXXXX.json``, written atomically as soon as
it is computed. The hash covers the measure's parameters and the measurement
seed, so changing a hyperparameter never returns a stale value. Re-running
computes only the missing files, and a killed tracking job loses at most the
measurement in progress. The measures of one checkpoint share one context, so
evaluation episodes and state buffers are computed once for all of them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from devrl._io import atomic_write_json
from devrl._progress import progress as _progress
from devrl.measures import DEFAULT_MEASURE_SEED, Context, Measure, MeasureFn, as_measure
from devrl.measures.base import jsonable
from devrl.runs import Run

COLUMNS = ("run", "seed", "step", "measure", "value", "stderr")


def _step_file(folder: Path, step: int) -> Path:
    return folder / f"step_{int(step):08d}.json"


def track(
    run: Run | str | os.PathLike,
    measures: str | Measure | Sequence[str | Measure | MeasureFn],
    steps: Iterable[int] | None = None,
    *,
    measure_seed: int = DEFAULT_MEASURE_SEED,
    recompute: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Evaluate ``measures`` at each checkpoint of ``run`` (cached) and return the tidy frame.

    Args:
        run: A :class:`~devrl.runs.Run` or its directory.
        measures: Registered names (see :data:`devrl.measures.MEASURES`, e.g. ``"llc-action"``,
            ``"success"``), :class:`Measure` objects (``get_measure("llc-value",
            draws=100)``) or plain callables ``(policy, context) -> value``.
        steps: Checkpoint steps to evaluate (default: all).
        measure_seed: Seeds the measurements; part of the cache key.
        recompute: Ignore and overwrite cached results.
        progress: Progress over checkpoints (:func:`devrl._progress.progress`: a bar on a
            terminal, a line every 30 s elsewhere); False silences it.

    Returns:
        Columns ``run, seed, step, measure, value, stderr`` plus the run's env
        variables, one row per (step, measure), sorted by measure then step.
    """
    run = run if isinstance(run, Run) else Run.load(run)
    if isinstance(measures, (str, Measure)) or callable(measures):
        measures = [measures]
    measures = [as_measure(m) for m in measures]
    if not measures:
        raise ValueError("track needs at least one measure, e.g. track(run, ['success']).")
    names = [m.name for m in measures]
    if len(set(names)) != len(names):
        raise ValueError(f"measure names must be distinct; got {names}.")
    available = run.steps
    if not available:
        raise ValueError(f"run {run.path} has no checkpoints to track.")
    steps = available if steps is None else sorted({int(s) for s in steps})
    missing = sorted(set(steps) - set(available))
    if missing:
        raise ValueError(
            f"run {run.path} has no checkpoint at steps {missing}; "
            f"it has {len(available)}: {available[0]}..{available[-1]}."
        )

    folders = {}
    for m in measures:
        folder = run.tracks_dir / m.key(measure_seed)
        folders[m.name] = folder
        if not (folder / "params.json").is_file():
            atomic_write_json(
                folder / "params.json",
                {
                    "measure": m.name,
                    "help": m.help,
                    "params": jsonable(dict(m.params)),
                    "measure_seed": measure_seed,
                },
            )

    records = []
    bar = _progress(steps, f"track {run.path.name}", unit="ckpt", enabled=progress)
    for step in bar:
        todo = [m for m in measures if recompute or not _step_file(folders[m.name], step).is_file()]
        if todo:
            policy = run.policy(step)
            context = Context(run, int(step), int(measure_seed))
            for m in todo:
                bar.set_postfix_str(m.name)
                start = time.perf_counter()
                rows = m.rows(m(policy, context))
                atomic_write_json(
                    _step_file(folders[m.name], step),
                    {
                        "measure": m.name,
                        "step": int(step),
                        "rows": rows,
                        "seconds": time.perf_counter() - start,
                    },
                )
        for m in measures:
            payload = json.loads(_step_file(folders[m.name], step).read_text())
            records += [{"step": int(step), **row} for row in payload["rows"]]
    return _tidy(run, records)


def _tidy(run: Run, records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = (
        pd.DataFrame(records)
        if records
        else pd.DataFrame(columns=["step", "measure", "value", "stderr"])
    )
    extra = [c for c in frame.columns if c not in COLUMNS]
    frame = frame.assign(run=run.path.name, seed=run.config.get("seed"))[[*COLUMNS, *extra]]
    for key, value in run.env_variables.items():
        frame[key] = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
    frame = frame.sort_values(["measure", "step"], kind="stable").reset_index(drop=True)
    return frame


def cached(run: Run | str | os.PathLike) -> pd.DataFrame:
    """Every cached result of ``run`` (all measures and parameter sets), as a tidy frame.

    A column ``key`` names the cache folder, to tell apart one measure tracked with
    different parameters.
    """
    run = run if isinstance(run, Run) else Run.load(run)
    records = []
    if run.tracks_dir.is_dir():
        for folder in sorted(p for p in run.tracks_dir.iterdir() if p.is_dir()):
            for file in sorted(folder.glob("step_*.json")):
                payload = json.loads(file.read_text())
                records += [
                    {"step": payload["step"], **row, "key": folder.name} for row in payload["rows"]
                ]
    return _tidy(run, records)


__all__ = ["COLUMNS", "cached", "track"]
