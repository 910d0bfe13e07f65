"""The ``devrl`` dispatcher: every command listed, only the chosen command's module imported,
help rendered as plain text with preset values, one mapping of errors to exit codes."""

import json
import subprocess
import sys
import textwrap

import pytest

from devrl.cli import COMMANDS, UsageError, error_message, main, plain_text

HEAVY = ("torch", "pandas", "scipy", "matplotlib", "devinterp", "sklearn", "statsmodels")


def _imported_after(code: str) -> set[str]:
    """Module names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _help(argv: list[str]) -> str:
    return f"""
        import contextlib, io
        from devrl.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main({argv!r}) == 0
        """


def test_help_imports_no_command_module():
    modules = _imported_after(_help(["--help"]))
    for heavy in HEAVY:
        assert heavy not in modules, f"`devrl --help` imported {heavy}"
    assert not [m for m in modules if m.startswith(("devrl.cli.", "devrl.agents", "devrl.track"))]


@pytest.mark.parametrize("cmd", [c.name for c in COMMANDS])
def test_command_help_imports_only_that_command_and_nothing_heavy(cmd):
    """``devrl train --help`` builds its flags from PPOConfig without importing torch."""
    module = next(c.module for c in COMMANDS if c.name == cmd)
    modules = _imported_after(_help([cmd, "--help"]))
    assert module in modules
    assert not set(HEAVY) & modules, f"`devrl {cmd} --help` imported {set(HEAVY) & modules}"
    others = {c.module for c in COMMANDS} - {module}
    assert not others & modules


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    for cmd in COMMANDS:
        assert cmd.name in text and cmd.help in text


@pytest.mark.parametrize("cmd", [c.name for c in COMMANDS])
def test_each_command_builds_its_parser_and_plain_description(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: devrl {cmd}" in out
    assert "``" not in out and "::" not in out, "reST left in the description"


def test_train_help_shows_the_preset_values(capsys):
    from devrl.agents.config import PPOConfig
    from devrl.agents.presets import PRESETS

    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    quick = PRESETS["quick"]["total_timesteps"]
    assert quick == 2_000_000 and PPOConfig().total_timesteps == 1_000_000
    assert f"(default: 1000000; --preset quick: {quick})" in text
    assert "(default: 0.01; --preset quick: 0.01)" in text  # ent_coef: set, and equal


def test_plain_text_strips_rest_markup():
    doc = "Run ``devrl track RUN`` on :func:`~devrl.track.track` or :mod:`devrl.llc`.\n\nEx::\n"
    assert plain_text(doc) == "Run devrl track RUN on track or devrl.llc.\n\nEx:\n"


def test_no_command_prints_help_and_unknown_command_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err
    assert main(["nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_typo_prints_the_subcommands_usage_and_abbreviations_are_refused(capsys):
    assert main(["fit", "t.csv", "--quary", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: devrl fit") and "unrecognized arguments: --quary x" in err
    assert main(["fit", "t.csv", "--qu", "x"]) == 2  # a prefix of --query
    assert "unrecognized arguments: --qu x" in capsys.readouterr().err
    assert main(["paper", "--fig"]) == 2  # a prefix of --figures-only
    assert capsys.readouterr().err.startswith("usage: devrl paper")


def test_error_message_is_one_line_naming_the_file():
    err = FileNotFoundError(2, "No such file or directory", "runs/x/config.json")
    assert error_message(err) == "runs/x/config.json: No such file or directory"
    assert error_message(ValueError("lr must be\n  positive")) == "lr must be positive"
    assert error_message(KeyError("column 'x' not found")) == "column 'x' not found"
    assert error_message(KeyError("update")) == "missing key or column 'update'"
    assert error_message(UsageError("--out is required")) == "--out is required"
    bug = error_message(ZeroDivisionError("division by zero"))
    assert bug.startswith("internal error (ZeroDivisionError: division by zero)")
    assert len(error_message(ValueError("x" * 5000))) == 600


def test_chain_diverged_error_gets_a_hint():
    from devrl.llc.chains import ChainDivergedError

    text = error_message(ChainDivergedError("SGLD chain 0 diverged at step 3"))
    assert text.startswith("SGLD chain 0 diverged at step 3 (")
    assert "--set MEASURE.lr=" in text


def test_runtime_error_exits_1_and_traceback_on_request(tmp_path, capsys, monkeypatch):
    missing = str(tmp_path / "none.csv")
    assert main(["fit", missing]) == 1
    assert capsys.readouterr().err == f"devrl fit: error: no such file: {missing}\n"
    monkeypatch.setenv("DEVRL_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError):
        main(["fit", missing])


def test_python_dash_m_runs_the_command():
    out = subprocess.run(
        [sys.executable, "-m", "devrl.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("usage: devrl")
