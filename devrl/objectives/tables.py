"""Tidy tables of weight differences at one MA checkpoint: norms, cosines, decoding, maps.

Why: every MA seed and checkpoint of the objectives experiment (issue 14) reduces its K deltas
Delta_k = MB_k - MA to the same rows (one per seed, step, target, part, layer), so the
experiment script only orchestrates fine-tunes and the tables concatenate across seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from devrl.objectives.decode import decode_accuracy_null
from devrl.objectives.deltas import (
    Delta,
    cosine_matrix,
    flatten,
    layer_cosines,
    layer_norms,
    random_like,
    shared_specific,
    state_delta,
)
from devrl.objectives.layer_map import (
    channel_profile,
    dense_position_map,
    layer_shares,
    position_rank,
    profile_consistency,
)

__all__ = ["decoding_rows", "delta_tables", "map_rows", "target_names"]


def target_names(targets: Sequence[tuple[int, int]]) -> list[str]:
    """``"cell_r_c"`` for each target: the names of rewards, columns and files."""
    return [f"cell_{r}_{c}" for r, c in targets]


def delta_tables(
    seed: int,
    step: int,
    names: Sequence[str],
    deltas: Sequence[Delta],
    ma_state: Mapping[str, torch.Tensor],
) -> tuple[list[dict], list[dict]]:
    """Per-layer norms and pairwise cosines of the deltas, their specific and shared parts."""
    shared, specific = shared_specific(deltas)
    tags = {"seed": seed, "step": step}
    norms = []
    for name, d, sp in zip(names, deltas, specific, strict=True):
        for part, obj in (("delta", d), ("specific", sp), ("shared", shared)):
            norms += [
                {**tags, "target": name, "part": part, "layer": k, "norm": v}
                for k, v in layer_norms(obj).items()
            ]
    zero = {k: 0 * w for k, w in ma_state.items()}
    norms += [
        {**tags, "target": "", "part": "ma_weights", "layer": k, "norm": v}
        for k, v in layer_norms(state_delta(zero, ma_state)).items()
    ]
    cos_rows = []
    for part, objs in (("delta", deltas), ("specific", specific)):
        off = ~np.eye(len(objs), dtype=bool)
        cos_rows += [
            {
                **tags,
                "part": part,
                "layer": layer,
                "a": "mean_offdiag",
                "b": "",
                "cosine": float(m[off].mean()),
            }
            for layer, m in layer_cosines(objs).items()
        ]
        m = cosine_matrix(objs)
        cos_rows += [
            {**tags, "part": part, "layer": "all", "a": a, "b": b, "cosine": m[i, j]}
            for i, a in enumerate(names)
            for j, b in enumerate(names)
        ]
    return norms, cos_rows


def decoding_rows(
    seed: int,
    step: int,
    targets: Sequence[tuple[int, int]],
    deltas: Sequence[Delta],
    k_levels: Sequence[int],
    subsets: int,
    n_perm: int = 99,
) -> list[dict]:
    """Item 4a: leave-one-target-out decoding of (row, col) from the specific parts, per K,
    against shuffled labels and against random directions of the same per-layer norms.

    Each ``K' < K`` in ``k_levels`` (at least 3: two to fit, one to test) uses ``subsets``
    random subsets of the targets, each with its own mean; ``K`` itself uses all of them.
    """
    rng = np.random.default_rng(1000 * seed + step % 997)
    coords = np.asarray(targets, dtype=float)
    rows = []
    K = len(deltas)
    for k_sub in [k for k in (*k_levels, K) if k >= 3]:
        draws = (
            [np.arange(K)]
            if k_sub == K
            else [rng.choice(K, size=k_sub, replace=False) for _ in range(subsets)]
        )
        for i, sub in enumerate(draws):
            _, specific = shared_specific([deltas[j] for j in sub])
            for part, vecs in (
                ("specific", [flatten(sp)[0] for sp in specific]),
                (
                    "random",
                    [flatten(random_like(sp, seed=7 * i + j))[0] for j, sp in enumerate(specific)],
                ),
            ):
                res = decode_accuracy_null(np.stack(vecs), coords[sub], n_perm=n_perm, seed=i)
                rows.append(
                    {"seed": seed, "step": step, "K": k_sub, "subset": i, "part": part, **res}
                )
    return rows


def map_rows(
    model_config: Mapping,
    seed: int,
    step: int,
    targets: Sequence[tuple[int, int]],
    deltas: Sequence[Delta],
    cheese: Delta | None = None,
    random_draws: int = 20,
    dense_key: str = "trunk.dense.weight",
) -> tuple[list[dict], list[dict], list[dict]]:
    """Item 5: layer shares, channel consistency and dense-layer position maps.

    For the maze network with ``downsample`` (one dense-layer input position per maze cell
    at even coordinates): target ``(r, c)`` sits at position ``(r // 2, c // 2)``. The random
    part's position rank is the mean over ``random_draws`` equal-norm directions per target.
    ``cheese``, if given, is a delta toward a pointer objective (no target position).
    """
    mc = model_config
    if not mc.get("downsample"):
        raise ValueError("map_rows needs the downsampled maze network (one position per cell).")
    C, side = mc["channels"], (mc["obs_shape"][1] + 1) // 2
    _, specific = shared_specific(deltas)
    names = target_names(targets)
    tags = {"seed": seed, "step": step}
    layers, positions, channels = [], [], []
    parts = {
        "delta": deltas,
        "specific": specific,
        "random": [random_like(sp, seed=5000 + i) for i, sp in enumerate(specific)],
    }
    for part, objs in parts.items():
        for name, (r, c), d in zip(names, targets, objs, strict=True):
            layers += [
                {**tags, "target": name, "part": part, "layer": k, "share": sh, "param_share": ps}
                for k, (sh, ps) in layer_shares(d).items()
            ]
            where = (r // 2, c // 2)
            draws = [d[dense_key]]
            if part == "random":  # the null's mean: many equal-norm draws per target
                w = {"w": d[dense_key]}
                draws = [
                    random_like(w, seed=7000 + 100 * j + len(positions))["w"]
                    for j in range(random_draws)
                ]
            maps = [dense_position_map(x, C, side, side) for x in draws]
            positions.append(
                {
                    **tags,
                    "target": name,
                    "part": part,
                    "rank": float(np.mean([position_rank(m, where) for m in maps])),
                    "share_at_target": float(np.mean([m[where] for m in maps])),
                    "peak_share": float(np.mean([m.max() for m in maps])),
                }
            )
        for key in [k for k, v in objs[0].items() if k.endswith("weight") and v.shape[0] >= 3]:
            channels.append(
                {
                    **tags,
                    "part": part,
                    "layer": key,
                    "consistency": profile_consistency([channel_profile(d, key) for d in objs]),
                }
            )
    if cheese is not None:
        layers += [
            {
                **tags,
                "target": "cheese",
                "part": "delta",
                "layer": k,
                "share": sh,
                "param_share": ps,
            }
            for k, (sh, ps) in layer_shares(cheese).items()
        ]
        m = dense_position_map(cheese[dense_key], C, side, side)
        positions.append(
            {
                **tags,
                "target": "cheese",
                "part": "delta",
                "rank": float("nan"),
                "share_at_target": float("nan"),
                "peak_share": float(m.max()),
            }
        )
    return layers, positions, channels
