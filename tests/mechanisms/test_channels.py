"""Cheese channels on a hand-built network with a planted cheese channel (channel 2)."""

import numpy as np
import pytest
import torch
from _shard_nets import OracleNet, p_cheese

from devrl.agents.network import ActorCritic
from devrl.mechanisms import sample_decision_levels
from devrl.mechanisms.channels import (
    channel_correlations,
    cheese_channels,
    cheese_indicator,
    resampling_ablation,
)


@pytest.fixture(scope="module")
def levels():
    return sample_decision_levels(7, 15, seed=4)[0]


def test_cheese_indicator_full_and_half_resolution():
    full = cheese_indicator(np.array([[2, 4]]), 7, (7, 7))
    assert full.sum() == 1 and full[0, 2, 4] == 1
    half = cheese_indicator(np.array([[2, 4], [1, 4]]), 7, (4, 4))
    assert torch.nonzero(half[0]).tolist() == [[1, 2]]  # a cell: one unit
    assert torch.nonzero(half[1]).tolist() == [[0, 2], [1, 2]]  # a passage: both neighbours
    with pytest.raises(ValueError, match="shape"):
        cheese_indicator(np.array([[0, 0]]), 7, (3, 3))


def test_planted_cheese_channel_is_found(levels):
    net = OracleNet()
    corr = channel_correlations(net, levels).set_index("channel")
    assert corr.loc[2, "r"] == pytest.approx(1.0) and corr.loc[2, "r_low"] == pytest.approx(1.0)
    assert corr.loc[0, "r_high"] < 0 and corr.loc[1, "r_high"] < 0  # walls, mouse
    abl = resampling_ablation(net, levels, seed=0)
    by = abl.groupby("channel")
    before = np.array([np.exp(2), np.exp(1), 1, 1]) / (np.exp(2) + np.exp(1) + 2)
    after = np.array([1, np.exp(1), 1, 1]) / (1 + np.exp(1) + 2)
    assert np.allclose(by.get_group(2)["tv"], 0.5 * np.abs(after - before).sum())
    assert np.allclose(by.get_group(2)["change"], p_cheese(0.0) - p_cheese(1.0))
    assert np.allclose(by.get_group(0)["tv"], 0) and np.allclose(by.get_group(1)["tv"], 0)
    assert np.allclose(by.get_group(-1)["tv"], by.get_group(2)["tv"])  # whole layer
    table = cheese_channels(channel_correlations(net, levels), abl).iloc[0]
    assert (table["channels"], table["tracking"], table["mattering"], table["both"]) == (3, 1, 1, 1)
    assert table["share"] == pytest.approx(1 / 3) and table["which"] == "2"
    rare = channel_correlations(net, levels).assign(defined=0.1)  # a channel silent on 90%
    assert cheese_channels(rare, abl).iloc[0]["tracking"] == 0


def test_actor_critic_layers_and_errors(levels):
    net = ActorCritic((3, 7, 7), channels=4, hidden=8, readout_plane=1, downsample=True)
    corr = channel_correlations(net, levels)
    assert set(corr["layer"]) == {
        "trunk.conv1.hook_out",
        "trunk.conv2.hook_out",
        "trunk.res1.hook_mid",
        "trunk.res1.hook_out",
    }
    assert len(corr) == 4 * 4
    abl = resampling_ablation(net, levels, layers=["trunk.res1.hook_out"])
    assert len(abl) == len(levels) * 5 and (abl["tv"] >= 0).all()
    with pytest.raises(ValueError, match="spatial"):
        channel_correlations(net, levels, layers=["trunk.hook_dense"])
    with pytest.raises(ValueError, match="ablation"):
        cheese_channels(corr, abl.drop(columns="tv"))
