"""Retargeting on a network that heads for the argmax of its cheese channel."""

import numpy as np
import pytest
import torch
from _shard_nets import FollowNet

from devrl.envs.levels import mouse_start
from devrl.mechanisms import channel_correlations, sample_decision_levels
from devrl.mechanisms.retarget import (
    cheese_edit,
    clamp_hook,
    off_path_targets,
    retarget_scores,
    shortest_path,
    touched_fraction,
)


def _on_path(walls, goal, cell):
    return cell in [(r, c) for r, c, _ in shortest_path(walls, mouse_start(walls.shape[0]), goal)]


def test_clamp_hook_sets_only_the_masked_channels():
    mask = torch.zeros(2, 3, 3, dtype=torch.bool)
    mask[0, 1, 1] = True
    out = clamp_hook(mask, [2], 5.0)(torch.zeros(2, 4, 3, 3), name="x")
    assert out.sum() == 5.0 and out[0, 2, 1, 1] == 5.0
    with pytest.raises(ValueError, match="clamp"):
        clamp_hook(mask, [2], 5.0)(torch.zeros(2, 4), name="x")


def test_retargeting_follow_net():
    levels, _ = sample_decision_levels(7, 10, seed=5)
    rng = np.random.default_rng(0)
    targets = []
    for walls, cheese in levels:
        free = [tuple(c) for c in np.argwhere(~walls) if tuple(c) not in (tuple(cheese), (6, 0))]
        targets.append(free[rng.integers(len(free))])
    scores = retarget_scores(
        FollowNet(), levels, targets, "hook_planes", [2], value=5.0, max_steps=60
    )
    by = {c: g.set_index("level") for c, g in scores.groupby("condition")}
    clear = np.array([not _on_path(w, t, tuple(c)) for (w, c), t in zip(levels, targets)])
    passes = np.array([_on_path(w, tuple(c), t) for (w, c), t in zip(levels, targets)])
    assert (by["clamp"]["reached"].to_numpy() == clear).all()
    assert np.allclose(by["clamp"]["path_gmean"][clear], 1.0, atol=1e-6)
    assert by["move-cheese"]["reached"].all()
    assert (by["none"]["reached"].to_numpy() == passes).all()
    hit, miss = np.exp(20) / (np.exp(20) + 3), 1 / (np.exp(20) + 3)
    for i, ((walls, cheese), t) in enumerate(zip(levels, targets, strict=True)):
        steps = shortest_path(
            walls, mouse_start(7), t
        )  # without intervention it heads for the cheese
        ps = [
            hit if a == shortest_path(walls, (r, c), tuple(cheese))[0][2] else miss
            for r, c, a in steps
        ]
        assert by["none"].loc[i, "path_gmean"] == pytest.approx(np.exp(np.mean(np.log(ps))))
    assert by["random-channels"]["reached"].equals(by["none"]["reached"])
    assert touched_fraction(FollowNet(), "hook_planes", [2], 7) == pytest.approx(1 / (3 * 49))
    with pytest.raises(ValueError, match="target"):
        retarget_scores(
            FollowNet(), levels[:1], [levels[0][1]], "hook_planes", [2], value=5.0, max_steps=5
        )


def test_off_path_targets_avoid_both_ways_and_are_free():
    levels, _ = sample_decision_levels(9, 20, seed=2)
    targets = off_path_targets(levels, seed=1)
    assert targets == off_path_targets(levels, seed=1)  # seeded
    for (walls, cheese), t in zip(levels, targets, strict=True):
        assert not walls[t] and t not in (tuple(cheese), (0, 8), mouse_start(9))
        assert not _on_path(walls, tuple(cheese), t) and not _on_path(walls, (0, 8), t)
        assert tuple(cheese) not in [(r, c) for r, c, _ in shortest_path(walls, mouse_start(9), t)]


def test_cheese_edit_picks_the_cheese_plane_of_a_follower():
    levels, _ = sample_decision_levels(7, 10, seed=5)
    corr = channel_correlations(FollowNet(), levels, ["hook_planes"])
    channels, value = cheese_edit(FollowNet(), levels, "hook_planes", corr, k=1, scale=5.0)
    assert channels == [2] and value == pytest.approx(5.0)  # the plane is one-hot: max 1
    with pytest.raises(ValueError, match="nothing to clamp"):
        cheese_edit(FollowNet(), levels, "other", corr)
