"""Corner before cheese and success against the corner-seeker, on seekers whose goal is known."""

import numpy as np
import pandas as pd
import pytest

from devrl.mechanisms import SeekerPolicy, pursuit_episodes, pursuit_stats, pursuit_table
from devrl.rollouts import evaluate


@pytest.fixture(scope="module")
def corner_table():
    return pursuit_episodes(SeekerPolicy("corner"), 7, episodes=80, seed=2)


@pytest.fixture(scope="module")
def cheese_table():
    return pursuit_episodes(SeekerPolicy("cheese"), 7, episodes=80, seed=2)


def test_pure_corner_seeker_goes_to_the_corner_first_on_every_decision_level(corner_table):
    stats = pursuit_stats(corner_table)
    assert stats["decision_episodes"] > 20
    assert stats["corner_first"] == 1.0 and stats["cheese_first"] == 0.0
    assert stats["success_minus_seeker"] == 0.0 and stats["success_ratio"] == 1.0
    assert stats["corner_first_low"] > 0.85  # Wilson lower bound for n/n with n > 20


def test_pure_cheese_seeker_never_does(cheese_table):
    stats = pursuit_stats(cheese_table)
    assert stats["corner_first"] == 0.0 and stats["cheese_first"] == 1.0
    assert stats["success"] == 1.0
    seeker = stats["corner_seeker_success"]
    assert stats["success_minus_seeker"] == pytest.approx(1 - seeker)
    lo, hi = stats["success_minus_seeker_low"], stats["success_minus_seeker_high"]
    assert lo < 1 - seeker < hi


def test_same_levels_as_evaluate(cheese_table):
    frame = evaluate(SeekerPolicy("cheese"), {"size": 7, "corner": None}, episodes=80, seed=2)
    assert np.array_equal(frame["length"], cheese_table["length"])
    assert np.array_equal(frame["reached_corner"], cheese_table["reached_corner"])


def test_corner_first_is_false_when_the_cheese_is_on_the_corner(corner_table):
    # A corner-seeker with the cheese on its path never reaches the corner first.
    assert not (corner_table["corner_first"] & corner_table["corner_seeker_success"]).any()


def test_bad_tables_raise():
    with pytest.raises(ValueError, match="pursuit_table"):
        pursuit_stats(pd.DataFrame({"reached_cheese": [True]}))
    with pytest.raises(ValueError, match="episode_scores"):
        pursuit_table(None, pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="env_kwargs"):
        pursuit_episodes(SeekerPolicy("cheese"), 7, episodes=2, env_kwargs={"corner": 1})
