"""Estimate the local learning coefficient (LLC) with vectorized SGLD chains.

λ̂ = nβ · (E_draws[L(w)] − L(w*)) (Lau et al. 2023), where the draws come from the
tempered, localized posterior ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²), sampled with
devinterp's ``SGMCMC.sgld`` / ``SGMCMC.rmsprop_sgld``.

Why our own loop around devinterp's optimizer: the chains run side by side, for one model
or for K checkpoints of one architecture at once. Every parameter is stacked into one tensor
with a leading [K·chains] dimension, the model is evaluated for all chains at once with
``torch.func.functional_call`` under ``torch.func.vmap``, and ONE SGMCMC optimizer updates
the stacked tensors. Its update is elementwise, so each chain's slice gets its own gradient
(we backprop the sum over chains of each chain's mean minibatch loss), its own noise, and
its own pull toward its own copy of its checkpoint's w*. Burn-in is excluded from the
estimate; a NaN or a diverging chain raises an error instead of returning ``inf``.
``estimate`` is ``estimate_many`` with one model: there is one sampling loop.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap
from tqdm.auto import tqdm

from devrl.llc.data import LLCData
from devrl.llc.result import LLCResult, summarize
from devrl.llc.settings import SAMPLERS, Sampler, SamplerSettings, default_nbeta, make_settings

__all__ = [
    "ChainDivergedError",
    "Sampler",
    "SamplerSettings",
    "default_nbeta",
    "estimate",
    "estimate_many",
    "per_sample_losses",
]


class ChainDivergedError(RuntimeError):
    """A chain's loss became NaN/inf or ran away; the message names the hyperparameters."""


class _Minibatches:
    """Independent shuffled minibatches for each chain, reshuffled every epoch (drop_last)."""

    def __init__(self, n: int, batch: int, chains: int, generator: torch.Generator):
        self.n, self.batch, self.chains, self.gen = n, batch, chains, generator
        self.per_epoch = n // batch
        self.pos = self.per_epoch  # forces a shuffle on first use

    def __next__(self) -> torch.Tensor:
        if self.pos >= self.per_epoch:
            if self.batch == self.n:
                self.perm = torch.arange(self.n).expand(self.chains, self.n)
            else:
                self.perm = torch.stack(
                    [torch.randperm(self.n, generator=self.gen) for _ in range(self.chains)]
                )
            self.pos = 0
        start = self.pos * self.batch
        self.pos += 1
        return self.perm[:, start : start + self.batch]  # [C, B]


@torch.no_grad()
def per_sample_losses(model: nn.Module, data: LLCData, chunk: int = 4096) -> torch.Tensor:
    """Loss of every sample at the model's current parameters, in chunks: [n]."""
    out = []
    for start in range(0, data.n, chunk):
        idx = torch.arange(start, min(start + chunk, data.n))
        out.append(data.loss(model, data.batch(idx)).detach().float())
    return torch.cat(out)


def estimate(
    model: nn.Module,
    data: LLCData,
    settings: SamplerSettings | None = None,
    *,
    progress: bool | None = None,
    **fields: Any,
) -> LLCResult:
    """Estimate the LLC of ``model`` at its current parameters w* on ``data``.

    All chains start at w*, see independent minibatches, and run ``burnin + draws``
    SGMCMC steps; only the last ``draws`` enter the estimate. Each draw's minibatch
    loss is paired with w*'s loss on the same minibatch (precomputed for the whole
    dataset), which has the same expectation as the full-data loss at w* but cancels
    the minibatch noise. The same as ``estimate_many([model], data, ...)[0]``.

    Args:
        model: Any ``nn.Module``; parameters with ``requires_grad=False`` stay fixed.
            It is evaluated in eval mode (restored afterwards) and is not modified.
        data: An ``LLCData`` (per-sample loss), e.g. ``regression_data(x, y)``.
        settings: A ``SamplerSettings``; or give its fields as keywords instead
            (``lr`` is required), or both (the keywords override the settings).
        progress: Show a tqdm bar over steps (None: only on a terminal).
        **fields: Fields of ``SamplerSettings``: ``lr``, ``nbeta`` (default
            batch/ln(batch)), ``localization`` (γ, 1.0), ``chains`` (4), ``draws`` (200),
            ``burnin`` (50), ``batch_size`` (256; None: full batch), ``sampler``
            ("sgld" or "rmsprop_sgld"), ``seed`` (0), ``sampler_kwargs`` (e.g. ``eps``,
            ``alpha``, ``weight_decay``), ``divergence_factor`` (10: a chain whose
            nβ·(L_t − L_t(w*)) exceeds this many times max(d/2, 1) has diverged; the
            LLC of a minimum is ≤ d/2), ``vectorize`` ("vmap", "loop" or "auto": vmap,
            falling back to a loop over chains with a warning if the model cannot be
            vmapped; either way one SGMCMC optimizer steps all chains).

    Returns:
        An ``LLCResult`` with the estimate, per-chain values, traces and diagnostics.

    Raises:
        ChainDivergedError: A loss became NaN/inf or ran away; lower ``lr``.
    """
    return _estimate_many([model], data, make_settings(settings, fields), progress)[0]


def estimate_many(
    models: Sequence[nn.Module],
    data: LLCData | Sequence[LLCData],
    settings: SamplerSettings | None = None,
    *,
    progress: bool | None = None,
    **fields: Any,
) -> list[LLCResult]:
    """Estimate the LLC of K checkpoints of one architecture in one batched sampler.

    The K models' parameters are stacked into [K·chains, ...] tensors stepped by one SGMCMC
    optimizer, with one vmapped forward pass per step: faster than K calls of ``estimate``
    for small models. Each checkpoint gets the chains, minibatching, errors and
    diagnostics of ``estimate``. Checkpoint k's random numbers depend on k, K and the
    seed only, so two calls with the same K and seed pair checkpoint k's chains step by
    step (common random numbers); a checkpoint's result does depend on how many others
    it is batched with.

    Args:
        models: K ``nn.Module`` checkpoints with the same parameter and buffer names and
            shapes (the first one's ``forward`` is used for all). Not modified.
        data: One ``LLCData`` shared by all checkpoints, or K of them (one per model) of
            the same type, size n and loss settings (e.g. the same ``sigma``).
        settings: A ``SamplerSettings``; or its fields as keywords (see ``estimate``).
        progress: Show a tqdm bar over steps (None: only on a terminal).
        **fields: Fields of ``SamplerSettings`` (``lr`` is required without ``settings``).

    Returns:
        One ``LLCResult`` per model, in order; ``seconds`` is the shared wall time / K.

    Raises:
        ChainDivergedError: A chain's loss became NaN/inf or ran away; the message names
            the checkpoint; lower ``lr``.
    """
    return _estimate_many(models, data, make_settings(settings, fields), progress)


def _check_data(data: Any) -> LLCData:
    if not isinstance(data, LLCData):
        raise TypeError(
            f"data must implement devrl.llc.LLCData (n, batch, loss); got {type(data).__name__}. "
            "Wrap tensors with devrl.llc.regression_data(x, y) or classification_data(x, y)."
        )
    return data


def _loss_settings(data: LLCData) -> dict[str, Any]:
    """The non-tensor attributes of a dataset: what its ``loss`` may read besides the batch."""

    def is_tensor_like(v: Any) -> bool:
        return isinstance(v, torch.Tensor) or (
            isinstance(v, (tuple, list)) and any(isinstance(t, torch.Tensor) for t in v)
        )

    return {k: v for k, v in vars(data).items() if not is_tensor_like(v)}


def _check_many(
    models: Sequence[nn.Module], data: LLCData | Sequence[LLCData]
) -> tuple[list[nn.Module], list[LLCData] | None, LLCData]:
    """(models, per-model datasets or None when shared, the dataset whose loss is used)."""
    models = list(models)
    if not models or not all(isinstance(m, nn.Module) for m in models):
        raise TypeError("models must be a non-empty sequence of torch.nn.Module checkpoints.")
    ref = models[0]
    shapes = {k: (tuple(p.shape), p.dtype, p.requires_grad) for k, p in ref.named_parameters()}
    buffers = {k: (tuple(b.shape), b.dtype) for k, b in ref.named_buffers()}
    for i, m in enumerate(models[1:], start=1):
        theirs = {k: (tuple(p.shape), p.dtype, p.requires_grad) for k, p in m.named_parameters()}
        their_buffers = {k: (tuple(b.shape), b.dtype) for k, b in m.named_buffers()}
        if theirs != shapes or their_buffers != buffers:
            raise ValueError(
                f"models[{i}] does not share models[0]'s architecture (parameter and buffer "
                "names, shapes, dtypes and requires_grad must match); estimate_many batches "
                "checkpoints of one architecture; estimate different ones in separate calls."
            )
    if isinstance(data, LLCData):
        return models, None, data
    if not isinstance(data, Sequence):
        _check_data(data)
    datas = [_check_data(d) for d in data]
    if len(datas) != len(models):
        raise ValueError(
            f"pass one dataset shared by all models or one per model; got {len(datas)} "
            f"datasets for {len(models)} models."
        )
    first = datas[0]
    for i, d in enumerate(datas[1:], start=1):
        if type(d) is not type(first) or d.n != first.n:
            raise ValueError(
                f"per-model datasets must have one type and one size n; data[{i}] is a "
                f"{type(d).__name__} of n={d.n}, data[0] a {type(first).__name__} of n={first.n}."
            )
        ours, theirs = _loss_settings(first), _loss_settings(d)
        if ours.keys() != theirs.keys() or any(ours[k] != theirs[k] for k in ours):
            differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
            raise ValueError(
                f"per-model datasets must share their loss settings, but data[{i}] differs from "
                f"data[0] in {differ}; estimate them in separate calls."
            )
    return models, datas, first


def _estimate_many(
    models: Sequence[nn.Module],
    data: LLCData | Sequence[LLCData],
    settings: SamplerSettings,
    progress: bool | None,
) -> list[LLCResult]:
    models, datas, loss_data = _check_many(models, data)
    settings = settings.resolve(loss_data.n)
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        return _sample(models, datas, loss_data, settings, progress)
    finally:
        for m, mode in zip(models, was_training, strict=True):
            m.train(mode)


def _stack_chains(tensors: list[torch.Tensor], chains: int) -> torch.Tensor:
    """K tensors -> [K·chains, *shape], checkpoint-major (chain c of model k at k·chains + c)."""
    return torch.stack([t.detach() for t in tensors]).repeat_interleave(chains, dim=0)


def _sample(
    models: list[nn.Module],
    datas: list[LLCData] | None,
    loss_data: LLCData,
    s: SamplerSettings,
    progress: bool | None,
) -> list[LLCResult]:
    """The sampling loop: K models x s.chains chains, one optimizer, one forward per step."""
    K, C, B, n = len(models), s.chains, s.batch_size, loss_data.n
    KC = K * C
    model = models[0]
    named = [dict(m.named_parameters()) for m in models]
    names = [k for k, p in named[0].items() if p.requires_grad]
    if not names:
        raise ValueError("the model has no parameters with requires_grad=True to sample.")
    # Fixed tensors (frozen parameters, buffers): shared when every model has the same
    # values, else stacked per chain and vmapped alongside the sampled parameters.
    fixed_all = [
        {
            **{k: p.detach() for k, p in nm.items() if not p.requires_grad},
            **dict(m.named_buffers()),
        }
        for nm, m in zip(named, models, strict=True)
    ]
    fixed, varying = {}, {}
    for k, v in fixed_all[0].items():
        if all(torch.equal(v, f[k]) for f in fixed_all[1:]):
            fixed[k] = v
        else:
            varying[k] = _stack_chains([f[k] for f in fixed_all], C)
    d = sum(named[0][k].numel() for k in names)

    ref_losses = torch.stack(
        [
            per_sample_losses(m, loss_data if datas is None else datas[i])
            for i, m in enumerate(models)
        ]
    )  # [K, n]
    init_losses = ref_losses.mean(dim=1)  # [K]
    for i, init in enumerate(init_losses.tolist()):
        if not math.isfinite(init):
            which = f" of models[{i}]" if K > 1 else ""
            raise ValueError(
                f"the loss at the starting parameters{which} is not finite ({init}); "
                "check the model and dataset before estimating the LLC."
            )

    # Each chain's copy of its w*: [K·C, *shape]. These leaves are what SGMCMC updates.
    stacked = [_stack_chains([nm[k] for nm in named], C).requires_grad_() for k in names]

    def chain_loss(params: dict[str, torch.Tensor], batch: tuple[torch.Tensor, ...]):
        def forward(*inputs):
            return functional_call(model, {**fixed, **params}, inputs)

        return loss_data.loss(forward, batch)  # [B]

    vmapped = vmap(chain_loss, in_dims=(0, 0))

    def looped(params, batch):  # fallback: one functional call per chain slice
        return torch.stack(
            [
                chain_loss({k: v[c] for k, v in params.items()}, tuple(x[c] for x in batch))
                for c in range(KC)
            ]
        )

    mode = s.vectorize
    lr, nbeta = s.lr, s.nbeta
    optimizer = SAMPLERS[s.sampler](
        stacked, lr=lr, nbeta=nbeta, localization=s.localization, **s.sampler_kwargs
    )
    index_gen = torch.Generator().manual_seed(s.seed)
    device = stacked[0].device
    noise_gen = torch.Generator(device=device).manual_seed(s.seed + 1_000_003)
    batches = _Minibatches(n, B, KC, index_gen)
    owner = torch.arange(K, device=ref_losses.device).repeat_interleave(C)[:, None]  # [KC, 1]

    steps = s.burnin + s.draws
    loss_trace = np.empty((KC, steps))
    ref_trace = np.empty((KC, steps))
    limit = s.divergence_factor * max(d / 2, 1.0)
    hparams = f"lr={lr:g}, nbeta={nbeta:g}, localization={s.localization:g}, sampler={s.sampler!r}"

    start = time.perf_counter()
    bar = tqdm(
        range(steps),
        desc="LLC steps",
        leave=False,
        disable=None if progress is None else not progress,
    )
    for t in bar:
        idx = next(batches)  # [KC, B]
        if datas is None:
            flat = loss_data.batch(idx.reshape(-1))
            batch = tuple(x.reshape(KC, B, *x.shape[1:]) for x in flat)
        else:
            per_model = [datas[i].batch(idx[i * C : (i + 1) * C].reshape(-1)) for i in range(K)]
            batch = tuple(
                torch.cat(xs).reshape(KC, B, *xs[0].shape[1:])
                for xs in zip(*per_model, strict=True)
            )
        params = {**varying, **dict(zip(names, stacked, strict=True))}
        if mode == "loop":
            losses = looped(params, batch)  # [KC, B]
        else:
            try:
                losses = vmapped(params, batch)  # [KC, B]
                mode = "vmap"
            except RuntimeError as err:
                if mode == "vmap" or t > 0:
                    raise
                warnings.warn(
                    f"torch.func.vmap cannot run this model ({str(err).splitlines()[0]}); "
                    "falling back to a loop over chains (same result, slower). Make the "
                    "model's forward vmap-safe to get the vectorized speed.",
                    stacklevel=4,
                )
                mode = "loop"
                losses = looped(params, batch)
        chain_means = losses.mean(dim=1)  # [KC]
        chain_means.sum().backward()  # each chain's slice gets its own gradient

        current = chain_means.detach()
        ref = ref_losses[owner, idx.to(ref_losses.device)].mean(dim=1)  # [KC]
        scaled = nbeta * (current - ref)
        if not torch.isfinite(current).all() or (scaled > limit).any():
            bad = int(torch.argmax((~torch.isfinite(current)).float() + scaled.nan_to_num(0)))
            which = f"chain {bad % C} of models[{bad // C}]" if K > 1 else f"chain {bad}"
            raise ChainDivergedError(
                f"SGLD {which} diverged at step {t} (loss {current[bad].item():.4g}, "
                f"init loss {init_losses[bad // C].item():.4g}) with {hparams}. Try a smaller "
                f"lr (e.g. {lr / 10:g}) or a larger localization."
            )
        loss_trace[:, t] = current.cpu().numpy()
        ref_trace[:, t] = ref.cpu().numpy()
        optimizer.step(noise_generator=noise_gen)
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start

    config = {
        "lr": lr,
        "nbeta": nbeta,
        "localization": s.localization,
        "chains": C,
        "draws": s.draws,
        "burnin": s.burnin,
        "batch_size": B,
        "sampler": s.sampler,
        "seed": s.seed,
        "n": n,
        "d": d,
        "vectorize": mode,
        **{f"sampler_{k}": v for k, v in s.sampler_kwargs.items()},
    }
    return [
        summarize(
            loss_trace[i * C : (i + 1) * C],
            ref_trace[i * C : (i + 1) * C],
            float(init_losses[i]),
            config,
            seconds / K,
        )
        for i in range(K)
    ]
