"""Curvature at the TMS k-gons: the TMS loss's Hessian against the action loss's Gauss–Newton.

The action loss of a Gaussian policy, ‖a − f_w(x)‖²/(2σ²) with a ~ N(f_ref(x), σ²), has the
population Hessian E[JᵀJ]/σ² at w = w_ref (J = ∂f_w(x)/∂w): the Gauss–Newton part only. The
TMS loss E‖x − f_w(x)‖² adds the residual curvature −2E[Σ_k r_k ∇²f_k] (theory/tms_rl.md §5).
At a saddle the Hessian has negative directions the Gauss–Newton matrix cannot have, so an
LLC estimated on the action loss cannot see them.

The 4-gon family sits on ReLU kinks (b = 0, WᵢᵀWⱼ = 0), where the loss has no Hessian: autograd
returns the Hessian of one smooth piece (ReLU'(0) = 0), whose eigenvalues there (two negative
ones at the 4⁺-gon) are not the loss's curvature. :func:`kgon_curvature` therefore also reports
the one-sided second derivatives (:mod:`devrl.llc.one_sided`): along the piece's lowest
eigenvector on both sides, and their minimum over all directions except the exactly flat ones.

SGLD at inverse temperature nβ with localization γ sees of a direction of curvature h about
½ · nβh/(nβh + γ) (:func:`visible_llc`): ½ for stiff directions, nothing for flat ones.
:func:`kgon_llc` estimates the LLC at the exact k-gons, where the truth is known (Chen et al.
2023: 5-gon 7, 6-gon 8.5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.func import jacrev, vmap

from devrl.agents.tms_model import tms_forward
from devrl.llc.one_sided import min_one_sided_curvature, one_sided_curvatures
from devrl.llc.tms_datasets import tms_llc_batched
from devrl.theory.kgon_free_energy import kgon_flat_directions
from devrl.theory.tms import kgon, population_loss_torch

__all__ = ["kgon_curvature", "kgon_llc", "tms_gauss_newton", "tms_hessian", "visible_llc"]


def visible_llc(eigenvalues, nbeta: float, localization: float) -> float:
    """½ Σ_i nβh_i/(nβh_i + γ) over the eigenvalues h_i, negative ones dropped (set to 0)."""
    pos = np.clip(np.asarray(eigenvalues), 0, None)
    return float(0.5 * np.sum(nbeta * pos / (nbeta * pos + localization)))


def _theta(W, b) -> torch.Tensor:
    return torch.cat([torch.as_tensor(W).flatten(), torch.as_tensor(b)]).double()


def tms_gauss_newton(W, b, x: torch.Tensor) -> torch.Tensor:
    """2E[JᵀJ] [d, d] over contexts x [n, c] at (W [m, c], b [c]); parameters (W flat, b).

    The action loss's population Hessian at its reference point, in TMS-loss units (the
    action loss times 2σ²).
    """
    m, c = np.shape(W)

    def f(theta, xi):
        return tms_forward(theta[: m * c].reshape(m, c), theta[m * c :], xi[None])[0]

    J = vmap(jacrev(f), in_dims=(None, 0))(_theta(W, b), x.double())  # [n, c, d]
    return 2 * torch.einsum("nki,nkj->ij", J, J) / len(x)


def tms_hessian(W, b) -> torch.Tensor:
    """Hessian [d, d] of the exact population TMS loss at (W [m, c], b [c])."""
    m, c = np.shape(W)
    return torch.autograd.functional.hessian(
        lambda t: population_loss_torch(t[: m * c].reshape(m, c), t[m * c :]), _theta(W, b)
    )


def _population_loss_flat(theta: torch.Tensor, m: int, c: int) -> torch.Tensor:
    return population_loss_torch(theta[: m * c].reshape(m, c), theta[m * c :])


def kgon_curvature(
    names: Sequence[str],
    x: torch.Tensor,
    nbeta: float,
    localization: float,
    zero_bias: float = -0.5,
    restarts: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Curvature of the TMS loss and of the action loss's Gauss–Newton matrix at the k-gons.

    Args:
        names: k-gon names of :func:`devrl.theory.tms.kgon` ('4', '4+', '5', ...).
        x: contexts [n, c] for the Gauss–Newton expectation.
        nbeta, localization: the SGLD settings of :func:`visible_llc`.
        zero_bias: bias of the zero columns (deep in their flat region, where the exact
            k-gon has them at the edge).
        restarts, seed: random starts of the minimum one-sided curvature.

    Returns:
        Two rows per k-gon (loss 'TMS loss (Hessian)', 'action loss (Gauss-Newton)'): phase,
        loss, kink (the point sits on a ReLU kink: some one-sided second derivative differs
        from the autograd Hessian's), positive eigenvalue count (|h| > 1e-6), min eigenvalue
        (autograd), the one-sided second derivatives of the TMS loss on the two sides along the
        eigenvector of that min eigenvalue ('curvature +v', 'curvature -v'), 'min one-sided'
        (their minimum over unit directions orthogonal to the rotation and the flat unused
        columns), visible LLC, theory LLC. At kinks the eigenvalue counts and the visible LLC are
        of one smooth piece and left out (NaN); the action loss's one-sided second derivatives
        are sums of squares (≥ 0) and not computed.
    """
    rows = []
    for name in names:
        k = kgon(name)
        b = k.b.copy()
        b[k.k + k.n_plus :] = zero_bias
        m, c = k.W.shape
        theta0 = _theta(k.W, b)

        def loss(t: torch.Tensor, m=m, c=c) -> torch.Tensor:
            return _population_loss_flat(t, m, c)

        H = tms_hessian(k.W, b).numpy()
        ev, vecs = np.linalg.eigh(H)
        probe = np.concatenate([vecs.T, np.eye(len(ev))])
        sides = one_sided_curvatures(loss, theta0, probe)
        quad = np.einsum("id,de,ie->i", probe, H, probe)
        kink = bool(np.abs(sides - quad[:, None]).max() > 1e-6)
        q_min, _ = min_one_sided_curvature(
            loss, theta0, kgon_flat_directions(k), restarts=restarts, seed=seed
        )
        gn = tms_gauss_newton(k.W, b, x).numpy()
        for which, M in (("TMS loss (Hessian)", H), ("action loss (Gauss-Newton)", gn)):
            e = np.linalg.eigvalsh(M)
            tms = which.startswith("TMS")
            rows.append(
                {
                    "phase": name,
                    "loss": which,
                    "kink": "yes" if kink else "no",
                    "positive": float("nan") if kink else int((e > 1e-6).sum()),
                    "min eigenvalue": float(e.min()),
                    "curvature +v": float(sides[0, 0]) if tms else float("nan"),
                    "curvature -v": float(sides[0, 1]) if tms else float("nan"),
                    "min one-sided": q_min if tms else float("nan"),
                    "visible LLC": float("nan") if kink else visible_llc(e, nbeta, localization),
                    "theory LLC": k.llc,
                }
            )
    return pd.DataFrame(rows)


def kgon_llc(
    names: Sequence[str], x: torch.Tensor, hp: dict, seed: int, zero_bias: float = -1.0
) -> pd.DataFrame:
    """SGLD LLC of the oracle loss at the exact k-gons, against their theoretical LLCs.

    Args:
        names: k-gon names ('5', '6', ...).
        x: contexts [n, c], the same for every k-gon.
        hp: settings of :func:`~devrl.llc.tms_datasets.tms_llc_batched`.
        seed: the sampler's seed.
        zero_bias: bias of the 5-gon's zero column (deep in its flat region; k-gons with no
            zero column are unchanged).

    Returns:
        One row per k-gon: phase, truth, llc, std (over chains), n, and the settings ``hp``.
    """
    pts = {name: kgon(name) for name in names}
    W = np.stack([p.W for p in pts.values()])
    b = np.stack([p.b for p in pts.values()])
    for i, p in enumerate(pts.values()):
        b[i, p.k + p.n_plus :] = zero_bias
    n = len(x)
    results = tms_llc_batched(W, b, (x[None].expand(len(pts), *x.shape),), seed=seed, **hp)
    rows = [
        {"phase": k, "truth": p.llc, "llc": r.mean, "std": r.std, "n": n, **hp}
        for (k, p), r in zip(pts.items(), results, strict=True)
    ]
    return pd.DataFrame(rows)
