"""pip-style requirements files (``-r``/``-c``, index options, ``--hash``) and requirements that
name a wheel by path or direct URL."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from varwheel.errors import InvalidInput
from varwheel.resolve.hashes import HASH_ALGORITHMS
from varwheel.resolve.requirement import parse_requirement
from varwheel.safeparse import path_problem, too_long_number_reason
from varwheel.spec.validation import printable

if TYPE_CHECKING:
    from varwheel.index.models import IndexFile
    from varwheel.spec.filenames import WheelFilename


@dataclass(frozen=True)
class RequirementsFile:
    """What a pip-style requirements file says: requirements, ``-c`` constraints (with their
    ``FILE:LINE``) and the index options pip accepts there."""

    requirements: tuple[Requirement, ...] = ()
    constraints: tuple[tuple[Requirement, str], ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    # pip's per-line ``--hash=algo:hex``: (canonical name, "algo:hex") pairs
    hashes: tuple[tuple[NormalizedName, str], ...] = ()
    # lines naming a wheel by path or ``name @ URL``: the file is the project's only candidate
    direct: tuple[str, ...] = ()
    require_hashes: bool = False  # pip's --require-hashes option line

    def __add__(self, other: RequirementsFile) -> RequirementsFile:
        return RequirementsFile(
            self.requirements + other.requirements,
            self.constraints + other.constraints,
            other.index_url or self.index_url,
            self.extra_index_urls + other.extra_index_urls,
            self.find_links + other.find_links,
            self.no_index or other.no_index,
            self.pre or other.pre,
            self.hashes + other.hashes,
            self.direct + other.direct,
            self.require_hashes or other.require_hashes,
        )


def _split_hashes(line: str, where: str) -> tuple[str, tuple[str, ...]]:
    """``req --hash=sha256:abc --hash sha256:def`` -> ("req", ("sha256:abc", "sha256:def"))."""
    head, *rest = line.split(" --hash")
    found = []
    for part in rest:
        value = part.strip().lstrip("=").strip()
        algo, _, digest = value.partition(":")
        if (
            algo not in HASH_ALGORITHMS
            or not digest
            or not all(c in "0123456789abcdefABCDEF" for c in digest)
        ):
            raise InvalidInput(
                f"{where}: --hash {value!r}: expected sha256:HEX (or sha384, sha512)"
            )
        found.append(f"{algo}:{digest.lower()}")
    return head.strip(), tuple(found)


# option -> (takes a value, RequirementsFile field); both spellings of each, as pip's
_FILE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-i": "index_url",
    "--index-url": "index_url",
    "--extra-index-url": "extra_index_url",
    "-f": "find_links",
    "--find-links": "find_links",
    "--no-index": "no_index",
    "--pre": "pre",
    "--require-hashes": "require_hashes",
}
_FLAGS = ("no_index", "pre", "require_hashes")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, line) with ``\\`` continuations joined and comments cut."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = lineno
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        line = "".join([*pending, raw])
        pending = []
        if line.lstrip().startswith("#"):
            continue
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line:
            out.append((start, line))
    if pending:
        line = "".join(pending).split(" #", 1)[0].strip()
        if line:
            out.append((start, line))
    return out


_ENV_VAR = r"\$\{([A-Z0-9_]+)\}"


def _expand_env(line: str) -> str:
    """pip's ``${VAR}`` in requirements files (POSIX names in capitals; unset ones stay)."""

    return re.sub(_ENV_VAR, lambda m: os.environ.get(m.group(1), m.group(0)), line)


def _split_option(line: str) -> tuple[str, str]:
    if line.startswith("--") and "=" in line.split(None, 1)[0]:
        key, _, value = line.partition("=")
        return key, value.strip()
    key, _, value = line.partition(" ")
    if key not in _FILE_OPTIONS and line[:2] in ("-r", "-c", "-i", "-f") and len(key) > 2:
        return line[:2], line[2:].strip()  # pip also accepts -rfile.txt
    return key, value.strip()


def parse_requirements_file(
    path: Path,
    *,
    constraint: bool = False,
    _seen: frozenset[Path] = frozenset(),
    _included_at: str | None = None,
) -> RequirementsFile:
    """A pip-style requirements (or, with ``constraint``, constraints) file: one requirement per
    line, ``#`` comments, ``\\`` continuations, ``-r``/``-c`` includes and pip's index options
    (``-i``, ``--extra-index-url``, ``-f``, ``--no-index``, ``--pre``). An include that cannot
    be read is reported at the ``FILE:LINE`` that names it."""
    at = f"{_included_at}: " if _included_at else ""
    problem = path_problem(str(path))
    if problem is not None:
        raise InvalidInput(f"{at}{printable(str(path))}: cannot read requirements file: {problem}")
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
        raise InvalidInput(
            f"{at}{printable(str(path))}: cannot read requirements file: {_why(err)}"
        ) from None
    if path in _seen:
        raise InvalidInput(f"{at}{printable(str(path))}: requirements file includes itself")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidInput(
            f"{at}{printable(str(path))}: cannot read requirements file: {_why(err)}"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{at}{printable(str(path))}: not a UTF-8 text file") from None
    result = RequirementsFile()
    for lineno, raw_line in _logical_lines(text):
        where = f"{printable(str(path))}:{lineno}"
        line = _expand_env(raw_line)
        if not line.startswith("-"):
            line, hashes = _split_hashes(line, where)
            try:
                found = None if constraint else direct_wheel(line)
            except InvalidInput as err:
                raise InvalidInput(f"{where}: {err}") from err
            req = found[0] if found else parse_requirement(line, source=where)
            if found:
                result += RequirementsFile(direct=(line,))
            if hashes and not constraint:
                name = canonicalize_name(req.name)
                result += RequirementsFile(hashes=tuple((name, h) for h in hashes))
            if constraint:
                if req.url:
                    raise InvalidInput(f"{where}: a constraint cannot be a direct reference")
                result += RequirementsFile(constraints=((req, where),))
            else:
                result += RequirementsFile(requirements=(req,))
            continue
        key, value = _split_option(line)
        field_name = _FILE_OPTIONS.get(key)
        if field_name is None:
            raise InvalidInput(f"{where}: unsupported option line {line!r}")
        if (field_name in _FLAGS) != (not value):
            raise InvalidInput(f"{where}: {key} {'takes no' if value else 'needs a'} value")
        if field_name in ("requirement", "constraint"):
            include = Path(value)
            if not include.is_absolute():
                include = path.parent / include
            result += parse_requirements_file(
                include,
                constraint=constraint or field_name == "constraint",
                _seen=_seen | {path},
                _included_at=where,
            )
        elif field_name == "index_url":
            result += RequirementsFile(index_url=value)
        elif field_name == "extra_index_url":
            result += RequirementsFile(extra_index_urls=(value,))
        elif field_name == "find_links":
            local = path.parent / value
            is_local = "://" not in value and _exists(local, where, key, value)
            result += RequirementsFile(find_links=(str(local) if is_local else value,))
        else:
            result += RequirementsFile(**{field_name: True})
    return result


def _why(err: OSError | RuntimeError | ValueError) -> str:
    return printable(getattr(err, "strerror", None) or str(err) or type(err).__name__)


def _exists(local: Path, where: str, key: str, value: str) -> bool:
    problem = path_problem(value)
    if problem is not None:
        raise InvalidInput(f"{where}: {key} {value!r}: {problem}")
    try:
        return local.exists()
    except OSError as err:  # ENAMETOOLONG, EACCES on a parent, ...
        raise InvalidInput(f"{where}: {key} {value!r}: {_why(err)}") from None


def _wheel_path(text: str, raw: str, *, resolve: bool = True) -> Path:
    """The absolute path of a wheel named on a line or the command line, or ``InvalidInput``
    (a NUL byte, an unknown ``~user``, a name too long for the file system, ...)."""
    shown = printable(text)
    problem = path_problem(raw)
    if problem is not None:
        raise InvalidInput(f"{shown}: {problem}")
    try:
        path = Path(raw).expanduser().resolve() if resolve else Path(raw)
        if not path.is_file():
            if path.exists():  # a FIFO, a directory, a device named like a wheel
                raise InvalidInput(f"{shown}: {printable(str(path))} is not a regular file")
            raise InvalidInput(f"{shown}: no such wheel file {printable(str(path))}")
    except (OSError, RuntimeError) as err:  # RuntimeError: unknown ~user, symlink loop
        raise InvalidInput(f"{shown}: cannot use {raw!r} as a wheel file: {_why(err)}") from None
    return path


def check_pinned(requirements: Iterable[Requirement]) -> None:
    """pip's ``--require-hashes`` mode: every requirement names one version with ``==`` (or
    ``===``), so that its ``--hash`` values describe exactly what is installed. A wheel given by
    path or URL is pinned to its file's version already."""
    loose = []
    for req in requirements:
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
            loose.append(str(req))
    if loose:
        raise InvalidInput(
            "--require-hashes: every requirement must be pinned with == (and have --hash "
            f"values); not pinned: {', '.join(loose)}"
        )


def read_requirements_file(path: Path) -> list[Requirement]:
    """The requirements of a pip-style requirements file (options and constraints aside)."""
    return list(parse_requirements_file(path).requirements)


@functools.cache
def direct_wheel(text: str) -> tuple[Requirement, IndexFile] | None:
    """A wheel named by path or by a PEP 508 direct reference (``name[extras] @ URL``):
    ``name==version`` (extras and marker kept) plus the file as the project's only candidate."""
    reason = too_long_number_reason(text)
    if reason is not None:  # its version could never be compared (int() digit limit)
        raise InvalidInput(f"{printable(text[:200])}: holds {reason}")
    if "@" in text:
        ref = _direct_reference(text)
        if ref is not None:
            return ref
    if not text.endswith(".whl"):
        return None
    path = _wheel_path(text, text)
    return _local_wheel(path, text, None)


def _local_wheel(path: Path, text: str, req: Requirement | None) -> tuple[Requirement, IndexFile]:
    import hashlib

    from varwheel.index.models import IndexFile

    wf = _wheel_name(path.name, text, req)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise InvalidInput(
            f"{printable(text)}: cannot read {printable(str(path))}: {_why(err)}"
        ) from None
    file = IndexFile(path.name, path.as_uri(), {"sha256": digest}, index=path.parent.as_uri())
    return _pinned_requirement(wf.project, wf.version, req), file


def _wheel_name(filename: str, text: str, req: Requirement | None) -> WheelFilename:
    from varwheel.spec.filenames import parse_wheel_filename

    wf = parse_wheel_filename(filename)
    if req is not None and canonicalize_name(req.name) != canonicalize_name(wf.project):
        raise InvalidInput(f"{text}: the wheel {filename} is not a distribution of {req.name}")
    return wf


def _pinned_requirement(project: str, version: Version, req: Requirement | None) -> Requirement:
    pinned = Requirement(f"{project}=={version}")
    if req is not None:
        pinned.extras = set(req.extras)
        pinned.marker = req.marker
    return pinned


def _direct_reference(text: str) -> tuple[Requirement, IndexFile] | None:
    """``name @ file:///x.whl`` or ``name @ https://host/x.whl[#sha256=...]``; other direct
    references (sdists, directories, VCS) are refused rather than resolved from the index."""
    import urllib.parse
    import urllib.request

    from varwheel.index.models import IndexFile

    try:
        req = Requirement(text)
    except ValueError:
        return None  # not a requirement: a path with an @, or an error parse_requirement names
    if not req.url:
        return None
    parts = urllib.parse.urlsplit(req.url)
    filename = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])
    if not filename.endswith(".whl") or parts.scheme not in ("file", "http", "https"):
        raise InvalidInput(
            f"{text}: only direct references to wheel files (file://, http(s)://) can be "
            f"installed; build {filename or req.url} into a wheel first"
        )
    if parts.scheme == "file":
        path = _wheel_path(text, urllib.request.url2pathname(parts.path), resolve=False)
        return _local_wheel(path, text, req)
    wf = _wheel_name(filename, text, req)
    hashes = {}
    algo, _, digest = parts.fragment.partition("=")
    if digest and algo in ("sha256", "sha384", "sha512"):
        hashes[algo] = digest.lower()
    from varwheel.index.auth import remember_url_login

    # a user:password@ is the download's login, never part of the URL that is kept (PEP 610)
    url = remember_url_login(urllib.parse.urlunsplit(parts._replace(fragment="")))
    file = IndexFile(filename, url, hashes, index=url.rsplit("/", 1)[0] + "/")
    return _pinned_requirement(wf.project, wf.version, req), file


def requirement_or_wheel(text: str) -> Requirement:
    direct = direct_wheel(text)
    return direct[0] if direct else parse_requirement(text)
