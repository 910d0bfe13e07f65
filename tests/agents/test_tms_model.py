"""The TMS model: one batched forward pass, its hand-written gradient, the module."""

import numpy as np
import pytest
import torch

from devrl.agents.tms_model import (
    TMSModel,
    init_tms_params,
    tms_backward,
    tms_forward,
    tms_layers,
)
from devrl.envs.tms import per_sample_loss, sample_contexts
from devrl.hooks import run_with_cache
from devrl.theory.tms import kgon


def test_model_matches_formula_and_exposes_hooks():
    p = kgon("5")
    model = TMSModel(W=p.W, b=p.b)
    x = torch.from_numpy(sample_contexts(50_000, np.random.default_rng(2)))
    out, cache = run_with_cache(model, x)
    W, b = torch.tensor(p.W, dtype=torch.float32), torch.tensor(p.b, dtype=torch.float32)
    assert torch.allclose(out, torch.relu(x @ W.T @ W + b), atol=1e-6)
    assert torch.equal(out, tms_forward(W, b, x))
    assert cache["hook_hidden"].shape == (50_000, 2) and "hook_pre" in cache
    loss = per_sample_loss(out, x)
    assert loss.mean().item() == pytest.approx(p.loss, abs=4 * loss.std().item() / 50_000**0.5)


def test_forward_is_batched_over_any_leading_dimensions():
    g = torch.Generator().manual_seed(0)
    W, b = torch.randn(3, 4, 2, 6, generator=g), torch.randn(3, 4, 6, generator=g)
    x = torch.rand(3, 4, 5, 6, generator=g)
    out = tms_forward(W, b, x)  # [3, 4, 5, 6]
    for i, j in ((0, 0), (2, 3)):
        one = torch.relu(x[i, j] @ W[i, j].T @ W[i, j] + b[i, j])
        assert torch.allclose(out[i, j], one, atol=1e-6)
    # one dataset shared by every model broadcasts
    assert torch.allclose(tms_forward(W, b, x[0, 0]), tms_forward(W, b, x[0, 0].expand_as(x)))
    h, pre, f = tms_layers(W, b, x)
    assert h.shape == (3, 4, 5, 2) and torch.equal(f, out) and torch.equal(f, pre.clamp(min=0))


def test_backward_matches_autograd():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(3, 2, 6, generator=g, dtype=torch.float64).requires_grad_(True)
    b = (0.1 * torch.randn(3, 6, generator=g, dtype=torch.float64)).requires_grad_(True)
    x = torch.rand(3, 7, 6, generator=g, dtype=torch.float64)
    d_out = torch.randn(3, 7, 6, generator=g, dtype=torch.float64)
    gW, gb = torch.autograd.grad((tms_forward(W, b, x) * d_out).sum(), (W, b))
    h, pre, _ = tms_layers(W.detach(), b.detach(), x)
    hW, hb = tms_backward(W.detach(), x, h, pre, d_out)
    assert torch.allclose(gW, hW) and torch.allclose(gb, hb)


def test_init_is_a_noisy_4gon_or_random_and_per_seed():
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    W, b = init_tms_params("4gon", 2, 6, 0.01, gens)
    assert W.shape == (2, 2, 6) and b.shape == (2, 6)
    assert torch.allclose(W[:, :, :4].norm(dim=1), torch.ones(2, 4), atol=0.05)
    one = init_tms_params("4gon", 2, 6, 0.01, [torch.Generator().manual_seed(1)])
    assert torch.equal(one[0][0], W[1]) and torch.equal(one[1][0], b[1])
    with pytest.raises(ValueError, match="init"):
        init_tms_params("5gon", 2, 6, 0.0, gens)
