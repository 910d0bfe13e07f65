"""Overhead per trial of each sweep backend against calling the trial function directly.

A trial is a real PPO run (the quick preset's network on a 9x9 maze) sized to take about
``--seconds`` when called directly. The same trials run one at a time (one worker, so
the comparison is not about parallelism): directly in this process (``train_trial``),
through the local process pool and as Ray core tasks on a local Ray instance. Each
outcome is timestamped as the backend yields it, which splits a backend's cost into

- start-up: time to the first outcome minus that trial's own time (spawning the worker
  and importing torch; for Ray also ``ray.init``, reported apart), paid once per sweep;
- overhead per trial: time between consecutive outcomes minus the trial's own time
  (sending the task, redirecting its output, returning the outcome);
- slowdown: the trial's own time in the worker over its time when called directly.

Not a test: timings depend on the machine and its load (printed). Usage::

    python benchmarks/sweep_overhead.py --seconds 1 --trials 6
    python benchmarks/sweep_overhead.py --seconds 60 --trials 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from devrl._config import to_dict
from devrl.agents import PPOConfig
from devrl.sweep import SweepSpec, make_backend, train_trial
from devrl.sweep.results import run_dir
from devrl.sweep.trial import TrialTask

BATCH = {"num_envs": 16, "num_steps": 64, "num_minibatches": 4}  # 1,024 steps per update


def _base(total_timesteps: int) -> dict:
    return {**to_dict(PPOConfig.preset("quick")), **BATCH, "total_timesteps": total_timesteps}


def _calibrate(seconds: float, tmp: Path) -> int:
    """Total steps for a trial of about ``seconds``, from a short direct run's speed."""
    probe = 8 * 1024
    config = PPOConfig.from_dict({**_base(probe), "checkpoints": 2})
    task = TrialTask("probe", to_dict(config), str(tmp / "p"), str(tmp / "l"))
    start = time.perf_counter()
    train_trial(task)
    rate = probe / (time.perf_counter() - start)
    return max(2, round(seconds * rate / 1024)) * 1024


def _spec(total: int, trials: int) -> SweepSpec:
    base = {k: v for k, v in _base(total).items() if k != "seed"}
    return SweepSpec.from_dict(
        {"name": "overhead", "base": {**base, "checkpoints": 10}, "seeds": trials}
    )


def _tasks(spec: SweepSpec, out: Path) -> list[TrialTask]:
    return [
        TrialTask(t.name, t.config, str(run_dir(out, t.name)), str(out / f"{t.name}.log"))
        for t in spec.trials()
    ]


def _direct(tasks: list[TrialTask]) -> list[float]:
    seconds = []
    for task in tasks:
        start = time.perf_counter()
        train_trial(task)
        seconds.append(time.perf_counter() - start)
    return seconds


def _backend(tasks: list[TrialTask], backend: str) -> tuple[float, float, float]:
    """``(start-up s, overhead per trial s, mean trial s in the worker)``."""
    runner = make_backend(backend, workers=1)
    stamps, own = [time.perf_counter()], []
    for outcome in runner.run(train_trial, tasks):
        if outcome.status != "finished":
            raise RuntimeError(f"{backend}: {outcome}")
        stamps.append(time.perf_counter())
        own.append(outcome.seconds)
    gaps = np.diff(stamps)
    return gaps[0] - own[0], float(np.mean(gaps[1:] - own[1:])), float(np.mean(own))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="target time of one trial")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--backends", default="local,ray")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="sweep_overhead_"))
    try:
        total = _calibrate(args.seconds, tmp)
        spec = _spec(total, args.trials)
        direct = float(np.mean(_direct(_tasks(spec, tmp / "direct"))))
        print(
            f"{args.trials} trials of {total:,} env steps, {direct:.2f} s each called directly; "
            f"one worker; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print(
            f"{'backend':<8} {'start-up s':>10} {'ray.init s':>10} {'overhead/trial s':>16} "
            f"{'slowdown':>8}"
        )
        for backend in args.backends.split(","):
            init = float("nan")
            if backend == "ray":
                import ray

                start = time.perf_counter()
                ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
                init = time.perf_counter() - start
            try:
                startup, overhead, own = _backend(_tasks(spec, tmp / backend), backend)
            finally:
                if backend == "ray":
                    ray.shutdown()
            print(
                f"{backend:<8} {startup:>10.2f} {init:>10.2f} {overhead:>16.3f} "
                f"{own / direct:>8.2f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
