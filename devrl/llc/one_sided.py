"""One-sided second derivatives of a loss at a kink, where its Hessian does not exist.

A ReLU network's loss is piecewise smooth: at a parameter where some pre-activation sits
exactly at 0 (the TMS 4-gon family has b = 0 and WᵢᵀWⱼ = 0), the second derivative depends on
the side from which the point is approached. Autograd then returns the Hessian of one smooth
piece (ReLU'(0) = 0 switches every tied unit off), and its eigenvalues say nothing about
whether the loss can decrease: a negative eigenvalue of that piece may be a direction along
which the true loss rises on both sides.

What is well defined at such a point (for a C¹ loss with zero gradient there) is the
one-sided second derivative along each direction v,

    Q(v) = d²/dt² f(x₀ + t v) at t → 0⁺ ,

positively homogeneous of degree 2 in v but not a quadratic form; Q(v) and Q(−v) differ at a
kink. The point is a second-order minimum modulo given flat directions iff Q > 0 on the unit
sphere of their orthogonal complement, and a saddle if Q(v) < 0 for some v.
:func:`min_one_sided_curvature` minimises Q over that sphere from random starts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import optimize

__all__ = ["min_one_sided_curvature", "one_sided_curvatures", "one_sided_second_derivative"]

Loss = Callable[[torch.Tensor], torch.Tensor]


def _as_vec(a, name: str, dim: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64)
    if t.ndim != 1 or (dim is not None and t.shape[0] != dim):
        want = f"[{dim}]" if dim is not None else "1-d"
        raise ValueError(f"{name} must be a {want} vector; got shape {tuple(t.shape)}")
    return t


def _ray_curvature(f: Loss, x0: torch.Tensor, u: torch.Tensor, step: float, graph: bool):
    """uᵀ∇²f(x₀ + step·u) u: the second derivative along the ray, inside the piece it enters."""
    x = (x0 + step * u).requires_grad_(True) if not graph else x0 + step * u
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (hu,) = torch.autograd.grad(g @ u, x, create_graph=graph)
    return hu @ u


def one_sided_second_derivative(f: Loss, x0, v, step: float = 1e-7) -> float:
    """Q(v) = d²/dt² f(x₀ + t v) at t → 0⁺ for a unit-normalised direction v, times ‖v‖².

    Evaluated exactly (autograd) at t = ``step``·‖v‖ along the ray, i.e. inside the smooth piece
    the ray enters; for a piecewise-quadratic f this is the one-sided limit, otherwise it is off
    by O(step).

    Args:
        f: loss of a float64 vector [d].
        x0: the point [d].
        v: the direction [d] (nonzero).
        step: how far along the ray (in units of ‖v‖) the second derivative is taken.
    """
    x0 = _as_vec(x0, "x0")
    v = _as_vec(v, "v", x0.shape[0])
    norm = float(v.norm())
    if norm == 0 or step <= 0:
        raise ValueError(f"need a nonzero direction v and step > 0; got ‖v‖={norm}, step={step}")
    return float(_ray_curvature(f, x0, v / norm, step, graph=False)) * norm**2


def one_sided_curvatures(f: Loss, x0, directions, step: float = 1e-7) -> np.ndarray:
    """(Q(v), Q(−v)) for each row v of ``directions`` [n, d]: the two sides of the kink.

    Returns:
        [n, 2]: column 0 the side +v, column 1 the side −v.
    """
    dirs = np.atleast_2d(np.asarray(directions, dtype=float))
    return np.array(
        [[one_sided_second_derivative(f, x0, s * v, step) for s in (1.0, -1.0)] for v in dirs]
    )


def min_one_sided_curvature(
    f: Loss,
    x0,
    null_directions=None,
    restarts: int = 32,
    seed: int = 0,
    step: float = 1e-7,
) -> tuple[float, np.ndarray]:
    """Smallest one-sided second derivative over unit directions orthogonal to given flat ones.

    Q is continuous on the sphere and smooth on each piece, so L-BFGS from ``restarts`` random
    starts (the same minimum from most starts is the check) finds its minimum. Positive: a
    second-order minimum modulo the null directions; negative: a descent direction (a saddle).

    Args:
        f: loss of a float64 vector [d]; its gradient at x0 should vanish.
        x0: the point [d].
        null_directions: [k, d] directions along which f is exactly flat (symmetry orbits,
            dead units), excluded from the search; None for none.
        restarts: random starts.
        seed: seed of the starts.
        step: see :func:`one_sided_second_derivative`.

    Returns:
        (min Q, the unit direction [d] attaining it).
    """
    x0 = _as_vec(x0, "x0")
    d = x0.shape[0]
    if null_directions is None or len(null_directions) == 0:
        basis = np.eye(d)
    else:
        N = np.atleast_2d(np.asarray(null_directions, dtype=float))
        if N.shape[1] != d:
            raise ValueError(f"null_directions must be [k, {d}]; got {N.shape}")
        rank = np.linalg.matrix_rank(N)
        basis = np.linalg.svd(N)[2][rank:].T  # orthonormal complement [d, d - rank]
        if basis.shape[1] == 0:
            raise ValueError("null_directions span the whole space: nothing left to search")
    B = torch.from_numpy(basis)

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        zt = torch.from_numpy(z).requires_grad_(True)
        u = B @ zt
        q = _ray_curvature(f, x0, u / u.norm(), step, graph=True)
        (gz,) = torch.autograd.grad(q, zt)
        return float(q.detach()), gz.numpy()

    rng = np.random.default_rng(seed)
    best = (np.inf, None)
    for _ in range(restarts):
        res = optimize.minimize(objective, rng.normal(size=basis.shape[1]), jac=True)
        if res.fun < best[0]:
            best = (float(res.fun), res.x)
    u = basis @ best[1]
    return best[0], u / np.linalg.norm(u)
