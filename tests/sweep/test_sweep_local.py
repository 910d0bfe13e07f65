"""The local backend: planted faults (a trial that raises, a worker killed mid-trial),
resumption and skipping on rerun, and the sweep's tables."""

import pandas as pd
import pytest
import torch
from sweep_trials import TINY, always_killed, planted_trial

from devrl.agents import PPOConfig, train
from devrl.runs import Run
from devrl.sweep import read_status, run_sweep

SPEC = {
    "name": "faults",
    "base": TINY,
    "seeds": [0, 1, 2],
    "measures": [{"name": "success", "episodes": 8}],
    "metrics": ["charts/episode_length"],
}


def assert_same_checkpoints(a: Run, b: Run) -> None:
    assert a.steps == b.steps and len(a.steps) == 3
    for step in a.steps:
        wa, wb = a.load_checkpoint(step)["model"], b.load_checkpoint(step)["model"]
        assert wa.keys() == wb.keys()
        assert all(torch.equal(wa[k], wb[k]) for k in wa), f"step {step} differs"


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    return run_sweep(SPEC, out=out, workers=2, trial_fn=planted_trial, progress=False)


def test_a_raising_trial_is_recorded_and_the_sweep_goes_on(local_sweep):
    table = local_sweep.trials.set_index("seed")
    assert local_sweep.counts == {"finished": 2, "failed": 1, "skipped": 0}
    assert table.loc[1, "status"] == "failed"
    assert table.loc[1, "error"] == "RuntimeError: planted failure"
    assert table.loc[0, "status"] == table.loc[2, "status"] == "finished"
    log = (local_sweep.out / "logs" / "seed=1.log").read_text()
    assert "planted failure" in log and "Traceback" in log


def test_a_finished_trial_records_its_cpu_seconds(local_sweep):
    """What a budget is planned with: training and tracking CPU time, apart."""
    info = read_status(local_sweep.out, "seed=0")["info"]
    assert info["final_step"] == 192 and info["checkpoints"] == 3
    assert info["train_cpu_seconds"] > 0 and info["track_cpu_seconds"] > 0


def test_a_killed_worker_is_retried_once_and_resumes_bit_identically(local_sweep, tmp_path):
    out = local_sweep.out
    table = local_sweep.trials.set_index("seed")
    assert table.loc[2, "attempts"] == 2 and table.loc[0, "attempts"] == 1
    marker = out / "runs" / "seed=2.killed"
    killed_at = int(marker.read_text())
    assert 0 < killed_at < 192  # it died after a checkpoint, before the end
    swept = Run.load(out / "runs" / "seed=2")
    # the retry resumed after the checkpoint it died at: it never wrote that one again
    assert swept.checkpoint_path(killed_at).stat().st_mtime_ns <= marker.stat().st_mtime_ns
    config = {k: v for k, v in swept.config.items() if k not in ("model", "init_from")}
    assert_same_checkpoints(swept, train(PPOConfig.from_dict(config), tmp_path / "direct"))


def test_results_are_one_tidy_frame_with_status_and_env_variables(local_sweep):
    res = pd.read_csv(local_sweep.out / "results.csv")
    assert {"run", "status", "error", "seed", "size", "corner", "step", "measure", "value"} <= set(
        res.columns
    )
    ok = res[(res["status"] == "finished") & (res["measure"] == "success")]
    assert sorted(ok["step"].unique()) == [0, 32, 192]
    assert len(ok) == 2 * 3 and (ok["size"] == 5).all()
    lengths = res[res["measure"] == "charts/episode_length"]  # one row per PPO update
    assert len(lengths) == 2 * 6 and sorted(lengths["step"].unique()) == [
        32 * u for u in range(1, 7)
    ]
    failed = res[res["status"] == "failed"]
    assert len(failed) == 1 and failed["measure"].isna().all()


def test_rerun_skips_finished_trials_and_retries_failed_ones(local_sweep):
    again = run_sweep(SPEC, out=local_sweep.out, workers=1, trial_fn=planted_trial, progress=False)
    assert again.counts == {"finished": 0, "failed": 1, "skipped": 2}
    pd.testing.assert_frame_equal(
        again.results.drop(columns=["attempts", "seconds"]),
        local_sweep.results.drop(columns=["attempts", "seconds"]),
    )


def test_a_worker_that_dies_on_every_attempt_fails_after_its_retries(tmp_path):
    result = run_sweep(
        {**SPEC, "measures": [], "seeds": [0]},
        out=tmp_path,
        workers=1,
        retries=1,
        trial_fn=always_killed,
        progress=False,
    )
    row = result.trials.iloc[0]
    assert row["status"] == "failed" and row["attempts"] == 2
    assert row["error"].startswith("worker process died (2 attempts")


def test_progress_is_reported_in_environment_steps_off_a_terminal(tmp_path, monkeypatch, caplog):
    """Off a terminal a sweep writes lines (not a silent tqdm bar) counting steps of all trials."""
    monkeypatch.setenv("DEVRL_PROGRESS", "lines")
    monkeypatch.setenv("DEVRL_PROGRESS_INTERVAL", "0")
    spec = {**SPEC, "name": "lines", "seeds": [0, 2]}
    with caplog.at_level("INFO", logger="devrl.progress"):
        run_sweep(spec, out=tmp_path / "lines", workers=1, trial_fn=planted_trial)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep lines")]
    assert lines, "no progress line"
    assert "/384 step" in lines[0]
    assert lines[-1].startswith("sweep lines: done, 384 step")
