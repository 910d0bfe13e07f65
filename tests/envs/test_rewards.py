"""Reward objects: tabular forms, sums, specs, validation."""

import json

import numpy as np
import pytest

from devrl.envs.levels import generate_maze
from devrl.envs.rewards import (
    CellReward,
    CheeseReward,
    CornerReward,
    NegatedReward,
    StepPenalty,
    SumReward,
    reward_from_spec,
)

WALLS = generate_maze(7, np.random.default_rng(0))
CHEESE = (2, 4)


def test_cheese_reward_table():
    t = CheeseReward().tabular(WALLS, CHEESE)
    assert t.step == 0.0 and t.cell[CHEESE] == 1.0 and t.cell.sum() == 1.0
    assert t.terminal[CHEESE] and t.terminal.sum() == 1


def test_corner_reward_ignores_cheese():
    t = CornerReward().tabular(WALLS, CHEESE)
    assert t.cell[0, 6] == 1.0 and t.terminal[0, 6] and t.terminal.sum() == 1
    assert t.cell[CHEESE] == 0.0


def test_cell_reward():
    t = CellReward(2, 2).tabular(WALLS, CHEESE)
    assert t.cell[2, 2] == 1.0 and t.terminal[2, 2] and t.terminal.sum() == 1


def test_step_penalty_and_sum():
    r = CheeseReward() + StepPenalty(0.01)
    assert isinstance(r, SumReward)
    t = r.tabular(WALLS, CHEESE)
    assert t.step == pytest.approx(-0.01)
    assert t.cell[CHEESE] == 1.0 and t.terminal.sum() == 1
    both = CheeseReward() + CornerReward() + StepPenalty(0.1)
    t = both.tabular(WALLS, CHEESE)
    assert t.terminal[CHEESE] and t.terminal[0, 6] and t.terminal.sum() == 2
    assert len(both.terms()) == 3  # sums flatten


@pytest.mark.parametrize(
    "reward",
    [
        CheeseReward(),
        CornerReward(),
        CellReward(4, 2),
        StepPenalty(0.05),
        CheeseReward() + StepPenalty(0.01),
        CornerReward() + CellReward(0, 0) + StepPenalty(-1),
        NegatedReward(CellReward(2, 4)),
        CheeseReward() + NegatedReward(CellReward(2, 4) + StepPenalty(0.1)),
    ],
)
def test_spec_round_trip(reward):
    spec = json.loads(json.dumps(reward.to_spec()))
    back = reward_from_spec(spec)
    assert back == reward and type(back) is type(reward)
    assert repr(back) == repr(reward)
    a, b = reward.tabular(WALLS, CHEESE), back.tabular(WALLS, CHEESE)
    assert np.array_equal(a.cell, b.cell) and a.step == b.step
    assert np.array_equal(a.terminal, b.terminal)


def test_equality_and_defaults():
    assert CheeseReward() != CornerReward()
    assert CellReward(1, 2) != CellReward(2, 1)
    assert reward_from_spec(None) == CheeseReward()
    r = StepPenalty(1)
    assert reward_from_spec(r) is r


@pytest.mark.parametrize(
    "spec",
    [
        "cheese",
        {"kind": "cheese"},
        {"type": "lava"},
        {"type": "cell", "row": 1},
        {"type": "cheese", "x": 1},
        {"type": "step_penalty", "c": float("nan")},
        {"type": "sum", "terms": []},
        {"type": "neg"},
        {"type": "neg", "base": {"type": "lava"}},
    ],
)
def test_bad_specs(spec):
    with pytest.raises(ValueError):
        reward_from_spec(spec)


def test_bad_cells():
    with pytest.raises(ValueError, match="non-negative"):
        CellReward(-1, 0)
    with pytest.raises(ValueError, match="outside"):
        CellReward(7, 0).tabular(WALLS, CHEESE)
    with pytest.raises(ValueError, match="mouse start"):
        CellReward(6, 0).tabular(WALLS, CHEESE)
    with pytest.raises(ValueError, match="finite"):
        StepPenalty(float("inf"))


def test_negated_reward_flips_payments_and_keeps_terminals():
    base = CellReward(2, 4) + StepPenalty(0.1)
    a, n = base.tabular(WALLS, CHEESE), NegatedReward(base).tabular(WALLS, CHEESE)
    assert n.cell[2, 4] == -1.0 and n.step == 0.1
    assert np.array_equal(n.terminal, a.terminal)
    with pytest.raises(TypeError, match="base"):
        NegatedReward("cheese")
