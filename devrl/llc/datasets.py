"""LLC datasets from rollouts: action likelihood, policy KL, value regression, regret.

An RL agent has no dataset, only interactions. To estimate a local learning
coefficient we fix a buffer of states and a per-sample loss of the network's output
at each state, and hand both to :func:`devrl.llc.estimate` through the
:class:`~devrl.llc.LLCData` protocol. Four losses, for any ``nn.Module`` returning
``(logits [B, A], value [B])``:

==========  ==============================================  ============================
kind        per-sample loss at state s                       minimum at the reference?
==========  ==============================================  ============================
action      −log π_w(a|s), a ~ π_ref(·|s) stored             in expectation over a (mean
                                                             at w = ref: the entropy)
kl          KL(π_ref(·|s) ‖ π_w(·|s)), π_ref stored          yes, exactly 0 at w = ref
value       ½ (v_w(s) − target)², target = v_ref(s) or       v_ref: yes, 0 at w = ref;
            the Monte-Carlo discounted return from s          return: in expectation only
regret      V*(s) − Σ_a π_w(a|s) Q*(s, a), V*, Q* from the   **no** (see below)
            exact solver on s's level
==========  ==============================================  ============================

Each is built here from arrays (states plus a reference network or the solver);
:func:`devrl.llc.rollout_dataset` (``devrl/llc/rollout_data.py``) builds one from a
policy's rollouts, choosing the states and the reference.

**The regret loss is not minimised at the reference.** Its minimum (0) is a
deterministic optimal policy, which a softmax reaches only as logits go to infinity;
a trained checkpoint sits on a slope with gradient g ≠ 0. SGLD then descends as
well as diffuses and, for a locally quadratic loss with curvatures h_i, the estimate
is (theory/llc_rl_datasets.md)::

    λ̂ ≈ ½ Σ_i nβh_i/(nβh_i + γ)  −  nβ² Σ_i g_i² (nβh_i + 2γ) / (2 (nβh_i + γ)²)

The second, first-order term is negative, grows as nβ², and in flat directions is
−nβ² g_i²/γ, so it depends on the localization γ. So λ̂ can be negative, and its
changes over training mix geometry with the size of the gradient. Report it as a
"regret-LLC" (after Elliott et al. 2026), not a learning coefficient in the sense of
singular learning theory, and keep γ fixed when comparing checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from devrl.llc.data import Forward, TensorData

Kind = Literal["action", "kl", "value", "regret"]
KINDS: tuple[str, ...] = ("action", "kl", "value", "regret")


def _split(output: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logits, value)`` of a model output that is a tuple or bare logits."""
    if isinstance(output, (tuple, list)):
        return output[0], (output[1] if len(output) > 1 else None)
    return output, None


Obs = np.ndarray | torch.Tensor
"""A batch of observations ``[n, C, H, W]`` (numpy or torch)."""


def _as_obs(obs: Obs) -> torch.Tensor:
    obs = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs)
    if obs.dim() < 2:
        raise ValueError(
            f"obs must be a batch of observations [n, *obs_shape] (the maze's: [n, 3, S, S]); "
            f"got shape {tuple(obs.shape)}."
        )
    return obs.float()  # converted once here, not at every SGLD step


class RolloutData(TensorData):
    """Base of the rollout datasets: observations first, then the loss's targets.

    Attributes:
        info: Provenance (kind, state source, seed, gamma, ...), recorded with results.
    """

    kind: str = ""

    def __init__(
        self, obs: torch.Tensor, *targets: torch.Tensor, info: Mapping[str, Any] | None = None
    ):
        super().__init__(_as_obs(obs), *targets)
        self.info = {"kind": self.kind, **dict(info or {})}

    @property
    def obs(self) -> torch.Tensor:
        """``[n, *obs_shape]`` float observations (maze: ``[n, C, H, W]``)."""
        return self.tensors[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, {', '.join(f'{k}={v!r}' for k, v in self.info.items() if k != 'kind')})"


class ActionLikelihoodData(RolloutData):
    """Per-sample loss −log π_w(a|s) of stored (state, action) pairs."""

    kind = "action"

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        obs, actions = batch
        logits, _ = _split(forward(obs))
        return -F.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


class PolicyKLData(RolloutData):
    """Per-sample loss KL(π_ref(·|s) ‖ π_w(·|s)) with the reference log-probs stored."""

    kind = "kl"

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        obs, ref_logp = batch  # [k, *obs_shape], [k, A]
        logits, _ = _split(forward(obs))
        logp = F.log_softmax(logits, dim=-1)
        return (ref_logp.exp() * (ref_logp - logp)).sum(-1)


class ValueData(RolloutData):
    """Per-sample loss ½ (v_w(s) − target)²: the unit-variance Gaussian NLL of the critic."""

    kind = "value"

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        obs, target = batch
        _, value = _split(forward(obs))
        if value is None:
            raise ValueError("ValueData needs a model returning (logits, value); got bare logits.")
        diff = value.reshape(target.shape) - target
        return 0.5 * diff * diff


class RegretData(RolloutData):
    """Per-sample one-step regret V*(s) − Σ_a π_w(a|s) Q*(s, a) (≥ 0; see the module docstring)."""

    kind = "regret"

    def loss(self, forward: Forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        obs, v_star, q_star = batch  # [k, C, H, W], [k], [k, A]
        logits, _ = _split(forward(obs))
        return v_star - (F.softmax(logits, dim=-1) * q_star).sum(-1)


# --------------------------------------------------------------------- vmap


def vmap_safe(model: nn.Module, example: torch.Tensor | None = None) -> nn.Module:
    """Check that ``torch.func.vmap`` can run ``model`` (the estimator's chains need it).

    A forward that queries or changes memory layout, calls ``.item()`` or branches on
    data fails under vmap with an obscure error deep in the sampler; this check fails
    early with a clear one. (``ActorCritic`` once converted its input to
    channels-last, which vmap cannot trace; it now skips that under vmap.)

    Args:
        model: The network to sample around.
        example: One batch of inputs ``[B, ...]``; default for an ``ActorCritic``: one
            zero observation of its ``obs_shape``. Without either, no check is made.

    Returns:
        ``model`` itself.

    Raises:
        ValueError: if the model cannot be evaluated under ``torch.func.vmap``.
    """
    if example is None:
        config = getattr(model, "config", None)
        config = config() if callable(config) else config
        shape = config.get("obs_shape") if isinstance(config, Mapping) else None
        if not shape:
            return model
        example = torch.zeros(1, *shape)
    try:
        with torch.no_grad():
            torch.func.vmap(model)(example.unsqueeze(0))
    except RuntimeError as err:
        raise ValueError(
            f"{type(model).__name__} cannot run under torch.func.vmap ({err}); the LLC "
            "estimator evaluates all chains at once with vmap. Make its forward pure tensor "
            "code (no .item(), no memory-format changes, no data-dependent branches)."
        ) from err
    return model


# --------------------------------------------------------------------- from arrays


@torch.no_grad()
def _reference_outputs(reference: nn.Module, obs: torch.Tensor, chunk: int = 4096):
    was_training = reference.training
    reference.eval()
    try:
        logits, values = [], []
        for start in range(0, len(obs), chunk):
            lg, v = _split(reference(obs[start : start + chunk]))
            logits.append(lg.float())
            values.append(None if v is None else v.float().reshape(len(lg)))
    finally:
        reference.train(was_training)
    return torch.cat(logits), (None if values[0] is None else torch.cat(values))


def action_likelihood_data(
    obs: Obs, reference: nn.Module, *, seed: int = 0, info: Mapping[str, Any] | None = None
) -> ActionLikelihoodData:
    """States ``obs`` with one action per state sampled from ``reference``.

    Args:
        obs: ``[n, *obs_shape]`` observations.
        reference: Policy ``obs -> (logits, value)`` whose actions are the labels.
        seed: Seeds the action sampling.
        info: Extra provenance to record.

    Returns:
        An :class:`ActionLikelihoodData` (mean loss at w = ref ≈ mean policy entropy).
    """
    obs = _as_obs(obs)
    logits, _ = _reference_outputs(reference, obs)
    gen = torch.Generator().manual_seed(int(seed))
    actions = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=gen).squeeze(-1)
    return ActionLikelihoodData(obs, actions, info=info)


def policy_kl_data(
    obs, reference: nn.Module, *, info: Mapping[str, Any] | None = None
) -> PolicyKLData:
    """States ``obs`` with ``reference``'s action log-probabilities stored.

    Returns:
        A :class:`PolicyKLData` (loss 0 at w = ref, ≥ 0 everywhere).
    """
    obs = _as_obs(obs)
    logits, _ = _reference_outputs(reference, obs)
    return PolicyKLData(obs, F.log_softmax(logits, dim=-1), info=info)


def value_data(
    obs: Obs,
    *,
    targets: np.ndarray | torch.Tensor | None = None,
    reference: nn.Module | None = None,
    info: Mapping[str, Any] | None = None,
) -> ValueData:
    """States ``obs`` with value targets: given ``targets``, or ``reference``'s own values.

    Args:
        obs: ``[n, *obs_shape]`` observations.
        targets: ``[n]`` targets (e.g. Monte-Carlo returns); exclusive with ``reference``.
        reference: Actor-critic whose value head provides the targets.
        info: Extra provenance.

    Returns:
        A :class:`ValueData`.
    """
    obs = _as_obs(obs)
    if (targets is None) == (reference is None):
        raise ValueError(
            "value_data needs exactly one of targets= (e.g. Monte-Carlo returns) "
            "or reference= (a model whose value head gives the targets)."
        )
    if reference is not None:
        _, targets = _reference_outputs(reference, obs)
        if targets is None:
            raise ValueError(
                "the reference model returns bare logits; value targets need "
                "a model returning (logits, value), or pass targets=."
            )
    targets = torch.as_tensor(
        np.asarray(targets, dtype=np.float32) if not isinstance(targets, torch.Tensor) else targets
    ).float()
    if targets.shape != (len(obs),) or not torch.isfinite(targets).all():
        raise ValueError(
            f"targets must be a finite [n={len(obs)}] vector; got shape {tuple(targets.shape)}."
        )
    return ValueData(obs, targets, info=info)


def regret_data(
    obs: Obs, *, reward: Any = None, gamma: float = 0.95, info: Mapping[str, Any] | None = None
) -> RegretData:
    """States ``obs`` (maze observations) with V*(s) and Q*(s, ·) from the exact solver.

    Each distinct level (walls, cheese) is solved once with
    :func:`devrl.envs.solver.solve`; the per-sample loss is the one-step regret
    V*(s) − Σ_a π_w(a|s) Q*(s, a), the quantity :mod:`devrl.maps` draws.

    Args:
        obs: ``[n, 3, S, S]`` maze observations (planes wall, mouse, cheese).
        reward: Reward object or spec of the env (default: the cheese reward).
        gamma: Discount of the solver, in (0, 1).
        info: Extra provenance.

    Returns:
        A :class:`RegretData` (not minimised at the reference: see the module docstring).
    """
    from devrl.envs.levels import level_from_obs
    from devrl.envs.rewards import reward_from_spec
    from devrl.envs.solver import solve

    arr = np.asarray(obs.numpy() if isinstance(obs, torch.Tensor) else obs)
    if arr.ndim != 4 or arr.shape[1] != 3:
        raise ValueError(
            f"regret data needs maze observations [n, 3, S, S]; got shape {arr.shape}."
        )
    reward = reward_from_spec(reward)
    v_star = np.empty(len(arr), np.float32)
    q_star = np.empty((len(arr), 4), np.float32)
    solved: dict[bytes, Any] = {}
    for i, o in enumerate(arr):
        walls, mouse, cheese = level_from_obs(o)
        key = walls.tobytes() + bytes(cheese)
        if key not in solved:
            solved[key] = solve(walls, cheese, reward=reward, gamma=gamma)
        sol = solved[key]
        v_star[i], q_star[i] = sol.V[mouse], sol.Q[mouse]
    if not (np.isfinite(v_star).all() and np.isfinite(q_star).all()):
        raise ValueError(
            "some states have no finite optimal value (mouse on a wall?); "
            "pass valid maze observations."
        )
    return RegretData(
        arr,
        torch.from_numpy(v_star),
        torch.from_numpy(q_star),
        info={"gamma": gamma, **dict(info or {})},
    )


def mean_entropy(policy: nn.Module, obs: Obs) -> float:
    """Mean entropy (nats) of ``policy``'s action distribution over ``obs``."""
    logits, _ = _reference_outputs(policy, _as_obs(obs))
    logp = F.log_softmax(logits, dim=-1)
    return float(-(logp.exp() * logp).sum(-1).mean())


__all__ = [
    "KINDS",
    "ActionLikelihoodData",
    "PolicyKLData",
    "RegretData",
    "RolloutData",
    "ValueData",
    "action_likelihood_data",
    "mean_entropy",
    "policy_kl_data",
    "regret_data",
    "value_data",
    "vmap_safe",
]
