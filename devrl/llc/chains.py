"""The sampling loop behind :func:`devrl.llc.estimate`: K models × chains SGMCMC chains.

Every parameter is stacked into one tensor with a leading [K·chains] dimension, the model is
evaluated for all chains at once with ``torch.func.functional_call`` under
``torch.func.vmap``, and ONE devinterp SGMCMC optimizer updates the stacked tensors. Its
update is elementwise, so each chain's slice gets its own gradient (we backprop the sum over
chains of each chain's mean minibatch loss), its own noise, and its own pull toward its own
copy of its checkpoint's w*. Each draw's minibatch loss is paired with w*'s loss on the same
minibatch. A NaN or a diverging chain raises :class:`ChainDivergedError`.
"""

from __future__ import annotations

import fnmatch
import math
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from devrl._progress import progress as _progress
from devrl.llc.data import LLCData
from devrl.llc.result import LLCResult, summarize
from devrl.llc.settings import SAMPLERS, SamplerSettings

__all__ = ["ChainDivergedError", "per_sample_losses", "sample_chains", "select_params"]


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


def select_params(names: list[str], patterns: tuple[str, ...] | None) -> list[str]:
    """The names (in model order) matched by ``patterns``: a name, a glob, or a module prefix.

    Why: a weight-refined LLC samples one block (a layer, a head) and holds the rest at w*.

    Raises:
        ValueError: a pattern matches none of ``names`` (a typo would otherwise silently
            sample nothing or everything).
    """
    if patterns is None:
        return list(names)

    def hits(pattern: str) -> list[str]:
        return [
            k
            for k in names
            if k == pattern or k.startswith(pattern + ".") or fnmatch.fnmatchcase(k, pattern)
        ]

    for pattern in patterns:
        if not hits(pattern):
            raise ValueError(
                f"params pattern {pattern!r} matches no parameter with requires_grad=True; "
                f"the model's are {names}."
            )
    chosen = {k for pattern in patterns for k in hits(pattern)}
    return [k for k in names if k in chosen]


def _stack_chains(tensors: list[torch.Tensor], chains: int) -> torch.Tensor:
    """K tensors -> [K·chains, *shape], checkpoint-major (chain c of model k at k·chains + c)."""
    return torch.stack([t.detach() for t in tensors]).repeat_interleave(chains, dim=0)


def sample_chains(
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
    names = select_params(names, s.params)  # weight-refined: only these move
    sampled = set(names)
    # Fixed tensors (frozen or unselected parameters, buffers): shared when every model has
    # the same values, else stacked per chain and vmapped alongside the sampled parameters.
    fixed_all = [
        {
            **{k: p.detach() for k, p in nm.items() if k not in sampled},
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
    masks = s.param_masks or {}
    for k, m in masks.items():
        if k not in sampled:
            raise ValueError(f"param_masks names {k!r}, which is not a sampled parameter {names}.")
        if tuple(m.shape) != tuple(named[0][k].shape):
            raise ValueError(
                f"param_masks[{k!r}] has shape {tuple(m.shape)}; the parameter's is "
                f"{tuple(named[0][k].shape)}."
            )
    d = sum(int(masks[k].sum()) if k in masks else named[0][k].numel() for k in names)

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
    extra = dict(s.sampler_kwargs)
    if masks:  # devinterp's elementwise mask: drift and noise zeroed outside it
        extra["mask"] = [
            masks[k].to(t.device).expand_as(t) if k in masks else torch.ones_like(t, dtype=bool)
            for k, t in zip(names, stacked, strict=True)
        ]
    optimizer = SAMPLERS[s.sampler](
        stacked, lr=lr, nbeta=nbeta, localization=s.localization, **extra
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
    bar = _progress(range(steps), "LLC steps", unit="step", leave=False, enabled=progress)
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
        **({"params": ",".join(s.params)} if s.params is not None else {}),
        **({"param_masks": ",".join(masks)} if masks else {}),
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
