"""The feedback rung's fixed point, on policies whose argmax is known."""

import numpy as np
import pytest

from devrl.theory.tms import kgon
from devrl.theory.tms_feedback import argmax_matrix, feedback_fixed_point, unrepresented_share


def test_a_policy_that_always_names_one_feature():
    # W = 0 and one large positive bias: the argmax is feature 0 whatever the context, so
    # p* = (1 - k) u + k e_0, and the other features keep (1 - k)/c each.
    b = np.array([5.0, 0, 0, 0, 0, 0])
    A = argmax_matrix(np.zeros((2, 6)), b, sigma=0.1, samples=2000)
    np.testing.assert_allclose(A, np.tile([1, 0, 0, 0, 0, 0], (6, 1)))
    p = feedback_fixed_point(A, 0.5)
    np.testing.assert_allclose(p, [0.5 + 0.5 / 6] + [0.5 / 6] * 5)
    W = np.zeros((2, 6))
    W[0, 0] = 0.1  # feature 0 has the only nonzero column: two of the others are "unused"
    assert unrepresented_share(W, b, 0.1, 0.5, 2, samples=2000) == pytest.approx(1 / 6)


def test_a_perfect_reconstruction_keeps_the_uniform_distribution():
    A = argmax_matrix(np.eye(2), np.zeros(2), sigma=0.0, samples=1000)
    np.testing.assert_allclose(A, np.eye(2))
    np.testing.assert_allclose(feedback_fixed_point(A, 0.9), [0.5, 0.5])


def test_the_4_gon_starves_its_two_unused_features():
    p = kgon("4")  # unused features output 0: only noise makes them an argmax
    share = unrepresented_share(p.W, p.b, 0.1, 0.5, 2, samples=20_000)
    assert 0.2 < share < 1 / 3
    with pytest.raises(ValueError, match="kappa"):
        feedback_fixed_point(np.eye(2), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        argmax_matrix(np.zeros((2, 6)), np.zeros(5), 0.1)
