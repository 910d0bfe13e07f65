"""Bookkeeping for a PPO run: run directory, checkpoint schedule, metrics, progress bar.

Kept out of :mod:`devrl.agents.ppo` so the algorithm reads on its own. The recorder
owns every write into the run directory; the trainer hands it the network and the
training state at checkpoint updates, and one dict of metrics per update.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from devrl._config import to_dict
from devrl.agents.registry import split_kind
from devrl.checkpoints import checkpoint_schedule
from devrl.runs import Run

_FLUSH_SECONDS = 15.0


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
        self.run = Run.create(run_dir, run_config, resume=resume, defaults=to_dict(type(config)()))
        self.schedule = set(checkpoint_schedule(config.num_updates, config.checkpoints))
        self.on_checkpoint = on_checkpoint
        self._rows: list[dict[str, Any]] = []
        self._last_checkpoint: int | None = None
        self._last_flush = time.monotonic()
        self._bar: tqdm | None = None

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
        self._last_checkpoint = step
        self._open_bar(update)
        return update, {**payload["resume"], "model": payload["model"]}

    def _open_bar(self, update: int) -> None:
        total = self.cfg.num_updates * self.batch_size
        self._bar = tqdm(
            total=total,
            initial=update * self.batch_size,
            unit="step",
            desc=f"train {self.run.path.name}",
            disable=None,
            dynamic_ncols=True,
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
        """Record one update's metrics plus statistics of the episodes that ended in it."""
        row: dict[str, Any] = {"update": update, "step": update * self.batch_size}
        if episodes:
            ep = {k: np.concatenate([e[k] for e in episodes]) for k in episodes[0]}
            row["charts/episodic_return"] = float(ep["episode_return"].mean())
            row["charts/episode_length"] = float(ep["episode_length"].mean())
            row["charts/success_rate"] = float(ep["episode_success"].mean())
            row["charts/corner_rate"] = float(ep["reached_corner"].mean())
            row["charts/episodes"] = len(ep["episode_return"])
        else:
            for key in ("episodic_return", "episode_length", "success_rate", "corner_rate"):
                row[f"charts/{key}"] = math.nan
            row["charts/episodes"] = 0
        row.update(metrics)
        self._rows.append(row)
        if self._bar is not None:
            self._bar.update(self.batch_size)
            if update % 10 == 0:
                self._bar.set_postfix(
                    success=f"{row['charts/success_rate']:.2f}",
                    ret=f"{row['charts/episodic_return']:.2f}",
                )
        if time.monotonic() - self._last_flush > _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Atomically rewrite metrics.csv with every row so far."""
        if self._rows:
            self.run.write_metrics(pd.DataFrame(self._rows))
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Final flush and close the progress bar."""
        self.flush()
        if self._bar is not None:
            self._bar.close()
