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

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from gymnasium.vector import VectorEnv, VectorWrapper

from devrl._config import to_dict
from devrl._progress import progress
from devrl.agents.registry import split_kind
from devrl.checkpoints import checkpoint_schedule
from devrl.runs import Run

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


class Recorder:
    """Writes one PPO run: config.json, checkpoints on a log+linear schedule, metrics.csv.

    Args:
        run_dir: The run directory.
        config: The validated ``PPOConfig``.
        model_config: ``ActorCritic.config()`` of the network being trained.
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
        model_config: Mapping[str, Any],
        *,
        resume: bool,
        init_from: Any = None,
        on_checkpoint: Callable[[int], None] | None = None,
        env: Mapping[str, Any] | None = None,
        episode_keys: Sequence[str] = ("r", "l"),
    ):
        self.cfg = config
        self.batch_size = config.batch_size
        self._parent: tuple[Run, int] | None = None
        parent_record = None
        if init_from is not None:
            parent_path, parent_step = _parse_init_from(init_from)
            parent = Run.load(parent_path)
            if parent_step is None:
                if not parent.steps:
                    raise ValueError(f"init_from run {parent_path} has no checkpoints")
                parent_step = parent.steps[-1]
            _, parent_model = split_kind(parent.load_checkpoint(parent_step)["model_config"])
            if parent_model != dict(model_config):
                raise ValueError(
                    f"init_from checkpoint {parent.checkpoint_path(parent_step)} has network "
                    f"{parent_model}, but this run builds {dict(model_config)}; fine-tuning needs "
                    "the same size and network settings"
                )
            self._parent = (parent, parent_step)
            parent_record = {"run": str(parent.path.resolve()), "step": parent_step}
        run_config = {**to_dict(config), "model": dict(model_config), "init_from": parent_record}
        if env is not None:
            run_config["env"] = dict(env)
        self.run = Run.create(run_dir, run_config, resume=resume, defaults=to_dict(type(config)()))
        self.schedule = set(checkpoint_schedule(config.num_updates, config.checkpoints))
        self.on_checkpoint = on_checkpoint
        self._rows: list[dict[str, Any]] = []
        # episode charts in the order first seen: their columns come before charts/episodes
        self._episode_charts = ["charts/episodic_return", "charts/episode_length"]
        for key in episode_keys:
            name = _EPISODE_CHARTS.get(key, key)
            if name is not None and f"charts/{name}" not in self._episode_charts:
                self._episode_charts.append(f"charts/{name}")
        self._last_checkpoint: int | None = None
        self._last_flush = time.monotonic()
        self._bar = None

    # ------------------------------------------------------------------ starting

    def parent_weights(self) -> dict[str, torch.Tensor]:
        """State dict of the ``init_from`` checkpoint."""
        if self._parent is None:
            raise ValueError("this run has no init_from parent")
        parent, step = self._parent
        return parent.load_checkpoint(step)["model"]

    def resume_state(self) -> tuple[int, dict[str, Any] | None]:
        """``(update, state)`` to continue from; ``(0, None)`` for a fresh run.

        Metrics logged after that checkpoint (by a run killed later) are dropped, so
        the resumed run rewrites them exactly.
        """
        found = self.run.resume_state()
        if found is None:
            self._open_bar(0)
            return 0, None
        step, payload = found
        update = step // self.batch_size
        metrics = self.run.metrics
        if len(metrics):
            metrics = metrics[metrics["update"] <= update]
            self._rows = metrics.to_dict("records")
            columns = list(metrics.columns)
            if "charts/episodes" in columns:
                self._episode_charts = columns[
                    columns.index("step") + 1 : columns.index("charts/episodes")
                ]
        self._last_checkpoint = step
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
        """Write the checkpoint after ``update`` (with training state), then flush metrics."""
        step = update * self.batch_size
        self.run.save_checkpoint(
            step, model, {**state, "update": update}, previous=self._last_checkpoint
        )
        self._last_checkpoint = step
        self.flush()
        if self.on_checkpoint is not None:
            self.on_checkpoint(step)

    def log(self, update: int, episodes: list[dict[str, np.ndarray]], metrics: dict) -> None:
        """Record one update's metrics plus the mean statistics of the episodes that ended in it.

        Args:
            update: The update just finished (1-based).
            episodes: One :func:`finished_episodes` dict per env step with episodes ending.
            metrics: Namespaced metrics (``losses/...``, ``charts/...``) of the update.
        """
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
        if self._bar is not None:
            self._bar.update(self.batch_size)
            if update % 10 == 0:
                shown = {"ret": "charts/episodic_return", "success": "charts/success_rate"}
                self._bar.set_postfix(
                    {k: f"{row[name]:.2f}" for k, name in shown.items() if name in row}
                )
        if time.monotonic() - self._last_flush > _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Atomically rewrite metrics.csv with every row so far."""
        if self._rows:
            frame = pd.DataFrame(self._rows)
            first = ["update", "step", *self._episode_charts, "charts/episodes"]
            rest = [c for c in frame.columns if c not in first]
            self.run.write_metrics(frame.reindex(columns=first + rest))
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Final flush and close the progress bar."""
        self.flush()
        if self._bar is not None:
            self._bar.close()
