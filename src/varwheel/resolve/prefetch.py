"""Background fetching of what the resolver is about to ask for.

resolvelib asks for one project at a time; each index page and METADATA file is a round trip.
When a candidate's dependencies become known, their pages and, for the version the resolver
will most likely pick, the variant metadata (``*-variants.json`` or per-wheel ``variant.json``)
or the METADATA of its one plain candidate are fetched in parallel. Choosing among variants
needs provider detection, which stays on the resolver's thread. A failed prefetch is forgotten; the resolver
then fetches again itself and reports the error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from varwheel.index.models import IndexFile, VariantSource
from varwheel.resolve.candidates import choose, group_releases, has_tag_compatible_variant
from varwheel.resolve.options import ResolveOptions
from varwheel.threads import DaemonExecutor

if TYPE_CHECKING:
    from varwheel.resolve.source import DistributionSource

T = TypeVar("T")


class Prefetcher:
    def __init__(
        self,
        source: DistributionSource,
        *,
        tags: Sequence[Tag],
        python_version: Version,
        options: ResolveOptions,
        workers: int = 8,
    ) -> None:
        self.source = source
        self.tags = tuple(tags)
        self.python_version = python_version
        self.options = options
        self._pool = DaemonExecutor(workers, "varwheel-prefetch")
        self._lock = threading.Lock()
        self._pages: dict[NormalizedName, Future[tuple[IndexFile, ...]]] = {}
        self._metadata: dict[str, Future[bytes]] = {}
        self._variants: dict[tuple[NormalizedName, Version], Future[VariantSource]] = {}
        # local directories and file: indexes answer at once: threads would only contend for
        # the GIL (a 30-wheel find-links resolution: 37 ms with them, 21 ms without)
        self._closed = _all_local(source)

    def warm(
        self, requirements: Sequence[Requirement], skip: frozenset[str], *, metadata: bool = True
    ) -> None:
        """Start fetching the pages (and, with ``metadata``, likely METADATA) of these
        requirements."""
        if self._closed:
            return
        for req in requirements:
            name = canonicalize_name(req.name)
            if name in skip:
                continue
            with self._lock:
                if name in self._pages:
                    continue
                page: Future[tuple[IndexFile, ...]] = Future()
                self._pages[name] = page
            self._pool.submit(self._fetch, name, req, page, metadata)

    def _fetch(
        self,
        name: NormalizedName,
        req: Requirement,
        page: Future,  # type: ignore[type-arg]
        metadata: bool,
    ) -> None:
        try:
            files = self.source.project_files(name)
        except BaseException as err:  # handed to the resolver thread, which refetches
            page.set_exception(err)
            return
        page.set_result(files)
        with contextlib.suppress(Exception):
            self._guess(name, req, files, metadata=metadata and not self.options.no_deps)

    def _guess(
        self,
        name: NormalizedName,
        req: Requirement,
        files: tuple[IndexFile, ...],
        *,
        metadata: bool,
    ) -> None:
        """For the newest version ``req`` allows: its variant metadata when a tag-compatible
        wheel has a label, else (with ``metadata``) the likely candidate's METADATA."""
        from varwheel.resolve.finder import select_versions

        releases = group_releases(name, files)
        pinned = any(s.operator in ("==", "===") for s in req.specifier)
        versions = select_versions(
            releases,
            req.specifier,
            pinned=pinned,
            allow_prereleases=self.options.allow_prereleases,
            python_version=self.python_version,
        )
        if not versions:
            return
        release = releases[versions[0]]
        prefs = self.options.prefs_for(name)
        labelled = any(wf.label is not None for _, wf in release.wheels)  # cheap test first
        if labelled and has_tag_compatible_variant(release.wheels, self.tags):
            # the choice needs provider detection (resolver thread); the metadata does not
            if not prefs.variants_enabled:
                return
            key = (name, release.version)
            vfut: Future[VariantSource] = Future()
            with self._lock:
                if key in self._variants:
                    return
                self._variants[key] = vfut
            try:
                vfut.set_result(
                    self.source.variant_metadata(name, release.version, list(release.files))
                )
            except BaseException as err:
                vfut.set_exception(err)
            return
        if not metadata:
            return
        choice = choose(
            release,
            metadata=None,
            support=None,
            tags=self.tags,
            prefs=prefs,
            allow_sdists=False,
        )
        cand = choice.candidate
        if cand is None or cand.file is None:
            return
        fut: Future[bytes] = Future()
        with self._lock:
            if cand.file.url in self._metadata:
                return
            self._metadata[cand.file.url] = fut
        try:
            fut.set_result(self.source.core_metadata(cand.file))
        except BaseException as err:
            fut.set_exception(err)

    def page(self, name: NormalizedName) -> tuple[IndexFile, ...] | None:
        """The prefetched page, waiting for it if under way; None if not prefetched or failed."""
        with self._lock:
            fut = self._pages.get(name)
        return _result_or_none(fut)

    def metadata(self, url: str) -> bytes | None:
        with self._lock:
            fut = self._metadata.pop(url, None)
        return _result_or_none(fut)

    def variant_source(self, name: NormalizedName, version: Version) -> VariantSource | None:
        """Prefetched variant metadata of one version; None if not prefetched or failed (the
        caller then reads it itself and reports the error)."""
        with self._lock:
            fut = self._variants.pop((name, version), None)
        return _result_or_none(fut)

    def close(self) -> None:
        # queued fetches still run (a page future must never be left unresolved: the finder
        # may wait on it), but nothing new is started
        self._closed = True
        self._pool.shutdown(wait=False)  # queued fetches still run; nobody waits for them


def _result_or_none(fut: Future[T] | None) -> T | None:
    """A prefetch's result, waiting for it if under way; None if there is none or it failed
    (the caller then fetches by itself and reports the error)."""
    if fut is None:
        return None
    try:
        return fut.result()
    except Exception:
        return None


def _all_local(source: DistributionSource) -> bool:
    """Whether every location of ``source`` is on this machine (``file:`` URLs, an in-memory
    source); a source that cannot say is taken as remote."""
    try:
        indexes, links = source.locations()
    except Exception:
        return False
    return all(str(loc).startswith("file:") for loc in (*indexes, *links))
