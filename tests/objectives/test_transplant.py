import pandas as pd
import pytest
import torch

from devrl.objectives.deltas import random_like
from devrl.objectives.transplant import edit_effect, edited_policy


def table(visits: dict[str, list[bool]], success: list[bool]) -> pd.DataFrame:
    """episode_target_stats-shaped rows: per episode and target, visited and a distance."""
    rows = []
    for target, vs in visits.items():
        for ep, v in enumerate(vs):
            rows.append(
                {
                    "episode": ep,
                    "target": target,
                    "visited": v,
                    "mean_distance": 1.0 if v else 3.0,
                    "length": 10 + ep,
                    "reached_cheese": success[ep],
                }
            )
    return pd.DataFrame(rows)


def test_edit_effect_known_answer():
    base = table({"a": [False] * 4, "b": [False] * 4, "c": [True] * 4}, [True] * 4)
    # the edit sends the agent to a on every episode, b unchanged, c lost half the time;
    # it also loses the cheese on one episode of four
    arm = table(
        {"a": [True] * 4, "b": [False] * 4, "c": [True, True, False, False]},
        [True, True, True, False],
    )
    eff = edit_effect(arm, base, "a")
    assert eff["d_visit_own"] == pytest.approx(1.0)
    assert eff["d_visit"] == pytest.approx(1.0 - (0.0 - 0.5) / 2)
    assert eff["d_dist"] == pytest.approx(-2.0 - (0.0 + 1.0) / 2)
    assert eff["d_success"] == pytest.approx(-0.25)
    assert eff["d_length"] == pytest.approx(0.0)
    assert (eff["n_arm"], eff["n_base"]) == (4, 4)


def test_edit_effect_is_zero_for_the_same_episodes():
    base = table({"a": [True, False], "b": [False, True]}, [True, False])
    eff = edit_effect(base, base, "b")
    assert eff["d_visit"] == 0 and eff["d_success"] == 0 and eff["d_dist"] == 0


def test_edited_policy_alpha_zero_is_the_network_and_alpha_moves_it(tmp_path):
    from devrl.agents import PPOConfig, train

    run = train(
        PPOConfig.from_dict(
            {
                "size": 5,
                "num_envs": 4,
                "num_steps": 8,
                "total_timesteps": 32,
                "checkpoints": 2,
                "channels": 4,
                "hidden": 8,
                "res_blocks": 1,
            }
        ),
        tmp_path / "run",
    )
    state = run.load_checkpoint(run.steps[-1])["model"]
    delta = random_like({k: v for k, v in state.items() if v.is_floating_point()}, seed=0)
    x = torch.rand(3, *run.config["model"]["obs_shape"])
    same = edited_policy(run, state, delta, 0.0)
    ref = run.policy()
    with torch.no_grad():
        assert torch.equal(same(x)[0], ref(x)[0])
        moved = edited_policy(run, state, delta, 1.0)
        assert not torch.allclose(moved(x)[0], ref(x)[0])
