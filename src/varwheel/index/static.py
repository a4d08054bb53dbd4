"""Write a static simple index (PEP 503 HTML + PEP 691 JSON) for a set of distribution files.

Layout under ``dest``::

    simple/index.html, simple/index.json          project list
    simple/<project>/index.html, index.json       one page per project (PEP 503 name)
    files/<file>, files/<wheel>.metadata          the files and PEP 658 core metadata
    files/variants/<sha256[:16]>/<name>-<version>-variants.json   merged by update_index

Links carry ``#sha256=``; wheels get ``data-requires-python`` and both PEP 658/714 attributes
``data-core-metadata`` and ``data-dist-info-metadata``; ``*-variants.json`` files are listed on
their project's page like any other file (PEP 817 §"Index level"). A static web server cannot
negotiate content types, so the JSON form lives beside the HTML as ``index.json``: a server that
negotiates (the tests' loopback server) or a ``file://`` index returns it when JSON is asked for,
any other static server simply serves the HTML.

Two writers share the pages:

- :func:`write_static_index` builds a whole tree in a temporary directory renamed over ``dest``.
- :func:`update_index` adds files to an existing index (``varwheel index build``). Everything is
  validated first (file names, wheel metadata, each version's variant metadata merged from every
  wheel of that version, old and new); then only what changes is written, each file through a
  temporary file and a rename, in the order files, ``*-variants.json``, project pages, project
  list. A reader, or a run killed at any point, sees the old index or the new one: pages are the
  only entry points and are switched last. A version's merged ``*-variants.json`` changes when a
  wheel is added to it, so each content gets its own directory (the file name is fixed by
  PEP 817); the superseded file stays, for clients holding the previous page.

:func:`merge_artifacts` combines the output directories of several build jobs into one
directory, order-independently, with one merged ``*-variants.json`` per version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import json as _json
import os
import posixpath
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import quote, unquote

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import (
    IndexFetchError,
    InvalidFilename,
    InvalidInput,
    InvalidMetadata,
    MergeConflict,
    VarwheelError,
)
from varwheel.fsutil import atomic_write
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
from varwheel.wheelzip import MAX_METADATA_SIZE, ArchiveError, check_entries, open_zip

__all__ = [
    "API_VERSION",
    "IndexBusy",
    "IndexUpdate",
    "MergeResult",
    "RemoteFile",
    "ValidatedRelease",
    "collect_distributions",
    "index_lock",
    "merge_artifacts",
    "update_index",
    "update_side_index",
    "validate_release",
    "write_static_index",
]

API_VERSION = "1.1"
FILES_HREF = "../../files/"
VARIANTS_DIR = "variants"  # under files/: content-addressed *-variants.json (update_index)


class IndexConflict(InvalidInput):
    """The files given cannot form one consistent index (the message names them)."""


@dataclass(frozen=True)
class _Entry:
    filename: str
    path: Path | None  # where the bytes are now (an input, or the file already in the index)
    project: str
    version: str | None
    label: str | None  # variant label of a wheel
    variants_of: str | None  # version a ``*-variants.json`` describes
    sha256: str  # "" only for a server's file listed without a hash (side index)
    size: int  # -1: unknown (a server's file listed without a size)
    metadata: bytes | None
    metadata_sha256: str | None
    requires_python: str | None
    href: str  # relative to simple/<project>/


def _wheel_member(path: Path, suffix: str, name: str | None = None) -> bytes:
    """A member of a wheel to publish; a missing member or an unreadable wheel is bad input."""
    try:
        return read_zip_member(path, suffix, name or path.name)
    except IndexFetchError as exc:
        raise InvalidInput(str(exc)) from None


def check_archive(path: Path) -> None:
    """The archive rules every varwheel reader applies (zip bombs, duplicate, unsafe or
    encrypted members: ``wheelzip.check_entries``), from the central directory alone. The
    default ``validate_wheel`` of the functions below; ``varwheel index`` and ``publish`` pass
    ``varwheel.build.check.validate_wheel``, which also checks every RECORD hash (the index
    package cannot import the installer's validator: no package cycles)."""
    try:
        with open_zip(path) as archive:
            check_entries(archive.infolist(), path.stat().st_size)
    except ArchiveError as exc:
        raise InvalidInput(f"{path.name}: {exc}") from None


def _read_variants_file(path: Path) -> bytes:
    """A ``*-variants.json`` to publish, at most ``MAX_METADATA_SIZE`` bytes (never a FIFO)."""
    with open(path, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InvalidInput(f"{path}: not a regular file")
        data = fh.read(MAX_METADATA_SIZE + 1)
    if len(data) > MAX_METADATA_SIZE:
        raise InvalidInput(f"{path}: larger than {MAX_METADATA_SIZE} bytes; not variant metadata")
    return data


def _check_metadata_names(filename: str, project: str, version: str, metadata: bytes) -> None:
    headers = BytesHeaderParser().parsebytes(metadata)
    name, ver = headers.get("Name"), headers.get("Version")
    if name is None or canonicalize_name(name) != project:
        raise InvalidInput(
            f"{filename}: METADATA names project {name!r}, the file name {project!r}"
        )
    try:
        same = ver is not None and Version(ver) == Version(version)
    except InvalidVersion:
        same = False
    if not same:
        raise InvalidInput(f"{filename}: METADATA has version {ver!r}, the file name {version!r}")


WheelValidator = Callable[[Path], None]


def _entry(path: Path, validate_wheel: WheelValidator | None = check_archive) -> _Entry:
    kind = file_kind(path.name)
    metadata = requires_python = label = variants_of = None
    version: str | None
    if kind == WHEEL:
        wf = parse_wheel_filename(path.name)
        project, version, label = wf.project, str(wf.version), wf.label
        if validate_wheel is not None:
            validate_wheel(path)
        metadata = _wheel_member(path, ".dist-info/METADATA")
        _check_metadata_names(path.name, canonicalize_name(project), version, metadata)
        requires_python = BytesHeaderParser().parsebytes(metadata).get("Requires-Python")
    elif kind == VARIANTS_JSON:
        project, described = parse_variants_json_filename(path.name)
        variants_of = str(described)
        load_variants_json(_read_variants_file(path), source=str(path))  # refuse invalid ones
        version = None  # not a release file: does not add to PEP 700 "versions"
    elif kind == SDIST and (found := project_and_version(path.name)):
        project, version = found
    else:
        raise InvalidFilename(f"{path}: not a wheel, sdist or *-variants.json file")
    return _Entry(
        path.name,
        path,
        canonicalize_name(project),
        version,
        label,
        variants_of,
        file_digest(path, "sha256"),
        path.stat().st_size,
        metadata,
        hashlib.sha256(metadata).hexdigest() if metadata is not None else None,
        requires_python.strip() if requires_python else None,
        FILES_HREF + quote(path.name),
    )


def _html_page(title: str, rows: Iterable[str]) -> str:
    body = "".join(rows)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}</body>\n</html>\n"
    )


def _project_html(project: str, entries: Sequence[_Entry]) -> str:
    rows = []
    for e in entries:
        href = html.escape(f"{e.href}#sha256={e.sha256}" if e.sha256 else e.href)
        attrs = ""
        if e.requires_python:
            attrs += f' data-requires-python="{html.escape(e.requires_python)}"'
        if e.metadata_sha256 is not None:
            md = f"sha256={e.metadata_sha256}"
            attrs += f' data-core-metadata="{md}" data-dist-info-metadata="{md}"'
        rows.append(f'<a href="{href}"{attrs}>{html.escape(e.filename)}</a><br>\n')
    return _html_page(f"Links for {project}", rows)


def _project_json(project: str, entries: Sequence[_Entry]) -> bytes:
    files = []
    for e in entries:
        item: dict[str, object] = {
            "filename": e.filename,
            "url": e.href,
            "hashes": {"sha256": e.sha256} if e.sha256 else {},
            "yanked": False,
        }
        if e.size >= 0:
            item["size"] = e.size
        if e.requires_python:
            item["requires-python"] = e.requires_python
        if e.metadata_sha256 is not None:
            md = {"sha256": e.metadata_sha256}
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


def _root_html(projects: Iterable[str]) -> bytes:
    rows = (f'<a href="{quote(p)}/">{html.escape(p)}</a><br>\n' for p in sorted(projects))
    return _html_page("Simple index", rows).encode()


def _root_json(projects: Iterable[str]) -> bytes:
    doc = {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": p} for p in sorted(projects)],
    }
    return _json.dumps(doc, indent=1).encode() + b"\n"


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
            assert e.path is not None
            shutil.copyfile(e.path, files_dir / e.filename)
            if e.metadata is not None:
                (files_dir / f"{e.filename}.metadata").write_bytes(e.metadata)
        if html_:
            (page_dir / "index.html").write_text(_project_html(project, entries), "utf-8")
        if json:
            (page_dir / "index.json").write_bytes(_project_json(project, entries))
    if html_:
        (simple / "index.html").write_bytes(_root_html(by_project))
    if json:
        (simple / "index.json").write_bytes(_root_json(by_project))


def _wheel_variant_json(path: Path, label: str, name: str | None = None) -> VariantMetadata:
    data = _wheel_member(path, ".dist-info/variant.json", name)
    return load_wheel_variant_json(data, label, source=name or path.name)


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
                if e.version == version and e.label is not None and e.path is not None
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
        # serves what it is given (tests serve hostile wheels to the installer through it);
        # ``varwheel index build`` is update_index, which validates
        entry = _entry(path, None)
        by_project.setdefault(entry.project, []).append(entry)
    for entries in by_project.values():
        entries.sort(key=lambda e: e.filename)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; an index is meant to be served
    try:
        if generate_variants_json:
            staging = tmp / ".generated"
            staging.mkdir()
            for entry in _generate_variants_json(by_project, staging):
                by_project[entry.project].append(entry)
                by_project[entry.project].sort(key=lambda e: e.filename)
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


# ---------------------------------------------------------------------------------------------
# Inputs: files and artifact directories


def collect_distributions(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """``(distribution files, skipped files)`` of ``paths``: a file is taken as given (and
    checked later); a directory contributes its wheels, sdists and ``*-variants.json`` (not
    recursively; hidden files ignored), anything else in it is returned as skipped."""
    found: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or not child.is_file():
                    continue
                (found if file_kind(child.name) else skipped).append(child)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise InvalidInput(f"{path}: not a regular file")  # a FIFO or device named *.whl
        else:
            raise InvalidInput(f"{path}: no such file or directory")
    return found, skipped


def _read_inputs(
    paths: Iterable[Path], validate_wheel: WheelValidator = check_archive
) -> list[_Entry]:
    """One entry per distinct file name; the same name twice must be the same bytes (a file
    that several CI jobs produced, like the sdist), else the two paths are named."""
    by_name: dict[str, _Entry] = {}
    for path in sorted(Path(p) for p in paths):
        entry = _entry(path, validate_wheel)
        first = by_name.get(entry.filename)
        if first is None:
            by_name[entry.filename] = entry
        elif first.sha256 != entry.sha256:
            raise IndexConflict(
                f"{first.path} and {path}: same file name, different content "
                f"(sha256 {first.sha256[:12]}… vs {entry.sha256[:12]}…)"
            )
    return [by_name[name] for name in sorted(by_name)]


def _variants_docs(entries: Iterable[_Entry], version: str) -> list[VariantMetadata]:
    """Every wheel ``variant.json`` and given ``*-variants.json`` of ``version``; sources are
    file names so that messages and results do not depend on where the inputs lay."""
    docs = []
    for e in entries:
        if e.path is None:
            continue
        if e.label is not None and e.version == version:
            docs.append(_wheel_variant_json(e.path, e.label, e.filename))
        elif e.variants_of == version:
            docs.append(load_variants_json(_read_variants_file(e.path), source=e.filename))
    return docs


def _merged_variants(project: str, version: str, entries: Sequence[_Entry]) -> bytes:
    docs = _variants_docs(entries, version)
    try:
        return dump_json(merge_metadata(docs))
    except (InvalidMetadata, MergeConflict) as err:
        raise IndexConflict(
            f"{project} {version}: variant metadata of the wheels does not merge: {err}"
        ) from None


def _variant_versions(entries: Iterable[_Entry]) -> list[str]:
    found = {e.version for e in entries if e.label is not None and e.version}
    found |= {e.variants_of for e in entries if e.variants_of}
    return sorted(found, key=Version)


# ---------------------------------------------------------------------------------------------
# merge_artifacts: several CI jobs' outputs -> one validated directory


@dataclass(frozen=True)
class MergeResult:
    dest: Path
    files: tuple[str, ...]  # every distribution file in dest afterwards
    variants_json: tuple[str, ...]  # the merged *-variants.json files written
    skipped: tuple[Path, ...]  # non-distribution files in the input directories


def merge_artifacts(
    sources: Iterable[Path], dest: Path, *, validate_wheel: WheelValidator = check_archive
) -> MergeResult:
    """Combine artifact directories (and files) into ``dest``: the union of their files, each
    name once (the same name must be the same bytes), and one ``{name}-{version}-variants.json``
    per version with variant wheels, merged from every wheel's ``variant.json`` and any given
    ``*-variants.json``. Files already in ``dest`` take part. The result does not depend on the
    order of ``sources``. Nothing is written unless everything is consistent
    (:class:`IndexConflict` names the files)."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest}: exists and is not a directory")
    inputs = [Path(p) for p in sources]
    found, skipped = collect_distributions([*inputs, *([dest] if dest.is_dir() else [])])
    entries = _read_inputs(found, validate_wheel)
    generated: dict[str, bytes] = {}
    by_project: dict[str, list[_Entry]] = {}
    for e in entries:
        by_project.setdefault(e.project, []).append(e)
    for project, items in sorted(by_project.items()):
        for version in _variant_versions(items):
            name = variants_json_filename(project, version)
            generated[name] = _merged_variants(project, version, items)
    # all validated: write (each file atomically; identical files are left alone); a new
    # directory is filled aside and renamed into place, so an interrupted merge leaves nothing
    if _fresh(dest):
        with _created_whole(dest) as staging:
            _write_merge(staging, entries, generated)
    else:
        _write_merge(dest, entries, generated)
    names = sorted({e.filename for e in entries} | set(generated))
    return MergeResult(dest, tuple(names), tuple(sorted(generated)), tuple(skipped))


def _write_merge(dest: Path, entries: Sequence[_Entry], generated: dict[str, bytes]) -> None:
    for e in entries:
        if e.variants_of is not None and e.filename in generated:
            continue  # superseded by the merged file of the same name
        target = dest / e.filename
        assert e.path is not None
        if target.exists() and file_digest(target, "sha256") == e.sha256:
            continue
        _copy_atomic(e.path, target)
    for name, data in generated.items():
        target = dest / name
        if not (target.exists() and target.read_bytes() == data):
            atomic_write(target, data)


def _copy_atomic(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# update_index: add files to a static index, incrementally and atomically


@dataclass(frozen=True)
class IndexUpdate:
    dest: Path
    added: tuple[str, ...]  # distribution files new in the index
    unchanged: tuple[str, ...]  # inputs already in the index, byte-identical
    variants_json: tuple[str, ...]  # *-variants.json written (paths relative to dest)
    pages: tuple[str, ...]  # pages rewritten (relative to dest)
    skipped: tuple[Path, ...]  # non-distribution files in the input directories


def _is_index(dest: Path) -> bool:
    return (dest / "simple" / "index.json").is_file() or (dest / "simple" / "index.html").is_file()


def _inside(root: Path, page_dir: Path, href: str) -> Path:
    """The local file an existing page links (relative URL), refused if outside ``root``."""
    if "://" in href or href.startswith("/"):
        raise InvalidInput(f"{page_dir}: links {href!r}, not a file of this index")
    target = Path(posixpath.normpath(posixpath.join(page_dir.as_posix(), unquote(href))))
    resolved, base = target.resolve(), root.resolve()
    if base not in resolved.parents:
        raise InvalidInput(f"{page_dir}: links {href!r}, outside the index")
    return target


def _existing_entries(dest: Path, project: str, *, remote_ok: bool = False) -> list[_Entry]:
    """The files a project page of ``dest`` lists, read from its ``index.json``; with
    ``remote_ok`` (a side index) absolute links are kept (``path`` None)."""
    page_dir = dest / "simple" / project
    page = page_dir / "index.json"
    if not page.is_file():
        if (page_dir / "index.html").is_file():
            raise InvalidInput(
                f"{page_dir}: has no index.json; rebuild this index with "
                "`varwheel index build` (it writes both forms)"
            )
        return []
    try:
        doc = _json.loads(page.read_bytes())
        out = []
        for item in doc["files"]:
            filename = item["filename"]
            found = project_and_version(filename)
            kind = file_kind(filename)
            label = variants_of = None
            version: str | None = found[1] if found else None
            if kind == WHEEL:
                label = parse_wheel_filename(filename).label
                version = str(parse_wheel_filename(filename).version)
            elif kind == VARIANTS_JSON:
                variants_of, version = str(parse_variants_json_filename(filename)[1]), None
            md = item.get("core-metadata") or item.get("dist-info-metadata")
            remote = remote_ok and item["url"].startswith(("http://", "https://"))
            out.append(
                _Entry(
                    filename,
                    None if remote else _inside(dest, page_dir, item["url"]),
                    project,
                    version,
                    label,
                    variants_of,
                    item["hashes"].get("sha256"),
                    int(item.get("size", -1)),
                    None,
                    md["sha256"] if isinstance(md, dict) else None,
                    item.get("requires-python"),
                    item["url"],
                )
            )
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidInput(f"{page}: not a project page varwheel can update ({err})") from None
    return out


def _existing_projects(dest: Path) -> set[str]:
    simple = dest / "simple"
    if not simple.is_dir():
        return set()
    return {
        p.name
        for p in simple.iterdir()
        if p.is_dir() and ((p / "index.json").is_file() or (p / "index.html").is_file())
    }


def _variants_entry(project: str, version: str, data: bytes) -> _Entry:
    name = variants_json_filename(project, version)
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{VARIANTS_DIR}/{digest[:16]}/{name}"
    return _Entry(
        name,
        None,
        project,
        None,
        None,
        version,
        digest,
        len(data),
        None,
        None,
        None,
        FILES_HREF + quote(rel),
    )


def _write_if_changed(path: Path, data: bytes, written: list[str], root: Path) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    atomic_write(path, data)
    written.append(path.relative_to(root).as_posix())


class IndexBusy(VarwheelError):
    """Another varwheel process is writing the same index (exit 1)."""


LOCK_NAME = ".varwheel-index.lock"
LOCK_TIMEOUT_S = 60.0


@contextlib.contextmanager
def index_lock(dest: Path, timeout: float | None = None) -> Iterator[None]:
    """Exclusive lock on an existing index directory while it is read and updated, so that two
    runs cannot each switch the pages to their own view (POSIX ``flock``; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(dest / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        deadline = time.monotonic() + (LOCK_TIMEOUT_S if timeout is None else timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusy(
                        f"{dest}: another varwheel process is writing this index "
                        f"(lock {dest / LOCK_NAME})"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _remove_stale_temps(dest: Path) -> None:
    """Temporary files a killed run left (``.<name>.<random>.tmp``); only called under the lock."""
    for folder in (dest / "files", dest / "simple"):
        if folder.is_dir():
            for tmp in folder.rglob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


def update_index(
    paths: Iterable[Path], dest: Path, *, validate_wheel: WheelValidator = check_archive
) -> IndexUpdate:
    """Add the distribution files of ``paths`` (files or artifact directories) to the static
    index at ``dest`` (created when missing; an existing non-index directory must be empty).

    Validated before anything is written: every file name, every wheel's METADATA and
    ``variant.json``, a file name already in the index must carry the same bytes (file names are
    immutable, as on PyPI), and each touched version's variant metadata -- old and new wheels and
    any given ``*-variants.json`` -- must merge (PEP 825). Raises :class:`InvalidInput` naming the
    files; ``dest`` is then byte-for-byte unchanged.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest}: exists and is not a directory")
    if dest.is_dir() and not _is_index(dest) and any(dest.iterdir()):
        raise InvalidInput(f"{dest}: not empty and not a static index (no simple/index.html)")
    if _fresh(dest):
        # a new index: built aside and renamed into place, so that an interrupted run leaves
        # nothing behind (a half-built directory would block the next run as "not an index")
        with _created_whole(dest) as staging:
            update = _update_index(paths, staging, validate_wheel)
        return dataclasses.replace(update, dest=dest)
    with index_lock(dest):
        return _update_index(paths, dest, validate_wheel)


def _fresh(dest: Path) -> bool:
    """``dest`` is to be created (missing, or an empty directory that is not a symlink)."""
    if dest.is_symlink():
        return False
    return not dest.exists() or (dest.is_dir() and not any(dest.iterdir()))


@contextlib.contextmanager
def _created_whole(dest: Path) -> Iterator[Path]:
    """A hidden sibling of ``dest`` to fill; renamed to ``dest`` (missing or an empty
    directory) when the block succeeds, removed whatever happens otherwise (Ctrl-C included).
    Made with ``mkdir`` (the umask's permissions, as ``dest`` itself would get), not mkdtemp."""
    import secrets

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.varwheel-new"
    staging.mkdir()
    try:
        yield staging
        try:
            os.rename(staging, dest)  # replaces an empty directory, never a non-empty one
        except OSError as exc:
            raise InvalidInput(f"{dest}: cannot create it: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _update_index(
    paths: Iterable[Path], dest: Path, validate_wheel: WheelValidator = check_archive
) -> IndexUpdate:
    found, skipped = collect_distributions(paths)
    if not found:
        raise InvalidInput("no wheel, sdist or *-variants.json file among the inputs")
    new_entries = _read_inputs(found, validate_wheel)
    touched: dict[str, list[_Entry]] = {}
    for e in new_entries:
        touched.setdefault(e.project, [])
    existing = {p: _existing_entries(dest, p) for p in touched}
    added: list[_Entry] = []
    unchanged: list[str] = []
    pages_entries: dict[str, list[_Entry]] = {}
    generated: list[tuple[_Entry, bytes]] = []
    for project in sorted(touched):
        old = {e.filename: e for e in existing[project]}
        mine = [e for e in new_entries if e.project == project]
        merged = dict(old)
        # Given *-variants.json files only feed the merge: the index lists the merged file.
        given = [e for e in mine if e.variants_of is not None]
        for e in mine:
            before = old.get(e.filename)
            if e.variants_of is not None:
                continue
            if before is None:
                merged[e.filename] = e
                added.append(e)
            elif before.sha256 != e.sha256:
                raise IndexConflict(
                    f"{e.path}: {e.filename} is already in {dest} with different content "
                    f"(sha256 {before.sha256[:12]}… vs {e.sha256[:12]}…); file names cannot be reused"
                )
            else:
                unchanged.append(e.filename)
        versions = {e.version for e in mine if e.label is not None and e.version}
        versions |= {e.variants_of for e in mine if e.variants_of}
        for version in sorted(versions, key=Version):
            data = _merged_variants(project, version, [*merged.values(), *given])
            digest = hashlib.sha256(data).hexdigest()
            current = [e for e in merged.values() if e.variants_of == version]
            if len(current) == 1 and current[0].sha256 == digest:
                continue  # unchanged: the page keeps its link
            for e in current:
                del merged[e.filename]
            entry = _variants_entry(project, version, data)
            merged[entry.filename] = entry
            generated.append((entry, data))
        pages_entries[project] = sorted(merged.values(), key=lambda e: e.filename)
    # ---- everything is valid: write, files first and pages last
    dest.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(dest)
    if not (dest / LOCK_NAME).exists():  # part of the index from its creation on
        (dest / LOCK_NAME).write_bytes(b"")
    files_dir = dest / "files"
    for e in added:
        assert e.path is not None
        _copy_atomic(e.path, files_dir / e.filename)
        if e.metadata is not None:
            atomic_write(files_dir / f"{e.filename}.metadata", e.metadata)
    written_json: list[str] = []
    for entry, data in generated:
        rel = unquote(entry.href[len(FILES_HREF) :])
        _write_if_changed(files_dir / rel, data, written_json, dest)
    pages: list[str] = []
    for project, entries in sorted(pages_entries.items()):
        page_dir = dest / "simple" / project
        _write_if_changed(page_dir / "index.json", _project_json(project, entries), pages, dest)
        html_page = _project_html(project, entries).encode()
        _write_if_changed(page_dir / "index.html", html_page, pages, dest)
    projects = _existing_projects(dest) | set(pages_entries)
    _write_if_changed(dest / "simple" / "index.json", _root_json(projects), pages, dest)
    _write_if_changed(dest / "simple" / "index.html", _root_html(projects), pages, dest)
    return IndexUpdate(
        dest,
        tuple(e.filename for e in added),
        tuple(sorted(unchanged)),
        tuple(written_json),
        tuple(pages),
        tuple(skipped),
    )


# ---------------------------------------------------------------------------------------------
# update_side_index: the variant metadata a server cannot host, beside the server's own files


@dataclass(frozen=True)
class RemoteFile:
    """A file as the upload server lists it (absolute URL) for a side index page."""

    filename: str
    url: str
    sha256: str | None
    size: int | None
    requires_python: str | None = None


def update_side_index(
    dest: Path, project: str, remote: Sequence[RemoteFile], variants: dict[str, bytes]
) -> IndexUpdate:
    """Write the side index of ``project`` at ``dest``: a project page listing the server's
    files by absolute URL (``remote``, as the server lists them now) and one
    ``*-variants.json`` per version, stored here (``variants``: version -> merged bytes; the
    files of versions not given stay). For servers that cannot host ``*-variants.json``
    (pypiserver, devpi-server): an installer pointed at ``dest/simple/`` reads the variant
    metadata from here and downloads the wheels from the server; pip and uv see the same
    wheels. Same atomicity as :func:`update_index`."""
    dest = Path(dest)
    if dest.is_dir() and not _is_index(dest) and any(dest.iterdir()):
        raise InvalidInput(f"{dest}: not empty and not a static index (no simple/index.html)")
    dest.mkdir(parents=True, exist_ok=True)
    with index_lock(dest):
        _remove_stale_temps(dest)
        return _update_side_index(dest, canonicalize_name(project), remote, variants)


def _update_side_index(
    dest: Path, project: str, remote: Sequence[RemoteFile], variants: dict[str, bytes]
) -> IndexUpdate:
    kept = [
        e
        for e in _existing_entries(dest, project, remote_ok=True)
        if e.variants_of is not None and e.variants_of not in variants
    ]
    entries: dict[str, _Entry] = {e.filename: e for e in kept}
    for f in remote:
        if file_kind(f.filename) == VARIANTS_JSON:
            continue
        found = project_and_version(f.filename)
        entries[f.filename] = _Entry(
            f.filename,
            None,
            project,
            found[1] if found else None,
            None,
            None,
            f.sha256 or "",
            f.size if f.size is not None else -1,
            None,
            None,
            f.requires_python,
            f.url,
        )
    generated = []
    old = {e.variants_of: e for e in _existing_entries(dest, project, remote_ok=True)}
    for version, data in sorted(variants.items()):
        entry = _variants_entry(project, version, data)
        previous = old.get(version)
        if previous is not None and previous.sha256 == entry.sha256:
            entry = previous
        else:
            generated.append((entry, data))
        entries[entry.filename] = entry
    dest.mkdir(parents=True, exist_ok=True)
    written_json: list[str] = []
    for entry, data in generated:
        rel = unquote(entry.href[len(FILES_HREF) :])
        _write_if_changed(dest / "files" / rel, data, written_json, dest)
    ordered = sorted(entries.values(), key=lambda e: e.filename)
    pages: list[str] = []
    page_dir = dest / "simple" / project
    _write_if_changed(page_dir / "index.json", _project_json(project, ordered), pages, dest)
    _write_if_changed(
        page_dir / "index.html", _project_html(project, ordered).encode(), pages, dest
    )
    projects = _existing_projects(dest) | {project}
    _write_if_changed(dest / "simple" / "index.json", _root_json(projects), pages, dest)
    _write_if_changed(dest / "simple" / "index.html", _root_html(projects), pages, dest)
    return IndexUpdate(dest, (), (), tuple(written_json), tuple(pages), ())


@dataclass(frozen=True)
class ValidatedRelease:
    """Distribution files ready to publish: ``files`` (wheels and sdists, one per name; given
    ``*-variants.json`` files only feed ``variants``), ``variants`` maps ``(project, version)`` to
    the merged ``*-variants.json`` bytes, ``skipped`` the non-distribution files of the inputs."""

    files: tuple[Path, ...]
    variants: dict[tuple[str, str], bytes]
    skipped: tuple[Path, ...]


def validate_release(
    paths: Iterable[Path], *, validate_wheel: WheelValidator = check_archive
) -> ValidatedRelease:
    """The checks of :func:`update_index` without an index: names, METADATA, one file name one
    content, and each version's variant metadata merged (raises :class:`InvalidInput`)."""
    found, skipped = collect_distributions(paths)
    if not found:
        raise InvalidInput("no wheel, sdist or *-variants.json file among the inputs")
    entries = _read_inputs(found, validate_wheel)
    variants: dict[tuple[str, str], bytes] = {}
    by_project: dict[str, list[_Entry]] = {}
    for e in entries:
        by_project.setdefault(e.project, []).append(e)
    for project, items in sorted(by_project.items()):
        for version in _variant_versions(items):
            variants[(project, version)] = _merged_variants(project, version, items)
    files = tuple(e.path for e in entries if e.variants_of is None and e.path is not None)
    return ValidatedRelease(files, variants, tuple(skipped))
