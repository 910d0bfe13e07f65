"""A hand-built maze 'agent' whose cheese pursuit is read from one planted activation.

``OracleNet`` exposes the observation planes at ``hook_planes`` (channel 0 walls, 1
mouse, 2 cheese). Its logits put ``b`` on the action towards the top-right corner and
``a * g`` on the action towards the cheese, where ``g`` is the cheese channel of
``hook_planes`` read at the true cheese cell: 1 untouched, 0 when the cheese's activation
is removed. So at a decision square ``P(cheese) = e^{a g} / (e^{a g} + e^b + 2)``. The
corner term is ``b`` times ``1 -`` the wall channel at the top-right cell, so the corner
vector (the corner walled off) doubles it when added and removes it when subtracted.
"""

import numpy as np
import torch
from torch import nn

from devrl.envs.levels import corner_cell, next_cell_table
from devrl.envs.solver import bfs_distances
from devrl.hooks import HookPoint


def p_cheese(g: float, a: float = 2.0, b: float = 1.0) -> float:
    """The oracle's probability of the cheese action at a decision square."""
    return float(np.exp(a * g) / (np.exp(a * g) + np.exp(b) + 2))


def p_corner(k: float, a: float = 2.0, b: float = 1.0) -> float:
    """The oracle's probability of the corner action at a decision square, corner gain ``k``."""
    return float(np.exp(b * k) / (np.exp(a) + np.exp(b * k) + 2))


def _towards(walls: np.ndarray, mouse: tuple[int, int], goal: tuple[int, int]) -> int:
    d = bfs_distances(walls, goal).reshape(-1)
    s = mouse[0] * walls.shape[0] + mouse[1]
    nxt = next_cell_table(walls)[s]
    return int(np.flatnonzero(d[nxt] == d[s] - 1)[0])


class OracleNet(nn.Module):
    def __init__(self, a: float = 2.0, b: float = 1.0, sign_col: int | None = None):
        """``sign_col``: if set, the cheese term's sign is -1 for cheese left of that column."""
        super().__init__()
        self.sign_col = sign_col
        self.hook_planes = HookPoint()
        self.a, self.b = a, b
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = obs.float()
        h = self.hook_planes(x)  # [B, 3, S, S]
        logits = torch.zeros(len(x), 4) + 0 * self.dummy
        S = x.shape[-1]
        for i, planes in enumerate(x.numpy()):
            walls = planes[0] > 0.5
            m = int(planes[1].argmax())
            mouse = (m // S, m % S)
            if mouse != corner_cell(S) and not walls[corner_cell(S)]:
                free = 1 - h[i, 0, 0, S - 1]  # the corner's evidence: its cell is free
                logits[i, _towards(walls, mouse, corner_cell(S))] += self.b * free
            if planes[2].sum() == 1:
                c = int(planes[2].argmax())
                cheese = (c // S, c % S)
                if mouse != cheese:
                    g = h[i, 2, cheese[0], cheese[1]]
                    if self.sign_col is not None and cheese[1] < self.sign_col:
                        g = -g
                    logits[i, _towards(walls, mouse, cheese)] += self.a * g
        return logits, torch.zeros(len(x))


class FollowNet(nn.Module):
    """Heads for the argmax of the cheese channel of ``hook_planes`` (logit ``a``), and the corner (``b``).

    Clamping channel 2 above 1 at a cell retargets it there, exactly.
    """

    def __init__(self, a: float = 20.0, b: float = 0.0):
        super().__init__()
        self.hook_planes = HookPoint()
        self.a, self.b = a, b
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = obs.float()
        h = self.hook_planes(x)  # [B, 3, S, S]
        logits = torch.zeros(len(x), 4) + 0 * self.dummy
        S = x.shape[-1]
        for i, planes in enumerate(x.numpy()):
            walls = planes[0] > 0.5
            m = int(planes[1].argmax())
            mouse = (m // S, m % S)
            if mouse != corner_cell(S):
                logits[i, _towards(walls, mouse, corner_cell(S))] += self.b
            g = int(h[i, 2].argmax())
            if (g // S, g % S) != mouse:
                logits[i, _towards(walls, mouse, (g // S, g % S))] += self.a
        return logits, torch.zeros(len(x))
