"""ActorCritic: sizes, hook names, dtype handling, config round trip, separate trunks."""

import pytest
import torch

from devrl.agents import ActorCritic
from devrl.hooks import HookPoint

EXPECTED_HOOKS = {
    "hook_obs",
    "trunk.conv1.hook_out",
    "trunk.conv2.hook_out",
    "trunk.res1.hook_mid",
    "trunk.res1.hook_out",
    "trunk.hook_dense",
    "policy_head.hook_logits",
    "value_head.hook_value",
}


def _obs(batch=5, size=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, size, size, generator=g) > 0.5).to(torch.uint8)


def test_default_size_has_10k_to_50k_parameters():
    n = ActorCritic().num_parameters()
    assert 10_000 <= n <= 50_000, n
    assert n == 49_077  # 16 channels, 32 hidden at 9x9; update the report if this changes
    assert ActorCritic(readout_plane=1).num_parameters() == 49_589


def test_shapes_and_uint8_equals_float():
    net = ActorCritic()
    obs = _obs()
    logits, value = net(obs)
    assert logits.shape == (5, 4) and value.shape == (5,)
    logits_f, value_f = net(obs.float())
    assert torch.equal(logits, logits_f) and torch.equal(value, value_f)
    assert torch.equal(net.value(obs), value)


def test_every_activation_has_a_stable_hook_name():
    names = {n for n, m in ActorCritic().named_modules() if isinstance(m, HookPoint)}
    assert names == EXPECTED_HOOKS
    sep = {
        n for n, m in ActorCritic(separate_trunks=True).named_modules() if isinstance(m, HookPoint)
    }
    assert "policy_trunk.res1.hook_out" in sep and "value_trunk.hook_dense" in sep
    assert not any(n.startswith("trunk.") for n in sep)


def test_hooks_see_and_can_replace_activations():
    net = ActorCritic()
    seen = {}
    modules = dict(net.named_modules())
    handle = modules["trunk.res1.hook_out"].register_forward_hook(
        lambda m, i, o: seen.setdefault("res", o.clone())
    )
    zero = modules["trunk.hook_dense"].register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    try:
        logits, value = net(_obs())
    finally:
        handle.remove()
        zero.remove()
    assert seen["res"].shape == (5, 16, 9, 9) and (seen["res"] >= 0).all()
    # zeroed features -> outputs are exactly the head biases (0 at init)
    assert torch.allclose(logits, net.policy_head.linear.bias.expand(5, 4))
    assert torch.allclose(value, net.value_head.linear.bias.expand(5))


def test_separate_trunks_isolate_policy_from_value_gradients():
    net = ActorCritic(separate_trunks=True, channels=4, hidden=8)
    _, value = net(_obs())
    value.sum().backward()
    assert all(p.grad is None for p in net.policy_trunk.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.value_trunk.parameters())


def test_config_round_trip_and_validation():
    net = ActorCritic((3, 7, 7), 4, channels=4, hidden=16, separate_trunks=True)
    clone = ActorCritic.from_config(net.config())
    assert clone.config() == net.config()
    clone.load_state_dict(net.state_dict())  # same architecture -> same keys and shapes
    with pytest.raises(ValueError, match="unknown ActorCritic config key"):
        ActorCritic.from_config({**net.config(), "width": 3})
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        ActorCritic(channels=0)


def test_readout_plane_pools_features_at_the_mouse():
    net = ActorCritic(channels=4, hidden=8, readout_plane=1)
    obs = _obs()
    cache = {}
    modules = dict(net.named_modules())
    hooks = [
        modules[n].register_forward_hook(lambda m, i, o, n=n: cache.setdefault(n, o))
        for n in ("trunk.res1.hook_out", "trunk.hook_readout")
    ]
    try:
        net(obs)
    finally:
        for h in hooks:
            h.remove()
    expected = (cache["trunk.res1.hook_out"] * obs[:, 1:2].float()).sum((2, 3))
    assert torch.allclose(cache["trunk.hook_readout"], expected)
    with pytest.raises(ValueError, match="readout_plane must be None or an integer in"):
        ActorCritic(readout_plane=3)


def test_works_under_torch_func_vmap():
    from torch.func import functional_call, vmap

    net = ActorCritic(channels=4, hidden=8)
    params = {k: v.detach() for k, v in net.named_parameters()}
    obs = torch.stack([_obs(seed=s) for s in range(3)])  # [chains, B, 3, 9, 9]
    logits, value = vmap(lambda o: functional_call(net, params, (o,)))(obs)
    assert logits.shape == (3, 5, 4) and value.shape == (3, 5)
    assert torch.allclose(logits[2], net(obs[2])[0], atol=1e-6)


def test_downsampled_trunk_has_one_unit_per_maze_cell_and_named_blocks():
    net = ActorCritic(readout_plane=1, downsample=True, res_blocks=3, hidden=64)
    assert net.num_parameters() == 43_701  # the quick preset's network; within 10k-50k
    names = {n for n, m in net.named_modules() if isinstance(m, HookPoint)}
    assert names == EXPECTED_HOOKS | {
        "trunk.hook_readout",
        "trunk.res2.hook_mid",
        "trunk.res2.hook_out",
        "trunk.res3.hook_mid",
        "trunk.res3.hook_out",
    }
    obs = _obs()
    obs[:, 1] = 0
    obs[0, 1, 4, 6] = 1  # mouse on a maze cell (even, even) -> that cell only
    obs[1, 1, 3, 6] = 1  # mouse on a passage (odd row) -> the two cells it joins
    cache = {}
    modules = dict(net.named_modules())
    hooks = [
        modules[n].register_forward_hook(lambda m, i, o, n=n: cache.setdefault(n, o))
        for n in ("trunk.conv2.hook_out", "trunk.res3.hook_out", "trunk.hook_readout")
    ]
    try:
        logits, value = net(obs)
    finally:
        for h in hooks:
            h.remove()
    assert cache["trunk.conv2.hook_out"].shape == (5, 16, 5, 5)
    res = cache["trunk.res3.hook_out"]
    assert torch.allclose(cache["trunk.hook_readout"][0], res[0, :, 2, 3])
    assert torch.allclose(cache["trunk.hook_readout"][1], res[1, :, 1, 3] + res[1, :, 2, 3])
    assert torch.allclose(cache["trunk.hook_readout"][2], torch.zeros(16))  # no mouse
    assert logits.shape == (5, 4) and value.shape == (5,)
    clone = ActorCritic.from_config(net.config())
    clone.load_state_dict(net.state_dict())
    assert torch.equal(clone(obs)[0], logits)
    with pytest.raises(ValueError, match="res_blocks must be a positive integer"):
        ActorCritic(res_blocks=0)


def test_new_options_stay_out_of_the_config_at_their_defaults():
    # runs and checkpoints saved before res_blocks/downsample existed must compare equal
    assert set(ActorCritic().config()) == {
        "obs_shape",
        "n_actions",
        "channels",
        "hidden",
        "separate_trunks",
        "readout_plane",
    }
    assert ActorCritic(res_blocks=2).config()["res_blocks"] == 2


def test_downsampled_network_works_under_torch_func_vmap():
    from torch.func import functional_call, vmap

    net = ActorCritic(channels=4, hidden=8, readout_plane=1, downsample=True, res_blocks=2)
    params = {k: v.detach() for k, v in net.named_parameters()}
    obs = torch.stack([_obs(seed=s) for s in range(3)])  # [chains, B, 3, 9, 9]
    logits, value = vmap(lambda o: functional_call(net, params, (o,)))(obs)
    assert torch.allclose(logits[1], net(obs[1])[0], atol=1e-6)
    assert torch.allclose(value[1], net(obs[1])[1], atol=1e-6)
