"""Score a run's checkpoint in distribution and with the cheese anywhere.

Why: the core goal-misgeneralization check. A policy trained with the cheese in the
top-right corner is scored in distribution (the run's own environment) and with the
cheese anywhere; a policy that learned "go to the corner" keeps its corner rate but
loses its success rate out of distribution. ``devrl eval`` prints :func:`summarize` of
:func:`evaluate_run`; scripts call the same two functions.
"""

from __future__ import annotations

import numbers
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import torch

__all__ = ["NonFiniteWeightsWarning", "evaluate_run", "summarize", "warn_nonfinite_weights"]


class NonFiniteWeightsWarning(RuntimeWarning):
    """A checkpoint holds NaN or infinite weights: whatever is measured on it is meaningless."""


def warn_nonfinite_weights(model: torch.nn.Module, checkpoint: str | os.PathLike) -> int:
    """Warn, naming ``checkpoint``, when ``model`` has NaN or infinite parameters or buffers.

    Why: a diverged training run (e.g. a learning rate of 1e10) saves NaN weights; a policy
    made of them still acts (uniformly, or always the same way), so evaluation and tracking
    would report numbers like "success 0.000" as if they meant something.

    Returns:
        The number of non-finite values (0: nothing was warned).
    """
    import torch  # lazy: `devrl eval --help` stays fast

    bad, names = 0, []
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point() or tensor.is_complex():
            n = int((~torch.isfinite(tensor)).sum())
            if n:
                bad += n
                names.append(name)
    if bad:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        warnings.warn(
            f"checkpoint {checkpoint} has {bad} NaN/infinite weight values (in {shown}); "
            "the training run diverged and results measured on it are meaningless",
            NonFiniteWeightsWarning,
            stacklevel=2,
        )
    return bad


def _check_int(name: str, value: Any, low: int, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")


def evaluate_run(
    run_path: str | Path,
    *,
    step: int | None = None,
    episodes: int = 200,
    corner: Any = "run",
    size: int | None = None,
    seed: int = 12345,
    greedy: bool = False,
) -> pd.DataFrame:
    """Per-episode table of a run's checkpoint, in distribution and with the cheese anywhere.

    Args:
        run_path: Run directory.
        step: Checkpoint step (None: latest).
        episodes: Episodes per condition.
        corner: Cheese region for the in-distribution condition ("run": the run's own).
        size: Maze size (None: the run's own; must match the network's input).
        seed: Seed of the evaluation mazes (same mazes for every checkpoint).
        greedy: Argmax actions.

    Returns:
        :func:`devrl.rollouts.evaluate` rows for both conditions, with ``run``, ``step``,
        ``condition`` and ``gamma`` (the run's discount, used for regret) columns.
    """
    from devrl.rollouts import evaluate
    from devrl.runs import Run

    _check_int("step", step, 0, allow_none=True)
    _check_int("episodes", episodes, 1)
    _check_int("size", size, 1, allow_none=True)
    _check_int("seed", seed, 0)
    if not isinstance(greedy, bool):
        raise TypeError(f"greedy must be True or False, got {greedy!r}.")
    if isinstance(run_path, bool) or not isinstance(run_path, (str, os.PathLike)):
        raise TypeError(f"run_path must be a path, got {type(run_path).__name__}.")
    if str(run_path) == "":
        raise ValueError("run_path is an empty path; give the run directory.")
    run = Run.load(run_path)
    steps = run.steps
    if not steps:
        raise ValueError(f"run {run.path} has no checkpoints yet")
    step = steps[-1] if step is None else int(step)
    policy = run.policy(step)
    warn_nonfinite_weights(policy, run.checkpoint_path(step))
    # corner=None (cheese anywhere) is meaningful; other missing variables take defaults.
    env = {k: v for k, v in run.env_variables.items() if v is not None or k == "corner"}
    if size is not None:
        env["size"] = size
        env.pop("max_steps", None)  # the default time limit scales with the maze
    obs_shape = getattr(policy, "config", dict)().get("obs_shape")
    if obs_shape is not None and env.get("size", 9) != obs_shape[-1]:
        raise ValueError(
            f"--size {env.get('size', 9)} does not fit this network, which takes "
            f"{obs_shape[-1]}x{obs_shape[-1]} mazes; evaluate at size {obs_shape[-1]}"
        )
    if corner != "run":
        env["corner"] = corner
    conditions = {f"corner={env.get('corner', 1)}": env, "anywhere": dict(env, corner=None)}
    if env.get("corner", 1) is None:
        conditions = {"anywhere": env}
    # Regret uses the run's own discount (the solver needs gamma < 1).
    gamma = run.config.get("gamma")
    gamma = float(gamma) if isinstance(gamma, (int, float)) and 0 < gamma < 1 else 0.99
    tables = []
    for name, kwargs in conditions.items():
        t = evaluate(policy, kwargs, episodes=episodes, seed=seed, greedy=greedy, gamma=gamma)
        tables.append(t.assign(run=run.path.name, step=step, condition=name, gamma=gamma))
    return pd.concat(tables, ignore_index=True)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per-condition means and standard errors of the per-episode scores.

    Args:
        table: Rows of :func:`evaluate_run` (a ``condition`` column and the scores).

    Returns:
        One row per condition (in order of appearance): ``episodes``, then ``success``,
        ``corner``, ``return``, ``regret``, ``length`` and each one's ``_se``.
    """
    cols = ["reached_cheese", "reached_corner", "return", "regret", "length"]
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a DataFrame of evaluate_run rows, got {type(table).__name__}."
        )
    missing = [c for c in ["condition", *cols] if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the evaluate_run columns {missing}.")
    grouped = table.groupby("condition", sort=False)[cols]
    mean = grouped.mean()
    se = grouped.std(ddof=1) / np.sqrt(grouped.count())
    out = pd.DataFrame({"episodes": grouped.size()})
    names = {"reached_cheese": "success", "reached_corner": "corner"}
    for c in cols:
        out[names.get(c, c)] = mean[c].astype(float)
        out[f"{names.get(c, c)}_se"] = se[c].astype(float)
    return out
