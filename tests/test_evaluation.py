"""evaluate_run and summarize on a hand-made run directory, no training needed."""

from __future__ import annotations

import numpy as np
import pytest

from devrl.evaluation import evaluate_run, summarize


def test_evaluate_run_scores_both_conditions(run_dir):
    table = evaluate_run(str(run_dir), episodes=10, seed=1)
    assert list(table["condition"].unique()) == ["corner=1", "anywhere"]
    assert (table["step"] == 100).all() and len(table) == 20
    assert (table["gamma"] == 0.9).all()  # regret at the run's own discount
    found = table[table["reached_cheese"]]
    assert len(found) > 0
    np.testing.assert_allclose(found["discounted_return"], 0.9 ** (found["length"] - 1))
    ind = table[table["condition"] == "corner=1"]
    assert (table.loc[table["condition"] == "anywhere", "corner"].isna()).all()
    # In distribution the cheese is the corner cell: finding it means visiting the corner.
    assert (~ind["reached_cheese"] | ind["reached_corner"]).all()
    summary = summarize(table)
    assert list(summary.index) == ["corner=1", "anywhere"]
    assert summary.loc["corner=1", "success"] == pytest.approx(ind["reached_cheese"].mean())
    only = evaluate_run(str(run_dir), step=0, episodes=4, corner=None)
    assert list(only["condition"].unique()) == ["anywhere"] and (only["step"] == 0).all()
