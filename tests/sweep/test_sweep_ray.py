"""The Ray backend, for real, on a local Ray instance (2 CPUs): the same trials as the
local backend give the same checkpoints bit for bit, and the planted faults (a trial that
raises, a worker killed mid-trial) are handled the same way.

Slow: starting Ray takes 5-10 s and its workers import torch afresh."""

import pytest
import sweep_trials
from sweep_trials import always_killed, planted_trial
from test_sweep_local import SPEC, assert_same_checkpoints

from devrl.runs import Run
from devrl.sweep import run_sweep

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


# the test's trial functions are not importable on Ray's workers: send them by value
ray.cloudpickle.register_pickle_by_value(sweep_trials)


def test_ray_fails_a_trial_whose_worker_dies_on_every_attempt(tmp_path):
    # first in the module, before the fixture below: the backend starts and stops Ray itself
    assert not ray.is_initialized()
    result = run_sweep(
        {**SPEC, "measures": [], "metrics": [], "seeds": [0]},
        out=tmp_path,
        backend="ray",
        workers=2,
        retries=1,
        trial_fn=always_killed,
        progress=False,
    )
    assert not ray.is_initialized()
    row = result.trials.iloc[0]
    assert row["status"] == "failed" and row["attempts"] == 2
    assert row["error"].startswith("worker process died (2 attempts")


@pytest.fixture(scope="module")
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def both(ray_instance, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps")
    local = run_sweep(SPEC, out=out / "local", workers=2, trial_fn=planted_trial, progress=False)
    on_ray = run_sweep(SPEC, out=out / "ray", backend="ray", trial_fn=planted_trial, progress=False)
    return local, on_ray


def test_local_and_ray_trials_have_identical_checkpoints(both):
    local, on_ray = both
    for name in ("seed=0", "seed=2"):  # seed 2's worker was killed once on each backend
        assert_same_checkpoints(
            Run.load(local.out / "runs" / name), Run.load(on_ray.out / "runs" / name)
        )


def test_ray_records_a_raising_trial_and_retries_a_killed_worker(both):
    _, on_ray = both
    table = on_ray.trials.set_index("seed")
    assert on_ray.counts == {"finished": 2, "failed": 1, "skipped": 0}
    assert table.loc[1, "error"] == "RuntimeError: planted failure"
    assert table.loc[2, "status"] == "finished" and table.loc[2, "attempts"] == 2
    assert (on_ray.out / "runs" / "seed=2.killed").is_file()
    local, _ = both
    cols = ["run", "status", "error", "step", "measure", "value", "stderr"]
    assert local.results[cols].equals(on_ray.results[cols])
