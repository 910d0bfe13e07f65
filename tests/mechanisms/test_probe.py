"""The cheese probe on a network with one layer that holds the cheese and one that does not."""

import numpy as np
import torch
from torch import nn

from devrl.envs.levels import sample_level
from devrl.hooks import HookPoint
from devrl.mechanisms.probe import cheese_probe


class TwoLayers(nn.Module):
    """``hook_cheese``: the cheese plane; ``hook_walls``: the wall plane (no cheese)."""

    def __init__(self):
        super().__init__()
        self.hook_cheese = HookPoint()
        self.hook_walls = HookPoint()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, obs):
        x = obs.float()
        a = self.hook_cheese(x[:, 2])
        b = self.hook_walls(x[:, 0])
        return (a.sum((1, 2)) + b.sum((1, 2)))[:, None].expand(-1, 4) + self.dummy


def test_probe_finds_the_cheese_only_where_it_is():
    rng = np.random.default_rng(0)
    levels = [sample_level(5, None, rng) for _ in range(600)]
    table = cheese_probe(TwoLayers(), levels, seed=0).set_index("layer")
    assert table.loc["hook_cheese", "accuracy"] == 1.0
    walls = table.loc["hook_walls"]
    assert walls["low"] < 0.2 and walls["accuracy"] < 3 * max(walls["chance"], 1 / 16)
    # 8 cells other than the start, 12 places a passage can be: 20 cells the cheese can take
    assert table.loc["hook_cheese", "cells"] == 20
    assert table.loc["hook_cheese", "features"] == 25
