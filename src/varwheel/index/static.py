"""Write a static simple index (PEP 503 HTML + PEP 691 JSON) for a set of distribution files.

Layout under ``dest``::

    simple/index.html, simple/index.json          project list
    simple/<project>/index.html, index.json       one page per project (PEP 503 name)
    files/<file>, files/<wheel>.metadata          the files and PEP 658 core metadata

Links carry ``#sha256=``; wheels get ``data-requires-python`` and both PEP 658/714 attributes
``data-core-metadata`` and ``data-dist-info-metadata``; ``*-variants.json`` files are listed on
their project's page like any other file (PEP 817 §"Index level"). A static web server cannot
negotiate content types, so the JSON form lives beside the HTML as ``index.json``: a server that
negotiates (the tests' loopback server) or a ``file://`` index returns it when JSON is asked for,
any other static server simply serves the HTML. Inputs are validated before anything is
written, and the tree is built in a temporary directory renamed over ``dest`` at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json as _json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import quote

from packaging.utils import canonicalize_name

from varwheel.errors import IndexFetchError, InvalidFilename, InvalidInput
from varwheel.index.dists import SDIST, VARIANTS_JSON, WHEEL, file_kind, project_and_version
from varwheel.index.hashes import file_digest
from varwheel.index.range_zip import read_zip_member
from varwheel.spec.filenames import (
    parse_variants_json_filename,
    parse_wheel_filename,
    variants_json_filename,
)
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import dump_json, load_variants_json, load_wheel_variant_json
from varwheel.spec.model import VariantMetadata

API_VERSION = "1.1"


@dataclass(frozen=True)
class _Entry:
    path: Path
    project: str
    version: str | None
    label: str | None  # variant label of a wheel
    variants_of: str | None  # version a ``*-variants.json`` describes
    sha256: str
    size: int
    metadata: bytes | None
    requires_python: str | None


def _wheel_member(path: Path, suffix: str) -> bytes:
    """A member of a wheel to publish; a missing member or an unreadable wheel is bad input."""
    try:
        return read_zip_member(path, suffix, path.name)
    except IndexFetchError as exc:
        raise InvalidInput(str(exc)) from None


def _entry(path: Path) -> _Entry:
    kind = file_kind(path.name)
    metadata = requires_python = label = variants_of = None
    version: str | None
    if kind == WHEEL:
        wf = parse_wheel_filename(path.name)
        project, version, label = wf.project, str(wf.version), wf.label
        metadata = _wheel_member(path, ".dist-info/METADATA")
        requires_python = BytesHeaderParser().parsebytes(metadata).get("Requires-Python")
    elif kind == VARIANTS_JSON:
        project, described = parse_variants_json_filename(path.name)
        variants_of = str(described)
        load_variants_json(path.read_bytes(), source=str(path))  # refuse to publish invalid files
        version = None  # not a release file: does not add to PEP 700 "versions"
    elif kind == SDIST and (found := project_and_version(path.name)):
        project, version = found
    else:
        raise InvalidFilename(f"{path}: not a wheel, sdist or *-variants.json file")
    return _Entry(
        path,
        canonicalize_name(project),
        version,
        label,
        variants_of,
        file_digest(path, "sha256"),
        path.stat().st_size,
        metadata,
        requires_python.strip() if requires_python else None,
    )


def _html_page(title: str, rows: Iterable[str]) -> str:
    body = "".join(rows)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}</body>\n</html>\n"
    )


def _project_html(project: str, entries: list[_Entry]) -> str:
    rows = []
    for e in entries:
        href = html.escape(f"../../files/{quote(e.path.name)}#sha256={e.sha256}")
        attrs = ""
        if e.requires_python:
            attrs += f' data-requires-python="{html.escape(e.requires_python)}"'
        if e.metadata is not None:
            md = f"sha256={hashlib.sha256(e.metadata).hexdigest()}"
            attrs += f' data-core-metadata="{md}" data-dist-info-metadata="{md}"'
        rows.append(f'<a href="{href}"{attrs}>{html.escape(e.path.name)}</a><br>\n')
    return _html_page(f"Links for {project}", rows)


def _project_json(project: str, entries: list[_Entry]) -> bytes:
    files = []
    for e in entries:
        item: dict[str, object] = {
            "filename": e.path.name,
            "url": f"../../files/{quote(e.path.name)}",
            "hashes": {"sha256": e.sha256},
            "size": e.size,
            "yanked": False,
        }
        if e.requires_python:
            item["requires-python"] = e.requires_python
        if e.metadata is not None:
            md = {"sha256": hashlib.sha256(e.metadata).hexdigest()}
            item["core-metadata"] = md
            item["dist-info-metadata"] = md
        files.append(item)
    versions = sorted({e.version for e in entries if e.version})
    doc = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": versions,
        "files": files,
    }
    return _json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def _write_tree(
    root: Path, by_project: dict[str, list[_Entry]], *, json: bool, html_: bool
) -> None:
    files_dir = root / "files"
    files_dir.mkdir(parents=True)
    simple = root / "simple"
    simple.mkdir()
    for project, entries in by_project.items():
        page_dir = simple / project
        page_dir.mkdir()
        for e in entries:
            shutil.copyfile(e.path, files_dir / e.path.name)
            if e.metadata is not None:
                (files_dir / f"{e.path.name}.metadata").write_bytes(e.metadata)
        if html_:
            (page_dir / "index.html").write_text(_project_html(project, entries), "utf-8")
        if json:
            (page_dir / "index.json").write_bytes(_project_json(project, entries))
    projects = sorted(by_project)
    if html_:
        rows = (f'<a href="{quote(p)}/">{html.escape(p)}</a><br>\n' for p in projects)
        (simple / "index.html").write_text(_html_page("Simple index", rows), "utf-8")
    if json:
        doc = {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
        (simple / "index.json").write_bytes(_json.dumps(doc, indent=1).encode() + b"\n")


def _wheel_variant_json(path: Path, label: str) -> VariantMetadata:
    data = _wheel_member(path, ".dist-info/variant.json")
    return load_wheel_variant_json(data, label, source=path.name)


def _generate_variants_json(by_project: dict[str, list[_Entry]], staging: Path) -> list[_Entry]:
    """PEP 817 §"Index level": one merged ``*-variants.json`` per version with variant wheels,
    unless one was given. Built from each wheel's ``variant.json`` (PEP 825 merge rules)."""
    out: list[_Entry] = []
    for project, entries in by_project.items():
        given = {e.variants_of for e in entries if e.variants_of}
        versions = sorted({e.version for e in entries if e.label and e.version not in given})
        for version in versions:
            docs = [
                _wheel_variant_json(e.path, e.label)
                for e in entries
                if e.version == version and e.label is not None
            ]
            data = dump_json(merge_metadata(docs))
            target = staging / variants_json_filename(project, version)
            target.write_bytes(data)
            out.append(_entry(target))
    return out


def write_static_index(
    wheels_and_files: Iterable[Path],
    dest: Path,
    *,
    json: bool = True,
    html: bool = True,
    generate_variants_json: bool = False,
) -> Path:
    """Write (or atomically replace) a static index at ``dest``; returns ``dest``.

    With ``generate_variants_json``, each version that has variant wheels but no given
    ``*-variants.json`` gets one merged from its wheels (an index MAY do this, PEP 817).
    Raises :class:`InvalidInput` (nothing written) for an unreadable wheel, an invalid filename,
    an invalid ``*-variants.json``, conflicting wheel metadata or two inputs with one file name.
    """
    if not (json or html):
        raise ValueError("write_static_index needs json=True or html=True")
    dest = Path(dest)
    by_project: dict[str, list[_Entry]] = {}
    seen: dict[str, Path] = {}
    for path in sorted(Path(p) for p in wheels_and_files):
        if path.name in seen:
            raise InvalidInput(f"{path}: same file name as {seen[path.name]}")
        seen[path.name] = path
        entry = _entry(path)
        by_project.setdefault(entry.project, []).append(entry)
    for entries in by_project.values():
        entries.sort(key=lambda e: e.path.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; an index is meant to be served
    try:
        if generate_variants_json:
            staging = tmp / ".generated"
            staging.mkdir()
            for entry in _generate_variants_json(by_project, staging):
                by_project[entry.project].append(entry)
                by_project[entry.project].sort(key=lambda e: e.path.name)
        _write_tree(tmp, by_project, json=json, html_=html)
        if generate_variants_json:
            shutil.rmtree(tmp / ".generated")
        if dest.exists():
            old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
            os.replace(dest, old / "index")
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return dest
