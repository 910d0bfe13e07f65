"""Every ``devrl`` command run with bad flags and files: a clear one-line error, never a traceback.

Each row of :data:`CASES` is a command line (``{name}`` fills in a path from the
``paths`` fixture), the exit code it must end with (2: the command line is wrong by
itself, with the subcommand's usage; 1: doing it failed) and text the error line must
contain (the flag or file at fault). A case passes when ``main`` returns that code
without raising, stderr holds no traceback, exactly one ``devrl ...: error:`` line
naming the culprit, and no track left a cache folder without a result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devrl.cli import main

TINY = "--size 5 --num-envs 4 --num-steps 8 --total-timesteps 96 --num-minibatches 2 "
TINY += "--channels 2 --hidden 8 --checkpoints 3"
LLC = "--set llc-value.samples=64 --set llc-value.draws=4 --set llc-value.burnin=2 "
LLC += "--set llc-value.chains=2 --set llc-value.batch_size=16"

# (id, command line, exit code, text the error line names). A command line is split on
# spaces after filling in the paths; an argument that is '' stays an empty string.
CASES: list[tuple[str, str, int, str]] = [
    # --- top level
    ("top-unknown-command", "nope", 2, "invalid choice: 'nope'"),
    ("top-unknown-flag", "--bogus", 2, "--bogus"),
    ("top-abbreviated-help", "--he", 2, "--he"),
    # --- train
    ("train-abbreviated-flag", f"train --run-dir {{tmp}}/t {TINY} --tot 512", 2, "--tot"),
    ("train-typo-flag", f"train --run-dir {{tmp}}/t {TINY} --learning-rate 0.1", 2, "--learn"),
    ("train-cuda-on-cpu-build", f"train --run-dir {{tmp}}/t {TINY} --device cuda", 1, "cuda"),
    ("train-cuda-abc", f"train --run-dir {{tmp}}/t {TINY} --device cuda:abc", 2, "cuda:abc"),
    ("train-device-gpu", f"train --run-dir {{tmp}}/t {TINY} --device gpu", 2, "'gpu'"),
    ("train-run-dir-is-file", f"train --run-dir {{file}} {TINY}", 1, "{file} is a file"),
    ("train-run-dir-under-file", f"train --run-dir {{file}}/r {TINY}", 1, "{file}"),
    ("train-run-dir-empty", f"train --run-dir '' {TINY}", 2, "--run-dir"),
    ("train-run-dir-missing", f"train {TINY}", 2, "--run-dir"),
    ("train-resume-bad-json", "train --run-dir {badjson} --resume", 1, "{badjson}/config.json"),
    ("train-resume-foreign-config", "train --run-dir {foreign} --resume", 1, "config.json"),
    ("train-resume-parent-gone", "train --run-dir {orphan} --resume", 1, "{orphan}"),
    ("train-other-run-in-dir", f"train --run-dir {{run}} {TINY}", 1, "{run}"),
    (
        "train-init-from-missing",
        f"train --run-dir {{tmp}}/t {TINY} --init-from {{tmp}}/no",
        1,
        "no",
    ),
    ("train-init-from-file", f"train --run-dir {{tmp}}/t {TINY} --init-from {{file}}", 1, "{file}"),
    ("train-preset-unknown", f"train --run-dir {{tmp}}/t {TINY} --preset nope", 2, "--preset"),
    ("train-lr-not-number", f"train --run-dir {{tmp}}/t {TINY} --lr abc", 2, "--lr"),
    ("train-size-even", f"train --run-dir {{tmp}}/t {TINY} --size 8", 2, "size"),
    ("train-reward-unknown", f"train --run-dir {{tmp}}/t {TINY} --reward bogus", 2, "bogus"),
    ("train-corner-not-int", f"train --run-dir {{tmp}}/t {TINY} --corner abc", 2, "--corner"),
    ("train-minibatches", f"train --run-dir {{tmp}}/t {TINY} --num-minibatches 3", 2, "num_mini"),
    ("train-checkpoints-1", f"train --run-dir {{tmp}}/t {TINY} --checkpoints 1", 2, "checkpoints"),
    ("train-max-steps-0", f"train --run-dir {{tmp}}/t {TINY} --max-steps 0", 2, "max_steps"),
    ("train-steps-below-batch", f"train --run-dir {{tmp}}/t {TINY} --total-timesteps 10", 2, "tot"),
    ("train-seed-negative", f"train --run-dir {{tmp}}/t {TINY} --seed -1", 2, "seed"),
    ("train-bool-flag-value", f"train --run-dir {{tmp}}/t {TINY} --anneal-lr maybe", 2, "maybe"),
    # --- eval
    ("eval-run-missing", "eval {tmp}/nothere", 1, "{tmp}/nothere"),
    ("eval-run-is-file", "eval {file}", 1, "{file} is a file"),
    ("eval-run-empty", "eval ''", 2, "RUN"),
    ("eval-run-not-given", "eval", 2, "RUN"),
    ("eval-bad-json", "eval {badjson}", 1, "{badjson}/config.json"),
    ("eval-no-checkpoints", "eval {empty_run}", 1, "{empty_run}"),
    ("eval-corrupt-checkpoint", "eval {corrupt} --episodes 2", 1, "{corrupt}"),
    ("eval-out-missing-dir", "eval {run} --episodes 2 --out {tmp}/nodir/x.csv", 1, "nodir"),
    ("eval-out-is-dir", "eval {run} --episodes 2 --out {dir}", 1, "{dir} is a directory"),
    ("eval-step-missing", "eval {run} --episodes 2 --step 7", 1, "step 7"),
    ("eval-abbreviated-flag", "eval {run} --epi 3", 2, "--epi"),
    ("eval-episodes-0", "eval {run} --episodes 0", 2, "--episodes"),
    ("eval-episodes-text", "eval {run} --episodes abc", 2, "--episodes"),
    ("eval-corner-text", "eval {run} --corner abc", 2, "--corner"),
    ("eval-step-text", "eval {run} --step abc", 2, "--step"),
    ("eval-size-mismatch", "eval {run} --episodes 2 --size 7", 1, "size"),
    ("eval-size-even", "eval {run} --episodes 2 --size 4", 1, "size"),
    # --- track
    ("track-run-missing", "track {tmp}/nothere -m success", 1, "{tmp}/nothere"),
    ("track-run-is-file", "track {file} -m success", 1, "{file} is a file"),
    ("track-bad-json", "track {badjson} -m success", 1, "{badjson}/config.json"),
    ("track-no-checkpoints", "track {empty_run} -m success", 1, "{empty_run}"),
    ("track-no-measure", "track {run}", 2, "--measure"),
    ("track-no-run", "track -m success", 2, "RUN"),
    ("track-measure-unknown", "track {run} -m nope", 2, "nope"),
    ("track-measure-twice", "track {run} -m success -m success", 2, "success"),
    (
        "track-greedy-maybe",
        "track {run} -m success --steps 0 --set success.greedy=maybe",
        2,
        "greedy",
    ),
    ("track-greedy-1", "track {run} -m success --steps 0 --set success.greedy=1", 2, "greedy"),
    ("track-episodes-text", "track {run} -m success --set success.episodes=abc", 2, "episodes"),
    ("track-episodes-float", "track {run} -m success --set success.episodes=2.5", 2, "episodes"),
    (
        "track-episodes-0",
        "track {run} -m success --steps 0 --set success.episodes=0",
        1,
        "episodes",
    ),
    ("track-param-unknown", "track {run} -m success --set success.nope=1", 2, "nope"),
    ("track-set-malformed", "track {run} -m success --set episodes", 2, "--set"),
    ("track-set-other-measure", "track {run} -m success --set return.episodes=4", 2, "--set"),
    (
        "track-llc-sampler",
        f"track {{run}} -m llc-value --steps 0 {LLC} --set llc-value.sampler=x",
        1,
        "sampler",
    ),
    (
        "track-llc-chains-0",
        f"track {{run}} -m llc-value --steps 0 {LLC} --set llc-value.chains=0",
        1,
        "chains",
    ),
    (
        "track-llc-lr-text",
        f"track {{run}} -m llc-value --steps 0 {LLC} --set llc-value.lr=nan",
        2,
        "lr",
    ),
    (
        "track-llc-state-policy",
        f"track {{run}} -m llc-value --steps 0 {LLC} --set llc-value.states=policy --set llc-value.state_policy=nope",
        1,
        "nope",
    ),
    (
        "track-chain-diverged",
        f"track {{run}} -m llc-value --steps 0 {LLC} --set llc-value.lr=1e6",
        1,
        "diverged",
    ),
    ("track-steps-missing", "track {run} -m success --steps 7", 1, "7"),
    ("track-steps-text", "track {run} -m success --steps abc", 2, "--steps"),
    ("track-seed-text", "track {run} -m success --seed abc", 2, "--seed"),
    ("track-typo-flag", "track {run} -m success --stps 0", 2, "--stps"),
    (
        "track-out-missing-dir",
        "track {run} -m success --steps 0 --set success.episodes=2 --out {tmp}/nodir/t.csv",
        1,
        "nodir",
    ),
    ("track-out-is-dir", "track {run} -m success --out {dir}", 1, "{dir} is a directory"),
    # --- fit
    ("fit-missing-file", "fit {tmp}/missing.csv", 1, "{tmp}/missing.csv"),
    ("fit-empty-file", "fit {empty}", 1, "{empty} is empty"),
    ("fit-binary-file", "fit {binary}", 1, "{binary}"),
    ("fit-fake-parquet", "fit {fake_parquet}", 1, "{fake_parquet}"),
    ("fit-directory", "fit {dir}", 1, "{dir} is a directory"),
    ("fit-query-syntax", "fit {csv} --query value>>", 2, "--query"),
    ("fit-query-unknown-name", "fit {csv} --query nope>1", 1, "--query"),
    ("fit-query-selects-nothing", "fit {csv} --query value>100", 1, "no usable rows"),
    ("fit-no-usable-row", "fit {nan_csv}", 1, "no usable rows"),
    ("fit-header-only", "fit {header_only}", 1, "no usable rows"),
    ("fit-text-column", "fit {csv} --y name", 1, "no usable rows"),
    ("fit-column-missing", "fit {csv} --y loss", 1, "'loss'"),
    ("fit-sigma-missing", "fit {csv} --sigma se", 1, "'se'"),
    ("fit-form-unknown", "fit {csv} --forms nope", 2, "--forms"),
    ("fit-too-few-points", "fit {csv} --forms piecewise3", 1, "no form could be fit"),
    ("fit-abbreviated-flag", "fit {csv} --qu value>1", 2, "--qu"),
    ("fit-by-unknown", "fit {csv} --by foo", 2, "--by"),
    ("fit-no-table", "fit", 2, "table"),
    # --- import-sb3
    ("sb3-zip-missing", "import-sb3 {tmp}/r {tmp}/nothere.zip --env CartPole-v1", 1, "nothere.zip"),
    ("sb3-zip-not-zip", "import-sb3 {tmp}/r {file} --env CartPole-v1", 1, "{file}"),
    (
        "sb3-env-kwargs-json",
        "import-sb3 {tmp}/r {file} --env CartPole-v1 --env-kwargs {{bad",
        2,
        "--env-kwargs",
    ),
    (
        "sb3-env-kwargs-list",
        "import-sb3 {tmp}/r {file} --env CartPole-v1 --env-kwargs [1]",
        2,
        "--env-kwargs",
    ),
    ("sb3-env-missing", "import-sb3 {tmp}/r {file}", 2, "--env"),
    ("sb3-run-dir-empty", "import-sb3 '' {file} --env CartPole-v1", 2, "RUN_DIR"),
    ("sb3-steps-text", "import-sb3 {tmp}/r {file} --env CartPole-v1 --steps abc", 2, "--steps"),
    ("sb3-env-unknown", "import-sb3 {tmp}/r {zip} --env NoSuch-v0", 1, "NoSuch-v0"),
    (
        "sb3-env-kwargs-unknown",
        'import-sb3 {tmp}/r {zip} --env CartPole-v1 --env-kwargs {{"bogus":1}}',
        1,
        "bogus",
    ),
    (
        "sb3-wrapper-no-colon",
        "import-sb3 {tmp}/r {zip} --env CartPole-v1 --wrapper nocolon",
        1,
        "nocolon",
    ),
    (
        "sb3-wrapper-no-module",
        "import-sb3 {tmp}/r {zip} --env CartPole-v1 --wrapper nomod:Cls",
        1,
        "nomod",
    ),
    ("sb3-steps-count", "import-sb3 {tmp}/r {zip} --env CartPole-v1 --steps 1 2", 1, "steps"),
    ("sb3-run-dir-is-file", "import-sb3 {file} {zip} --env CartPole-v1", 1, "{file} is a file"),
    ("sb3-actions-mismatch", "import-sb3 {tmp}/r {zip} --env MountainCar-v0", 1, "actions"),
    # --- paper
    ("paper-only-unknown", "paper --only nope --figures-only", 2, "--only"),
    ("paper-typo-flag", "paper --quik", 2, "--quik"),
    ("paper-abbreviated-flag", "paper --qu", 2, "--qu"),
    ("paper-seed-text", "paper --seed abc", 2, "--seed"),
]


@pytest.fixture(scope="module")
def sb3_zip(tmp_path_factory) -> str:
    """A real (untrained) Stable-Baselines3 PPO zip on CartPole-v1: 2 actions."""
    sb3 = pytest.importorskip("stable_baselines3")
    path = tmp_path_factory.mktemp("sb3") / "cartpole.zip"
    sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1).save(path)
    return str(path)


@pytest.fixture
def paths(run_dir, tmp_path, request) -> dict[str, str]:
    """Bad and good files for the table, next to the hand-made run ``run``."""
    import json
    import shutil

    def write(name: str, content: bytes | str) -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    (tmp_path / "adir").mkdir()
    badjson = tmp_path / "badjson"
    badjson.mkdir()
    (badjson / "config.json").write_text("{bad")
    foreign = tmp_path / "foreign"  # a run of another program: keys PPOConfig does not know
    foreign.mkdir()
    (foreign / "config.json").write_text('{"env_id": "CartPole-v1", "wrappers": []}')
    empty_run = tmp_path / "empty_run"
    empty_run.mkdir()
    shutil.copy(run_dir / "config.json", empty_run / "config.json")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(run_dir, corrupt)
    for ckpt in (corrupt / "checkpoints").iterdir():
        ckpt.write_bytes(b"not a checkpoint")
    orphan = tmp_path / "orphan"  # a fine-tuned run whose parent run was deleted
    orphan.mkdir()
    config = json.loads((run_dir / "config.json").read_text())
    config["init_from"] = {"run": str(tmp_path / "gone"), "step": 0}
    (orphan / "config.json").write_text(json.dumps(config))
    line = request.node.callspec.params.get("line", "")
    zip_path = request.getfixturevalue("sb3_zip") if "{zip}" in line else ""  # only if needed
    rows = "".join(f"{t},{t / 10},x\n" for t in range(1, 7))
    return {
        "tmp": str(tmp_path),
        "run": str(run_dir),
        "dir": str(tmp_path / "adir"),
        "badjson": str(badjson),
        "foreign": str(foreign),
        "empty_run": str(empty_run),
        "corrupt": str(corrupt),
        "file": write("afile.zip", "hello\n"),
        "empty": write("empty.csv", ""),
        "binary": write("binary.csv", bytes(range(256)) * 4),
        "fake_parquet": write("fake.parquet", "step,value\n1,2\n"),
        "csv": write("good.csv", "step,value,name\n" + rows),
        "nan_csv": write("nan.csv", "step,value\n1,\n2,\n3,\n"),
        "header_only": write("header.csv", "step,value\n"),
        "orphan": str(orphan),
        "zip": zip_path,
    }


def _argv(line: str, paths: dict[str, str]) -> list[str]:
    return ["" if a == "''" else a for a in line.format(**paths).split(" ")]


def _run(argv: list[str], capsys) -> tuple[int | str, str]:
    """``main(argv)``'s exit code and stderr; an exception escaping main is a traceback."""
    try:
        code = main(argv)
    except SystemExit as exc:  # main must return, not exit; kept so old code can be measured
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 (any escaping exception is the failure measured)
        return "traceback", f"Traceback: {type(exc).__name__}: {exc}"
    return code, capsys.readouterr().err


def _no_empty_cache_folders(run: str) -> list[str]:
    tracks = Path(run) / "tracks"
    folders = [f for f in tracks.iterdir() if f.is_dir()] if tracks.is_dir() else []
    return [f.name for f in folders if not any(f.glob("step_*"))]


@pytest.mark.parametrize(
    ("line", "code", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_gives_one_clear_line(line, code, names, paths, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only build
    monkeypatch.chdir(paths["tmp"])  # nothing may be written to the current directory
    argv = _argv(line, paths)
    before = sorted(os.listdir(paths["tmp"]))
    got, err = _run(argv, capsys)
    assert "Traceback" not in err, err
    assert got == code, f"exit {got}, expected {code}; stderr: {err}"
    errors = [ln for ln in err.splitlines() if ln.startswith("devrl") and ": error: " in ln]
    assert len(errors) == 1, f"expected one error line, got: {err}"
    assert names.format(**paths) in errors[0], errors[0]
    if code == 2 and argv and argv[0] != "nope" and not argv[0].startswith("-"):
        assert f"usage: devrl {argv[0]}" in err, "a usage error shows the subcommand's usage"
    assert not _no_empty_cache_folders(paths["run"]), "a rejected measure left a cache folder"
    assert sorted(os.listdir(paths["tmp"])) == before, "a failed command left files behind"


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "{binary}"],
        ["eval", "{file}"],
        ["train", "--run-dir", "{tmp}/t", "--device", "cuda:abc"],
    ],
)
def test_console_prints_no_traceback(argv, paths):
    """End to end through ``python -m devrl.cli``: stderr is usage and one line, exit non-zero."""
    import devrl

    root = str(Path(devrl.__file__).resolve().parents[1])  # this checkout, from any cwd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "devrl.cli", *[a.format(**paths) for a in argv]],
        env=env,
        capture_output=True,
        text=True,
        cwd=paths["tmp"],
        check=False,
    )
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"devrl {argv[0]}: error: ")
