"""Mechanisms: which goal a maze agent pursues, read off its behaviour and the solver.

Public API:
    decision_square, DecisionSquare, sample_decision_levels, decision_choices,
    decision_stats, DecisionStats        (:mod:`devrl.mechanisms.decision`)
    level_outcomes, maze_rates, seeker_baselines, QUANTITIES, SeekerPolicy
                                         (:mod:`devrl.mechanisms.seekers`: exact
                                         corner- and cheese-seeker baselines)
    pursuit_episodes, pursuit_table, pursuit_stats
                                         (:mod:`devrl.mechanisms.pursuit`: corner
                                         before cheese, success against the seeker)
    goal_summary, goal_table, seeker_table, interval_text, GOAL_QUANTITIES
                                         (:mod:`devrl.mechanisms.summary`: all of
                                         it per seed and over seeds, as tables)
    level_features, choice_regression, vif, FEATURES, RegressionResult
                                         (:mod:`devrl.mechanisms.regression`: which
                                         geometry predicts going to the cheese)
    cheese_vectors, corner_vectors, steering_effects, steering_summary, same_norm_random
                                         (:mod:`devrl.mechanisms.steering`: the
                                         cheese vector and its controls)
    channel_correlations, resampling_ablation, cheese_channels, cheese_indicator
                                         (:mod:`devrl.mechanisms.channels`: channels
                                         that track the cheese and matter)
    cheese_probe                         (:mod:`devrl.mechanisms.probe`: a linear
                                         probe for the cheese's exact cell)
    trajectory_labels, shortest_path_labels, episode_labels, FuturePathLabels,
    HORIZONS                             (:mod:`devrl.mechanisms.future_path`: cells
                                         the mouse will enter within N steps)
    fit_probe, probe_data, probe_scores, rollout_states, layer_activations,
    KINDS, ProbeData, RolloutStates
                                         (:mod:`devrl.mechanisms.lookahead`: per-cell
                                         probes for the future path)
    wall_pairs, patching_effects, patching_summary, covering_units
                                         (:mod:`devrl.mechanisms.lookahead_patching`:
                                         is a wall on the future path read there?)
    probe_direction, route_mask, route_steering, route_steering_summary
                                         (:mod:`devrl.mechanisms.plan_steering`: write
                                         another route into the probed plan)
    retarget_scores, clamp_hook, touched_fraction, cheese_edit, off_path_targets,
    within_reach,
    CONDITIONS                           (:mod:`devrl.mechanisms.retarget`: clamp
                                         channels at a target cell)
    emmons_statistics, target_cell       (:mod:`devrl.mechanisms.emmons`: far corners,
                                         a cheese by the start, edits that send the mouse)
"""

from devrl.mechanisms.channels import (
    channel_correlations,
    cheese_channels,
    cheese_indicator,
    resampling_ablation,
)
from devrl.mechanisms.decision import (
    DecisionSquare,
    DecisionStats,
    decision_choices,
    decision_square,
    decision_stats,
    sample_decision_levels,
)
from devrl.mechanisms.emmons import emmons_statistics, target_cell
from devrl.mechanisms.future_path import (
    HORIZONS,
    FuturePathLabels,
    episode_labels,
    shortest_path_labels,
    trajectory_labels,
)
from devrl.mechanisms.lookahead import (
    KINDS,
    ProbeData,
    RolloutStates,
    fit_probe,
    layer_activations,
    probe_data,
    probe_scores,
    rollout_states,
)
from devrl.mechanisms.lookahead_patching import (
    covering_units,
    patching_effects,
    patching_summary,
    wall_pairs,
)
from devrl.mechanisms.plan_steering import (
    probe_direction,
    route_mask,
    route_steering,
    route_steering_summary,
)
from devrl.mechanisms.probe import cheese_probe
from devrl.mechanisms.pursuit import pursuit_episodes, pursuit_stats, pursuit_table
from devrl.mechanisms.regression import (
    FEATURES,
    RegressionResult,
    choice_regression,
    level_features,
    vif,
)
from devrl.mechanisms.retarget import (
    CONDITIONS,
    cheese_edit,
    clamp_hook,
    off_path_targets,
    retarget_scores,
    touched_fraction,
    within_reach,
)
from devrl.mechanisms.seekers import (
    QUANTITIES,
    SeekerPolicy,
    level_outcomes,
    maze_rates,
    seeker_baselines,
)
from devrl.mechanisms.steering import (
    cheese_vectors,
    corner_vectors,
    same_norm_random,
    steering_effects,
    steering_summary,
)
from devrl.mechanisms.summary import (
    GOAL_QUANTITIES,
    goal_summary,
    goal_table,
    interval_text,
    seeker_table,
)

__all__ = [
    "CONDITIONS",
    "FEATURES",
    "GOAL_QUANTITIES",
    "HORIZONS",
    "KINDS",
    "QUANTITIES",
    "DecisionSquare",
    "DecisionStats",
    "FuturePathLabels",
    "ProbeData",
    "RegressionResult",
    "RolloutStates",
    "SeekerPolicy",
    "channel_correlations",
    "cheese_channels",
    "cheese_edit",
    "cheese_indicator",
    "cheese_probe",
    "cheese_vectors",
    "choice_regression",
    "clamp_hook",
    "corner_vectors",
    "covering_units",
    "decision_choices",
    "decision_square",
    "decision_stats",
    "emmons_statistics",
    "episode_labels",
    "fit_probe",
    "goal_summary",
    "goal_table",
    "interval_text",
    "layer_activations",
    "level_features",
    "level_outcomes",
    "maze_rates",
    "off_path_targets",
    "patching_effects",
    "patching_summary",
    "probe_data",
    "probe_direction",
    "probe_scores",
    "pursuit_episodes",
    "pursuit_stats",
    "pursuit_table",
    "resampling_ablation",
    "retarget_scores",
    "rollout_states",
    "route_mask",
    "route_steering",
    "route_steering_summary",
    "same_norm_random",
    "sample_decision_levels",
    "seeker_baselines",
    "seeker_table",
    "shortest_path_labels",
    "steering_effects",
    "steering_summary",
    "target_cell",
    "touched_fraction",
    "trajectory_labels",
    "vif",
    "wall_pairs",
    "within_reach",
]
