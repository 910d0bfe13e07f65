"""Vectorised supervised SGD on the toy model of superposition."""

import numpy as np
import pandas as pd
import pytest
import torch

from devrl.agents.tms_runs import load_tms_runs
from devrl.agents.tms_sgd import (
    TMSSGDConfig,
    jump_outcomes,
    phase_sequences,
    train_tms_sgd,
)
from devrl.envs.tms import sample_contexts


def _small(**kw):
    base = {
        "n_seeds": 3,
        "n_samples": 200,
        "epochs": 30,
        "n_log_checkpoints": 10,
        "n_linear_checkpoints": 5,
    }
    base.update(kw)
    return TMSSGDConfig(**base)


def test_short_run_decreases_loss_and_writes_tidy_metrics(tmp_path):
    res = train_tms_sgd(_small(init="random", lr=0.05), progress=False)
    m = res.metrics
    assert list(m.columns[:6]) == ["run", "seed", "step", "measure", "value", "stderr"]
    pop = m[m.measure == "loss/population"].pivot(index="step", columns="seed", values="value")
    assert (pop.iloc[-1] < pop.iloc[0]).all()
    assert res.W.shape == (3, len(res.steps), 2, 6)
    back = load_tms_runs(res.save(tmp_path / "run"))
    assert np.array_equal(back.W, res.W)
    assert set(back.phases().columns) == {"run", "seed", "step", "phase"}


def test_batched_gradient_step_matches_autograd_sgd():
    # One seed, one epoch, compared with a plain autograd loop on the same batches.
    cfg = _small(
        n_seeds=1,
        epochs=1,
        n_samples=40,
        batch_size=20,
        init="random",
        lr=0.1,
        n_log_checkpoints=0,
        n_linear_checkpoints=0,
    )
    res = train_tms_sgd(cfg, progress=False)
    g = torch.Generator().manual_seed(0)
    W = torch.randn(2, 6, generator=g) / 2**0.5
    b = torch.zeros(6)
    W = (W + 0.01 * torch.randn(2, 6, generator=g)).requires_grad_(True)
    b = (b + 0.01 * torch.randn(6, generator=g)).requires_grad_(True)
    X = torch.from_numpy(sample_contexts(40, np.random.default_rng([0, 1])))
    perm = torch.randperm(40, generator=g)
    for j in range(2):
        x = X[perm[20 * j : 20 * j + 20]]
        loss = ((torch.relu(x @ W.T @ W + b) - x) ** 2).sum(1).mean()
        gW, gb = torch.autograd.grad(loss, (W, b))
        with torch.no_grad():
            W -= 0.1 * gW
            b -= 0.1 * gb
    assert np.allclose(res.W[0, -1], W.detach().numpy(), atol=1e-6)
    assert np.allclose(res.b[0, -1], b.detach().numpy(), atol=1e-6)


def test_deterministic_and_independent_of_other_seeds():
    a = train_tms_sgd(_small(), progress=False)
    b = train_tms_sgd(_small(), progress=False)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
    c = train_tms_sgd(_small(n_seeds=1, seed0=1), progress=False)
    assert np.allclose(c.W[0], a.W[1], atol=1e-6)


def test_a_shared_init_or_sample_holds_only_that_fixed():
    own = train_tms_sgd(_small(epochs=1), progress=False)
    init = train_tms_sgd(_small(epochs=1, init_seed=1), progress=False)
    # every run starts where seed 1 starts on its own, then trains on its own sample
    assert all(np.array_equal(init.W[s, 0], own.W[1, 0]) for s in range(3))
    assert not np.allclose(init.W[0, -1], init.W[2, -1])
    data = _small(epochs=1, data_seed=5)
    assert data.data_seeds == [5, 5, 5]
    cycled = _small(n_seeds=5, seed0=10, samples=2)
    assert cycled.data_seeds == [10, 11, 10, 11, 10]
    # same sample and init, different minibatch order: the runs differ only by the order
    same = train_tms_sgd(_small(epochs=1, data_seed=5, init_seed=0), progress=False)
    assert np.array_equal(same.W[0, 0], same.W[1, 0]) and not np.array_equal(same.W[0], same.W[1])
    with pytest.raises(ValueError, match="samples"):
        _small(samples=-1)


def test_jump_outcomes_name_each_runs_sample_init_and_order():
    res = train_tms_sgd(_small(n_seeds=4, epochs=2, samples=2, init_seed=3), progress=False)
    out = jump_outcomes(res)
    assert out.seed.tolist() == [0, 1, 2, 3] and out.data_seed.tolist() == [0, 1, 0, 1]
    assert (out.init_seed == 3).all() and (out.n_samples == 200).all()
    assert not out.jumped.any() and out.jump_epoch.isna().all()  # two epochs: still a 4-gon


def test_starts_at_4gon_and_checkpoints():
    res = train_tms_sgd(_small(epochs=2), progress=False)
    assert (res.phases().query("step == 0").phase == "4").all()
    steps = res.config.checkpoint_steps
    assert steps[0] == 0 and steps[-1] == res.config.total_steps and (np.diff(steps) > 0).all()


def test_phase_sequences_collapse_plateaus_and_drop_blips():
    ph = pd.DataFrame(
        {
            "run": "r",
            "seed": 0,
            "step": range(10),
            "phase": ["4"] * 4 + ["other"] + ["4"] * 2 + ["5"] * 3,
        }
    )
    seq = phase_sequences(ph, min_dwell=2)
    assert seq.phase.tolist() == ["4", "5"] and seq.first_step.tolist() == [0, 7]


def test_config_validation():
    with pytest.raises(ValueError, match="divide"):
        TMSSGDConfig(batch_size=7)
    with pytest.raises(ValueError, match="init"):
        TMSSGDConfig(init="5gon")
