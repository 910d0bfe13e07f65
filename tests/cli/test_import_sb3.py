"""``devrl import-sb3``: arguments and a run written from SB3 zips."""

import argparse
import importlib
import importlib.util
from pathlib import Path

import pytest

import devrl
from devrl.runs import Run

sb3 = pytest.importorskip("stable_baselines3")


def cli_module():
    """``devrl.cli.import_sb3``; loaded from its file while ``devrl/cli.py`` shadows the package."""
    try:
        return importlib.import_module("devrl.cli.import_sb3")
    except ModuleNotFoundError:
        path = Path(devrl.__file__).parent / "cli" / "import_sb3.py"
        spec = importlib.util.spec_from_file_location("_devrl_cli_import_sb3", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def test_flags_parse_and_run_writes_the_run(tmp_path, capsys):
    cli = cli_module()
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1)
    model.save(tmp_path / "a.zip")
    model.save(tmp_path / "b.zip")
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    cli.add_parser(subparsers)
    args = parser.parse_args(
        ["import-sb3", str(tmp_path / "run"), str(tmp_path / "a.zip"), str(tmp_path / "b.zip")]
        + ["--env", "CartPole-v1", "--env-kwargs", '{"sutton_barto_reward": true}']
        + ["--steps", "0", "100", "--seed", "7"]
    )
    assert args.func(args) == 0
    run = Run.load(tmp_path / "run")
    assert run.steps == [0, 100] and run.config["seed"] == 7
    assert run.env_kwargs == {"sutton_barto_reward": True} and run.config["wrappers"] == []
    assert "imported 2 SB3 checkpoint(s)" in capsys.readouterr().out


def test_env_is_required():
    parser = argparse.ArgumentParser()
    cli_module().configure(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "a.zip"])
