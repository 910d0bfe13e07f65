"""The standard measures for :func:`devrl.track.track`, with documented default parameters.

Behavioural measures share one set of evaluation episodes per checkpoint
(``Context.episodes``): ``episodes`` sampled (not greedy) episodes on levels seeded
by the measurement seed, the same levels at every checkpoint.

=============  ===================================================================
name           value (stderr)
=============  ===================================================================
return         mean undiscounted episode return (se over episodes)
success        fraction of episodes that reach the cheese
corner         fraction of episodes that visit the top-right cell
length         mean episode length
regret         mean episode regret V*(start) − discounted return (exact solver)
entropy        mean policy entropy (nats) over the states of those episodes
state-regret   mean one-step regret V*(s) − Σ_a π(a|s) Q*(s,a) over a fixed uniform
               buffer of states (every free cell of fixed levels)
llc-action     LLC on action likelihood −log π_w(a|s), a ~ π_{w*}
llc-kl         LLC on KL(π_{w*}(·|s) ‖ π_w(·|s))
llc-value      LLC on ½ (v_w(s) − v_{w*}(s))² (``target="return"``: Monte-Carlo return)
llc-regret     "regret-LLC" on V*(s) − Σ_a π_w(a|s) Q*(s,a); not an SLT learning
               coefficient (w* is not a minimum: see devrl.llc.datasets)
=============  ===================================================================

LLC measures also emit diagnostics rows ``<name>/std`` (spread of the chains),
``/init_loss``, ``/rhat``, ``/frac_below_init``, ``/healthy`` and ``/seconds``.

LLC defaults (every ``llc-*`` measure): ``states="self"`` (on-policy), 1024 states,
SGLD with ``lr=1e-3``, ``nbeta = 64/ln 64 ≈ 15.4`` (the batch/ln batch rule),
localization ``γ=100``, 4 chains × 60 draws after 40 burn-in steps, batch 64: about
1.5 s of one CPU core per estimate for the maze network of the ``quick`` preset.
``llc-regret`` uses ``nbeta ≈ 154`` (10x): the regret loss is ~20x smaller than a
log-likelihood (of order 1 − discount), and at nβ ≈ 15 its posterior is flat.
These were calibrated with :func:`devrl.llc.calibrate` on the final checkpoint of a
``quick``-preset run (experiments/llc_over_training.py saves the sweep): the
largest lr at which both likelihood datasets (action, value) have healthy chains
agreeing within 50%. They are cheap settings for curves over many checkpoints, not
converged absolute values (estimates still rise with lr at 100 steps); keep them
fixed when comparing checkpoints, and recalibrate for another network or maze.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import nn

from devrl.track import Context, register_measure

LLC_DEFAULTS: dict[str, Any] = {
    "states": "self",
    "state_policy": "final",
    "samples": 1024,
    "lr": 1e-3,
    "nbeta": None,
    "localization": 100.0,
    "chains": 4,
    "draws": 60,
    "burnin": 40,
    "batch_size": 64,
    "sampler": "sgld",
}
NBETA_REGRET = 10 * 64 / math.log(64)
EPISODES = 128


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return float(x.mean()), float(se)


def _episode_column(column: str):
    def measure(
        policy: nn.Module, context: Context, *, episodes: int = EPISODES, greedy: bool = False
    ):
        _, scores = context.episodes(policy, episodes, greedy)
        return _mean_se(scores[column].astype(float))

    measure.__name__ = column
    return measure


def entropy(policy: nn.Module, context: Context, *, episodes: int = EPISODES, greedy: bool = False):
    """Mean policy entropy (nats) over the states of the evaluation episodes."""
    roll, _ = context.episodes(policy, episodes, greedy)
    p = roll.probs
    h = -(p * np.log(np.clip(p, 1e-30, None))).sum(axis=1)
    return _mean_se(h)


def state_regret(policy: nn.Module, context: Context, *, samples: int = 1024):
    """Mean one-step regret over a uniform buffer of states (the regret loss at w*)."""
    from devrl.llc.datasets import regret_data
    from devrl.llc.estimator import per_sample_losses
    from devrl.llc.states import uniform_states

    buffer = uniform_states(context.env_kwargs, samples, seed=context.measure_seed)
    data = regret_data(buffer.obs, reward=context.env_kwargs.get("reward"), gamma=context.gamma)
    return _mean_se(per_sample_losses(policy, data).numpy())


def llc(
    policy: nn.Module,
    context: Context,
    *,
    kind: str,
    states: str = "self",
    state_policy: int | str = "final",
    samples: int = 1024,
    target: str = "value",
    lr: float = 1e-3,
    nbeta: float | None = None,
    localization: float = 100.0,
    chains: int = 4,
    draws: int = 60,
    burnin: int = 40,
    batch_size: int | None = 64,
    sampler: str = "sgld",
) -> dict[str, Any]:
    """The LLC of ``policy`` on a rollout dataset of ``kind`` (see devrl.llc.datasets).

    ``state_policy`` (a step, ``"final"`` or ``"initial"``) is used when ``states="policy"``.
    The data and the chains are seeded with the measurement seed, so every checkpoint
    sees the same levels and the same SGLD noise.
    """
    from devrl.llc import estimate
    from devrl.llc.datasets import rollout_dataset, vmap_safe

    data = rollout_dataset(
        kind,
        policy,
        states=states,
        state_policy=context.policy_at(state_policy) if states == "policy" else None,
        env_kwargs=context.env_kwargs,
        samples=samples,
        seed=context.measure_seed,
        gamma=context.gamma,
        target=target,
    )
    res = estimate(
        vmap_safe(policy),
        data,
        lr=lr,
        nbeta=nbeta,
        localization=localization,
        chains=chains,
        draws=draws,
        burnin=burnin,
        batch_size=batch_size,
        sampler=sampler,
        seed=context.measure_seed,
        progress=False,
    )
    return {
        "": (res.mean, res.stderr),
        "std": res.std,
        "init_loss": res.init_loss,
        "rhat": res.rhat,
        "frac_below_init": res.frac_below_init,
        "healthy": float(res.healthy),
        "seconds": res.seconds,
    }


for _name, _column, _help in (
    ("return", "return", "mean undiscounted episode return"),
    ("success", "reached_cheese", "fraction of episodes reaching the cheese"),
    ("corner", "reached_corner", "fraction of episodes visiting the top-right cell"),
    ("length", "length", "mean episode length"),
    ("regret", "regret", "mean episode regret V*(start) - discounted return"),
):
    register_measure(_name, _episode_column(_column), _help, episodes=EPISODES, greedy=False)
register_measure(
    "entropy", entropy, "mean policy entropy over visited states", episodes=EPISODES, greedy=False
)
register_measure(
    "state-regret", state_regret, "mean one-step regret over uniform states", samples=1024
)
for _kind, _help in (
    ("action", "LLC, action likelihood -log pi_w(a|s), a ~ pi_w*"),
    ("kl", "LLC, policy KL(pi_w* || pi_w)"),
    ("value", "LLC, value regression 1/2 (v_w - target)^2"),
    ("regret", "regret-LLC, V*(s) - sum_a pi_w(a|s) Q*(s,a) (w* not a minimum)"),
):
    _defaults = dict(LLC_DEFAULTS, kind=_kind)
    if _kind == "value":
        _defaults["target"] = "value"
    if _kind == "regret":
        _defaults["nbeta"] = NBETA_REGRET
    register_measure(f"llc-{_kind}", llc, _help, **_defaults)

__all__ = ["EPISODES", "LLC_DEFAULTS", "NBETA_REGRET", "entropy", "llc", "state_regret"]
