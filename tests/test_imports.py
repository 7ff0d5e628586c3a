"""The layering of the package: no import cycle between top-level subpackages (every import counted, also
those inside functions), and the job queue never imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import ganfactory

ROOT = Path(ganfactory.__file__).parent


def _unit(module: str) -> str:
    """ganfactory.jobs.queue -> jobs; ganfactory.cli -> cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        module = "ganfactory." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        source = _unit(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                if name.startswith("ganfactory.") and _unit(name) not in ("", source):
                    edges.setdefault(source, set()).add(_unit(name))
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return path + [node, target]
            if target not in state and (found := visit(target, path + [node])):
                return found
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_no_import_cycle_between_subpackages_and_jobs_never_imports_cli() -> None:
    edges = _edges()
    assert "operators" in edges.get("jobs", set())  # the walk sees imports (jobs reads the operator registry)
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])
    assert "cli" not in edges.get("jobs", set())
    assert "export" not in edges.get("operators", set())  # operators carry their own exporters
    assert not edges.get("engine", set()) & {"operators", "jobs", "cli", "export"}
