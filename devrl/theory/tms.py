"""The toy model of superposition (TMS): exact population loss and its k-gon critical points.

Chen, Lau, Mendel, Wei, Murfet (2023), "Dynamical versus Bayesian phase transitions in a
toy model of superposition". The model is f(x) = ReLU(WᵀW x + b) with W ∈ R^{m×c}, b ∈ R^c;
inputs are in the high-sparsity limit x = μ e_i (i uniform on 1..c, μ ~ U[0,1]); the loss is
L(W, b) = E‖x − f(x)‖² (summed over outputs, no ½).

Because exactly one feature is active, every (input feature i, output k) pair contributes
∫₀¹ (δ_ki μ − ReLU(G_ki μ + b_k))² dμ with G = WᵀW: a piecewise quadratic with one kink, so
the loss is available in closed form (and differentiable by autograd, which gives the exact
population gradient). ``population_loss_quadrature`` recomputes it by adaptive quadrature.

k-gon names (c = 6, m = 2): ``"k"`` followed by one ``+`` per extra feature whose column is
zero and whose bias is positive. Such a feature is output as the constant b = E[x_i] = 1/(2c),
which lowers its loss from E[x_i²] = 1/(3c) to Var(x_i) = 1/(3c) − 1/(4c²). The remaining
zero columns carry a negative bias (output 0). So 4⁺⁺ = 4-gon + two positive-bias zero columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import integrate, optimize

__all__ = [
    "KGON_NAMES",
    "REFERENCE_LOSSES",
    "THEORETICAL_LLCS",
    "KGon",
    "classify_polygon",
    "critical_sample_size",
    "kgon",
    "kgon_critical_points",
    "policy_gradient_output_covariance",
    "polygon_weights",
    "population_gradient",
    "population_loss",
    "population_loss_quadrature",
    "population_loss_torch",
]

KGON_NAMES: tuple[str, ...] = ("4", "4+", "4++", "5", "5+", "6")

#: Population losses for c = 6, m = 2 as printed by Chen et al. (5 significant digits).
REFERENCE_LOSSES: dict[str, float] = {
    "4": 0.11111,
    "4+": 0.10417,
    "4++": 0.09722,
    "5": 0.06874,
    "5+": 0.06180,
    "6": 0.04819,
}

#: Learning coefficients for c = 6, m = 2. 5-gon: the 5 columns + 5 biases are a regular
#: minimum up to the rotation orbit, (15 − 1)/2 = 7; the zero column with negative bias is
#: locally flat. 5⁺ and 6-gon: all 18 parameters regular except the rotation, (18 − 1)/2.
#: The 4-gon family sits on ReLU kinks (b = 0) and is left out (None).
THEORETICAL_LLCS: dict[str, float | None] = {
    "4": None,
    "4+": None,
    "4++": None,
    "5": 7.0,
    "5+": 8.5,
    "6": 8.5,
}

#: Bias given to zero columns that do not carry a "+": any negative value is a critical point.
NEGATIVE_BIAS = -0.1


def _as_tensor(a, dtype=torch.float64) -> torch.Tensor:
    return (
        a.to(dtype) if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a), dtype=dtype)
    )


def _check_shapes(W: torch.Tensor, b: torch.Tensor) -> None:
    if W.ndim < 2 or b.shape[-1] != W.shape[-1] or b.shape[:-1] != W.shape[:-2]:
        raise ValueError(
            f"expected W [..., m, c] and b [..., c] with matching c and batch dims; got W "
            f"{tuple(W.shape)} and b {tuple(b.shape)}. Pass W as hidden×features (e.g. 2×6)."
        )


def _pair_integrals(g: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """∫₀¹ (t μ − ReLU(g μ + b))² dμ elementwise (broadcast), exact."""
    g_safe = torch.where(g == 0, torch.ones_like(g), g)
    mu0 = (-b / g_safe).clamp(0.0, 1.0)  # kink of the ReLU, clipped to [0, 1]
    zero, one = torch.zeros_like(g), torch.ones_like(g)
    lo = torch.where(g > 0, mu0, zero)
    hi = torch.where(g < 0, mu0, torch.where(g > 0, one, (b > 0).to(g.dtype)))
    alpha, beta = t - g, -b  # on the active piece the residual is α μ + β
    active = alpha**2 * (hi**3 - lo**3) / 3 + alpha * beta * (hi**2 - lo**2) + beta**2 * (hi - lo)
    inactive = t**2 * (1.0 / 3.0 - (hi**3 - lo**3) / 3)
    return active + inactive


def population_loss_torch(
    W: torch.Tensor,
    b: torch.Tensor,
    probs: torch.Tensor | None = None,
    importance: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exact, differentiable population loss; batched over leading dimensions.

    Args:
        W: weights [..., m, c].
        b: biases [..., c].
        probs: probability that feature i is the active one [c] (default uniform 1/c).
        importance: weight of output k in the squared error [c] (default 1).

    Returns:
        L(W, b) with shape [...].
    """
    _check_shapes(W, b)
    c = W.shape[-1]
    G = W.transpose(-1, -2) @ W  # [..., c(out k), c(in i)]: G[k, i] = W_k · W_i
    eye = torch.eye(c, dtype=W.dtype, device=W.device)
    pair = _pair_integrals(G, b.unsqueeze(-1), eye)  # [..., k, i]
    p = torch.full((c,), 1.0 / c, dtype=W.dtype) if probs is None else _as_tensor(probs, W.dtype)
    imp = torch.ones(c, dtype=W.dtype) if importance is None else _as_tensor(importance, W.dtype)
    return ((pair * imp.unsqueeze(-1)).sum(-2) * p).sum(-1)


def population_loss(W, b, probs=None, importance=None) -> float:
    """Exact population loss L(W, b) (closed form) as a float; numpy or torch inputs."""
    return float(population_loss_torch(_as_tensor(W), _as_tensor(b), probs, importance))


def population_gradient(W, b) -> tuple[np.ndarray, np.ndarray]:
    """Exact gradient (∂L/∂W [m, c], ∂L/∂b [c]) of the population loss, by autograd."""
    Wt = _as_tensor(W).clone().requires_grad_(True)
    bt = _as_tensor(b).clone().requires_grad_(True)
    population_loss_torch(Wt, bt).backward()
    return Wt.grad.numpy(), bt.grad.numpy()


def population_loss_quadrature(W, b) -> float:
    """The same loss by adaptive quadrature (scipy.integrate.quad), as an independent check."""
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    G, c = W.T @ W, W.shape[1]
    total = 0.0
    for i in range(c):
        for k in range(c):
            g, t = G[k, i], float(k == i)
            kinks = [-b[k] / g] if g != 0 and 0 < -b[k] / g < 1 else None

            def integrand(mu: float, g=g, bk=b[k], t=t) -> float:
                return (t * mu - max(g * mu + bk, 0.0)) ** 2

            total += integrate.quad(integrand, 0.0, 1.0, points=kinks, epsabs=1e-13)[0]
    return total / c


def polygon_weights(k: int, radius: float, c: int = 6, phase: float = 0.0) -> np.ndarray:
    """W [2, c] whose first k columns form a regular k-gon of the given radius; others zero."""
    if not 1 <= k <= c:
        raise ValueError(f"k must be in 1..c={c}; got {k}")
    W = np.zeros((2, c))
    angles = phase + 2 * np.pi * np.arange(k) / k
    W[0, :k], W[1, :k] = radius * np.cos(angles), radius * np.sin(angles)
    return W


@dataclass
class KGon:
    """A k-gon critical point of the TMS population loss (c features, 2 hidden dimensions)."""

    name: str
    k: int
    n_plus: int
    W: np.ndarray  # [2, c]
    b: np.ndarray  # [c]
    loss: float
    loss_quadrature: float
    grad_norm: float  # ‖∇L‖ over all parameters at (W, b)
    radius: float
    bias: float
    plus_bias: float | None
    llc: float | None = None
    reference_loss: float | None = None
    meta: dict = field(default_factory=dict)


def phase_counts(phase: str) -> tuple[float, float]:
    """``(k, number of '+')`` of a phase name from :func:`classify_polygon`; NaNs for 'other'."""
    if phase == "other":
        return float("nan"), float("nan")
    k = phase.rstrip("+")
    return float(k), float(len(phase) - len(k))


def _parse(name: str, c: int) -> tuple[int, int]:
    k, n_plus = name.rstrip("+"), len(name) - len(name.rstrip("+"))
    if not k.isdigit() or not 2 <= int(k) <= c or int(k) + n_plus > c:
        raise ValueError(
            f"k-gon name {name!r} not understood: expected digits k then '+' per positive-bias "
            f"zero column, with k + #'+' <= c={c} (e.g. '5+')."
        )
    return int(k), n_plus


def _assemble(k: int, n_plus: int, c: int, radius: float, bias: float, plus_bias: float):
    W = polygon_weights(k, radius, c)
    b = np.full(c, NEGATIVE_BIAS)
    b[:k] = bias
    b[k : k + n_plus] = plus_bias
    return W, b


def kgon(name: str, c: int = 6) -> KGon:
    """Find the k-gon critical point by minimising the exact loss over the symmetric ansatz.

    The ansatz has three numbers: polygon radius l, polygon bias b (shared by its k
    features), and the bias of the positive-bias zero columns. They are optimised with
    L-BFGS-B on the closed-form loss; the full 2c + c gradient is then evaluated at the
    result (by symmetry it vanishes there, which ``grad_norm`` confirms numerically).

    Args:
        name: one of ``KGON_NAMES`` (or any 'k' + '+'*n with k + n <= c).
        c: number of features.

    Returns:
        The critical point with its loss (closed form and quadrature) and gradient norm.
    """
    k, n_plus = _parse(name, c)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        angles = torch.tensor(2 * np.pi * np.arange(k) / k, dtype=torch.float64)
        W = torch.zeros(2, c, dtype=torch.float64)
        W = W.index_put((torch.tensor(0), torch.arange(k)), t[0] * torch.cos(angles))
        W = W.index_put((torch.tensor(1), torch.arange(k)), t[0] * torch.sin(angles))
        b = torch.cat(
            [
                t[1].expand(k),
                t[2].expand(n_plus),
                torch.full((c - k - n_plus,), NEGATIVE_BIAS, dtype=torch.float64),
            ]
        )
        loss = population_loss_torch(W, b)
        loss.backward()
        return float(loss.detach()), t.grad.numpy().copy()

    # k <= 4: exact reconstruction at l = 1, b = 0 (a kink); k >= 5 needs negative bias.
    x0 = np.array([1.0, 0.0 if k <= 4 else -0.1, 1.0 / (2 * c)])
    bounds = [(0.1, 3.0), (-1.0, 0.0), (0.0, 1.0)]
    res = optimize.minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000},
    )
    radius, bias, plus_bias = (float(v) for v in res.x)
    W, b = _assemble(k, n_plus, c, radius, bias, plus_bias)
    gW, gb = population_gradient(W, b)
    return KGon(
        name=name,
        k=k,
        n_plus=n_plus,
        W=W,
        b=b,
        loss=population_loss(W, b),
        loss_quadrature=population_loss_quadrature(W, b),
        grad_norm=float(np.sqrt((gW**2).sum() + (gb**2).sum())),
        radius=radius,
        bias=bias,
        plus_bias=plus_bias if n_plus else None,
        llc=THEORETICAL_LLCS.get(name) if c == 6 else None,
        reference_loss=REFERENCE_LOSSES.get(name) if c == 6 else None,
        meta={"optimizer_success": bool(res.success), "optimizer_message": str(res.message)},
    )


def kgon_critical_points(c: int = 6, names: tuple[str, ...] = KGON_NAMES) -> dict[str, KGon]:
    """All the named k-gon critical points, keyed by name."""
    return {name: kgon(name, c) for name in names}


def critical_sample_size(
    loss_a: float, llc_a: float, loss_b: float, llc_b: float, const_diff: float = 0.0
) -> float:
    """Sample size where the free energies F = nL + λ ln n + C of two phases cross.

    Phase a has higher loss and lower LLC (e.g. the 5-gon), phase b lower loss and higher
    LLC (the 6-gon). For n < n_cr the posterior prefers a, for n > n_cr it prefers b.
    Solves n ΔL = Δλ ln n + ΔC with ΔL = L_a − L_b > 0, Δλ = λ_b − λ_a, ΔC = C_b − C_a,
    on the branch n > Δλ/ΔL (the larger root).

    Args:
        loss_a, llc_a: loss and LLC of the simpler phase.
        loss_b, llc_b: loss and LLC of the more accurate phase.
        const_diff: ΔC, the difference of the O(1) terms (0 if unknown); computed from the
            k-gon geometry by :mod:`devrl.theory.kgon_free_energy`.

    Returns:
        n_cr as a float.
    """
    d_loss, d_llc = loss_a - loss_b, llc_b - llc_a
    if d_loss <= 0 or d_llc < 0:
        raise ValueError(
            f"need loss_a > loss_b and llc_a <= llc_b (a simpler, b more accurate); got "
            f"ΔL={d_loss:g}, Δλ={d_llc:g}. Swap the two phases."
        )

    def gap(n: float) -> float:
        return n * d_loss - d_llc * math.log(n) - const_diff

    lo = max(d_llc / d_loss, 1.0)  # F difference is minimal here; the crossing is above it
    hi = lo * 2 + 10
    while gap(hi) < 0:
        hi *= 2
    if gap(lo) >= 0:
        return lo
    return float(optimize.brentq(gap, lo, hi, xtol=1e-10))


def classify_polygon(
    W,
    b,
    large_frac: float = 0.5,
    min_norm: float = 0.2,
    angle_tol: float = 0.35,
    bias_tol: float = 0.04,
) -> str:
    """Name the k-gon phase of a (trained) TMS parameter with 2 hidden dimensions.

    A column is *large* if its norm exceeds ``large_frac`` × the largest norm (and
    ``min_norm``). The large columns must form a regular-ish polygon: sorted by angle,
    each gap within ``angle_tol`` × 2π/k of 2π/k. Each small column with bias above
    ``bias_tol`` adds a '+'. Returns e.g. ``'5+'``, or ``'other'`` when the large
    columns are not a regular polygon (or there are fewer than 2 of them).

    Args:
        W: [2, c] weights. b: [c] biases.
        large_frac, min_norm, angle_tol, bias_tol: thresholds described above.

    Returns:
        The phase name.
    """
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    if W.ndim != 2 or W.shape[0] != 2 or b.shape != (W.shape[1],):
        raise ValueError(f"expected W [2, c] and b [c]; got {W.shape} and {b.shape}")
    norms = np.linalg.norm(W, axis=0)
    large = norms > max(large_frac * norms.max(), min_norm)
    k = int(large.sum())
    if k < 2:
        return "other"
    angles = np.sort(np.arctan2(W[1, large], W[0, large]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    if np.max(np.abs(gaps - 2 * np.pi / k)) > angle_tol * 2 * np.pi / k:
        return "other"
    return f"{k}" + "+" * int(((~large) & (b > bias_tol)).sum())


def policy_gradient_output_covariance(
    r: np.ndarray, sigma: float, baseline: str = "state", mean_sq_residual: float | None = None
) -> np.ndarray:
    """Covariance over the policy noise of the REINFORCE signal in output space, given x.

    The REINFORCE gradient for the Gaussian policy N(f(x), σ²I) with reward −‖x − a‖² is
    Jᵀ g with g = (R − baseline) ε/σ, a = f + σε, and E[g] = 2r, r = x − f(x) (the supervised
    signal). This returns Cov_ε[g] [c, c] (derivation in theory/tms_rl.md):
    baseline 'none':  (A²/σ² + 2(c+4)A + (c+2)(c+4)σ²) I + 4 r rᵀ, A = ‖r‖²;
    baseline 'state' (b(x) = E[R | x]): (4A + 2(c+4)σ²) I + 4 r rᵀ;
    baseline 'constant' (b = −(Ā + cσ²)): the 'state' value + ((A − Ā)²/σ² + 4(A − Ā)) I.

    Args:
        r: residual x − f(x) [c].
        sigma: policy standard deviation.
        baseline: 'state', 'constant' or 'none'.
        mean_sq_residual: Ā = E_x‖x − f(x)‖² (= L), needed for 'constant'.
    """
    r = np.asarray(r, dtype=float)
    c, A = r.shape[0], float(r @ r)
    if baseline in ("state", "constant"):
        scale = 4 * A + 2 * (c + 4) * sigma**2
        if baseline == "constant":
            if mean_sq_residual is None:
                raise ValueError("baseline='constant' needs mean_sq_residual (the loss L).")
            d = A - mean_sq_residual
            scale += d**2 / sigma**2 + 4 * d
    elif baseline == "none":
        scale = A**2 / sigma**2 + 2 * (c + 4) * A + (c + 2) * (c + 4) * sigma**2
    else:
        raise ValueError(f"baseline must be 'state', 'constant' or 'none'; got {baseline!r}")
    return scale * np.eye(c) + 4 * np.outer(r, r)
