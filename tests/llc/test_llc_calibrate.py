"""devrl.llc.calibrate: sweeps a grid, survives divergence, recommends a healthy setting."""

import numpy as np
import torch
from torch import nn

from devrl.llc import calibrate, regression_data


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
