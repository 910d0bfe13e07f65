"""``weight-distance``, ``policy-kl`` and ``state-entropy`` on hand-checkable softmax-linear policies."""

import types

import numpy as np
import pytest
import torch
from torch import nn

from devrl._registration import MAZE_ID
from devrl.measures import drift, get_measure


def _linear(bias) -> nn.Linear:
    policy = nn.Linear(2, 4)
    with torch.no_grad():
        policy.weight.zero_()
        policy.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return policy


class _Context:
    """Checkpoints {0, 1000, 3000} of one run; ``policy_at`` returns the stored policies."""

    env_id = MAZE_ID

    def __init__(self, policies: dict, step: int):
        self.run = types.SimpleNamespace(steps=sorted(policies))
        self.step, self._policies = step, policies

    def policy_at(self, step):
        return self._policies[step]

    def require_env(self, env_id, what):
        assert env_id == MAZE_ID


@pytest.fixture
def obs(monkeypatch):
    obs = np.ones((6, 2), dtype=np.float32)
    monkeypatch.setattr(drift, "state_buffer", lambda *a, **k: types.SimpleNamespace(obs=obs))
    return obs


def test_weight_distance_by_hand():
    a, b = _linear([0, 0, 0, 0]), _linear([3, 4, 0, 0])  # moved by (3, 4): distance 5
    ctx = _Context({0: a, 1000: a, 3000: b}, 3000)
    out = get_measure("weight-distance")(b, ctx)
    assert out[""] == pytest.approx(5.0)
    assert out["per-kstep"] == pytest.approx(5.0 / 2)  # 2,000 steps since the previous one
    first = get_measure("weight-distance")(a, _Context({0: a, 1000: a}, 0))
    assert np.isnan(first[""]) and np.isnan(first["per-kstep"])


def test_policy_kl_by_hand(obs):
    uniform = _linear([0, 0, 0, 0])
    peaked = _linear([np.log(7.0), 0, 0, 0])  # π = (7/10, 1/10, 1/10, 1/10)
    ctx = _Context({0: uniform, 1000: peaked}, 1000)
    out = get_measure("policy-kl")(peaked, ctx)
    q = np.array([0.7, 0.1, 0.1, 0.1])
    expected = float(np.sum(0.25 * np.log(0.25 / q)))  # KL(uniform ‖ peaked)
    assert out[""][0] == pytest.approx(expected)
    assert out[""][1] == pytest.approx(0.0)  # the same KL at every state
    assert out["per-kstep"][0] == pytest.approx(expected)
    same = get_measure("policy-kl")(uniform, _Context({0: uniform, 500: uniform}, 500))
    assert same[""][0] == pytest.approx(0.0)


def test_state_entropy_by_hand(obs):
    h = get_measure("state-entropy")(_linear([0, 0, 0, 0]), _Context({0: None}, 0))
    assert h[0] == pytest.approx(np.log(4.0))
    q = np.array([0.7, 0.1, 0.1, 0.1])
    peaked = get_measure("state-entropy")(_linear(np.log(q * 10)), _Context({0: None}, 0))
    assert peaked[0] == pytest.approx(float(-(q * np.log(q)).sum()))


def test_buffer_override_reaches_state_buffer(monkeypatch):
    seen = {}

    def fake(policy, context, states, samples, state_policy="final", anywhere=None):
        seen.update(states=states, samples=samples, anywhere=anywhere)
        return types.SimpleNamespace(obs=np.ones((3, 2), dtype=np.float32))

    monkeypatch.setattr(drift, "state_buffer", fake)
    m = get_measure("state-entropy", samples=3, buffer_anywhere=1.0)
    m(_linear([0, 0, 0, 0]), _Context({0: None}, 0))
    assert seen == {"states": "uniform", "samples": 3, "anywhere": 1.0}
