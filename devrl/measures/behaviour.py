"""Behavioural measures of a policy, on evaluation episodes shared per checkpoint.

``return``, ``length`` and ``entropy`` work on any gymnasium environment with discrete
actions; ``success``, ``corner``, ``regret`` and ``state-regret`` need the maze.

``episodes`` sampled (not greedy) episodes on levels seeded by the measurement seed,
the same levels at every checkpoint (:func:`devrl.measures.shared.evaluation_episodes`).

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
=============  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, register_measure
from devrl.measures.defaults import EPISODES, STATE_SAMPLES
from devrl.measures.shared import evaluation_episodes, state_buffer

GENERIC_COLUMNS = ("return", "length")
"""Episode columns of any environment; the others need the maze (its solver, its cheese)."""


def mean_se(x) -> tuple[float, float]:
    """Mean and its standard error (NaN for fewer than two values)."""
    x = np.asarray(x, dtype=np.float64)
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return float(x.mean()), float(se)


def _episode_column(column: str) -> Callable[..., tuple[float, float]]:
    def measure(
        policy: nn.Module, context: Context, *, episodes: int = EPISODES, greedy: bool = False
    ) -> tuple[float, float]:
        if column not in GENERIC_COLUMNS:
            context.require_env(MAZE_ID, column)
        _, scores = evaluation_episodes(policy, context, episodes, greedy)
        return mean_se(scores[column].astype(float))

    measure.__name__ = column
    return measure


def entropy(
    policy: nn.Module, context: Context, *, episodes: int = EPISODES, greedy: bool = False
) -> tuple[float, float]:
    """Mean policy entropy (nats) over the states of the evaluation episodes."""
    roll, _ = evaluation_episodes(policy, context, episodes, greedy)
    p = roll.probs
    h = -(p * np.log(np.clip(p, 1e-30, None))).sum(axis=1)
    return mean_se(h)


def state_regret(
    policy: nn.Module, context: Context, *, samples: int = STATE_SAMPLES
) -> tuple[float, float]:
    """Mean one-step regret over a uniform buffer of states (the regret loss at w*)."""
    from devrl.llc.chains import per_sample_losses
    from devrl.llc.datasets import regret_data

    context.require_env(MAZE_ID, "state-regret")
    buffer = state_buffer(policy, context, "uniform", samples)
    data = regret_data(buffer.obs, reward=context.env_kwargs.get("reward"), gamma=context.gamma)
    return mean_se(per_sample_losses(policy, data).numpy())


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
    "state-regret", state_regret, "mean one-step regret over uniform states", samples=STATE_SAMPLES
)

__all__ = ["entropy", "mean_se", "state_regret"]
