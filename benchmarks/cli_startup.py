"""CLI startup: wall and CPU time of ``devrl --help`` and ``devrl COMMAND --help`` (target < 1 s).

Each command line runs ``--repeats`` times in a fresh interpreter (``python -m devrl.cli``,
warm: the first run fills the OS file cache and is discarded); the minimum wall and
CPU (user + system) seconds are reported, with ``python -c pass`` as the floor. CPU
time is the steadier number on a shared machine. A command whose parser imports torch
shows up here as a second or more; ``tests/cli/test_cli_main.py`` checks the imports.

    python benchmarks/cli_startup.py [--repeats 5]

Measured (2 shared cores, load ~16): every command 0.14-0.16 s CPU, 0.5-0.6 s wall; before
``devrl.agents`` imported lazily, ``devrl train --help`` took 1.71 s CPU, 6.5 s wall.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

COMMANDS = ["", "train", "eval", "track", "fit", "import-sb3", "paper"]


def _one(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command line")
    args = parser.parse_args()
    lines = [
        (f"devrl {c} --help".replace("  ", " "), ["-m", "devrl.cli", *c.split(), "--help"])
        for c in COMMANDS
    ] + [("python -c pass", ["-c", "pass"])]
    for label, rest in lines:
        _one([sys.executable, *rest])  # warm-up
        runs = [_one([sys.executable, *rest]) for _ in range(args.repeats)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"{label:<28} wall {wall:5.2f} s   cpu {cpu:5.2f} s")


if __name__ == "__main__":
    main()
