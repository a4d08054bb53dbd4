"""What an install from a lock changes, and how its files are read: the pieces
``lock.source.LockSource`` and ``varwheel.api.lock`` build on.

Only the listed files are read: a ``path`` (relative to the lock's directory) is copied while
hashed, a ``url`` downloaded (no index page is fetched). Every file must have the size and
sha256 the lock records (``LockMismatch`` otherwise); ``api.execute`` then checks that its
``variant.json`` gives its label the properties the lock's ``[packages.variants-json]`` gives
it, and its METADATA the Requires-Dist the lock kept (the dependency set was computed from
it), before anything is installed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.utils import NormalizedName

from varwheel.errors import HashMismatch, IndexFetchError
from varwheel.fsutil import NotARegularFile, open_regular
from varwheel.index.models import IndexFile
from varwheel.lock.model import InvalidLock, LockMismatch, is_file_url
from varwheel.lock.select import LockPlan, Planned
from varwheel.resolve.candidates import Candidate
from varwheel.spec.validation import printable

CHUNK = 1 << 16


@dataclass(frozen=True)
class Work:
    """What an install from a lock changes: the plan's items minus those already installed as
    locked (same version and variant label), unless reinstalling."""

    install: tuple[Planned, ...]
    keep: tuple[Planned, ...]


def work_for(plan: LockPlan, installed: Mapping[NormalizedName, object], *, force: bool) -> Work:
    todo, keep = [], []
    for item in plan.items:
        dist = installed.get(item.name)
        same = (
            dist is not None
            and getattr(dist, "version", None) == str(item.package.version)
            and getattr(dist, "variant_label", None) == item.label
        )
        (keep if same and not force else todo).append(item)
    return Work(tuple(todo), tuple(keep))


def fetch(
    items: Sequence[Planned], dest: Path, *, lock_dir: Path, client: object | None
) -> list[Path]:
    """Each item's wheel as a verified local file under ``dest`` (same order as ``items``)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for item in items:
        wheel = item.wheel
        name = wheel.filename.filename
        target = dest / name
        if wheel.path is not None:
            source = Path(wheel.path)
            if not source.is_absolute():
                source = lock_dir / source
            _copy_hashed(source, target, item)
        elif wheel.url is not None and is_file_url(wheel.url):
            _copy_hashed(local_file_url(wheel.url, item.name), target, item)
        else:
            if client is None:
                raise InvalidLock(f"{item.name}: {name} has a URL but no HTTP client was given")
            file = IndexFile(name, wheel.url or "", {"sha256": wheel.sha256}, size=wheel.size)
            try:
                got = client.download(file, dest)  # type: ignore[attr-defined]
            except HashMismatch as exc:
                raise LockMismatch(
                    f"{item.name}: {exc} (the lock or the file was tampered with)"
                ) from None
            except IndexFetchError:
                raise
            target = got
            _check_file(target, item)
        out.append(target)
    return out


def local_file_url(url: str, name: str) -> Path:
    """The local path of a ``file:`` URL; RFC 8089: a host other than ``localhost`` names
    another machine, never a local file."""
    parts = urlparse(url)
    if parts.netloc not in ("", "localhost"):
        raise InvalidLock(
            f"{name}: {printable(url)}: a file: URL on host {printable(parts.netloc)!r} "
            "is not a local file"
        )
    return Path(unquote(parts.path))


def _copy_hashed(source: Path, target: Path, item: Planned) -> None:
    """Copy ``source`` while hashing it. A lock is untrusted input: only a regular file is
    read (a FIFO or device named like a wheel would block or never end; the check is on the
    opened descriptor, so a file swapped in after a check is still caught), and never more
    than the size the lock records."""
    digest = hashlib.sha256()
    size = 0
    limit = item.wheel.size
    shown = printable(str(source))
    try:
        opened = open_regular(source)
    except NotARegularFile:
        raise InvalidLock(
            f"{item.name}: {shown} is not a regular file; nothing installed"
        ) from None
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidLock(f"{item.name}: cannot read {shown}: {printable(why)}") from None
    with opened as src:
        try:
            with target.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise LockMismatch(
                            f"{item.wheel.filename.filename}: {shown} is larger than the "
                            f"{limit} bytes the lock says (the lock or the file was tampered "
                            "with); nothing installed"
                        )
                    dst.write(chunk)
        except OSError as exc:
            raise InvalidLock(f"{item.name}: cannot read {shown}: {exc.strerror or exc}") from None
    _compare(item, digest.hexdigest(), size)


def _check_file(path: Path, item: Planned) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    _compare(item, digest.hexdigest(), path.stat().st_size)


def _compare(item: Planned, sha256: str, size: int) -> None:
    wheel = item.wheel
    name = wheel.filename.filename
    if sha256 != wheel.sha256:
        # the file's own digest is not shown: a hostile lock may point at a local file
        # whose hash should not end up in a (public CI) log
        raise LockMismatch(
            f"{name}: its sha256 is not the {wheel.sha256} the lock says "
            "(the lock or the file was tampered with); nothing installed"
        )
    if wheel.size is not None and size != wheel.size:
        raise LockMismatch(
            f"{name}: {size} bytes but the lock says {wheel.size}; nothing installed"
        )


def candidate_of(item: Planned) -> Candidate:
    return Candidate(
        item.name,
        item.package.version,
        None,
        item.wheel.filename,
        item.label,
        tuple(item.properties),
        item.marker_properties,
        item.decided_by,
    )


def protected_names(
    installed: Mapping[NormalizedName, object],
    marker_env: Mapping[str, str],
    roots: frozenset[str],
) -> frozenset[str]:
    """``roots`` (the tools that manage an environment) and everything they need as installed
    (their Requires-Dist, followed): removing ``packaging`` from under the varwheel that runs
    a sync would break it. ``installed`` maps names to ``install.installed.InstalledDist``."""
    import re

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    env = {**dict(marker_env), "extra": ""}
    keep: set[str] = set()
    todo = [n for n in roots if n in installed]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        for line in getattr(installed[name], "requires_dist", ()):  # type: ignore[index]
            # a line packaging cannot read (variant markers, PEP 825) or a marker it cannot
            # evaluate: keep the named distribution, to be safe
            try:
                req: Requirement | None = Requirement(line)
                name_text = req.name  # type: ignore[union-attr]
            except InvalidRequirement:
                found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
                if found is None:
                    continue
                req, name_text = None, found.group(1)
            try:
                applies = req is None or req.marker is None or req.marker.evaluate(env)
            except (ValueError, LookupError):
                applies = True
            dep = canonicalize_name(name_text)
            if applies and dep in installed:
                todo.append(dep)
    return frozenset(keep | roots)
