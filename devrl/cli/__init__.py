"""The ``devrl`` command: one subcommand per station of the pipeline.

Each subcommand is a module ``devrl.cli.<name>`` whose docstring is the command's
description and which defines ``configure(parser)`` (add the arguments) and
``run(args) -> int`` (do it, print, return the exit code). Modules parse and print
only; what a command computes lives in the library, where scripts call it too.

:data:`COMMANDS` lists the commands statically, so ``devrl --help`` imports no
command module and ``devrl CMD ...`` imports only ``CMD``'s: parsing arguments
should not cost the imports (torch, pandas, ...) of every other command. Adding a
command means adding its module and one row here.

Errors are handled here, once, for every command (:func:`main`): the command line
never ends in a traceback.

- exit 2, a usage error: the command line is wrong by itself (an unknown or
  abbreviated flag, a bad value, a missing argument). argparse reports these while
  parsing; a command reports the ones it finds later by raising :class:`UsageError`.
  Both print the subcommand's usage and one line ``devrl CMD: error: ...``.
- exit 1, a runtime error: the command line is well formed but doing it failed (a
  missing or unreadable file, a run directory that holds another config, a diverged
  chain). The library raises ``ValueError``, ``TypeError``, ``OSError`` and the like
  with messages that name the argument or file; :func:`main` prints them as one line.
- An exception of any other type is a bug in devrl: it is reported as one line too,
  with its type; ``DEVRL_TRACEBACK=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

EXIT_FAILURE = 1
"""Exit code of a runtime error."""
EXIT_USAGE = 2
"""Exit code of a usage error (argparse's)."""


class UsageError(Exception):
    """A command line that is wrong by itself, found after parsing: exit 2 with usage."""


class Command(NamedTuple):
    """One ``devrl`` subcommand: its name, the module that implements it, its help line."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "train", "devrl.cli.train", "train a maze agent with PPO (dense checkpoints, resumable)"
    ),
    Command(
        "eval",
        "devrl.cli.eval",
        "success and corner rates of a checkpoint, in distribution and cheese anywhere",
    ),
    Command(
        "track",
        "devrl.cli.track",
        "evaluate measures (LLC, success, regret, ...) at every checkpoint of a run",
    ),
    Command(
        "fit", "devrl.cli.fit", "fit functional forms to a curve and print the comparison table"
    ),
    Command(
        "import-sb3",
        "devrl.cli.import_sb3",
        "import Stable-Baselines3 PPO checkpoints (.zip) as a devrl run",
    ),
    Command("sweep", "devrl.cli.sweep", "train a grid of runs x seeds, locally or on Ray"),
    Command(
        "paper",
        "devrl.cli.paper",
        "rerun experiments and regenerate paper/ (figures, tables, main.tex)",
    ),
)

# Library errors: their message is the whole story (it names the argument or file).
_RUNTIME_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # FileNotFoundError, IsADirectoryError, PermissionError, ...
    ValueError,  # also json, pandas and pyarrow parse errors, RunConfigMismatch, FitError
    TypeError,
    LookupError,
    RuntimeError,  # ChainDivergedError, torch's errors
    ImportError,  # an optional dependency (stable-baselines3, a wrapper's package)
)
# Extra advice for an error type, by class name (importing it would cost torch at startup).
_HINTS = {
    "ChainDivergedError": "in devrl track, lower the measure's step size with "
    "--set MEASURE.lr=VALUE",
}
_MAX_MESSAGE = 600


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first positional argument (the top level has
    no options taking values), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def plain_text(doc: str) -> str:
    """A module docstring's reST as plain text for ``--help``: no ``literal`` quotes or roles.

    ``x`` and `x` lose their quotes, :role:`~a.b.name` becomes ``name`` (``a.b.name``
    without the tilde) and a paragraph's closing ``::`` becomes ``:``.
    """
    import re

    text = re.sub(r":[a-z]+:`~[\w.]*?(\w+)`", r"\1", doc)
    text = re.sub(r":[a-z]+:`([^`]+)`", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return re.sub(r"(?<=\S)::$", ":", text, flags=re.MULTILINE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``command``'s module is imported to add its arguments.

    The other commands get an empty parser carrying their help line, enough for
    ``devrl --help`` and for argparse to name the valid choices. Flags must be spelled
    out: prefixes (``--tot`` for ``--total-timesteps``) are refused.
    """
    parser = argparse.ArgumentParser(
        prog="devrl",
        description="Developmental interpretability of values in reinforcement learning.",
        epilog="Run `devrl COMMAND --help` for a command's flags.",
        allow_abbrev=False,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:
        if cmd.name != command:
            subparsers.add_parser(cmd.name, help=cmd.help, allow_abbrev=False)
            continue
        module = importlib.import_module(cmd.module)
        sub = subparsers.add_parser(
            cmd.name,
            help=cmd.help,
            description=plain_text(module.__doc__ or cmd.help),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        module.configure(sub)
        sub.set_defaults(_run=module.run, _parser=sub)
    return parser


def error_message(exc: BaseException) -> str:
    """One line describing ``exc``: its message, the file of an ``OSError``, a hint."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
        if exc.filename2 is not None:
            text += f" (and {exc.filename2})"
    elif isinstance(exc, KeyError) and len(exc.args) == 1:  # str(KeyError) is a repr
        key = exc.args[0]
        text = key if isinstance(key, str) and " " in key else f"missing key or column {key!r}"
    else:
        text = str(exc)
    text = " ".join(text.split()) or type(exc).__name__
    if not isinstance(exc, _RUNTIME_ERRORS + (UsageError,)):
        text = (
            f"internal error ({type(exc).__name__}: {text}); please report it "
            "(DEVRL_TRACEBACK=1 shows the traceback)"
        )
    hint = next((_HINTS[c.__name__] for c in type(exc).__mro__ if c.__name__ in _HINTS), None)
    if hint:
        text += f" ({hint})"
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``devrl`` console script: run a command, return its exit code.

    Never raises (``DEVRL_TRACEBACK=1`` re-raises errors, for debugging): ``--help`` returns
    0, usage errors 2 and runtime errors 1, each after one line on stderr.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(_chosen(argv))
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    sub: argparse.ArgumentParser | None = getattr(args, "_parser", None)
    if sub is None:
        if extra:
            return _usage_error(parser, "devrl", f"unrecognized arguments: {' '.join(extra)}")
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    prog = f"devrl {args.command}"
    _one_line_warnings(prog)
    if extra:  # a typo'd flag: the subcommand's usage, not the top level's
        return _usage_error(sub, prog, f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        return _usage_error(sub, prog, error_message(exc))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("DEVRL_TRACEBACK"):
            raise
        print(f"{prog}: error: {error_message(exc)}", file=sys.stderr)
        return EXIT_FAILURE


def _one_line_warnings(prog: str) -> None:
    """Print warnings as ``devrl CMD: warning: ...`` on one line (no file:line, no source).

    Why: a user of the command reads the warning, not the library line that raised it.
    """

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text} [{category.__name__}]", file=file or sys.stderr)

    warnings.showwarning = show


def _usage_error(parser: argparse.ArgumentParser, prog: str, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
