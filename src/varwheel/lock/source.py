"""A lock file as a ``resolve.source.DistributionSource``: the files a lock lists, and nothing
else, so an install from a lock runs through the same execute step (download, verify against
what chose the wheel, one transaction) as any other install.

Each project has exactly the wheels its locked version lists (``project_files``); its core
metadata is what the lock kept (name, version, the Requires-Dist the dependency set was
computed from) and its variant metadata the inline ``[packages.variants-json]``. A download
reads only the listed file: a ``path`` (relative to the lock's directory) or ``file:`` URL is
copied while hashed, a remote URL fetched with its locked sha256, and every file must have
the size and sha256 the lock records (``LockMismatch`` otherwise). Nothing is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.codes import MetadataRoute
from varwheel.index.models import IndexFile, ProgressEvent, VariantSource
from varwheel.lock.model import InvalidLock, LockedPackage, LockedWheel, LockFile, is_file_url
from varwheel.lock.plan import fetch
from varwheel.lock.select import Planned

__all__ = ["LockSource", "locked_file"]

Progress = Callable[[ProgressEvent], None]


def locked_file(package: LockedPackage, wheel: LockedWheel) -> IndexFile:
    """The ``IndexFile`` a locked wheel stands for (its URL, or its path as given)."""
    return IndexFile(
        wheel.filename.filename,
        wheel.url or wheel.path or "",
        {"sha256": wheel.sha256},
        requires_python=package.requires_python,
        size=wheel.size,
        index="lock",
    )


class LockSource:
    """The files of one lock (``lock_dir``: where its relative paths start). ``client`` fetches
    remote URLs (an ``IndexClient`` with no index: only the listed files are read); without
    one, a remote URL is refused."""

    max_workers = 1

    def __init__(
        self, lock: LockFile, items: Sequence[Planned], *, lock_dir: Path, client: object = None
    ) -> None:
        self.lock = lock
        self.lock_dir = lock_dir
        self.client = client
        self._items = {item.wheel.filename.filename: item for item in items}

    warnings: tuple[str, ...] = ()

    @classmethod
    def for_items(cls, lock: LockFile, items: Sequence[Planned], *, lock_dir: Path) -> LockSource:
        """A source for ``items``, with an HTTP client (no index, the download cache) only
        when one of their files is a remote URL."""
        client = None
        if any(i.wheel.url and not is_file_url(i.wheel.url) for i in items):
            from varwheel.index.client import IndexClient
            from varwheel.settings import default_cache_dir

            client = IndexClient(no_index=True, cache_dir=default_cache_dir())
        return cls(lock, items, lock_dir=lock_dir, client=client)

    def locations(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ((), (self.lock.source,))

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        pkg = self.lock.by_name().get(canonicalize_name(name))
        if pkg is None:
            return ()
        return tuple(locked_file(pkg, w) for w in pkg.wheels)

    def core_metadata(self, file: IndexFile) -> bytes:
        item = self._item(file)
        lines = [
            "Metadata-Version: 2.1",
            f"Name: {item.package.name}",
            f"Version: {item.package.version}",
        ]
        lines += [f"Requires-Dist: {r}" for r in item.package.requires_dist_of(item.wheel)]
        return ("\n".join(lines) + "\n").encode()

    def variant_metadata(
        self, name: str, version: Version, files: Sequence[IndexFile]
    ) -> VariantSource:
        pkg = self.lock.by_name().get(canonicalize_name(name))
        md = pkg.variants if pkg is not None and pkg.version == version else None
        return VariantSource(md, MetadataRoute.INDEX, self.lock.source)

    def download(self, file: IndexFile, dest_dir: Path, progress: Progress | None = None) -> Path:
        return self.download_many([file], dest_dir, progress)[0]

    def download_many(
        self, files: Sequence[IndexFile], dest_dir: Path, progress: Progress | None = None
    ) -> tuple[Path, ...]:
        items = [self._item(f) for f in files]
        paths = fetch(items, dest_dir, lock_dir=self.lock_dir, client=self.client)
        if progress is not None:
            for file, path in zip(files, paths, strict=True):
                size = path.stat().st_size
                progress(ProgressEvent(file, size, size, True))
        return tuple(paths)

    def build_wheel(self, file: IndexFile, build_dir: Path, *, isolated: bool) -> Path:
        raise InvalidLock(f"{self.lock.source}: {file.filename}: a lock lists wheels only")

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def _item(self, file: IndexFile) -> Planned:
        item = self._items.get(file.filename)
        if item is None:
            raise InvalidLock(f"{self.lock.source}: {file.filename} is not a chosen locked wheel")
        return item
