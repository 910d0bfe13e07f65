"""Tests for devrl.mechanisms.lookahead_patching: a planted wall reader, and real rollouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from devrl.envs import MazeVecEnv
from devrl.envs.levels import generate_maze, observation
from devrl.hooks import HookPoint
from devrl.mechanisms.lookahead_patching import (
    covering_units,
    patching_effects,
    patching_summary,
    wall_pairs,
)
from devrl.rollouts import collect

S, C, W = 9, 64, 3.0


class WallReader(nn.Module):
    """Action 0's logit falls by ``W`` per wall on the planted cells; other cells are unread.

    ``feat`` holds the wall plane in channel 0 and zeros in the other ``C - 1`` channels,
    so a random direction of the same norm has only ~1/sqrt(C) of its norm where it is read.
    """

    def __init__(self, planted: np.ndarray):
        super().__init__()
        self.register_buffer("planted", torch.as_tensor(planted, dtype=torch.float32))
        self.feat = HookPoint()

    def forward(self, obs: torch.Tensor):
        x = obs.float()
        feat = torch.zeros(len(x), C, S, S)
        feat[:, 0] = x[:, 0]
        feat = self.feat(feat)
        read = (feat[:, 0] * self.planted).sum((1, 2))
        logits = torch.zeros(len(x), 4)
        logits[:, 0] = 5.0 - W * read
        return logits, torch.zeros(len(x))


def _pairs(n: int):
    rng = np.random.default_rng(0)
    obs, rows = [], []
    planted = np.zeros((S, S), bool)
    planted[1::2, 1] = True  # the passages of column 1 are read; those of column 3 are not
    for i in range(n):
        walls = generate_maze(S, rng)
        walls[1::2, 1] = False  # free passages to close in both columns
        walls[1::2, 3] = False
        obs.append(observation(walls, (8, 0), (0, 8)))
        r_on, r_off = 2 * rng.integers(4) + 1, 2 * rng.integers(4) + 1
        for where, (r, c) in (("on_path", (r_on, 1)), ("off_path", (r_off, 3))):
            rows.append({"state": i, "episode": i, "distance": 2, "where": where, "row": r,
                         "col": c, "other_row": r, "other_col": 5, "action": 0})  # fmt: skip
    return np.stack(obs), pd.DataFrame(rows), planted


def test_planted_cell_moves_behaviour_and_nulls_do_not():
    obs, pairs, planted = _pairs(60)
    net = WallReader(planted)
    eff = patching_effects(net, obs, pairs, ["feat"], seed=0)
    cell = eff[eff["patch"] == "cell"].set_index(["state", "where"])["effect"]
    # a wall on a read cell drops action 0's log-odds by exactly W; on an unread one, 0
    assert np.allclose(cell.xs("on_path", level="where"), W, atol=1e-6)
    assert np.allclose(cell.xs("off_path", level="where"), 0.0, atol=1e-6)
    tot = eff[eff["patch"] == "cell"].set_index("where")["total"]
    assert np.allclose(tot.loc["on_path"], W) and np.allclose(tot.loc["off_path"], 0.0)
    rand = eff[(eff["patch"] == "random") & (eff["where"] == "on_path")]["effect"].abs()
    assert rand.mean() < 0.25 * W  # same norm, mostly in unread channels
    other = eff[eff["patch"] == "other"]["effect"]
    assert np.allclose(other, 0.0, atol=1e-6)  # the corruption leaves column 5 unchanged
    summ = patching_summary(eff).set_index("patch")
    assert summ.loc["cell", "on_path"] == pytest.approx(W)
    assert summ.loc["random", "on_path"] < 0.25 * W


def test_hooks_are_removed_even_on_error():
    obs, pairs, planted = _pairs(3)
    net = WallReader(planted)
    with pytest.raises(ValueError, match="not a submodule|unknown module"):
        patching_effects(net, obs, pairs, ["nope"])
    assert not net.feat._forward_hooks


def test_covering_units():
    cells = np.array([[1, 4], [4, 3]])
    assert covering_units(cells, 1).tolist() == [[[1, 4]], [[4, 3]]]
    assert covering_units(cells, 2).tolist() == [[[0, 2], [1, 2]], [[2, 1], [2, 2]]]
    with pytest.raises(ValueError, match="passages"):
        covering_units(np.array([[2, 2]]), 2)


def test_wall_pairs_on_a_rollout_are_on_and_off_the_future_path():
    torch.manual_seed(0)
    from devrl.agents.network import ActorCritic

    net = ActorCritic((3, S, S), downsample=True, res_blocks=1, readout_plane=1).eval()
    env = MazeVecEnv(num_envs=8, size=S, corner=None, seed=1, max_steps=40)
    try:
        roll = collect(net, env, episodes=8, seed=1, greedy=False)
    finally:
        env.close()
    pairs = wall_pairs(roll, (1, 2, 4), max_states=10, seed=0)
    assert len(pairs) > 0 and set(pairs["where"]) == {"on_path", "off_path"}
    for _, p in pairs.iterrows():
        assert (p["row"] % 2) != (p["col"] % 2)  # a passage
        rows = np.flatnonzero(roll.episode == p["episode"])
        rows = rows[np.argsort(roll.t[rows])]
        k = int(np.flatnonzero(rows == p["state"])[0])
        future = np.concatenate([roll.mouse_pos[rows], roll.next_mouse_pos[rows[-1:]]])[k + 1 :]
        visited = {tuple(x) for x in future}
        cell = (p["row"], p["col"])
        if p["where"] == "on_path":
            assert tuple(future[p["distance"] - 1]) == cell
        else:
            assert cell not in visited
    eff = patching_effects(net, roll.obs, pairs, ["trunk.conv1.hook_out", "trunk.res1.hook_out"])
    assert eff["effect"].notna().any() and np.isfinite(eff["total"]).all()
