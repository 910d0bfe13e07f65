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
    wilson, mean_interval, seed_level_interval
                                         (:mod:`devrl.mechanisms.intervals`: over
                                         levels, and over seeds and levels)
    goal_summary, goal_table, seeker_table, interval_text, GOAL_QUANTITIES
                                         (:mod:`devrl.mechanisms.summary`: all of
                                         it per seed and over seeds, as tables)
"""

from devrl.mechanisms.decision import (
    DecisionSquare,
    DecisionStats,
    decision_choices,
    decision_square,
    decision_stats,
    sample_decision_levels,
)
from devrl.mechanisms.intervals import mean_interval, seed_level_interval, wilson
from devrl.mechanisms.pursuit import pursuit_episodes, pursuit_stats, pursuit_table
from devrl.mechanisms.seekers import (
    QUANTITIES,
    SeekerPolicy,
    level_outcomes,
    maze_rates,
    seeker_baselines,
)
from devrl.mechanisms.summary import (
    GOAL_QUANTITIES,
    goal_summary,
    goal_table,
    interval_text,
    seeker_table,
)

__all__ = [
    "GOAL_QUANTITIES",
    "QUANTITIES",
    "DecisionSquare",
    "DecisionStats",
    "SeekerPolicy",
    "decision_choices",
    "decision_square",
    "decision_stats",
    "goal_summary",
    "goal_table",
    "interval_text",
    "level_outcomes",
    "maze_rates",
    "mean_interval",
    "pursuit_episodes",
    "pursuit_stats",
    "pursuit_table",
    "sample_decision_levels",
    "seed_level_interval",
    "seeker_baselines",
    "seeker_table",
    "wilson",
]
