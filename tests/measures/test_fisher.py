"""The ``fisher`` and ``weight-norm`` measures on a hand-checkable softmax-linear policy."""

import types

import numpy as np
import pytest
import torch
from torch import nn

import devrl.measures.fisher as fisher_module
from devrl.llc.policy_fisher import policy_fisher_eigenvalues
from devrl.measures import MEASURES, get_measure


def _uniform_policy():
    policy = nn.Linear(2, 4)
    nn.init.zeros_(policy.weight), nn.init.zeros_(policy.bias)
    return policy


def test_fisher_measure_rows(monkeypatch):
    obs = np.ones((5, 2), dtype=np.float32)
    monkeypatch.setattr(
        fisher_module, "state_buffer", lambda *a, **k: types.SimpleNamespace(obs=obs)
    )
    m = get_measure("fisher", nbeta=10.0, localizations=(1.0, 100.0))
    out = m(_uniform_policy(), context=None)
    # uniform π over 4 actions, s = (1, 1): trace (1 − 1/4)·3 = 9/4 (tests/llc/test_policy_fisher.py)
    assert out[""] == pytest.approx(2.25)
    eig = policy_fisher_eigenvalues(_uniform_policy(), obs)
    assert out["top"] == pytest.approx(eig[0])
    assert out["count-g1"] == np.sum(eig > 0.1)
    assert out["count-g100"] == 0  # every eigenvalue is below 100/10
    expected = 0.5 * np.sum(10 * eig / (10 * eig + 1.0))
    assert out["visible-g1"] == pytest.approx(expected)
    names = {r["measure"] for r in m.rows(out)}
    assert {"fisher", "fisher/top", "fisher/visible-g100", "fisher/count-g1"} <= names


def test_fisher_measure_bad_input(monkeypatch):
    monkeypatch.setattr(
        fisher_module, "state_buffer", lambda *a, **k: types.SimpleNamespace(obs=np.ones((2, 2)))
    )
    with pytest.raises(ValueError, match="nbeta"):
        fisher_module.fisher(_uniform_policy(), None, nbeta=0.0)
    with pytest.raises(ValueError, match="localizations"):
        fisher_module.fisher(_uniform_policy(), None, localizations=(0.0,))


def test_weight_norm_by_hand():
    policy = nn.Linear(2, 1)
    with torch.no_grad():
        policy.weight.copy_(torch.tensor([[3.0, 0.0]]))
        policy.bias.fill_(4.0)
    assert MEASURES["weight-norm"](policy, None) == pytest.approx(5.0)
