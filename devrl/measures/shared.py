"""What the measures of one checkpoint share: evaluation episodes and state buffers.

Each is computed once per checkpoint and kept in the context's memo, so ``success``,
``regret`` and ``entropy`` run one set of episodes, and ``llc-action``, ``llc-kl``,
``llc-value`` and ``llc-regret`` build their datasets on one buffer of states.

Both work on any gymnasium environment with discrete actions (the run's ``env_id``,
``env_kwargs`` and ``wrappers``); on the maze, episodes are also scored against its
exact solver, and uniform states are the free cells of its levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from torch import nn

from devrl._config import check_range
from devrl._registration import MAZE_ID
from devrl.measures.base import Context


def evaluation_episodes(
    policy: nn.Module,
    context: Context,
    episodes: int,
    greedy: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """``(rollout, scores)`` of ``episodes`` episodes, seeded by the context.

    ``scores`` is one row per episode: on the maze :func:`devrl.rollouts.episode_scores`'
    table (return, reached_cheese, reached_corner, regret, length, ...), elsewhere
    :func:`devrl.rollouts.episode_returns`' (return, discounted_return, length).
    ``overrides`` replaces some of the run's environment arguments (e.g. ``{"corner":
    None}``: the maze with the cheese anywhere); episodes are shared per set of overrides.
    """
    overrides = dict(overrides or {})
    env_kwargs = {**context.env_kwargs, **overrides}
    check_range("episodes", episodes, 1, integer=True)

    def compute():
        from devrl.envs.external import vector_env
        from devrl.rollouts import collect, episode_returns, episode_scores

        maze = context.env_id == MAZE_ID
        env = vector_env(
            context.env_id,
            min(int(episodes), 64),
            seed=context.measure_seed,
            env_kwargs=env_kwargs,
            wrappers=None if maze else context.wrappers,
        )
        try:
            roll = collect(
                policy, env, episodes=int(episodes), seed=context.measure_seed, greedy=greedy
            )
        finally:
            env.close()
        if maze:
            return roll, episode_scores(roll, reward=env.reward, gamma=context.gamma)
        return roll, episode_returns(roll, gamma=context.gamma)

    key = ("episodes", int(episodes), bool(greedy), id(policy), repr(sorted(overrides.items())))
    return context.shared(key, compute)


def state_buffer(
    policy: nn.Module,
    context: Context,
    states: str,
    samples: int,
    state_policy: int | str = "final",
    anywhere: float | None = None,
):
    """The :class:`~devrl.llc.StateBuffer` of ``states`` (``"self"``, ``"policy"``, ``"uniform"``).

    ``"self"``: states the measured policy visits; ``"policy"``: states ``state_policy``
    (a step, ``"final"`` or ``"initial"``) visits; ``"uniform"`` (maze only): every free
    cell of fixed levels. Seeded by the context, so every checkpoint sees the same levels.
    ``anywhere`` (maze only) replaces the run's ``cheese_anywhere`` share for this buffer:
    runs whose environments differ (before and after a goal switch) then share one buffer.
    """
    from devrl.llc.states import policy_states, uniform_states

    seed, kwargs = context.measure_seed, context.env_kwargs
    if anywhere is not None:
        context.require_env(MAZE_ID, "a buffer with anywhere=...")
        kwargs = {**kwargs, "cheese_anywhere": float(anywhere)}
    if states == "self":
        key, source = ("states", "self", id(policy)), policy
    elif states == "policy":
        source = context.policy_at(state_policy)
        key = ("states", "policy", id(source))
    elif states == "uniform":
        context.require_env(MAZE_ID, "states='uniform'")
        key, source = ("states", "uniform"), None
    else:
        raise ValueError(f"states must be 'self', 'policy' or 'uniform'; got {states!r}.")
    env = (
        {}
        if context.env_id == MAZE_ID
        else {"env_id": context.env_id, "wrappers": context.wrappers}
    )

    def compute():
        if source is None:
            return uniform_states(kwargs, samples, seed=seed)
        return policy_states(
            source, kwargs, samples, seed=seed, gamma=context.gamma, source=states, **env
        )

    tag = () if anywhere is None else (("anywhere", float(anywhere)),)
    return context.shared((*key, int(samples), *tag), compute)


__all__ = ["evaluation_episodes", "state_buffer"]
