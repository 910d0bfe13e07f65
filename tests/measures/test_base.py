"""Measure parameters are checked against the measure function's annotations."""

import re

import numpy as np
import pytest

from devrl.measures import get_measure, register_measure
from devrl.measures.base import MEASURES


def test_parameters_must_match_their_annotated_types():
    assert get_measure("success", episodes=16, greedy=True).params["greedy"] is True
    for bad, text in [
        ({"greedy": "maybe"}, "'greedy' must be bool, got 'maybe' (str)"),
        ({"greedy": 1}, "'greedy' must be bool, got 1 (int)"),
        ({"episodes": 2.5}, "'episodes' must be int, got 2.5 (float)"),
        ({"episodes": True}, "'episodes' must be int, got True (bool)"),
    ]:
        with pytest.raises(TypeError, match=re.escape(f"measure 'success' parameter {text}")):
            get_measure("success", **bad)


def test_unions_none_and_ints_for_floats_are_accepted():
    m = get_measure("llc-value", lr=1, nbeta=None, state_policy=100, batch_size=None)
    assert m.params["lr"] == 1 and m.params["state_policy"] == 100
    get_measure("llc-value", state_policy="initial", nbeta=2.5)
    get_measure("llc-value", draws=np.int64(8), lr=np.float32(1e-3))  # e.g. from a table
    with pytest.raises(TypeError, match="'state_policy' must be int or str, got 1.5"):
        get_measure("llc-value", state_policy=1.5)
    with pytest.raises(TypeError, match="'nbeta' must be float or None, got 'auto'"):
        get_measure("llc-value", nbeta="auto")


def test_unannotated_measures_take_any_value():
    register_measure("_untyped", lambda policy, context, k=1: k, "test", k=1)
    try:
        assert get_measure("_untyped", k="anything").params["k"] == "anything"
    finally:
        del MEASURES["_untyped"]
