"""Measures of one checkpoint share one state buffer and one set of evaluation episodes."""

import pytest

CHEAP_LLC = {"samples": 64, "chains": 2, "draws": 4, "burnin": 2, "batch_size": 16}

from devrl.llc import states as llc_states
from devrl.measures import Context, get_measure
from devrl.track import track


def test_llc_measures_collect_one_buffer_per_checkpoint(tiny_run, monkeypatch):
    calls = []
    original = llc_states.policy_states

    def counting(*args, **kwargs):
        calls.append(kwargs.get("source"))
        return original(*args, **kwargs)

    monkeypatch.setattr(llc_states, "policy_states", counting)
    measures = [get_measure(f"llc-{k}", **CHEAP_LLC) for k in ("action", "kl", "value")]
    track(tiny_run, measures, progress=False)
    assert calls == ["self"] * len(tiny_run.steps)  # one buffer per step, not three


def test_shared_buffer_gives_the_same_estimate_as_a_fresh_one(tiny_run):
    step = tiny_run.steps[-1]
    policy = tiny_run.policy(step)
    measure = get_measure("llc-kl", **CHEAP_LLC)
    shared = Context(tiny_run, step)
    get_measure("llc-action", **CHEAP_LLC)(policy, shared)  # fills the buffer
    with_shared, fresh = measure(policy, shared), measure(policy, Context(tiny_run, step))
    with_shared.pop("seconds"), fresh.pop("seconds")
    assert with_shared == fresh


def test_context_is_environment_agnostic(tiny_run):
    context = Context(tiny_run, tiny_run.steps[0])
    assert context.env_id == "devrl/Maze-v0"
    assert context.env_kwargs == {
        "size": 5,
        "corner": 1,
        "reward": tiny_run.config["reward"],
        "max_steps": tiny_run.config["max_steps"],
        "cheese_anywhere": 0.0,
    }
    assert context.gamma == tiny_run.config["gamma"] and context.seed == 3
    with pytest.raises(ValueError, match="needs a run on devrl/TMSBandit-v0"):
        context.require_env("devrl/TMSBandit-v0", "population-loss")


def test_anywhere_override_gives_the_buffer_of_cheese_anywhere_levels(tiny_run):
    import numpy as np

    from devrl.measures import state_buffer

    context = Context(tiny_run, tiny_run.steps[0])
    policy = tiny_run.policy(tiny_run.steps[0])
    anywhere = {**context.env_kwargs, "cheese_anywhere": 1.0}
    expected = llc_states.uniform_states(anywhere, 64, seed=context.measure_seed).obs
    own = llc_states.uniform_states(context.env_kwargs, 64, seed=context.measure_seed).obs
    got = state_buffer(policy, context, "uniform", 64, anywhere=1.0).obs
    assert np.array_equal(got, expected) and not np.array_equal(got, own)
    # the run's own buffer is kept apart in the memo, not replaced by the override's
    assert np.array_equal(state_buffer(policy, context, "uniform", 64).obs, own)
