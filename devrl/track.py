"""Measures over checkpoints: one tidy DataFrame per run, cached in the run directory.

A *measure* is a function ``(policy, context) -> value(s)``; the LLC on any rollout
dataset, return, success, regret and entropy are all measures, so one tracker
serves them all. :func:`track` evaluates each requested measure at each checkpoint
and returns the tidy frame of DESIGN.md: columns ``run, seed, step, measure, value,
stderr`` plus the run's environment variables.

Caching: each (measure, step) result is one small JSON file,
``run/tracks/<measure>-<hash>/step_XXXXXXXX.json``, written atomically as soon as
it is computed. The hash covers the measure's parameters and the measurement
seed, so changing a hyperparameter never returns a stale value. Re-running
computes only the missing files, and a killed tracking job loses at most the
measurement in progress.

A measure returns a float, a ``(value, stderr)`` pair, or a mapping of such
values; a mapping's key ``""`` is the measure itself and any other key ``k``
becomes the row ``"<measure>/k"`` (e.g. ``llc-action/rhat``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn
from tqdm.auto import tqdm

from devrl._io import atomic_write_json
from devrl.runs import Run

COLUMNS = ("run", "seed", "step", "measure", "value", "stderr")
DEFAULT_MEASURE_SEED = 12345

MeasureFn = Callable[..., Any]
"""``fn(policy, context, **params) -> float | (value, stderr) | Mapping[str, ...]``."""


@dataclass
class Context:
    """What a measure may know besides the policy: the run, the step, the environment.

    Attributes:
        run: The run being tracked.
        step: The checkpoint's env step.
        seed: The run's training seed.
        env_kwargs: ``MazeVecEnv`` arguments of the run (size, corner, reward spec, max_steps).
        gamma: The run's discount (used for regret and Monte-Carlo returns).
        measure_seed: Seeds evaluation levels, rollouts and samplers; the same at every
            step, so checkpoints are compared on common random numbers.
        memo: Results shared by the measures of one step (e.g. evaluation episodes).
    """

    run: Run
    step: int
    seed: int
    env_kwargs: dict[str, Any]
    gamma: float
    measure_seed: int = DEFAULT_MEASURE_SEED
    memo: dict[Any, Any] = field(default_factory=dict)

    def policy_at(self, step: int | str) -> nn.Module:
        """Another checkpoint of the run: an env step, ``"final"`` or ``"initial"``."""
        steps = self.run.steps
        if step == "final":
            step = steps[-1]
        elif step == "initial":
            step = steps[0]
        key = ("policy", int(step))
        if key not in self.memo:
            self.memo[key] = self.run.policy(int(step))
        return self.memo[key]

    def episodes(self, policy: nn.Module, episodes: int, greedy: bool = False):
        """``(rollout, scores)`` of ``episodes`` evaluation episodes, shared across measures.

        ``scores`` is :func:`devrl.rollouts.episode_scores`' per-episode table (return,
        reached_cheese, reached_corner, regret, length, ...).
        """
        from devrl.envs import MazeVecEnv
        from devrl.rollouts import collect, episode_scores

        key = ("episodes", int(episodes), bool(greedy), id(policy))
        if key not in self.memo:
            env = MazeVecEnv(min(int(episodes), 64), seed=self.measure_seed, **self.env_kwargs)
            try:
                roll = collect(
                    policy, env, episodes=int(episodes), seed=self.measure_seed, greedy=greedy
                )
            finally:
                env.close()
            self.memo[key] = (roll, episode_scores(roll, reward=env.reward, gamma=self.gamma))
        return self.memo[key]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Measure:
    """A named measure with its parameters; call it as ``measure(policy, context)``.

    Attributes:
        name: Row label in the tidy frame.
        fn: ``fn(policy, context, **params)``.
        params: Keyword arguments for ``fn`` (the documented defaults, overridden).
        help: One line on what it measures.
    """

    name: str
    fn: MeasureFn
    params: Mapping[str, Any] = field(default_factory=dict)
    help: str = ""

    def __call__(self, policy: nn.Module, context: Context) -> Any:
        return self.fn(policy, context, **self.params)

    def with_params(self, **changes: Any) -> Measure:
        """A copy with some parameters changed; unknown names raise ``ValueError``."""
        unknown = sorted(set(changes) - set(self.params))
        if unknown:
            raise ValueError(
                f"measure {self.name!r} has no parameter(s) {unknown}; "
                f"its parameters are {sorted(self.params)}."
            )
        return replace(self, params={**self.params, **changes})

    def key(self, measure_seed: int) -> str:
        """Cache folder name: the name plus a hash of the parameters and the seed."""
        blob = json.dumps(
            {"params": _jsonable(dict(self.params)), "seed": int(measure_seed)},
            sort_keys=True,
            default=str,
        )
        return f"{self.name}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


MEASURES: dict[str, Measure] = {}
"""The registry of named measures (the standard ones live in :mod:`devrl.track_measures`)."""


def register_measure(name: str, fn: MeasureFn, help: str = "", **defaults: Any) -> Measure:
    """Add a named measure with default parameters to :data:`MEASURES` and return it."""
    if not name or "/" in name:
        raise ValueError(f"measure names must be non-empty without '/'; got {name!r}.")
    MEASURES[name] = Measure(name, fn, dict(defaults), help)
    return MEASURES[name]


def get_measure(name: str, **params: Any) -> Measure:
    """The registered measure ``name`` with some parameters overridden."""
    import devrl.track_measures  # noqa: F401  (fills the registry)

    if name not in MEASURES:
        raise ValueError(
            f"unknown measure {name!r}; registered: {sorted(MEASURES)}. "
            "Register your own with devrl.track.register_measure."
        )
    return MEASURES[name].with_params(**params)


def _as_measure(m: str | Measure | MeasureFn) -> Measure:
    if isinstance(m, Measure):
        return m
    if isinstance(m, str):
        return get_measure(m)
    if callable(m):
        return Measure(getattr(m, "__name__", "measure"), lambda p, c, _f=m: _f(p, c))
    raise TypeError(
        f"a measure is a registered name, a Measure or a callable (policy, context); "
        f"got {type(m).__name__}."
    )


def _rows(name: str, result: Any) -> list[dict[str, Any]]:
    """Normalize a measure's return value to ``[{measure, value, stderr}]``."""
    items = result.items() if isinstance(result, Mapping) else [("", result)]
    rows = []
    for key, val in items:
        value, stderr = val if isinstance(val, (tuple, list)) else (val, math.nan)
        rows.append(
            {
                "measure": name if key == "" else f"{name}/{key}",
                "value": float(value),
                "stderr": float(stderr),
            }
        )
    return rows


def _step_file(folder: Path, step: int) -> Path:
    return folder / f"step_{int(step):08d}.json"


def _context_for(run: Run, step: int, measure_seed: int) -> Context:
    cfg = run.config
    env_kwargs = {k: v for k, v in run.env_variables.items() if k in cfg}
    return Context(
        run=run,
        step=int(step),
        seed=int(cfg.get("seed", 0)),
        env_kwargs=env_kwargs,
        gamma=float(cfg.get("gamma", 0.95)),
        measure_seed=int(measure_seed),
    )


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
        measures: Registered names (see :data:`MEASURES`, e.g. ``"llc-action"``,
            ``"success"``), :class:`Measure` objects (``get_measure("llc-value",
            draws=100)``) or plain callables ``(policy, context) -> value``.
        steps: Checkpoint steps to evaluate (default: all).
        measure_seed: Seeds the measurements; part of the cache key.
        recompute: Ignore and overwrite cached results.
        progress: tqdm bar over checkpoints (None: only on a terminal).

    Returns:
        Columns ``run, seed, step, measure, value, stderr`` plus the run's env
        variables, one row per (step, measure), sorted by measure then step.
    """
    run = run if isinstance(run, Run) else Run.load(run)
    if isinstance(measures, (str, Measure)) or callable(measures):
        measures = [measures]
    measures = [_as_measure(m) for m in measures]
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
                    "params": _jsonable(dict(m.params)),
                    "measure_seed": measure_seed,
                },
            )

    records = []
    bar = tqdm(
        steps,
        desc=f"track {run.path.name}",
        unit="ckpt",
        disable=None if progress is None else not progress,
    )
    for step in bar:
        todo = [m for m in measures if recompute or not _step_file(folders[m.name], step).is_file()]
        if todo:
            policy = run.policy(step)
            context = _context_for(run, step, measure_seed)
            for m in todo:
                bar.set_postfix_str(m.name)
                start = time.perf_counter()
                rows = _rows(m.name, m(policy, context))
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


__all__ = [
    "COLUMNS",
    "DEFAULT_MEASURE_SEED",
    "MEASURES",
    "Context",
    "Measure",
    "cached",
    "get_measure",
    "register_measure",
    "track",
]
