"""Emmons' statistics on a network that heads for the argmax of its cheese channel."""

import numpy as np
import pytest
from _shard_nets import FollowNet

from devrl.envs.levels import mouse_start, sample_level
from devrl.mechanisms.emmons import TARGETS, emmons_statistics, target_cell
from devrl.mechanisms.retarget import shortest_path


def _levels(n: int, size: int = 7) -> list:
    rng = np.random.default_rng(3)
    return [sample_level(size, 1, rng) for _ in range(n)]  # cheese in the top-right cell


def test_target_cells():
    walls, _ = _levels(1)[0]
    rng = np.random.default_rng(0)
    assert target_cell("top-left", walls, rng) == (0, 0)
    assert target_cell("bottom-right", walls, rng) == (6, 6)
    near = target_cell("near-start", walls, rng)
    assert near != mouse_start(7) and near[0] >= 4 and near[1] <= 2 and not walls[near]
    with pytest.raises(ValueError, match="target must be one of"):
        target_cell("middle", walls, rng)


def test_a_cheese_follower_reaches_every_moved_cheese_and_every_clamped_target():
    levels = _levels(12)
    stats = emmons_statistics(
        FollowNet(), levels, "hook_planes", [2], value=5.0, max_steps=60
    ).set_index(["target", "condition"])
    assert set(stats.index.get_level_values("target")) == set(TARGETS)
    for target in TARGETS:
        assert stats.loc[(target, "move-cheese"), "reached"] == 1.0
        # the clamp (5 > 1) outbids the real cheese in the top-right cell, unless the way to
        # the target passes the cheese first: never, since the cheese sits in a corner
        assert stats.loc[(target, "clamp"), "reached"] == 1.0
        assert stats.loc[(target, "clamp"), "touched"] == pytest.approx(1 / (3 * 49))
        assert stats.loc[(target, "none"), "touched"] == 0.0
        assert stats.loc[(target, "random-channels"), "n"] == 12
    # unedited, it goes to the top-right cheese: it passes the far corners only by chance
    for target in ("top-left", "bottom-right"):
        cell = (0, 0) if target == "top-left" else (6, 6)
        passes = [
            cell in [(r, c) for r, c, _ in shortest_path(w, mouse_start(7), tuple(ch))]
            for w, ch in levels
        ]
        assert stats.loc[(target, "none"), "reached"] == pytest.approx(np.mean(passes))
    short = emmons_statistics(FollowNet(), levels, "hook_planes", [2], value=5.0, max_steps=8)
    short = short.set_index(["target", "condition"])
    far = np.mean([len(shortest_path(w, mouse_start(7), (0, 0))) <= 8 for w, _ in levels])
    assert short.loc[("top-left", "move-cheese"), "within_reach"] == pytest.approx(far)
    assert short.loc[("top-left", "move-cheese"), "reached"] <= far  # the ceiling
    assert stats.loc[("top-left", "clamp"), "within_reach"] == 1.0  # 60 steps reach anything
    low, high = stats.loc[("top-left", "clamp"), ["low", "high"]]
    assert low < 1.0 and high == pytest.approx(1.0)
