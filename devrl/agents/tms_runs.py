"""TMS training as ordinary runs: one :class:`~devrl.runs.Run` per seed, and back.

The TMS trainers (:mod:`devrl.agents.tms_sgd`, :mod:`devrl.agents.tms_rl`) train all seeds
as one batched tensor, then write each seed as a run directory that :func:`devrl.track.track`
measures like a maze run::

    out/
      seed_000/
        config.json      the trainer's config + trainer, seed, env_id, env_kwargs, model
        checkpoints/     step_XXXXXXXX.pt: a TMSModel (kind "tms") at every snapshot step
        metrics.csv      one row per snapshot step: step + namespaced metric columns
        tracks/          measures computed later
      seed_001/ ...
      snapshots.csv.gz   W and b of every seed and snapshot step, one row each (tidy, small)

``step`` counts updates: SGD steps, or batches of ``batch`` fresh contexts for RL. The
environment is ``devrl/TMSBandit-v0`` for both: its contexts are the task; an SGD run
(``trainer: tms_sgd``) sees the targets on a fixed sample of ``n_samples`` of them
instead of rewards, and records only ``c`` as ``env_kwargs`` (the default distribution).
:func:`load_tms_runs` reads such a folder back into the batched :class:`TMSResult` the
experiments analyse (W, b, σ per seed and step; the tidy metrics). With
``weights="snapshots"`` it reads W and b from ``snapshots.csv.gz`` instead of the
checkpoints, so figures can be redrawn from the small files alone (the paper's committed
data leave ``checkpoints/`` out).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from devrl.agents.tms_model import TMSModel
from devrl.checkpoints import checkpoint_schedule
from devrl.runs import Run
from devrl.theory.tms import classify_polygon, phase_counts

__all__ = [
    "SNAPSHOTS",
    "TMS_ENV_ID",
    "TMSBatchConfig",
    "TMSResult",
    "ensure_snapshots",
    "is_tms_batch",
    "load_tms_runs",
    "read_snapshots",
    "save_tms_runs",
    "snapshot_metrics",
    "tms_run_dirs",
    "write_snapshots",
]

TMS_ENV_ID = "devrl/TMSBandit-v0"
TIDY = ["run", "seed", "step", "measure", "value", "stderr"]
#: W and b of every snapshot of a batch, next to its seed_* runs.
SNAPSHOTS = "snapshots.csv.gz"
#: trainer name in a run's config -> its config class (imported on use: no import cycle).
_CONFIGS = {
    "tms_sgd": "devrl.agents.tms_sgd:TMSSGDConfig",
    "tms_rl": "devrl.agents.tms_rl_config:TMSRLConfig",
}


class TMSBatchConfig:
    """What the SGD and RL configs share: seeds ``seed0 ..`` and the snapshot grid.

    A subclass is a dataclass with fields ``n_seeds``, ``seed0``, ``c``, ``m``, ``run``,
    ``n_log_checkpoints``, ``n_linear_checkpoints``, a ``total_steps`` property, class
    attributes ``trainer`` and ``step_unit``, and methods ``env_kwargs()`` and
    ``metric_columns(metrics)``.
    """

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed0, self.seed0 + self.n_seeds))

    @property
    def checkpoint_steps(self) -> np.ndarray:
        """Snapshot steps: the log + linear :func:`~devrl.checkpoints.checkpoint_schedule`."""
        return np.asarray(
            checkpoint_schedule(
                self.total_steps, n_log=self.n_log_checkpoints, n_linear=self.n_linear_checkpoints
            ),
            dtype=np.int64,
        )


@dataclass
class TMSResult:
    """Snapshots and tidy metrics of a batch of TMS runs (one per seed), SGD or RL."""

    config: Any  # TMSSGDConfig | TMSRLConfig
    steps: np.ndarray  # [T]
    W: np.ndarray  # [S, T, m, c]
    b: np.ndarray  # [S, T, c]
    metrics: pd.DataFrame  # run, seed, step, measure, value, stderr (+ config columns)
    seconds: float  # training time (NaN when loaded)
    sigma: np.ndarray | None = None  # [S, T] policy std (RL only)

    def phases(self) -> pd.DataFrame:
        """classify_polygon at every snapshot: columns run, seed, step, phase."""
        rows = [
            (self.config.run, seed, int(step), classify_polygon(self.W[s, t], self.b[s, t]))
            for s, seed in enumerate(self.config.seeds)
            for t, step in enumerate(self.steps)
        ]
        return pd.DataFrame(rows, columns=["run", "seed", "step", "phase"])

    def save(self, out: str | Path) -> Path:
        """Write one run per seed under ``out`` (:func:`save_tms_runs`); returns ``out``."""
        save_tms_runs(self, out)
        return Path(out)


def _tidy_frame(cfg, steps: np.ndarray, names: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """Tidy rows (seed-, then step-, then measure-major) of values [S, T, M] + config columns."""
    S, T, M = values.shape
    metrics = pd.DataFrame(
        {
            "run": [cfg.run] * (S * T * M),
            "seed": np.repeat(np.asarray(cfg.seeds, dtype=np.int64), T * M),
            "step": np.tile(np.repeat(np.asarray(steps, dtype=np.int64), M), S),
            "measure": list(names) * (S * T),
            "value": values.astype(np.float64).ravel(),
            "stderr": np.full(S * T * M, np.nan),
        }
    )
    for key, value in cfg.metric_columns(metrics).items():
        metrics[key] = value
    return metrics


def snapshot_metrics(
    cfg, steps: np.ndarray, W: np.ndarray, b: np.ndarray, series: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Tidy metrics of every snapshot [seed, t]: the given series [S, T], then the classified
    polygon (``polygon/k``, ``polygon/n_plus``; NaN for 'other'), with the config's
    :meth:`metric_columns` as columns."""
    S, T = W.shape[:2]
    poly = np.array(
        [[phase_counts(classify_polygon(W[s, t], b[s, t])) for t in range(T)] for s in range(S)]
    ).reshape(S, T, 2)
    values = np.concatenate(
        [np.stack([np.asarray(v, dtype=np.float64) for v in series.values()], -1), poly], -1
    )
    return _tidy_frame(cfg, steps, [*series, "polygon/k", "polygon/n_plus"], values)


def _run_config(cfg, seed: int) -> dict[str, Any]:
    return {
        **dataclasses.asdict(cfg),
        "trainer": cfg.trainer,
        "seed": int(seed),
        "env_id": TMS_ENV_ID,
        "env_kwargs": cfg.env_kwargs(),
        "model": {"kind": TMSModel.model_kind, "c": cfg.c, "m": cfg.m},
        "step_unit": cfg.step_unit,
    }


def tms_run_dirs(out: str | Path) -> list[Path]:
    """The per-seed run directories under ``out``, by seed."""
    return sorted(p.parent for p in Path(out).glob("seed_*/config.json"))


def is_tms_batch(out: str | Path) -> bool:
    """Whether ``out`` holds TMS runs written by :func:`save_tms_runs`."""
    return bool(tms_run_dirs(out))


def save_tms_runs(result: TMSResult, out: str | Path) -> list[Run]:
    """Write each seed of ``result`` as a run directory ``out/seed_XXX``.

    Checkpoints hold a :class:`TMSModel` at every snapshot step; ``metrics.csv`` the
    seed's metrics, one row per step. Rewriting the same config replaces the files;
    a different config in the same folder raises :class:`~devrl.runs.RunConfigMismatch`.
    """
    cfg, out = result.config, Path(out)
    tidy = result.metrics
    names = list(dict.fromkeys(tidy["measure"]))
    values = tidy["value"].to_numpy().reshape(len(cfg.seeds), len(result.steps), len(names))
    runs = []
    model = TMSModel(cfg.c, cfg.m)
    for s, seed in enumerate(cfg.seeds):
        # fields added to the config after a run was written compare equal to their defaults
        defaults = dataclasses.asdict(type(cfg)())
        run = Run.create(
            out / f"seed_{seed:03d}", _run_config(cfg, seed), resume=True, defaults=defaults
        )
        with run.lock("write"), torch.no_grad():  # one writer per run
            for t, step in enumerate(result.steps):
                model.W.copy_(torch.from_numpy(result.W[s, t]))
                model.b.copy_(torch.from_numpy(result.b[s, t]))
                run.save_checkpoint(int(step), model)
            wide = pd.DataFrame(values[s], columns=names)
            wide.insert(0, "step", np.asarray(result.steps, dtype=np.int64))
            run.write_metrics(wide)
        runs.append(run)
    write_snapshots(result, out / SNAPSHOTS)
    return runs


def _weight_columns(m: int, c: int) -> list[str]:
    return [f"W_{i}_{j}" for i in range(m) for j in range(c)] + [f"b_{j}" for j in range(c)]


def write_snapshots(result: TMSResult, path: str | Path) -> Path:
    """Write W and b of every seed and snapshot step as a tidy table, one row per snapshot.

    Columns ``run, seed, step, W_i_j ..., b_j ...``; float32 values in their shortest exact
    form, so :func:`read_snapshots` gives back the same bits. Gzip without a timestamp: the
    same weights give the same file.
    """
    cfg, path = result.config, Path(path)
    S, T, m, c = result.W.shape
    values = np.concatenate([result.W.reshape(S * T, m * c), result.b.reshape(S * T, c)], 1)
    table = pd.DataFrame(values.astype(np.float32), columns=_weight_columns(m, c))
    table.insert(0, "step", np.tile(np.asarray(result.steps, dtype=np.int64), S))
    table.insert(0, "seed", np.repeat(np.asarray(cfg.seeds, dtype=np.int64), T))
    table.insert(0, "run", cfg.run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    table.to_csv(tmp, index=False, compression={"method": "gzip", "mtime": 0})
    tmp.replace(path)
    return path


def ensure_snapshots(out: str | Path) -> Path:
    """Write ``out/snapshots.csv.gz`` from the runs' checkpoints if it is missing (runs saved
    before :func:`save_tms_runs` wrote it); returns its path."""
    path = Path(out) / SNAPSHOTS
    if not path.exists():
        write_snapshots(load_tms_runs(out), path)
    return path


def read_snapshots(
    path: str | Path, seeds: Sequence[int], m: int, c: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps [T], W [S, T, m, c], b [S, T, c]) from a :func:`write_snapshots` table.

    Raises:
        ValueError: if the table's seeds are not ``seeds`` or they have different steps.
    """
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing: runs saved before snapshots existed have none; write it from "
            "their checkpoints with devrl.agents.tms_runs.ensure_snapshots(folder)."
        )
    table = pd.read_csv(path, dtype={"run": str})
    found = sorted(set(table["seed"].tolist()))
    if found != sorted(seeds):
        raise ValueError(f"{path} holds seeds {found}; the runs' configs say {list(seeds)}.")
    table = table.set_index("seed").loc[list(seeds)]
    steps = table.loc[seeds[0], "step"].to_numpy(np.int64)
    S, T = len(seeds), len(steps)
    if len(table) != S * T or not all(
        np.array_equal(table.loc[sd, "step"].to_numpy(np.int64), steps) for sd in seeds
    ):
        raise ValueError(f"{path}: the seeds have different snapshot steps.")
    values = table[_weight_columns(m, c)].to_numpy(np.float64).astype(np.float32)
    return steps, values[:, : m * c].reshape(S, T, m, c), values[:, m * c :].reshape(S, T, c)


def _config_class(trainer: str):
    if trainer not in _CONFIGS:
        raise ValueError(f"unknown TMS trainer {trainer!r}; known: {sorted(_CONFIGS)}.")
    module, _, name = _CONFIGS[trainer].partition(":")
    return getattr(importlib.import_module(module), name)


def load_tms_runs(out: str | Path, weights: str = "checkpoints") -> TMSResult:
    """Read the runs :func:`save_tms_runs` wrote under ``out`` back into a :class:`TMSResult`.

    Args:
        out: The folder holding the ``seed_*`` runs.
        weights: Where W and b come from: ``"checkpoints"`` (each run's checkpoints) or
            ``"snapshots"`` (the batch's ``snapshots.csv.gz``; no checkpoint is read, so
            this works on data without ``checkpoints/``). Both give the same bits.

    Raises:
        FileNotFoundError: if ``out`` holds no ``seed_*`` runs.
        ValueError: if the runs are not one batch (different configs) or lack checkpoints.
    """
    if weights not in ("checkpoints", "snapshots"):
        raise ValueError(f"weights must be 'checkpoints' or 'snapshots', got {weights!r}.")
    dirs = tms_run_dirs(out)
    if not dirs:
        raise FileNotFoundError(
            f"{out} holds no TMS runs (seed_*/config.json); train with devrl.agents.tms_sgd "
            "or devrl.agents.tms_rl and pass out=..."
        )
    runs = [Run.load(d) for d in dirs]
    first = runs[0].config
    cls = _config_class(first.get("trainer", ""))
    fields = [f.name for f in dataclasses.fields(cls)]
    cfg = cls(**{k: first[k] for k in fields if k in first})
    seeds = [int(r.config["seed"]) for r in runs]
    if seeds != cfg.seeds or any(
        {k: r.config.get(k) for k in fields} != {k: first.get(k) for k in fields} for r in runs
    ):
        raise ValueError(
            f"{out} does not hold one batch of TMS runs: seeds {seeds}, config says "
            f"{cfg.seeds}; keep one batch per folder."
        )
    if weights == "snapshots":
        steps, W, b = read_snapshots(Path(out) / SNAPSHOTS, cfg.seeds, cfg.m, cfg.c)
    else:
        steps, W, b = _read_checkpoints(runs, cfg)
    values = []
    for run in runs:
        wide = pd.read_csv(run.metrics_path)
        if wide["step"].tolist() != steps.tolist():
            raise ValueError(f"{run.metrics_path} has other steps than its checkpoints.")
        names = [c for c in wide.columns if c != "step"]
        values.append(wide[names].to_numpy(np.float64))
    metrics = _tidy_frame(cfg, steps, names, np.stack(values))
    sigma = None
    if "policy/sigma" in names:
        sigma = np.stack(values)[..., names.index("policy/sigma")].astype(np.float32)
    return TMSResult(cfg, steps, W, b, metrics, float("nan"), sigma)


def _read_checkpoints(runs: Sequence[Run], cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps [T], W [S, T, m, c], b [S, T, c]) from the runs' checkpoints."""
    steps = np.asarray(runs[0].steps, dtype=np.int64)
    S, T = len(runs), len(steps)
    W = np.zeros((S, T, cfg.m, cfg.c), np.float32)
    b = np.zeros((S, T, cfg.c), np.float32)
    for s, run in enumerate(runs):
        if run.steps != steps.tolist():
            raise ValueError(f"{run.path} has other checkpoint steps than {runs[0].path}.")
        for t, step in enumerate(steps):
            state = run.load_checkpoint(int(step))["model"]
            W[s, t], b[s, t] = state["W"].numpy(), state["b"].numpy()
    return steps, W, b
