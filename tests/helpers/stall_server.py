"""A static index on 127.0.0.1 that stalls one kind of request, for Ctrl-C tests.

::

    with stalling_server(root, stall_on=".whl") as stall:
        proc = subprocess.Popen([..., "--index-url", stall.url, ...])
        assert stall.stalled.wait(20)   # a request is hanging now
        proc.send_signal(signal.SIGINT)

A request whose path ends with ``stall_on`` gets its headers and a few bytes, then nothing
until the ``with`` block ends.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StallingServer:
    url: str  # the index's /simple/ URL
    stalled: threading.Event  # set once a request is hanging


class _StallingHandler(http.server.SimpleHTTPRequestHandler):
    stall_on = ".whl"
    stalled = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:
        if not self.path.endswith(self.stall_on):
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"PK\x03\x04")
        self.wfile.flush()
        self.stalled.set()
        self.release.wait(40)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def stalling_server(root: Path, stall_on: str = ".whl") -> Iterator[StallingServer]:
    """Serve ``root`` (a static index with ``simple/``); stall requests ending with ``stall_on``."""
    stalled, release = threading.Event(), threading.Event()
    handler_cls = type(
        "Handler",
        (_StallingHandler,),
        {"stall_on": stall_on, "stalled": stalled, "release": release},
    )
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler_cls, directory=str(root))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield StallingServer(f"http://127.0.0.1:{httpd.server_address[1]}/simple/", stalled)
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
