"""Default settings of the built-in measures: the one place they are written.

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

EPISODES = 128
"""Evaluation episodes per checkpoint shared by the behavioural measures."""

DECISION_LEVELS = 1000
"""Cheese-anywhere levels with a decision square behind ``decision-cheese`` (se ~ 0.015 at P = 0.5)."""

STATE_SAMPLES = 1024
"""States in an LLC dataset's buffer and in the uniform buffer of ``state-regret``."""

BATCH_SIZE = 64
NBETA = BATCH_SIZE / math.log(BATCH_SIZE)
"""Inverse temperature of the likelihood LLCs: the batch/ln(batch) rule."""

NBETA_REGRET = 10 * NBETA
"""Inverse temperature of the regret-LLC (its loss is ~20x smaller than a log-likelihood)."""

LLC_DEFAULTS: dict[str, Any] = {
    "states": "self",
    "state_policy": "final",
    "samples": STATE_SAMPLES,
    "lr": 1e-3,
    "nbeta": None,
    "localization": 100.0,
    "chains": 4,
    "draws": 60,
    "burnin": 40,
    "batch_size": BATCH_SIZE,
    "sampler": "sgld",
    "params": None,
    "subset": "all",
    "subset_radius": 2,
}
"""Sampler and dataset settings of every ``llc-*`` measure (``nbeta=None``: :data:`NBETA`;
``params``/``subset``: weight-/data-refined, see :func:`devrl.measures.llc.llc`)."""

__all__ = [
    "BATCH_SIZE",
    "DECISION_LEVELS",
    "EPISODES",
    "LLC_DEFAULTS",
    "NBETA",
    "NBETA_REGRET",
    "STATE_SAMPLES",
]
