"""Logging in to a private index: ``.netrc``, the ``keyring`` command, hints, redirects.

Real parts only: a real HTTP server on 127.0.0.1 that requires HTTP Basic auth, real wheels,
real venvs, and a real ``keyring`` executable the test writes on ``PATH``.
"""

from __future__ import annotations

import http.server
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.errors import IndexFetchError
from varwheel.index.auth import Authenticator, AuthOptions
from varwheel.index.client import IndexClient
from varwheel.index.http import HttpSession
from varwheel.index.static import write_static_index

USER, SECRET = "alice", "s3cr3t-t0ken"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("PIP_", "UV_", "VARWHEEL_INDEX"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    wheel = build_wheel(tmp_path / "wheels", "demo-pkg", "1.0", files={"demo_pkg/x.py": "X = 1\n"})
    return write_static_index([wheel], tmp_path / "site")


def _installed(venv: Path) -> bool:
    return any(venv.glob("lib/python*/site-packages/demo_pkg/x.py"))


def _fake_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known: dict[str, str]) -> Path:
    """A ``keyring`` program on PATH answering ``keyring get SERVICE USER`` from ``known``
    (service -> password) and logging every call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "keyring.log"
    cases = "\n".join(
        f'  "get {service} {USER}") printf "%s\\n" "{password}"; exit 0;;'
        for service, password in known.items()
    )
    script = bin_dir / "keyring"
    script.write_text(
        f'#!/bin/sh\necho "$*" >> "{log}"\ncase "$*" in\n{cases}\n  *) exit 1;;\nesac\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_install_from_a_protected_index_with_netrc(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    venv = make_venv(tmp_path / "venv")
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        argv = ["install", "-v", "--python", str(venv), "-i", server.url + "simple/", "demo-pkg"]
        assert main(argv) == exitcodes.OK
        assert server.stats.count(status=401) == 0  # sent from the first request, as curl/uv
    assert _installed(venv)
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err


def test_install_from_a_protected_index_with_the_keyring_command(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = make_venv(tmp_path / "venv")
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        index = server.url + "simple/"
        log = _fake_keyring(tmp_path, monkeypatch, {index: SECRET})
        with_user = index.replace("http://", f"http://{USER}@")
        argv = ["install", "-v", "--python", str(venv), "-i", with_user, "demo-pkg"]
        argv += ["--keyring-provider", "subprocess"]
        assert main(argv) == exitcodes.OK
        assert server.stats.count(status=401) == 1  # one challenge, then the keyring's login
    assert _installed(venv)
    assert log.read_text().splitlines() == [f"get {index} {USER}"]  # asked once, by index URL
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err


def test_keyring_provider_from_uv_environment_and_host_service(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = make_venv(tmp_path / "venv")
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        netloc = server.url.split("//")[1].rstrip("/")
        log = _fake_keyring(tmp_path, monkeypatch, {netloc: SECRET})  # stored by host, as pip
        monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
        index = server.url.replace("http://", f"http://{USER}@") + "simple/"
        assert main(["install", "-q", "--python", str(venv), "-i", index, "demo-pkg"]) == 0
    assert _installed(venv)
    assert log.read_text().splitlines()[-1] == f"get {netloc} {USER}"


def test_missing_credentials_fail_with_a_one_line_hint(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = make_venv(tmp_path / "venv")
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        index = server.url + "simple/"
        argv = ["install", "--python", str(venv), "--index", f"private={index}", "demo-pkg"]
        assert main(argv) == exitcodes.NETWORK_FAILURE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "401" in x]
    assert f"index 'private' ({index}) needs a login" in line
    assert "machine 127.0.0.1 login USER password SECRET" in line
    assert str(tmp_path / "no-netrc") in line and "--keyring-provider subprocess" in line
    assert not _installed(venv)


def test_refused_credentials_name_their_source_but_not_the_secret(
    site: Path, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password wrong-guess\n")
    netrc.chmod(0o600)
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        options = AuthOptions(netrc=netrc)
        with (
            IndexClient([server.url + "simple/"], retries=0, auth=options) as client,
            pytest.raises(IndexFetchError) as err,
        ):
            client.project_files("demo-pkg")
    message = str(err.value)
    assert f"the login for {USER} from {netrc} was refused" in message
    assert "wrong-guess" not in message and "\n" not in message


def test_a_missing_keyring_command_is_named_in_the_hint(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        options = AuthOptions(keyring_provider="subprocess")
        index = server.url.replace("http://", f"http://{USER}@") + "simple/"
        with (
            IndexClient([index], retries=0, auth=options) as client,
            pytest.raises(IndexFetchError, match="no 'keyring' command on PATH"),
        ):
            client.project_files("demo-pkg")


def test_a_broken_netrc_does_not_block_public_indexes_and_is_named_on_401(
    site: Path, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine\n")  # no host name: a parse error
    with (
        serve_directory(site) as public,
        IndexClient([public.url + "simple/"], auth=AuthOptions(netrc=netrc)) as client,
    ):
        assert client.project_files("demo-pkg")
    with serve_directory(site, basic_auth=(USER, SECRET)) as private:
        options = AuthOptions(netrc=netrc)
        with (
            IndexClient([private.url + "simple/"], retries=0, auth=options) as client,
            pytest.raises(IndexFetchError, match=f"{netrc} cannot be read"),
        ):
            client.project_files("demo-pkg")


@contextmanager
def _recording_server(redirect_to: str | None = None) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server that records the headers of every request and answers 302 to ``redirect_to``
    (or 200 with an empty page)."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            if redirect_to:
                self.send_response(302)
                self.send_header("Location", redirect_to + self.path.lstrip("/"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"<html><body></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_are_never_sent_to_another_host_on_redirect(tmp_path: Path) -> None:
    with (
        _recording_server() as (other, other_seen),
        _recording_server(redirect_to=other) as (first, first_seen),
    ):
        netloc = first.split("//")[1].rstrip("/")
        session = HttpSession(credentials={netloc: (USER, SECRET)}, retries=0)
        resp = session.get(first + "simple/demo-pkg/")
        session.close()
    assert resp.status == 200 and resp.url.startswith(other)
    assert "authorization" in first_seen[0]
    assert other_seen and all("authorization" not in h for h in other_seen)


def test_a_login_is_sent_only_to_its_own_host() -> None:
    auth = Authenticator({"127.0.0.1:8080": (USER, SECRET)})
    login = auth.login_for("http://127.0.0.1:8080/simple/x/")
    assert login is not None and login.source == "the URL"
    assert auth.login_for("http://127.0.0.1:9090/simple/x/") is None
    assert SECRET not in repr(login)


def test_http_403_names_the_index_and_the_ways_to_log_in(site: Path) -> None:
    with serve_directory(site) as server:
        server.fail("/simple/demo-pkg/", 403)
        options = AuthOptions(index_names={server.url + "simple/": "corp"})
        with (
            IndexClient([server.url + "simple/"], retries=0, auth=options) as client,
            pytest.raises(IndexFetchError) as err,
        ):
            client.project_files("demo-pkg")
    message = str(err.value)
    assert "HTTP 403" in message and f"index 'corp' ({server.url}simple/) needs a login" in message


def test_parallel_requests_meeting_401_share_one_keyring_lookup(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with serve_directory(site, basic_auth=(USER, SECRET)) as server:
        netloc = server.url.split("//")[1].rstrip("/")
        log = _fake_keyring(tmp_path, monkeypatch, {netloc: SECRET})
        session = HttpSession(
            credentials={netloc: (USER, "")},
            auth=AuthOptions(keyring_provider="subprocess"),
            retries=0,
        )
        urls = [f"{server.url}simple/demo-pkg/?n={n}" for n in range(8)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda u: session.get(u).status, urls))
        session.close()
    assert statuses == [200] * 8
    assert len(log.read_text().splitlines()) <= 2  # the page URL, then the host: once
