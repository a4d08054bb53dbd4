"""Workloads for the differential tests against uv 0.13.9 (``test_differential_uv.py``).

A :class:`Workload` is one project (plus plain dependency projects) described as wheel specs;
:func:`write_workload` builds the real wheels and the ``*-variants.json`` into a find-links
directory. :func:`run_uv` and :func:`run_varwheel` run the two installers as subprocesses in
``--dry-run`` mode and return which wheel each chose per project.

uv prints its choices only in ``-v`` logs (``DEBUG Selecting: name==version [compatible]
(filename)``); varwheel's come from its pip-style ``--report -``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpers.wheels import build_wheel, variant_json
from resolve.variant_project import write_variants_json

__all__ = [
    "AARCH64",
    "CANONICAL_SCHEMA",
    "NVIDIA",
    "NVIDIA_REQUIRES",
    "X86",
    "Choice",
    "WheelSpec",
    "Workload",
    "run_uv",
    "run_varwheel",
    "uv_choices",
    "uv_environment",
    "write_workload",
]

# PEP 850 v0.2.0 `$id`: the only v0.2.0 URL uv 0.13.9 accepts (variantlib's
# `…/v0.2.0.json` is "Unknown variant metadata schema" there).
CANONICAL_SCHEMA = "https://variants-schema.wheelnext.dev/peps/850/v0.2.0.json"
# Distributions uv 0.13.9 maps to its vendored (Rust) providers; varwheel maps them natively too.
X86: Mapping[str, Mapping[str, object]] = {"x86_64": {"requires": ["x86-64-variant-provider"]}}
NVIDIA_REQUIRES = ["nvidia-variant-provider>=0.0.1,<1.0.0"]
# uv maps its vendored nvidia provider by this explicit `plugin-api` (the real plugin's README
# documents it); without it uv logs "Skipping unsupported wheel variant provider".
NVIDIA: Mapping[str, Mapping[str, object]] = {
    "nvidia": {
        "requires": NVIDIA_REQUIRES,
        "plugin-api": "nvidia_variant_provider.plugin:NvidiaVariantPlugin",
    }
}
AARCH64: Mapping[str, Mapping[str, object]] = {
    "aarch64": {"requires": ["aarch64-variant-provider"]}
}

# A direct reference (a local wheel path) is not "Selected"; the dry-run plan names its URL.
_DIRECT = re.compile(r"^ \+ (?P<name>\S+) @ \S+/(?P<file>[^/\s]+\.whl)$", re.MULTILINE)
_SELECTING = re.compile(
    r"Selecting: (?P<name>[^=\s]+)==(?P<version>\S+) \[(?P<why>[^\]]*)\] \((?P<file>[^)]+)\)"
)


@dataclass(frozen=True)
class WheelSpec:
    """One wheel: ``label=None`` is the non-variant wheel, ``"null"`` the null variant."""

    label: str | None
    properties: tuple[str, ...] = ()
    tags: str = "py3-none-any"
    build_tag: str | None = None
    requires_dist: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """A project ``name`` 1.0 with ``wheels``; every label shares ``providers`` and
    ``namespaces`` (the ``default-priorities.namespace`` list)."""

    name: str
    wheels: tuple[WheelSpec, ...]
    providers: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    variants_json: bool = True
    # Labels left out of the `*-variants.json` although their wheels are published.
    unlisted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """What one installer chose: ``files`` maps project name -> wheel filename; ``error`` is the
    failure text (``files`` empty) when it refused."""

    files: Mapping[str, str]
    error: str | None
    log: str


def _document(workload: Workload, spec: WheelSpec) -> dict[str, object]:
    label = spec.label or ""
    return variant_json(
        label,
        spec.properties,
        providers=workload.providers,
        namespace_priorities=list(workload.namespaces),
        schema=CANONICAL_SCHEMA,
    )


def write_workload(workload: Workload, dest: Path) -> Path:
    """Build ``workload``'s wheels (+ dependency wheels, + ``*-variants.json``) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    variant_wheels = []
    for spec in workload.wheels:
        doc = _document(workload, spec) if spec.label is not None else None
        path = build_wheel(
            dest,
            workload.name,
            "1.0",
            tags=spec.tags,
            label=spec.label,
            variant=doc,
            build_tag=spec.build_tag,
            requires_dist=spec.requires_dist,
        )
        if spec.label is not None:
            variant_wheels.append(path)
    for dep in workload.deps:
        build_wheel(dest, dep, "1.0")
    if workload.variants_json and variant_wheels:
        for path in write_variants_json(variant_wheels, dest):
            doc = json.loads(path.read_text())
            for label in workload.unlisted:
                doc["variants"].pop(label, None)
            path.write_text(json.dumps(doc, indent=4, sort_keys=True) + "\n")
    return dest


def uv_environment(cache_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A closed environment for uv: no user config, offline, a private cache, no proxies."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cache_dir),
        "UV_CACHE_DIR": str(cache_dir / "uv"),
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "VARWHEEL_CACHE_DIR": str(cache_dir / "varwheel"),
        "VARWHEEL_CONFIG": str(cache_dir / "varwheel-config.toml"),
        "NO_COLOR": "1",
    }
    env.update(extra or {})
    return env


def _source_args(links: Path | None, index_url: str | None) -> list[str]:
    if index_url is not None:
        return ["--index-url", index_url]
    if links is None:
        return ["--no-index"]
    return ["--no-index", "--find-links", str(links)]


def run_uv(
    uv: str,
    requirements: Sequence[str],
    *,
    venv: Path,
    env: Mapping[str, str],
    links: Path | None = None,
    index_url: str | None = None,
) -> Choice:
    """``uv pip install --dry-run -v --preview-features wheel-variants``; the last
    ``Selecting`` line per project is its choice (earlier ones are backtracked)."""
    proc = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--dry-run",
            "-v",
            *_source_args(links, index_url),
            "--python",
            str(venv / "bin" / "python"),
            "--preview-features",
            "wheel-variants",
            *requirements,
        ],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=60,
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        return Choice({}, log[log.find("error:") :].strip() or log, log)
    return Choice(uv_choices(log), None, log)


def uv_choices(log: str) -> dict[str, str]:
    """Project -> wheel filename from a ``uv -v`` log. ``[installed]`` keeps what the venv has:
    no wheel is chosen (varwheel's report leaves such a distribution out too)."""
    files: dict[str, str] = {}
    for m in _SELECTING.finditer(log):
        if m["why"] == "installed":
            files.pop(m["name"], None)
        else:
            files[m["name"]] = m["file"]
    files.update((m["name"], m["file"]) for m in _DIRECT.finditer(log))
    return files


def run_varwheel(
    requirements: Sequence[str],
    *,
    venv: Path,
    env: Mapping[str, str],
    links: Path | None = None,
    index_url: str | None = None,
) -> Choice:
    """``varwheel install --dry-run --report -`` as a subprocess (same isolation as uv)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "varwheel",
            "install",
            "--dry-run",
            *_source_args(links, index_url),
            "--python",
            str(venv),
            "--report",
            "-",
            *requirements,
        ],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=60,
    )
    if proc.returncode != 0:
        return Choice({}, proc.stderr.strip(), proc.stdout + proc.stderr)
    report = json.loads(proc.stdout)
    files = {
        item["metadata"]["name"]: item["download_info"]["url"].rsplit("/", 1)[-1]
        for item in report["install"]
    }
    return Choice(files, None, proc.stdout + proc.stderr)
