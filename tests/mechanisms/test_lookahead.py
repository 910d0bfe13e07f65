"""Tests for devrl.mechanisms.lookahead: planted activations with known answers, and rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from devrl.envs import MazeVecEnv
from devrl.mechanisms.lookahead import (
    ProbeData,
    fit_probe,
    grid_stride,
    layer_activations,
    predict,
    probe_data,
    probe_scores,
    rollout_states,
    score,
)
from devrl.rollouts import collect

HS = (1, 4)


def _planted(n: int, seed: int, signal: float, size: int = 5, channels: int = 4):
    """Random labels; channel 0 carries them (times ``signal``), the rest is noise."""
    rng = np.random.default_rng(seed)
    labels = rng.random((n, len(HS), size, size)) < np.array([0.1, 0.3])[None, :, None, None]
    acts = rng.normal(size=(n, channels, size, size))
    acts[:, 0] += signal * (2.0 * labels[:, 1] - 1.0)  # the horizon-4 label, in one channel
    walls = np.zeros((n, size, size), bool)
    pos = rng.integers(0, size, (n, 2))
    return probe_data(torch.as_tensor(acts), labels, walls, pos, nodes_only=False)


@pytest.mark.parametrize("kind", ["1x1", "3x3", "bilinear"])
def test_planted_channel_is_decoded_and_noise_is_not(kind):
    train, test = _planted(150, 0, 4.0), _planted(100, 1, 4.0)
    s = probe_scores(train, test, HS, kinds=[kind]).set_index("horizon")
    assert s.loc[4, "f1"] > 0.99 and s.loc[4, "auroc"] > 0.999
    assert 0.4 < s.loc[1, "auroc"] < 0.6  # horizon 1 is independent of the planted channel
    noise = probe_scores(_planted(150, 2, 0.0), _planted(100, 3, 0.0), HS, kinds=[kind])
    assert (noise["auroc"] - 0.5).abs().max() < 0.05


def test_bilinear_reads_the_mouse_cell():
    # Label: cell (i, j) is entered iff its channel-0 sign equals the sign at the mouse.
    rng = np.random.default_rng(0)

    def make(n):
        acts = rng.choice([-1.0, 1.0], size=(n, 2, 5, 5))
        pos = rng.integers(0, 5, (n, 2))
        at_mouse = acts[np.arange(n), 0, pos[:, 0], pos[:, 1]]
        labels = (acts[:, 0] == at_mouse[:, None, None])[:, None]
        return probe_data(torch.as_tensor(acts), labels, np.zeros((n, 5, 5), bool), pos,
                          nodes_only=False)  # fmt: skip

    train, test = make(200), make(100)
    s = probe_scores(train, test, (1,), kinds=["1x1", "bilinear"]).set_index("kind")
    assert s.loc["bilinear", "f1"] > 0.99
    assert s.loc["1x1", "auroc"] < 0.6  # no single cell's channels know the mouse's sign


def test_grid_map_of_a_stride_two_layer():
    assert grid_stride(9, 9, 9) == 1 and grid_stride(9, 5, 5) == 2
    with pytest.raises(ValueError, match="spatial shape"):
        grid_stride(9, 4, 4)
    labels = np.zeros((1, 1, 9, 9), bool)
    labels[0, 0, 2, 4] = labels[0, 0, 3, 4] = True  # a node and the passage below it
    walls = np.zeros((1, 9, 9), bool)
    walls[0, 8, 8] = True
    d = probe_data(torch.zeros(1, 2, 5, 5), labels, walls, np.array([[3, 4]]))
    assert d.labels[0, 0].sum() == 1 and d.labels[0, 0, 1, 2]  # the node (2, 4) -> unit (1, 2)
    assert not d.mask[0, 4, 4] and d.mask.sum() == 24  # the walled node is not scored
    # The mouse in the passage (3, 4) sits in the windows of units (1, 2) and (2, 2).
    assert d.mouse[0, 1, 2] == d.mouse[0, 2, 2] == 0.5 and d.mouse.sum() == 1
    full = probe_data(torch.zeros(1, 2, 9, 9), labels, walls, np.array([[3, 4]]))
    assert full.mask.sum() == 24 and full.mouse[0, 3, 4] == 1  # node squares only


def test_score_known_values_and_bad_inputs():
    probs = np.array([[[[0.9, 0.2], [0.6, 0.1]]]])
    labels = np.array([[[[True, False], [False, False]]]])
    mask = np.ones((1, 2, 2), bool)
    row = score(probs, labels, mask, (1,)).iloc[0]
    assert row["f1"] == pytest.approx(2 / 3) and row["auroc"] == 1.0 and row["positives"] == 1
    with pytest.raises(ValueError, match="must match"):
        score(probs, labels[:, :, :1], mask, (1,))
    with pytest.raises(ValueError, match="kind"):
        fit_probe("5x5", _planted(5, 0, 1.0))
    with pytest.raises(ValueError, match="acts"):
        probe_data(torch.zeros(2, 5, 5), labels, mask, np.zeros((2, 2)))


class _Net(nn.Module):
    """A conv net with one hook point: spatial activations the probes can read."""

    def __init__(self):
        super().__init__()
        from devrl.hooks import HookPoint

        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.hook_conv = HookPoint()
        self.head = nn.Linear(4, 4)

    def forward(self, obs):
        h = self.hook_conv(self.conv(obs.float()))
        return self.head(h.mean((2, 3))), torch.zeros(len(obs))


def test_rollout_states_and_activations():
    env = MazeVecEnv(num_envs=4, size=7, corner=None, max_steps=30)
    roll = collect(_Net(), env, episodes=6, seed=0)
    st = rollout_states(roll, HS, max_states=10)
    assert len(np.unique(st.episode)) == 6 and np.bincount(st.episode).max() <= 10
    assert st.own.shape == (len(st.obs), 2, 7, 7)
    r, c = st.positions.T
    np.testing.assert_array_equal(st.obs[np.arange(len(st.obs)), 1, r, c], 1)
    acts = layer_activations(_Net(), st.obs, "hook_conv")
    d = st.probe_data(acts, "cheese")
    assert isinstance(d, ProbeData) and d.labels.shape == (len(st.obs), 2, 7, 7)
    assert predict(fit_probe("1x1", d, max_iter=5), d).shape == d.labels.shape
    with pytest.raises(ValueError, match="max_states"):
        rollout_states(roll, HS, max_states=0)


@pytest.mark.parametrize("target", ["corner", "cheese"])
def test_corner_first_flags_of_the_seekers(target):
    from devrl.envs.levels import corner_cell
    from devrl.mechanisms import SeekerPolicy

    env = MazeVecEnv(num_envs=8, size=7, corner=None, max_steps=40)
    roll = collect(SeekerPolicy(target), env, episodes=16, seed=1, greedy=True)
    st = rollout_states(roll, HS)
    corner = np.array(corner_cell(7))
    for e in np.unique(st.episode):
        rows = st.episode == e
        at_corner = (st.positions[rows] == corner).all(axis=1).any() or st.corner_first[rows][0]
        cheese = roll.cheese_pos[roll.episode == e][0]
        if target == "corner" and not (cheese == corner).all():
            # the corner-seeker reaches the corner first unless the cheese lies on its way
            reached = (roll.next_mouse_pos[roll.episode == e] == cheese).all(axis=1).any()
            assert st.corner_first[rows].all() != reached
        if target == "cheese" and not at_corner:
            assert not st.corner_first[rows].any()
    if target == "corner":
        assert st.corner_first.any()
