"""Measures over checkpoints: one tidy DataFrame per run, cached in the run directory.

:func:`track` evaluates measures (:mod:`devrl.measures`: functions ``(policy, context)
-> value(s)``, the LLC among them) at each checkpoint of a run of any model kind and
returns the tidy frame of docs/architecture.md: columns ``run, seed, step, measure, value,
stderr`` plus the run's environment variables.

Caching: each (measure, step) result is one small JSON file,
``run/tracks/<measure>-<hash>/step_XXXXXXXX.json``, written atomically as soon as
it is computed, with a checksum of its content. The hash covers the measure's
parameters and the measurement seed, so changing a hyperparameter never returns a
stale value. Re-running computes only the missing files, and a killed tracking job
loses at most the measurement in progress; a file that is unreadable or was edited
is recomputed with a warning naming it (:mod:`devrl._track_cache`). A run that
cannot be written is cached elsewhere (``cache_dir``). The measures of one
checkpoint share one context, so evaluation episodes and state buffers are computed
once for all of them.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from devrl._io import atomic_write_json
from devrl._pool import check_workers, imap_unordered
from devrl._progress import progress as _progress
from devrl._track_cache import (
    default_cache_dir,
    read_result,
    resolve_cache_dir,
    step_file,
    write_result,
)
from devrl.evaluation import NonFiniteWeightsWarning, warn_nonfinite_weights
from devrl.measures import DEFAULT_MEASURE_SEED, Context, Measure, MeasureFn, as_measure
from devrl.measures.base import jsonable
from devrl.runs import Run, writes_run

COLUMNS = ("run", "seed", "step", "measure", "value", "stderr")


def _warn_cached_nonfinite(checkpoint: Path, count: int) -> None:
    warnings.warn(
        f"checkpoint {checkpoint} had {count} NaN/infinite weight values when its cached "
        "results were measured; the training run diverged and they are meaningless",
        NonFiniteWeightsWarning,
        stacklevel=3,
    )


def _load(run: Any) -> Run:
    if isinstance(run, Run):
        return run
    if isinstance(run, bool) or not isinstance(run, (str, os.PathLike)):
        raise TypeError(f"run must be a Run or a run directory path, got {run!r}.")
    if str(run) == "":
        raise ValueError("run is an empty path; give the run directory.")
    return Run.load(run)


def _check_steps(steps) -> list[int] | None:
    if steps is None:
        return None
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
        raise TypeError(f"steps must be a list of checkpoint steps, got {steps!r}.")
    steps = list(steps)
    bad = [s for s in steps if isinstance(s, bool) or not isinstance(s, numbers.Integral)]
    if bad:
        raise TypeError(f"steps must be integers (checkpoint steps), got {bad[0]!r}.")
    return sorted({int(s) for s in steps})


@writes_run("track")  # one writer per run: a trainer or tracker elsewhere makes this fail
def track(
    run: Run | str | os.PathLike,
    measures: str | Measure | Sequence[str | Measure | MeasureFn],
    steps: Iterable[int] | None = None,
    *,
    measure_seed: int = DEFAULT_MEASURE_SEED,
    recompute: bool = False,
    progress: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = 1,
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
        cache_dir: Folder for the cached results instead of ``run/tracks`` (e.g. for a
            read-only run). None: the run's own folder, or, when the run cannot be
            written, a per-run folder under ``$DEVRL_CACHE_DIR`` (default
            ``~/.cache/devrl``) with a warning.
        workers: Checkpoints measured side by side in this many spawned processes (one
            torch thread each; None: all cores), working for this call under its lock.
            The result is the serial one: each measurement depends only on its
            checkpoint, measure and seed. Workers rebuild the measures by name, so they
            must be registered ones.

    Returns:
        Columns ``run, seed, step, measure, value, stderr`` plus the run's env
        variables, one row per (step, measure), sorted by measure then step.

    Warns:
        CacheFileWarning: naming each cached file that was unreadable or edited (it is
            recomputed); RuntimeWarning naming a checkpoint with NaN or infinite weights.
    """
    if isinstance(measure_seed, bool) or not isinstance(measure_seed, numbers.Integral):
        raise TypeError(f"measure_seed must be an integer, got {measure_seed!r}.")
    for name, flag in (("recompute", recompute), ("progress", progress)):
        if not isinstance(flag, bool) and not (name == "progress" and flag is None):
            raise TypeError(f"{name} must be True or False, got {flag!r}.")
    if measure_seed < 0:
        raise ValueError(f"measure_seed must be >= 0, got {measure_seed}.")
    run = _load(run)
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
    steps = available if steps is None else _check_steps(steps)
    if not steps:
        raise ValueError("steps is empty; pass checkpoint steps or None for all of them.")
    missing = sorted(set(steps) - set(available))
    if missing:
        raise ValueError(
            f"run {run.path} has no checkpoint at steps {missing}; "
            f"it has {len(available)}: {available[0]}..{available[-1]}."
        )

    root, read_roots = resolve_cache_dir(run.path, run.tracks_dir, cache_dir)
    folders, sources = {}, {}
    for m in measures:
        folder = root / m.key(measure_seed)
        folders[m.name] = folder
        sources[m.name] = [r / m.key(measure_seed) for r in read_roots]

    if workers != 1:
        todo = [
            step
            for step in steps
            if recompute
            or any(
                all(read_result(step_file(f, step), m.name, step) is None for f in sources[m.name])
                for m in measures
            )
        ]
        _track_parallel(run, measures, todo, measure_seed, recompute, root, workers, progress)
        recompute = False  # what was to be recomputed just was

    records = []
    bar = _progress(steps, f"track {run.path.name}", unit="ckpt", enabled=progress)
    for step in bar:
        found, nonfinite = {}, 0
        for m in [] if recompute else measures:
            for folder in sources[m.name]:
                payload = read_result(step_file(folder, step), m.name, step)
                if payload is not None:
                    found[m.name] = payload["rows"]
                    nonfinite = max(nonfinite, payload.get("nonfinite_weights", 0))
                    break
        todo = [m for m in measures if m.name not in found]
        if nonfinite and not todo:  # the checkpoint is not loaded: warn from the record
            _warn_cached_nonfinite(run.checkpoint_path(step), nonfinite)
        if todo:
            policy = run.policy(step)
            nonfinite = warn_nonfinite_weights(policy, run.checkpoint_path(step))
            context = Context(run, int(step), int(measure_seed))
            for m in todo:
                bar.set_postfix_str(m.name)
                start = time.perf_counter()
                rows = m.rows(m(policy, context))
                # Written with the first result, so a measure that rejects its
                # parameters leaves no empty cache folder behind.
                if not (folders[m.name] / "params.json").is_file():
                    atomic_write_json(
                        folders[m.name] / "params.json",
                        {
                            "measure": m.name,
                            "help": m.help,
                            "params": jsonable(dict(m.params)),
                            "measure_seed": measure_seed,
                        },
                    )
                write_result(
                    step_file(folders[m.name], step),
                    m.name,
                    step,
                    rows,
                    time.perf_counter() - start,
                    nonfinite,
                )
                found[m.name] = rows
        for m in measures:
            records += [{"step": int(step), **row} for row in found[m.name]]
    return _tidy(run, records)


def _track_parallel(
    run: Run,
    measures: list[Measure],
    steps: list[int],
    measure_seed: int,
    recompute: bool,
    root: Path,
    workers: int | None,
    progress: bool | None,
) -> None:
    """Fill the cache under ``root`` for ``steps``, one checkpoint per task, over spawned
    processes (they run ``track.__wrapped__``, without the lock: the caller holds it for them)."""
    from devrl.measures import MEASURES

    def registered(m: Measure) -> str | None:
        """The registered measure ``m`` is rebuilt from: its own name, or (for a measure
        renamed with dataclasses.replace, e.g. "llc-action-uniform") one with the same
        function and parameter names, every parameter of which ``m`` sets."""
        same = [
            name for name, r in MEASURES.items() if r.fn is m.fn and set(r.params) == set(m.params)
        ]
        return m.name if m.name in same else (same[0] if same else None)

    named = [(registered(m), m.name, dict(m.params)) for m in measures]
    unregistered = [label for base, label, _ in named if base is None]
    if unregistered:
        raise ValueError(
            f"track(workers > 1) rebuilds measures from their registered functions in other "
            f"processes, but {unregistered} are not registered measures; register them "
            "(devrl.measures.register_measure) in an imported module, or use workers=1"
        )
    tasks = [(str(run.path), named, int(s), measure_seed, recompute, str(root)) for s in steps]
    desc = f"track {run.path.name} ({check_workers(workers)} workers)"
    for _ in _progress(
        imap_unordered(_track_one, tasks, workers),
        desc,
        total=len(tasks),
        unit="ckpt",
        enabled=progress,
    ):
        pass


def _track_one(task: tuple[str, list[tuple[str, str, dict]], int, int, bool, str]) -> int:
    """Worker: measure one checkpoint into the cache (see :func:`_track_parallel`)."""
    from devrl.measures import get_measure

    path, named, step, measure_seed, recompute, root = task
    measures = [
        dataclasses.replace(get_measure(registered, **params), name=label)
        for registered, label, params in named
    ]
    with warnings.catch_warnings():
        # recorded with the result, and warned by the parent when it reads it
        warnings.simplefilter("ignore", NonFiniteWeightsWarning)
        track.__wrapped__(
            path,
            measures,
            [step],
            measure_seed=measure_seed,
            recompute=recompute,
            progress=False,
            cache_dir=root,
        )
    return step


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


def cached(
    run: Run | str | os.PathLike, *, cache_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Every cached result of ``run`` (all measures and parameter sets), as a tidy frame.

    A column ``key`` names the cache folder, to tell apart one measure tracked with
    different parameters. Unreadable or edited files are left out with a warning
    naming them (``track`` recomputes them).

    Args:
        run: A :class:`~devrl.runs.Run` or its directory.
        cache_dir: The folder given to :func:`track` as ``cache_dir``. None: the run's own
            ``tracks/`` and, for a run that could not be written, its folder under
            ``$DEVRL_CACHE_DIR`` (a result in both is listed once, the run's).
    """
    run = _load(run)
    if cache_dir is None:
        roots = [run.tracks_dir, default_cache_dir(run.path)]
    else:
        roots = [Path(cache_dir)]
    records, seen = [], set()
    for root in (r for r in roots if r.is_dir()):
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            for file in sorted(folder.glob("step_*.json")):
                digits = file.stem.removeprefix("step_")
                if not digits.isdigit() or (folder.name, int(digits)) in seen:
                    continue
                payload = read_result(file, step=int(digits))
                if payload is None:
                    continue
                seen.add((folder.name, int(digits)))
                step = int(digits)
                records += [{"step": step, **r, "key": folder.name} for r in payload["rows"]]
    return _tidy(run, records)


__all__ = ["COLUMNS", "cached", "track"]
