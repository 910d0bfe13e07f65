"""Skip paper sections whose inputs have not changed since their last run.

A section's data are a function of its inputs: the experiment script, the devrl source
files it imports (followed transitively, lazy imports inside functions included), its
arguments (mode, seed), the versions of the numerical libraries, and the data of the
sections it reads. :func:`section_key` hashes all of them. After a successful run the
builder writes a stamp next to the section's data (``.section_cache.json``, git-ignored)
holding that key and a digest of the data the run left; a later run whose key and data
digest both match only redraws figures and tables (``--figures-only``).

The stamp is local: a fresh clone has none, so its first ``devrl paper`` recomputes
every section, and editing, replacing or deleting the data invalidates it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from devrl._io import atomic_write_json

STAMP = ".section_cache.json"
"""File name of a section's stamp, in the folder of its mode's data."""

#: Run caches that are not data: checkpoints and track caches (git-ignored, large).
_NOT_DATA = {"checkpoints", "tracks", "__pycache__"}
#: The builder itself: scripts import it through ``devrl.paper`` but it computes no data
#: (it runs the scripts and decides what to rerun), so editing it reruns nothing.
_DRIVER = {"devrl/paper/build.py", "devrl/paper/cache.py", "devrl/paper/timings.py"}
#: Libraries whose numbers can change a result bit for bit.
_LIBRARIES = ("torch", "numpy", "scipy", "devinterp", "gymnasium", "pandas", "statsmodels")


def mode_data_dir(section_dir: Path, quick: bool) -> Path:
    """Folder of a section's data in one mode: ``<section>/quick`` or ``<section>`` itself."""
    return section_dir / "quick" if quick else section_dir


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def source_files(root: Path, script: Path) -> list[Path]:
    """The script and every devrl source file it imports, transitively, sorted (with the
    helper modules of ``experiments/`` it imports as ``experiments.<name>``).

    Args:
        root: The repository root (holding ``devrl/``).
        script: The experiment script.
    """
    seen: dict[str, Path] = {}
    todo = [script]
    files = {script.resolve()}
    while todo:
        path = todo.pop()
        for module in _imported_modules_from(root, path):
            if module in seen:
                continue
            found = _module_file(root, module)
            if found is None:  # a name imported from a module, not a module itself
                continue
            seen[module] = found
            if found.resolve() not in files:
                files.add(found.resolve())
                todo.append(found)
    return sorted(files)


def _imported_modules_from(root: Path, path: Path) -> set[str]:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:  # the script may live anywhere
        rel = Path(path.name)
    names: set[str] = set()
    package = rel.parent.parts
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = package[: len(package) - node.level + 1]
                module = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            # ``from devrl.paper import tms`` imports the module devrl.paper.tms
            names |= {f"{module}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        if name == "devrl" or name.startswith("devrl."):
            parts = name.split(".")
            # importing a.b.c runs a/__init__.py and a/b/__init__.py too
            found |= {".".join(parts[: i + 1]) for i in range(len(parts))}
        elif name.startswith("experiments."):  # a script's helper module (shards_report)
            found.add(name)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_files(folder: Path, quick: bool) -> list[Path]:
    """Every data file of one mode under ``folder``, sorted; run caches, stamps, locks, other
    hidden files and whatever git ignores left out.

    The full mode's folder holds the quick mode's as ``quick/``; that subtree is skipped.
    """
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        # hidden files are bookkeeping, not data: the run lock (``.lock``, created by the
        # first writer, git-ignored) would otherwise make a recomputation look changed
        if not path.is_file() or path.name.startswith(".") or path.suffix == ".tmp":
            continue
        if _NOT_DATA & set(rel.parts[:-1]) or (not quick and rel.parts[0] == "quick"):
            continue
        found.append(path)
    ignored = _git_ignored(folder, found)
    return [path for path in found if path.resolve() not in ignored]


def _git_ignored(folder: Path, paths: list[Path]) -> set[Path]:
    """The paths git ignores (run directories a section keeps beside its tables, such as
    goal_switch's ``runs/``): they are not committed, so a fresh clone lacks them and they
    are not data. Empty outside a git work tree or without git."""
    if not paths:
        return set()
    try:
        done = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"],
            cwd=folder,
            input="\0".join(str(p.resolve()) for p in paths) + "\0",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if done.returncode not in (0, 1):  # 1: nothing ignored; 128: not a git work tree
        return set()
    return {Path(p) for p in done.stdout.split("\0") if p}


def data_digest(folder: Path, quick: bool) -> str:
    """Hash of every data file of one mode (:func:`data_files`: names and bytes).

    Returns ``""`` when the folder is missing or empty.
    """
    digest = hashlib.sha256()
    files = data_files(folder, quick)
    for path in files:
        rel = path.relative_to(folder).as_posix()
        digest.update(rel.encode() + b"\0" + _sha256(path).encode() + b"\n")
    return digest.hexdigest() if files else ""


def _versions(names: Iterable[str]) -> dict[str, str | None]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def section_key(
    root: Path, script: Path, arguments: dict[str, Any], reads: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything a section's data depend on, with its hash under ``"key"``.

    Args:
        root: The repository root.
        script: The experiment script.
        arguments: The arguments the section runs with (mode, seed).
        reads: Data digests (:func:`data_digest`) of the sections it reads, by name.

    Returns:
        ``{"key", "script", "sources", "arguments", "libraries", "reads"}``; ``sources``
        maps each source file (relative to ``root``) to its sha256.
    """
    sources = {}
    for path in source_files(root, script):
        try:
            name = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            name = str(path)
        if name not in _DRIVER:
            sources[name] = _sha256(path)
    inputs = {
        "script": Path(script).name,
        "sources": sources,
        "arguments": dict(arguments),
        "python": ".".join(map(str, sys.version_info[:2])),
        "libraries": _versions(_LIBRARIES),
        "reads": dict(reads or {}),
    }
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return {"key": key, **inputs}


def is_fresh(data_folder: Path, key: dict[str, Any], quick: bool) -> bool:
    """Whether the stamp in ``data_folder`` has ``key`` and the data are as the run left them."""
    stamp = data_folder / STAMP
    if not stamp.is_file():
        return False
    try:
        saved = json.loads(stamp.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if saved.get("key") != key["key"]:
        return False
    digest = data_digest(data_folder, quick)
    return bool(digest) and saved.get("data") == digest


def write_stamp(data_folder: Path, key: dict[str, Any], quick: bool, seconds: float) -> None:
    """Record that the section's data in ``data_folder`` came from ``key`` (after a run)."""
    atomic_write_json(
        data_folder / STAMP,
        {**key, "data": data_digest(data_folder, quick), "seconds": round(seconds, 1)},
    )


def changed_inputs(data_folder: Path, key: dict[str, Any], quick: bool) -> list[str]:
    """Names of what changed since the stamp (source files, arguments, ...), for messages."""
    stamp = data_folder / STAMP
    if not stamp.is_file():
        return ["no earlier run"]
    try:
        saved = json.loads(stamp.read_text())
    except (OSError, json.JSONDecodeError):
        return ["unreadable stamp"]
    changed = [
        name
        for name in sorted(set(saved.get("sources", {})) | set(key["sources"]))
        if saved.get("sources", {}).get(name) != key["sources"].get(name)
    ]
    changed += [k for k in ("arguments", "python", "libraries", "reads") if saved.get(k) != key[k]]
    if not changed and saved.get("data") != data_digest(data_folder, quick):
        changed.append("the data since that run")
    return changed
