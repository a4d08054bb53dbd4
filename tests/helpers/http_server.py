"""A real HTTP server on 127.0.0.1 serving a directory, for index and download tests.

::

    from helpers.http_server import serve_directory

    with serve_directory(tmp_path / "site", range_support=False) as server:
        url = server.url + "simple/"          # http://127.0.0.1:PORT/simple/
        ...
        assert server.stats.count(status=304) == 1
        assert server.stats.bytes_for("/files/x.whl") < 10_000

Features: HTTP/1.1 keep-alive, one thread per connection and a listen backlog of 128 (the
stdlib default of 5 makes parallel clients wait for 1 s SYN retransmits, perf-anchors.md);
``Range: bytes=a-b`` / ``a-`` / ``-n`` answered with 206 unless ``range_support`` is off (then
the whole file with 200, like servers that ignore ranges); strong ETags and Last-Modified with
304 answers to If-None-Match / If-Modified-Since (toggle ``conditional``); PEP 691 content
negotiation: a directory asked for with ``Accept: application/vnd.pypi.simple.v1+json`` is
answered with its ``index.json`` when there is one; optional gzip of pages;
``fail(path, status, times)`` makes the next requests of a path fail and
``truncate(path, times)`` cuts the next answers half-way; every request is recorded in
``stats``. Nothing but files under the root is ever served (paths are resolved and checked).
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import hashlib
import http.server
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

JSON_V1 = "application/vnd.pypi.simple.v1+json"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".whl": "application/octet-stream",
    ".metadata": "application/octet-stream",
    ".gz": "application/gzip",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    bytes_sent: int
    headers: dict[str, str]


@dataclass
class ServerStats:
    """Every request served, thread-safe. ``path`` is the URL path without query."""

    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def count(self, path: str | None = None, status: int | None = None) -> int:
        return sum(
            1
            for r in self.snapshot()
            if (path is None or r.path == path) and (status is None or r.status == status)
        )

    def bytes_for(self, path: str) -> int:
        return sum(r.bytes_sent for r in self.snapshot() if r.path == path)

    @property
    def total_bytes(self) -> int:
        return sum(r.bytes_sent for r in self.snapshot())

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


@dataclass
class ServerOptions:
    """Knobs a test may flip while the server runs."""

    range_support: bool = True
    conditional: bool = True
    json_negotiation: bool = True
    gzip_pages: bool = False
    basic_auth: tuple[str, str] | None = None  # (user, password) every request must carry
    failures: dict[str, list[int]] = field(default_factory=dict)
    truncations: dict[str, int] = field(default_factory=dict)
    cache_control: str | None = None  # sent with every 200/304 answer for a file when set


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(start, end_inclusive)`` of a single ``bytes=`` range, or None when unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            length = int(last)
            if length <= 0:
                return None
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK (40 ms per keep-alive request)
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        *,
        head: bool,
        path: str,
        cut: bool = False,
    ) -> None:
        """Send a response; ``cut`` sends half the body and drops the connection."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if cut:
            body = body[: len(body) // 2]
            self.close_connection = True
        sent = len(body) if not head else 0
        # recorded before the body goes out, so a client that has read it sees the record
        self.server.stats.add(
            Request(
                self.command, path, status, sent, {k.lower(): v for k, v in self.headers.items()}
            )
        )
        self.end_headers()
        if sent:
            self.wfile.write(body)

    def _resolve(self, url_path: str) -> Path | None:
        root = self.server.root
        target = (root / unquote(url_path).lstrip("/")).resolve()
        if target != root and root not in target.parents:
            return None
        return target

    def _serve(self, *, head: bool) -> None:
        opts = self.server.options
        path = urlsplit(self.path).path
        with self.server.lock:
            queue = opts.failures.get(path)
            failure = queue.pop(0) if queue else None
        if failure is not None:
            self._send(failure, b"injected failure\n", {}, head=head, path=path)
            return
        if opts.basic_auth is not None:
            token = base64.b64encode(":".join(opts.basic_auth).encode()).decode()
            if self.headers.get("Authorization") != f"Basic {token}":
                challenge = {"WWW-Authenticate": 'Basic realm="test"'}
                self._send(401, b"unauthorized\n", challenge, head=head, path=path)
                return
        target = self._resolve(path)
        if target is not None and target.is_dir():
            if not path.endswith("/"):
                self._send(301, b"", {"Location": path + "/"}, head=head, path=path)
                return
            accept = self.headers.get("Accept", "")
            if opts.json_negotiation and JSON_V1 in accept and (target / "index.json").is_file():
                target = target / "index.json"
            else:
                target = target / "index.html"
        if target is None or not target.is_file():
            self._send(404, b"not found\n", {"Content-Type": "text/plain"}, head=head, path=path)
            return
        data = target.read_bytes()
        stat = target.stat()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        ctype = JSON_V1 if target.name == "index.json" else _TYPES.get(target.suffix, "text/plain")
        headers = {"Content-Type": ctype}
        if opts.cache_control is not None:
            headers["Cache-Control"] = opts.cache_control
        if opts.conditional:
            headers["ETag"] = etag
            headers["Last-Modified"] = modified
            if self._not_modified(etag, stat.st_mtime):
                self._send(304, b"", headers, head=True, path=path)
                return
        if opts.range_support:
            headers["Accept-Ranges"] = "bytes"
            value = self.headers.get("Range")
            if value:
                span = _parse_range(value, len(data))
                if span is None:
                    headers["Content-Range"] = f"bytes */{len(data)}"
                    self._send(416, b"", headers, head=head, path=path)
                    return
                start, end = span
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                cut = self._take_truncation(path)
                self._send(206, data[start : end + 1], headers, head=head, path=path, cut=cut)
                return
        if (
            opts.gzip_pages
            and target.suffix in (".html", ".json")
            and "gzip" in self.headers.get("Accept-Encoding", "")
        ):
            headers["Content-Encoding"] = "gzip"
            data = gzip.compress(data, mtime=0)
        self._send(200, data, headers, head=head, path=path, cut=self._take_truncation(path))

    def _take_truncation(self, path: str) -> bool:
        with self.server.lock:
            pending = self.server.options.truncations.get(path, 0)
            if pending:
                self.server.options.truncations[path] = pending - 1
            return pending > 0

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(mtime) <= since
        return False


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False  # keep-alive connections of a client still open must not block

    def __init__(self, root: Path, options: ServerOptions) -> None:
        self.root = root.resolve()
        self.options = options
        self.stats = ServerStats()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up early (varwheel giving up after a 401, a cancelled download)
        # is normal; socketserver would print its traceback into the test's captured stderr.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class LocalServer:
    """A running server: ``url`` ends with ``/``."""

    url: str
    stats: ServerStats
    options: ServerOptions
    root: Path
    _server: _Server = field(repr=False)

    def fail(self, path: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests for URL path ``path`` get ``status``."""
        with self._server.lock:
            self.options.failures.setdefault(path, []).extend([status] * times)

    def truncate(self, path: str, times: int = 1) -> None:
        """The next ``times`` answers with a body (200 or 206) for ``path`` stop half-way and drop
        the connection, as a network failure in the middle of a download would."""
        with self._server.lock:
            self.options.truncations[path] = self.options.truncations.get(path, 0) + times


@contextmanager
def serve_directory(
    root: Path | str,
    *,
    range_support: bool = True,
    conditional: bool = True,
    json_negotiation: bool = True,
    gzip_pages: bool = False,
    basic_auth: tuple[str, str] | None = None,
    cache_control: str | None = None,
) -> Iterator[LocalServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) for the duration of the ``with`` block.

    ``gzip_pages`` compresses ``.html``/``.json`` bodies for clients that accept gzip (a full
    200 answer, never a range). ``basic_auth=(user, password)`` answers 401 to any request
    without those HTTP Basic credentials. ``cache_control`` is sent as ``Cache-Control`` with
    every file (``options.cache_control`` changes it while the server runs).
    """
    options = ServerOptions(range_support, conditional, json_negotiation, gzip_pages, basic_auth)
    options.cache_control = cache_control
    server = _Server(Path(root), options)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-http-server", daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield LocalServer(f"http://{host}:{port}/", server.stats, options, Path(root), server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (for servers started as subprocesses)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["LocalServer", "Request", "ServerStats", "free_port", "serve_directory"]
