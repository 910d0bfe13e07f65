import numpy as np
import pytest
import torch

from devrl.objectives.deltas import (
    add_delta,
    cosine_matrix,
    flatten,
    layer_cosines,
    layer_norms,
    random_like,
    shared_specific,
    state_delta,
)

A = {
    "w": torch.tensor([1.0, 2.0]),
    "b": torch.tensor([0.0]),
    "steps": torch.tensor(3),
}
B = {
    "w": torch.tensor([4.0, 6.0]),
    "b": torch.tensor([1.0]),
    "steps": torch.tensor(7),
}


def d(w, b):
    return {"w": torch.tensor(w, dtype=torch.float64), "b": torch.tensor(b, dtype=torch.float64)}


def test_state_delta_norms_and_flatten():
    delta = state_delta(A, B)
    assert list(delta) == ["w", "b"]  # integer buffers are not weights
    assert torch.equal(delta["w"], torch.tensor([3.0, 4.0], dtype=torch.float64))
    norms = layer_norms(delta)
    assert norms == pytest.approx({"w": 5.0, "b": 1.0, "total": np.sqrt(26.0)})
    vec, slices = flatten(delta)
    assert vec.tolist() == [3.0, 4.0, 1.0]
    assert vec[slices["b"]].tolist() == [1.0]


def test_add_delta_inverts_state_delta():
    back = add_delta(A, state_delta(A, B))
    assert torch.allclose(back["w"], B["w"]) and torch.allclose(back["b"], B["b"])
    assert back["w"].dtype == torch.float32 and back["steps"] == 3  # untouched entry copied
    patched = add_delta(A, state_delta(A, B), alpha=-1.0)
    assert patched["w"].tolist() == [-2.0, -2.0]


def test_cosines_of_known_directions():
    x, y = d([1.0, 0.0], [0.0]), d([0.0, 1.0], [0.0])
    m = cosine_matrix([x, d([2.0, 0.0], [0.0]), d([-1.0, 0.0], [0.0]), y])
    assert m[0, 1] == pytest.approx(1.0) and m[0, 2] == pytest.approx(-1.0)
    assert m[0, 3] == pytest.approx(0.0)
    assert np.isnan(cosine_matrix([x, d([0.0, 0.0], [0.0])])[0, 1])
    per = layer_cosines([d([1.0, 0.0], [1.0]), d([0.0, 1.0], [-2.0])])
    assert per["w"][0, 1] == pytest.approx(0.0) and per["b"][0, 1] == pytest.approx(-1.0)


def test_shared_and_specific_parts():
    deltas = [d([1.0, 3.0], [0.0]), d([3.0, 1.0], [2.0])]
    shared, specific = shared_specific(deltas)
    assert shared["w"].tolist() == [2.0, 2.0] and shared["b"].tolist() == [1.0]
    assert specific[0]["w"].tolist() == [-1.0, 1.0] and specific[1]["b"].tolist() == [1.0]
    total = {k: specific[0][k] + specific[1][k] for k in shared}
    assert all(torch.all(v == 0) for v in total.values())
    with pytest.raises(ValueError, match="same entries"):
        shared_specific([d([1.0, 0.0], [0.0]), {"w": torch.zeros(2)}])


def test_random_like_matches_per_layer_norms_and_is_nearly_orthogonal():
    big = {"w": torch.randn(2000, dtype=torch.float64), "b": torch.zeros(3, dtype=torch.float64)}
    r = random_like(big, seed=1)
    assert layer_norms(r) == pytest.approx(layer_norms(big))
    assert abs(cosine_matrix([big, r])[0, 1]) < 0.1  # ~1/sqrt(2000) for a random direction
    assert torch.equal(random_like(big, seed=1)["w"], r["w"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="same float entries"):
        state_delta(A, {"w": torch.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        state_delta(A, {**B, "w": torch.zeros(3)})
    with pytest.raises(ValueError, match="not in state"):
        add_delta(A, {"z": torch.zeros(1)})
