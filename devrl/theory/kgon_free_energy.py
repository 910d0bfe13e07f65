"""The O(1) term of the Bayesian free energy at the TMS k-gons, and the critical sample sizes.

The local free energy of a phase α (a neighbourhood of the k-gon's critical set, all its
symmetric copies included) under the posterior ∝ exp(−n L(w)) φ(w), φ the standard normal
prior on the 18 parameters, is

    F_n(α) = −log ∫_α exp(−n L(w)) φ(w) dw = n L_α + λ_α ln n + C_α + o(1).

At the 5-, 5⁺- and 6-gon the loss is smooth and regular transversally to its critical set
(theory/tms_rl.md §2), and the Laplace expansion gives C_α in five parts
(:func:`laplace_constant`):

* prior:   −log φ at the critical point, over the parameters that are not flat;
* hessian: ½ Σ log h_i − (r/2) log 2π over the r positive Hessian eigenvalues (the Gaussian
  integral along the regular directions);
* orbit:   −log(2π‖W‖_F), the length of the rotation orbit (the one flat direction of the
  polygon);
* copies:  −log M, M the number of distinct rotation orbits (which features form the polygon,
  their cyclic order, which zero columns carry a positive bias);
* flat:    −log P, P the prior mass of the region where an unused column is exactly flat
  (the 5-gon's sixth column: 3 parameters, L constant on a bounded region of them).

Chen et al. (2023) keep only the first part, without the (d/2) log 2π that is common to all
phases: ½‖w*‖² (:func:`prior_constant`). That reproduces their n_cr ≈ 601 for 5 → 6 at c = 6.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special, stats

from devrl.theory.tms import KGon, critical_sample_size, kgon, population_loss_torch

__all__ = [
    "flat_coordinates",
    "flat_region_prior_mass",
    "kgon_flat_directions",
    "kgon_multiplicity",
    "laplace_constant",
    "prior_constant",
    "transition_sample_size",
]


def _c(point: KGon) -> int:
    return point.W.shape[1]


def flat_coordinates(point: KGon) -> list[int]:
    """Parameter indices (W flattened row-major, then b) of the unused columns that are flat.

    An unused column j with negative bias outputs 0 on every input near the k-gon; its bias is
    flat (exactly, for b_j < 0). Its weights W_j are flat too when the polygon's bias b* < 0
    (the polygon outputs stay off on feature j), but not when b* = 0 (the 4-gon family: any
    W_j ≠ 0 switches on some polygon output on feature j).
    """
    c, out = _c(point), []
    for j in range(point.k + point.n_plus, c):
        if point.bias < 0:
            out += [j, c + j]
        out.append(2 * c + j)
    return sorted(out)


def kgon_flat_directions(point: KGon) -> np.ndarray:
    """Unit directions [n, 3c] along which the loss is exactly flat at the k-gon.

    The rotation tangent (W ↦ JW, J the 90° rotation) and the coordinates of
    :func:`flat_coordinates`. Used to exclude them from the search for the smallest one-sided
    curvature (:func:`devrl.llc.one_sided.min_one_sided_curvature`).
    """
    c = _c(point)
    rot = np.concatenate([(np.array([[0.0, -1.0], [1.0, 0.0]]) @ point.W).ravel(), np.zeros(c)])
    dirs = [rot / np.linalg.norm(rot)]
    for i in flat_coordinates(point):
        e = np.zeros(3 * c)
        e[i] = 1.0
        dirs.append(e)
    return np.array(dirs)


def kgon_multiplicity(point: KGon) -> int:
    """Number of distinct rotation orbits of copies of the k-gon under feature permutations
    and reflections: C(c, k) (which features) · (k−1)! (their cyclic order, both orientations)
    · C(c−k, n₊) (which unused columns carry a positive bias)."""
    if point.k < 3:
        raise ValueError(f"multiplicity is for polygons with k >= 3; got k={point.k}")
    c = _c(point)
    return (
        math.comb(c, point.k) * math.factorial(point.k - 1) * math.comb(c - point.k, point.n_plus)
    )


def prior_constant(point: KGon) -> float:
    """Chen et al.'s O(1) term: ½‖w*‖² over the non-flat parameters (−log φ(w*) up to the
    constant (d/2) log 2π), i.e. with the flat biases at their boundary value 0."""
    flat = set(flat_coordinates(point))
    w = np.concatenate([point.W.ravel(), point.b])
    return 0.5 * float(sum(v**2 for i, v in enumerate(w) if i not in flat))


def flat_region_prior_mass(point: KGon, n_angle: int = 4096, n_radius: int = 64) -> float:
    """Standard-normal prior mass of the region where the unused columns are exactly flat.

    4-gon family (b* = 0): only the biases b_j ≤ 0 are flat, mass ½ per such column. Polygon
    with b* < 0 and one unused negative-bias column j: the loss does not depend on
    (W_j, b_j) while output j stays off on every feature (b_j ≤ −‖W_j‖², b_j ≤ −W_i·W_j) and
    the polygon outputs stay off on feature j (W_i·W_j ≤ −b*). Integrating b_j out,
    P = ∫ φ₂(w) Φ(min(−‖w‖², −max_i W_i·w)) dw over {max_i W_i·w ≤ −b*}, evaluated in polar
    coordinates (trapezoid in angle, Gauss–Legendre in radius).
    """
    unused = _c(point) - point.k - point.n_plus
    if unused == 0:
        return 1.0
    if point.bias == 0:
        return 0.5**unused
    if unused != 1:
        raise ValueError(
            f"flat region of {unused} unused columns with b* < 0 is not a product; "
            "only one is supported"
        )
    Wp = point.W[:, : point.k]
    theta = np.linspace(0.0, 2 * np.pi, n_angle, endpoint=False)
    m = (np.stack([np.cos(theta), np.sin(theta)], 1) @ Wp).max(1)  # max_i W_i·u > 0
    nodes, weights = special.roots_legendre(n_radius)
    r_max = -point.bias / m  # [angle]
    r = 0.5 * r_max[:, None] * (nodes + 1)  # [angle, radius]
    inner = np.exp(-(r**2) / 2) / (2 * np.pi) * stats.norm.cdf(np.minimum(-(r**2), -r * m[:, None]))
    radial = 0.5 * r_max * (inner * r * weights).sum(1)
    return float(radial.mean() * 2 * np.pi)


def laplace_constant(point: KGon, zero_bias: float = -0.5) -> dict[str, float]:
    """The O(1) term C_α of the free energy at a smooth k-gon, in its five parts (module doc).

    Args:
        point: a k-gon with k >= 5 (the 4-gon family sits on ReLU kinks: no Hessian).
        zero_bias: bias of the flat unused columns when taking the Hessian (any value inside
            the flat region gives the same Hessian).

    Returns:
        {'prior', 'hessian', 'orbit', 'copies', 'flat', 'total', 'rank'}.
    """
    if point.bias >= 0:
        raise ValueError(
            f"{point.name!r} sits on ReLU kinks (b* = {point.bias:g}): its loss has no Hessian "
            "and no Laplace expansion; use a k-gon with k >= 5"
        )
    c = _c(point)
    flat = flat_coordinates(point)
    b = point.b.copy()
    b[point.k + point.n_plus :] = zero_bias
    theta = torch.tensor(np.concatenate([point.W.ravel(), b]))
    H = torch.autograd.functional.hessian(
        lambda t: population_loss_torch(t[: 2 * c].reshape(2, c), t[2 * c :]), theta
    ).numpy()
    ev = np.linalg.eigvalsh(H)
    pos = ev[ev > 1e-6 * ev.max()]
    r, d_reg = len(pos), 3 * c - len(flat)
    if r != d_reg - 1:
        raise ValueError(f"{point.name!r}: Hessian rank {r}, expected {d_reg - 1}: not regular")
    log2pi = math.log(2 * math.pi)
    parts = {
        "prior": prior_constant(point) + d_reg / 2 * log2pi,
        "hessian": 0.5 * float(np.log(pos).sum()) - r / 2 * log2pi,
        "orbit": -math.log(2 * math.pi * float(np.linalg.norm(point.W))),
        "copies": -math.log(kgon_multiplicity(point)),
        "flat": -math.log(flat_region_prior_mass(point)),
    }
    parts["total"] = sum(parts.values())
    parts["rank"] = float(r)
    return parts


def transition_sample_size(
    a: str, llc_a: float, b: str, llc_b: float, constant: str = "chen", c: int = 6
) -> float:
    """n_cr of the Bayesian transition a → b (b: lower loss, higher LLC) with a given O(1) term.

    Args:
        a, b: k-gon names.
        llc_a, llc_b: their learning coefficients.
        constant: 'chen' (½‖w*‖², :func:`prior_constant`), 'laplace' (the full
            :func:`laplace_constant`) or 'none'.
        c: number of features.
    """
    pa, pb = kgon(a, c), kgon(b, c)
    if constant == "chen":
        dc = prior_constant(pb) - prior_constant(pa)
    elif constant == "laplace":
        dc = laplace_constant(pb)["total"] - laplace_constant(pa)["total"]
    elif constant == "none":
        dc = 0.0
    else:
        raise ValueError(f"constant must be 'chen', 'laplace' or 'none'; got {constant!r}")
    return critical_sample_size(pa.loss, llc_a, pb.loss, llc_b, const_diff=dc)
