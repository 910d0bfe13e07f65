"""Trial functions with planted faults, for the sweep tests (module-level: they are pickled).

The trial's seed picks its behaviour: 0 trains normally, 1 raises, 2 kills its own
worker with SIGKILL after its first checkpoint past step 0 (once: a marker file next
to the run remembers), so the retry must resume from that checkpoint.
"""

import os
import signal
from pathlib import Path

from devrl.sweep import TrialTask, train_trial

TINY = {
    "size": 5,
    "num_envs": 4,
    "num_steps": 8,
    "total_timesteps": 4 * 8 * 6,
    "num_minibatches": 2,
    "update_epochs": 1,
    "channels": 2,
    "hidden": 8,
    "checkpoints": 3,
}


def planted_trial(task: TrialTask) -> dict:
    seed = task.config["seed"]
    if seed == 1:
        raise RuntimeError("planted failure")
    hook = None
    if seed == 2:
        marker = Path(task.run_dir + ".killed")

        def hook(step: int) -> None:
            if step > 0 and not marker.exists():
                marker.write_text(str(step))
                os.kill(os.getpid(), signal.SIGKILL)

    return train_trial(task, on_checkpoint=hook)


def always_killed(task: TrialTask) -> dict:
    os.kill(os.getpid(), signal.SIGKILL)
    return {}
