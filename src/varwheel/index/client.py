"""The index client: project pages from indexes and find-links, fetches, downloads, wheel members.

Multiple indexes (``--index-url`` then each ``--extra-index-url``): the default strategy is
``first-index`` (uv's default): the first index that lists any file of a project is the only
index used for it, so a same-named project on a later index cannot shadow it (dependency
confusion). An index that fails (not 404) before a hit is an error, because skipping it could
silently pick another index's project. ``unsafe-best-match`` merges every index (pip's
behaviour); failing indexes then become warnings unless all of them fail.
``--find-links`` files are always added: they are the user's own explicit locations.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from varwheel.errors import IndexFetchError, InstallError, InvalidIndexPage, InvalidInput
from varwheel.index import range_zip
from varwheel.index.auth import AuthOptions
from varwheel.index.cache import HttpCache, WheelCache
from varwheel.index.dists import belongs_to, is_safe_filename
from varwheel.index.findlinks import files_in_directory
from varwheel.index.hashes import check_bytes, file_digest, mismatch, pick_hash
from varwheel.index.http import (
    HttpSession,
    Response,
    file_url_path,
    is_file_url,
    split_credentials,
)
from varwheel.index.links import ParsedFiles, filename_of
from varwheel.index.models import IndexFile, ProgressEvent
from varwheel.spec.filenames import is_project_name
from varwheel.threads import DaemonExecutor

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
FIRST_INDEX = "first-index"
UNSAFE_BEST_MATCH = "unsafe-best-match"
INDEX_STRATEGIES = (FIRST_INDEX, UNSAFE_BEST_MATCH)

MEMBER_LOCAL = "local"
MEMBER_CACHE = "cache"
MEMBER_RANGE = "range"
MEMBER_WHOLE = "whole"

Progress = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class MemberResult:
    """A wheel member and how it was obtained: ``local``, ``cache``, ``range`` or ``whole``."""

    data: bytes
    route: str


def parse_page(resp: Response, source: str) -> ParsedFiles:
    """Dispatch on the response's media type (PEP 691 content negotiation)."""
    from varwheel.index.html import files_from_html
    from varwheel.index.json_api import HTML_V1, JSON_V1, files_from_json

    media = resp.media_type
    if media == JSON_V1 or media == "application/json":
        return files_from_json(resp.body, resp.url, source)
    if media in ("text/html", HTML_V1, ""):
        return files_from_html(resp.body, resp.url, source)
    raise InvalidIndexPage(f"{resp.url}: unsupported content type {media!r} for a project page")


_PAGE_WARNINGS_SHOWN = 3


def _page_warnings(warnings: Sequence[str], index: str, page: str) -> list[str]:
    """A project page's warnings name that page, not the index root, and a page with many
    problems says how many more there are instead of one line each."""
    named = [
        f"{page}: {w[len(index) + 2 :]}" if w.startswith(f"{index}: ") else w for w in warnings
    ]
    if len(named) <= _PAGE_WARNINGS_SHOWN + 1:
        return named
    more = len(named) - _PAGE_WARNINGS_SHOWN
    return [*named[:_PAGE_WARNINGS_SHOWN], f"{page}: … and {more} more links ignored on this page"]


def _as_location(text: str | os.PathLike[str]) -> tuple[str, tuple[str, str] | None]:
    """An index or find-links location as a URL without credentials, and the credentials.

    Local paths become ``file://`` URLs; anything but ``http(s)://`` and ``file:`` is an error.
    """
    text = os.fspath(text)
    if "://" not in text and not text.startswith("file:"):
        return Path(text).resolve().as_uri(), None
    shown = re.sub(r"//[^/]*@", "//***@", text)  # never echo a password
    try:
        url, creds = split_credentials(text)
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise InvalidInput(f"{shown}: not a valid URL ({exc})") from None
    if scheme not in ("http", "https", "file"):
        raise InvalidInput(
            f"{shown}: an index or find-links URL must be http://, https:// or file:"
        )
    return url, creds


class IndexClient:
    """Reads project files from indexes and find-links; thread-safe; use as a context manager."""

    def __init__(
        self,
        index_urls: Sequence[str] = (DEFAULT_INDEX_URL,),
        extra_index_urls: Sequence[str] = (),
        find_links: Sequence[str | os.PathLike[str]] = (),
        no_index: bool = False,
        cache_dir: Path | None = None,
        *,
        index_strategy: str = FIRST_INDEX,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_workers: int = 8,
        refresh: bool = False,
        project_indexes: Mapping[str, Sequence[str]] | None = None,
        auth: AuthOptions | None = None,
        cert: str | None = None,
        client_cert: str | None = None,
    ) -> None:
        """``project_indexes`` pins projects (canonical names) to their own indexes, searched
        instead of the general ones (named indexes, docs/configuration.md); ``auth``, ``cert``
        and ``client_cert`` go to the ``HttpSession``."""
        if index_strategy not in INDEX_STRATEGIES:
            raise InvalidInput(
                f"index strategy {index_strategy!r}: must be one of {', '.join(INDEX_STRATEGIES)}"
            )
        credentials: dict[str, tuple[str, str]] = {}

        def location(text: str | os.PathLike[str]) -> str:
            url, creds = _as_location(text)
            if creds:
                credentials[urlsplit(url).netloc.lower()] = creds
            return url

        urls = () if no_index else tuple(map(location, (*index_urls, *extra_index_urls)))
        self.index_urls = tuple(dict.fromkeys(u if u.endswith("/") else u + "/" for u in urls))
        self.find_links = tuple(map(location, find_links))
        self.project_indexes = {
            canonicalize_name(name): tuple(
                dict.fromkeys(u if u.endswith("/") else u + "/" for u in map(location, urls))
            )
            for name, urls in (project_indexes or {}).items()
        }
        self.index_strategy = index_strategy
        self.max_workers = max(1, max_workers)
        cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.wheel_cache = WheelCache(cache_dir / "wheels") if cache_dir else None
        self.session = HttpSession(
            cache=HttpCache(cache_dir / "http") if cache_dir else None,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            pool_size=max(10, self.max_workers),
            credentials=credentials,
            refresh=refresh,  # revalidate cached pages even while fresh (--refresh)
            auth=auth,
            cert=cert,
            client_cert=client_cert,
        )
        self._lock = threading.Lock()
        self._find_links_lock = threading.Lock()
        self._projects: dict[str, tuple[IndexFile, ...]] = {}
        self._find_links_files: tuple[IndexFile, ...] | None = None
        self._warnings: list[str] = []

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    @property
    def warnings(self) -> tuple[str, ...]:
        """Links that were skipped (unsafe names) and indexes that failed but were not fatal."""
        with self._lock:
            return tuple(self._warnings)

    def _warn(self, messages: Iterable[str]) -> None:
        with self._lock:
            self._warnings.extend(m for m in messages if m not in self._warnings)

    # -- project pages -------------------------------------------------------------------------

    def project_files(self, name: str) -> tuple[IndexFile, ...]:
        """Every distribution file of a project (PEP 503 name normalisation), memoised."""
        if not is_project_name(name):  # the name becomes a URL path segment: no %2e%2e, no /
            raise InvalidInput(f"{name!r}: not a valid project name (PEP 508)")
        project = canonicalize_name(name)
        with self._lock:
            if project in self._projects:
                return self._projects[project]
        files = [*self._index_files(project), *self._local_files(project)]
        unique = tuple({f.url: f for f in files}.values())
        with self._lock:
            self._projects[project] = unique
        return unique

    def _index_files(self, project: str) -> list[IndexFile]:
        found: list[IndexFile] = []
        failures: list[IndexFetchError | InvalidIndexPage] = []
        indexes = self.project_indexes.get(project, self.index_urls)
        for index in indexes:
            try:
                parsed = self._project_page(index, project)
            except (IndexFetchError, InvalidIndexPage) as exc:
                if self.index_strategy == FIRST_INDEX:
                    raise
                failures.append(exc)
                continue
            if parsed is None:
                continue
            self._warn(_page_warnings(parsed.warnings, index, f"{index}{project}/"))
            found.extend(f for f in parsed.files if belongs_to(f.filename, project))
            if found and self.index_strategy == FIRST_INDEX:
                break
        if failures:
            if len(failures) == len(indexes) and not self.find_links:
                raise failures[0]
            self._warn(str(exc) for exc in failures)
        return found

    def _project_page(self, index: str, project: str) -> ParsedFiles | None:
        from varwheel.index.json_api import ACCEPT

        resp = self.session.get(f"{index}{project}/", accept=ACCEPT, use_cache=True)
        if resp.status == 404:
            return None
        return parse_page(resp, index)

    def _local_files(self, project: str) -> list[IndexFile]:
        with self._find_links_lock:  # listed once, even when threads ask at the same time
            if self._find_links_files is None:
                parsed = [self._read_find_links(loc) for loc in self.find_links]
                self._warn(w for p in parsed for w in p.warnings)
                self._find_links_files = tuple(f for p in parsed for f in p.files)
            listed = self._find_links_files
        return [f for f in listed if belongs_to(f.filename, project)]

    def _read_find_links(self, location: str) -> ParsedFiles:
        if is_file_url(location):
            path = file_url_path(location)
            if path.is_dir():
                return files_in_directory(path, location)
            if not path.is_file():
                # pip's habit: a missing --find-links location is ignored with a warning
                return ParsedFiles(
                    (),
                    (
                        f"find-links location {path} is ignored: it is neither a file nor a directory",
                    ),
                )
        resp = self.session.get(location, accept="text/html")
        if resp.status == 404:
            raise IndexFetchError(f"{location}: find-links page not found (HTTP 404)")
        from varwheel.index.html import files_from_html

        return files_from_html(resp.body, resp.url, location)

    # -- fetching ------------------------------------------------------------------------------

    def fetch(self, url: str, hashes: Mapping[str, str] | None = None) -> bytes:
        """A small file (``*-variants.json``, ``.metadata``): HTTP-cached, hash-checked."""
        resp = self.session.get(url, use_cache=True)
        if resp.status == 404:
            raise IndexFetchError(f"{url}: not found (HTTP 404)")
        check_bytes(resp.body, hashes or {}, filename_of(url) or url)
        return resp.body

    def core_metadata(self, file: IndexFile) -> bytes:
        """The wheel's METADATA: the PEP 658 ``.metadata`` file when listed, else from the wheel."""
        if file.metadata_url:
            return self.fetch(file.metadata_url, file.metadata_hashes)
        return self.read_wheel_member(file, ".dist-info/METADATA")

    def _cache_entry(self, file: IndexFile) -> Path | None:
        """Where the wheel cache keeps ``file`` (None: no cache, a local file or no hash)."""
        if self.wheel_cache is None or is_file_url(file.url):
            return None
        return self.wheel_cache.path_for(file.url, file.hashes, file.filename)

    def _cached_wheel(self, file: IndexFile) -> Path | None:
        """The verified cached copy of ``file``, if the wheel cache has one."""
        path = self._cache_entry(file)
        if path is None or not path.is_file():
            return None
        picked = pick_hash(file.hashes)
        if picked and file_digest(path, picked[0]) != picked[1].lower():
            with contextlib.suppress(OSError):
                path.unlink()  # corrupt entry: download again
            return None
        return path

    def download(self, file: IndexFile, dest_dir: Path, progress: Progress | None = None) -> Path:
        """Download ``file`` into ``dest_dir``; hash-checked, cached, written atomically.

        A file the wheel cache can hold is streamed into the cache (hashed on the way) and
        hard-linked into ``dest_dir``: one write per wheel, none when it is cached already
        (a copy where links are impossible). Cached files are never written in place. A write
        that fails (disk full, file size limit) is an ``InstallError`` naming the file."""
        return self._download(file, Path(dest_dir), progress, _PartFiles())

    def _download(
        self, file: IndexFile, dest_dir: Path, progress: Progress | None, parts: _PartFiles
    ) -> Path:
        if not is_safe_filename(file.filename):
            raise IndexFetchError(
                f"{file.url}: refusing to write file name {file.filename!r} (not a plain name)"
            )
        if not dest_dir.is_dir():  # a stat: mkdir of an existing directory costs far more
            dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / file.filename
        cached = self._cached_wheel(file)
        entry = self._cache_entry(file) if cached is None else None
        if cached is None and entry is not None:
            try:
                cached = self._stream_into_cache(file, entry, parts, progress)
            except _WriteFailed as exc:
                if _full_here_too(exc.error, entry.parent, dest_dir):
                    raise _cannot_write(entry, exc.error) from None
            except OSError:
                pass  # the cache directory is unusable: download without it
        if cached is not None:
            _place(cached, dest, parts)
            size = os.stat(dest).st_size
        else:
            fd, tmp_name = parts.create(dest_dir, file.filename)
            try:
                size = self._stream_to(file, fd, parts, progress)
                parts.keep(tmp_name, dest, result=True)
            except _WriteFailed as exc:
                raise _cannot_write(dest, exc.error) from None
            finally:
                parts.drop(tmp_name)
        if progress:
            progress(ProgressEvent(file, size, size, done=True))
        return dest

    def _stream_into_cache(
        self, file: IndexFile, entry: Path, parts: _PartFiles, progress: Progress | None
    ) -> Path:
        """Stream ``file`` into the wheel cache at ``entry`` (hash-checked before it is renamed
        into place). An ``OSError`` (the cache directory unwritable) or ``_WriteFailed`` (full)
        leaves the caller to decide; a failed download or a hash mismatch is raised as usual."""
        entry.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_parts(entry)
        fd, tmp_name = parts.create(entry.parent, entry.name)
        try:
            self._stream_to(file, fd, parts, progress)
            os.chmod(tmp_name, 0o444)  # linked out of the cache: never edited in place
            parts.keep(tmp_name, entry)
        finally:
            parts.drop(tmp_name)
        return entry

    def _stream_to(
        self, file: IndexFile, fd: int, parts: _PartFiles, progress: Progress | None
    ) -> int:
        """Stream ``file`` into ``fd`` (closed here); a failed write is ``_WriteFailed``, and a
        batch abandoned meanwhile stops the download at the next chunk (``_Abandoned``)."""
        picked = pick_hash(file.hashes)
        hasher = hashlib.new(picked[0]) if picked else None
        written = 0

        def sink(chunk: bytes) -> None:
            nonlocal written
            if parts.abandoned:
                raise _Abandoned(file.filename)
            written += len(chunk)
            if file.size is not None and written > file.size:  # PEP 700 ``size``
                raise IndexFetchError(
                    f"{file.url}: download is larger than the {file.size} bytes the index lists"
                )
            try:
                _write_all(fd, chunk)
            except OSError as exc:
                raise _WriteFailed(exc) from None
            if hasher is not None:
                hasher.update(chunk)

        def report(done: int, total: int | None) -> None:
            if progress:
                progress(ProgressEvent(file, done, total))

        try:
            size = self.session.stream(file.url, sink, report)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        try:
            os.close(fd)  # where a network file system reports a full disk
        except OSError as exc:
            raise _WriteFailed(exc) from None
        if picked and hasher is not None and hasher.hexdigest() != picked[1].lower():
            raise mismatch(file.filename, picked[0], picked[1], hasher.hexdigest())
        return size

    def download_many(
        self,
        files: Iterable[IndexFile],
        dest_dir: Path,
        progress: Progress | None = None,
    ) -> tuple[Path, ...]:
        """Download in parallel; all or nothing: on any failure (Ctrl-C included) the files
        written here are removed, and the temp files of downloads still running.

        ``progress`` is called from worker threads. A batch of small local files is copied in
        this thread: starting workers costs more than copying a few megabytes.
        """
        files = list(files)
        if not files:
            return ()
        dest_dir = Path(dest_dir)
        parts = _PartFiles()
        if _small_local_batch(files):
            try:
                return tuple(self._download(f, dest_dir, progress, parts) for f in files)
            except BaseException:
                parts.abandon()
                raise
        try:
            with DaemonExecutor(min(self.max_workers, len(files)), "varwheel-download") as pool:
                futures = [pool.submit(self._download, f, dest_dir, progress, parts) for f in files]
                _, pending = wait(futures, return_when=FIRST_EXCEPTION)
                failed = next((f for f in futures if f.done() and f.exception()), None)
                if failed is not None:
                    for fut in pending:
                        fut.cancel()
                    wait(futures)
        except BaseException:
            # Ctrl-C in this thread: the workers are abandoned, maybe blocked on a stalled
            # socket for the whole read timeout, so their files are removed here
            parts.abandon()
            raise
        if failed is not None:
            parts.abandon()
            raise failed.exception()  # type: ignore[misc]
        return tuple(f.result() for f in futures)

    # -- wheel members -------------------------------------------------------------------------

    def read_wheel_member(self, file: IndexFile, member_suffix: str) -> bytes:
        """One member of a wheel (e.g. ``.dist-info/variant.json``) without a whole download."""
        return self.read_wheel_member_routed(file, member_suffix).data

    def read_wheel_member_routed(self, file: IndexFile, member_suffix: str) -> MemberResult:
        if is_file_url(file.url):
            return MemberResult(
                range_zip.read_zip_member(file_url_path(file.url), member_suffix, file.filename),
                MEMBER_LOCAL,
            )
        cached = self._cached_wheel(file)
        if cached is not None:
            return MemberResult(
                range_zip.read_zip_member(cached, member_suffix, file.filename), MEMBER_CACHE
            )
        read = range_zip.read_member(
            lambda rng: self.session.get_range(file.url, rng), member_suffix, file.filename
        )
        if read.whole is None:
            return MemberResult(read.data, MEMBER_RANGE)
        check_bytes(read.whole, file.hashes, file.filename)
        entry = self._cache_entry(file)
        if entry is not None and self.wheel_cache is not None:
            with contextlib.suppress(OSError):
                self.wheel_cache.put_bytes(entry, read.whole)
        return MemberResult(read.data, MEMBER_WHOLE)


# a ``.part`` file untouched this long belongs to no live download (one is written to at least
# every read timeout): a run that was killed (SIGKILL, power loss) left it behind
STALE_PART_SECONDS = 6 * 3600
_NO_ROOM = frozenset(
    n for n in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if n is not None
)


class _WriteFailed(Exception):
    """Writing a download's temp file failed (disk full, file size limit). Not an ``OSError``,
    so that the reader of a ``file:`` source cannot take it for a failure to read."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Abandoned(Exception):
    """A download worker's batch was abandoned (Ctrl-C in the main thread): it stops here."""


_SMALL_LOCAL_BATCH = 32 * 1024 * 1024


def _small_local_batch(files: Sequence[IndexFile]) -> bool:
    """Every file local and all of them together small (a missing file: let the download say)."""
    total = 0
    for file in files:
        if not is_file_url(file.url):
            return False
        try:
            total += os.stat(file_url_path(file.url)).st_size
        except (OSError, ValueError):
            return False
        if total > _SMALL_LOCAL_BATCH:
            return False
    return True


class _PartFiles:
    """The ``.part`` files one batch of downloads is writing, and the files it has written.

    Ctrl-C reaches the main thread while a daemon worker may be blocked on a stalled socket and
    never get to its own cleanup: ``abandon`` removes every file of the batch for it. Creating
    and renaming happen under the lock and are refused once abandoned, so none appears later.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._results: list[str] = []
        self.abandoned = False

    def create(self, directory: Path, name: str) -> tuple[int, str]:
        with self._lock:
            if self.abandoned:
                raise _Abandoned(name)
            fd, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
            self._paths.add(path)
        return fd, path

    def adopt(self, path: str) -> str:
        """Count ``path``, made by the caller, among the batch's temp files."""
        with self._lock:
            if not self.abandoned:
                self._paths.add(path)
                return path
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise _Abandoned(path)

    def keep(self, path: str, final: Path, *, result: bool = False) -> None:
        """Rename the finished ``path`` to ``final``; a ``result`` is removed by ``abandon``."""
        with self._lock:
            if self.abandoned:
                raise _Abandoned(path)
            os.replace(path, final)
            self._paths.discard(path)
            if result:
                self._results.append(os.fspath(final))

    def drop(self, path: str) -> None:
        """Remove ``path`` unless it was kept (or removed already)."""
        with self._lock:
            if path not in self._paths:
                return
            self._paths.discard(path)
        with contextlib.suppress(OSError):
            os.unlink(path)

    def abandon(self) -> None:
        with self._lock:
            self.abandoned = True
            paths = [*self._paths, *self._results]
            self._paths, self._results = set(), []
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _cannot_write(path: Path, error: OSError) -> InstallError:
    return InstallError(f"{path}: cannot write: {error.strerror or error}")


def _full_here_too(error: OSError, cache_dir: Path, dest_dir: Path) -> bool:
    """True when a write that failed in the wheel cache would fail in ``dest_dir`` as well: the
    same file system is full (or over quota, or past the file size limit): no second download."""
    if error.errno not in _NO_ROOM:
        return False
    try:
        return os.stat(cache_dir).st_dev == os.stat(dest_dir).st_dev
    except OSError:
        return False


def _sweep_stale_parts(entry: Path) -> None:
    """Remove the ``.part`` files of ``entry`` that a killed run left (an entry has its own
    directory: nothing else is touched)."""
    cutoff = time.time() - STALE_PART_SECONDS
    with contextlib.suppress(OSError), os.scandir(entry.parent) as found:
        for item in found:
            if not (item.name.startswith(f".{entry.name}.") and item.name.endswith(".part")):
                continue
            with contextlib.suppress(OSError):
                if item.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(item.path)


_PLACED = itertools.count()


def _place(source: Path, dest: Path, parts: _PartFiles) -> None:
    """``dest`` made, atomically, a hard link to ``source`` (a copy across file systems or where
    links are refused)."""
    linked = str(dest.with_name(f".{dest.name}.{os.getpid()}.{next(_PLACED)}.part"))
    try:
        os.link(source, linked)
    except OSError:
        fd, tmp = parts.create(dest.parent, dest.name)
        os.close(fd)
    else:
        tmp = parts.adopt(linked)
    try:
        if tmp != linked:
            shutil.copyfile(source, tmp)
        parts.keep(tmp, dest, result=True)
    finally:
        parts.drop(tmp)
