"""A loopback "upload server" that misbehaves on purpose: answers with an endless body, never
answers, or redirects elsewhere. Counts the bytes it managed to send."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Hostile:
    url: str = ""
    sent: int = 0  # body bytes the client accepted before it hung up
    requests: int = 0


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(1 << 20)
        if not chunk:
            return
        body += chunk


@contextmanager
def hostile_server(mode: str, *, body_size: int = 256 * 1024 * 1024) -> Iterator[Hostile]:
    """``mode``: ``huge`` (an error page of ``body_size`` bytes), ``silent`` (reads the upload,
    never answers), ``redirect-host`` (301 to another host)."""
    state = Hostile()
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                state.requests += 1
                if mode == "silent":
                    stop.wait(30)
                elif mode == "redirect-host":
                    conn.sendall(
                        b"HTTP/1.1 301 Moved Permanently\r\nLocation: "
                        b"https://elsewhere.example/legacy/\r\nContent-Length: 0\r\n\r\n"
                    )
                elif mode == "huge":
                    conn.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: %d\r\n\r\n" % body_size
                    )
                    block = b"x" * (1 << 20)
                    while state.sent < body_size and not stop.is_set():
                        conn.sendall(block)
                        state.sent += len(block)
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/legacy/"
    try:
        yield state
    finally:
        stop.set()
        listener.close()
