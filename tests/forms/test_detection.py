"""Detection scoring against planted transitions: a curve that steps where the phase changes."""

import numpy as np
import pandas as pd
import pytest

from devrl.agents.tms_runs import TMSResult
from devrl.agents.tms_sgd import TMSSGDConfig
from devrl.forms.detection import detect, detection_table, loss_transitions, transition_stats
from devrl.theory.tms import kgon

STEPS = np.unique(np.geomspace(1, 10_000, 48).astype(int))
TAU = int(STEPS[STEPS >= 300][0])  # the first snapshot of the 5-gon


def _step_curve(level_before, level_after, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    value = np.where(STEPS >= TAU, level_after, level_before) + noise * rng.standard_normal(
        STEPS.size
    )
    return pd.DataFrame({"seed": seed, "step": STEPS, "value": value})


def test_loss_transitions_are_the_first_steps_of_new_plateaus():
    phases = pd.DataFrame(
        {"run": "r", "seed": 0, "step": np.arange(1, 11), "phase": ["4"] * 5 + ["5"] * 5}
    )
    got = loss_transitions(phases)
    assert got.to_dict("records") == [{"seed": 0, "tau": 6, "to": "5"}]


def test_a_planted_step_at_the_transition_is_detected_with_no_false_alarm():
    trans = pd.DataFrame({"seed": [0], "tau": [TAU], "to": ["5"]})
    d = detect(_step_curve(1.0, 3.0), trans, {0: 1}, min_shift=0.5)
    assert d["transitions"] == 1 and d["detected"] == 1.0
    assert d["jumps"] == 1 and d["jumps detected"] == 1.0
    assert d["false alarms"] == 0.0
    assert abs(np.log(TAU + d["lag (steps)"]) - np.log(TAU)) <= 0.2
    assert d["step at jumps"] == pytest.approx(2.0, abs=0.05) and d["jumps rising"] == 1.0


def test_a_flat_curve_detects_nothing_and_a_shift_far_away_is_a_false_alarm():
    trans = pd.DataFrame({"seed": [0], "tau": [TAU], "to": ["4+"]})  # no jump into k >= 5
    flat = detect(_step_curve(1.0, 1.0), trans, {0: 1}, min_shift=0.5)
    assert flat["detected"] == 0.0 and np.isnan(flat["false alarms"])
    assert flat["jumps"] == 0 and np.isnan(flat["step at jumps"])
    far = _step_curve(1.0, 1.0)
    far.loc[far.step >= 4000, "value"] += 2.0
    d = detect(far, trans, {0: 1}, min_shift=0.5)
    assert d["detected"] == 0.0 and d["false alarms"] == 1.0


def test_shifts_before_the_first_plateau_and_sub_threshold_shifts_are_ignored():
    trans = pd.DataFrame({"seed": [0], "tau": [TAU], "to": ["5"]})
    curve = _step_curve(1.0, 3.0)
    curve.loc[curve.step < 10, "value"] += 5.0  # the descent onto the first plateau
    assert detect(curve, trans, {0: 10}, min_shift=0.5)["false alarms"] == 0.0
    assert detect(curve, trans, {0: 1}, min_shift=0.5)["false alarms"] == 0.5
    assert detect(curve, trans, {0: 10}, min_shift=3.0)["detected"] == 0.0


def _planted_result():
    """One seed that sits at the 4-gon, then at the 5-gon from step TAU on."""
    cfg = TMSSGDConfig(n_seeds=1, run="planted")
    at5 = STEPS >= TAU
    W = np.where(at5[:, None, None], kgon("5").W, kgon("4").W)[None].astype(np.float32)
    b = np.where(at5[:, None], kgon("5").b, kgon("4").b)[None].astype(np.float32)
    loss = np.where(at5, kgon("5").loss, kgon("4").loss)
    metrics = pd.DataFrame(
        {"run": "planted", "seed": 0, "step": STEPS, "measure": "loss/population", "value": loss}
    )
    return TMSResult(cfg, STEPS, W, b, metrics, float("nan"))


def test_detection_table_scores_each_curve_and_the_loss_control():
    res = _planted_result()
    llc = _step_curve(5.0, 7.0).assign(run="planted", measure="llc/oracle")
    first = llc.assign(measure="first-order/oracle")
    table = detection_table(pd.concat([llc, first]), {"planted": res}, {"loss": 0.002, "llc": 0.5})
    # the parts of the LLC are scored too, so what each part detects is reported apart
    assert table.curve.tolist() == ["loss (control)", "first-order oracle", "LLC oracle"]
    assert (table.detected == 1.0).all() and (table["jumps detected"] == 1.0).all()
    assert {"recall lo", "null recall (random)", "p (circular)", "beats null"} <= set(table)
    rising = table.set_index("curve")["jumps rising"]
    assert rising["LLC oracle"] == 1.0 and rising["loss (control)"] == 0.0  # loss falls
    assert "lag (epochs)" in table and "lag (steps)" not in table


def test_a_step_at_every_seeds_transition_beats_the_nulls_and_a_misplaced_one_does_not():
    seeds = range(12)
    trans = pd.DataFrame({"seed": list(seeds), "tau": TAU, "to": "5"})
    at_tau = pd.concat([_step_curve(1.0, 3.0, seed=s) for s in seeds])
    d = detect(at_tau, trans, {}, min_shift=0.5, n_null=199)
    assert d["recall"] == 1.0 and d["precision"] == 1.0 and d["beats null"]
    assert d["p (random)"] < 0.01 and d["null recall (random)"] < 0.5
    assert d["step lo"] <= 2.0 <= d["step hi"] and d["p rising"] < 0.001  # 12 of 12 rise
    late = STEPS[STEPS >= 10 * TAU][0]  # a step far from the transition (log-distance 2.3)
    misplaced = at_tau.assign(value=np.where(at_tau.step >= late, 3.0, 1.0))
    d = detect(misplaced, trans, {}, min_shift=0.5, n_null=199)
    assert d["recall"] == 0.0 and not d["beats null"]


def test_transition_stats_of_a_planted_jump():
    row = transition_stats("planted", _planted_result())
    assert row["plateaus"] == "4, 5" and row["jumped"] == 1 and row["final"] == "5:1"
    assert row["jump epoch (median)"] == pytest.approx(TAU / 50)  # 1000 samples / batch 20
    assert row["epochs"] == round(10_000 / 50)
