"""Curvature at the k-gons: analytic cases of the visible LLC, Gauss–Newton and Hessian."""

import numpy as np
import pytest
import torch

from devrl.envs.tms import sample_contexts
from devrl.llc.geometry import (
    kgon_curvature,
    kgon_llc,
    tms_gauss_newton,
    tms_hessian,
    visible_llc,
)


def test_visible_llc_counts_half_per_stiff_direction_and_nothing_for_flat_ones():
    assert visible_llc([1e9] * 6, nbeta=100.0, localization=1.0) == pytest.approx(3.0)
    assert visible_llc([0.0, -5.0], nbeta=100.0, localization=1.0) == 0.0
    assert visible_llc([0.01, 0.01], nbeta=100.0, localization=1.0) == pytest.approx(0.5)


def test_at_zero_weights_both_matrices_are_twice_the_identity_on_the_bias():
    # W = 0, b > 0: f(x) = b, so J = [0 | I] and 2E[J^TJ] = diag(0, 2I); the population loss
    # is E|x - b|^2 in b, with Hessian 2I.
    W, b = np.zeros((2, 6)), np.full(6, 0.2)
    x = torch.from_numpy(sample_contexts(500, np.random.default_rng(0)))
    gn = tms_gauss_newton(W, b, x)
    expected = torch.zeros(18, 18, dtype=torch.float64)
    expected[12:, 12:] = 2 * torch.eye(6, dtype=torch.float64)
    torch.testing.assert_close(gn, expected)
    torch.testing.assert_close(tms_hessian(W, b)[12:, 12:], 2 * torch.eye(6, dtype=torch.float64))


def test_the_four_plus_saddle_is_visible_to_the_hessian_only():
    x = torch.from_numpy(sample_contexts(4000, np.random.default_rng(1)))
    geo = kgon_curvature(["4+", "6"], x, nbeta=2000.0, localization=30.0).set_index(
        ["phase", "loss"]
    )
    assert geo.loc[("4+", "TMS loss (Hessian)"), "negative"] >= 1
    assert (geo.xs("action loss (Gauss-Newton)", level="loss").negative == 0).all()
    assert geo.loc[("6", "TMS loss (Hessian)"), "negative"] == 0
    assert geo.loc[("6", "TMS loss (Hessian)"), "theory LLC"] == 8.5


def test_kgon_llc_rows_carry_the_truth_and_settings():
    x = torch.from_numpy(sample_contexts(2000, np.random.default_rng(2)))
    hp = {"lr": 1e-5, "nbeta": 1e3, "localization": 30.0, "chains": 2, "burnin": 20}
    hp |= {"draws": 40, "batch_size": 500}
    got = kgon_llc(["5", "6"], x, hp, seed=0)
    assert got.phase.tolist() == ["5", "6"] and got.truth.tolist() == [7.0, 8.5]
    assert (got.n == 2000).all() and (got.chains == 2).all()
    assert np.isfinite(got.llc).all() and (got["std"] >= 0).all()


@pytest.mark.slow
def test_kgon_llc_finds_chen_et_al_s_learning_coefficients():
    x = torch.from_numpy(sample_contexts(100_000, np.random.default_rng(3)))
    hp = {"lr": 1e-5, "nbeta": 1e4, "localization": 30.0, "chains": 8, "burnin": 1000}
    hp |= {"draws": 2000, "batch_size": 2000}
    got = kgon_llc(["5", "6"], x, hp, seed=0)
    np.testing.assert_allclose(got.llc, got.truth, rtol=0.1)
