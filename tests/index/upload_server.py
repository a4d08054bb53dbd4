"""A loopback server implementing the legacy upload API, for upload and publish tests.

It parses each ``multipart/form-data`` POST with the standard library's email parser (an
independent reader of what we send), checks ``sha256_digest`` against the content, and answers
like the real servers do: 200 on success, 409 for a file it already has, 401 without the
expected Basic credentials, and the statuses queued in ``fail_next`` first (5xx for retry
tests). ``received`` records every accepted upload.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP


@dataclass
class Upload:
    fields: dict[str, list[str]]
    filename: str
    content: bytes
    authorization: str | None


@dataclass
class UploadServer:
    url: str = ""
    auth: tuple[str, str] | None = None
    fail_next: list[int] = field(default_factory=list)
    received: list[Upload] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse(content_type: str, body: bytes) -> tuple[dict[str, list[str]], str, bytes]:
    msg = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, list[str]] = {}
    filename, content = "", b""
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "content":
            filename = part.get_filename() or ""
            content = part.get_payload(decode=True) or b""
        else:
            fields.setdefault(name, []).append(part.get_content())
    return fields, filename, content


@contextmanager
def upload_server(*, auth: tuple[str, str] | None = None) -> Iterator[UploadServer]:
    state = UploadServer(auth=auth)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status, text if status >= 400 else None)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests += 1
                if state.fail_next:
                    self._answer(state.fail_next.pop(0), "Service Unavailable, try later")
                    return
                authorization = self.headers.get("Authorization")
                if state.auth is not None:
                    token = base64.b64encode(":".join(state.auth).encode()).decode()
                    if authorization != f"Basic {token}":
                        self._answer(401, "Unauthorized")
                        return
                fields, filename, content = _parse(self.headers["Content-Type"], body)
                if fields.get(":action") != ["file_upload"] or not filename:
                    self._answer(400, "Bad request: not a file upload")
                    return
                if fields.get("sha256_digest") != [hashlib.sha256(content).hexdigest()]:
                    self._answer(400, "sha256_digest does not match the content")
                    return
                if any(u.filename == filename for u in state.received):
                    self._answer(409, f"File already exists: {filename}")
                    return
                state.received.append(Upload(fields, filename, content, authorization))
            self._answer(200, "OK")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/legacy/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
