"""Real wheels for tests: a deterministic writer and a real PEP 517 backend build.

``build_wheel`` writes a valid ``.whl`` (METADATA, WHEEL, RECORD with sha256 + sizes, and for
variants a ``*.dist-info/variant.json``), byte-for-byte reproducible for the same arguments::

    from helpers.wheels import build_wheel, variant_json

    path = build_wheel(
        tmp_path, "demo-pkg", "1.0",
        label="x86_64_v3",
        variant=variant_json("x86_64_v3", ["x86_64 :: level :: v3"],
                             providers={"x86_64": {"requires": ["x86-64-variant-provider"]}}),
        requires_dist=["other>=1"],
        files={"demo_pkg/__init__.py": "X = 1\n"},
        entry_points={"console_scripts": {"demo": "demo_pkg:main"}},
    )

``build_with_backend`` builds a tiny project with a real backend (hatchling by default; setuptools
or flit_core where installed) through pypa/build, offline (no isolation, this interpreter's tools).

Tests find this module as ``helpers.wheels``: ``tests/`` is on ``sys.path`` through its
``conftest.py``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "SCHEMA_V0_2_0_URL",
    "build_wheel",
    "build_with_backend",
    "dist_info_name",
    "record_digest",
    "variant_json",
    "wheel_filename",
]

SCHEMA_V0_2_0_URL = "https://variants-schema.wheelnext.dev/v0.2.0.json"
# Fixed timestamp: zip entries are reproducible (zip cannot store dates before 1980).
ZIP_DATE = (2020, 1, 1, 0, 0, 0)

FileContent = bytes | str


def _escape(name: str) -> str:
    """Distribution name as it appears in filenames (PEP 427/491: runs of -_. become _)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def dist_info_name(name: str, version: str) -> str:
    """``{name}-{version}.dist-info`` directory name, escaped as in wheel filenames."""
    return f"{_escape(name)}-{version}.dist-info"


def wheel_filename(
    name: str,
    version: str,
    tags: str = "py3-none-any",
    *,
    label: str | None = None,
    build_tag: str | None = None,
) -> str:
    """The wheel filename; ``label`` appends the PEP 825 variant label component."""
    parts = [_escape(name), version]
    if build_tag is not None:
        parts.append(build_tag)
    parts.append(tags)
    if label is not None:
        parts.append(label)
    return "-".join(parts) + ".whl"


def record_digest(data: bytes) -> str:
    """RECORD hash field: ``sha256=`` + urlsafe base64 without padding."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def variant_json(
    label: str,
    properties: Iterable[str],
    *,
    providers: Mapping[str, Mapping[str, object]] | None = None,
    namespace_priorities: Sequence[str] | None = None,
    schema: str = SCHEMA_V0_2_0_URL,
) -> dict[str, object]:
    """A ``variant.json`` document (schema v0.2.0) for one label.

    ``properties`` are ``"ns :: feature :: value"`` strings; ``providers`` defaults to
    ``{ns: {"requires": [f"{ns}-provider"]}}`` for each namespace used.
    """
    tree: dict[str, dict[str, list[str]]] = {}
    for prop in properties:
        ns, feature, value = (part.strip() for part in prop.split("::"))
        values = tree.setdefault(ns, {}).setdefault(feature, [])
        if value not in values:
            values.append(value)
    namespaces = sorted(tree)
    if providers is None:
        providers = {ns: {"requires": [f"{ns}-provider"]} for ns in namespaces}
    priorities = (
        list(namespace_priorities)
        if namespace_priorities is not None
        else sorted(set(namespaces) | set(providers))
    )
    return {
        "$schema": schema,
        "default-priorities": {"namespace": priorities},
        "providers": {ns: dict(info) for ns, info in providers.items()},
        "variants": {
            label: {ns: {f: sorted(v) for f, v in feats.items()} for ns, feats in tree.items()}
        },
    }


def _as_bytes(content: FileContent) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _metadata(
    name: str,
    version: str,
    requires_dist: Iterable[str],
    requires_python: str | None,
    extra_headers: Iterable[tuple[str, str]],
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", "Summary: test"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"{key}: {value}" for key, value in extra_headers]
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _entry_points(entry_points: Mapping[str, Mapping[str, str]]) -> bytes:
    out = []
    for section, entries in entry_points.items():
        out.append(f"[{section}]")
        out += [f"{key} = {value}" for key, value in entries.items()]
        out.append("")
    return "\n".join(out).encode("utf-8")


def build_wheel(
    dest_dir: Path | str,
    name: str,
    version: str,
    *,
    tags: str = "py3-none-any",
    label: str | None = None,
    variant: Mapping[str, object] | None = None,
    requires_dist: Iterable[str] = (),
    files: Mapping[str, FileContent] | None = None,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    requires_python: str | None = None,
    build_tag: str | None = None,
    root_is_purelib: bool = True,
    metadata_headers: Iterable[tuple[str, str]] = (),
    extra_dist_info: Mapping[str, FileContent] | None = None,
    filename: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a valid wheel into ``dest_dir`` and return its path.

    ``files`` maps archive paths (``pkg/mod.py``, ``name-1.0.data/scripts/tool``) to content;
    when omitted the wheel holds ``<pkg>/__init__.py`` with ``__version__``. ``tags`` is the
    ``python-abi-platform`` triple (compressed sets allowed, e.g. ``py2.py3-none-any``).
    ``variant`` is the ``variant.json`` document (see ``variant_json``); it is required when
    ``label`` is given, and ``label`` defaults to its single label. ``filename`` overrides the
    computed file name (for tests of mismatched names).
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    if variant is not None and label is None:
        labels = list(variant.get("variants", {}))  # type: ignore[union-attr]
        if len(labels) != 1:
            raise ValueError("variant.json must name exactly one label, or pass label=")
        label = labels[0]
    if label is not None and variant is None:
        raise ValueError(f"label {label!r} needs a variant= document")

    dist_info = dist_info_name(name, version)
    if files is None:
        files = {f"{_escape(name)}/__init__.py": f'__version__ = "{version}"\n'}
    entries: dict[str, bytes] = {path: _as_bytes(data) for path, data in files.items()}
    entries[f"{dist_info}/METADATA"] = _metadata(
        name, version, requires_dist, requires_python, metadata_headers
    )
    wheel_lines = [
        "Wheel-Version: 1.0",
        "Generator: varwheel-tests",
        f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}",
    ]
    if build_tag is not None:
        wheel_lines.append(f"Build: {build_tag}")
    py_tags, abi_tags, plat_tags = tags.split("-")
    wheel_lines += [
        f"Tag: {py}-{abi}-{plat}"
        for py in py_tags.split(".")
        for abi in abi_tags.split(".")
        for plat in plat_tags.split(".")
    ]
    entries[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode("utf-8")
    if entry_points:
        entries[f"{dist_info}/entry_points.txt"] = _entry_points(entry_points)
    if variant is not None:
        entries[f"{dist_info}/variant.json"] = (
            json.dumps(variant, indent=4, sort_keys=True) + "\n"
        ).encode("utf-8")
    for path, data in (extra_dist_info or {}).items():
        entries[f"{dist_info}/{path}"] = _as_bytes(data)

    record_path = f"{dist_info}/RECORD"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for path, data in entries.items():
        writer.writerow([path, record_digest(data), str(len(data))])
    writer.writerow([record_path, "", ""])
    entries[record_path] = buf.getvalue().encode("utf-8")

    name_out = filename or wheel_filename(name, version, tags, label=label, build_tag=build_tag)
    target = dest / name_out
    with zipfile.ZipFile(target, "w", compression) as archive:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, ZIP_DATE)
            info.compress_type = compression
            executable = "/scripts/" in path and ".data/" in path
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            archive.writestr(info, data)
    return target


_BACKENDS = {
    "setuptools": ('["setuptools>=61"]', "setuptools.build_meta"),
    "hatchling": ('["hatchling"]', "hatchling.build"),
    "flit_core": ('["flit_core>=3.4"]', "flit_core.buildapi"),
}


def build_with_backend(
    project_dir: Path | str,
    out_dir: Path | str,
    name: str,
    version: str,
    *,
    backend: str = "hatchling",
    modules: Mapping[str, FileContent] | None = None,
    scripts: Mapping[str, str] | None = None,
    dependencies: Sequence[str] = (),
    python: str | None = None,
) -> Path:
    """Build a tiny real project with a real PEP 517 backend and return the wheel path.

    Writes ``pyproject.toml`` and a package ``<name>/`` into ``project_dir`` and runs
    ``python -m build --wheel --no-isolation`` with ``python`` (default: this interpreter),
    so the backend must be installed there. ``backend`` is ``hatchling`` (in the test extras),
    ``setuptools`` (needs ``wheel`` too before setuptools 70) or ``flit_core``.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    requires, build_backend = _BACKENDS[backend]
    project = Path(project_dir)
    pkg = _escape(name)
    (project / pkg).mkdir(parents=True, exist_ok=True)
    sources = dict(modules or {"__init__.py": f'"""{name}."""\n__version__ = "{version}"\n'})
    for rel, content in sources.items():
        target = project / pkg / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_as_bytes(content))
    lines = [
        "[build-system]",
        f"requires = {requires}",
        f'build-backend = "{build_backend}"',
        "",
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
        f'description = "{name} test project"',
        f"dependencies = {json.dumps(list(dependencies))}",
    ]
    if scripts:
        lines += ["", "[project.scripts]"]
        lines += [f'"{key}" = "{value}"' for key, value in scripts.items()]
    if backend == "setuptools":
        lines += ["", "[tool.setuptools]", f'packages = ["{pkg}"]']
    elif backend == "hatchling":
        lines += ["", "[tool.hatch.build.targets.wheel]", f'packages = ["{pkg}"]']
    (project / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            python or sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"build of {name} with {backend} failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = sorted(out.glob(f"{pkg}-{version}-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel for {name} in {out}, found {wheels}")
    return wheels[0]
