"""Look-ahead patching: is a wall on the agent's future path read at that wall's cell?

Why: a probe can decode the future path from activations the policy never uses (issue 13,
item 4). Jenner et al. (2024) answered this for Leela by activation patching: corrupt the
board slightly, patch the corrupted activations back in at one square only, and see how
far the policy moves. Here the corruption is one wall. For a state of a greedy episode
with the mouse at ``m``, take a passage ``c`` (a free square between two maze nodes, one
odd coordinate) at maze distance ``N`` from ``m`` that

* the mouse enters at step ``N`` of its own future (``on_path``), or
* the mouse never enters later in the episode (``off_path``, the control at the same
  distance),

and build the corrupted observation with a wall at ``c``. Closing a passage keeps the
observation in distribution (walls sit on passages in every training maze; a wall on a
node never does). At each layer, the clean run's activation at the units covering ``c``
(all channels: one unit at the maze's resolution, the two units whose stride-2 windows
hold the passage on a stride-2 map) is replaced by the corrupted run's, and the effect is
the drop of the log-odds of the network's own greedy action on the clean observation, ``logit p_clean(a) - logit p_patched(a)``.
The log-odds, not the log-probability: a trained agent's greedy action has p near 1,
where log p barely moves whatever happens (its drop is also kept, ``effect_logp``).
Three patches per pair and layer:

* ``cell``: the corrupted activations at ``c``'s units;
* ``random``: the clean activations plus a random direction of the same norm as the
  corrupted-minus-clean difference there (the equal-norm null);
* ``other``: the corrupted activations at the units of another free passage at the same
  maze distance from the mouse (the corruption's spill-over elsewhere).

``total`` is the whole corruption's effect (no patching), the behavioural reference.
Look-ahead that the policy uses predicts ``cell`` effects far above ``random``, and
larger for on-path than for off-path walls at equal distance: :func:`patching_summary`
reports that ratio with a paired bootstrap interval over states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import nn

from devrl.envs.solver import bfs_distances
from devrl.hooks import run_with_cache, run_with_hooks
from devrl.mechanisms.lookahead import grid_stride

if TYPE_CHECKING:
    from devrl.rollouts import Rollout

DISTANCES: tuple[int, ...] = (1, 2, 4, 8)
"""Maze distances of the closed passage from the mouse (steps ahead on the path)."""

PATCHES: tuple[str, ...] = ("cell", "random", "other")


def _choose(cells: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    if len(cells) == 0:
        return None
    r, c = cells[rng.integers(len(cells))]
    return int(r), int(c)


def wall_pairs(
    rollout: Rollout,
    distances: Sequence[int] = DISTANCES,
    *,
    max_states: int | None = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Clean/corrupted pairs from a greedy maze rollout: one wall on or off the future path.

    For each of the first ``max_states`` states of each finished episode and each distance
    ``N``, a pair is made when both an on-path passage (entered at step ``N``, at maze
    distance ``N``) and an off-path passage at maze distance ``N`` exist (a passage's
    parity fixes which distances a state has: odd from a node, even from a passage); the
    off-path cell and the ``other`` cell of each pair are drawn at random (``seed``).

    Returns:
        One row per (state, distance, where): ``state`` (row of the rollout), ``episode``,
        ``distance``, ``where`` (``on_path``/``off_path``), ``row``, ``col`` (the closed
        passage), ``other_row``, ``other_col`` (another free passage at the same
        distance, or -1), ``action`` (the clean greedy action taken).
    """
    ds = tuple(int(d) for d in distances)
    if not ds or any(d < 1 for d in ds):
        raise ValueError(f"distances must be positive ints, got {distances!r}.")
    if max_states is not None and max_states < 1:
        raise ValueError(f"max_states must be a positive int or None, got {max_states!r}.")
    rng = np.random.default_rng(seed)
    rows = []
    for e in np.unique(rollout.episode):
        idx = np.flatnonzero(rollout.episode == e)
        idx = idx[np.argsort(rollout.t[idx], kind="stable")]
        if not rollout.done[idx[-1]]:
            continue
        pos = np.concatenate([rollout.mouse_pos[idx], rollout.next_mouse_pos[idx[-1:]]])
        walls = rollout.obs[idx[0], 0].astype(bool)
        rr, cc = np.indices(walls.shape)
        passages = ~walls & ((rr % 2) != (cc % 2))
        for t, state in enumerate(idx[:max_states]):
            m = tuple(int(x) for x in pos[t])
            dist = bfs_distances(walls, m)
            future = np.zeros_like(walls)
            future[pos[t + 1 :, 0], pos[t + 1 :, 1]] = True
            for d in ds:
                at_d = passages & (dist == d)
                on = None
                if t + d < len(pos):
                    cell = (int(pos[t + d, 0]), int(pos[t + d, 1]))
                    on = cell if at_d[cell] else None
                off = _choose(np.argwhere(at_d & ~future), rng)
                if on is None or off is None:
                    continue
                for where, cell in (("on_path", on), ("off_path", off)):
                    others = at_d.copy()
                    others[cell] = False
                    other = _choose(np.argwhere(others), rng) or (-1, -1)
                    rows.append(
                        {
                            "state": int(state),
                            "episode": int(e),
                            "distance": d,
                            "where": where,
                            "row": cell[0],
                            "col": cell[1],
                            "other_row": other[0],
                            "other_col": other[1],
                            "action": int(rollout.actions[state]),
                        }
                    )
    return pd.DataFrame(
        rows,
        columns=["state", "episode", "distance", "where", "row", "col", "other_row",
                 "other_col", "action"],
    )  # fmt: skip


def _scores(policy: nn.Module, obs: torch.Tensor, act: torch.Tensor, hooks=()) -> tuple:
    """``(log p(a), logit p(a))`` of action ``act[b]`` in each example."""
    out = run_with_hooks(policy, obs, hooks)
    logits = (out[0] if isinstance(out, (tuple, list)) else out).double()
    b = torch.arange(len(act))
    logp = torch.log_softmax(logits, dim=-1)[b, act]
    rest = logits.clone()
    rest[b, act] = -torch.inf
    return logp, logits[b, act] - torch.logsumexp(rest, dim=-1)


def covering_units(cells: np.ndarray, stride: int) -> np.ndarray:
    """``[P, U, 2]`` the units of a map of ``stride`` whose window holds each passage.

    Stride 1: the square itself (``U = 1``). Stride 2 (units centred on even squares, 3x3
    windows): the two units either side of the passage (``U = 2``).
    """
    cells = np.asarray(cells, np.int64)
    if stride == 1:
        return cells[:, None, :]
    if ((cells[:, 0] % 2) == (cells[:, 1] % 2)).any():
        raise ValueError("covering_units needs passages (exactly one odd coordinate).")
    lo = np.where(cells % 2 == 1, cells - 1, cells) // 2
    hi = np.where(cells % 2 == 1, cells + 1, cells) // 2
    return np.stack([lo, hi], axis=1)


def _unit_patch(units: torch.Tensor, new: torch.Tensor):
    """A hook writing ``new[b, u]`` (``[P, U, C]``) at units ``units[b, u]`` (rows < 0 skipped)."""
    P, U, _ = units.shape
    b = torch.arange(P)[:, None].expand(P, U)
    keep = units[..., 0] >= 0
    i, j = units[..., 0][keep], units[..., 1][keep]

    def hook(tensor: torch.Tensor, *, name: str) -> torch.Tensor:
        out = tensor.clone()
        out[b[keep], :, i, j] = new[keep].to(out.dtype)
        return out

    return hook


def _at(acts: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """``[P, U, C]`` activations of ``acts [P, C, h, w]`` at ``units [P, U, 2]``."""
    P, U, _ = units.shape
    b = torch.arange(P)[:, None].expand(P, U)
    return acts[b, :, units[..., 0].clamp_min(0), units[..., 1].clamp_min(0)]


@torch.no_grad()
def patching_effects(
    policy: nn.Module,
    obs: torch.Tensor | np.ndarray,
    pairs: pd.DataFrame,
    layers: Sequence[str],
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Drop of the clean action's log-probability under each patch, per pair and layer.

    Args:
        policy: A maze agent with hook points (spatial ``[B, C, h, w]`` at ``layers``).
        obs: ``[T, 3, S, S]`` the rollout's observations (``pairs.state`` indexes them).
        pairs: From :func:`wall_pairs`.
        layers: Hook names to patch (maze resolution or stride 2).
        seed: Seeds the random directions.

    Returns:
        ``pairs`` repeated per layer and patch (:data:`PATCHES`), with ``layer``,
        ``patch``, ``effect`` (drop of the log-odds of the policy's greedy action on the
        clean observation, which for a null network may differ from ``action``), ``effect_logp`` (drop of its
        log-probability) and ``total`` (the log-odds drop under the unpatched corrupted
        observation); ``other`` rows are NaN where a pair has no other passage.
    """
    if len(pairs) == 0:
        raise ValueError("pairs is empty: no state had both an on- and an off-path cell.")
    obs_t = torch.as_tensor(np.array(obs)).float()
    clean = obs_t[torch.as_tensor(pairs["state"].to_numpy().copy())]  # [P, 3, S, S]
    S = clean.shape[-1]
    cells = pairs[["row", "col"]].to_numpy().copy()
    others = pairs[["other_row", "other_col"]].to_numpy().copy()
    has_other = others[:, 0] >= 0
    P = len(pairs)
    corrupt = clean.clone()
    corrupt[torch.arange(P), 0, cells[:, 0], cells[:, 1]] = 1.0
    out = run_with_hooks(policy, clean)
    act = (out[0] if isinstance(out, (tuple, list)) else out).argmax(-1)  # its own greedy action
    base_lp, base_lo = _scores(policy, clean, act)
    total = (base_lo - _scores(policy, corrupt, act)[1]).numpy()
    _, c_cache = run_with_cache(policy, clean, list(layers))
    _, x_cache = run_with_cache(policy, corrupt, list(layers))
    gen = torch.Generator().manual_seed(int(seed))
    frames = []
    for layer in layers:
        src, ref = x_cache[layer], c_cache[layer]
        if src.ndim != 4:
            raise ValueError(f"layer {layer!r} is not spatial: shape {tuple(src.shape)}.")
        st = grid_stride(S, src.shape[-2], src.shape[-1])
        units = torch.as_tensor(covering_units(cells, st))
        other_units = covering_units(np.where(has_other[:, None], others, cells), st)
        other_units[~has_other] = -1
        other_units = torch.as_tensor(other_units)
        diff = (_at(src, units) - _at(ref, units)).flatten(1)  # [P, U*C]
        noise = torch.randn(diff.shape, generator=gen, dtype=diff.dtype)
        noise = noise / noise.norm(dim=1, keepdim=True) * diff.norm(dim=1, keepdim=True)
        hooks = {
            "cell": _unit_patch(units, _at(src, units)),
            "random": _unit_patch(units, _at(ref, units) + noise.view(_at(ref, units).shape)),
            "other": _unit_patch(other_units, _at(src, other_units)),
        }
        for patch, hook in hooks.items():
            lp, lo = _scores(policy, clean, act, [(layer, hook)])
            effect, effect_logp = (base_lo - lo).numpy(), (base_lp - lp).numpy()
            if patch == "other":
                effect = np.where(has_other, effect, np.nan)
                effect_logp = np.where(has_other, effect_logp, np.nan)
            frames.append(
                pairs.assign(
                    layer=layer, patch=patch, effect=effect, effect_logp=effect_logp, total=total
                )
            )
    return pd.concat(frames, ignore_index=True)


def _paired_ratio(
    on: np.ndarray, off: np.ndarray, level: float, seed: int
) -> tuple[float, float, float]:
    est = float(on.mean() / off.mean()) if off.mean() > 0 else np.nan
    if len(on) < 2 or not np.isfinite(est):
        return est, np.nan, np.nan
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample with off-path 0
        res = stats.bootstrap(
            (on, off),
            lambda a, b, axis=-1: a.mean(axis) / b.mean(axis),
            paired=True,
            vectorized=True,
            n_resamples=2000,
            method="percentile",
            confidence_level=level,
            rng=np.random.default_rng(seed),
        )
    return est, float(res.confidence_interval.low), float(res.confidence_interval.high)


def patching_summary(effects: pd.DataFrame, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per layer, distance and patch: mean |effect| on and off the path, and their ratio.

    The on- and off-path walls of one state form a pair, so the ratio of mean absolute
    effects has a paired percentile bootstrap interval over states.

    Returns:
        ``layer, distance, patch, pairs, on_path, off_path`` (mean absolute effects),
        ``ratio``, ``ratio_low``, ``ratio_high``.
    """
    needed = {"state", "distance", "where", "layer", "patch", "effect", "total"}
    if missing := needed - set(effects.columns):
        raise ValueError(f"effects must come from patching_effects; missing {sorted(missing)}.")
    data = effects.assign(size=effects["effect"].abs())
    total = effects[effects["patch"] == PATCHES[0]].assign(
        patch="total", size=lambda f: f["total"].abs()
    )
    rows = []
    for (layer, d, patch), g in pd.concat([data, total]).groupby(
        ["layer", "distance", "patch"], sort=False
    ):
        wide = g.pivot_table(index="state", columns="where", values="size").dropna()
        if not {"on_path", "off_path"} <= set(wide.columns) or wide.empty:
            continue
        on, off = wide["on_path"].to_numpy(), wide["off_path"].to_numpy()
        ratio, low, high = _paired_ratio(on, off, level, seed)
        rows.append(
            {
                "layer": layer,
                "distance": int(d),
                "patch": patch,
                "pairs": len(wide),
                "on_path": float(on.mean()),
                "off_path": float(off.mean()),
                "ratio": ratio,
                "ratio_low": low,
                "ratio_high": high,
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "DISTANCES",
    "PATCHES",
    "covering_units",
    "patching_effects",
    "patching_summary",
    "wall_pairs",
]
