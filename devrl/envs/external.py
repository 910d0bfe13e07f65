"""Any gymnasium environment by id, vectorised the way devrl's rollouts need it.

Why: a run records its environment as a gymnasium id, constructor arguments and a list
of wrappers (e.g. an SB3 agent trained on ``MiniGrid-Empty-5x5-v0`` inside minigrid's
``ImgObsWrapper``), all JSON, so measures can rebuild the environment later. The
maze keeps its own batched :class:`~devrl.envs.MazeVecEnv`; every other id becomes a
``gymnasium`` sync vector env with same-step autoreset (what
:func:`devrl.rollouts.collect` reads).

A wrapper is written ``"module:Class"`` (e.g. ``"minigrid.wrappers:ImgObsWrapper"``)
or ``{"entry_point": "module:Class", "kwargs": {...}}``; importing its module also
registers the environments of packages such as minigrid. An env id may carry its
module gymnasium-style, ``"minigrid:MiniGrid-Empty-5x5-v0"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym

from devrl._registration import MAZE_ID

WrapperSpec = str | Mapping[str, Any]
"""``"module:Class"`` or ``{"entry_point": "module:Class", "kwargs": {...}}``."""


def normalize_wrappers(wrappers: Sequence[WrapperSpec] | None) -> list[WrapperSpec]:
    """Wrapper specs checked for form, as JSON-ready values (strings, or dicts with kwargs)."""
    out: list[WrapperSpec] = []
    for spec in wrappers or ():
        if isinstance(spec, Mapping):
            unknown = sorted(set(spec) - {"entry_point", "kwargs"})
            entry = spec.get("entry_point")
            if unknown or not isinstance(entry, str):
                raise ValueError(
                    f"a wrapper spec dict holds 'entry_point' ('module:Class') and optional "
                    f"'kwargs'; got {dict(spec)!r}."
                )
            kwargs = dict(spec.get("kwargs") or {})
            _check_entry(entry)
            out.append({"entry_point": entry, "kwargs": kwargs} if kwargs else entry)
        elif isinstance(spec, str):
            _check_entry(spec)
            out.append(spec)
        else:
            raise TypeError(
                f"a wrapper is 'module:Class' or {{'entry_point': ..., 'kwargs': ...}}; "
                f"got {type(spec).__name__} (pass its import path, e.g. "
                "'minigrid.wrappers:ImgObsWrapper', so the run config can record it)."
            )
    return out


def _check_entry(entry: str) -> None:
    module, _, name = entry.partition(":")
    if not module or not name:
        raise ValueError(
            f"wrapper {entry!r} must be written 'module:Class' "
            "(e.g. 'minigrid.wrappers:ImgObsWrapper')."
        )


def resolve_wrappers(wrappers: Sequence[WrapperSpec] | None) -> list[Callable[[gym.Env], gym.Env]]:
    """The wrappers as callables ``env -> wrapped env``, their modules imported."""
    out = []
    for spec in normalize_wrappers(wrappers):
        entry, kwargs = (
            (spec, {}) if isinstance(spec, str) else (spec["entry_point"], spec["kwargs"])
        )
        module, _, name = entry.partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(
                f"cannot import wrapper {entry!r} ({exc}); install the package that provides it "
                "(for minigrid: pip install 'devrl[envs]')."
            ) from exc
        out.append(lambda env, _cls=cls, _kw=kwargs: _cls(env, **_kw))
    return out


def vector_env(
    env_id: str,
    num_envs: int,
    *,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[WrapperSpec] | None = None,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id`` as one vector env with same-step autoreset.

    Args:
        env_id: A gymnasium id; the maze (``"devrl/Maze-v0"``) gives a
            :class:`~devrl.envs.MazeVecEnv`.
        num_envs: Number of copies.
        seed: The maze's level seed (other environments are seeded at ``reset``).
        env_kwargs: Constructor arguments of the environment.
        wrappers: Wrapper specs applied to each copy, in order (not for the maze).

    Returns:
        A ``gymnasium.vector.VectorEnv`` with ``AutoresetMode.SAME_STEP``.
    """
    env_kwargs = dict(env_kwargs or {})
    if env_id == MAZE_ID:
        if wrappers:
            raise ValueError("the maze takes no wrappers; set its variables with env_kwargs.")
        from devrl.envs.vector import MazeVecEnv

        return MazeVecEnv(num_envs, seed=seed, **env_kwargs)
    wrapper_fns = resolve_wrappers(wrappers)  # imports e.g. minigrid, registering its ids
    try:
        env = gym.make_vec(
            env_id,
            num_envs=int(num_envs),
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
            wrappers=wrapper_fns,
            **env_kwargs,
        )
    except gym.error.Error as exc:
        raise ValueError(
            f"cannot make environment {env_id!r} ({exc}); if a package registers it, name "
            "the package in the id ('minigrid:MiniGrid-Empty-5x5-v0') or import it first."
        ) from exc
    if not isinstance(env.single_action_space, gym.spaces.Discrete):
        env.close()
        raise TypeError(
            f"devrl's rollouts need discrete actions; {env_id} has {env.single_action_space}."
        )
    return env


__all__ = ["WrapperSpec", "normalize_wrappers", "resolve_wrappers", "vector_env"]
