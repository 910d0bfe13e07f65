"""Curvature at the TMS k-gons: the TMS loss's Hessian against the action loss's Gauss–Newton.

The action loss of a Gaussian policy, ‖a − f_w(x)‖²/(2σ²) with a ~ N(f_ref(x), σ²), has the
population Hessian E[JᵀJ]/σ² at w = w_ref (J = ∂f_w(x)/∂w): the Gauss–Newton part only. The
TMS loss E‖x − f_w(x)‖² adds the residual curvature −2E[Σ_k r_k ∇²f_k] (theory/tms_rl.md §5).
At a saddle such as the 4⁺-gon the Hessian has negative directions the Gauss–Newton matrix
cannot have, so an LLC estimated on the action loss cannot see them.

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
from devrl.llc.tms_datasets import tms_llc_batched
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


def kgon_curvature(
    names: Sequence[str],
    x: torch.Tensor,
    nbeta: float,
    localization: float,
    zero_bias: float = -0.5,
) -> pd.DataFrame:
    """Eigenvalue counts of the Hessian and the Gauss–Newton matrix at the named k-gons.

    Args:
        names: k-gon names of :func:`devrl.theory.tms.kgon` ('4', '4+', '5', ...).
        x: contexts [n, c] for the Gauss–Newton expectation.
        nbeta, localization: the SGLD settings of :func:`visible_llc`.
        zero_bias: bias of the zero columns (deep in their flat region, where the exact
            k-gon has them at the edge).

    Returns:
        Two rows per k-gon (loss 'TMS loss (Hessian)', 'action loss (Gauss-Newton)'): phase,
        loss, positive and negative eigenvalue counts (|h| > 1e-6), min eigenvalue, visible
        LLC, theory LLC.
    """
    rows = []
    for name in names:
        k = kgon(name)
        b = k.b.copy()
        b[k.k + k.n_plus :] = zero_bias
        gn = tms_gauss_newton(k.W, b, x)
        H = tms_hessian(k.W, b)
        for which, M in (("TMS loss (Hessian)", H), ("action loss (Gauss-Newton)", gn)):
            ev = np.linalg.eigvalsh(M.numpy())
            rows.append(
                {
                    "phase": name,
                    "loss": which,
                    "positive": int((ev > 1e-6).sum()),
                    "negative": int((ev < -1e-6).sum()),
                    "min eigenvalue": float(ev.min()),
                    "visible LLC": visible_llc(ev, nbeta, localization),
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
