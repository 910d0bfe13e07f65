"""Objectives in weight space: reward swaps, weight differences and Jozdien's patch (issue 14).

:mod:`devrl.objectives.tabular` is the exact theory (a tabular softmax policy; numpy only,
exported here). On the maze: :mod:`devrl.objectives.families` (reward families and how
orthogonal they are), :mod:`devrl.objectives.deltas` (Δ = MB − MA as per-layer tensors: norms,
cosines, shared and specific parts, random directions of equal norm) and
:mod:`devrl.objectives.patch` (MA − Δ, retraining, and whether the agent leans away from a
target), :mod:`devrl.objectives.pipeline` (one MA seed's fine-tunes, edits and patches, as a
resumable job), :mod:`devrl.objectives.summary` (estimates from its tables) and
:mod:`devrl.objectives.training` (editability over MA's training against its success and
LLC); import those modules directly (they load torch).
"""

from devrl.objectives.tabular import (
    Evaluation,
    TabularMDP,
    evaluate,
    fine_tune,
    first_order_delta,
    flip_fraction,
    greedy,
    greedy_logits,
    gridworld,
    normalized_return,
    objective,
    optimal_policy,
    policy_gradient,
    random_mdp,
    return_range,
    reward_orthogonality,
    saturation_bound,
    softmax_policy,
    split_common_specific,
)

__all__ = [
    "Evaluation",
    "TabularMDP",
    "evaluate",
    "fine_tune",
    "first_order_delta",
    "flip_fraction",
    "greedy",
    "greedy_logits",
    "gridworld",
    "normalized_return",
    "objective",
    "optimal_policy",
    "policy_gradient",
    "random_mdp",
    "return_range",
    "reward_orthogonality",
    "saturation_bound",
    "softmax_policy",
    "split_common_specific",
]
