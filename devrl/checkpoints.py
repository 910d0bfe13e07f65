"""Dense checkpoint schedules and the checkpoint file format.

Why dense and log-spaced: developmental analyses (LLC curves, stage detection) need
many checkpoints early, where the network changes fastest, and evenly spread ones
later. Each checkpoint stores the model weights; the two most recent ones also store the
full training state (optimizer, RNG states, environment state) so a killed run can
resume and finish bit-identically, even if the newest file is lost.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from devrl._io import atomic_torch_save

FORMAT = "devrl.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupted, or not a devrl checkpoint."""


def _log_linear(total: int, n_log: int, n_linear: int) -> set[int]:
    """{0, total} ∪ n_log rounded log-spaced points in [1, total] ∪ n_linear in [0, total]."""
    log = np.rint(np.geomspace(1, max(total, 1), n_log)) if n_log > 0 else []
    lin = np.rint(np.linspace(0, total, n_linear)) if n_linear > 0 else []
    return {0, total, *(int(p) for p in log if p <= total), *(int(p) for p in lin)}


def checkpoint_schedule(
    total: int, n: int | None = None, *, n_log: int | None = None, n_linear: int | None = None
) -> list[int]:
    """Checkpoint positions in ``[0, total]``: log-spaced union linear, always with 0 and total.

    Give either ``n`` or both ``n_log`` and ``n_linear``:

    * ``n``: about ``n`` points, half log-spaced (dense early training), half evenly
      spaced; duplicates after rounding are merged and topped up, so the result has at
      least ``min(n, total + 1)`` points and at most a few more (the maze PPO runs).
    * ``n_log``, ``n_linear``: exactly that many log-spaced points in ``[1, total]`` and
      evenly spaced ones in ``[0, total]``, rounded and merged, no top-up (the TMS runs,
      whose grids the paper's tables were computed on).

    Args:
        total: Last position (e.g. the number of PPO updates or SGD steps).
        n: Desired number of checkpoints (>= 2 to get both ends).
        n_log: Number of log-spaced points (0: none).
        n_linear: Number of evenly spaced points (0: none).

    Returns:
        Sorted list of distinct ints.
    """
    if not isinstance(total, (int, np.integer)) or total < 0:
        raise ValueError(f"total must be an integer >= 0, got {total!r}")
    total = int(total)
    if n is None:
        if n_log is None or n_linear is None or min(n_log, n_linear) < 0:
            raise ValueError(
                "give n (about n checkpoints) or both n_log and n_linear (>= 0); "
                f"got n={n!r}, n_log={n_log!r}, n_linear={n_linear!r}"
            )
        return sorted(_log_linear(total, int(n_log), int(n_linear)))
    if n_log is not None or n_linear is not None:
        raise ValueError("give n or (n_log, n_linear), not both")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    want = min(int(n), total + 1)
    if want <= 2:
        return sorted({0, total})
    k = want
    while True:
        n_log_k = k // 2
        points = _log_linear(total, max(n_log_k, 1), max(k - n_log_k, 2))
        if len(points) >= want or k > 4 * want + 8:
            break
        k += max(1, (want - len(points)) // 2)
    return sorted(points)


def nearest_checkpoints(steps, k: int) -> np.ndarray:
    """Indices of about ``k`` saved checkpoints to estimate something costly on.

    Half are nearest to log-spaced targets between the first positive step and the last
    (transitions from a random start are early), half nearest to evenly spaced targets in
    (last/k, last] (the 4-gon runs' jumps are late); indices picked twice are kept once.

    Args:
        steps: Sorted steps of the saved checkpoints.
        k: Desired number of checkpoints.

    Returns:
        Sorted unique indices into ``steps``.
    """
    steps = np.asarray(steps)
    pos = steps[steps > 0]
    if k < 1 or not len(pos):
        raise ValueError(f"need k >= 1 and a positive step; got k={k}, steps {steps[:5]}...")
    want = np.r_[
        np.geomspace(pos[0], pos[-1], k // 2), np.linspace(pos[-1] / k, pos[-1], k - k // 2)
    ]
    return np.unique([int(np.argmin(np.abs(steps - w))) for w in want])


# --------------------------------------------------------------------------- tensors <-> state


def to_torch_tree(obj: Any) -> Any:
    """Convert numpy arrays/scalars inside nested containers so ``weights_only`` loads work."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj).copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return {k: to_torch_tree(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {"__tuple__": [to_torch_tree(v) for v in obj]}
    if isinstance(obj, list):
        return [to_torch_tree(v) for v in obj]
    return obj


def from_torch_tree(obj: Any) -> Any:
    """Invert :func:`to_torch_tree`."""
    if isinstance(obj, Mapping):
        if set(obj) == {"__ndarray__"}:
            return obj["__ndarray__"].numpy().copy()
        if set(obj) == {"__tuple__"}:
            return tuple(from_torch_tree(v) for v in obj["__tuple__"])
        return {k: from_torch_tree(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_torch_tree(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- file format


def checkpoint_name(step: int) -> str:
    """File name of the checkpoint at env step ``step``."""
    return f"step_{int(step):08d}.pt"


_STEP_FILE = re.compile(r"^step_(\d{8,})\.pt$")


def checkpoint_steps(directory: str | os.PathLike) -> list[int]:
    """Sorted env steps of the checkpoint files in ``directory`` ([] if it does not exist)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = (_STEP_FILE.match(p.name) for p in directory.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def save_checkpoint(
    path: str | os.PathLike,
    *,
    step: int,
    model_config: Mapping[str, Any],
    model_state: Mapping[str, torch.Tensor],
    resume: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write one checkpoint file.

    Args:
        path: Destination ``.pt`` file.
        step: Environment steps taken when this checkpoint was made.
        model_config: ``ActorCritic.config()`` so the file rebuilds its own network.
        model_state: The network's ``state_dict()``.
        resume: Full training state (optimizer, RNGs, env), or ``None`` for weights only.
    """
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "step": int(step),
        "model_config": dict(model_config),
        "model": {k: v.detach().clone() for k, v in model_state.items()},
        "resume": None if resume is None else to_torch_tree(resume),
    }
    return atomic_torch_save(path, payload)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a checkpoint file.

    Returns:
        Dict with ``step``, ``model_config``, ``model`` (state dict) and ``resume``
        (``None`` or the training state with numpy arrays restored).

    Raises:
        CheckpointError: naming the file and what was wrong (missing, corrupted,
            not a devrl checkpoint, unsupported version, missing fields).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/garbage files
        raise CheckpointError(
            f"checkpoint {path} is corrupted or unreadable ({type(exc).__name__}: {exc}); "
            "delete it (and resume from an earlier one) or re-run training"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{path} is not a devrl checkpoint (expected format {FORMAT!r}, found {found!r})"
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path} has version {payload.get('version')!r}; "
            f"this devrl reads version {VERSION}"
        )
    missing = [k for k in ("step", "model_config", "model") if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is missing field(s) {missing}")
    if payload.get("resume") is not None:
        payload["resume"] = from_torch_tree(payload["resume"])
    return payload
