"""On-disk caches: HTTP responses revalidated by ETag/Last-Modified, and wheels keyed by URL+hash.

Every write goes to a temporary file in the same directory and is renamed into place, so a
reader never sees a partial entry and concurrent writers of one key simply race to the rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from varwheel.fsutil import atomic_write

_FORMAT = 1


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    url: str
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None

    def validators(self) -> dict[str, str]:
        """Headers that make the server answer 304 when the cached body is still current."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class HttpCache:
    """Index pages and ``*-variants.json`` keyed by URL: one file per URL, header line + body."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, url: str) -> Path:
        key = _key(url)
        return self.root / key[:2] / key

    def load(self, url: str) -> CachedResponse | None:
        try:
            raw = self._path(url).read_bytes()
        except OSError:
            return None
        header, sep, body = raw.partition(b"\n")
        try:
            meta = json.loads(header)
        except ValueError:
            return None
        if (
            not sep
            or not isinstance(meta, dict)
            or meta.get("format") != _FORMAT
            or meta.get("url") != url
            or meta.get("sha256") != hashlib.sha256(body).hexdigest()
        ):
            return None  # torn, foreign or older entry: behave as a miss
        return CachedResponse(
            url, body, meta.get("etag"), meta.get("last_modified"), meta.get("content_type")
        )

    def store(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        etag, modified = headers.get("etag"), headers.get("last-modified")
        if not etag and not modified:
            return  # nothing to revalidate with: caching would only risk staleness
        meta = {
            "format": _FORMAT,
            "url": url,
            "etag": etag,
            "last_modified": modified,
            "content_type": headers.get("content-type"),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        with contextlib.suppress(OSError):  # a read-only or full cache only loses the entry
            atomic_write(self._path(url), json.dumps(meta).encode() + b"\n" + body)


class WheelCache:
    """Downloaded files keyed by (URL, published hashes); only files with a known hash are kept."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, url: str, hashes: Mapping[str, str], filename: str) -> Path | None:
        if not hashes:
            return None
        key = _key(url + "\n" + "\n".join(f"{k}={v}" for k, v in sorted(hashes.items())))
        return self.root / key[:2] / key / filename

    def put(self, path: Path, source: Path) -> None:
        """Copy ``source`` (already hash-verified) into the cache at ``path``, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def put_bytes(self, path: Path, data: bytes) -> None:
        atomic_write(path, data)
