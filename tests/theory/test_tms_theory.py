"""k-gon critical points of the toy model of superposition (Chen et al. 2023)."""

import numpy as np
import pytest
import torch

from devrl.theory.kgon_free_energy import prior_constant
from devrl.theory.tms import (
    KGON_NAMES,
    REFERENCE_LOSSES,
    classify_polygon,
    critical_sample_size,
    kgon,
    kgon_critical_points,
    policy_gradient_output_covariance,
    polygon_weights,
    population_loss,
    population_loss_quadrature,
    population_loss_torch,
)


@pytest.fixture(scope="module")
def points():
    return kgon_critical_points()


@pytest.mark.parametrize("name", KGON_NAMES)
def test_kgon_losses_match_paper_to_4_decimals(points, name):
    p = points[name]
    assert abs(p.loss - REFERENCE_LOSSES[name]) < 1e-4 / 2 + 1e-9
    assert abs(p.loss - p.loss_quadrature) < 1e-9


@pytest.mark.parametrize("name", KGON_NAMES)
def test_kgon_is_a_critical_point(points, name):
    assert points[name].grad_norm < 1e-6


def test_closed_forms_of_the_4_gon_family(points):
    # 4-gon: exact on its 4 features, two features lost (1/(3c) each); each '+' saves 1/(4c^2).
    c = 6
    assert points["4"].loss == pytest.approx(2 / (3 * c), abs=1e-12)
    assert points["4+"].loss == pytest.approx(2 / (3 * c) - 1 / (4 * c**2), abs=1e-12)
    assert points["4+"].plus_bias == pytest.approx(1 / (2 * c), abs=1e-7)
    assert points["5"].loss - points["5+"].loss == pytest.approx(1 / (4 * c**2), abs=1e-9)


def test_closed_form_agrees_with_quadrature_and_monte_carlo_at_random_points():
    rng = np.random.default_rng(0)
    for _ in range(3):
        W, b = rng.normal(size=(2, 6)), rng.normal(scale=0.3, size=6)
        assert population_loss(W, b) == pytest.approx(population_loss_quadrature(W, b), abs=1e-9)
    n = 400_000
    idx, mu = rng.integers(0, 6, n), rng.random(n)
    x = np.zeros((n, 6))
    x[np.arange(n), idx] = mu
    mc = ((x - np.maximum(x @ W.T @ W + b, 0)) ** 2).sum(1)
    assert abs(mc.mean() - population_loss(W, b)) < 4 * mc.std() / np.sqrt(n)


def test_batched_loss_matches_loop():
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(4, 2, 6)), rng.normal(size=(4, 6))
    batched = population_loss_torch(torch.tensor(W), torch.tensor(b)).numpy()
    assert np.allclose(batched, [population_loss(W[i], b[i]) for i in range(4)], atol=1e-12)


@pytest.mark.parametrize(("name", "llc"), [("5", 7.0), ("5+", 8.5), ("6", 8.5)])
def test_hessian_rank_gives_the_theoretical_llc(points, name, llc):
    # Regular directions count 1/2 each; the flat ones (rotation, the inactive zero column
    # of the 5-gon) count 0, so lambda = rank(H)/2 at these minima.
    p = points[name]
    theta = torch.tensor(np.concatenate([p.W.ravel(), p.b]))
    H = torch.autograd.functional.hessian(
        lambda t: population_loss_torch(t[:12].reshape(2, 6), t[12:]), theta
    ).numpy()
    ev = np.linalg.eigvalsh(H)
    assert ev.min() > -1e-8  # a minimum, not a saddle
    assert (ev > 1e-5).sum() / 2 == llc == p.llc


def test_critical_sample_size_solves_free_energy_balance(points):
    l5, l6 = points["5"].loss, points["6"].loss
    n = critical_sample_size(l5, 7.0, l6, 8.5)
    assert n * (l5 - l6) == pytest.approx(1.5 * np.log(n), rel=1e-9)
    assert 440 < n < 450  # with the theoretical LLCs and no O(1) term
    # The O(1) term computed from the k-gon geometry (Chen et al.'s prior term 1/2|w*|^2,
    # devrl/theory/kgon_free_energy.py) puts the crossing at their 601.
    dc = prior_constant(points["6"]) - prior_constant(points["5"])
    assert dc == pytest.approx(2.7535, abs=1e-3)
    n = critical_sample_size(l5, 7.0, l6, 8.5, const_diff=dc)
    assert n == pytest.approx(601, abs=0.5)
    assert n * (l5 - l6) == pytest.approx(1.5 * np.log(n) + dc, rel=1e-9)
    with pytest.raises(ValueError, match="Swap"):
        critical_sample_size(l6, 8.5, l5, 7.0)


@pytest.mark.parametrize("name", KGON_NAMES)
def test_classify_constructed_and_perturbed_points(points, name):
    p = points[name]
    assert classify_polygon(p.W, p.b) == name
    rng = np.random.default_rng(2)
    for _ in range(5):
        W = p.W + rng.normal(scale=0.01, size=p.W.shape)
        b = p.b + rng.normal(scale=0.01, size=p.b.shape)
        # rotate: the phase does not depend on orientation
        a = rng.uniform(0, 2 * np.pi)
        R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        assert classify_polygon(R @ W, b) == name


def test_classify_irregular_and_degenerate():
    W = polygon_weights(4, 1.0)
    W[:, 1] = [0.9, 0.3]  # one vertex next to another: not a regular 4-gon
    assert classify_polygon(W, np.zeros(6)) == "other"
    assert classify_polygon(np.zeros((2, 6)), np.zeros(6)) == "other"
    with pytest.raises(ValueError):
        classify_polygon(np.zeros((3, 6)), np.zeros(6))


def test_kgon_rejects_bad_names():
    with pytest.raises(ValueError, match="not understood"):
        kgon("5+++")


@pytest.mark.parametrize("baseline", ["state", "none", "constant"])
def test_policy_gradient_covariance_formula_by_monte_carlo(baseline):
    rng = np.random.default_rng(3)
    c, sigma = 6, 0.3
    x, f = np.zeros(c), rng.random(c) * 0.5
    x[2] = 0.7
    r = x - f
    eps = rng.standard_normal((400_000, c))
    R = -((x - f - sigma * eps) ** 2).sum(1)
    a_bar = 0.35  # a context-average squared residual, for the constant baseline
    if baseline == "state":
        R = R + (r @ r + c * sigma**2)
    elif baseline == "constant":
        R = R + (a_bar + c * sigma**2)
    g = R[:, None] * eps / sigma
    assert np.allclose(g.mean(0), 2 * r, atol=0.02)
    cov = np.cov(g.T)
    want = policy_gradient_output_covariance(r, sigma, baseline, mean_sq_residual=a_bar)
    assert np.allclose(cov, want, atol=0.05 * np.abs(want).max())


def test_four_plus_is_a_local_minimum_not_a_saddle(points):
    # The autograd Hessian at the 4+ has two negative eigenvalues (a ReLU-kink artefact,
    # theory/tms_rl.md section 2). Direct checks: no random direction (the flat bias b_6 < 0
    # kept) lowers the loss, and gradient descent from a perturbation returns to L(4+).
    p = points["4+"]
    b = p.b.copy()
    b[5] = -0.5
    w0 = torch.tensor(np.concatenate([p.W.ravel(), b]))

    def loss(w):
        return population_loss_torch(w[..., :12].reshape(*w.shape[:-1], 2, 6), w[..., 12:])

    rng = np.random.default_rng(4)
    U = rng.normal(size=(20_000, 18))
    U[:, 17] = 0
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    for eps in (1e-3, 1e-2):
        dL = (loss(w0 + eps * torch.from_numpy(U)) - p.loss).numpy()
        assert dL.min() > 0.01 * eps**2  # 2 dL / eps^2 >= 0.02 in every direction
    w = (w0 + 0.01 * torch.from_numpy(rng.normal(size=18))).requires_grad_(True)
    opt = torch.optim.SGD([w], lr=0.5)
    for _ in range(3000):
        opt.zero_grad()
        loss(w).backward()
        opt.step()
    assert float(loss(w).detach()) == pytest.approx(p.loss, abs=1e-9)
