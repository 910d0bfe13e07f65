"""goal_summary on planted per-seed tables."""

import numpy as np
import pandas as pd
import pytest

from devrl.mechanisms import GOAL_QUANTITIES, goal_summary


def _planted(seed: int, success: float, p_cheese: float, n: int = 100):
    k = int(success * n)
    pursuit = pd.DataFrame(
        {
            "run_seed": seed,
            "reached_cheese": np.arange(n) < k,
            "corner_seeker_success": np.arange(n) < n // 4,
            "decision_square": np.arange(n) >= n // 2,
            "corner_first": np.arange(n) >= n // 2,  # every decision episode: corner first
        }
    )
    choices = pd.DataFrame(
        {"run_seed": seed, "p_cheese": np.full(n, p_cheese), "branch": ["corner"] * n}
    )
    return pursuit, choices


def test_goal_summary_recovers_planted_values():
    parts = [_planted(0, 0.5, 0.1), _planted(1, 0.3, 0.3)]
    table = goal_summary(
        pd.concat([p for p, _ in parts]), pd.concat([c for _, c in parts])
    ).set_index(["seed", "quantity"])
    assert set(table.index.get_level_values("seed")) == {"0", "1", "all"}
    assert set(table.index.get_level_values("quantity")) == set(GOAL_QUANTITIES)
    assert table.loc[("0", "success"), "estimate"] == 0.5
    assert table.loc[("1", "success_minus_seeker"), "estimate"] == pytest.approx(0.05)
    assert table.loc[("0", "corner_first"), "estimate"] == 1.0
    assert table.loc[("0", "corner_first"), "n"] == 50
    assert table.loc[("all", "p_cheese_ds"), "estimate"] == pytest.approx(0.2)
    # constant within seeds: the interval over seeds spans the two seeds' values
    assert table.loc[("all", "p_cheese_ds"), "low"] == pytest.approx(0.1)
    assert table.loc[("all", "p_cheese_ds"), "high"] == pytest.approx(0.3)
    assert table.loc[("0", "greedy_cheese_ds"), "estimate"] == 0.0
    assert (table["low"] <= table["estimate"] + 1e-12).all()
    assert (table["estimate"] <= table["high"] + 1e-12).all()


def test_missing_seed_column_raises():
    pursuit, choices = _planted(0, 0.5, 0.1)
    with pytest.raises(ValueError, match="run_seed"):
        goal_summary(pursuit.drop(columns="run_seed"), choices)


def test_tables_format_estimates_with_intervals():
    from devrl.mechanisms import goal_table, interval_text, seeker_baselines, seeker_table

    assert interval_text(0.38412, 0.381, 0.3869) == "0.384 [0.381, 0.387]"
    parts = [_planted(0, 0.5, 0.1), _planted(1, 0.3, 0.3)]
    summary = goal_summary(pd.concat([p for p, _ in parts]), pd.concat([c for _, c in parts]))
    table = goal_table(summary)
    assert table["seed"].tolist() == ["0", "1", "all seeds"]
    assert table.loc[0, "success"].startswith("0.500 [")
    seekers = seeker_table(seeker_baselines(5, [1, 3, None], mazes=20))
    assert list(seekers.columns) == [
        "size",
        "corner-seeker, corner 3",
        "corner-seeker, anywhere",
        "P(decision square), anywhere",
        "cheese-seeker corner first, anywhere",
    ]
    assert seekers["size"].tolist() == ["5x5"]
