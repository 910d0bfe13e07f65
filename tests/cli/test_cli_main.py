"""The ``devrl`` dispatcher: every command listed, only the chosen command's module imported."""

import json
import subprocess
import sys
import textwrap

import pytest

from devrl.cli import COMMANDS, main


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
            try:
                main({argv!r})
            except SystemExit as exc:
                assert exc.code == 0, exc.code
        """


def test_help_imports_no_command_module():
    modules = _imported_after(_help(["--help"]))
    for heavy in ("torch", "pandas", "scipy", "matplotlib", "devinterp"):
        assert heavy not in modules, f"`devrl --help` imported {heavy}"
    assert not [m for m in modules if m.startswith(("devrl.cli.", "devrl.agents", "devrl.track"))]


def test_command_help_imports_only_that_command():
    modules = _imported_after(_help(["fit", "--help"]))
    assert "devrl.cli.fit" in modules
    assert not {"torch", "pandas", "devrl.forms"} & modules  # fit needs them only to run
    others = {c.module for c in COMMANDS} - {"devrl.cli.fit"}
    assert not others & modules


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    for cmd in COMMANDS:
        assert cmd.name in text and cmd.help in text


@pytest.mark.parametrize("cmd", [c.name for c in COMMANDS])
def test_each_command_builds_its_parser(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    assert f"usage: devrl {cmd}" in capsys.readouterr().out


def test_no_command_prints_help_and_unknown_command_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_python_dash_m_runs_the_command():
    out = subprocess.run(
        [sys.executable, "-m", "devrl.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("usage: devrl")
