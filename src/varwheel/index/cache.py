"""On-disk caches: HTTP responses (fresh for ``Cache-Control: max-age``, then revalidated by
ETag/Last-Modified), and wheels keyed by URL+hash.

Freshness follows RFC 9111 for a private cache, as pip (CacheControl) and uv do: a response with
``max-age=N`` is served without asking the server for N seconds (less its ``Age``), then
revalidated; ``no-cache`` means revalidate every time; ``no-store`` means never keep it. No
heuristic freshness: a response without ``max-age`` is revalidated on every use, as before.

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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from varwheel.fsutil import atomic_write

_FORMAT = 1
# A ``max-age`` past a year is read as a year: a mistyped header must not pin a page forever.
_MAX_FRESHNESS = 365 * 24 * 3600


def _directives(headers: Mapping[str, str]) -> dict[str, str]:
    """``Cache-Control`` directives, lowercased (``max-age`` -> its value, flags -> "")."""
    out: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            out.setdefault(name.strip().lower(), value.strip().strip('"'))
    return out


def freshness(headers: Mapping[str, str]) -> float | None:
    """Seconds a response stays fresh from now, or None when it must be revalidated before
    each use (no ``max-age``, ``no-cache``, a malformed value)."""
    cc = _directives(headers)
    if "no-cache" in cc or "no-store" in cc:
        return None
    value = cc.get("max-age", "")
    if not value.isdigit() or len(value) > 12:
        return None
    age = headers.get("age", "").strip()
    lifetime = min(int(value), _MAX_FRESHNESS) - (
        int(age) if age.isdigit() and len(age) < 13 else 0
    )
    return float(lifetime) if lifetime > 0 else None


def storable(headers: Mapping[str, str]) -> bool:
    return "no-store" not in _directives(headers)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    url: str
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    final_url: str | None = None  # after redirects: links on the page resolve against it
    fresh_until: float | None = None  # time.time() until which it is served without asking

    def is_fresh(self, now: float | None = None) -> bool:
        return (
            self.fresh_until is not None
            and (time.time() if now is None else now) < self.fresh_until
        )

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
        until = meta.get("fresh_until")
        final = meta.get("final_url")
        return CachedResponse(
            url,
            body,
            meta.get("etag"),
            meta.get("last_modified"),
            meta.get("content_type"),
            final if isinstance(final, str) else None,
            float(until) if isinstance(until, (int, float)) else None,
        )

    def store(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        final_url: str | None = None,
        now: float | None = None,
    ) -> None:
        """Keep a 200 answer: with a validator to revalidate it, or a ``max-age`` to serve it
        from; never one marked ``no-store`` (an earlier entry for the URL is dropped then)."""
        if not storable(headers):
            with contextlib.suppress(OSError):
                os.unlink(self._path(url))
            return
        etag, modified = headers.get("etag"), headers.get("last-modified")
        lifetime = freshness(headers)
        if not etag and not modified and lifetime is None:
            return  # nothing to revalidate with: caching would only risk staleness
        now = time.time() if now is None else now
        meta = {
            "format": _FORMAT,
            "url": url,
            "final_url": final_url if final_url and final_url != url else None,
            "etag": etag,
            "last_modified": modified,
            "content_type": headers.get("content-type"),
            "fresh_until": None if lifetime is None else now + lifetime,
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        with contextlib.suppress(OSError):  # a read-only or full cache only loses the entry
            atomic_write(self._path(url), json.dumps(meta).encode() + b"\n" + body)

    def revalidated(
        self, cached: CachedResponse, headers: Mapping[str, str], *, now: float | None = None
    ) -> None:
        """A 304 for ``cached``: its headers update the entry (RFC 9111 §4.3.4), so a new
        ``max-age`` makes it fresh again; nothing is written when nothing would change."""
        lifetime = freshness(headers)
        if lifetime is None and cached.fresh_until is None and storable(headers):
            return
        merged = {
            "etag": headers.get("etag") or cached.etag or "",
            "last-modified": headers.get("last-modified") or cached.last_modified or "",
            "content-type": cached.content_type or "",
        }
        merged.update({k: v for k, v in headers.items() if k in ("cache-control", "age")})
        self.store(
            cached.url,
            cached.body,
            {k: v for k, v in merged.items() if v},
            final_url=cached.final_url,
            now=now,
        )


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
