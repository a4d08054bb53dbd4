"""The layering rules of docs/DESIGN.md, computed from the source's AST (every import counts:
module level, inside functions, and under ``if TYPE_CHECKING``).

- The command line goes through the library's public API: a ``cli/`` module imports only
  ``varwheel.api`` (with ``settings``, ``target``, ``reporter``, ``codes``, ``errors``) and other
  ``cli/`` modules (argument helpers, rendering). Commands not moved onto the API yet are listed
  in ``NOT_YET_ON_THE_API``; the list may only shrink.
- No two packages import each other (``varwheel.X`` for a subpackage or top-level module X).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import varwheel

ROOT = Path(varwheel.__file__).parent

# What cli/ may import besides itself: the API and the small modules its signatures use.
API_MODULES = frozenset(
    {
        "varwheel",  # __version__
        "varwheel.api",
        "varwheel.settings",
        "varwheel.target",
        "varwheel.reporter",
        "varwheel.codes",
        "varwheel.errors",
        # process start-up, not domain: the command line's compiled-dataclass cache
        "varwheel.cachedir",
        "varwheel.codecache",
    }
)

# cli modules that still wire library internals themselves (issue 12 follow-ups).
NOT_YET_ON_THE_API: frozenset[str] = frozenset()

# package pairs that still import each other; the list may only shrink
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


def imports_of(path: Path) -> Iterator[str]:
    """Absolute names of the varwheel modules ``path`` imports (``from varwheel import x``
    yields ``varwheel.x``; relative imports are resolved against the file's package)."""
    package = ".".join(("varwheel", *path.relative_to(ROOT).parent.parts))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "varwheel")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] != "varwheel":
                continue
            if module == "varwheel" or not (ROOT / Path(*module.split(".")[1:])).is_file():
                # ``from varwheel import api`` / ``from varwheel.cli import render``: submodules
                for alias in node.names:
                    sub = ROOT.joinpath(*module.split(".")[1:], alias.name)
                    if sub.with_suffix(".py").is_file() or (sub / "__init__.py").is_file():
                        yield f"{module}.{alias.name}"
                    else:
                        yield module
            else:
                yield module


def node_of(module: str) -> str | None:
    """The package (or top-level module) a module belongs to; None for ``varwheel`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def source_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_cli_imports_only_the_api() -> None:
    bad = []
    for path in sorted((ROOT / "cli").glob("*.py")):
        if path.stem in NOT_YET_ON_THE_API or path.stem == "__init__":
            continue
        for module in imports_of(path):
            if (
                module in API_MODULES
                or module.startswith("varwheel.api.")
                or module.startswith("varwheel.cli")
            ):
                continue
            bad.append(f"cli/{path.name} imports {module}")
    assert bad == [], "cli/ must use varwheel.api:\n" + "\n".join(bad)


def test_not_yet_on_the_api_only_shrinks() -> None:
    present = {p.stem for p in (ROOT / "cli").glob("*.py")}
    assert present >= NOT_YET_ON_THE_API, NOT_YET_ON_THE_API - present


def package_graph() -> dict[str, dict[str, list[str]]]:
    """``{package: {imported package: [file importing it, ...]}}``."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in source_files():
        rel = path.relative_to(ROOT)
        src = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module in imports_of(path):
            dst = node_of(module)
            if dst is not None and dst != src and dst != "__init__":
                graph[src][dst].append(f"{rel} -> {module}")
    return graph


def test_no_two_packages_import_each_other() -> None:
    graph = package_graph()
    cycles = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a < b and a in graph.get(b, {}) and frozenset((a, b)) not in KNOWN_CYCLES:
                cycles.append(f"{a} <-> {b}: " + "; ".join(sorted(set(graph[a][b] + graph[b][a]))))
    assert cycles == [], "\n".join(cycles)


def test_known_cycles_are_still_cycles() -> None:
    graph = package_graph()
    for pair in KNOWN_CYCLES:
        a, b = sorted(pair)
        assert b in graph.get(a, {}) and a in graph.get(b, {}), f"{a} <-> {b} is gone: drop it"


def test_the_rules_catch_what_they_should(tmp_path: Path) -> None:
    """The AST walk sees lazy, TYPE_CHECKING and ``from varwheel import x`` imports."""
    sample = ROOT / "cli" / "cmd_install.py"
    found = set(imports_of(sample))
    assert "varwheel.api" in found
    assert "varwheel.cli.selection_options" in found
    graph = package_graph()
    assert "install" in graph["api"] and "resolve" in graph["api"]


# Layers: a package never imports one above it (the import cycle install <-> resolve is gone:
# install works on wheels and environments, resolve on the plan, the API joins them).
NEVER_IMPORTS = {
    "spec": {"providers", "index", "install", "resolve", "lock", "build", "api", "cli"},
    "install": {"resolve", "lock", "build", "api", "settings", "target", "cli"},
    "index": {"install", "resolve", "lock", "build", "api", "settings", "target", "cli"},
    "resolve": {"lock", "build", "api", "settings", "target", "cli"},
    "providers": {"install", "resolve", "lock", "build", "api", "cli"},
}


def test_layers_never_import_upwards() -> None:
    graph = package_graph()
    bad = [
        f"{low} imports {high}: " + "; ".join(graph[low][high])
        for low, highs in NEVER_IMPORTS.items()
        for high in sorted(highs & set(graph.get(low, {})))
    ]
    assert bad == [], "\n".join(bad)
