"""A hostile or broken server on 127.0.0.1: gzip bombs, huge pages, trickling bodies, redirects
to other hosts and to ``file:`` URLs. Every case is one IndexFetchError, bounded in time/memory."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import pytest

from varwheel.errors import IndexFetchError
from varwheel.index.client import IndexClient
from varwheel.index.http import HttpSession
from varwheel.index.models import IndexFile


class _Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_auth: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, body: bytes, headers: dict[str, str], status: int = 200) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path in ("/bomb/", "/bomb-1.0-py3-none-any.whl"):
            body = gzip.compress(b"\0" * (32 * 1024 * 1024), compresslevel=1)
            self._reply(body, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        elif self.path == "/huge/":
            self._reply(b"<a>" * 700_000, {"Content-Type": "text/html"})
        elif self.path == "/slow/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100):  # one byte every 50 ms: never idle long enough to time out
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif self.path == "/elsewhere/":
            self._reply(b"", {"Location": f"http://localhost:{port}/echo/"}, 302)
        elif self.path == "/to-file/":
            self._reply(b"", {"Location": "file:///etc/passwd"}, 302)
        elif self.path == "/echo/":
            _Hostile.seen_auth.append(self.headers.get("Authorization"))
            self._reply(b"<a href='x-1.0.tar.gz'>x</a>", {"Content-Type": "text/html"})
        else:
            self._reply(b"", {}, 404)


@contextmanager
def _hostile() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_gzip_bomb_is_refused_at_the_size_limit() -> None:
    with _hostile() as url:
        session = HttpSession(max_body=4 * 1024 * 1024, retries=0)
        with pytest.raises(IndexFetchError, match=r"/bomb/: response is larger than 4194304"):
            session.get(url + "bomb/")


def test_huge_page_is_refused() -> None:
    with _hostile() as url:
        session = HttpSession(max_body=1024 * 1024, retries=0)
        with pytest.raises(IndexFetchError, match=r"/huge/: response is larger than"):
            session.get(url + "huge/", use_cache=True)


def test_trickling_server_is_cut_off_at_the_deadline() -> None:
    with _hostile() as url:
        session = HttpSession(timeout=2.0, deadline=1.0, retries=0)
        start = time.monotonic()
        with pytest.raises(IndexFetchError, match=r"/slow/: no complete answer within 1 s"):
            session.get(url + "slow/")
        assert time.monotonic() - start < 3.5


def test_credentials_do_not_follow_a_redirect_to_another_host() -> None:
    _Hostile.seen_auth.clear()
    with _hostile() as url:
        netloc = url.split("/")[2]
        session = HttpSession(credentials={netloc: ("user", "secret")}, retries=0)
        resp = session.get(url + "elsewhere/")
        assert resp.status == 200 and resp.url.startswith("http://localhost:")
        assert _Hostile.seen_auth == [None]


def test_redirect_to_a_file_url_is_not_followed() -> None:
    with _hostile() as url:
        session = HttpSession(retries=0)
        with pytest.raises(IndexFetchError, match=r"/to-file/"):
            session.get(url + "to-file/")


def test_range_answer_is_never_decompressed() -> None:
    """A server ignoring Range (200) and gzip-encoding anyway: the bytes stay as sent."""
    with _hostile() as url:
        session = HttpSession(retries=0)
        resp = session.get_range(url + "bomb-1.0-py3-none-any.whl", "bytes=-16384")
        assert resp.status == 200 and len(resp.body) < 1024 * 1024
        file = IndexFile("bomb-1.0-py3-none-any.whl", url + "bomb-1.0-py3-none-any.whl")
        with (
            IndexClient([url], retries=0) as client,
            pytest.raises(IndexFetchError, match="cannot read wheel"),
        ):
            client.read_wheel_member(file, ".dist-info/variant.json")
