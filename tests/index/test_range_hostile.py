"""Range reads against a server that lies (Content-Range, lengths) and zips whose directory
points past the end of the file: one IndexFetchError each, never wrong bytes or a traceback."""

from __future__ import annotations

import http.server
import struct
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest

from varwheel.errors import IndexFetchError
from varwheel.index.client import IndexClient
from varwheel.index.models import IndexFile

NAME = "demo-1.0-py3-none-any-x.whl"
MEMBER = b'{"variants": {"x": {}}}\n'


class _Liar(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data: ClassVar[bytes] = b""
    lie: ClassVar[str] = ""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data, size = self.data, len(self.data)
        spec = self.headers.get("Range", "").removeprefix("bytes=")
        first, _, last = spec.partition("-")
        start = size - int(last) if not first else int(first)
        end = size - 1 if not first or not last else int(last)
        start = max(0, start)
        body = data[start : end + 1]
        claimed = f"bytes {start}-{end}/{size}"
        if self.lie == "shifted":
            claimed = f"bytes {start + 7}-{end + 7}/{size + 7}"
        elif self.lie == "short-body":
            body = body[:-10]
        elif self.lie == "garbage":
            claimed = "bytes */{size}"
        elif self.lie == "past-end":
            claimed = f"bytes {start}-{size + 100}/{size}"
        self.send_response(206)
        self.send_header("Content-Range", claimed)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _serve(data: bytes, lie: str) -> Iterator[str]:
    _Liar.data, _Liar.lie = data, lie
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{NAME}"
    finally:
        server.shutdown()
        server.server_close()


def _wheel(tmp_path: Path) -> bytes:
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/blob.bin", bytes(range(256)) * 200)
        zf.writestr("demo-1.0.dist-info/variant.json", MEMBER)
    return path.read_bytes()


def _read(url: str) -> bytes:
    with IndexClient([url.rsplit("/", 1)[0] + "/"], retries=0) as client:
        return client.read_wheel_member(IndexFile(NAME, url), ".dist-info/variant.json")


def test_an_honest_server_works(tmp_path: Path) -> None:
    with _serve(_wheel(tmp_path), "") as url:
        assert _read(url) == MEMBER


@pytest.mark.parametrize(
    ("lie", "message"),
    [
        ("shifted", "not a zip file"),  # consistent with itself: a different file
        ("short-body", "does not match its Content-Range"),
        ("garbage", "bad Content-Range"),
        ("past-end", "bad Content-Range"),
    ],
)
def test_a_lying_content_range_is_an_error(tmp_path: Path, lie: str, message: str) -> None:
    with _serve(_wheel(tmp_path), lie) as url, pytest.raises(IndexFetchError, match=message):
        _read(url)


def _eocd_at(data: bytes) -> int:
    return data.rfind(b"PK\x05\x06")


def test_central_directory_past_the_end(tmp_path: Path) -> None:
    data = bytearray(_wheel(tmp_path))
    struct.pack_into("<L", data, _eocd_at(data) + 16, len(data) + 1000)  # cd offset
    expected = "central directory lies outside the file"
    with _serve(bytes(data), "") as url, pytest.raises(IndexFetchError, match=expected):
        _read(url)


def test_member_header_past_the_end(tmp_path: Path) -> None:
    data = bytearray(_wheel(tmp_path))
    cd_offset = struct.unpack_from("<L", data, _eocd_at(data) + 16)[0]
    second = data.index(b"PK\x01\x02", cd_offset + 4)  # the variant.json entry
    struct.pack_into("<L", data, second + 42, len(data) + 5)  # its local header offset
    with _serve(bytes(data), "") as url, pytest.raises(IndexFetchError, match="outside the file"):
        _read(url)
