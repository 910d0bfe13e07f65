"""One-sided second derivatives at kinks, against hand-built functions with known curvatures."""

import numpy as np
import pytest
import torch

from devrl.llc.one_sided import (
    min_one_sided_curvature,
    one_sided_curvatures,
    one_sided_second_derivative,
)


def kinked_minimum(x: torch.Tensor) -> torch.Tensor:
    # -0.1 x² + ReLU(x)² + 0.5 ReLU(-x)² + y²: one-sided curvature along +x is 2(1 - 0.1) = 1.8,
    # along -x 2(0.5 - 0.1) = 0.8, along ±y 2. Autograd (ReLU'(0) = 0) sees only -0.1 x² + y²,
    # a Hessian diag(-0.2, 2): a "saddle" where the function has a strict minimum.
    return -0.1 * x[0] ** 2 + torch.relu(x[0]) ** 2 + 0.5 * torch.relu(-x[0]) ** 2 + x[1] ** 2


def kinked_saddle(x: torch.Tensor) -> torch.Tensor:
    # ReLU(x)² - y²: a true saddle (Q(±y) = -2) with a kink along x (Q(+x) = 2, Q(-x) = 0).
    return torch.relu(x[0]) ** 2 - x[1] ** 2


def test_autograd_hessian_of_the_kinked_minimum_is_the_wrong_piece():
    H = torch.autograd.functional.hessian(kinked_minimum, torch.zeros(2, dtype=torch.float64))
    assert H[0, 0] == pytest.approx(-0.2)  # the failure mode this module exists for


def test_one_sided_curvatures_on_each_side_of_the_kink():
    got = one_sided_curvatures(kinked_minimum, np.zeros(2), np.eye(2))
    np.testing.assert_allclose(got, [[1.8, 0.8], [2.0, 2.0]], atol=1e-6)
    # degree-2 homogeneity: Q(3v) = 9 Q(v); a diagonal direction mixes the two pieces
    assert one_sided_second_derivative(kinked_minimum, np.zeros(2), [3.0, 0.0]) == pytest.approx(
        16.2, abs=1e-5
    )
    q = one_sided_second_derivative(kinked_minimum, np.zeros(2), [1.0, 1.0])
    assert q == pytest.approx(1.8 + 2.0, abs=1e-6)


def test_minimum_over_the_sphere_finds_the_soft_side_and_the_saddle():
    q, u = min_one_sided_curvature(kinked_minimum, np.zeros(2), restarts=8)
    assert q == pytest.approx(0.8, abs=1e-6)
    np.testing.assert_allclose(np.abs(u), [1.0, 0.0], atol=1e-3)
    assert u[0] < 0  # the soft side is -x
    q, u = min_one_sided_curvature(kinked_saddle, np.zeros(2), restarts=8)
    assert q == pytest.approx(-2.0, abs=1e-6)
    np.testing.assert_allclose(np.abs(u), [0.0, 1.0], atol=1e-3)


def test_null_directions_are_excluded():
    def flat_in_z(x):  # exactly flat along z: without excluding it the minimum is 0
        return kinked_minimum(x[:2])

    q, _ = min_one_sided_curvature(flat_in_z, np.zeros(3), restarts=8)
    assert q == pytest.approx(0.0, abs=1e-6)
    q, u = min_one_sided_curvature(flat_in_z, np.zeros(3), null_directions=[[0, 0, 1]], restarts=8)
    assert q == pytest.approx(0.8, abs=1e-6) and abs(u[2]) < 1e-9


def test_bad_input():
    with pytest.raises(ValueError, match="nonzero direction"):
        one_sided_second_derivative(kinked_minimum, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="v must be"):
        one_sided_second_derivative(kinked_minimum, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="whole space"):
        min_one_sided_curvature(kinked_minimum, np.zeros(2), null_directions=np.eye(2))
