"""An LLC dataset from a policy's rollouts: choose the states, then the loss.

By default the reference (whose actions, probabilities or values are the labels) is the
checkpoint being measured, so the data are on-policy. The state distribution is chosen
separately (``states=``), to separate on-policy drift from parameter change when tracking
over training:

- ``"self"``: states visited by the measured policy itself;
- ``"policy"``: states visited by a fixed ``state_policy`` (e.g. the final checkpoint);
- ``"uniform"``: every free cell of a fixed set of levels (``devrl.maps.level_observations``),
  the same buffer for every checkpoint.

The losses themselves (action, kl, value, regret) are in :mod:`devrl.llc.datasets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from torch import nn

from devrl.llc.datasets import (
    KINDS,
    Kind,
    RolloutData,
    action_likelihood_data,
    policy_kl_data,
    regret_data,
    value_data,
)
from devrl.llc.states import (
    MAZE_ID,
    StateBuffer,
    _check_env_kwargs,
    _check_samples,
    policy_states,
    uniform_states,
)

StateSource = Literal["self", "policy", "uniform"]
STATE_SOURCES: tuple[str, ...] = ("self", "policy", "uniform")
TARGETS: tuple[str, ...] = ("value", "return")


def rollout_dataset(
    kind: Kind,
    policy: nn.Module,
    *,
    states: StateSource | StateBuffer = "self",
    state_policy: nn.Module | None = None,
    reference: nn.Module | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    samples: int = 2048,
    seed: int = 0,
    gamma: float = 0.95,
    target: str = "value",
    env_id: str = MAZE_ID,
    wrappers: Sequence[Any] | None = None,
) -> RolloutData:
    """Build an LLC dataset for ``policy`` (the checkpoint w* being measured).

    Args:
        kind: ``"action"``, ``"kl"``, ``"value"`` or ``"regret"`` (see the module docstring).
        policy: The measured network; also the default ``reference`` (on-policy data)
            and, for ``states="self"``, the policy whose visited states are used.
        states: ``"self"``, ``"policy"`` (states of ``state_policy``), ``"uniform"``
            (free cells of fixed levels), or a ready :class:`StateBuffer`.
        state_policy: The fixed policy for ``states="policy"`` (e.g. the final checkpoint).
        reference: Policy providing actions (action), probabilities (kl) or values
            (value, ``target="value"``); default ``policy``. Unused by regret.
        env_kwargs: ``MazeVecEnv`` arguments (size, corner, reward, max_steps); the
            reward also defines V*, Q* for regret.
        samples: Number of states.
        seed: Fixes the levels, the visited states, the subsample and sampled actions.
        gamma: Discount for Monte-Carlo returns and for the solver (regret).
        target: For ``kind="value"``: ``"value"`` (the reference's value, a minimum at
            w = ref) or ``"return"`` (Monte-Carlo return of the state-generating policy;
            needs rollout states).
        env_id: Any gymnasium environment with discrete actions (default the maze);
            ``"regret"`` and ``states="uniform"`` need the maze (its exact solver, its levels).
        wrappers: Wrapper specs of a non-maze environment (:mod:`devrl.envs.external`).

    Returns:
        An ``LLCData`` for :func:`devrl.llc.estimate`; ``.info`` records these choices.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}.")
    if not isinstance(policy, nn.Module):
        raise TypeError(
            f"policy must be an nn.Module returning (logits, value); got {type(policy).__name__}."
        )
    if not (isinstance(gamma, (int, float)) and 0.0 < gamma < 1.0):
        raise ValueError(f"gamma must be in (0, 1); got {gamma!r}.")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}; got {target!r}.")
    maze = env_id == MAZE_ID
    if not maze and (kind == "regret" or (isinstance(states, str) and states == "uniform")):
        what = "kind='regret' (the exact solver)" if kind == "regret" else "states='uniform'"
        raise ValueError(
            f"{what} needs the maze ({MAZE_ID}); {env_id} has neither solver nor levels. "
            "Use kind 'action', 'kl' or 'value' with states 'self' or 'policy'."
        )
    env_kwargs = _check_env_kwargs(env_kwargs) if maze else dict(env_kwargs or {})
    samples = _check_samples(samples)
    roll_env = {"env_id": env_id, "wrappers": wrappers} if not maze else {}
    if isinstance(states, StateBuffer):
        buffer = states
    elif states == "self":
        if state_policy is not None:
            raise ValueError(
                "state_policy is only used with states='policy'; drop it or set states='policy'."
            )
        buffer = policy_states(
            policy, env_kwargs, samples, seed=seed, gamma=gamma, source="self", **roll_env
        )
    elif states == "policy":
        if not isinstance(state_policy, nn.Module):
            raise TypeError(
                "states='policy' needs state_policy=<nn.Module> (e.g. the final checkpoint)."
            )
        buffer = policy_states(
            state_policy, env_kwargs, samples, seed=seed, gamma=gamma, source="policy", **roll_env
        )
    elif states == "uniform":
        buffer = uniform_states(env_kwargs, samples, seed=seed)
    else:
        raise ValueError(
            f"states must be one of {list(STATE_SOURCES)} or a StateBuffer; got {states!r}."
        )
    reference = policy if reference is None else reference
    info = {"states": buffer.source, "samples": len(buffer.obs), "seed": seed, "gamma": gamma}
    if kind == "action":
        return action_likelihood_data(buffer.obs, reference, seed=seed, info=info)
    if kind == "kl":
        return policy_kl_data(buffer.obs, reference, info=info)
    if kind == "regret":
        return regret_data(buffer.obs, reward=env_kwargs.get("reward"), gamma=gamma, info=info)
    if target == "return":
        if buffer.returns is None:
            raise ValueError(
                "target='return' needs states from rollouts (states='self' or "
                "'policy'); uniform states have no Monte-Carlo return."
            )
        return value_data(buffer.obs, targets=buffer.returns, info={**info, "target": "return"})
    return value_data(buffer.obs, reference=reference, info={**info, "target": "value"})


__all__ = ["STATE_SOURCES", "TARGETS", "rollout_dataset"]
