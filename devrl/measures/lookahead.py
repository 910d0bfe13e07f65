"""Look-ahead measure for track(): how well a per-cell probe decodes the agent's own future path.

On greedy cheese-anywhere episodes at the run's maze size (the same seeded levels at every
checkpoint), a probe of ``kind`` (:data:`devrl.mechanisms.lookahead.KINDS`) at ``layer``
is fitted on the states of a random ``1 - test_share`` of the episodes to predict, at each
cell, whether the mouse enters it within ``N`` steps, and scored on the other episodes.
Library functions: :mod:`devrl.mechanisms.lookahead`.

==================  =============================================================
name                value (stderr NaN)
==================  =============================================================
lookahead           mean held-out AUROC over the horizons; ``/auroc-<N>`` and
                    ``/f1-<N>`` (threshold 0.5) per horizon ``N``; ``/states`` the
                    test states scored
lookahead-patching  on-/off-path ratio of the mean absolute effect of patching a
                    closed passage's units at ``layer``, at ``distance`` steps
                    (:mod:`devrl.mechanisms.lookahead_patching`); ``/ratio-<d>`` per
                    distance, ``/cell-on``, ``/cell-off``, ``/random-on`` (the
                    equal-norm null), ``/other-on``, ``/total-on``, ``/total-off``
                    (mean absolute log-odds drops at ``distance``), ``/pairs``
plan-steering       share of decision-square levels whose greedy action switches to
                    the unchosen branch when the horizon-``horizon`` 1x1 probe's
                    direction is written along it at ``layer``
                    (:mod:`devrl.mechanisms.plan_steering`); ``/random`` (same
                    norm), ``/chosen`` (written along the chosen branch),
                    ``/levels`` (levels whose greedy action takes a branch; NaN
                    shares when none does)
==================  =============================================================

With ``episodes_of="self"`` (default) the states and labels are the checkpoint's own
episodes. Early in training the agent barely moves, so its future path is nearly empty
and easy to predict (the untrained 9x9 agent scores AUROC 0.97 with F1 0): AUROCs of
different checkpoints then describe different tasks. ``episodes_of="final"`` probes every
checkpoint on the final checkpoint's episodes and future paths, a fixed task across
training (the "probe trained at the initial checkpoint" baseline of issue 13). The other
two measures take the same option: their pairs of levels, and the states the steering
probe is fitted on, come from those episodes.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, register_measure
from devrl.measures.decision import ANYWHERE
from devrl.measures.shards import LAYER, SHARD_LEVELS, _levels
from devrl.measures.shared import evaluation_episodes

LOOKAHEAD_EPISODES = 100
"""Greedy cheese-anywhere episodes behind ``lookahead`` (70% to fit, 30% to score)."""

MAX_STATES = 32
"""States kept from the start of each episode (a looping agent's repeats add little)."""


def _episodes(policy: nn.Module, context: Context, episodes: int, episodes_of: str):
    """Greedy cheese-anywhere episodes of the measured policy or of the final checkpoint."""
    if episodes_of not in ("self", "final"):
        raise ValueError(f"episodes_of must be 'self' or 'final', got {episodes_of!r}.")
    player = policy if episodes_of == "self" else context.policy_at("final")
    return evaluation_episodes(player, context, episodes, True, ANYWHERE)[0]


def lookahead(
    policy: nn.Module,
    context: Context,
    *,
    layer: str = LAYER,
    kind: str = "3x3",
    episodes: int = LOOKAHEAD_EPISODES,
    horizons: tuple[int, ...] = (1, 2, 4, 8, 16),
    test_share: float = 0.3,
    max_states: int = MAX_STATES,
    episodes_of: str = "self",
) -> dict[str, tuple[float, float]]:
    """Held-out F1 and AUROC of a future-path probe at ``layer``, per horizon."""
    from devrl.mechanisms.lookahead import layer_activations, probe_scores, rollout_states

    context.require_env(MAZE_ID, "lookahead")
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be in (0, 1), got {test_share!r}.")
    roll = _episodes(policy, context, episodes, episodes_of)
    states = rollout_states(roll, horizons, max_states=max_states)
    eps = np.unique(states.episode)
    rng = np.random.default_rng(context.measure_seed)
    n_test = max(1, round(test_share * len(eps)))
    if len(eps) - n_test < 1:
        raise ValueError(f"episodes must leave at least one episode to fit on, got {episodes}.")
    test = np.isin(states.episode, rng.choice(eps, n_test, replace=False))
    data = states.probe_data(layer_activations(policy, states.obs, layer))
    s = probe_scores(data.subset(~test), data.subset(test), states.horizons, kinds=[kind])
    out = {"": (float(np.nanmean(s["auroc"])), np.nan), "states": (float(test.sum()), np.nan)}
    for _, row in s.iterrows():
        out[f"auroc-{row['horizon']}"] = (float(row["auroc"]), np.nan)
        out[f"f1-{row['horizon']}"] = (float(row["f1"]), np.nan)
    return out


def lookahead_patching(
    policy: nn.Module,
    context: Context,
    *,
    layer: str = LAYER,
    distance: int = 4,
    episodes: int = LOOKAHEAD_EPISODES,
    max_states: int = MAX_STATES,
    episodes_of: str = "self",
) -> dict[str, tuple[float, float]]:
    """On-/off-path ratio of the effect of patching a closed passage's units at ``layer``."""
    from devrl.mechanisms.lookahead_patching import (
        DISTANCES,
        patching_effects,
        patching_summary,
        wall_pairs,
    )

    context.require_env(MAZE_ID, "lookahead-patching")
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}.")
    roll = _episodes(policy, context, episodes, episodes_of)
    pairs = wall_pairs(roll, DISTANCES, max_states=max_states, seed=context.measure_seed)
    if len(pairs) == 0:
        nan = (np.nan, np.nan)
        keys = ["", "cell-on", "cell-off", "random-on", "other-on", "total-on", "total-off"]
        return (
            {k: nan for k in keys}
            | {f"ratio-{d}": nan for d in DISTANCES}
            | {"pairs": (0.0, np.nan)}
        )
    eff = patching_effects(policy, roll.obs, pairs, [layer], seed=context.measure_seed)
    s = patching_summary(eff).set_index(["distance", "patch"])
    out: dict[str, tuple[float, float]] = {}
    for d in DISTANCES:
        out[f"ratio-{d}"] = (float(s["ratio"].get((d, "cell"), np.nan)), np.nan)
    out[""] = out[f"ratio-{distance}"]

    def at(patch: str, col: str) -> tuple[float, float]:
        return (float(s[col].get((distance, patch), np.nan)), np.nan)

    out |= {"cell-on": at("cell", "on_path"), "cell-off": at("cell", "off_path")}
    out |= {"random-on": at("random", "on_path"), "other-on": at("other", "on_path")}
    out |= {"total-on": at("total", "on_path"), "total-off": at("total", "off_path")}
    out["pairs"] = at("cell", "pairs")
    return out


def plan_steering(
    policy: nn.Module,
    context: Context,
    *,
    layer: str = LAYER,
    horizon: int = 8,
    coeff: float = 4.0,
    steps: int = 8,
    levels: int = SHARD_LEVELS,
    episodes: int = LOOKAHEAD_EPISODES,
    max_states: int = MAX_STATES,
    episodes_of: str = "self",
) -> dict[str, tuple[float, float]]:
    """Share of levels switched to the unchosen branch by writing the probe along it."""
    from devrl.mechanisms.lookahead import fit_probe, layer_activations, rollout_states
    from devrl.mechanisms.plan_steering import probe_direction, route_steering

    context.require_env(MAZE_ID, "plan-steering")
    roll = _episodes(policy, context, episodes, episodes_of)
    states = rollout_states(roll, (horizon,), max_states=max_states)
    probe = fit_probe("1x1", states.probe_data(layer_activations(policy, states.obs, layer)))
    nan = (np.nan, np.nan)
    try:
        direction = probe_direction(probe, 0)
        eff = route_steering(
            policy, _levels(context, levels), layer, direction, coeffs=(coeff,), steps=steps,
            seed=context.measure_seed,
        )  # fmt: skip
    except ValueError:  # no branch taken at any decision square, or a zero probe
        return {"": nan, "random": nan, "chosen": nan, "levels": (0.0, np.nan)}
    share = eff.groupby("vector")["switched"].mean()
    return {
        "": (float(share["probe"]), np.nan),
        "random": (float(share["random"]), np.nan),
        "chosen": (float(share["chosen"]), np.nan),
        "levels": (float((eff["vector"] == "probe").sum()), np.nan),
    }


register_measure(
    "lookahead",
    lookahead,
    "held-out AUROC/F1 of a per-cell probe for the agent's future path, per horizon",
    layer=LAYER,
    kind="3x3",
    episodes=LOOKAHEAD_EPISODES,
    episodes_of="self",
)

register_measure(
    "lookahead-patching",
    lookahead_patching,
    "on-/off-path ratio of patching a closed passage's units (look-ahead used?)",
    layer=LAYER,
    distance=4,
    episodes=LOOKAHEAD_EPISODES,
    max_states=MAX_STATES,
    episodes_of="self",
)

register_measure(
    "plan-steering",
    plan_steering,
    "share of decision squares switched by writing the path probe along the other branch",
    layer=LAYER,
    horizon=8,
    coeff=4.0,
    steps=8,
    levels=SHARD_LEVELS,
    episodes=LOOKAHEAD_EPISODES,
    max_states=MAX_STATES,
    episodes_of="self",
)

__all__ = ["lookahead", "lookahead_patching", "plan_steering"]
