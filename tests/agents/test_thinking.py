"""Tests for devrl.agents.thinking: the ConvLSTM cell by hand, ticks at test time, PPO."""

from __future__ import annotations

import pytest
import torch

from devrl.agents import PPOConfig, train
from devrl.agents.registry import build_model, model_config
from devrl.agents.thinking import ConvLSTMCell, ThinkingActorCritic
from devrl.hooks import hook_names, run_with_cache


def test_cell_matches_the_lstm_equations():
    torch.manual_seed(0)
    cell = ConvLSTMCell(2)
    x, h, c = torch.randn(3, 2, 5, 5), torch.randn(3, 2, 5, 5), torch.randn(3, 2, 5, 5)
    z = torch.nn.functional.conv2d(torch.cat([x, h], 1), cell.gates.weight, cell.gates.bias,
                                   padding=1)  # fmt: skip
    i, f, g, o = (z[:, 2 * k : 2 * k + 2] for k in range(4))
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new, c_out = cell(x, h, c)
    assert torch.allclose(c_out, c_new, atol=1e-6)
    assert torch.allclose(h_new, torch.sigmoid(o) * torch.tanh(c_new), atol=1e-6)


def test_ticks_change_the_computation_and_are_kept_in_the_config():
    torch.manual_seed(0)
    net = ThinkingActorCritic((3, 9, 9), 4, channels=4, hidden=8, ticks=2)
    assert model_config(net)["kind"] == "thinking_actor_critic"
    twin = build_model(model_config(net))
    twin.load_state_dict(net.state_dict())
    obs = (torch.rand(5, 3, 9, 9) < 0.3).float()
    assert torch.equal(net(obs)[0], twin(obs)[0])
    calls = []
    _, cache = run_with_cache(net, obs, ["trunk.lstm.hook_h"])
    assert cache["trunk.lstm.hook_h"].shape == (5, 4, 5, 5)
    net.trunk.lstm.hook_h.register_forward_hook(lambda *a: calls.append(1))
    net.ticks = 5
    longer = net(obs)[0]
    assert len(calls) == 5 and not torch.allclose(longer, twin(obs)[0])
    assert {"trunk.conv2.hook_out", "trunk.lstm.hook_h", "trunk.hook_readout"} <= set(
        hook_names(net)
    )
    with pytest.raises(ValueError, match="ticks"):
        net.ticks = 0


def test_ppo_trains_it_and_the_run_reloads_it(tmp_path):
    cfg = PPOConfig(size=5, num_envs=4, num_steps=16, total_timesteps=128, num_minibatches=2,
                    update_epochs=1, channels=4, hidden=8, ticks=2, checkpoints=2)  # fmt: skip
    run = train(cfg, tmp_path / "run", resume=False)
    policy = run.policy()
    assert isinstance(policy, ThinkingActorCritic) and policy.ticks == 2
    with pytest.raises(ValueError, match="ticks"):
        PPOConfig(ticks=-1)
