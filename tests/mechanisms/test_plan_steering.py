"""Tests for devrl.mechanisms.plan_steering: a planted plan reader with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from devrl.envs.levels import ACTION_DELTAS, corner_cell
from devrl.envs.solver import bfs_distances
from devrl.hooks import HookPoint
from devrl.mechanisms.decision import sample_decision_levels
from devrl.mechanisms.lookahead import CellProbe
from devrl.mechanisms.plan_steering import (
    probe_direction,
    route_mask,
    route_steering,
    route_steering_summary,
)

S, C, G = 9, 1024, 15.0


def _first_actions(walls: np.ndarray, mouse: tuple[int, int]) -> np.ndarray:
    """``[4, S, S]`` bool: the shortest path from the mouse to the cell starts with action a."""
    d0 = bfs_distances(walls, mouse)
    out = np.zeros((4, S, S), bool)
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        r, c = mouse[0] + dr, mouse[1] + dc
        if 0 <= r < S and 0 <= c < S and not walls[r, c]:
            out[a] = (bfs_distances(walls, (r, c)) == d0 - 1) & (d0 > 0)
    return out


class PlanReader(nn.Module):
    """A corner-seeker (logit 10 on the corner's way) that also goes where its plan says.

    ``feat`` is 1 in channel 1 at every square; action ``a``'s logit gains ``G`` times the
    sum over squares reached through ``a`` of channel 0 (the planted plan channel).
    """

    def __init__(self):
        super().__init__()
        self.feat = HookPoint()

    def forward(self, obs: torch.Tensor):
        x = obs.float()
        feat = torch.zeros(len(x), C, S, S)
        feat[:, 1] = 1.0
        feat = self.feat(feat)
        logits = torch.zeros(len(x), 4)
        for b in range(len(x)):
            walls = x[b, 0].numpy().astype(bool)
            m = tuple(int(v) for v in np.argwhere(x[b, 1].numpy())[0])
            first = torch.as_tensor(_first_actions(walls, m), dtype=torch.float32)
            dk = bfs_distances(walls, corner_cell(S))
            for a, (dr, dc) in enumerate(ACTION_DELTAS):
                r, c = m[0] + dr, m[1] + dc
                if 0 <= r < S and 0 <= c < S and dk[r, c] == dk[m] - 1 >= 0:
                    logits[b, a] = 10.0
            logits[b] += G * (first * feat[b, 0]).sum((1, 2))
        return logits, torch.zeros(len(x))


def test_writing_the_plan_switches_and_random_directions_do_not():
    levels, _ = sample_decision_levels(S, 30, seed=0)
    e0 = torch.zeros(C)
    e0[0] = 1.0
    eff = route_steering(PlanReader(), levels, "feat", e0, coeffs=(1.0,), steps=6, seed=0)
    assert set(eff["chosen"]) == {"corner"}  # the corner-seeker always takes the corner branch
    s = route_steering_summary(eff).set_index("vector")
    assert s.loc["probe", "switched"] == 1.0
    assert s.loc["random", "switched"] < 0.2
    assert s.loc["chosen", "switched"] == 0.0
    assert s.loc["probe", "levels"] == 30


def test_probe_direction_is_the_raw_activation_gradient():
    probe = CellProbe("1x1", 3, 2)
    with torch.no_grad():
        probe.conv.weight[1, :, 0, 0] = torch.tensor([2.0, 0.0, 1.0])
        probe.std.copy_(torch.tensor([2.0, 1.0, 0.5]).view(1, 3, 1, 1))
    d = probe_direction(probe, 1)
    assert torch.allclose(d, torch.tensor([1.0, 0.0, 2.0]) / np.sqrt(5.0))
    with pytest.raises(ValueError, match="zero"):
        probe_direction(probe, 0)
    with pytest.raises(ValueError, match="1x1"):
        probe_direction(CellProbe("3x3", 3, 2), 0)


def test_route_mask_skips_the_start_and_covers_passages_on_stride_two():
    walls = np.ones((5, 5), bool)
    walls[4, :] = False  # a corridor along the bottom row
    walls[:, 4] = False  # and up the right column
    m1 = route_mask(walls, (4, 0), (0, 4), 3, 1)
    assert m1.sum() == 3 and m1[4, 1:4].all() and not m1[4, 0]
    m2 = route_mask(walls, (4, 0), (0, 4), 3, 2)  # squares (4,1..3): units (2,0..2) minus (2,0)
    assert m2.tolist() == [[False] * 3, [False] * 3, [False, True, True]]
