"""Shard measures for track(): the behavioural regression, the cheese vector, cheese channels.

All are measured with the cheese anywhere at the run's maze size on the same seeded
levels with a decision square as ``decision-cheese`` (:mod:`devrl.measures.decision`),
so every checkpoint sees the same levels. Library functions: :mod:`devrl.mechanisms`.

==================  =================================================================
name                value (stderr)
==================  =================================================================
choice-regression   mean test accuracy over 50 random 80/20 splits of an L1 logistic
                    regression of "greedy action at the decision square goes to the
                    cheese" on z-scored geometry; ``/baseline`` the majority class,
                    ``/gain`` their difference, ``/auc`` the ROC AUC over the
                    splits, ``/coef-<feature>`` the coefficient
                    fitted on all levels (NaN when every level has the same choice)
cheese-vector       mean change of P(cheese action) at the decision square when each
                    level's cheese vector at ``layer`` is subtracted (se over levels);
                    ``/fell`` the fraction of levels where it fell, ``/median``,
                    ``/plus`` (mean change when added), ``/random`` and
                    ``/other-level`` (the controls, subtracted)
cheese-channels     channels of ``layer`` that both track the cheese (correlation
                    interval above ``min_r``) and matter (resampling changes the action
                    distribution by ``min_tv`` in total variation); ``/share`` of the
                    layer's channels, ``/tracking``, ``/mattering``, ``/max-r`` (largest
                    mean correlation), ``/layer-tv`` (whole layer resampled)
cheese-probe        held-out accuracy of a linear probe for the cheese's exact cell at
                    ``layer`` (mouse at the start, cheese anywhere; se binomial);
                    ``/chance`` the majority cell
retarget            share of levels on which clamping the ``k`` most cheese-correlated
                    channels of ``layer`` at a random cell off the ways to the cheese
                    and the corner sends the mouse there within ``max_steps`` (one
                    sampled episode per level; default the maze's free cells; levels
                    with no such cell are left out);
                    ``/gmean`` the path's geometric-mean probability, ``/none``,
                    ``/random-channels``, ``/move-cheese`` the same for the other
                    conditions
==================  =================================================================
"""

from __future__ import annotations

import numpy as np
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, register_measure
from devrl.measures.behaviour import mean_se

SHARD_LEVELS = 100
"""Levels with a decision square behind ``cheese-vector`` and ``cheese-channels``."""

REGRESSION_LEVELS = 1000
"""Levels with a decision square behind ``choice-regression``."""

PROBE_LEVELS = 1000
"""Cheese-anywhere levels behind ``cheese-probe`` (80% train, 20% held out)."""

LAYER = "trunk.res1.hook_out"
"""Default layer of the cheese vector and channels: present in every devrl ActorCritic."""


def _levels(context: Context, levels: int) -> list:
    from devrl.mechanisms.decision import sample_decision_levels

    size, seed = int(context.env_kwargs.get("size", 9)), context.measure_seed
    return context.shared(
        ("decision-levels", size, int(levels), seed),
        lambda: sample_decision_levels(size, int(levels), seed=seed)[0],
    )


def choice_regression_measure(
    policy: nn.Module, context: Context, *, levels: int = REGRESSION_LEVELS, C: float = 1.0
) -> dict[str, tuple[float, float]]:
    """Accuracy of the geometry at predicting the agent's decision-square choice."""
    from devrl.mechanisms.decision import decision_choices
    from devrl.mechanisms.regression import FEATURES, choice_regression, level_features

    context.require_env(MAZE_ID, "choice-regression")
    chosen = _levels(context, levels)
    choices = decision_choices(policy, chosen).set_index("level")
    features = level_features(chosen).set_index("level")
    y = (choices.loc[features.index, "branch"] == "cheese").to_numpy()
    nan = (np.nan, np.nan)
    if y.all() or not y.any():
        return {"": nan, "baseline": (1.0, np.nan), "gain": nan, "auc": nan} | {
            f"coef-{f}": nan for f in FEATURES
        }
    res = choice_regression(features, y, C=C, resamples=1, seed=context.measure_seed)
    coef = res.coefficients.set_index("feature")["coef"]
    return {
        "": (res.accuracy, np.nan),
        "baseline": (res.baseline, np.nan),
        "gain": (res.accuracy - res.baseline, np.nan),
        "auc": (res.auc, np.nan),
    } | {f"coef-{f}": (float(coef[f]), np.nan) for f in FEATURES}


def cheese_vector(
    policy: nn.Module, context: Context, *, layer: str = LAYER, levels: int = SHARD_LEVELS
) -> dict[str, tuple[float, float]]:
    """Change of P(cheese action) at the decision square with the cheese vector subtracted."""
    from devrl.mechanisms.steering import steering_effects

    context.require_env(MAZE_ID, "cheese-vector")
    eff = steering_effects(
        policy, _levels(context, levels), [layer], coeffs=(-1.0, 1.0), seed=context.measure_seed
    )

    def change(vector: str, coeff: float) -> np.ndarray:
        sel = eff[(eff["vector"] == vector) & (eff["coeff"] == coeff)]
        return sel["change"].to_numpy()

    own = change("cheese", -1.0)
    return {
        "": mean_se(own),
        "fell": mean_se(own < -1e-9),
        "median": (float(np.median(own)), np.nan),
        "plus": mean_se(change("cheese", 1.0)),
        "random": mean_se(change("random", -1.0)),
        "other-level": mean_se(change("other-level", -1.0)),
    }


def cheese_channel_count(
    policy: nn.Module,
    context: Context,
    *,
    layer: str = LAYER,
    levels: int = SHARD_LEVELS,
    min_r: float = 0.2,
    min_tv: float = 0.01,
) -> dict[str, tuple[float, float]]:
    """How many channels of ``layer`` track the cheese and matter to the policy."""
    from devrl.mechanisms.channels import (
        channel_correlations,
        cheese_channels,
        resampling_ablation,
    )

    context.require_env(MAZE_ID, "cheese-channels")
    chosen = _levels(context, levels)
    corr = channel_correlations(policy, chosen, [layer], seed=context.measure_seed)
    abl = resampling_ablation(policy, chosen, [layer], seed=context.measure_seed)
    row = cheese_channels(corr, abl, min_r=min_r, min_tv=min_tv).iloc[0]
    return {
        "": (float(row["both"]), np.nan),
        "share": (float(row["share"]), np.nan),
        "tracking": (float(row["tracking"]), np.nan),
        "mattering": (float(row["mattering"]), np.nan),
        "max-r": (float(corr["r"].max()), np.nan),
        "layer-tv": (float(row["layer_tv"]), np.nan),
    }


def cheese_probe_accuracy(
    policy: nn.Module, context: Context, *, layer: str = LAYER, levels: int = PROBE_LEVELS
) -> dict[str, tuple[float, float]]:
    """Held-out accuracy of a linear probe for the cheese's cell at ``layer``."""
    from devrl.envs.levels import sample_level
    from devrl.mechanisms.probe import cheese_probe

    context.require_env(MAZE_ID, "cheese-probe")
    size, seed = int(context.env_kwargs.get("size", 9)), context.measure_seed

    def anywhere() -> list:
        rng = np.random.default_rng(seed)
        return [sample_level(size, None, rng) for _ in range(int(levels))]

    chosen = context.shared(("anywhere-levels", size, int(levels), seed), anywhere)
    row = cheese_probe(policy, chosen, [layer], seed=seed).iloc[0]
    n_test = round(0.2 * len(chosen))
    acc = float(row["accuracy"])
    return {
        "": (acc, float(np.sqrt(acc * (1 - acc) / n_test))),
        "chance": (float(row["chance"]), np.nan),
    }


def retarget_rate(
    policy: nn.Module,
    context: Context,
    *,
    layer: str = LAYER,
    levels: int = SHARD_LEVELS,
    k: int = 3,
    scale: float = 5.0,
    max_steps: int | None = None,
) -> dict[str, tuple[float, float]]:
    """How often clamping the cheese channels at a cell sends the mouse there."""
    from devrl.mechanisms.channels import channel_correlations
    from devrl.mechanisms.retarget import cheese_edit, off_path_targets, retarget_scores

    context.require_env(MAZE_ID, "retarget")
    seed = context.measure_seed
    levels_all = _levels(context, levels)
    targets_all = off_path_targets(levels_all, seed=seed)
    keep = [i for i, t in enumerate(targets_all) if t is not None]
    chosen, targets = [levels_all[i] for i in keep], [targets_all[i] for i in keep]
    corr = channel_correlations(policy, chosen, [layer], seed=seed)
    channels, value = cheese_edit(policy, chosen, layer, corr, k=k, scale=scale)
    steps = int(max_steps) if max_steps else int((~chosen[0][0]).sum())
    scores = retarget_scores(
        policy,
        chosen,
        targets,
        layer,
        channels,
        value=value,
        max_steps=steps,
        seed=seed,
    )
    by = {c: g for c, g in scores.groupby("condition")}
    return {
        "": mean_se(by["clamp"]["reached"].to_numpy(float)),
        "gmean": mean_se(by["clamp"]["path_gmean"].to_numpy()),
        "none": mean_se(by["none"]["reached"].to_numpy(float)),
        "random-channels": mean_se(by["random-channels"]["reached"].to_numpy(float)),
        "move-cheese": mean_se(by["move-cheese"]["reached"].to_numpy(float)),
    }


register_measure(
    "choice-regression",
    choice_regression_measure,
    "accuracy of geometry at predicting the decision-square choice (vs majority)",
    levels=REGRESSION_LEVELS,
    C=1.0,
)
register_measure(
    "cheese-vector",
    cheese_vector,
    "change of P(cheese | decision square) with the cheese vector subtracted",
    layer=LAYER,
    levels=SHARD_LEVELS,
)
register_measure(
    "cheese-channels",
    cheese_channel_count,
    "channels that track the cheese and matter, at one layer",
    layer=LAYER,
    levels=SHARD_LEVELS,
    min_r=0.2,
    min_tv=0.01,
)

register_measure(
    "cheese-probe",
    cheese_probe_accuracy,
    "held-out accuracy of a linear probe for the cheese's cell at one layer",
    layer=LAYER,
    levels=PROBE_LEVELS,
)
register_measure(
    "retarget",
    retarget_rate,
    "share of levels where clamping the cheese channels at a cell sends the mouse there",
    layer=LAYER,
    levels=SHARD_LEVELS,
    k=3,
    scale=5.0,
    max_steps=None,
)

__all__ = [
    "cheese_channel_count",
    "cheese_probe_accuracy",
    "cheese_vector",
    "choice_regression_measure",
    "retarget_rate",
]
