"""Model kinds: the name a checkpoint records in ``model_config["kind"]``, and its class.

A run directory holds any model, so a checkpoint must say which class rebuilds it.
A model kind is a ``torch.nn.Module`` class with a ``model_kind`` class attribute, a
``config()`` method returning its constructor arguments as a JSON-ready dict, and a
``from_config(config)`` classmethod inverting it. Built-in kinds are listed here as
``"module:Class"`` strings, so looking one up imports only that module.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from torch import nn

MODEL_KINDS: dict[str, str | type[nn.Module]] = {
    "actor_critic": "devrl.agents.network:ActorCritic",
    "thinking_actor_critic": "devrl.agents.thinking:ThinkingActorCritic",
    "mlp_actor_critic": "devrl.agents.network:MLPActorCritic",
    "tms": "devrl.agents.tms_model:TMSModel",
    "sb3_actor_critic": "devrl.agents.sb3:SB3ActorCritic",
}
"""Registered kinds: name -> class or ``"module:Class"`` (imported on first use)."""

DEFAULT_KIND = "actor_critic"
"""Kind of checkpoints written before kinds were recorded (all were maze actor-critics)."""


def register_model_kind(cls: type[nn.Module]) -> type[nn.Module]:
    """Register a model class under its ``model_kind`` (usable as a class decorator)."""
    kind = getattr(cls, "model_kind", None)
    if not isinstance(kind, str) or not kind:
        raise ValueError(
            f"{cls.__name__} needs a class attribute model_kind = '<name>' to be registered."
        )
    for method in ("config", "from_config"):
        if not callable(getattr(cls, method, None)):
            raise TypeError(f"{cls.__name__} needs a {method}() method to be saved in a run.")
    MODEL_KINDS[kind] = cls
    return cls


def model_class(kind: str) -> type[nn.Module]:
    """The class registered as ``kind``."""
    if kind not in MODEL_KINDS:
        raise ValueError(
            f"unknown model kind {kind!r}; registered: {sorted(MODEL_KINDS)}. "
            "Register a class with devrl.agents.registry.register_model_kind."
        )
    entry = MODEL_KINDS[kind]
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = MODEL_KINDS[kind] = getattr(importlib.import_module(module), name)
    return entry


def model_config(model: nn.Module) -> dict[str, Any]:
    """``{"kind": ..., **model.config()}``: what a checkpoint needs to rebuild ``model``."""
    kind = getattr(type(model), "model_kind", None)
    if kind is None or not callable(getattr(model, "config", None)):
        raise TypeError(
            f"{type(model).__name__} is not a registered model kind (it needs model_kind, "
            "config() and from_config()); see devrl.agents.registry."
        )
    return {"kind": kind, **model.config()}


def split_kind(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(kind, constructor arguments)`` of a checkpoint's ``model_config``."""
    rest = dict(config)
    return rest.pop("kind", DEFAULT_KIND), rest


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model of the kind and settings a ``model_config`` records."""
    kind, arguments = split_kind(config)
    return model_class(kind).from_config(arguments)


__all__ = [
    "DEFAULT_KIND",
    "MODEL_KINDS",
    "build_model",
    "model_class",
    "model_config",
    "register_model_kind",
    "split_kind",
]
