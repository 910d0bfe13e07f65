"""Transplants and negations: MA + alpha * direction, scored on the direction's own target.

Why: if the specific part of Delta_k carries "reach cell k", adding it to MA should make the
agent visit cell k more than it visits the other targets (transplant), and subtracting it
should make it visit k less (negation), beyond what a random direction with the same
per-layer norms does. Scores are relative to MA on the same evaluation episodes (common
random numbers), and "own minus others" removes changes that hit every cell alike (an
edit that breaks the agent changes visits everywhere).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from devrl.objectives.deltas import add_delta
from devrl.objectives.patch import lean, own_minus_others
from devrl.runs import Run

__all__ = ["edit_effect", "edited_policy"]


def edited_policy(
    run: Run, state: Mapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor], alpha: float
) -> torch.nn.Module:
    """``run``'s network with weights ``state + alpha * delta`` (eval mode)."""
    model = run.policy()
    model.load_state_dict(add_delta(state, delta, alpha))
    return model.eval()


def edit_effect(arm: pd.DataFrame, base: pd.DataFrame, own: str, seed: int = 0) -> dict[str, float]:
    """How an edited network treats target ``own`` compared with the unedited one.

    Args:
        arm, base: :func:`devrl.objectives.patch.episode_target_stats` tables of the edited
            and the unedited network (several targets, ``own`` among them).
        own: the target the edit is about (``"cell_r_c"``).

    Returns:
        ``d_visit_own`` (change of the visit rate of ``own``), ``d_visit`` and ``d_dist``
        (own minus the mean over the other targets: positive ``d_visit`` = goes to its own
        target more than to others), ``d_success`` and ``d_length`` (cheese success and
        episode length, the edit's cost in competence), ``success_arm``, ``success_base``
        and the episode counts ``n_arm``, ``n_base`` (for an interval of ``d_success``).
    """
    table = lean(arm, base, seed=seed, n_resamples=200)
    per_ep = {name: t.drop_duplicates("episode") for name, t in (("arm", arm), ("base", base))}
    rel = own_minus_others(table, own)
    success = {k: float(np.mean(v["reached_cheese"])) for k, v in per_ep.items()}
    return {
        "d_visit_own": float(table.loc[table["target"] == own, "d_visit"].iloc[0]),
        "d_visit": rel["d_visit"],
        "d_dist": rel["d_dist"],
        "d_success": float(
            np.mean(per_ep["arm"]["reached_cheese"]) - np.mean(per_ep["base"]["reached_cheese"])
        ),
        "d_length": float(np.mean(per_ep["arm"]["length"]) - np.mean(per_ep["base"]["length"])),
        "success_arm": success["arm"],
        "success_base": success["base"],
        "n_arm": len(per_ep["arm"]),
        "n_base": len(per_ep["base"]),
    }
