"""devrl.llc.calibrate: sweeps a grid, survives divergence, recommends a healthy setting."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from devrl.llc import (
    calibrate,
    calibrate_datasets,
    plot_calibration,
    regression_data,
    select_setting,
)


def test_calibrate_grid_recommends_healthy_and_records_divergence(tmp_path):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Linear(3, 1)  # d = 4, lambda = 2
    x = torch.randn(5000, 3, generator=g)
    with torch.no_grad():
        y = model(x) + torch.randn(5000, 1, generator=g)
    data = regression_data(x, y)
    plot = tmp_path / "traces.png"
    df = calibrate(
        model,
        data,
        lrs=[1e-7, 1e-3, 50.0],
        nbetas=[100],
        localizations=[1.0],
        chains=4,
        draws=300,
        burnin=100,
        batch_size=200,
        plot=plot,
    )
    assert len(df) == 3
    diverged = df[df["lr"] == 50.0].iloc[0]
    assert np.isnan(diverged["llc"]) and "smaller lr" in diverged["error"]
    # lr = 1e-7 never leaves w* in 400 steps: the estimate is ~0 and half the draws sit
    # below w* (paired minibatch noise), which the diagnostics flag
    frozen = df[df["lr"] == 1e-7].iloc[0]
    assert frozen["llc"] < 1.0 and not frozen["healthy"]
    assert df["recommended"].sum() == 1
    best = df[df["recommended"]].iloc[0]
    assert best["lr"] == 1e-3 and df.attrs["recommended"]["lr"] == 1e-3
    assert abs(best["llc"] - 2.0) < 0.5
    assert plot.exists() and plot.stat().st_size > 0


def _table(rows):
    cols = ["kind", "lr", "localization", "llc", "llc_std", "healthy"]
    return pd.DataFrame(rows, columns=cols)


def test_select_setting_picks_largest_lr_then_gamma_where_all_kinds_agree():
    table = _table(
        [
            # lr 3e-3: action too noisy (std 0.6 >= 0.5 * 1.0) at both gammas -> out
            ("action", 3e-3, 30.0, 1.0, 0.6, True),
            ("value", 3e-3, 30.0, 2.0, 0.1, True),
            ("action", 3e-3, 100.0, 1.0, 0.6, True),
            ("value", 3e-3, 100.0, 2.0, 0.1, True),
            # lr 1e-3: both gammas qualify -> the larger gamma, 100, wins
            ("action", 1e-3, 30.0, 1.0, 0.1, True),
            ("value", 1e-3, 30.0, 2.0, 0.1, True),
            ("action", 1e-3, 100.0, 1.0, 0.1, True),
            ("value", 1e-3, 100.0, -2.0, 0.5, True),  # |llc| counts: 0.5 < 1.0
            # lr 1e-3, gamma 300: value unhealthy -> out
            ("action", 1e-3, 300.0, 1.0, 0.1, True),
            ("value", 1e-3, 300.0, 2.0, 0.1, False),
            # regret never healthy; not among kinds, so it does not veto
            ("regret", 3e-3, 100.0, -5.0, 9.0, False),
            ("regret", 1e-3, 100.0, -5.0, 9.0, False),
            # lr 1e-4 qualifies but is smaller
            ("action", 1e-4, 100.0, 1.0, 0.1, True),
            ("value", 1e-4, 100.0, 2.0, 0.1, True),
        ]
    )
    pick = select_setting(table, ("action", "value"), max_spread=0.5)
    assert pick == {"lr": 1e-3, "localization": 100.0, "fallback": False}


def test_select_setting_falls_back_when_nothing_qualifies_and_diverged_rows_fail():
    table = _table(
        [
            ("action", 1e-3, 100.0, 1.0, 0.1, True),
            ("value", 1e-3, 100.0, np.nan, np.nan, False),  # diverged
            ("action", 3e-3, 100.0, 1.0, np.nan, True),  # NaN spread is not agreement
            ("value", 3e-3, 100.0, 2.0, 0.1, True),
        ]
    )
    pick = select_setting(table, ("action", "value"), fallback=(5e-4, 30.0))
    assert pick == {"lr": 5e-4, "localization": 30.0, "fallback": True}
    with pytest.raises(ValueError, match="kind"):
        select_setting(table, ("action", "kl"))


def test_calibrate_datasets_labels_rows_and_takes_nbetas_per_kind():
    g = torch.Generator().manual_seed(1)
    model = nn.Linear(2, 1)
    x = torch.randn(400, 2, generator=g)
    with torch.no_grad():
        y = model(x) + torch.randn(400, 1, generator=g)
    data = regression_data(x, y)
    kw = {"chains": 2, "draws": 10, "burnin": 5, "batch_size": 100, "seed": 3}
    table = calibrate_datasets(
        model, {"a": data, "b": data}, [1e-4], {"a": [10.0], "b": [10.0, 20.0]}, (1.0,), **kw
    )
    assert list(table["kind"]) == ["a", "b", "b"]
    assert list(table["nbeta"]) == [10.0, 10.0, 20.0]
    alone = calibrate(model, data, [1e-4], [20.0], (1.0,), **kw)
    assert table.iloc[2]["llc"] == alone.iloc[0]["llc"]


def test_plot_calibration_one_panel_per_kind_and_marks_the_chosen_lr():
    import matplotlib.pyplot as plt

    table = _table(
        [
            ("action", 1e-3, 100.0, 1.0, 0.1, True),
            ("action", 3e-3, 100.0, 1.5, 0.1, False),
            ("regret", 1e-3, 100.0, -0.1, 0.1, False),
        ]
    ).assign(nbeta=15.0)
    fig = plot_calibration(table, chosen_lr=1e-3)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["action", "regret"]
    assert all(any(list(line.get_xdata()) == [1e-3, 1e-3] for line in ax.lines) for ax in axes)
    # the chosen setting is healthy for action, not for regret: the figure says so
    assert [t.get_text() for t in axes[0].texts] == ["chosen: healthy"]
    assert [t.get_text() for t in axes[1].texts] == ["chosen: FAILS health check"]
    assert fig._suptitle.get_text().endswith("chosen lr=0.001: fails the health check on regret")
    plt.close(fig)
    fig = plot_calibration(table, chosen_lr=3e-3, chosen_localization=100.0, checked=["action"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["chosen: FAILS health check"]
    assert [t.get_text() for t in fig.axes[1].texts] == ["chosen: not checked"]
    assert "γ=100: fails the health check on action" in fig._suptitle.get_text()
    plt.close(fig)
    fig = plot_calibration(table, chosen_lr=1e-3, checked=["action"])
    assert fig._suptitle.get_text().endswith("healthy on every checked dataset")
    plt.close(fig)
