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


def test_nan_weights_warn_naming_the_checkpoint(run_dir):
    import warnings

    import torch

    from devrl.evaluation import NonFiniteWeightsWarning, warn_nonfinite_weights
    from devrl.runs import Run

    run = Run.load(run_dir)
    net = run.policy(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_nonfinite_weights(net, "ok.pt") == 0
    with torch.no_grad():
        weight = next(net.parameters())
        weight.view(-1)[:3] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    run.save_checkpoint(200, net)
    with pytest.warns(NonFiniteWeightsWarning, match="3 NaN/infinite weight values"):
        assert warn_nonfinite_weights(net, "x.pt") == 3
    path = str(run.checkpoint_path(200))
    with pytest.warns(NonFiniteWeightsWarning, match=path):
        evaluate_run(str(run_dir), episodes=2)  # the latest checkpoint, step 200


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"episodes": 0}, ValueError, "episodes"),
        ({"episodes": 2.5}, TypeError, "episodes"),
        ({"episodes": True}, TypeError, "episodes"),
        ({"step": -1}, ValueError, "step"),
        ({"step": "100"}, TypeError, "step"),
        ({"seed": -3}, ValueError, "seed"),
        ({"greedy": "maybe"}, TypeError, "greedy"),
        ({"size": 4.0}, TypeError, "size"),
    ],
)
def test_bad_arguments_name_themselves(run_dir, kwargs, error, name):
    with pytest.raises(error, match=name):
        evaluate_run(str(run_dir), **kwargs)
