"""Look-ahead measure for track(): how well a per-cell probe decodes the agent's own future path.

On greedy cheese-anywhere episodes at the run's maze size (the same seeded levels at every
checkpoint), a probe of ``kind`` (:data:`devrl.mechanisms.lookahead.KINDS`) at ``layer``
is fitted on the states of a random ``1 - test_share`` of the episodes to predict, at each
cell, whether the mouse enters it within ``N`` steps, and scored on the other episodes.
Library functions: :mod:`devrl.mechanisms.lookahead`.

==========  =====================================================================
name        value (stderr NaN)
==========  =====================================================================
lookahead   mean held-out AUROC over the horizons; ``/auroc-<N>`` and ``/f1-<N>``
            (threshold 0.5) per horizon ``N``; ``/states`` the test states scored
==========  =====================================================================

With ``episodes_of="self"`` (default) the states and labels are the checkpoint's own
episodes. Early in training the agent barely moves, so its future path is nearly empty
and easy to predict (the untrained 9x9 agent scores AUROC 0.97 with F1 0): AUROCs of
different checkpoints then describe different tasks. ``episodes_of="final"`` probes every
checkpoint on the final checkpoint's episodes and future paths, a fixed task across
training (the "probe trained at the initial checkpoint" baseline of issue 13).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures.base import Context, register_measure
from devrl.measures.decision import ANYWHERE
from devrl.measures.shards import LAYER
from devrl.measures.shared import evaluation_episodes

LOOKAHEAD_EPISODES = 100
"""Greedy cheese-anywhere episodes behind ``lookahead`` (70% to fit, 30% to score)."""

MAX_STATES = 32
"""States kept from the start of each episode (a looping agent's repeats add little)."""


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
    if episodes_of not in ("self", "final"):
        raise ValueError(f"episodes_of must be 'self' or 'final', got {episodes_of!r}.")
    player = policy if episodes_of == "self" else context.policy_at("final")
    roll, _ = evaluation_episodes(player, context, episodes, True, ANYWHERE)
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


register_measure(
    "lookahead",
    lookahead,
    "held-out AUROC/F1 of a per-cell probe for the agent's future path, per horizon",
    layer=LAYER,
    kind="3x3",
    episodes=LOOKAHEAD_EPISODES,
    episodes_of="self",
)

__all__ = ["lookahead"]
