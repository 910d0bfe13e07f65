"""The O(1) free-energy term at the k-gons, and the critical sample sizes it gives."""

import itertools
import math

import numpy as np
import pytest
import torch

from devrl.theory.kgon_free_energy import (
    flat_coordinates,
    flat_region_prior_mass,
    kgon_flat_directions,
    kgon_multiplicity,
    laplace_constant,
    prior_constant,
    transition_sample_size,
)
from devrl.theory.tms import KGON_NAMES, kgon, population_loss, population_loss_torch

# Chen et al.'s tabulated prior terms (c = 6), as quoted in third-party reproductions
CHEN_PRIOR = {"4": 2.0, "4+": 2.00347, "5": 3.62417, "5+": 3.62764, "6": 6.37767}


@pytest.fixture(scope="module")
def points():
    return {name: kgon(name) for name in KGON_NAMES}


def test_prior_constant_is_half_the_squared_norm(points):
    assert prior_constant(points["4"]) == pytest.approx(2.0, abs=1e-12)  # four unit columns
    assert prior_constant(points["4+"]) == pytest.approx(2.0 + 0.5 / 144, abs=1e-9)  # b+ = 1/12
    p = points["6"]
    assert prior_constant(p) == pytest.approx(3 * (p.radius**2 + p.bias**2), abs=1e-12)
    for name, want in CHEN_PRIOR.items():
        assert prior_constant(points[name]) == pytest.approx(want, abs=5e-5)


def test_chen_constant_gives_their_critical_sample_sizes():
    assert transition_sample_size("5", 7.0, "6", 8.5) == pytest.approx(601, abs=0.5)
    assert transition_sample_size("5", 7.0, "6", 8.5, constant="none") == pytest.approx(445, abs=1)
    # 4+ -> 5 gives ~380 only with lambda(4+) = 5, an input here (not derived; see theory/)
    assert transition_sample_size("4+", 5.0, "5", 7.0) == pytest.approx(381, abs=1.5)
    with pytest.raises(ValueError, match="constant must be"):
        transition_sample_size("5", 7.0, "6", 8.5, constant="other")


def _orbits_by_enumeration(point) -> int:
    """Distinct rotation orbits of the k-gon's copies under all feature permutations and
    reflections: the cyclic order of labels around the polygon (up to rotation) and the labels of
    the positive-bias columns."""
    c, k, n_plus = point.W.shape[1], point.k, point.n_plus
    seen = set()
    for perm in itertools.permutations(range(c)):
        for flip in (1, -1):
            W = point.W.copy()
            W[1] *= flip
            angles = np.arctan2(W[1], W[0])
            order = [perm[j] for j in sorted(range(k), key=lambda j: angles[j])]
            i = order.index(min(order))
            seen.add(
                (tuple(order[i:] + order[:i]), frozenset(perm[j] for j in range(k, k + n_plus)))
            )
    return len(seen)


@pytest.mark.parametrize("name", ["4", "4+", "5", "6"])
def test_multiplicity_matches_enumeration(points, name):
    assert kgon_multiplicity(points[name]) == _orbits_by_enumeration(points[name])


@pytest.mark.parametrize("name", KGON_NAMES)
def test_flat_directions_are_exactly_flat(points, name):
    p = points[name]
    b = p.b.copy()
    b[p.k + p.n_plus :] = -0.5
    w = np.concatenate([p.W.ravel(), b])
    L0 = population_loss(w[:12].reshape(2, 6), w[12:])
    for v in kgon_flat_directions(p)[1:]:  # coordinates: exactly flat for small steps
        for s in (-0.05, 0.05):
            x = w + s * v
            assert population_loss(x[:12].reshape(2, 6), x[12:]) == pytest.approx(L0, abs=1e-14)
    rot = kgon_flat_directions(p)[0]  # the rotation tangent: flat to second order
    x = w + 1e-4 * rot
    assert abs(population_loss(x[:12].reshape(2, 6), x[12:]) - L0) < 1e-9


def test_flat_region_of_the_5_gon_by_monte_carlo(points):
    p = points["5"]
    P = flat_region_prior_mass(p)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400_000, 3))
    g = z[:, :2] @ p.W[:, :5]
    inside = (g.max(1) <= -p.bias) & (z[:, 2] <= -(z[:, :2] ** 2).sum(1)) & (z[:, 2] <= -g.max(1))
    assert abs(inside.mean() - P) < 4 * np.sqrt(P / len(z))
    # the loss is exactly the 5-gon's inside the region and changes outside it
    for (x, y, b6), ins in zip(z[:300], inside[:300], strict=True):
        bb = p.b.copy()
        bb[5] = b6
        W = p.W.copy()
        W[:, 5] = [x, y]
        assert (abs(population_loss(W, bb) - p.loss) < 1e-12) == ins
    assert flat_region_prior_mass(points["4+"]) == 0.5 and flat_region_prior_mass(points["6"]) == 1
    assert flat_coordinates(points["5"]) == [5, 11, 17] and flat_coordinates(points["4"]) == [
        16,
        17,
    ]


def test_laplace_constant_against_direct_integration_at_the_6_gon(points):
    # Z_n of one rotation orbit by importance sampling in the 17 transverse directions
    # (Gaussian N(0, (nH)^-1)), times the copies; C = F_n - nL - 8.5 ln n must approach the
    # Laplace constant as n grows.
    p, n = points["6"], 1e6
    parts = laplace_constant(p)
    w0 = torch.tensor(np.concatenate([p.W.ravel(), p.b]))
    t_hat = kgon_flat_directions(p)[0]
    U = np.linalg.svd(t_hat[None])[2][1:].T  # [18, 17] orthonormal complement
    H = torch.autograd.functional.hessian(
        lambda t: population_loss_torch(t[:12].reshape(2, 6), t[12:]), w0
    ).numpy()
    HU = U.T @ H @ U
    rng = np.random.default_rng(1)
    cov = np.linalg.inv(n * HU)
    z = rng.multivariate_normal(np.zeros(17), cov, size=20_000)
    w = w0.numpy() + z @ U.T  # [S, 18]
    L = population_loss_torch(torch.tensor(w[:, :12].reshape(-1, 2, 6)), torch.tensor(w[:, 12:]))
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    jac = np.abs(
        np.einsum("ab,sbc->sac", J, w[:, :12].reshape(-1, 2, 6)).reshape(-1, 12) @ t_hat[:12]
    )  # the rotation tangent's length normal to the slice
    log_q = (
        -0.5 * np.einsum("si,ij,sj->s", z, n * HU, z) - 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]
    )
    log_f = -n * (L.numpy() - p.loss) - 0.5 * (w**2).sum(1) - 9 * np.log(2 * np.pi) + np.log(jac)
    log_z = np.log(2 * np.pi) + np.log(np.mean(np.exp(log_f - log_q)))
    c_direct = -(log_z + math.log(kgon_multiplicity(p))) - 8.5 * math.log(n)
    assert c_direct == pytest.approx(parts["total"], abs=0.05)
    with pytest.raises(ValueError, match="ReLU kinks"):
        laplace_constant(points["4+"])


def test_full_constant_moves_the_5_to_6_transition():
    # all five parts of the O(1) term: the prior part alone gives 601, all of them ~112
    assert transition_sample_size("5", 7.0, "6", 8.5, constant="laplace") == pytest.approx(
        112.4, abs=0.5
    )
