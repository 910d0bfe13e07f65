"""experiments/goal_study_analysis.py on a planted sweep: final values, forms across corner
size, and the effect of corner size on when success rises."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_DIR = Path(__file__).parents[2] / "experiments"
_spec = importlib.util.spec_from_file_location(
    "goal_study_analysis", _DIR / "goal_study_analysis.py"
)
A = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("goal_study_analysis", A)
_spec.loader.exec_module(A)

BASE = {"corner": 1, "cheese_anywhere": 0.0, "size": 9}
STEPS = np.unique(np.geomspace(1e4, 1e6, 12).round())
SLOPE = 0.3
"""Planted: success's midpoint moves 0.3 decades of steps per doubling of the corner size."""


def _p_cheese(corner: int) -> float:
    """Planted final P(cheese | decision square): a logistic in log2 corner size."""
    return 0.05 + 0.8 / (1.0 + np.exp(-3.0 * (np.log2(corner) - 1.5)))


def _results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    cells = [{**BASE, "corner": c} for c in (1, 2, 3, 5, 7)]
    cells += [{**BASE, "cheese_anywhere": s} for s in (1e-3, 1e-2, 1e-1)]
    for cell in cells:
        for seed in range(4):
            run = f"c{cell['corner']}_s{cell['cheese_anywhere']}_seed{seed}"
            t0 = 10 ** (4.8 + SLOPE * np.log2(cell["corner"]) + rng.normal(0, 0.03))
            rise = 1.0 / (1.0 + (t0 / STEPS) ** 3)
            final_cheese = _p_cheese(cell["corner"]) + rng.normal(0, 0.01)
            curves = {
                "success": 0.05 + 0.9 * rise + rng.normal(0, 0.005, STEPS.size),
                "decision-cheese": 0.5 + (final_cheese - 0.5) * rise,
                "corner-first": 0.9 * rise * (1 - final_cheese),
                "success-vs-corner/agent": 0.3 + 0.3 * rise,
                "success-vs-corner/seeker": np.full(STEPS.size, 0.4),
            }
            curves["success-vs-corner"] = curves["success-vs-corner/agent"] - 0.4
            for measure, values in curves.items():
                for step, value in zip(STEPS, values, strict=True):
                    rows.append(
                        {
                            "run": run,
                            "seed": seed,
                            **cell,
                            "step": step,
                            "measure": measure,
                            "value": float(value),
                            "stderr": 0.01,
                        }
                    )
    return pd.DataFrame(rows)


def test_final_values_and_study_table_read_the_last_checkpoint():
    final = A.final_values(_results())
    assert len(final) == 8 * 4
    c7 = final[(final["corner"] == 7) & (final["cheese_anywhere"] == 0)]
    assert c7["p_cheese"].mean() == pytest.approx(_p_cheese(7), abs=0.03)
    assert (final.loc[final["cheese_anywhere"] == 0, "share_x"] == A.SHARE_ZERO).all()
    study = A.study_table(final).set_index(["corner", "cheese_anywhere"])
    assert study.loc[(1, 0.0), "seeds"] == 4
    assert study.loc[(1, 0.0), "seeker"] == pytest.approx(0.4)
    assert study["p_cheese_hi"].max() <= 1.0
    # the gap to the corner-seeker is a difference: its interval may go below 0
    final["gap"] -= 0.25  # about -0.05 at the end, with seed noise
    base = A.study_table(final).set_index(["corner", "cheese_anywhere"]).loc[(1, 0.0)]
    assert base["gap_lo"] < min(base["gap"], 0.0) and base["gap"] < base["gap_hi"]


def test_forms_across_prefer_a_rising_form_over_corner_size():
    final = A.final_values(_results())
    forms = A.forms_across(final, BASE, n_boot=10)
    corner = forms[(forms["axis"] == "corner") & (forms["quantity"] == "p_cheese")]
    best = corner[corner["status"] == "ok"].iloc[0]["form"]
    assert best not in ("constant",)
    assert set(forms["axis"]) == {"corner", "share"}


def test_parameter_effects_recover_the_planted_shift_of_the_midpoint():
    results = _results()
    _, params = A.curve_forms(results[results["measure"] == "success"])
    onsets = A.onset_times(results, "corner-first", A.ONSET, keep=("seed", *A.ENV))
    eff = A.parameter_effects(params, onsets, BASE)
    row = eff[
        (eff["axis"] == "corner") & (eff["measure"] == "success") & (eff["param"] == "log_t0")
    ]
    assert len(row) == 1
    # log_t0 is the natural log of the midpoint: 0.3 decades per doubling = 0.3 * ln 10
    assert row["coef"].iloc[0] == pytest.approx(SLOPE * np.log(10), rel=0.15)
    assert row["ci_low"].iloc[0] > 0


def test_trend_macros_state_the_planted_directions():
    _rspec = importlib.util.spec_from_file_location(
        "goal_study_report", _DIR / "goal_study_report.py"
    )
    report = importlib.util.module_from_spec(_rspec)
    _rspec.loader.exec_module(report)
    study = A.study_table(A.final_values(_results()))
    m = report._trend_macros(study, BASE)
    assert m["goalTrendCornerCheese"] == "rises"  # planted: a logistic rising in corner size
    assert m["goalTrendCornerCornerFirst"] == "falls"  # 0.9 (1 - P(cheese)) at the end
    assert m["goalTrendShareCheese"] == "is flat"  # planted: no dependence on the share
    assert "goalTrendSizeCheese" not in m  # one maze size: no size axis


def test_runs_that_did_not_learn_are_counted_and_the_verdicts_rechecked_without_them():
    _rspec = importlib.util.spec_from_file_location(
        "goal_study_report", _DIR / "goal_study_report.py"
    )
    report = importlib.util.module_from_spec(_rspec)
    _rspec.loader.exec_module(report)
    final = A.final_values(_results())
    trends = report._trend_macros(A.study_table(final), BASE)
    assert "Every run learned" in report._learned_macros(final, BASE, trends)["goalLearnedSentence"]
    final.loc[(final["seed"] == 3) & (final["corner"] == 7), ["success_in", "p_cheese"]] = 0.0
    trends = report._trend_macros(A.study_table(final), BASE)
    sentence = report._learned_macros(final, BASE, trends)["goalLearnedSentence"]
    assert sentence.startswith("One run of 32 did not learn") and "all with seed 3" in sentence
