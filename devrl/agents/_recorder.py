"""Bookkeeping for a PPO run: run directory, checkpoint schedule, metrics, progress bar.

Kept out of :mod:`devrl.agents.ppo` so the algorithm reads on its own. The recorder
owns every write into the run directory; the trainer hands it the network and the
training state at checkpoint updates, the statistics of finished episodes (read from
``info`` by :func:`finished_episodes`) and one dict of metrics per update.

Episode statistics follow gymnasium's convention (``RecordEpisodeStatistics``):
``info["episode"]`` holds per-environment arrays ``r`` (return) and ``l`` (length), set
where ``info["_episode"]`` is true. Any further key in ``info["episode"]`` is logged as
``charts/<key>`` (its mean over the update's episodes). :class:`EpisodeStatistics`
adapts environments that report their own per-episode info keys, like the maze.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from gymnasium.vector import VectorEnv, VectorWrapper

from devrl._config import to_dict
from devrl._progress import progress
from devrl.agents.registry import split_kind
from devrl.checkpoints import checkpoint_schedule
from devrl.runs import NotARunError, Run, RunError, check_columns

_FLUSH_SECONDS = 15.0

# chart names of RecordEpisodeStatistics' keys; "t" (wall time) is not reproducible
_EPISODE_CHARTS = {"r": "episodic_return", "l": "episode_length", "t": None}


class EpisodeStatistics(VectorWrapper):
    """Report an env's own per-episode info keys the gymnasium way, in ``info["episode"]``.

    For environments that already track episode statistics in flat ``info`` arrays
    (valid where the episode ended), so PPO reads every environment one way. Forwards
    ``state_dict`` / ``load_state_dict`` so a run with it resumes bit-identically.

    Args:
        env: The vector environment.
        keys: ``info["episode"]`` key -> the env's info key, e.g.
            ``{"r": "episode_return", "l": "episode_length", "success_rate": "episode_success"}``.
    """

    def __init__(self, env: VectorEnv, keys: Mapping[str, str]):
        super().__init__(env)
        self.keys = dict(keys)
        self.episode_keys = tuple(self.keys)  # known before any episode ends

    def step(self, actions: Any) -> tuple[Any, Any, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        if done.any():
            info["episode"] = {k: info[v] for k, v in self.keys.items()}
            info["_episode"] = done
        return obs, reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        return self.env.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.env.load_state_dict(state)


def finished_episodes(info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Statistics of the episodes that ended this step, by chart name (``{}`` if none).

    Reads ``info["episode"]`` where ``info["_episode"]`` is true: ``r`` becomes
    ``episodic_return``, ``l`` ``episode_length``, ``t`` is dropped, other keys keep
    their names.
    """
    if "episode" not in info:
        return {}
    stats, mask = info["episode"], np.asarray(info["_episode"], dtype=bool)
    out = {}
    for key, values in stats.items():
        name = _EPISODE_CHARTS.get(key, key)
        if name is not None:
            out[name] = np.asarray(values)[mask]
    return out


def describe_env(envs: VectorEnv) -> dict[str, Any]:
    """What a run's config.json records of an environment passed to ``train``."""
    base = envs.unwrapped
    kind = f"{type(base).__module__}:{type(base).__qualname__}"
    config = base.config() if callable(getattr(base, "config", None)) else None
    return {"class": kind, "num_envs": int(envs.num_envs), "config": config}


class TrainingDivergedError(ValueError):
    """Training produced non-finite losses or weights (the config is unstable for the task)."""


def _parse_init_from(init_from: Any) -> tuple[Path, int | None]:
    if isinstance(init_from, (str, os.PathLike)):
        return Path(init_from), None
    try:
        path, step = init_from
    except (TypeError, ValueError):
        raise ValueError(
            f"init_from must be (run_dir, step) or run_dir, got {init_from!r}"
        ) from None
    return Path(path), None if step is None else int(step)


def _resolve_parent(
    run_dir: Path, init_from: Any, model_config: Mapping[str, Any]
) -> tuple[tuple[Run, int] | None, dict[str, Any] | None]:
    """``((parent run, step), record for config.json)`` of ``init_from``; ``(None, None)`` if none.

    A fine-tuned run whose parent was deleted still resumes (it needs only its own
    training state): if the parent is gone but ``run_dir`` records it, the record is
    returned with no parent run.
    """
    if init_from is None:
        return None, None
    parent_path, step = _parse_init_from(init_from)
    try:
        parent = Run.load(parent_path)
    except NotARunError:
        record = None
        if (run_dir / "config.json").is_file():
            record = Run.load(run_dir).config.get("init_from")
        if (
            isinstance(record, dict)
            and record.get("run") == str(parent_path.resolve())
            and step in (None, record.get("step"))
        ):
            return None, record
        raise RunError(
            f"init_from run {parent_path} does not exist or is not a devrl run (no config.json)"
        ) from None
    if step is None:
        if not parent.steps:
            raise RunError(f"init_from run {parent_path} has no checkpoints")
        step = parent.steps[-1]
    _, parent_model = split_kind(parent.load_checkpoint(step)["model_config"])
    if parent_model != dict(model_config):
        raise ValueError(
            f"init_from checkpoint {parent.checkpoint_path(step)} has network "
            f"{parent_model}, but this run builds {dict(model_config)}; fine-tuning needs "
            "the same size and network settings"
        )
    return (parent, step), {"run": str(parent.path.resolve()), "step": step}


class Recorder:
    """Writes one PPO run: config.json, checkpoints on a log+linear schedule, metrics.csv.

    Use it as a context manager: it holds the run directory's lock (:meth:`Run.lock`)
    from construction until the ``with`` block ends, and flushes the metrics on a normal
    exit. Metrics are always flushed before a checkpoint is written, so every update up
    to the newest checkpoint has its row on disk, and resuming trims the rows logged
    after it (the resumed run rewrites them exactly).

    Args:
        run_dir: The run directory.
        config: The validated ``PPOConfig``.
        model: The network being trained (its ``config()`` is recorded; its weights are
            checked for NaN/Inf after every update).
        resume: Reopen a run with the same config instead of refusing.
        init_from: ``(parent_run_dir, step)``; recorded in config.json.
        on_checkpoint: Called with the env step after each checkpoint.
        env: A description of an environment other than the config's maze
            (:func:`describe_env`), recorded in config.json under ``"env"``.
        episode_keys: The ``info["episode"]`` keys the environment reports; their
            columns are in metrics.csv (NaN) even before an episode ends.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        config: Any,
        model: torch.nn.Module,
        *,
        resume: bool,
        init_from: Any = None,
        on_checkpoint: Callable[[int], None] | None = None,
        env: Mapping[str, Any] | None = None,
        episode_keys: Sequence[str] = ("r", "l"),
    ):
        self.cfg = config
        self.batch_size = config.batch_size
        self.model = model
        model_config = model.config()
        self._parent, parent_record = _resolve_parent(Path(run_dir), init_from, model_config)
        run_config = {**to_dict(config), "model": dict(model_config), "init_from": parent_record}
        if env is not None:
            run_config["env"] = dict(env)
        self.run = Run.create(
            run_dir, run_config, resume=resume, defaults=to_dict(type(config)()), purpose="train"
        )
        self.schedule = set(checkpoint_schedule(config.num_updates, config.checkpoints))
        self.on_checkpoint = on_checkpoint
        self._rows: list[dict[str, Any]] = []
        self._dirty = False  # rows differ from metrics.csv
        # episode charts in the order first seen: their columns come before charts/episodes
        self._episode_charts = ["charts/episodic_return", "charts/episode_length"]
        for key in episode_keys:
            name = _EPISODE_CHARTS.get(key, key)
            if name is not None and f"charts/{name}" not in self._episode_charts:
                self._episode_charts.append(f"charts/{name}")
        self._recent: list[int] = []  # newest checkpoints, the last two holding training state
        self._last_flush = time.monotonic()
        self._bar = None
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(self.run.lock("train"))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        """Flush and close on success; on an error keep what is on disk (resume trims it)."""
        try:
            if exc_type is None:
                self.close()
            elif self._bar is not None:
                self._bar.close()
        finally:
            self._lock.close()

    # ------------------------------------------------------------------ starting

    def parent_weights(self) -> dict[str, torch.Tensor]:
        """State dict of the ``init_from`` checkpoint."""
        if self.run.config.get("init_from") is None:
            raise ValueError("this run has no init_from parent")
        if self._parent is None:
            raise RunError(
                f"cannot start {self.run.path} from its init_from parent "
                f"{self.run.config['init_from']['run']}: that run no longer exists"
            )
        parent, step = self._parent
        return parent.load_checkpoint(step)["model"]

    def resume_state(self) -> tuple[int, dict[str, Any] | None]:
        """``(update, state)`` to continue from; ``(0, None)`` for a fresh run.

        Metrics logged after that checkpoint (by a run killed later) are dropped, so
        the resumed run rewrites them exactly.

        Raises:
            RunError: if the run has checkpoints but none holds the training state
                (instead of silently starting again from scratch over them).
        """
        found = self.run.resume_state()
        if found is None:
            if self.run.steps:
                raise RunError(
                    f"cannot resume {self.run.path}: none of its {len(self.run.steps)} "
                    "checkpoints holds the training state (the newest two did; were they "
                    "deleted?); train into a new run directory"
                )
            self._open_bar(0)
            return 0, None
        step, payload = found
        update = step // self.batch_size
        metrics = self.run.metrics
        check_columns(metrics, self.run.metrics_path, ("update", "step"))
        have = int(metrics["update"].max()) if len(metrics) else 0
        missing = [u for u in sorted(self.schedule) if update < u <= have]
        if missing:  # metrics are flushed before each checkpoint is written
            warnings.warn(
                f"resuming {self.run.path} from step {step}: the checkpoint of update "
                f"{missing[-1]} (step {missing[-1] * self.batch_size}) is missing (never "
                f"written, or deleted); updates {update + 1}..{have} are redone",
                stacklevel=2,
            )
        if have < update:
            warnings.warn(
                f"{self.run.metrics_path} ends at update {have}, but the run resumes "
                f"after update {update}: the rows in between are lost",
                stacklevel=2,
            )
        if len(metrics):
            kept = metrics[metrics["update"] <= update]
            self._dirty = len(kept) != len(metrics)
            metrics = kept
            self._rows = metrics.to_dict("records")
            columns = list(metrics.columns)
            if "charts/episodes" in columns:
                self._episode_charts = columns[
                    columns.index("step") + 1 : columns.index("charts/episodes")
                ]
        # a kill while dropping an older state leaves a third one: finish that first
        recent = [s for s in self.run.steps if s <= step][-3:]
        self.run.drop_training_state(recent[:-2])
        self._recent = recent[-2:]
        self._open_bar(update)
        return update, {**payload["resume"], "model": payload["model"]}

    def _open_bar(self, update: int) -> None:
        total = self.cfg.num_updates * self.batch_size
        self._bar = progress(
            total=total,
            initial=update * self.batch_size,
            unit="step",
            desc=f"train {self.run.path.name}",
        )

    # ------------------------------------------------------------------ during training

    def is_checkpoint(self, update: int) -> bool:
        """Whether ``update`` is on the checkpoint schedule."""
        return update in self.schedule

    def checkpoint(self, update: int, model: torch.nn.Module, state: Mapping[str, Any]) -> None:
        """Flush metrics, then write the checkpoint after ``update`` with its training state.

        In this order a kill or a full disk between the two writes leaves metrics rows
        past the newest checkpoint (trimmed on resume), never a checkpoint without its
        rows. The training state stays in the two newest checkpoints.
        """
        step = update * self.batch_size
        self.flush()
        self._recent.append(step)
        self.run.save_checkpoint(
            step, model, {**state, "update": update}, drop_state=self._recent[:-2]
        )
        self._recent = self._recent[-2:]
        if self.on_checkpoint is not None:
            self.on_checkpoint(step)

    def log(self, update: int, episodes: list[dict[str, np.ndarray]], metrics: dict) -> None:
        """Record one update's metrics plus the mean statistics of the episodes that ended in it.

        Args:
            update: The update just finished (1-based).
            episodes: One :func:`finished_episodes` dict per env step with episodes ending.
            metrics: Namespaced metrics (``losses/...``, ``charts/...``) of the update.
        """
        self._check_finite(update, metrics)
        row: dict[str, Any] = {"update": update, "step": update * self.batch_size}
        episodes = [e for e in episodes if e]
        for name in self._episode_charts:
            row[name] = math.nan
        count = 0
        if episodes:
            for key in episodes[0]:
                name = f"charts/{key}"
                if name not in self._episode_charts:
                    self._episode_charts.append(name)
                row[name] = float(np.concatenate([e[key] for e in episodes]).mean())
            count = sum(len(next(iter(e.values()))) for e in episodes)
        row["charts/episodes"] = count
        row.update(metrics)
        self._rows.append(row)
        self._dirty = True
        if self._bar is not None:
            self._bar.update(self.batch_size)
            if update % 10 == 0:
                shown = {"ret": "charts/episodic_return", "success": "charts/success_rate"}
                self._bar.set_postfix(
                    {k: f"{row[name]:.2f}" for k, name in shown.items() if name in row}
                )
        if time.monotonic() - self._last_flush > _FLUSH_SECONDS:
            self.flush()

    def _check_finite(self, update: int, metrics: Mapping[str, float]) -> None:
        """Stop training at the first non-finite loss or weight, before it is checkpointed.

        Raises:
            TrainingDivergedError: naming the losses and weights, and the last good checkpoint.
        """
        bad = [
            f"{k}={v}"
            for k, v in metrics.items()
            if k.startswith("losses/") and k != "losses/explained_variance" and not math.isfinite(v)
        ]
        with torch.no_grad():
            bad += [
                f"weights {name}"
                for name, p in self.model.state_dict().items()
                if p.is_floating_point() and not bool(torch.isfinite(p).all())
            ]
        if bad:
            self.flush()
            shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            last = self._recent[-1] if self._recent else None
            raise TrainingDivergedError(
                f"training diverged at update {update}: non-finite {shown}; stopped, the "
                f"last good checkpoint is step {last} of {self.run.path}. Lower lr "
                f"({self.cfg.lr}) or max_grad_norm ({self.cfg.max_grad_norm})"
            )

    def flush(self) -> None:
        """Atomically rewrite metrics.csv with every row so far (if any changed)."""
        if self._rows and self._dirty:
            frame = pd.DataFrame(self._rows)
            first = ["update", "step", *self._episode_charts, "charts/episodes"]
            rest = [c for c in frame.columns if c not in first]
            self.run.write_metrics(frame.reindex(columns=first + rest))
            self._dirty = False
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Final flush and close the progress bar."""
        self.flush()
        if self._bar is not None:
            self._bar.close()
