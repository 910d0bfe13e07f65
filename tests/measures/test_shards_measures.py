"""The shard measures on hand-built networks whose answers are known, through Context."""

import sys
from pathlib import Path

import numpy as np
import pytest

from devrl.measures import MEASURES, Context, get_measure
from devrl.mechanisms import SeekerPolicy
from devrl.runs import Run
from devrl.track import track

sys.path.insert(0, str(Path(__file__).parents[1] / "mechanisms"))
from _shard_nets import FollowNet, OracleNet, p_cheese


def _rows(name, policy, context, **params):
    measure = get_measure(name, **params)
    return {r["measure"]: r["value"] for r in measure.rows(measure(policy, context))}


def test_registered():
    assert {
        "choice-regression",
        "cheese-vector",
        "cheese-channels",
        "cheese-probe",
        "retarget",
    } <= set(MEASURES)


def test_cheese_vector_and_channels_on_the_oracle(run_dir):
    run = Run.load(run_dir)
    context = Context(run, run.steps[-1])
    v = _rows("cheese-vector", OracleNet(), context, layer="hook_planes", levels=10)
    assert v["cheese-vector"] == pytest.approx(p_cheese(0.0) - p_cheese(1.0))
    assert v["cheese-vector/fell"] == 1.0
    assert v["cheese-vector/plus"] == pytest.approx(p_cheese(2.0) - p_cheese(1.0))
    assert abs(v["cheese-vector/random"]) < 0.5 * abs(v["cheese-vector"])
    c = _rows("cheese-channels", OracleNet(), context, layer="hook_planes", levels=10)
    assert c["cheese-channels"] == 1 and c["cheese-channels/share"] == pytest.approx(1 / 3)
    assert c["cheese-channels/max-r"] == pytest.approx(1.0)


def test_choice_regression_on_a_planted_rule(run_dir):
    run = Run.load(run_dir)
    context = Context(run, run.steps[-1])
    # goes to the cheese exactly when it lies in column >= 2: the cheese column decides
    r = _rows("choice-regression", OracleNet(sign_col=2), context, levels=200)
    assert r["choice-regression"] > 0.95
    assert r["choice-regression/gain"] > 0.1 and r["choice-regression/auc"] > 0.95
    assert r["choice-regression/coef-cheese_col"] > 1.0
    flat = _rows("choice-regression", SeekerPolicy("cheese"), context, levels=50)
    assert np.isnan(flat["choice-regression"]) and flat["choice-regression/baseline"] == 1.0


def test_track_on_a_real_checkpoint(run_dir):
    frame = track(
        run_dir,
        [get_measure("cheese-vector", levels=10), get_measure("cheese-channels", levels=10)],
        progress=False,
    )
    assert {"cheese-vector", "cheese-vector/fell", "cheese-channels/share"} <= set(frame["measure"])
    assert len(frame[frame["measure"] == "cheese-vector"]) == 2


def test_cheese_probe_reads_the_cheese_plane_exactly(run_dir):
    """The cheese plane is a one-hot map of the cheese: a linear probe decodes it."""
    run = Run.load(run_dir)
    context = Context(run, run.steps[-1])
    r = _rows("cheese-probe", FollowNet(), context, layer="hook_planes", levels=300)
    assert r["cheese-probe"] > 0.9 and r["cheese-probe/chance"] < 0.2


def test_retarget_sends_a_cheese_follower_to_every_clamped_cell(run_dir):
    run = Run.load(run_dir)
    context = Context(run, run.steps[-1])
    r = _rows("retarget", FollowNet(), context, layer="hook_planes", levels=10, k=1)
    assert r["retarget"] == 1.0 and r["retarget/move-cheese"] == 1.0
    assert r["retarget/gmean"] == pytest.approx(1.0, abs=1e-6)
    # off the ways to the cheese, the unedited follower never passes the target
    assert r["retarget/none"] == 0.0
