"""``--cert`` and ``--client-cert`` against a real HTTPS server on 127.0.0.1 (certificates made
with the ``openssl`` command for each test run)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.wheels import build_wheel
from varwheel.config import Config
from varwheel.errors import IndexFetchError
from varwheel.index.static import write_static_index
from varwheel.settings import Flags, Settings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _self_signed(tmp_path: Path, name: str, *, server: bool) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) and key; the server one names 127.0.0.1."""
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    argv += ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"]
    if server:
        argv += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(argv, check=True, capture_output=True)
    return cert, key


@contextmanager
def _https(root: Path, cert: Path, key: Path, client_ca: Path | None = None) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/simple/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(ssl.SSLError, ConnectionError):  # a client refused our cert
            super().handle()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    wheel = build_wheel(tmp_path / "wheels", "demo-pkg", "1.0")
    return write_static_index([wheel], tmp_path / "site")


def _files(index: str, **flags: object) -> tuple[str, ...]:
    settings = Settings.load(Flags(index_url=index, retries=0, **flags), config=Config())  # type: ignore[arg-type]
    with settings.index_client() as client:
        return tuple(f.filename for f in client.project_files("demo-pkg"))


def test_cert_verifies_a_private_ca(site: Path, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "server", server=True)
    with _https(site, cert, key) as index:
        with pytest.raises(IndexFetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            _files(index)
        assert _files(index, cert=str(cert)) == ("demo_pkg-1.0-py3-none-any.whl",)


def test_client_cert_is_presented(site: Path, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "server", server=True)
    client_cert, client_key = _self_signed(tmp_path, "client", server=False)
    bundle = tmp_path / "client.pem"  # pip's --client-cert: certificate and key in one file
    bundle.write_text(client_cert.read_text() + client_key.read_text())
    with _https(site, cert, key, client_ca=client_cert) as index:
        with pytest.raises(IndexFetchError):
            _files(index, cert=str(cert))
        files = _files(index, cert=str(cert), client_cert=str(bundle))
        assert files == ("demo_pkg-1.0-py3-none-any.whl",)
