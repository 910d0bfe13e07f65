"""The package's shape: no import cycle among devrl's modules (module- and function-level)."""

import ast
from pathlib import Path

import devrl

ROOT = Path(devrl.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for file in ROOT.rglob("*.py"):
        parts = list(file.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = file
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, file in modules.items():
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # a module importing its own package (or a submodule of itself) is no edge
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_sees_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_devrl():
    graph = _import_graph()
    assert "devrl.track" in graph and "devrl.measures.base" in graph
    assert "devrl.measures" in graph["devrl.track"]  # track imports measures ...
    assert _cycles(graph) == []  # ... and nothing imports back


def test_only_the_command_and_the_paper_import_track_cli_or_paper():
    graph = _import_graph()
    top = ("devrl.track", "devrl.cli", "devrl.paper")
    for module, targets in graph.items():
        if module.startswith(("devrl.cli", "devrl.paper")):
            continue
        if module.startswith("devrl.sweep"):  # runs train then track on many runs: it may
            targets = {t for t in targets if t != "devrl.track"}  # import track, not cli/paper
        reaching = sorted(t for t in targets if t.startswith(top) and t != module)
        assert not reaching, (
            f"{module} imports {reaching} (data flows one way: docs/architecture.md)"
        )
