"""Many runs: a grid of PPOConfig fields x seeds, on a local process pool or a Ray cluster.

``run_sweep(spec)`` (or ``devrl sweep SPEC``) trains every trial of a
:class:`SweepSpec` as an ordinary run directory, tracks the spec's measures on each,
and writes one tidy frame for the whole sweep. Rerunning skips finished trials and
resumes interrupted ones; a trial's checkpoints do not depend on the backend.
"""

from devrl.sweep.backends import BACKENDS, LocalBackend, RayBackend, make_backend
from devrl.sweep.results import collect, read_status
from devrl.sweep.runner import SweepResult, run_sweep
from devrl.sweep.spec import SweepSpec, Trial, load_spec, trial_name
from devrl.sweep.trial import TrialOutcome, TrialTask, execute, train_trial

__all__ = [
    "BACKENDS",
    "LocalBackend",
    "RayBackend",
    "SweepResult",
    "SweepSpec",
    "Trial",
    "TrialOutcome",
    "TrialTask",
    "collect",
    "execute",
    "load_spec",
    "make_backend",
    "read_status",
    "run_sweep",
    "train_trial",
    "trial_name",
]
