"""Weight differences Delta = MB - MA as parameter-space objects.

Why: the weight-difference method reads the change of objective off ``Delta_k = MB_k - MA``
(MB_k: MA fine-tuned on reward RB_k). A delta is a plain ``dict[name -> tensor]`` over the
floating-point entries of a state dict, so per-layer norms, cosines, the shared part
(mean over k) and the specific parts (``Delta_k - mean``) are a few lines each, and
random control directions can match a delta's per-layer norms exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "add_delta",
    "cosine_matrix",
    "flatten",
    "layer_cosines",
    "layer_norms",
    "random_like",
    "shared_specific",
    "specific_share",
    "state_delta",
]

Delta = dict[str, torch.Tensor]


def _float_keys(state: Mapping[str, torch.Tensor]) -> list[str]:
    return [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()]


def state_delta(before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]) -> Delta:
    """``after - before`` for every floating-point entry (float64, detached, on CPU).

    Raises:
        ValueError: if the two state dicts differ in keys or shapes.
    """
    keys = _float_keys(before)
    if set(keys) != set(_float_keys(after)):
        raise ValueError(
            f"before and after must have the same float entries; only in one: "
            f"{sorted(set(keys) ^ set(_float_keys(after)))}"
        )
    out = {}
    for k in keys:
        if before[k].shape != after[k].shape:
            raise ValueError(f"entry {k!r} has shape {before[k].shape} vs {after[k].shape}.")
        out[k] = after[k].detach().double().cpu() - before[k].detach().double().cpu()
    return out


def add_delta(
    state: Mapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor], alpha: float = 1.0
) -> dict[str, torch.Tensor]:
    """A new state dict ``state + alpha * delta`` (dtypes kept; entries not in delta copied).

    Why: builds the patched network ``MA - Delta`` (``alpha=-1``) and transplants.
    """
    missing = set(delta) - set(state)
    if missing:
        raise ValueError(f"delta has entries not in state: {sorted(missing)}")
    out = {}
    for k, v in state.items():
        if k in delta:
            out[k] = (v.detach().double() + alpha * delta[k].to(v.device).double()).to(v.dtype)
        else:
            out[k] = v.clone() if torch.is_tensor(v) else v
    return out


def flatten(delta: Mapping[str, torch.Tensor]) -> tuple[np.ndarray, dict[str, slice]]:
    """The delta as one float64 vector, and the slice each entry occupies (in key order)."""
    slices, parts, start = {}, [], 0
    for k, v in delta.items():
        n = v.numel()
        slices[k] = slice(start, start + n)
        parts.append(v.detach().double().reshape(-1).cpu().numpy())
        start += n
    return (np.concatenate(parts) if parts else np.zeros(0)), slices


def layer_norms(delta: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Frobenius norm of each entry, plus ``"total"`` (the norm of the whole vector)."""
    norms = {k: float(v.double().norm()) for k, v in delta.items()}
    norms["total"] = float(np.sqrt(sum(n * n for n in norms.values())))
    return norms


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")


def cosine_matrix(deltas: Sequence[Mapping[str, torch.Tensor]]) -> np.ndarray:
    """``[K, K]`` cosine similarities of the flattened deltas (NaN where one is zero)."""
    vecs = [flatten(d)[0] for d in deltas]
    K = len(vecs)
    return np.array([[_cos(vecs[i], vecs[j]) for j in range(K)] for i in range(K)])


def layer_cosines(deltas: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, np.ndarray]:
    """Per entry, the ``[K, K]`` cosine matrix of the deltas restricted to that entry."""
    if not deltas:
        raise ValueError("deltas must hold at least one delta.")
    return {
        k: np.array(
            [
                [_cos(a[k].reshape(-1).numpy(), b[k].reshape(-1).numpy()) for b in deltas]
                for a in deltas
            ]
        )
        for k in deltas[0]
    }


def shared_specific(
    deltas: Sequence[Mapping[str, torch.Tensor]],
) -> tuple[Delta, list[Delta]]:
    """The shared part (mean over k) and the specific parts ``Delta_k - mean``.

    Why: the seed's hope is that confounders common to every fine-tune (policy change,
    world-model refocusing) sit in the mean and the objective in the specific parts.
    The specific parts sum to zero by construction.
    """
    if not deltas:
        raise ValueError("deltas must hold at least one delta.")
    keys = list(deltas[0])
    if any(list(d) != keys for d in deltas):
        raise ValueError("all deltas must have the same entries in the same order.")
    shared = {k: torch.stack([d[k] for d in deltas]).mean(0) for k in keys}
    return shared, [{k: d[k] - shared[k] for k in keys} for d in deltas]


def random_like(delta: Mapping[str, torch.Tensor], seed: int = 0) -> Delta:
    """A random direction with exactly the per-entry norms of ``delta`` (Gaussian, rescaled).

    Why: the control for a patch or transplant: same size of edit, layer by layer, with
    no objective in it.
    """
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in delta.items():
        r = torch.randn(v.shape, generator=g, dtype=torch.float64)
        n, nr = float(v.double().norm()), float(r.norm())
        out[k] = r * (n / nr) if nr > 0 else torch.zeros_like(r)
    return out


def specific_share(deltas: Sequence[Mapping[str, torch.Tensor]]) -> float:
    """Mean over k of ``||Delta_k - mean||^2 / ||Delta_k||^2``: how much of each delta is specific.

    Why: the seed's averaging idea needs the deltas to differ; a share near 0 means every
    fine-tune moved the weights the same way (all confounder), near 1 - 1/K means the deltas
    are orthogonal with equal norms.
    """
    _, specific = shared_specific(deltas)
    ratios = []
    for d, s in zip(deltas, specific, strict=True):
        total = sum(float(v.double().pow(2).sum()) for v in d.values())
        if total <= 0:
            raise ValueError("a delta is zero: its specific share is undefined.")
        ratios.append(sum(float(v.double().pow(2).sum()) for v in s.values()) / total)
    return float(np.mean(ratios))
