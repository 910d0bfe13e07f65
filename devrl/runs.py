"""The run directory: one training run's config, checkpoints and metrics, on plain files.

Layout::

    run_dir/
      config.json                 everything needed to reproduce the run
      checkpoints/step_XXXXXXXX.pt  model weights (the latest two also hold the training state)
      metrics.csv                 one row per PPO update (namespaced metric columns)
      tracks/                     measures computed later over the checkpoints
      .lock                       held (flock) by the one process writing the run

Every write is atomic (temporary file in the same directory, then ``os.replace``), so
a killed run leaves only complete files; a writer holds the run's lock
(:meth:`Run.lock`), so two writers never mix one run. Later stations (measures, tracks)
read a run through :class:`Run` and never write into ``checkpoints/``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from devrl._io import atomic_write, atomic_write_json
from devrl._lock import lock_dir
from devrl._registration import MAZE_ID
from devrl._rundir import (
    NotARunError,
    RunConfigMismatch,
    RunError,
    check_columns,
    check_new_run_dir,
    run_path,
)
from devrl.checkpoints import (
    CheckpointError,
    checkpoint_name,
    checkpoint_steps,
    load_checkpoint,
    save_checkpoint,
)

ENV_VARIABLES = ("size", "corner", "reward", "max_steps", "cheese_anywhere")
"""The maze's environment variables, flat in a maze PPO run's config."""

__all__ = [
    "ENV_VARIABLES",
    "NotARunError",
    "Run",
    "RunConfigMismatch",
    "RunError",
    "check_columns",
    "writes_run",
]


def _config_diff(
    old: Mapping[str, Any], new: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> list[str]:
    """Fields that differ; a field the old config lacks counts as its default.

    Runs written before a config field existed were trained with that field's default,
    so they must still resume under a newer devrl.
    """
    old = {**(defaults or {}), **old}
    keys = sorted(set(old) | set(new))
    return [
        f"{k}: {old.get(k, '<missing>')!r} -> {new.get(k, '<missing>')!r}"
        for k in keys
        if old.get(k, "<missing>") != new.get(k, "<missing>")
    ]


class Run:
    """A training run on disk.

    Use :meth:`load` to open an existing run and :meth:`create` (done by
    :func:`devrl.agents.train`) to start or reopen one for writing.

    Attributes:
        path: The run directory.
        config: The parsed ``config.json`` (PPO fields flat, plus ``model`` and ``init_from``).
    """

    def __init__(self, path: str | os.PathLike, config: Mapping[str, Any]):
        self.path = Path(path)
        self.config = dict(config)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, steps={len(self.steps)})"

    # ------------------------------------------------------------------ opening

    @classmethod
    def load(cls, path: str | os.PathLike) -> Run:
        """Open an existing run directory (read-only use).

        Raises:
            NotARunError: (a ``FileNotFoundError``) if ``path`` has no ``config.json``.
            RunError: if ``path`` is a file or ``config.json`` is not a JSON object.
        """
        path = run_path(path)
        config_file = path / "config.json"
        if not config_file.is_file():
            raise NotARunError(
                f"{path} is not a devrl run directory (no config.json); "
                "create one with devrl.agents.train or `devrl train`"
            )
        try:
            config = json.loads(config_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunError(f"{config_file} is not valid JSON: {exc}") from None
        except OSError as exc:
            raise RunError(f"cannot read {config_file}: {exc.strerror}") from None
        if not isinstance(config, dict):
            raise RunError(
                f"{config_file} must hold a JSON object of config fields, "
                f"got a {type(config).__name__}"
            )
        return cls(path, config)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        config: Mapping[str, Any],
        *,
        resume: bool,
        defaults: Mapping[str, Any] | None = None,
        purpose: str = "create a run in",
    ) -> Run:
        """Create a run directory, or reopen it if it holds the same config.

        Args:
            path: Run directory (created if missing).
            config: JSON-ready config dict to record.
            resume: Allow reopening a directory that already holds this config.
            defaults: Values of config fields added after a run was written; a field the
                recorded config lacks compares equal to its default here.
            purpose: What the caller is about to do, for the error if another process
                holds the run's lock ("train", ...).

        Raises:
            RunConfigMismatch: if the directory holds a run with a different config
                (the message lists the differing fields), or any run when ``resume`` is False.
            RunError: if ``path`` is empty, a file, or a directory of unrelated files.
            DirectoryLockedError: if another process is writing the directory.
        """
        path = run_path(path)
        config = json.loads(json.dumps(dict(config)))  # normalise tuples etc.
        if not (path / "config.json").is_file():
            check_new_run_dir(path)
        path.mkdir(parents=True, exist_ok=True)
        with lock_dir(path, purpose=purpose):  # check and write as one step
            return cls._create_locked(path, config, resume, defaults)

    @classmethod
    def _create_locked(
        cls, path: Path, config: dict[str, Any], resume: bool, defaults: Mapping[str, Any] | None
    ) -> Run:
        config_file = path / "config.json"
        if config_file.is_file():
            existing = cls.load(path)
            diff = _config_diff(
                existing.config, config, json.loads(json.dumps(dict(defaults or {})))
            )
            if diff:
                raise RunConfigMismatch(
                    f"run directory {path} already holds a run with a different config "
                    f"({'; '.join(diff)}); refusing to overwrite it. "
                    "Choose another run directory or delete this one."
                )
            if not resume:
                raise RunConfigMismatch(
                    f"run directory {path} already holds a run; pass resume=True "
                    "(--resume) to continue it, or choose another directory"
                )
            return existing
        check_new_run_dir(path)
        atomic_write_json(config_file, config)
        run = cls(path, config)
        run.checkpoints_dir.mkdir(exist_ok=True)
        run.tracks_dir.mkdir(exist_ok=True)
        return run

    def lock(self, purpose: str = "write") -> contextlib.AbstractContextManager[Path]:
        """Hold this run's exclusive lock while writing it (``with run.lock("train"): ...``).

        A second process asking for it fails at once with a
        :class:`~devrl._lock.DirectoryLockedError` naming the holder's pid; the lock is
        re-entrant within a process and released however the holder exits. Taking it
        deletes temporary files left by writes that were interrupted.
        """
        return lock_dir(self.path, purpose=purpose)

    # ------------------------------------------------------------------ layout

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tracks_dir(self) -> Path:
        """Where measures over checkpoints are cached (written by later stations)."""
        return self.path / "tracks"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def env_id(self) -> str:
        """Gymnasium id of the run's environment (``config["env_id"]``; maze runs omit it)."""
        return str(self.config.get("env_id", MAZE_ID))

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the run's environment.

        ``config["env_kwargs"]`` where the run records them; a maze PPO run keeps its
        environment variables flat in its config (size, corner, reward, max_steps).
        """
        if "env_kwargs" in self.config:
            return dict(self.config["env_kwargs"])
        return {k: self.config[k] for k in ENV_VARIABLES if k in self.config}

    @property
    def env_variables(self) -> dict[str, Any]:
        """The environment variables of this run, as columns of its tidy frames.

        A maze run: size, corner, reward, max_steps, cheese_anywhere (None where absent;
        0.0 for cheese_anywhere, which runs before it was a variable had); any other run:
        its ``env_kwargs``.
        """
        if self.env_id == MAZE_ID and "env_kwargs" not in self.config:
            defaults = {"cheese_anywhere": 0.0}
            return {k: self.config.get(k, defaults.get(k)) for k in ENV_VARIABLES}
        return self.env_kwargs

    @property
    def steps(self) -> list[int]:
        """Sorted env steps at which checkpoints exist."""
        return checkpoint_steps(self.checkpoints_dir)

    def checkpoint_path(self, step: int) -> Path:
        """Path of the checkpoint at ``step`` (which need not exist yet)."""
        return self.checkpoints_dir / checkpoint_name(step)

    # ------------------------------------------------------------------ reading

    def load_checkpoint(self, step: int) -> dict[str, Any]:
        """The validated checkpoint payload at ``step`` (see :func:`devrl.checkpoints.load_checkpoint`)."""
        path = self.checkpoint_path(step)
        if not path.is_file():
            steps = self.steps
            span = f"{len(steps)} checkpoints, steps {steps[0]}..{steps[-1]}" if steps else "none"
            raise ValueError(f"run {self.path} has no checkpoint at step {step} (has {span})")
        payload = load_checkpoint(path)
        if payload["step"] != int(step):
            raise CheckpointError(
                f"checkpoint {path} records step {payload['step']}, but its name says {step}"
            )
        return payload

    def policy(self, step: int | None = None) -> torch.nn.Module:
        """The model at checkpoint ``step`` (default: latest), in eval mode on CPU.

        Whatever kind of model the run holds (maze actor-critic, TMS model, an imported
        agent): the checkpoint's ``model_config["kind"]`` names it in
        :mod:`devrl.agents.registry`.
        """
        from devrl.agents.registry import build_model  # lazy: keeps runs importable alone

        if step is None:
            if not self.steps:
                raise ValueError(f"run {self.path} has no checkpoints yet")
            step = self.steps[-1]
        payload = self.load_checkpoint(step)
        model = build_model(payload["model_config"])
        try:
            model.load_state_dict(payload["model"])
        except RuntimeError as exc:
            raise CheckpointError(
                f"checkpoint {self.checkpoint_path(step)} weights do not fit its model config: {exc}"
            ) from exc
        return model.eval()

    @property
    def metrics(self) -> pd.DataFrame:
        """Per-update training metrics (columns ``update``, ``step`` and namespaced metrics).

        Raises:
            RunError: naming ``metrics.csv`` if it is not a CSV with a ``step`` column.
        """
        path = self.metrics_path
        if not path.is_file():
            return pd.DataFrame(columns=["update", "step"])
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunError(f"{path} is not a readable CSV table ({reason})") from None
        check_columns(frame, path, ("step",))
        return frame

    def tidy_metrics(self) -> pd.DataFrame:
        """Metrics in the tidy layout: ``run, seed, step, measure, value, stderr`` + env variables."""
        wide = self.metrics
        value_cols = [c for c in wide.columns if c not in ("update", "step")]
        tidy = wide.melt(id_vars=["step"], value_vars=value_cols, var_name="measure")
        tidy.insert(0, "run", self.path.name)
        tidy.insert(1, "seed", self.config.get("seed"))
        tidy["stderr"] = float("nan")
        for key, value in self.env_variables.items():
            tidy[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        return tidy

    def resume_state(self) -> tuple[int, dict[str, Any]] | None:
        """``(step, payload)`` of the newest readable checkpoint holding the training state.

        A run keeps the training state in its two newest checkpoints, so losing (or
        damaging) the newest one costs the steps since the one before, not the run.
        Unreadable checkpoints are skipped, and resuming from one that is not the newest
        checkpoint warns (naming what is skipped). None if no checkpoint holds the state.
        """
        skipped = []
        for step in reversed(self.steps):
            try:
                payload = self.load_checkpoint(step)
            except CheckpointError as exc:
                warnings.warn(f"skipping unreadable checkpoint: {exc}", stacklevel=2)
                skipped.append(step)
                continue
            if payload.get("resume") is not None:
                if skipped or step != self.steps[-1]:
                    warnings.warn(
                        f"resuming {self.path} from step {step}, the newest checkpoint with "
                        f"training state; the later checkpoints are redone",
                        stacklevel=2,
                    )
                return step, payload
        return None

    # ------------------------------------------------------------------ writing

    def save_checkpoint(
        self,
        step: int,
        model: torch.nn.Module,
        resume: Mapping[str, Any] | None = None,
        *,
        drop_state: Iterable[int] = (),
    ) -> Path:
        """Write the checkpoint at ``step``; then strip the training state from ``drop_state``.

        Only the newest checkpoints keep optimizer/RNG/env state (the trainer keeps two),
        which keeps dense checkpointing cheap. The new file is written before any old
        state is dropped, so a kill between the writes loses nothing.
        """
        from devrl.agents.registry import model_config

        path = save_checkpoint(
            self.checkpoint_path(step),
            step=step,
            model_config=model_config(model),
            model_state=model.state_dict(),
            resume=resume,
        )
        self.drop_training_state(s for s in drop_state if s != step)
        return path

    def drop_training_state(self, steps: Iterable[int]) -> list[int]:
        """Rewrite the checkpoints at ``steps`` without their training state (weights kept).

        Missing checkpoints and ones without training state are left alone, so this
        writes nothing when there is nothing to drop.

        Returns:
            The steps rewritten.
        """
        done = []
        for step in steps:
            if not self.checkpoint_path(step).is_file():
                continue
            old = self.load_checkpoint(step)
            if old.get("resume") is not None:
                save_checkpoint(
                    self.checkpoint_path(step),
                    step=step,
                    model_config=old["model_config"],
                    model_state=old["model"],
                )
                done.append(step)
        return done

    def write_metrics(self, metrics: pd.DataFrame) -> None:
        """Atomically replace ``metrics.csv`` with ``metrics``."""
        data = metrics.to_csv(index=False).encode("utf-8")
        atomic_write(self.metrics_path, lambda f: f.write(data))


def writes_run(purpose: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``fn(run, ...)`` to receive the opened :class:`Run` and hold its lock meanwhile.

    Why: a function that writes into a run (a tracker's cache) must not interleave with a
    trainer or another tracker; the first argument may be a ``Run`` or its directory.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(run: Run | str | os.PathLike, *args: Any, **kwargs: Any) -> Any:
            run = run if isinstance(run, Run) else Run.load(run)
            with run.lock(purpose):
                return fn(run, *args, **kwargs)

        return wrapper

    return decorate
