"""The declared build matrix in the forms CI reads (docs/build-matrix.md): the ``varwheel
build`` line of each job, JSON, a GitHub Actions ``strategy.matrix`` and cibuildwheel's
``CIBW_*`` environment lines. Pure functions of a :class:`~varwheel.build.matrix.BuildMatrix`."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from varwheel.build.matrix import BuildKind, BuildMatrix, MatrixEntry
from varwheel.build.settings import APPENDED_ENV
from varwheel.errors import InvalidInput

__all__ = [
    "GITHUB_MAX_JOBS",
    "GITHUB_MAX_OUTPUT",
    "build_command",
    "cibuildwheel_lines",
    "cibw_config_settings",
    "cibw_environment",
    "entry_json",
    "github_entry",
    "github_matrix",
    "matrix_json",
    "variant_args",
]

# GitHub Actions: "A matrix can generate a maximum of 256 jobs per workflow run"; a job output
# (how the matrix reaches the next job) holds at most 1 MB.
GITHUB_MAX_JOBS = 256
GITHUB_MAX_OUTPUT = 1_000_000


def variant_args(entry: MatrixEntry) -> list[str]:
    """The ``varwheel build`` / ``make-variant`` arguments selecting this entry."""
    if entry.kind is BuildKind.PLAIN:
        return []
    if entry.kind is BuildKind.NULL:
        return ["--null-variant"]
    args: list[str] = []
    for prop in entry.properties:
        args += ["-p", str(prop)]
    return [*args, "--label", str(entry.label)]


def build_command(entry: MatrixEntry, project: str, out_dir: str) -> str:
    """The ``varwheel build`` line of one CI job. The project's own settings for the entry
    (``config-settings`` as ``-C``, ``env`` through ``env NAME=value``) are spelled out: a
    single ``varwheel build -p ... --label ...`` applies the provider-informed settings only."""
    path = Path(project)
    source_dir = path.parent if path.name == "pyproject.toml" else path
    src = [] if source_dir == Path(".") else [str(source_dir)]
    prefix = ["env", *(f"{k}={v}" for k, v in sorted(entry.env.items()))] if entry.env else []
    settings = [
        arg
        for key, value in sorted(entry.config_settings.items())
        for item in ((value,) if isinstance(value, str) else value)
        for arg in ("-C", f"{key}={item}")
    ]
    argv = [*prefix, "varwheel", "build", *src, *variant_args(entry), *settings, "-o", out_dir]
    return shlex.join(argv)


def cibw_config_settings(settings: Mapping[str, str | tuple[str, ...]]) -> str:
    """``CIBW_CONFIG_SETTINGS``: space separated ``key=value`` items, shell-split by
    cibuildwheel; a list value repeats its key."""
    items = [
        f"{key}={item}"
        for key, value in sorted(settings.items())
        for item in ((value,) if isinstance(value, str) else value)
    ]
    return shlex.join(items)


def cibw_environment(env: Mapping[str, str]) -> str:
    """``CIBW_ENVIRONMENT``: ``NAME="value"`` pairs, bash syntax. Flag variables that
    ``varwheel build`` appends to (CFLAGS, ...) keep the build machine's own value first."""
    parts = []
    for name, value in sorted(env.items()):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        escaped = escaped.replace("$", "\\$")
        if name in APPENDED_ENV:
            escaped = f"${name} {escaped}"
        parts.append(f'{name}="{escaped}"')
    return " ".join(parts)


def entry_json(matrix: BuildMatrix, entry: MatrixEntry) -> dict[str, Any]:
    """One entry with the settings its build gets, as JSON values."""
    settings = matrix.settings(entry)
    return {
        "name": entry.name,
        "kind": entry.kind.value,
        "label": entry.label,
        "properties": [str(p) for p in entry.properties],
        "config_settings": {
            k: v if isinstance(v, str) else list(v)
            for k, v in sorted(settings.config_settings.items())
        },
        "env": dict(sorted(settings.env.items())),
    }


def matrix_json(
    matrix: BuildMatrix, entries: Sequence[MatrixEntry], project: str, out_dir: str
) -> dict[str, Any]:
    """``varwheel matrix --format json``: the entries with their settings and build lines."""
    return {
        "project": matrix.source,
        "native": matrix.native,
        "entries": [
            {**entry_json(matrix, e), "command": build_command(e, project, out_dir)}
            for e in entries
        ],
    }


def github_entry(
    matrix: BuildMatrix, entry: MatrixEntry, project: str, out_dir: str
) -> dict[str, str]:
    """One ``include`` item: flat strings only, so every value drops into ``run:`` or ``env:``."""
    settings = matrix.settings(entry)
    return {
        "name": entry.name,
        "kind": entry.kind.value,
        "label": entry.label or "",
        "properties": "; ".join(str(p) for p in entry.properties),
        "variant_args": shlex.join(variant_args(entry)),
        "command": build_command(entry, project, out_dir),
        "config_settings": cibw_config_settings(settings.config_settings),
        "environment": cibw_environment(settings.env),
    }


def github_matrix(
    matrix: BuildMatrix, entries: Sequence[MatrixEntry], project: str, out_dir: str
) -> str:
    """The ``{"include": [...]}`` JSON text for ``fromJSON``; refused beyond GitHub's limits."""
    if len(entries) > GITHUB_MAX_JOBS:
        raise InvalidInput(
            f"{matrix.source}: {len(entries)} builds exceed GitHub Actions' limit of "
            f"{GITHUB_MAX_JOBS} jobs per matrix; split the matrix (--entry) or drop variants"
        )
    doc = {"include": [github_entry(matrix, e, project, out_dir) for e in entries]}
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True)
    if len(text) >= GITHUB_MAX_OUTPUT:
        raise InvalidInput(
            f"{matrix.source}: the matrix JSON is {len(text)} bytes; a GitHub job output holds "
            "at most 1 MB"
        )
    return text


def cibuildwheel_lines(matrix: BuildMatrix, entries: Sequence[MatrixEntry]) -> list[str]:
    """``NAME=value`` lines ($GITHUB_ENV syntax: the value is taken verbatim), one block per
    entry headed by a comment."""
    lines: list[str] = []
    for entry in entries:
        settings = matrix.settings(entry)
        if len(entries) > 1:
            shown = "; ".join(map(str, entry.properties)) or entry.kind.value
            lines.append(f"# {entry.name}: {shown}")
        lines.append(f"CIBW_CONFIG_SETTINGS={cibw_config_settings(settings.config_settings)}")
        lines.append(f"CIBW_ENVIRONMENT={cibw_environment(settings.env)}")
    return lines
