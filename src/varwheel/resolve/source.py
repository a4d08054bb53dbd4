"""Where the resolver gets distributions: the source protocol between ``resolve/`` and ``index/``.

The resolver asks a :class:`DistributionSource` for four things and nothing else: a project's
files, a wheel's core metadata, a release's variant metadata, and the files themselves
(downloaded, or for an sdist built into a wheel). It runs unchanged over an HTTP index,
find-links pages and directories, a local static index (all :class:`IndexSource` over
``index.client.IndexClient``) and, in tests or for a lock file, an in-memory set of wheels
(:class:`MemorySource`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.errors import IndexFetchError
from varwheel.index.models import IndexFile, ProgressEvent, VariantSource

if TYPE_CHECKING:
    from varwheel.index.client import IndexClient

__all__ = ["DistributionSource", "IndexSource", "MemorySource", "as_source"]

Progress = Callable[[ProgressEvent], None]


@runtime_checkable
class DistributionSource(Protocol):
    """What resolution and installation read. Implementations are thread-safe: pages and
    metadata are prefetched from worker threads."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Non-fatal problems met so far (skipped links, failed extra indexes)."""
        ...

    def locations(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(indexes, find-links locations) searched, for "not found" messages."""
        ...

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        """Every file of a project (wheels, sdists, ``*-variants.json``); none: ``()``."""
        ...

    def core_metadata(self, file: IndexFile) -> bytes:
        """A wheel's METADATA (PEP 658 file, or from the wheel)."""
        ...

    def variant_metadata(
        self, name: str, version: Version, files: Sequence[IndexFile]
    ) -> VariantSource:
        """The release's variant metadata and the route it came by (``*-variants.json``, else
        every labelled wheel's ``variant.json`` merged)."""
        ...

    def download(self, file: IndexFile, dest_dir: Path, progress: Progress | None = None) -> Path:
        """The file, hash-checked, under ``dest_dir``."""
        ...

    def download_many(
        self, files: Sequence[IndexFile], dest_dir: Path, progress: Progress | None = None
    ) -> tuple[Path, ...]:
        """Several files (all or nothing), in the order given."""
        ...

    def build_wheel(self, file: IndexFile, build_dir: Path, *, isolated: bool) -> Path:
        """A non-variant wheel built from the sdist ``file`` (PEP 817 §8.3), under ``build_dir``."""
        ...

    def close(self) -> None: ...


class IndexSource:
    """Indexes, find-links and local static indexes, through one ``IndexClient``."""

    def __init__(self, client: IndexClient) -> None:
        self.client = client

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.client.warnings)

    @property
    def max_workers(self) -> int:
        return int(self.client.max_workers)

    def locations(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (
            tuple(getattr(self.client, "index_urls", ())),
            tuple(getattr(self.client, "find_links", ())),
        )

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        return self.client.project_files(name)

    def core_metadata(self, file: IndexFile) -> bytes:
        return self.client.core_metadata(file)

    def variant_metadata(
        self, name: str, version: Version, files: Sequence[IndexFile]
    ) -> VariantSource:
        from varwheel.index.variants import variant_metadata_for

        return variant_metadata_for(self.client, name, version, list(files))

    def download(self, file: IndexFile, dest_dir: Path, progress: Progress | None = None) -> Path:
        return self.client.download(file, dest_dir, progress)

    def download_many(
        self, files: Sequence[IndexFile], dest_dir: Path, progress: Progress | None = None
    ) -> tuple[Path, ...]:
        return tuple(self.client.download_many(list(files), dest_dir, progress))

    def build_wheel(self, file: IndexFile, build_dir: Path, *, isolated: bool) -> Path:
        from varwheel.resolve.sdist import build_wheel_from_sdist

        archive = self.client.download(file, build_dir / "sdists")
        return build_wheel_from_sdist(archive, build_dir / "wheels", isolated=isolated)

    def close(self) -> None:
        self.client.close()

    def variants_elsewhere(self, name: str) -> tuple[VariantsElsewhere, ...]:
        """Configured indexes that were not used for ``name`` (``first-index`` took it from an
        earlier index, or it is pinned to another) but list variant wheels of it: for explain's
        note on pip's ``--extra-index-url VARIANT_INDEX`` habit. Failures are skipped: this is
        advice, never a reason to stop."""
        from varwheel.errors import InvalidFilename, InvalidIndexPage
        from varwheel.index.client import parse_page
        from varwheel.index.dists import belongs_to
        from varwheel.index.json_api import ACCEPT
        from varwheel.spec.filenames import parse_wheel_filename

        client = self.client
        project = canonicalize_name(name)
        pinned = getattr(client, "project_indexes", {})
        if project in pinned:
            # its files come only from its own index: its name is never sent to the others
            # (a private project's name on a public index invites dependency confusion)
            return ()
        used = {f.index for f in client.project_files(project)}
        configured = dict.fromkeys(
            [*client.index_urls, *(u for urls in pinned.values() for u in urls)]
        )
        found: list[VariantsElsewhere] = []
        for index in configured:
            if index in used:
                continue
            try:
                resp = client.session.get(f"{index}{project}/", accept=ACCEPT, use_cache=True)
                if resp.status == 404:
                    continue
                parsed = parse_page(resp, index)
            except (IndexFetchError, InvalidIndexPage):
                continue
            labels: dict[Version, set[str]] = {}
            for file in parsed.files:
                if not file.is_wheel or not belongs_to(file.filename, project):
                    continue
                try:
                    wheel = parse_wheel_filename(file.filename)
                except InvalidFilename:
                    continue
                if wheel.label is not None:
                    labels.setdefault(wheel.version, set()).add(wheel.label)
            if labels:
                newest = max(labels)
                found.append(
                    VariantsElsewhere(
                        index,
                        str(newest),
                        tuple(sorted(labels[newest])),
                        pinned=project in pinned,
                        used=tuple(sorted(u for u in used if u)),
                    )
                )
        return tuple(found)


@dataclass(frozen=True)
class VariantsElsewhere:
    """Variant wheels of a project on an index that was not used for it."""

    index: str
    version: str  # the newest version with variant wheels there
    labels: tuple[str, ...]
    pinned: bool  # the project is pinned (--index-for) to another index
    used: tuple[str, ...]  # where its files came from instead


def as_source(obj: DistributionSource | IndexClient) -> DistributionSource:
    """A source for ``obj``: an ``IndexClient`` is wrapped in an :class:`IndexSource`."""
    from varwheel.index.client import IndexClient

    if isinstance(obj, IndexClient):
        return IndexSource(obj)
    return obj


class MemorySource:
    """Distributions held in memory: ``files`` maps a filename (a wheel, an sdist or a
    ``*-variants.json``) to its bytes. Each file is listed with its sha256 under the URL
    ``memory:///FILENAME``; metadata is read from the wheels themselves (route "per-wheel
    variant.json (local files)"). For tests, and for callers that already hold the files."""

    max_workers = 4

    def __init__(self, files: Mapping[str, bytes] | Iterable[Path]) -> None:
        if isinstance(files, Mapping):
            self._data = {str(k): bytes(v) for k, v in files.items()}
        else:
            self._data = {p.name: p.read_bytes() for p in files}
        self._files = {
            name: IndexFile(
                name,
                f"memory:///{name}",
                {"sha256": hashlib.sha256(data).hexdigest()},
                size=len(data),
                index="memory",
            )
            for name, data in self._data.items()
        }
        self.requests: list[tuple[str, str]] = []  # (operation, filename): what was read

    warnings: tuple[str, ...] = ()

    def locations(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ((), ("memory",))

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        from varwheel.index.dists import belongs_to

        project = canonicalize_name(name)
        self.requests.append(("page", project))
        return tuple(f for n, f in sorted(self._files.items()) if belongs_to(n, project))

    def _bytes(self, url: str) -> tuple[str, bytes]:
        name = url.removeprefix("memory:///")
        if name not in self._data:
            raise IndexFetchError(f"{url}: not in this source")
        return name, self._data[name]

    # what ``index.variants.variant_metadata_for`` reads through
    def fetch(self, url: str, hashes: Mapping[str, str] | None = None) -> bytes:
        name, data = self._bytes(url)
        self.requests.append(("fetch", name))
        return data

    def read_wheel_member_routed(self, file: IndexFile, member_suffix: str) -> object:
        from varwheel.index.client import MEMBER_LOCAL, MemberResult
        from varwheel.index.range_zip import read_zip_member

        name, data = self._bytes(file.url)
        self.requests.append(("member", name))
        return MemberResult(read_zip_member(io.BytesIO(data), member_suffix, name), MEMBER_LOCAL)

    def core_metadata(self, file: IndexFile) -> bytes:
        from varwheel.index.range_zip import read_zip_member

        name, data = self._bytes(file.url)
        self.requests.append(("metadata", name))
        return read_zip_member(io.BytesIO(data), ".dist-info/METADATA", name)

    def variant_metadata(
        self, name: str, version: Version, files: Sequence[IndexFile]
    ) -> VariantSource:
        from varwheel.index.variants import variant_metadata_for

        return variant_metadata_for(self, name, version, list(files))  # type: ignore[arg-type]

    def download(self, file: IndexFile, dest_dir: Path, progress: Progress | None = None) -> Path:
        name, data = self._bytes(file.url)
        self.requests.append(("download", name))
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / name
        tmp = path.with_name(f".{name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
        if progress is not None:
            progress(ProgressEvent(file, len(data), len(data), True))
        return path

    def download_many(
        self, files: Sequence[IndexFile], dest_dir: Path, progress: Progress | None = None
    ) -> tuple[Path, ...]:
        return tuple(self.download(f, dest_dir, progress) for f in files)

    def build_wheel(self, file: IndexFile, build_dir: Path, *, isolated: bool) -> Path:
        from varwheel.resolve.sdist import build_wheel_from_sdist

        archive = self.download(file, build_dir / "sdists")
        return build_wheel_from_sdist(archive, build_dir / "wheels", isolated=isolated)

    def close(self) -> None:
        pass
