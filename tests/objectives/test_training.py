import numpy as np
import pandas as pd
import pytest

from devrl.objectives.training import LLC, over_training, with_llc

DENSE = np.unique(np.geomspace(1e3, 1e7, 40).round())
SPARSE = np.array([0.0, 1e4, 1e5, 1e6, 1e7])


def _logistic(t, onset):
    return 1.0 / (1.0 + (onset / np.maximum(t, 1.0)) ** 4)


def _planted():
    """Per seed: success halfway at 1e5, the LLC at 2e5 (lag log10 2), and the transplant's
    excess at 1e6 on the sparse fine-tuned checkpoints; the other measures stay flat."""
    curves, track = [], []
    for seed in range(3):
        run = f"run_seed{seed}"
        for step in DENSE:
            curves.append(
                {
                    "run": run,
                    "seed": seed,
                    "step": step,
                    "measure": "success",
                    "value": _logistic(step, 1e5),
                    "stderr": 0.01,
                }
            )
        for step in SPARSE:
            for measure, value in (
                ("transplant_minus_random", 0.4 * _logistic(step, 1e6)),
                ("position_rank", 0.5),
                ("ma_success", _logistic(step, 1e5)),
            ):
                track.append(
                    {
                        "run": run,
                        "seed": seed,
                        "step": step,
                        "measure": measure,
                        "value": value,
                        "low": value - 0.02,
                        "high": value + 0.02,
                        "n": 16,
                    }
                )
        for step in np.union1d(DENSE, SPARSE):  # the LLC at every checkpoint
            curves.append(
                {
                    "run": run,
                    "seed": seed,
                    "step": step,
                    "measure": LLC,
                    "value": 3 + 10 * _logistic(step, 2e5),
                    "stderr": 0.1,
                }
            )
    return pd.DataFrame(track), pd.DataFrame(curves)


def test_with_llc_adds_the_llc_at_the_fine_tuned_checkpoints_only():
    track, curves = _planted()
    both = with_llc(track, curves)
    llc = both[both["measure"] == "ma_llc"]
    assert sorted(llc["step"].unique()) == list(SPARSE)
    assert len(llc) == 3 * len(SPARSE)
    row = llc[(llc["seed"] == 0) & (llc["step"] == 1e7)].iloc[0]
    assert row["value"] == pytest.approx(3 + 10 * _logistic(1e7, 2e5))
    assert row["high"] - row["low"] == pytest.approx(2 * 1.96 * 0.1)


def test_over_training_recovers_planted_onsets_and_lags():
    track, curves = _planted()
    onsets, lags, forms = over_training(track, curves)
    by = onsets.groupby("measure")["onset"].median()
    assert by["ma_success"] == pytest.approx(1e5, rel=0.15)
    assert by["ma_llc"] == pytest.approx(2e5, rel=0.15)
    assert not onsets.loc[onsets["measure"] == "position_rank", "moved"].any()  # flat
    lag = lags.set_index("measure")
    assert lag.loc["ma_llc", "mean_log10_lag"] == pytest.approx(np.log10(2), abs=0.05)
    # 4 sparse checkpoints after step 0 bound the onset between 1e5 and 1e6: it lags success
    assert lag.loc["transplant_minus_random", "mean_log10_lag"] > 0.5
    # forms only for the dense curves: the sparse ones have too few checkpoints
    assert set(forms["measure"]) == {"ma_success", "ma_llc"}
    best = forms.sort_values("aicc").groupby("measure").head(1).set_index("measure")["form"]
    assert best["ma_success"] == "logistic_log"
