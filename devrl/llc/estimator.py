"""Estimate the local learning coefficient (LLC) with vectorized SGLD chains.

λ̂ = nβ · (E_draws[L(w)] − L(w*)) (Lau et al. 2023), where the draws come from the
tempered, localized posterior ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²), sampled with
devinterp's ``SGMCMC.sgld`` / ``SGMCMC.rmsprop_sgld``.

Why our own loop around devinterp's optimizer: the chains run side by side. Every
parameter is stacked into one tensor with a leading chain dimension, the model is
evaluated for all chains at once with ``torch.func.functional_call`` under
``torch.func.vmap``, and ONE SGMCMC optimizer updates the stacked tensors. Its
update is elementwise, so each chain's slice gets its own gradient (we backprop the
sum over chains of each chain's mean minibatch loss), its own noise, and its own
pull toward its own copy of w*. Burn-in is excluded from the estimate; a NaN or a
diverging chain raises an error instead of returning ``inf``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Literal

import numpy as np
import torch
from devinterp.optim import SGMCMC
from torch import nn
from torch.func import functional_call, vmap
from tqdm.auto import tqdm

from devrl.llc.data import LLCData
from devrl.llc.result import LLCResult, summarize

Sampler = Literal["sgld", "rmsprop_sgld"]
_SAMPLERS = {"sgld": SGMCMC.sgld, "rmsprop_sgld": SGMCMC.rmsprop_sgld}


class ChainDivergedError(RuntimeError):
    """A chain's loss became NaN/inf or ran away; the message names the hyperparameters."""


def default_nbeta(batch_size: int) -> float:
    """nβ = batch / ln(batch), the usual choice for minibatch SGLD (devinterp's default)."""
    return batch_size / math.log(batch_size) if batch_size > 1 else 1.0


def _check_args(
    data: LLCData, lr, nbeta, localization, chains, draws, burnin, batch_size, sampler, vectorize
):
    if not isinstance(data, LLCData):
        raise TypeError(
            f"data must implement devrl.llc.LLCData (n, batch, loss); got {type(data).__name__}. "
            "Wrap tensors with devrl.llc.regression_data(x, y) or classification_data(x, y)."
        )
    if vectorize not in ("auto", "vmap", "loop"):
        raise ValueError(f"vectorize must be 'auto', 'vmap' or 'loop'; got {vectorize!r}.")
    if sampler not in _SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(_SAMPLERS)}; got {sampler!r}.")
    for name, value in (("lr", lr), ("nbeta", nbeta)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
    if not (math.isfinite(localization) and localization >= 0):
        raise ValueError(f"localization must be a finite number >= 0; got {localization!r}.")
    for name, value in (("chains", chains), ("draws", draws)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if int(burnin) != burnin or burnin < 0:
        raise ValueError(f"burnin must be an integer >= 0; got {burnin!r}.")
    if batch_size is not None and (int(batch_size) != batch_size or not 1 <= batch_size <= data.n):
        raise ValueError(
            f"batch_size must be an integer in [1, n={data.n}] (or None for full batch); "
            f"got {batch_size!r}."
        )


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
    *,
    lr: float,
    nbeta: float | None = None,
    localization: float = 1.0,
    chains: int = 4,
    draws: int = 200,
    burnin: int = 50,
    batch_size: int | None = 256,
    sampler: Sampler = "sgld",
    seed: int = 0,
    sampler_kwargs: dict[str, Any] | None = None,
    divergence_factor: float = 10.0,
    vectorize: Literal["auto", "vmap", "loop"] = "auto",
    progress: bool | None = None,
) -> LLCResult:
    """Estimate the LLC of ``model`` at its current parameters w* on ``data``.

    All chains start at w*, see independent minibatches, and run ``burnin + draws``
    SGMCMC steps; only the last ``draws`` enter the estimate. Each draw's minibatch
    loss is paired with w*'s loss on the same minibatch (precomputed for the whole
    dataset), which has the same expectation as the full-data loss at w* but cancels
    the minibatch noise.

    Args:
        model: Any ``nn.Module``; parameters with ``requires_grad=False`` stay fixed.
            It is evaluated in eval mode (restored afterwards) and is not modified.
        data: An ``LLCData`` (per-sample loss), e.g. ``regression_data(x, y)``.
        lr: SGLD step size ε. Keep ``lr · nβ · (largest curvature) ≪ 1``.
        nbeta: Inverse temperature times n. Default ``batch/ln(batch)``.
        localization: γ, strength of the pull toward w*. Directions whose curvature
            ``nβ·h`` is not ≫ γ are under-counted (see theory/llc.md).
        chains: Number of chains (run vectorized, not one after another).
        draws: Steps per chain that enter the estimate.
        burnin: Steps per chain discarded before the draws.
        batch_size: Minibatch size; ``None`` uses the full dataset every step.
        sampler: ``"sgld"`` or ``"rmsprop_sgld"`` (devinterp's SGMCMC factories).
        seed: Fixes minibatches and noise: the same seed gives the same result.
        sampler_kwargs: Extra arguments for the SGMCMC factory (e.g. ``eps``, ``alpha``
            of rmsprop_sgld, or ``weight_decay``).
        divergence_factor: A chain whose nβ·(L_t − L_t(w*)) exceeds this many times
            max(d/2, 1) (d = number of parameters; the LLC of a minimum is ≤ d/2) is
            declared divergent.
        vectorize: How chains share the forward pass: ``"vmap"`` (torch.func.vmap over
            the stacked parameters), ``"loop"`` (one functional call per chain; any
            model), or ``"auto"``: vmap, falling back to the loop with a warning if the
            model cannot be vmapped. Either way one SGMCMC optimizer steps all chains.
        progress: Show a tqdm bar over steps (None: only on a terminal).

    Returns:
        An ``LLCResult`` with the estimate, per-chain values, traces and diagnostics.

    Raises:
        ChainDivergedError: A loss became NaN/inf or ran away; lower ``lr``.
    """
    if batch_size is None:
        batch_size = data.n
    if nbeta is None:
        nbeta = default_nbeta(batch_size)
    _check_args(
        data, lr, nbeta, localization, chains, draws, burnin, batch_size, sampler, vectorize
    )
    chains, draws, burnin, batch_size = int(chains), int(draws), int(burnin), int(batch_size)

    was_training = model.training
    model.eval()
    try:
        return _run(
            model,
            data,
            float(lr),
            float(nbeta),
            float(localization),
            chains,
            draws,
            burnin,
            batch_size,
            sampler,
            int(seed),
            dict(sampler_kwargs or {}),
            float(divergence_factor),
            vectorize,
            progress,
        )
    finally:
        model.train(was_training)


def _run(
    model,
    data,
    lr,
    nbeta,
    localization,
    chains,
    draws,
    burnin,
    batch_size,
    sampler,
    seed,
    sampler_kwargs,
    divergence_factor,
    vectorize,
    progress,
) -> LLCResult:
    named = dict(model.named_parameters())
    names = [k for k, p in named.items() if p.requires_grad]
    if not names:
        raise ValueError("the model has no parameters with requires_grad=True to sample.")
    fixed = {k: p.detach() for k, p in named.items() if not p.requires_grad}
    fixed.update(dict(model.named_buffers()))
    d = sum(named[k].numel() for k in names)

    ref_losses = per_sample_losses(model, data)  # [n]
    init_loss = float(ref_losses.mean())
    if not math.isfinite(init_loss):
        raise ValueError(
            f"the loss at the starting parameters is not finite ({init_loss}); "
            "check the model and dataset before estimating the LLC."
        )

    # Each chain's copy of w*: [C, *shape]. These leaves are what SGMCMC updates.
    stacked = [
        named[k].detach().unsqueeze(0).repeat(chains, *([1] * named[k].dim())).requires_grad_()
        for k in names
    ]

    def chain_loss(params: dict[str, torch.Tensor], batch: tuple[torch.Tensor, ...]):
        def forward(*inputs):
            return functional_call(model, {**fixed, **params}, inputs)

        return data.loss(forward, batch)  # [B]

    vmapped = vmap(chain_loss, in_dims=(0, 0))

    def looped(params, batch):  # fallback: one functional call per chain slice
        return torch.stack(
            [
                chain_loss({k: v[c] for k, v in params.items()}, tuple(x[c] for x in batch))
                for c in range(chains)
            ]
        )

    mode = vectorize

    optimizer = _SAMPLERS[sampler](
        stacked, lr=lr, nbeta=nbeta, localization=localization, **sampler_kwargs
    )
    index_gen = torch.Generator().manual_seed(seed)
    device = stacked[0].device
    noise_gen = torch.Generator(device=device).manual_seed(seed + 1_000_003)
    batches = _Minibatches(data.n, batch_size, chains, index_gen)

    steps = burnin + draws
    loss_trace = np.empty((chains, steps))
    ref_trace = np.empty((chains, steps))
    limit = divergence_factor * max(d / 2, 1.0)
    hparams = f"lr={lr:g}, nbeta={nbeta:g}, localization={localization:g}, sampler={sampler!r}"

    start = time.perf_counter()
    bar = tqdm(
        range(steps),
        desc="LLC steps",
        leave=False,
        disable=None if progress is None else not progress,
    )
    for t in bar:
        idx = next(batches)  # [C, B]
        flat = data.batch(idx.reshape(-1))
        batch = tuple(x.reshape(chains, batch_size, *x.shape[1:]) for x in flat)
        params = dict(zip(names, stacked))
        if mode == "loop":
            losses = looped(params, batch)  # [C, B]
        else:
            try:
                losses = vmapped(params, batch)  # [C, B]
                mode = "vmap"
            except RuntimeError as err:
                if mode == "vmap" or t > 0:
                    raise
                warnings.warn(
                    f"torch.func.vmap cannot run this model ({str(err).splitlines()[0]}); "
                    "falling back to a loop over chains (same result, slower). Make the "
                    "model's forward vmap-safe to get the vectorized speed.",
                    stacklevel=3,
                )
                mode = "loop"
                losses = looped(params, batch)
        chain_means = losses.mean(dim=1)  # [C]
        chain_means.sum().backward()  # each chain's slice gets its own gradient

        current = chain_means.detach()
        ref = ref_losses[idx.to(ref_losses.device)].mean(dim=1)  # [C]
        scaled = nbeta * (current - ref)
        if not torch.isfinite(current).all() or (scaled > limit).any():
            bad = int(torch.argmax((~torch.isfinite(current)).float() + scaled.nan_to_num(0)))
            raise ChainDivergedError(
                f"SGLD chain {bad} diverged at step {t} (loss {current[bad].item():.4g}, "
                f"init loss {init_loss:.4g}) with {hparams}. Try a smaller lr (e.g. {lr / 10:g}) "
                "or a larger localization."
            )
        loss_trace[:, t] = current.cpu().numpy()
        ref_trace[:, t] = ref.cpu().numpy()
        optimizer.step(noise_generator=noise_gen)
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start

    config = {
        "lr": lr,
        "nbeta": nbeta,
        "localization": localization,
        "chains": chains,
        "draws": draws,
        "burnin": burnin,
        "batch_size": batch_size,
        "sampler": sampler,
        "seed": seed,
        "n": data.n,
        "d": d,
        "vectorize": mode,
        **{f"sampler_{k}": v for k, v in sampler_kwargs.items()},
    }
    return summarize(loss_trace, ref_trace, init_loss, config, seconds)
