"""Torch device strings: their form checked without torch, their availability with it.

Why: a config is validated where it is built (``PPOConfig``, possibly on a machine
without a GPU, and while building ``--help`` without importing torch), but whether
``cuda:1`` exists can only be known where training runs. Both checks raise
``ValueError`` naming the device and what was expected, never torch's own
``AssertionError``/``RuntimeError``.
"""

from __future__ import annotations

import re
from typing import Any

_FORM = re.compile(r"cpu|cuda(:\d+)?")


def check_device(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    if not isinstance(value, str) or not _FORM.fullmatch(value):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:N' (N a GPU index), got {value!r}")


def torch_device(value: str):
    """The ``torch.device`` for ``value``, checked to exist on this machine.

    Raises:
        ValueError: malformed, or CUDA requested where torch sees no GPU (or not GPU N).
    """
    import torch

    check_device("device", value)
    device = torch.device(value)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "no GPU is visible" if torch.version.cuda else "torch was built without CUDA"
            raise ValueError(f"device {value!r} needs a GPU, but {why}; use device 'cpu'")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {value!r}: only {count} GPU(s) visible (cuda:0..cuda:{count - 1})"
            )
    return device
