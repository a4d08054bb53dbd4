"""HTTP and ``file://`` transport: pooled urllib3 connections, retries, conditional GETs, ranges.

All failures become :class:`IndexFetchError` naming the URL; callers never see urllib3 types.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from varwheel import __version__
from varwheel.errors import IndexFetchError
from varwheel.index.auth import Authenticator, AuthOptions, Login
from varwheel.index.cache import HttpCache

USER_AGENT = f"varwheel/{__version__}"
_RETRY_STATUSES = (500, 502, 503, 504)
CHUNK = 64 * 1024
MAX_BODY = 256 * 1024 * 1024  # the largest PyPI JSON pages are tens of MiB
MAX_WHOLE_WHEEL = 4 * 1024 * 1024 * 1024  # read into memory only when a server ignores Range
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})  # never sent through a proxy
# a server's Retry-After is honoured up to this many seconds per retry: urllib3 would sleep
# hours on a hostile or broken index's answer, whatever --timeout says
MAX_RETRY_AFTER = 10.0
_RETRY_CLASS: list[type] = []

if TYPE_CHECKING:
    import urllib3


def _environment_proxies() -> dict[str, str]:
    """``http``/``https`` proxies as ``urllib.request.getproxies`` finds them. On Linux and
    other Unixes it reads only ``*_proxy`` variables, so without any it is skipped (the module
    costs several milliseconds of an install's start-up); macOS and Windows also ask the
    system configuration."""
    if sys.platform not in ("darwin", "win32") and not any(
        k.lower().endswith("_proxy") for k in os.environ
    ):
        return {}
    from urllib.request import getproxies

    return {k: v for k, v in getproxies().items() if k in ("http", "https")}


@dataclass(frozen=True)
class Response:
    """A finished exchange. ``url`` is the final URL (after redirects); header keys are lowercase."""

    url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    from_cache: bool = False

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_file_url(url: str) -> bool:
    return url.startswith("file:")


def file_url_path(url: str) -> Path:
    path = urlsplit(url).path
    if os.name == "nt":  # drive letters and backslashes
        from nturl2path import url2pathname

        return Path(url2pathname(path))
    return Path(unquote(path))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``https://user:pw@host/simple/`` -> (``https://host/simple/``, (user, pw)).

    Credentials never travel further than the session: URLs kept in files, warnings and error
    messages are the stripped ones.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), (unquote(user), unquote(password))


def _reason(exc: BaseException) -> str:
    """A short reason out of urllib3's nested exception text."""
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    if text.startswith(("HTTPConnection", "HTTPSConnection")) and "): " in text:
        text = text.split("): ", 1)[1]
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip() or type(inner).__name__


class HttpSession:
    """One connection pool shared by every thread of a client."""

    def __init__(
        self,
        *,
        cache: HttpCache | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        pool_size: int = 10,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        max_body: int = MAX_BODY,
        deadline: float | None = None,
        refresh: bool = False,
        auth: AuthOptions | None = None,
        cert: str | None = None,
        client_cert: str | None = None,
    ) -> None:
        """``credentials`` maps a ``host[:port]`` to the (user, password) sent to it (Basic);
        ``auth`` says where else logins come from (``.netrc``, keyring; ``index/auth.py``).
        ``cert``: a CA bundle to verify HTTPS servers with (pip's ``--cert``); ``client_cert``:
        a PEM file with the client certificate and its key (pip's ``--client-cert``).

        ``max_body`` bounds a page or small file (decoded); ``deadline`` (default ten read
        timeouts) bounds the whole time spent reading one. ``refresh`` revalidates every cached
        page even while it is fresh (``--refresh``).
        """
        self.cache = cache
        self.refresh = refresh
        self._max_body = max_body
        self._deadline = deadline if deadline is not None else 10 * timeout
        self.auth = Authenticator(credentials, auth)
        self._tls = (cert, client_cert)
        self._settings = (timeout, retries, backoff, pool_size)
        self._pools: dict[str | None, urllib3.PoolManager] = {}
        self._proxies: dict[str, str] | None = None
        self._pool_lock = threading.Lock()

    def _manager(self, url: str) -> urllib3.PoolManager:
        """The pool for ``url``: direct, or through the ``http_proxy``/``https_proxy`` of the
        environment (``no_proxy`` honoured, loopback always direct). Created on first use, so
        local-only work never imports urllib3."""
        with self._pool_lock:
            if self._proxies is None:
                self._proxies = _environment_proxies()
            parts = urlsplit(url)
            proxy = self._proxies.get(parts.scheme)
            if proxy:
                from urllib.request import proxy_bypass

                host = parts.hostname or ""
                if host in _LOOPBACK or proxy_bypass(host):
                    proxy = None
            if proxy not in self._pools:
                self._pools[proxy] = self._new_manager(proxy)
            return self._pools[proxy]

    def _new_manager(self, proxy: str | None) -> urllib3.PoolManager:
        import urllib3
        from urllib3.util import Retry, Timeout, make_headers

        timeout, retries, backoff, pool_size = self._settings
        retry = _capped_retry(Retry)(
            total=None,  # each kind has its own budget; redirects must not eat retries
            connect=retries,
            redirect=10,
            other=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=_RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
        )
        options = {
            "num_pools": 16,
            "maxsize": pool_size,
            "retries": retry,
            "timeout": Timeout(connect=min(timeout, 10.0), read=timeout),
            "headers": {"User-Agent": USER_AGENT},
        }
        cert, client_cert = self._tls
        if cert:
            options["ca_certs"] = cert
        if client_cert:
            options["cert_file"] = client_cert
        if proxy is None:
            return urllib3.PoolManager(**options)
        bare, creds = split_credentials(proxy)
        auth = make_headers(proxy_basic_auth=":".join(creds)) if creds else None
        return urllib3.ProxyManager(bare, proxy_headers=auth, **options)

    def close(self) -> None:
        with self._pool_lock:
            for pool in self._pools.values():
                pool.clear()

    def _request(
        self, url: str, headers: Mapping[str, str], *, preload: bool = True
    ) -> urllib3.BaseHTTPResponse:
        pool = self._manager(url)
        from urllib3.exceptions import HTTPError

        login = self.auth.login_for(url)
        while True:
            sent = dict(headers)
            if login is not None:  # urllib3 drops it again on a redirect to another host
                sent["Authorization"] = login.header
            try:
                resp = pool.request("GET", url, headers=sent, preload_content=preload)
            except HTTPError as exc:
                raise IndexFetchError(f"{url}: cannot fetch: {_reason(exc)}") from None
            if resp.status != 401:
                return resp
            retry = self.auth.after_unauthorized(url, login)
            if retry is None or retry == login:
                resp.close()
                raise self._refused(url, resp.status, resp.reason, login)
            resp.close()
            login = retry

    def _refused(self, url: str, status: int, reason: str | None, sent: Login | None) -> Exception:
        """HTTP 401/403 as one line naming the index and how to log in."""
        head = f"{url}: HTTP {status} {reason or ''}".rstrip()
        return IndexFetchError(f"{head}: {self.auth.refused_hint(url, status, sent)}")

    def _status_error(self, url: str, resp: urllib3.BaseHTTPResponse, what: str = "") -> Exception:
        if resp.status == 403:
            return self._refused(url, 403, resp.reason, self.auth.login_for(url))
        return IndexFetchError(f"{url}: HTTP {resp.status} {resp.reason or ''}".rstrip() + what)

    @staticmethod
    def _final_url(url: str, resp: urllib3.BaseHTTPResponse) -> str:
        """The URL after redirects (relative links on a page resolve against it)."""
        retries = getattr(resp, "retries", None)
        for step in retries.history if retries else ():
            if step.redirect_location:
                url = urljoin(url, step.redirect_location)
        return url

    @staticmethod
    def _headers(resp: urllib3.BaseHTTPResponse) -> dict[str, str]:
        return {k.lower(): v for k, v in resp.headers.items()}

    def get(self, url: str, *, accept: str | None = None, use_cache: bool = False) -> Response:
        """GET ``url``. Returns 200 and 404 responses; any other failure raises IndexFetchError.

        With ``use_cache``, a cached copy still fresh (``Cache-Control: max-age``) is returned
        without a request (unless ``refresh``); otherwise it is revalidated (If-None-Match /
        If-Modified-Since) and reused on 304. A 200 with a validator or a ``max-age`` is stored
        (never one marked ``no-store``).
        """
        if is_file_url(url):
            return _get_file(url, accept)
        headers = {"Accept-Encoding": "gzip, deflate"}  # pages compress ~10x; urllib3 decodes
        if accept:
            headers["Accept"] = accept
        cached = self.cache.load(url) if (use_cache and self.cache) else None
        if cached and not self.refresh and cached.is_fresh():
            ctype = {"content-type": cached.content_type} if cached.content_type else {}
            return Response(cached.final_url or url, 200, ctype, cached.body, from_cache=True)
        if cached:
            headers.update(cached.validators())
        resp = self._request(url, headers, preload=False)
        final_url = self._final_url(url, resp)
        if resp.status == 304:  # no body: keep the connection for the next page
            resp.drain_conn()
            resp.release_conn()
        elif resp.status != 200:  # the body is not wanted: never read an unbounded one
            resp.close()
        if resp.status == 304 and cached:
            if self.cache is not None:
                self.cache.revalidated(cached, self._headers(resp))
            ctype = {"content-type": cached.content_type} if cached.content_type else {}
            return Response(final_url, 200, ctype, cached.body, from_cache=True)
        if resp.status == 404:
            return Response(final_url, 404, self._headers(resp))
        if resp.status != 200:
            raise self._status_error(url, resp)
        body = self._read_body(url, resp)
        hdrs = self._headers(resp)
        if use_cache and self.cache:
            self.cache.store(url, body, hdrs, final_url=final_url)
        return Response(final_url, 200, hdrs, body)

    def _read_body(
        self,
        url: str,
        resp: urllib3.BaseHTTPResponse,
        *,
        limit: int | None = None,
        deadline: float | None = -1.0,
        decode: bool = True,
    ) -> bytes:
        """The decoded body, at most ``limit`` bytes (default ``max_body``) and within
        ``deadline`` seconds (default the session's; None: no deadline).

        A page is small: a larger one (or a gzip bomb) is refused once the limit is passed, and a
        server trickling bytes to stay under the read timeout is cut off at the deadline.
        """
        from urllib3.exceptions import HTTPError

        limit = self._max_body if limit is None else limit
        deadline = self._deadline if deadline is not None and deadline < 0 else deadline
        timer = threading.Timer(deadline, resp.shutdown) if deadline is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        start = time.monotonic()
        body = bytearray()
        try:
            for chunk in resp.stream(CHUNK, decode_content=decode):
                body += chunk
                if len(body) > limit:
                    raise IndexFetchError(f"{url}: response is larger than {limit} bytes")
        except (HTTPError, OSError) as exc:
            resp.close()
            if deadline is not None and time.monotonic() - start >= deadline:
                raise IndexFetchError(f"{url}: no complete answer within {deadline:g} s") from None
            raise IndexFetchError(f"{url}: cannot fetch: {_reason(exc)}") from None
        except BaseException:
            resp.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        resp.release_conn()
        return bytes(body)

    def get_range(self, url: str, range_header: str) -> Response:
        """GET with a ``Range`` header; the caller checks 206 (honoured) vs 200 (ignored)."""
        headers = {"Range": range_header, "Accept-Encoding": "identity"}
        resp = self._request(url, headers, preload=False)
        if resp.status == 416:  # a server that refuses the range outright: read it all
            resp.close()
            resp = self._request(url, {"Accept-Encoding": "identity"}, preload=False)
        if resp.status not in (200, 206):
            resp.close()
            raise IndexFetchError(f"{url}: HTTP {resp.status} for range {range_header}")
        # a 200 is the whole wheel (the server ignored Range): bounded, but by a wheel's size;
        # we asked for identity, so a Content-Encoding is not undone (no decompression bombs)
        body = self._read_body(url, resp, limit=MAX_WHOLE_WHEEL, deadline=None, decode=False)
        return Response(self._final_url(url, resp), resp.status, self._headers(resp), body)

    def stream(
        self,
        url: str,
        sink: Callable[[bytes], None],
        progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Stream the body of ``url`` into ``sink``; returns the number of bytes.

        A connection lost mid-body is resumed with ``Range: bytes=<done>-`` (up to ``retries``
        times) when the server honours ranges; otherwise it is an IndexFetchError.
        """
        if is_file_url(url):
            return _stream_file(url, sink, progress)
        from urllib3.exceptions import HTTPError

        retries = self._settings[1]
        done, total, resumes = 0, None, 0
        while True:
            headers = {"Accept-Encoding": "identity"}
            if done:
                headers["Range"] = f"bytes={done}-"
            resp = self._request(url, headers, preload=False)
            try:
                if not done and resp.status != 200:
                    raise self._status_error(url, resp)
                if done and not _resumes_at(resp, done):
                    raise IndexFetchError(
                        f"{url}: download interrupted after {done} bytes; the server cannot resume it"
                    )
                if total is None:
                    length = resp.headers.get("content-length")
                    total = int(length) if length and length.isdigit() else None
                try:
                    for chunk in resp.stream(CHUNK):
                        sink(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
                    failure = None
                except HTTPError as exc:
                    failure = _reason(exc)
            except BaseException:
                resp.close()  # the rest of the body was not read: never reuse this connection
                raise
            finally:
                resp.release_conn()
            if failure is None and (total is None or done == total):
                return done
            resumes += 1
            if resumes > retries:
                reason = failure or f"truncated ({done} of {total} bytes)"
                raise IndexFetchError(f"{url}: download failed: {reason}")


def _capped_retry(base: type) -> type:
    """urllib3's ``Retry`` with the server's ``Retry-After`` capped at ``MAX_RETRY_AFTER``
    (made on first use: local-only work never imports urllib3)."""
    if not _RETRY_CLASS:

        class CappedRetry(base):  # type: ignore[misc, valid-type]
            def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
                after = super().get_retry_after(response)
                return None if after is None else min(after, MAX_RETRY_AFTER)

        _RETRY_CLASS.append(CappedRetry)
    return _RETRY_CLASS[0]


def _resumes_at(resp: urllib3.BaseHTTPResponse, offset: int) -> bool:
    """True for a 206 answer whose ``Content-Range`` starts at ``offset``."""
    value = resp.headers.get("content-range", "")
    return resp.status == 206 and value.startswith(f"bytes {offset}-")


def _get_file(url: str, accept: str | None) -> Response:
    from varwheel.index.json_api import JSON_V1  # file:// index pages only (start-up time)

    path = file_url_path(url)
    if path.is_dir():
        wants_json = accept is not None and JSON_V1 in accept
        candidates = ("index.json", "index.html") if wants_json else ("index.html",)
        path = next((path / c for c in candidates if (path / c).is_file()), path / "index.html")
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return Response(url, 404)
    except OSError as exc:
        raise IndexFetchError(f"{url}: cannot read: {exc.strerror or exc}") from None
    if path.name == "index.json":
        ctype = JSON_V1
    elif path.suffix in (".html", ".htm"):
        ctype = "text/html"
    elif path.suffix == ".json":
        ctype = "application/json"
    else:
        ctype = "application/octet-stream"
    return Response(url, 200, {"content-type": ctype, "content-length": str(len(body))}, body)


def _stream_file(
    url: str, sink: Callable[[bytes], None], progress: Callable[[int, int | None], None] | None
) -> int:
    path = file_url_path(url)
    try:
        total = os.path.getsize(path)
        done = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sink(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except OSError as exc:
        raise IndexFetchError(f"{url}: cannot read: {exc.strerror or exc}") from None
    return done
