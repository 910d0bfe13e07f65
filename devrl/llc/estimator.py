"""Estimate the local learning coefficient (LLC) with vectorized SGLD chains.

λ̂ = nβ · (E_draws[L(w)] − L(w*)) (Lau et al. 2023), where the draws come from the
tempered, localized posterior ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²), sampled with
devinterp's ``SGMCMC.sgld`` / ``SGMCMC.rmsprop_sgld``.

Why our own loop around devinterp's optimizer: the chains run side by side, for one model
or for K checkpoints of one architecture at once, in one vectorized sampler
(:mod:`devrl.llc.chains`: stacked parameters, one vmapped forward, one SGMCMC optimizer).
Burn-in is excluded from the estimate; a NaN or a diverging chain raises an error instead of
returning ``inf``. ``estimate`` is ``estimate_many`` with one model: there is one sampling
loop. This module holds the two public functions and the checks of their inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from devrl.llc.chains import sample_chains
from devrl.llc.data import LLCData, SubsetData, subset_data
from devrl.llc.result import LLCResult
from devrl.llc.settings import Sampler, SamplerSettings, default_nbeta, make_settings

__all__ = ["Sampler", "SamplerSettings", "default_nbeta", "estimate", "estimate_many"]


def estimate(
    model: nn.Module,
    data: LLCData,
    settings: SamplerSettings | None = None,
    *,
    progress: bool | None = None,
    warn: bool = True,
    subset: Any = None,
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
        progress: Progress over steps (a bar on a terminal, a line every 30 s elsewhere);
            False silences it.
        warn: Warn (``UserWarning``) when the chains look unhealthy
            (:attr:`LLCResult.problems`), naming the problem and a fix.
        subset: Data-refined LLC: a boolean mask ``[n]`` or integer indices of the samples
            whose loss is sampled (n becomes the subset's size; ``config["subset_of"]``
            records the full n). None: all samples.
        **fields: Fields of ``SamplerSettings``: ``lr``, ``nbeta`` (default
            batch/ln(batch)), ``localization`` (γ, 1.0), ``chains`` (4), ``draws`` (200),
            ``burnin`` (50), ``batch_size`` (256; None: full batch), ``sampler``
            ("sgld" or "rmsprop_sgld"), ``seed`` (0), ``sampler_kwargs`` (e.g. ``eps``,
            ``alpha``, ``weight_decay``), ``divergence_factor`` (10: a chain whose
            nβ·(L_t − L_t(w*)) exceeds this many times max(d/2, 1) has diverged; the
            LLC of a minimum is ≤ d/2), ``vectorize`` ("vmap", "loop" or "auto": vmap,
            falling back to a loop over chains with a warning if the model cannot be
            vmapped; either way one SGMCMC optimizer steps all chains), ``params``
            (weight-refined LLC: names, glob patterns or module prefixes of the parameters
            sampled, the others held at w*; ``config["d"]`` counts the sampled ones),
            ``param_masks`` (``{name: bool mask}``: only those entries of a sampled tensor
            move, via devinterp's SGMCMC ``mask``).

    Returns:
        An ``LLCResult`` with the estimate, per-chain values, traces and diagnostics.

    Raises:
        ChainDivergedError: A loss became NaN/inf or ran away; lower ``lr``.
    """
    _check_progress(progress)
    settings = make_settings(settings, fields)
    return _estimate_many([model], data, settings, progress, warn, subset)[0]


def estimate_many(
    models: Sequence[nn.Module],
    data: LLCData | Sequence[LLCData],
    settings: SamplerSettings | None = None,
    *,
    progress: bool | None = None,
    warn: bool = True,
    subset: Any = None,
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
        progress: Progress over steps (a bar on a terminal, a line every 30 s elsewhere);
            False silences it.
        warn: Warn (``UserWarning``) when the chains look unhealthy
            (:attr:`LLCResult.problems`), naming the problem and a fix.
        subset: Data-refined LLC: a mask or indices applied to every dataset (see
            ``estimate``).
        **fields: Fields of ``SamplerSettings`` (``lr`` is required without ``settings``).

    Returns:
        One ``LLCResult`` per model, in order; ``seconds`` is the shared wall time / K.

    Raises:
        ChainDivergedError: A chain's loss became NaN/inf or ran away; the message names
            the checkpoint; lower ``lr``.
    """
    _check_progress(progress)
    settings = make_settings(settings, fields)
    return _estimate_many(models, data, settings, progress, warn, subset)


def _check_progress(progress: Any) -> None:
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}.")


def _check_data(data: Any) -> LLCData:
    if not isinstance(data, LLCData):
        raise TypeError(
            f"data must implement devrl.llc.LLCData (n, batch, loss); got {type(data).__name__}. "
            "Wrap tensors with devrl.llc.regression_data(x, y) or classification_data(x, y)."
        )
    return data


def _loss_settings(data: LLCData) -> dict[str, Any]:
    """The non-tensor attributes of a dataset: what its ``loss`` may read besides the batch."""
    if isinstance(data, SubsetData):
        return {"subset_of": data.data.n, **_loss_settings(data.data)}

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
    warn: bool = True,
    subset: Any = None,
) -> list[LLCResult]:
    models, datas, loss_data = _check_many(models, data)
    full_n = loss_data.n
    if subset is not None:  # data-refined: every dataset restricted to the same samples
        loss_data = subset_data(loss_data, subset)
        datas = None if datas is None else [SubsetData(d, loss_data.indices) for d in datas]
    settings = settings.resolve(loss_data.n)
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        results = sample_chains(models, datas, loss_data, settings, progress)
    finally:
        for m, mode in zip(models, was_training, strict=True):
            m.train(mode)
    if subset is not None:
        for r in results:
            r.config["subset_of"] = full_n
    if warn:
        _warn_unhealthy(results)
    return results


def _warn_unhealthy(results: Sequence[LLCResult]) -> None:
    """One ``UserWarning`` naming the unhealthy estimates, the problem and a fix."""
    bad = [(i, r.health_warning()) for i, r in enumerate(results)]
    bad = [(i, text) for i, text in bad if text is not None]
    if not bad:
        return
    if len(results) == 1:
        message = bad[0][1]
    else:
        first, text = bad[0]
        message = (
            f"{len(bad)} of {len(results)} LLC estimates are unhealthy (checkpoints "
            f"{[i for i, _ in bad]}); the first, checkpoint {first}: {text}"
        )
    # stacklevel: the user's call of estimate / estimate_many
    warnings.warn(message + " (warn=False silences this)", UserWarning, stacklevel=4)
