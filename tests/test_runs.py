"""Run directory: atomic writes, clear errors on bad files, refusing config clashes,
and a killed run that resumes to the bit-identical final checkpoint."""

import json
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

from devrl._io import atomic_write, atomic_write_json
from devrl.agents import PPOConfig, train
from devrl.checkpoints import CheckpointError
from devrl.runs import Run, RunConfigMismatch

TINY = {
    "size": 5,
    "num_envs": 4,
    "num_steps": 8,
    "total_timesteps": 4 * 8 * 10,
    "num_minibatches": 2,
    "update_epochs": 2,
    "channels": 2,
    "hidden": 8,
    "checkpoints": 5,
    "seed": 11,
}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    atomic_write_json(target, {"a": 1})

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # no temp files left


def test_create_refuses_a_different_config(tmp_path):
    Run.create(tmp_path, {"lr": 0.1, "seed": 0}, resume=True)
    with pytest.raises(RunConfigMismatch, match=r"different config \(lr: 0.1 -> 0.2\)"):
        Run.create(tmp_path, {"lr": 0.2, "seed": 0}, resume=True)
    with pytest.raises(RunConfigMismatch, match="pass resume=True"):
        Run.create(tmp_path, {"lr": 0.1, "seed": 0}, resume=False)
    assert Run.create(tmp_path, {"lr": 0.1, "seed": 0}, resume=True).config["lr"] == 0.1
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 0.1, "seed": 0}


def test_run_written_before_a_new_field_resumes_only_at_its_default(tmp_path):
    """A field added to the config after a run was written counts as its default."""
    Run.create(tmp_path, {"lr": 0.1}, resume=True)  # written by an older devrl
    defaults = {"lr": 0.5, "res_blocks": 1}
    reopened = Run.create(tmp_path, {"lr": 0.1, "res_blocks": 1}, resume=True, defaults=defaults)
    assert reopened.config == {"lr": 0.1}
    with pytest.raises(RunConfigMismatch, match=r"res_blocks: 1 -> 3"):
        Run.create(tmp_path, {"lr": 0.1, "res_blocks": 3}, resume=True, defaults=defaults)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a devrl run directory"):
        Run.load(tmp_path)
    run = train(PPOConfig(**{**TINY, "total_timesteps": 64, "checkpoints": 2}), tmp_path / "r")
    assert run.steps == [0, 32, 64] or run.steps == [0, 64]
    with pytest.raises(ValueError, match=r"no checkpoint at step 5 \(has"):
        run.policy(5)
    final = run.checkpoint_path(run.steps[-1])
    final.write_bytes(final.read_bytes()[:100])  # truncated, as by a crash without atomic writes
    with pytest.raises(CheckpointError, match=rf"{final.name} is corrupted or unreadable"):
        run.policy(run.steps[-1])
    foreign = run.checkpoint_path(run.steps[0])
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match=rf"{foreign.name} is not a devrl checkpoint"):
        Run.load(run.path).policy(0)


def test_tidy_metrics_layout(tmp_path):
    run = train(PPOConfig(**{**TINY, "total_timesteps": 64, "checkpoints": 2}), tmp_path / "r")
    tidy = run.tidy_metrics()
    assert list(tidy.columns[:6]) == ["run", "seed", "step", "measure", "value", "stderr"]
    assert {"size", "corner", "reward", "max_steps"} <= set(tidy.columns)
    assert "losses/approx_kl" in set(tidy["measure"])


_KILL_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import torch
    torch.set_num_threads(1)
    import devrl.agents._recorder as recorder
    from devrl.agents import PPOConfig, train
    run_dir, config, kill_after = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    recorder._FLUSH_SECONDS = -1.0  # flush metrics every update, so some outlive the checkpoint
    log = recorder.Recorder.log
    def log_then_maybe_die(self, update, *args):
        log(self, update, *args)
        if update == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    recorder.Recorder.log = log_then_maybe_die
    train(PPOConfig(**config), run_dir)
""")


def test_killed_run_resumes_bit_identically(tmp_path):
    config = PPOConfig(**TINY)
    reference = train(config, tmp_path / "ref")
    ckpt_updates = [s // config.batch_size for s in reference.steps]
    # die right after logging an update that is not a checkpoint, past the first two
    kill_after = next(
        u for u in range(ckpt_updates[2] + 1, config.num_updates) if u not in ckpt_updates
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILL_SCRIPT,
            str(tmp_path / "killed"),
            json.dumps(TINY),
            str(kill_after),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    killed = Run.load(tmp_path / "killed")
    assert killed.metrics["update"].max() == kill_after  # metrics ran past the last checkpoint
    assert killed.steps[-1] < reference.steps[-1]

    resumed = train(config, tmp_path / "killed", resume=True)
    assert resumed.steps == reference.steps
    for step in reference.steps:
        assert _same_weights(
            reference.load_checkpoint(step)["model"], resumed.load_checkpoint(step)["model"]
        ), step
    final_ref = reference.load_checkpoint(reference.steps[-1])["resume"]
    final_res = resumed.load_checkpoint(resumed.steps[-1])["resume"]
    assert torch.equal(final_ref["torch_rng"], final_res["torch_rng"])
    assert final_ref["env"] == final_res["env"]
    cols = [c for c in reference.metrics.columns if c != "charts/SPS"]
    pd.testing.assert_frame_equal(reference.metrics[cols], resumed.metrics[cols])


def test_resume_after_exception_at_a_checkpoint(tmp_path):
    config = PPOConfig(**TINY)
    reference = train(config, tmp_path / "ref")
    calls = []

    def stop(step):
        calls.append(step)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "run", on_checkpoint=stop)
    resumed = train(config, tmp_path / "run")
    final = reference.steps[-1]
    assert _same_weights(
        reference.load_checkpoint(final)["model"], resumed.load_checkpoint(final)["model"]
    )


def test_writes_run_opens_the_run_and_holds_its_lock(run_dir):
    import os

    from devrl.runs import writes_run

    @writes_run("probe")
    def probe(run, extra):
        return type(run).__name__, (run.path / ".lock").read_text(), extra

    assert probe(run_dir, extra=1) == ("Run", f"{os.getpid()}\n", 1)
    assert probe(Run.load(run_dir), 2)[2] == 2
    assert (run_dir / ".lock").read_text() == ""  # released


def test_drop_training_state_keeps_weights_and_writes_only_when_needed(tmp_path):
    run = train(PPOConfig(**{**TINY, "total_timesteps": 96, "checkpoints": 3}), tmp_path / "r")
    with_state = [s for s in run.steps if run.load_checkpoint(s)["resume"] is not None]
    assert with_state == run.steps[-2:]
    weights = run.load_checkpoint(with_state[0])["model"]
    assert run.drop_training_state(run.steps) == with_state
    assert all(run.load_checkpoint(s)["resume"] is None for s in run.steps)
    assert _same_weights(weights, run.load_checkpoint(with_state[0])["model"])
    assert run.drop_training_state(run.steps) == []
