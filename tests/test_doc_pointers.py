"""Every Markdown file the code, tests and docs point to exists in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_POINTER = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)\b")


def _pointers(text: str) -> set[str]:
    # LaTeX strings escape underscores (theory/tms\\_rl.md, twice in Python source)
    return set(_POINTER.findall(re.sub(r"\\+_", "_", text)))


def test_pointer_pattern_finds_paths():
    text = r"see DESIGN.md and docs/architecture.md (theory/llc.md, theory/tms\_rl.md), not a.mdx"
    found = {"DESIGN.md", "docs/architecture.md", "theory/llc.md", "theory/tms_rl.md"}
    assert _pointers(text) == found


def test_every_pointed_markdown_file_exists():
    files = [
        *ROOT.glob("devrl/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("experiments/*.py"),
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("theory/*.md"),
        ROOT / "README.md",
    ]
    missing = {}
    for path in files:
        if path.name == Path(__file__).name:
            continue
        for pointer in _pointers(path.read_text()):
            # a bare name may live in docs/ or theory/ (README's "architecture.md")
            candidates = [ROOT / pointer, ROOT / "docs" / pointer, ROOT / "theory" / pointer]
            if not any(c.is_file() for c in candidates):
                missing.setdefault(str(path.relative_to(ROOT)), []).append(pointer)
    assert not missing, f"pointers to Markdown files that do not exist: {missing}"
