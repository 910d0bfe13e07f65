"""LLC measures: the local learning coefficient on a rollout dataset at each checkpoint.

=============  ===================================================================
name           value (stderr)
=============  ===================================================================
llc-action     LLC on action likelihood −log π_w(a|s), a ~ π_{w*}
llc-kl         LLC on KL(π_{w*}(·|s) ‖ π_w(·|s))
llc-value      LLC on ½ (v_w(s) − v_{w*}(s))² (``target="return"``: Monte-Carlo return)
llc-regret     "regret-LLC" on V*(s) − Σ_a π_w(a|s) Q*(s,a); not an SLT learning
               coefficient (w* is not a minimum: see devrl.llc.datasets)
=============  ===================================================================

Each also emits diagnostics rows ``<name>/std`` (spread of the chains),
``/init_loss``, ``/rhat``, ``/frac_below_init``, ``/healthy`` and ``/seconds``.
Settings: :data:`devrl.measures.defaults.LLC_DEFAULTS`. Refined LLCs (Wang et al. 2024) are
options of every kind: ``params`` (weight-refined: a comma-separated list of parameter names,
globs or module prefixes; the others held at w*) and ``subset`` (data-refined, maze: the
states in :data:`devrl.llc.maze_subsets.STATE_SUBSETS`), e.g.
``--set llc-kl.params=trunk.0 --set llc-kl.subset=decision``. The four kinds share one
buffer of states per checkpoint (:func:`devrl.measures.shared.state_buffer`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, Measure, get_measure, register_measure
from devrl.measures.defaults import LLC_DEFAULTS, NBETA_REGRET
from devrl.measures.shared import state_buffer


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
    params: str | None = None,
    subset: str = "all",
    subset_radius: int = 2,
    buffer_anywhere: float | None = None,
) -> dict[str, Any]:
    """The LLC of ``policy`` on a rollout dataset of ``kind`` (see devrl.llc.datasets).

    ``state_policy`` (a step, ``"final"`` or ``"initial"``) is used when ``states="policy"``.
    ``params`` (comma-separated names/globs/prefixes) samples only those parameters;
    ``subset`` restricts the loss to the buffer's maze states of that kind (``"decision"``,
    ``"junction"``, ``"corridor"``, ``"near-cheese"`` within ``subset_radius`` steps); the
    minibatch is capped at the subset's size, and the ``n`` row records that size.
    ``buffer_anywhere`` replaces the run's ``cheese_anywhere`` share for the state buffer
    (:func:`~devrl.measures.shared.state_buffer`), so runs on different environments are
    measured on one buffer; it is not among the registered defaults, so the cache keys of
    measures that leave it unset do not change (set it with ``dataclasses.replace`` on
    the measure's ``params``).
    The data and the chains are seeded with the measurement seed, so every checkpoint
    sees the same levels and the same SGLD noise. A chain that diverges gives a NaN estimate
    with ``healthy`` 0 and a ``diverged`` row of 1 (only then), and a warning, instead of
    stopping the whole tracked run.
    """
    from devrl.llc import ChainDivergedError, estimate
    from devrl.llc.datasets import vmap_safe
    from devrl.llc.rollout_data import rollout_dataset

    if kind == "regret":  # before collecting states: the loss needs the maze's solver
        context.require_env(MAZE_ID, "llc-regret")
    buffer = state_buffer(policy, context, states, samples, state_policy, buffer_anywhere)
    data = rollout_dataset(
        kind,
        policy,
        states=buffer,
        env_kwargs=context.env_kwargs,
        samples=samples,
        seed=context.measure_seed,
        gamma=context.gamma,
        target=target,
        env_id=context.env_id,
    )
    mask = None
    if subset != "all":
        from devrl.llc.maze_subsets import maze_state_mask

        context.require_env(MAZE_ID, f"llc-{kind} subset={subset!r}")
        mask = maze_state_mask(buffer.obs, subset, subset_radius)
        if not mask.any():
            raise ValueError(
                f"no state of the {len(mask)}-state buffer is in subset {subset!r}; "
                "use more samples or another subset."
            )
        if batch_size is not None:
            batch_size = min(batch_size, int(mask.sum()))
    names = None if params is None else [p.strip() for p in params.split(",") if p.strip()]
    try:
        res = estimate(
            vmap_safe(policy),
            data,
            subset=mask,
            params=names,
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
            warn=False,  # health is tracked as its own rows (rhat, healthy)
        )
    except ChainDivergedError as err:
        # one runaway chain must not stop a tracked run: the estimate is missing (NaN) and
        # unhealthy, and a ``diverged`` row (present only then) says why
        warnings.warn(f"llc-{kind}: {err}; recorded as NaN", RuntimeWarning, stacklevel=2)
        nan = float("nan")
        return {"": (nan, nan), "healthy": 0.0, "diverged": 1.0}
    return {
        "": (res.mean, res.stderr),
        "std": res.std,
        "init_loss": res.init_loss,
        "rhat": res.rhat,
        "frac_below_init": res.frac_below_init,
        "healthy": float(res.healthy),
        "seconds": res.seconds,
        **({"n": float(res.config["n"])} if mask is not None else {}),
    }


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


def uniform_llc(calibration: Mapping[str, Any]) -> Measure:
    """``llc-action-uniform``: the action-likelihood LLC on the fixed uniform state buffer at
    a calibrated SGLD setting (``lr``, ``localization``, ``nbeta`` of a ``calibration.json``).

    Why: the uniform buffer does not drift with the policy, so the estimate over training
    follows the parameters; sections that reuse one calibration share one estimator.
    """
    chosen = {k: calibration[k] for k in ("lr", "localization", "nbeta")}
    measure = get_measure("llc-action", **chosen, states="uniform")
    return dataclasses.replace(measure, name="llc-action-uniform")


__all__ = ["llc", "uniform_llc"]
