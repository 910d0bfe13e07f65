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
from devrl.theory.tms import kgon


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


def test_the_four_plus_point_is_a_kink_minimum_not_a_saddle():
    # Autograd's Hessian at the 4+ (one smooth piece, ReLU'(0) = 0) has a negative eigenvalue;
    # the one-sided second derivatives along that eigenvector are positive on both sides, and
    # so is their minimum over every direction but the rotation and the flat bias.
    x = torch.from_numpy(sample_contexts(2000, np.random.default_rng(1)))
    geo = kgon_curvature(["4+", "6"], x, nbeta=2000.0, localization=30.0, restarts=4)
    geo = geo.set_index(["phase", "loss"])
    four = geo.loc[("4+", "TMS loss (Hessian)")]
    assert four["kink"] == "yes" and four["min eigenvalue"] < -0.005
    assert four["curvature +v"] > 0.05 and four["curvature -v"] > 0.05
    assert 0 < four["min one-sided"] < min(four["curvature +v"], four["curvature -v"])
    assert np.isnan(four["visible LLC"]) and np.isnan(four["positive"])
    # at the smooth 6-gon the minimum one-sided curvature is the smallest positive eigenvalue
    six = geo.loc[("6", "TMS loss (Hessian)")]
    ev = np.linalg.eigvalsh(tms_hessian(kgon("6").W, kgon("6").b).numpy())
    assert six["kink"] == "no" and six["positive"] == 17 and six["theory LLC"] == 8.5
    assert six["min one-sided"] == pytest.approx(ev[ev > 1e-6].min(), rel=1e-4)
    assert (geo.xs("action loss (Gauss-Newton)", level="loss")["min eigenvalue"] > -1e-9).all()


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
