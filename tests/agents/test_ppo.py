"""PPO: GAE against hand-worked values, a full tiny run, determinism, fine-tuning, the CLI."""

import json
import math

import pytest
import torch

from devrl.agents import PPOConfig, compute_gae, train

METRICS = [
    "charts/episodic_return",
    "charts/success_rate",
    "charts/episode_length",
    "losses/value_loss",
    "losses/policy_loss",
    "losses/entropy",
    "losses/approx_kl",
    "losses/clipfrac",
    "charts/SPS",
    "charts/learning_rate",
]


def test_gae_matches_hand_computation():
    gamma, lam = 0.9, 0.5
    # one env, 3 steps; an episode ends after step 1 (dones[2] = 1: obs[2] starts a new one)
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [1.0], [0.2]])
    dones = torch.tensor([[0.0], [0.0], [1.0]])
    next_value, next_done = torch.tensor([0.4]), torch.tensor([0.0])
    adv, ret = compute_gae(rewards, values, dones, next_value, next_done, gamma, lam)
    d2 = 2.0 + gamma * 0.4 - 0.2
    d1 = 0.0 + 0.0 - 1.0  # bootstrap cut: the episode ended
    d0 = 1.0 + gamma * 1.0 - 0.5
    a2, a1 = d2, d1
    a0 = d0 + gamma * lam * a1
    assert torch.allclose(adv[:, 0], torch.tensor([a0, a1, a2]))
    assert torch.allclose(ret, adv + values)


def test_gae_lambda_one_is_discounted_return_minus_value():
    rewards = torch.tensor([[1.0], [1.0], [1.0]])
    values = torch.zeros(3, 1)
    adv, _ = compute_gae(
        rewards, values, torch.zeros(3, 1), torch.tensor([0.0]), torch.tensor([1.0]), 0.5, 1.0
    )
    assert torch.allclose(adv[:, 0], torch.tensor([1.75, 1.5, 1.0]))


def test_tiny_run_writes_checkpoints_and_metrics(tmp_path, tiny_config):
    run = train(tiny_config, tmp_path / "run")
    updates = tiny_config.num_updates
    assert run.steps[0] == 0 and run.steps[-1] == updates * tiny_config.batch_size
    assert len(run.steps) >= tiny_config.checkpoints
    m = run.metrics
    assert list(m["update"]) == list(range(1, updates + 1))
    for name in METRICS:
        assert name in m.columns, name
    assert math.isclose(m["charts/learning_rate"].iloc[0], tiny_config.lr)  # annealed from lr
    assert m["charts/learning_rate"].is_monotonic_decreasing
    policy = run.policy(run.steps[-1])
    assert not policy.training
    # only the newest checkpoint keeps the training state
    has_state = [run.load_checkpoint(s)["resume"] is not None for s in run.steps]
    assert has_state == [False] * (len(run.steps) - 1) + [True]
    cfg = json.loads((run.path / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["init_from"] is None and cfg["model"]["channels"] == 2


def test_same_config_and_seed_give_bit_identical_checkpoints(tmp_path, tiny_config):
    a = train(tiny_config, tmp_path / "a")
    b = train(tiny_config, tmp_path / "b")
    assert a.steps == b.steps
    for step in a.steps:
        sa, sb = a.load_checkpoint(step)["model"], b.load_checkpoint(step)["model"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    c = train(tiny_config.replace(seed=4), tmp_path / "c")
    final = a.steps[-1]
    sa, sc = a.load_checkpoint(final)["model"], c.load_checkpoint(final)["model"]
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_fine_tune_from_another_run_with_swapped_reward(tmp_path, tiny_config):
    parent = train(tiny_config, tmp_path / "ra")
    step = parent.steps[1]
    child_cfg = tiny_config.replace(reward={"type": "corner"}, checkpoints=2)
    child = train(child_cfg, tmp_path / "rb", init_from=(tmp_path / "ra", step))
    assert child.config["init_from"] == {"run": str((tmp_path / "ra").resolve()), "step": step}
    assert child.config["reward"] == {"type": "corner"}
    start, parent_w = child.load_checkpoint(0)["model"], parent.load_checkpoint(step)["model"]
    assert all(torch.equal(start[k], parent_w[k]) for k in start)
    with pytest.raises(ValueError, match="fine-tuning needs the same size and network"):
        train(tiny_config.replace(hidden=4), tmp_path / "bad", init_from=(tmp_path / "ra", None))


@pytest.mark.slow
def test_quick_preset_learns_the_maze(tmp_path):
    """~400k steps (about 1 CPU minute): success far above the random walk's ~3%.

    The full quick preset (2.0M steps, ~5 CPU minutes) reached 0.994 in distribution in
    the agents report (0.82 in training at 400k steps of that run); this shorter run
    checks the trend with a wide margin.
    """
    config = PPOConfig.preset("quick", total_timesteps=400_000, checkpoints=3)
    m = train(config, tmp_path / "quick").metrics
    late, early = m.tail(20), m.iloc[5:25]  # skip the first updates (only short episodes end)
    assert late["charts/success_rate"].mean() >= 0.45
    assert late["charts/episode_length"].mean() <= 0.8 * early["charts/episode_length"].mean()
