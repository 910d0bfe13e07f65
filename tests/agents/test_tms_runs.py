"""TMS training writes ordinary runs (one per seed) and reads them back exactly."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from devrl.agents.tms_model import TMSModel
from devrl.agents.tms_rl import TMSRLConfig, train_tms_rl
from devrl.agents.tms_runs import (
    SNAPSHOTS,
    TMS_ENV_ID,
    ensure_snapshots,
    is_tms_batch,
    load_tms_runs,
    tms_run_dirs,
)
from devrl.agents.tms_sgd import TMSSGDConfig, train_tms_sgd
from devrl.runs import Run, RunConfigMismatch


def test_sgd_runs_are_ordinary_runs_and_load_back_exactly(tmp_path):
    cfg = TMSSGDConfig(
        n_seeds=2, seed0=3, n_samples=100, epochs=4, n_log_checkpoints=5, n_linear_checkpoints=4
    )
    res = train_tms_sgd(cfg, out=tmp_path / "b", progress=False)
    dirs = tms_run_dirs(tmp_path / "b")
    assert [d.name for d in dirs] == ["seed_003", "seed_004"] and is_tms_batch(tmp_path / "b")
    run = Run.load(dirs[1])
    assert run.config["seed"] == 4 and run.config["trainer"] == "tms_sgd"
    assert run.env_id == TMS_ENV_ID and run.env_kwargs == {"c": 6}
    assert run.steps == res.steps.tolist()
    model = run.policy(int(res.steps[-1]))
    assert isinstance(model, TMSModel)
    assert np.array_equal(model.W.detach().numpy(), res.W[1, -1])
    assert {"loss/train", "loss/population", "polygon/k"} <= set(run.tidy_metrics().measure)

    back = load_tms_runs(tmp_path / "b")
    assert back.config == cfg and np.array_equal(back.steps, res.steps)
    assert np.array_equal(back.W, res.W) and np.array_equal(back.b, res.b)
    pd.testing.assert_frame_equal(back.metrics, res.metrics)
    assert back.sigma is None


def test_rl_runs_record_the_bandit_and_sigma(tmp_path):
    cfg = TMSRLConfig(
        n_seeds=2,
        contexts=200 * 10,
        learn_sigma=True,
        sigma=0.3,
        probs=[2, 1, 1, 1, 1, 1],
        n_log_checkpoints=4,
        n_linear_checkpoints=3,
    )
    res = train_tms_rl(cfg, out=tmp_path / "rl", progress=False)
    run = Run.load(tms_run_dirs(tmp_path / "rl")[0])
    assert run.env_kwargs["probs"] == [2, 1, 1, 1, 1, 1] and run.config["algo"] == "reinforce"
    back = load_tms_runs(tmp_path / "rl")
    assert back.config == cfg and np.array_equal(back.sigma, res.sigma)
    assert back.sigma.dtype == np.float32
    pd.testing.assert_frame_equal(back.metrics, res.metrics)
    # rewriting the same batch is allowed; a different config in the folder is refused
    res.save(tmp_path / "rl")
    other = train_tms_rl(TMSRLConfig(**{**vars(cfg), "lr": 0.01}), progress=False)
    with pytest.raises(RunConfigMismatch, match="lr"):
        other.save(tmp_path / "rl")


def test_loading_an_empty_or_mixed_folder_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TMS runs"):
        load_tms_runs(tmp_path)
    cfg = {"n_samples": 100, "epochs": 1, "n_log_checkpoints": 2, "n_linear_checkpoints": 2}
    train_tms_sgd(TMSSGDConfig(n_seeds=1, **cfg), out=tmp_path / "m", progress=False)
    train_tms_sgd(TMSSGDConfig(n_seeds=1, seed0=5, **cfg), out=tmp_path / "m", progress=False)
    with pytest.raises(ValueError, match="one batch"):
        load_tms_runs(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "seed_005" / "config.json").read_text())["seed"] == 5


def test_snapshots_give_back_the_checkpoints_bits_without_checkpoints(tmp_path):
    cfg = TMSRLConfig(n_seeds=2, contexts=200 * 12, n_log_checkpoints=5, n_linear_checkpoints=4)
    res = train_tms_rl(cfg, out=tmp_path / "rl", progress=False)
    first = (tmp_path / "rl" / SNAPSHOTS).read_bytes()
    (tmp_path / "rl" / SNAPSHOTS).unlink()  # as in runs saved before snapshot tables existed
    with pytest.raises(FileNotFoundError, match="ensure_snapshots"):
        load_tms_runs(tmp_path / "rl", weights="snapshots")
    assert ensure_snapshots(tmp_path / "rl").read_bytes() == first
    res.save(tmp_path / "rl")  # the same weights write the same bytes (no gzip timestamp)
    assert (tmp_path / "rl" / SNAPSHOTS).read_bytes() == first
    for d in tms_run_dirs(tmp_path / "rl"):
        shutil.rmtree(d / "checkpoints")
    back = load_tms_runs(tmp_path / "rl", weights="snapshots")
    assert back.config == cfg and np.array_equal(back.steps, res.steps)
    assert back.W.dtype == np.float32 and np.array_equal(
        back.W.view(np.int32), res.W.view(np.int32)
    )
    assert np.array_equal(back.b.view(np.int32), res.b.view(np.int32))
    pd.testing.assert_frame_equal(back.metrics, res.metrics)
    pd.testing.assert_frame_equal(back.phases(), res.phases())
    with pytest.raises(ValueError, match="weights"):
        load_tms_runs(tmp_path / "rl", weights="pickles")


def test_runs_written_before_a_config_field_existed_are_rewritten_not_refused(tmp_path):
    # a run recorded before init_seed/data_seed/samples existed (the committed quick data)
    cfg = TMSSGDConfig(
        n_seeds=1, n_samples=100, epochs=2, n_log_checkpoints=3, n_linear_checkpoints=2
    )
    train_tms_sgd(cfg, out=tmp_path / "b", progress=False)
    config_file = tms_run_dirs(tmp_path / "b")[0] / "config.json"
    old = json.loads(config_file.read_text())
    for field in ("init_seed", "data_seed", "samples"):
        old.pop(field)
    config_file.write_text(json.dumps(old))
    train_tms_sgd(cfg, out=tmp_path / "b", progress=False)  # defaults compare equal
    changed = TMSSGDConfig(
        n_seeds=1, n_samples=100, epochs=2, n_log_checkpoints=3, n_linear_checkpoints=2, samples=2
    )
    with pytest.raises(RunConfigMismatch, match="samples"):
        train_tms_sgd(changed, out=tmp_path / "b", progress=False)
