"""The public surface of ``varwheel.api`` (issue 12): every name an API module exports exists,
is documented and typed, and every area's names are reachable as ``varwheel.api.NAME`` without
``import varwheel.api`` importing any area."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import enum
import importlib
import inspect
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import varwheel.api as api

API_DIR = Path(api.__file__).parent
AREAS = sorted(p.stem for p in API_DIR.glob("*.py") if p.stem != "__init__")
MODULES = ["varwheel.api", *(f"varwheel.api.{area}" for area in AREAS)]


def exported(module_name: str) -> list[tuple[str, Any]]:
    module = importlib.import_module(module_name)
    return [(name, getattr(module, name)) for name in module.__all__]


def bound_names(module: types.ModuleType) -> set[str]:
    """Names a string annotation of ``module`` may use: its module-level bindings, those under
    ``if TYPE_CHECKING:`` included, and the builtins."""
    tree = ast.parse(inspect.getsource(module))
    names = set(dir(builtins))
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.If, ast.Try)):
            todo.extend(node.body + node.orelse + getattr(node, "finalbody", []))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def unresolved(annotation: Any, known: set[str]) -> set[str]:
    """The names in a (string) annotation that its module never binds."""
    if not isinstance(annotation, str):
        return set()
    tree = ast.parse(annotation, mode="eval")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - known


def signature_problems(func: Any, *, skip_first: bool = False) -> list[str]:
    module = sys.modules[func.__module__]
    known = bound_names(module)
    sig = inspect.signature(func)
    params = list(sig.parameters.values())[1 if skip_first else 0 :]
    problems = [f"parameter {p.name} has no type" for p in params if p.annotation is p.empty]
    if sig.return_annotation is sig.empty:
        problems.append("no return type")
    annotations = [p.annotation for p in params] + [sig.return_annotation]
    for annotation in annotations:
        for name in sorted(unresolved(annotation, known)):
            problems.append(f"{annotation!r} names {name}, which {module.__name__} never binds")
    return problems


def documented(obj: Any) -> bool:
    doc = obj.__doc__
    if not doc or not doc.strip():
        return False
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        return not doc.startswith(f"{obj.__name__}(")  # the doc dataclass() writes itself
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return doc != "An enumeration."  # Enum's own default before Python 3.11
    return True


def surface_problems(name: str, obj: Any) -> list[str]:
    if isinstance(obj, types.ModuleType):
        return [] if documented(obj) else ["no docstring"]
    if inspect.isfunction(obj):
        return ([] if documented(obj) else ["no docstring"]) + signature_problems(obj)
    if isinstance(obj, type):
        problems = [] if documented(obj) else ["no docstring"]
        if issubclass(obj, enum.Enum):
            return problems
        if dataclasses.is_dataclass(obj):
            hints = obj.__annotations__
            problems += [f"field {f.name} has no type" for f in dataclasses.fields(obj)
                         if f.name not in hints]  # fmt: skip
        elif "__init__" in vars(obj):
            problems += signature_problems(obj.__init__, skip_first=True)
        return problems
    # a constant (``api.lock.PROTECTED``): it exists and is no callable left undocumented
    return ["an undocumented callable"] if callable(obj) else []


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_exists_is_documented_and_typed(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert documented(module), f"{module_name} has no docstring"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == [], f"{module_name}.__all__ names what it lacks: {missing}"
    assert len(set(module.__all__)) == len(module.__all__), f"{module_name}.__all__ repeats"
    problems = [
        f"{module_name}.{name}: {problem}"
        for name, obj in exported(module_name)
        for problem in surface_problems(name, obj)
    ]
    assert problems == [], "\n".join(problems)


def test_the_checks_catch_an_undocumented_untyped_name() -> None:
    """The rules above are not vacuous: each finds its defect."""

    def untyped(x, y: int):  # type: ignore[no-untyped-def]
        return x

    def typo(x: Nonexistent) -> int:  # type: ignore[name-defined]  # noqa: F821
        """Typed with a name nothing binds."""
        return 0

    @dataclasses.dataclass(frozen=True)
    class Bare:
        x: int

    class Plain(enum.Enum):
        A = "a"

    assert surface_problems("untyped", untyped) == [
        "no docstring",
        "parameter x has no type",
        "no return type",
    ]
    assert surface_problems("typo", typo) == [
        f"'Nonexistent' names Nonexistent, which {__name__} never binds"
    ]
    assert surface_problems("Bare", Bare) == ["no docstring"]
    assert surface_problems("Plain", Plain) == ["no docstring"]
    assert surface_problems("execute", api.execute) == []


def test_every_area_is_reexported_whole() -> None:
    """``varwheel.api.<area>.__all__`` and the package's lazy table agree (a name added to an
    area is reachable from ``varwheel.api`` too), except the verbs named like their module."""
    table = api._AREAS
    assert sorted(table) == AREAS
    for area in AREAS:
        names = importlib.import_module(f"varwheel.api.{area}").__all__
        assert sorted(table[area]) == sorted(n for n in names if n not in AREAS), area


@pytest.mark.parametrize("area", AREAS)
def test_each_reexported_name_resolves_to_the_areas_object(area: str) -> None:
    module = importlib.import_module(f"varwheel.api.{area}")
    for name in api._AREAS[area]:
        assert getattr(api, name) is getattr(module, name), name
        assert name in api.__all__, name
        assert name in dir(api), name
    assert area in api.__all__
    assert getattr(api, area) is module


def test_the_verbs_named_like_their_module_are_reached_through_it() -> None:
    """``import varwheel.api.build`` binds ``build`` on the package to the module, so the function
    ``build`` can only be ``varwheel.api.build.build`` (the docstring says so)."""
    clashes = [
        (area, name)
        for area in AREAS
        for name in importlib.import_module(f"varwheel.api.{area}").__all__
        if name in AREAS
    ]
    assert clashes, "no clash left: drop this test and the docstring's paragraph"
    for area, name in clashes:
        module = importlib.import_module(f"varwheel.api.{name}")
        assert getattr(api, name) is module
        assert inspect.isfunction(getattr(importlib.import_module(f"varwheel.api.{area}"), name))
        assert f"``{name}``" in (api.__doc__ or "")


def test_type_checkers_see_every_reexported_name() -> None:
    """Each lazily re-exported name is imported under ``if TYPE_CHECKING:`` from its area, so a
    type checker (and an IDE) resolves ``from varwheel.api import show``."""
    tree = ast.parse((API_DIR / "__init__.py").read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    seen.update({a.asname or a.name: stmt.module for a in stmt.names})
    expected = {
        name: f"varwheel.api.{area}" for area, names in api._AREAS.items() for name in names
    }
    assert {n: seen.get(n) for n in expected} == expected


def _modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.slow
def test_import_stays_cheap_and_an_area_loads_on_first_use() -> None:
    plain = _modules_after("import varwheel.api")
    assert not {m for m in plain if m.startswith("varwheel.api.")}
    assert not {m for m in plain if m.split(".")[0] in {"packaging", "rich", "build", "installer"}}
    assert not {"varwheel.build", "varwheel.install", "varwheel.resolve"} & plain
    used = _modules_after("import varwheel.api as a; a.show; a.check_environment")
    assert {m for m in used if m.startswith("varwheel.api.")} == {"varwheel.api.environment"}


def test_the_package_docstring_names_every_area() -> None:
    """One screen that lists each area module with its entry points (a new area is added there)."""
    doc = api.__doc__ or ""
    assert [a for a in AREAS if f"- ``{a}``: " not in doc] == []
    assert len(doc.splitlines()) <= 50
