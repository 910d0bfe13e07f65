"""``devrl train``: flags from PPOConfig, resume from the recorded config, refusals."""

from devrl.cli import main
from devrl.runs import Run


def test_cli_train_resume_and_refusal(tmp_path, capsys):
    flags = [
        "--size",
        "5",
        "--num-envs",
        "4",
        "--num-steps",
        "8",
        "--total-timesteps",
        "96",
        "--num-minibatches",
        "2",
        "--channels",
        "2",
        "--hidden",
        "8",
        "--checkpoints",
        "3",
    ]
    run_dir = str(tmp_path / "cli")
    assert main(["train", "--run-dir", run_dir, *flags, "--reward", "corner"]) == 0
    run = Run.load(run_dir)
    assert run.config["reward"] == {"type": "corner"} and run.config["num_envs"] == 4
    # resume with no flags reads the recorded config; a finished run is left as is
    assert main(["train", "--run-dir", run_dir, "--resume"]) == 0
    # a different config into the same directory is refused, naming the field
    assert main(["train", "--run-dir", run_dir, *flags, "--resume", "--lr", "0.1"]) == 1
    assert "lr: 0.001 -> 0.1" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(tmp_path / "x"), "--size", "8"]) == 2
    assert "size must be odd" in capsys.readouterr().err
