"""Weight- and data-refined LLCs (Wang et al. 2024) against known learning coefficients.

Weight-refined: a block-diagonal model whose loss is a sum of independent regressions, so
the LLC of one block (the others held at w*) is that block's own coefficient, and the
blocks' coefficients add up to the whole. Data-refined: a linear regression where the
subset's inputs excite only some weights. Numbers are recorded in theory/llc.md §9.
"""

import pytest
import torch
from test_llc_ground_truths import SINGULAR, _report, deep_linear_network
from torch import nn

from devrl.llc import estimate, estimate_many, regression_data, subset_data
from devrl.llc.chains import select_params
from devrl.theory import regular_lambda, rrr_lambda


class BlockDiagonal(nn.Module):
    """Independent blocks: block i reads its own slice of x and writes its own slice of y."""

    def __init__(self, blocks, ins):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.ins = list(ins)

    def forward(self, x):
        xs = torch.split(x, self.ins, dim=-1)
        return torch.cat([b(xi) for b, xi in zip(self.blocks, xs, strict=True)], dim=-1)


def _regular_blocks(n=50_000, seed=0):
    """Block 0: Linear(3→2), d = 8, λ = 4; block 1: Linear(4→3), d = 15, λ = 7.5."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = BlockDiagonal([nn.Linear(3, 2), nn.Linear(4, 3)], [3, 4])
    x = torch.randn(n, 7, generator=g)
    with torch.no_grad():
        y = model(x) + torch.randn(n, 5, generator=g)
    return model, regression_data(x, y)


# As the regular fast test in test_llc_estimator.py (theory/llc.md §2): beta = 0.01,
# lr*nbeta = 0.05, 6 chains x 1000 draws after 200.
FAST = {
    "lr": 1e-4,
    "nbeta": 500,
    "localization": 1.0,
    "chains": 6,
    "draws": 1000,
    "burnin": 200,
    "batch_size": 1000,
    "seed": 0,
    "progress": False,
}


def test_weight_refined_blocks_recover_their_coefficients_and_add_up(capsys):
    model, data = _regular_blocks()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    whole = estimate(model, data, **FAST)
    block0 = estimate(model, data, params=["blocks.0"], **FAST)
    block1 = estimate(model, data, params=["blocks.1.*"], **FAST)
    assert (block0.config["d"], block1.config["d"], whole.config["d"]) == (8, 15, 23)
    assert block0.config["params"] == "blocks.0" and "params" not in whole.config
    for res, true in ((block0, regular_lambda(8)), (block1, regular_lambda(15))):
        assert abs(res.mean - true) / true < 0.10, (true, res)
    total = block0.mean + block1.mean
    assert abs(whole.mean - regular_lambda(23)) / regular_lambda(23) < 0.10, whole
    assert abs(total - whole.mean) / whole.mean < 0.10, (total, whole.mean)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with capsys.disabled():
        print(
            f"\nweight-refined regular blocks: block0 {block0.mean:.3f} (true 4), block1 "
            f"{block1.mean:.3f} (true 7.5), sum {total:.3f}, whole {whole.mean:.3f} (true 11.5)"
        )


def test_params_pattern_is_the_same_as_freezing_the_rest():
    # Selecting a block by name samples exactly the chains you get by freezing the others.
    model, data = _regular_blocks(n=2000)
    kw = dict(FAST, draws=30, burnin=5, batch_size=100, warn=False)
    by_name = estimate(model, data, params=["blocks.1.weight", "blocks.1.bias"], **kw)
    for p in model.blocks[0].parameters():
        p.requires_grad_(False)
    frozen = estimate(model, data, **kw)
    assert torch.equal(torch.as_tensor(by_name.loss_trace), torch.as_tensor(frozen.loss_trace))
    # estimate_many takes the option too and matches estimate for K = 1
    (many,) = estimate_many([model], data, params="blocks.1", **kw)
    assert many.mean == pytest.approx(frozen.mean)


def test_select_params_and_bad_patterns():
    names = ["enc.0.weight", "enc.0.bias", "enc.10.weight", "head.weight"]
    assert select_params(names, None) == names
    assert select_params(names, ("enc.0",)) == ["enc.0.weight", "enc.0.bias"]
    assert select_params(names, ("*.weight",)) == ["enc.0.weight", "enc.10.weight", "head.weight"]
    assert select_params(names, ("head.weight", "enc.1*")) == ["enc.10.weight", "head.weight"]
    with pytest.raises(ValueError, match="'enc.2' matches no parameter"):
        select_params(names, ("enc.2",))
    model, data = _regular_blocks(n=2000)
    with pytest.raises(ValueError, match="matches no parameter"):
        estimate(model, data, params=["block.0"], **FAST)
    with pytest.raises(TypeError, match="params must be"):
        estimate(model, data, params=[0], **FAST)
    with pytest.raises(ValueError, match="at least one"):
        estimate(model, data, params=[], **FAST)


@pytest.mark.slow
def test_weight_refined_singular_and_regular_blocks(request):
    """Weight-refined LLC: RRR case 1 (λ = 8) beside a regular Linear(3→2) (λ = 4), each
    reading its own inputs and writing its own outputs, so the loss is a sum of the two and
    each block's refined LLC (the other held at w*) is its own λ; the whole is 12."""
    rrr, rrr_data = deep_linear_network([5, 3, 5], 1, n=100_000)
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    linear = nn.Linear(3, 2)
    x2 = torch.randn(100_000, 3, generator=g)
    with torch.no_grad():
        y2 = linear(x2) + torch.randn(100_000, 2, generator=g)
    (x1, y1) = rrr_data.tensors
    model = BlockDiagonal([rrr, linear], [5, 3])
    data = regression_data(torch.cat([x1, x2], 1), torch.cat([y1, y2], 1))
    trues = {"blocks.0": rrr_lambda(5, 3, 5, 1), "blocks.1": 4.0}
    blocks = {p: estimate(model, data, params=[p], **SINGULAR) for p in trues}
    whole = estimate(model, data, **SINGULAR)
    for p, true in trues.items():
        _report(f"{request.node.name}[{p}]", true, blocks[p])
        assert abs(blocks[p].mean - true) / true < 0.15, (p, true, blocks[p])
    _report(f"{request.node.name}[whole]", sum(trues.values()), whole)
    total = sum(r.mean for r in blocks.values())
    print(f"sum of blocks {total:.3f} vs whole {whole.mean:.3f}")
    assert abs(whole.mean - 12.0) / 12.0 < 0.15, whole
    assert abs(total - whole.mean) / whole.mean < 0.15, (total, whole)


def test_param_masks_refine_within_a_tensor():
    # Linear(5→2) on full-rank inputs: only W[:, :2] moves (d = 4, λ = 2); the bias and the
    # rest of W stay at w*.
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Linear(5, 2)
    x = torch.randn(50_000, 5, generator=g)
    with torch.no_grad():
        data = regression_data(x, model(x) + torch.randn(50_000, 2, generator=g))
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[:, :2] = True
    res = estimate(model, data, params=["weight"], param_masks={"weight": mask}, **FAST)
    assert res.config["d"] == 4 and res.config["param_masks"] == "weight"
    assert abs(res.mean - regular_lambda(4)) / regular_lambda(4) < 0.10, res
    with pytest.raises(ValueError, match="not a sampled parameter"):
        estimate(model, data, params=["bias"], param_masks={"weight": mask}, **FAST)
    with pytest.raises(ValueError, match="has shape"):
        estimate(model, data, param_masks={"weight": mask[:, :3]}, **FAST)
    with pytest.raises(TypeError, match="boolean mask"):
        estimate(model, data, param_masks={"weight": mask.float()}, **FAST)
    with pytest.raises(ValueError, match="selects no entry"):
        estimate(model, data, param_masks={"weight": ~mask & mask}, **FAST)


def _subset_regression(n=50_000, seed=0):
    """Linear(5→2), d = 12. The first half of the samples have x[:, 2:] = 0, so their loss
    constrains only W[:, :2] and b: 6 directions, λ = 3. The rest constrain all 12: λ = 6."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Linear(5, 2)
    x = torch.randn(n, 5, generator=g)
    x[: n // 2, 2:] = 0
    with torch.no_grad():
        y = model(x) + torch.randn(n, 2, generator=g)
    subset = torch.zeros(n, dtype=torch.bool)
    subset[: n // 2] = True
    return model, regression_data(x, y), subset


def test_data_refined_subset_counts_only_the_directions_it_excites(capsys):
    model, data, subset = _subset_regression()
    low = estimate(model, data, subset=subset, **FAST)
    high = estimate(model, data, subset=torch.nonzero(~subset).squeeze(1), **FAST)
    assert low.config["n"] == 25_000 and low.config["subset_of"] == 50_000
    assert abs(low.mean - regular_lambda(6)) / regular_lambda(6) < 0.10, low
    assert abs(high.mean - regular_lambda(12)) / regular_lambda(12) < 0.10, high
    with capsys.disabled():
        print(
            f"\ndata-refined: subset {low.mean:.3f} (true 3), complement {high.mean:.3f} (true 6)"
        )


def test_subset_mask_and_indices_agree_and_bad_subsets():
    model, data, subset = _subset_regression(n=2000)
    kw = dict(FAST, draws=20, burnin=5, batch_size=100, warn=False)
    by_mask = estimate(model, data, subset=subset, **kw)
    by_index = estimate(model, data, subset=torch.arange(1000), **kw)
    explicit = estimate(model, subset_data(data, subset), **kw)
    assert by_mask.mean == by_index.mean == explicit.mean
    # estimate_many applies the subset to every per-model dataset
    _, other, _ = _subset_regression(n=2000, seed=1)
    many = estimate_many([model, model], [data, other], subset=subset, **kw)
    by_hand = estimate_many(
        [model, model], [subset_data(data, subset), subset_data(other, subset)], **kw
    )
    assert [r.mean for r in many] == [r.mean for r in by_hand]
    assert many[0].config["subset_of"] == 2000 and many[0].mean != many[1].mean
    # the subset's samples are the rows at the indices
    sub = subset_data(data, torch.tensor([3, 1]))
    x, _ = sub.batch(torch.tensor([1, 0]))
    assert torch.equal(x, data.tensors[0][[1, 3]]) and sub.n == 2
    with pytest.raises(ValueError, match="mask of shape"):
        subset_data(data, subset[:10])
    with pytest.raises(ValueError, match="no samples"):
        subset_data(data, torch.zeros(2000, dtype=torch.bool))
    with pytest.raises(ValueError, match="must lie in"):
        subset_data(data, [0, 2000])
    with pytest.raises(TypeError, match="boolean mask"):
        subset_data(data, torch.rand(3))
