"""devrl.llc.estimate agrees with devinterp.slt.llc.llc() on the same model, data and settings."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from devrl.llc import classification_data, estimate

datasets = pytest.importorskip("datasets")
devinterp_llc = pytest.importorskip("devinterp.slt.llc").llc


@pytest.mark.slow
def test_devrl_and_devinterp_agree_within_two_standard_errors(tmp_path):
    # A small MLP classifier; labels sampled from its own softmax, so w* is the true parameter.
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))  # d = 67
    n, batch = 1600, 100
    x = torch.randn(n, 4, generator=g)
    with torch.no_grad():
        y = torch.multinomial(torch.softmax(model(x), -1), 1, generator=g).squeeze(1)
    data = classification_data(x, y)
    hp = {"lr": 1e-3, "nbeta": 100.0, "localization": 1.0}
    chains, draws = 6, 150

    ours = estimate(
        model,
        data,
        **hp,
        chains=chains,
        draws=draws,
        burnin=0,
        batch_size=batch,
        seed=0,
        progress=False,
    )

    # devinterp expects a HF dataset of input_ids and a per-token loss [batch, seq-1]:
    # carry the sample index in input_ids (length 2 -> one "token" position).
    def loss_fn(m, input_ids):
        return data.loss(m, data.batch(input_ids[:, 0])).unsqueeze(1)

    ds = datasets.Dataset.from_dict({"input_ids": [[i, i] for i in range(n)]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # burn-in 0 on both sides: devinterp 2.0.1's compute_llc averages burn-in in.
        # num_init_loss_batches covers the whole dataset, as our init loss does.
        out = devinterp_llc(
            model,
            ds.with_format("torch"),
            {},
            lr=hp["lr"],
            n_beta=hp["nbeta"],
            localization=hp["localization"],
            num_chains=chains,
            num_draws=draws,
            batch_size=batch,
            num_burnin_steps=0,
            num_init_loss_batches=n // batch,
            loss_fn=loss_fn,
            device="cpu",
            init_seed=0,
            output_path=str(tmp_path / "samples.zarr"),
        )
    theirs = out.llc_per_chain.values
    assert float(out.init_loss) == pytest.approx(ours.init_loss, rel=1e-5)
    se = np.hypot(ours.std, theirs.std(ddof=1)) / np.sqrt(chains)
    print(
        f"\ndevrl {ours.mean:.3f} ± {ours.std:.3f}, devinterp {theirs.mean():.3f} ± "
        f"{theirs.std(ddof=1):.3f} (std over {chains} chains), 2 s.e. = {2 * se:.3f}"
    )
    assert abs(ours.mean - theirs.mean()) <= 2 * se, (ours.mean, theirs.mean(), se)
    assert 0 < ours.mean < 67 / 2
