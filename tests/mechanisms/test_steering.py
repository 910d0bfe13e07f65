"""Steering vectors on a hand-built network whose cheese pursuit has a known formula."""

import numpy as np
import pytest
import torch
from _shard_nets import OracleNet, p_cheese, p_corner

from devrl.agents.network import ActorCritic
from devrl.mechanisms import sample_decision_levels
from devrl.mechanisms.steering import (
    cheese_vectors,
    corner_vectors,
    same_norm_random,
    steering_effects,
    steering_summary,
)


@pytest.fixture(scope="module")
def levels():
    return sample_decision_levels(7, 12, seed=3)[0]


def test_cheese_vector_is_the_cheese_pixel(levels):
    vec = cheese_vectors(OracleNet(), levels)["hook_planes"]  # [N, 3, 7, 7]
    for v, (_, cheese) in zip(vec, levels, strict=True):
        expected = torch.zeros(3, 7, 7)
        expected[2, cheese[0], cheese[1]] = 1
        assert torch.equal(v, expected)


def test_steering_effects_match_the_formula(levels):
    effects = steering_effects(OracleNet(), levels, coeffs=(-1.0, 1.0), seed=0)
    assert set(effects["layer"]) == {"hook_planes"}
    cheese = effects[effects["vector"] == "cheese"]
    minus, plus = cheese[cheese["coeff"] == -1], cheese[cheese["coeff"] == 1]
    assert np.allclose(minus["p_before"], p_cheese(1.0))
    assert np.allclose(minus["p_after"], p_cheese(0.0))
    assert np.allclose(plus["p_after"], p_cheese(2.0))
    other = effects[(effects["vector"] == "other-level") & (effects["coeff"] == -1)]
    cells = [tuple(c) for _, c in levels]
    same = np.array([cells[i] == cells[(i + 1) % len(cells)] for i in range(len(cells))])
    assert np.allclose(other["p_after"], np.where(same, p_cheese(0.0), p_cheese(1.0)))
    random = effects[(effects["vector"] == "random") & (effects["coeff"] == -1)]
    assert np.allclose(random["norm"], 1.0)
    assert random["change"].abs().mean() < 0.2 * minus["change"].abs().mean()

    summary = steering_summary(effects).set_index(["vector", "coeff"])
    row = summary.loc[("cheese", -1.0)]
    assert row["fell"] == 1.0 and row["levels"] == len(levels)
    assert row["median_change"] == pytest.approx(p_cheese(0.0) - p_cheese(1.0))
    assert summary.loc[("cheese", 1.0), "fell"] == 0.0
    assert summary.loc[("cheese", 1.0), "rose"] == 1.0


def test_same_norm_random_keeps_norms():
    v = torch.randn(5, 4, 3, 3) * torch.arange(1, 6).view(5, 1, 1, 1)
    r = same_norm_random(v, seed=1)
    assert torch.allclose(r.flatten(1).norm(dim=1), v.flatten(1).norm(dim=1))
    assert not torch.allclose(r, v)


def test_steering_on_actor_critic_covers_every_layer(levels):
    net = ActorCritic((3, 7, 7), channels=4, hidden=8, readout_plane=1, downsample=True)
    effects = steering_effects(net, levels, coeffs=(-1.0,))
    assert set(effects["layer"]) == {
        "trunk.conv1.hook_out",
        "trunk.conv2.hook_out",
        "trunk.res1.hook_mid",
        "trunk.res1.hook_out",
        "trunk.hook_readout",
        "trunk.hook_dense",
    }
    assert len(effects) == 6 * 3 * len(levels)
    with pytest.raises(ValueError, match="missing"):
        steering_summary(effects.drop(columns="change"))


def test_corner_vector_matches_the_formula(levels):
    vec = corner_vectors(OracleNet(), levels)["hook_planes"]  # [N, 3, 7, 7]
    assert (vec[:, 0, 0, 6] == -1).all() and vec.abs().sum() == len(levels)
    effects = steering_effects(OracleNet(), levels, coeffs=(-1.0, 1.0), goal="corner")
    own = effects[effects["vector"] == "corner"]
    assert np.allclose(own["p_before"], p_corner(1.0))
    assert np.allclose(own.loc[own["coeff"] == 1, "p_after"], p_corner(2.0))
    assert np.allclose(own.loc[own["coeff"] == -1, "p_after"], p_corner(0.0))
    assert set(effects["vector"]) == {"corner", "random", "other-level"}
    with pytest.raises(ValueError, match="goal"):
        steering_effects(OracleNet(), levels, goal="wall")
    with pytest.raises(ValueError, match="region"):
        corner_vectors(OracleNet(), levels, region=7)
