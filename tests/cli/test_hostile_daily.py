"""Hostile-review attacks on the daily-driver work (issue 11): hash-checking mode, download
directories, --target, show/freeze on hostile metadata, logins. Real wheels, sdists, venvs."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from cli.targets import without_environment_line
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from varwheel.cli import exitcodes
from varwheel.cli.main import main


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_cli(tmp_path, monkeypatch)
    return make_venv(tmp_path / "venv")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, without_environment_line(err)


def hostile_sdist(dest: Path, name: str, version: str, marker: Path) -> Path:
    """An sdist whose in-tree build backend writes ``marker`` as soon as it is imported."""
    backend = (
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('backend ran')\n"
        "def get_requires_for_build_wheel(config_settings=None):\n    return []\n"
        "def prepare_metadata_for_build_wheel(d, config_settings=None):\n"
        "    raise RuntimeError('no')\n"
        "def build_wheel(d, config_settings=None, metadata_directory=None):\n"
        "    raise RuntimeError('no')\n"
    )
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = []\nbuild-backend = "evil"\nbackend-path = ["."]\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ),
        "evil.py": backend,
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = dest / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_require_hashes_checks_an_sdist_before_its_backend_runs(capsys, venv, tmp_path) -> None:
    """pip's hash-checking mode exists so that no unchecked code runs: an sdist whose hash is
    not one of the --hash values is refused before its build backend is imported."""
    links = tmp_path / "links"
    links.mkdir()
    marker = tmp_path / "backend-ran"
    hostile_sdist(links, "evilpkg", "1.0", marker)
    req = tmp_path / "req.txt"
    req.write_text(f"evilpkg==1.0 --hash=sha256:{'0' * 64}\n")
    code, _, err = run(
        capsys,
        "install",
        "--python",
        str(venv),
        "--no-index",
        "-f",
        str(links),
        "--no-build-isolation",
        "--require-hashes",
        "-r",
        str(req),
    )
    assert code == exitcodes.FAILURE, err
    assert not marker.exists(), "the sdist's backend ran before its hash was checked"
    assert "evilpkg" in err
    # with its own hash it is built (the backend runs, and fails, as written)
    sdist = links / "evilpkg-1.0.tar.gz"
    req.write_text(f"evilpkg==1.0 --hash=sha512:{hashlib.sha512(sdist.read_bytes()).hexdigest()}\n")
    code, _, err = run(
        capsys,
        "install",
        "--python",
        str(venv),
        "--no-index",
        "-f",
        str(links),
        "--no-build-isolation",
        "--require-hashes",
        "-r",
        str(req),
    )
    assert marker.exists() and "is not one of the --hash values" not in err


def test_a_direct_url_logs_in_with_its_credentials_and_never_keeps_them(
    capsys, venv, tmp_path
) -> None:
    """pip installs ``name @ https://user:pw@host/x.whl`` with that login; the password is in
    no message, report, ``direct_url.json`` (PEP 610: MUST NOT be recorded) or freeze line."""
    from helpers.http_server import serve_directory
    from helpers.wheels import build_wheel

    wheel = build_wheel(tmp_path / "files", "demo", "1.0")
    secret = "S3CRET-pw"
    with serve_directory(tmp_path / "files", basic_auth=("alice", secret)) as server:
        host = server.url.split("//", 1)[1].rstrip("/")
        wrong = f"demo @ http://alice:WRONG-pw@{host}/{wheel.name}"
        code, out, err = run(capsys, "install", "--python", str(venv), "--no-index", wrong)
        assert code != 0 and "HTTP 401" in err
        assert "WRONG-pw" not in out + err
        url = f"http://alice:{secret}@{host}/{wheel.name}"
        report = tmp_path / "report.json"
        code, out, err = run(
            capsys,
            "install",
            "-v",
            "--python",
            str(venv),
            "--no-index",
            "--report",
            str(report),
            f"demo @ {url}",
        )
        assert code == 0, err
        assert secret not in out + err + report.read_text()
        code, out, err = run(capsys, "freeze", "--python", str(venv))
        assert f"demo @ http://{host}/{wheel.name}" in out and secret not in out + err
    recorded = [p.read_text(errors="replace") for p in venv.rglob("*") if p.is_file()]
    assert not [text for text in recorded if secret in text]


def test_a_pinned_project_is_never_asked_of_the_general_indexes(
    capsys, venv, tmp_path, monkeypatch
) -> None:
    """docs/configuration.md: a pinned project's files come only from its index, "the general
    indexes are not even asked for it". explain must not send a private project's name to the
    public index either, nor advise taking a same-named project from there (dependency
    confusion)."""
    from helpers.http_server import serve_directory
    from helpers.wheels import build_wheel, variant_json
    from varwheel.index.static import write_static_index

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    private = build_wheel(tmp_path / "private", "corp-lib", "1.0", files={"corp_lib/a.py": ""})
    squat = build_wheel(
        tmp_path / "public",
        "corp-lib",
        "99.0",
        files={"corp_lib/a.py": ""},
        variant=variant_json("fast", ["blas :: library :: fast"]),
    )
    private_site = write_static_index([private], tmp_path / "private-site")
    public_site = write_static_index([squat], tmp_path / "public-site")
    with serve_directory(public_site) as public, serve_directory(private_site) as corp:
        flags = ["-i", public.url + "simple/", "--index-for", f"corp-lib={corp.url}simple/"]
        code, out, err = run(capsys, "explain", "--python", str(venv), *flags, "corp-lib")
        assert code == exitcodes.OK, err
        code, _, err = run(capsys, "install", "-q", "--python", str(venv), *flags, "corp-lib")
        assert code == exitcodes.OK, err
        asked = [r.path for r in public.stats.snapshot() if "corp-lib" in r.path]
    assert asked == []
    assert "99.0" not in out and "--index-for corp-lib=" + public.url not in out


@pytest.mark.parametrize("flag", ["--index-url", "--extra-index-url", "--index"])
def test_a_malformed_index_url_is_one_line_not_a_traceback(capsys, venv, flag) -> None:
    """``http://user:pw@[::1/simple`` (an unclosed IPv6 bracket) is bad input: one line, exit
    code of invalid input, and the password is not echoed."""
    bad = "http://alice:PW-9@[::1/simple/"
    code, out, err = run(capsys, "install", "--python", str(venv), "--dry-run", flag, bad, "x")
    assert code == exitcodes.INVALID_INPUT, err
    assert "Traceback" not in err and "PW-9" not in out + err
    assert "not a valid URL" in err


def test_ctrl_c_during_download_leaves_no_partial_file(tmp_path: Path) -> None:
    """``download -d DIR`` interrupted mid-wheel: DIR holds nothing new and the wheel cache
    holds no half-written file."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from helpers.stall_server import stalling_server
    from helpers.wheels import build_wheel
    from varwheel.index.static import write_static_index

    wheel = build_wheel(tmp_path / "dist", "slowpkg", "1.0")
    root = write_static_index([wheel], tmp_path / "index")
    cache, dest = tmp_path / "cache", tmp_path / "dl"
    (tmp_path / "config.toml").write_text("")
    env = {
        **os.environ,
        "VARWHEEL_CACHE_DIR": str(cache),
        "VARWHEEL_CONFIG": str(tmp_path / "config.toml"),
        "PIP_CONFIG_FILE": os.devnull,
    }
    with stalling_server(root, stall_on=".whl") as stall:
        argv = [sys.executable, "-m", "varwheel", "download", "-i", stall.url, "-d", str(dest)]
        proc = subprocess.Popen(
            [*argv, "slowpkg"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert stall.stalled.wait(20), proc.communicate(timeout=5)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert [p.name for p in dest.iterdir()] == []
    assert [p.name for p in cache.rglob("*.part")] == []


def test_a_password_of_an_https_index_never_goes_out_over_plain_http() -> None:
    """An https:// index page that links its files as http:// (a proxy that forgets it
    terminates TLS) must not make the index's password travel in clear text: uv keys such a
    login by scheme, host and port; the https requests still carry it."""
    from varwheel.index.auth import Authenticator, AuthOptions

    auth = Authenticator(
        {"corp.example": ("alice", "s3cret")},
        AuthOptions(index_names={"https://corp.example/simple/": "corp"}),
    )
    sent = auth.login_for("https://corp.example/simple/x/")
    assert sent is not None and sent.password == "s3cret"
    assert auth.login_for("http://corp.example/files/x-1.0-py3-none-any.whl") is None
    assert auth.login_for("https://corp.example/files/x-1.0-py3-none-any.whl") == sent
    # an index configured as http:// keeps working as before
    plain = Authenticator(
        {"corp.example": ("alice", "s3cret")},
        AuthOptions(index_names={"http://corp.example/simple/": ""}),
    )
    assert plain.login_for("http://corp.example/files/x.whl") is not None


def test_a_malformed_named_index_with_no_index_is_not_a_traceback(capsys, venv) -> None:
    code, _, err = run(
        capsys,
        "install",
        "--python",
        str(venv),
        "--dry-run",
        "--no-index",
        "--index",
        "a=http://[x",
        "zz",
    )
    assert "Traceback" not in err and code == exitcodes.FAILURE
    assert "no distributions of zz found" in err


def test_download_checks_an_sdists_own_bytes_against_the_hash_values(
    capsys, venv, tmp_path, monkeypatch
) -> None:
    """A hostile index lists the sdist it serves under its true sha256 and, beside it, the
    sha512 the user pinned (of the good file): the bytes saved must be the pinned ones, not
    merely listed next to them (``download --no-deps``: the sdist is never built)."""
    import json

    from helpers.http_server import serve_directory

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    (tmp_path / "good").mkdir()
    good = hostile_sdist(tmp_path / "good", "evilpkg", "1.0", tmp_path / "unused")
    good_sha512 = hashlib.sha512(good.read_bytes()).hexdigest()
    site = tmp_path / "site"
    (site / "files").mkdir(parents=True)
    (site / "files" / good.name).write_bytes(good.read_bytes() + b"\0evil")
    evil = (site / "files" / good.name).read_bytes()
    page = site / "simple" / "evilpkg"
    page.mkdir(parents=True)
    doc = {
        "meta": {"api-version": "1.1"},
        "name": "evilpkg",
        "files": [
            {
                "filename": good.name,
                "url": f"../../files/{good.name}",
                "hashes": {"sha256": hashlib.sha256(evil).hexdigest(), "sha512": good_sha512},
            }
        ],
    }
    (page / "index.json").write_text(json.dumps(doc))
    req = tmp_path / "req.txt"
    req.write_text(f"evilpkg==1.0 --hash=sha512:{good_sha512}\n")
    dest = tmp_path / "dl"
    with serve_directory(site) as server:
        code, _, err = run(
            capsys,
            "download",
            "-i",
            server.url + "simple/",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(req),
            "-d",
            str(dest),
        )
    assert code == exitcodes.FAILURE, err
    assert "is not one of the --hash values" in err
    assert not (dest / good.name).exists()


@pytest.mark.parametrize("where", ["http", "find-links"])
def test_a_full_disk_during_download_names_the_file_being_written(tmp_path: Path, where) -> None:
    import os
    import resource
    import signal
    import subprocess
    import sys

    from helpers.http_server import serve_directory
    from helpers.wheels import build_wheel
    from varwheel.index.static import write_static_index

    wheel = build_wheel(tmp_path / "dist", "bigpkg", "1.0", files={"bigpkg/d": os.urandom(300_000)})
    root = write_static_index([wheel], tmp_path / "index")
    (tmp_path / "config.toml").write_text("")
    env = {
        **os.environ,
        "VARWHEEL_CACHE_DIR": str(tmp_path / "cache"),
        "VARWHEEL_CONFIG": str(tmp_path / "config.toml"),
        "PIP_CONFIG_FILE": os.devnull,
    }

    def small_files() -> None:  # a full disk, as the kernel says it to one process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    dest = tmp_path / "dl"
    with serve_directory(root) as server:
        source = (
            ["-i", server.url + "simple/"]
            if where == "http"
            else ["--no-index", "-f", str(tmp_path / "dist")]
        )
        done = subprocess.run(
            [sys.executable, "-m", "varwheel", "download", *source, "-d", str(dest), "bigpkg"],
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=small_files,
        )
    line = done.stderr.strip().splitlines()[-1]
    assert done.returncode != 0 and "File too large" in line
    assert "bigpkg-1.0-py3-none-any.whl" in line and "cannot read" not in line


@pytest.mark.parametrize(
    "flags",
    [
        ("--extra-index-url", "https://variants.example/simple/"),
        ("--find-links", "/opt/wheels"),
        ("--index", "v=https://variants.example/simple/", "--index-for", "torch=v"),
    ],
)
@pytest.mark.parametrize("var", ["PIP_INDEX_URL", "UV_DEFAULT_INDEX"])
def test_the_mirror_pip_or_uv_use_stays_the_default_index_beside_your_extras(
    tmp_path, monkeypatch, var, flags
) -> None:
    """``PIP_INDEX_URL=MIRROR pip install --extra-index-url X`` (and uv's ``UV_DEFAULT_INDEX``)
    searches the mirror and X. varwheel silently swapped the mirror for pypi.org as soon as the
    command line named any other index location: traffic the mirror exists to prevent, and a
    private name looked up where anyone can register it."""
    from varwheel.cli.selection_options import add_selection_arguments, flags_from_args
    from varwheel.settings import Settings

    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("PIP_", "UV_", "VARWHEEL_INDEX"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv(var, "https://mirror.corp.example/simple/")
    import argparse

    parser = argparse.ArgumentParser()
    add_selection_arguments(parser)
    settings = Settings.load(flags_from_args(parser.parse_args(list(flags))))
    assert settings.index_url == "https://mirror.corp.example/simple/"
    assert var in settings.index_origin
    # the command line's own index-url still wins
    args = parser.parse_args(["-i", "https://mine.example/simple/", *flags])
    assert Settings.load(flags_from_args(args)).index_url == "https://mine.example/simple/"


def test_a_servers_retry_after_cannot_hang_varwheel(monkeypatch) -> None:
    """A 503 with ``Retry-After: 86400`` (a hostile or broken index): urllib3 would sleep a day
    per retry whatever ``--timeout`` says. The wait is capped (``MAX_RETRY_AFTER``)."""
    import http.server
    import threading
    import time

    from varwheel.index import http as vhttp

    class Busy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Retry-After", "86400")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setattr(vhttp, "MAX_RETRY_AFTER", 0.2, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    outcome: list[object] = []

    def fetch() -> None:
        session = vhttp.HttpSession(retries=2, timeout=5)
        try:
            outcome.append(session.get(f"http://127.0.0.1:{server.server_address[1]}/simple/x/"))
        except Exception as exc:  # the outcome is what is checked
            outcome.append(exc)

    start = time.monotonic()
    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(20)
    server.shutdown()
    assert not worker.is_alive(), "still sleeping on the server's Retry-After"
    assert time.monotonic() - start < 10
    assert "HTTP 503" in str(outcome[0])
