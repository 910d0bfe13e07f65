"""TMS panels, table shapes and macros on hand-built tables with known contents."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from devrl.agents.tms_runs import TMSResult
from devrl.agents.tms_sgd import TMSSGDConfig
from devrl.paper import tms as tms_paper
from devrl.paper import tms_panels, tms_tables
from devrl.theory.tms import kgon


def _det(**scores):
    base = {
        "learner": "PPO, 4-gon",
        "curve": "LLC oracle_initial corrected",
        "detected": 0.5,
        "jumps detected": np.nan,
        "false alarms": 0.25,
        "lag (epochs)": -3.4,
        "step at jumps": 1.23456,
        "jumps rising": 1.0,
        "transitions": 2,
    }
    return pd.DataFrame([base | scores])


def _det_full(**scores):
    """A detection row with every column detection.detect writes."""
    full = {"recall": 0.5, "recall lo": 0.25, "recall hi": 0.75, "precision": 0.75}
    full |= {"precision lo": 0.5, "precision hi": 1.0, "step lo": 0.5, "step hi": 2.0}
    full |= {"null recall (random)": 0.2, "null recall (circular)": 0.3, "p (random)": 0.01}
    full |= {"null precision (random)": 0.1, "null precision (circular)": 0.15}
    full |= {"null recall (log)": 0.4, "null precision (log)": 0.2, "p (log)": 0.03}
    full |= {"p (circular)": 0.04, "p rising": 0.5, "seeds": 16}
    return _det(**(full | scores))


def test_curve_words_and_detection_macros():
    assert tms_paper.curve_word("loss (control)") == "LossControl"
    assert tms_paper.curve_word("first-order oracle") == "FirstOrderOracle"
    assert tms_paper.curve_word("LLC oracle_initial corrected") == "LlcOracleInitialCorrected"
    got = tms_paper.detection_macros(_det(), {"PPO, 4-gon": "Ppo"})
    assert got == {
        "tmsRlDetPpoLlcOracleInitialCorrected": "0.50",
        "tmsRlJdPpoLlcOracleInitialCorrected": "n/a",
        "tmsRlFaPpoLlcOracleInitialCorrected": "0.25",
        "tmsRlLagPpoLlcOracleInitialCorrected": "-3",
        "tmsRlStepPpoLlcOracleInitialCorrected": "1.23",
        "tmsRlRisePpoLlcOracleInitialCorrected": "1.00",
    }


def test_detection_macros_write_intervals_and_the_larger_null_p():
    det = _det(
        **{"recall": 0.9, "recall lo": 0.79, "recall hi": 1.0, "p (random)": 0.001},
        **{"p (circular)": 0.02, "null recall (log)": 0.37, "p rising": 0.125, "p (log)": 0.01},
    )
    got = tms_paper.detection_macros(det, {"PPO, 4-gon": "Ppo"})
    assert got["tmsRlRecPpoLlcOracleInitialCorrected"] == "0.90 [0.79, 1.00]"
    assert got["tmsRlPPpoLlcOracleInitialCorrected"] == "0.02"
    assert got["tmsRlNullPpoLlcOracleInitialCorrected"] == "0.37"
    assert got["tmsRlRisePPpoLlcOracleInitialCorrected"] == "0.125"
    assert "tmsRlPrecPpoLlcOracleInitialCorrected" not in got  # no precision column


def test_final_llc_macros_take_the_median_of_the_last_step_and_the_lowest_first_order():
    rows = [("r", s, t, "llc/oracle", v) for s, v in ((0, 5.0), (1, 7.0), (2, 9.0)) for t in (1, 2)]
    rows += [("r", s, t, "first-order/oracle", -t * (s + 1.0)) for s in (0, 1, 2) for t in (1, 2)]
    rows += [("r", 0, 2, "llc/other", 1.0)]
    llc = pd.DataFrame(rows, columns=["run", "seed", "step", "measure", "value"])
    got = tms_paper.final_llc_macros(llc, {"r": "Run"})
    assert got == {
        "tmsRlRunFinalFirstOrderOracle": "-4.00",
        "tmsRlRunMinFirstOrder": "-4",
        "tmsRlRunFinalLlcOracle": "7.00",
    }


def test_geometry_kgon_and_transition_macros():
    geo = pd.DataFrame(
        {
            "phase": ["4+", "4+", "6"],
            "loss": ["TMS loss (Hessian)", "action loss (Gauss-Newton)", "TMS loss (Hessian)"],
            "min eigenvalue": [-0.00712, 0.0, 0.02],
            "curvature +v": [0.12405, float("nan"), 0.02],
            "curvature -v": [0.08429, float("nan"), 0.02],
            "min one-sided": [0.005476, float("nan"), 0.0206],
        }
    )
    assert tms_paper.geometry_macros(geo) == {
        "tmsRlFourPlusMinEig": "-0.0071",
        "tmsRlFourPlusCurvPlus": "0.124",
        "tmsRlFourPlusCurvMinus": "0.084",
        "tmsRlFourPlusMinOneSided": "0.0055",
        "tmsRlKgonMinOneSided": "0.0055",
    }
    kg = pd.DataFrame(
        {"phase": [5, 6], "truth": [7.0, 8.5], "llc": [6.987, 8.4], "std": [0.5, 0.25]}
    ).assign(n=100, lr=1e-5, nbeta=1e4, localization=30.0, chains=8, burnin=300, draws=600)
    assert tms_paper.kgon_macros(kg.assign(batch_size=2000)) == {
        "tmsRlKgonFive": "6.99",
        "tmsRlKgonFiveStd": "0.50",
        "tmsRlKgonFiveTruth": "7",
        "tmsRlKgonSix": "8.40",
        "tmsRlKgonSixStd": "0.25",
        "tmsRlKgonSixTruth": "8.5",
        "tmsRlKgonN": "10^{2}",
        "tmsRlKgonLr": "10^{-5}",
        "tmsRlKgonNbeta": "10^{4}",
        "tmsRlKgonLocalization": "30",
        "tmsRlKgonChains": "8",
        "tmsRlKgonBurnin": "300",
        "tmsRlKgonDraws": "600",
        "tmsRlKgonBatch": "2{,}000",
    }
    assert [tms_paper.power_latex(x) for x in (1e-3, 1e6, 0.05, 2000.0)] == [
        "10^{-3}",
        "10^{6}",
        "0.05",
        "2{,}000",
    ]
    stats = pd.DataFrame(
        [{"learner": "PPO", "jumped": 1, "seeds": 4, "epochs": 300, "jump epochs": "12"}]
    ).assign(plateaus="4, 5", final="4:3, 5:1")
    got = tms_paper.transition_macros(stats, {"PPO": "Ppo"})
    assert got["tmsRlPpoJumped"] == 1 and got["tmsRlPpoPlateaus"] == "4, 5"
    assert got["tmsRlPpoSeedsPhrase"] == "four seeds" and got["tmsRlPpoJumpsPhrase"] == "one jump"
    assert got["tmsRlPpoFinal"] == "three seeds on a 4-gon and one on a 5-gon"


def test_feedback_macros_of_a_policy_that_always_names_one_feature():
    # argmax always feature 0: the two shortest columns' features keep (1 - k)/c each
    W = np.zeros((3, 2, 6))
    W[:, 0, 0] = 0.1
    b = np.tile([5.0, 0, 0, 0, 0, 0], (3, 1))
    got = tms_paper.feedback_macros(W, b, sigma=0.1, kappa=0.4)
    assert got == {f"tmsRlFeedbackShare{k}": "0.20" for k in ("", "Lo", "Hi")}


def test_with_missing_fills_every_name_the_prose_may_use_and_keeps_the_computed():
    got = tms_paper.with_missing({"tmsRlKgonN": 7}, ["Ppo"])
    assert got["tmsRlKgonN"] == 7 and next(iter(got)) == "tmsRlKgonN"
    assert got["tmsRlPpoJumped"] == "n/a" and got["tmsRlDetPpoLlcOraclePolished"] == "n/a"
    assert got["tmsRlFourPlusMinEig"] == "n/a"
    n_curves = len(tms_paper.DETECTION_CURVES)
    n_scores = len(tms_paper.DETECTION_SCORES) + len(tms_paper.DETECTION_INTERVALS)
    n_scores += len(tms_paper.DETECTION_P)
    assert len(got) == 1 + 8 + n_scores * n_curves + 12 + 10  # + the k-gon sampler settings


def test_panels_draw_one_line_per_seed_and_one_row_per_present_curve():
    steps = np.array([1, 10, 100])
    cfg = TMSSGDConfig(n_seeds=2, run="r")
    W = np.broadcast_to(kgon("4").W, (2, 3, 2, 6)).astype(np.float32)
    b = np.broadcast_to(kgon("4").b, (2, 3, 6)).astype(np.float32)
    metrics = pd.DataFrame(
        {"seed": np.repeat([0, 1], 3), "step": np.tile(steps, 2), "value": 0.1}
    ).assign(run="r", measure="loss/population")
    res = TMSResult(cfg, steps, W, b, metrics, 0.0)
    fig = tms_panels.loss_panels({"a": res, "b": res}, {"4": 0.1}, "title")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 + 1  # seeds + the level
    plt.close(fig)
    llc = metrics.assign(measure="llc/oracle")
    fig = tms_panels.llc_grid({"a": res}, llc, ["llc/oracle", "llc/action"])
    assert len(fig.axes) == 2  # the loss row and the one curve present
    plt.close(fig)
    np.testing.assert_allclose(tms_panels.epochs(res, steps), steps * 20 / 1000)


def test_table_shapes_keep_the_k_gon_plateaus_and_short_names(tmp_path):
    stats = pd.DataFrame(
        [
            {
                "learner": "x",
                "seeds": 4,
                "epochs": 10,
                "plateaus": "3, 4, 4+, other, 5",
                "jumped": 1,
                "jump epoch (median)": 5.0,
                "jump epochs": "5",
                "final": "4+:3, 5:1",
            }
        ]
    )
    narrow = tms_tables.transitions_for_table(stats)
    assert narrow.plateaus.tolist() == ["4, 4+, 5"] and narrow.final.tolist() == ["4+:3 5:1"]
    assert "median jump" in narrow and "seeds" not in narrow
    det = pd.concat([_det_full(), _det_full(curve="LLC action", learner="ladder: drift")])
    shown = tms_tables.detection_for_table(det, ["LLC action"])
    assert shown.learner.tolist() == ["ladder: drift"]
    assert shown["recall [95% CI]"].tolist() == ["0.50 [0.25, 0.75]"]
    assert shown["null (gap/log/circ.)"].tolist() == ["0.20/0.40/0.30"]
    assert shown["p"].tolist() == ["0.04"]
    assert shown["step [95% CI]"].tolist() == ["1.23 [0.5, 2]"]
    tms_tables.write_detection_tables(
        det,
        pd.Series([3, 5]),
        ["PPO, 4-gon"],
        ["LLC action", "LLC oracle_initial corrected"],
        {"tol": 0.2, "min_shift": {"loss": 0.002, "llc": 0.5}},
        (tmp_path / "d.tex", tmp_path / "l.tex"),
    )
    main, ladder = (tmp_path / "d.tex").read_text(), (tmp_path / "l.tex").read_text()
    assert "PPO, 4-gon" in main and "ladder: drift" not in main and "3--5 LLC" in main
    assert "ladder: drift" in ladder and "PPO" not in ladder.split("\\hline")[2]


def test_final_phrase_orders_phases_by_count():
    assert tms_paper.final_phrase("5+:15, 6:1") == (
        "fifteen seeds on a $5^{+}$-gon and one on a 6-gon"
    )
    assert tms_paper.final_phrase("4:16") == "sixteen seeds on a 4-gon"
    assert tms_paper.final_phrase("4:1, 4++:2, other:1") == (
        "two seeds on a $4^{++}$-gon, one on a 4-gon and one in no $k$-gon phase"
    )
    with pytest.raises(ValueError, match="phase:count"):
        tms_paper.final_phrase("5+ fifteen")


def _batch(values: np.ndarray, run: str = "r") -> TMSResult:
    """A two-seed SGD batch (batch 20) whose population loss of seed s at step i is values[s, i]."""
    steps = np.arange(values.shape[1])
    cfg = TMSSGDConfig(n_seeds=2, run=run)
    W = np.broadcast_to(kgon("4").W, (2, len(steps), 2, 6)).astype(np.float32)
    b = np.broadcast_to(kgon("4").b, (2, len(steps), 6)).astype(np.float32)
    metrics = pd.DataFrame(
        {"seed": np.repeat([0, 1], len(steps)), "step": np.tile(steps, 2), "value": values.ravel()}
    ).assign(run=run, measure="loss/population")
    return TMSResult(cfg, steps, W, b, metrics, 0.0)


def test_loss_axis_goes_log_instead_of_clipping_and_keeps_step_zero():
    small = _batch(np.full((2, 4), 0.1))
    big = _batch(np.array([[1.1, 0.5, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1]]))
    fig = tms_panels.loss_panels({"a": small}, {"4": 0.11, "4+": 0.104}, "t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim() == (0.03, 0.16)
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0  # step 0 drawn, no empty decade
    plt.close(fig)
    fig = tms_panels.loss_panels({"a": small, "b": big}, {"4": 0.11}, "t")
    assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_ylim()[1] >= 1.1
    plt.close(fig)


def test_level_labels_are_pushed_apart_but_keep_their_order():
    fig, ax = plt.subplots()
    ax.set(yscale="log", ylim=(0.03, 1.5))
    tms_panels.level_labels(ax, {"4": 0.1111, "4+": 0.1042, "4++": 0.0972}, gap_pt=10)
    ys = sorted((t.get_position()[1], t.get_text()) for t in ax.texts)
    assert [name for _, name in ys] == ["4++", "4+", "4"]
    height_pt = 0.77 * 4.8 * 72  # matplotlib's default axes: 77% of a 4.8-inch figure
    assert np.diff([y for y, _ in ys]).min() >= 10 / height_pt - 1e-9  # >= 10 pt apart
    plt.close(fig)


def test_llc_grid_pairs_raw_and_corrected_as_median_bands_on_a_symlog_axis():
    res = _batch(np.full((2, 3), 0.1))
    rows = []
    for kind, vals in (("llc/oracle", [1.0, 3.0]), ("llc/oracle corrected", [-500.0, 900.0])):
        for seed, v in enumerate(vals):
            rows += [
                {"run": "r", "seed": seed, "step": s, "measure": kind, "value": v} for s in (1, 2)
            ]
    fig = tms_panels.llc_grid(
        {"a": res}, pd.DataFrame(rows), ["llc/oracle", "llc/oracle corrected"]
    )
    assert len(fig.axes) == 2  # loss row + one row holding both variants
    llc_ax = fig.axes[1]
    medians = [
        line.get_ydata() for line in llc_ax.lines if line.get_label() in ("raw", "corrected")
    ]
    np.testing.assert_allclose(medians[0], [2.0, 2.0])  # median of the two seeds
    np.testing.assert_allclose(medians[1], [200.0, 200.0])
    assert llc_ax.get_yscale() == "symlog"  # the corrected values span 1,400
    assert len(llc_ax.collections) == 2  # one interquartile band each
    plt.close(fig)


def test_polygon_rings_exactly_the_columns_the_classifier_counts_as_plus():
    from devrl.theory.tms import classify_polygon

    W, b = np.asarray(kgon("4++").W, float), np.asarray(kgon("4++").b, float)
    fig, ax = plt.subplots()
    tms_panels.draw_polygon(ax, W, b)
    edges = [pc.get_edgecolor() for pc in ax.collections]  # one scatter per column
    rings = sum(1 for e in edges if len(e) and np.allclose(e[0][:3], 0))
    assert classify_polygon(W, b) == "4++" and rings == 2
    tms_panels.polygon_key(fig)
    assert "a '+'" in fig.legends[0].get_texts()[-1].get_text()
    plt.close(fig)
