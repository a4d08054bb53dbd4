"""``varwheel publish`` from the command line, against a loopback upload server: the release
check refuses before any byte is sent, ``-r NAME`` reads ``.pypirc``, output without a
terminal is plain lines, and passwords never appear."""

from __future__ import annotations

import base64
import io
import select
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.wheels import build_wheel, variant_json
from index.hostile_upload_server import hostile_server
from index.release import build_release
from index.upload_server import upload_server
from varwheel.cli import exitcodes
from varwheel.cli.main import main

X86 = {
    "x86_64": {
        "requires": ["provider-variant-x86-64>=0.0.3"],
        "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
    }
}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("TWINE_", "VARWHEEL_REPOSITORY"))
    monkeypatch.setenv("HOME", str(tmp_path))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_broken_release_is_refused_before_any_upload(capsys, tmp_path: Path) -> None:
    build_wheel(tmp_path / "dist", "bad", "1.0")
    doc = variant_json("v9", ["x86_64 :: level :: v9"], providers=X86)
    build_wheel(tmp_path / "dist", "bad", "1.0", variant=doc)
    with upload_server() as server:
        code, out, err = run(capsys, "publish", "dist", "--repository-url", server.url)
    assert code == exitcodes.INVALID_INPUT
    assert err.count("\n") == 1 and "refusing to publish: unknown-value:" in err
    assert "bad-1.0-py3-none-any-v9.whl" in err
    assert server.requests == 0 and out == ""


def test_pypirc_section_order_and_plain_output(capsys, tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0", labels=("null", "cu12"))
    sdist = tmp_path / "dist" / "vpub-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        data = b"Metadata-Version: 2.1\nName: vpub\nVersion: 1.0\n"
        info = tarfile.TarInfo("vpub-1.0/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with upload_server(auth=("carol", "pa55")) as server:
        (tmp_path / ".pypirc").write_text(
            "[distutils]\nindex-servers = team\n\n"
            f"[team]\nrepository = {server.url}\nusername = carol\npassword = pa55\n"
        )
        code, out, err = run(capsys, "publish", "dist", "-r", "team")
        assert code == 0, err
        again_code, again_out, again_err = run(
            capsys, "publish", "dist", "-r", "team", "--skip-existing"
        )
    assert [u.filename for u in server.received] == [
        "vpub-1.0.tar.gz",
        "vpub-1.0-py3-none-any.whl",
        "vpub-1.0-py3-none-any-null.whl",
        "vpub-1.0-py3-none-any-cu12.whl",
    ]
    token = base64.b64encode(b"carol:pa55").decode()
    assert {u.authorization for u in server.received} == {f"Basic {token}"}
    assert "credentials: username from .pypirc [team], password from .pypirc [team]" in out
    assert "pa55" not in out + err and "\x1b[" not in out + err  # no terminal: no progress bar
    assert "variant metadata of vpub 1.0: in each wheel's variant.json" in out
    assert again_code == 0, again_err
    assert again_out.count("\nexists   ") == 4


def test_dry_run_and_usage_errors(capsys, tmp_path: Path) -> None:
    build_release(tmp_path / "dist", "1.0", labels=("cu12",))
    (tmp_path / "dist" / "notes.txt").write_text("x")
    code, out, err = run(capsys, "publish", "dist", "--dry-run")
    assert code == 0, err
    assert out.splitlines() == [
        "would upload vpub-1.0-py3-none-any.whl",
        "would upload vpub-1.0-py3-none-any-cu12.whl",
        "variant metadata vpub 1.0: merged, not uploaded (see --variants-index)",
    ]
    assert "skipped dist/notes.txt" in err
    code, _, err = run(capsys, "publish", "dist")
    assert code == exitcodes.INVALID_INPUT and "no repository to publish to" in err
    code, _, err = run(capsys, "publish", "dist", "-r", "nope")
    assert code == exitcodes.INVALID_INPUT and "-r nope: 'nope' is not a section" in err


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal (a pty) rich draws a progress bar on stderr; the result lines stay plain."""
    import os
    import pty
    import subprocess
    import sys

    build_release(tmp_path / "dist", "1.0", labels=("cu12",), payload=2 * 1024 * 1024)
    master, slave = pty.openpty()
    with upload_server() as server:
        proc = subprocess.run(
            [sys.executable, "-m", "varwheel", "publish", "dist", "--repository-url", server.url],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=120,
        )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    drawn = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "uploaded vpub-1.0-py3-none-any-cu12.whl" in proc.stdout
    assert "vpub-1.0-py3-none-any" in drawn and "━" in drawn  # the bar, with the file name


def test_password_prompt_on_a_terminal(tmp_path: Path) -> None:
    """No password anywhere and stdin a terminal: asked for without echo, as twine does."""
    import fcntl
    import os
    import pty
    import subprocess
    import sys
    import termios

    build_release(tmp_path / "dist", "1.0", labels=())
    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    with upload_server(auth=("dave", "typed-secret")) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "varwheel",
                "publish",
                "dist",
                "-u",
                "dave",
                "--repository-url",
                server.url,
            ],
            cwd=tmp_path,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=controlling_terminal,
            text=True,
        )
        os.close(slave)
        screen = b""
        deadline = time.monotonic() + 60
        while b"Password for dave" not in screen:
            assert time.monotonic() < deadline and proc.poll() is None, screen
            if select.select([master], [], [], 0.5)[0]:
                screen += os.read(master, 1024)
        os.write(master, b"typed-secret\n")
        out, err = proc.communicate(timeout=60)
        os.close(master)
    assert proc.returncode == 0, err
    assert [u.filename for u in server.received] == ["vpub-1.0-py3-none-any.whl"]
    assert "credentials: username from --username, password typed" in out
    assert b"typed-secret" not in screen and "typed-secret" not in out + err
    code = main(
        [
            "publish",
            "dist",
            "-u",
            "dave",
            "--repository-url",
            "http://127.0.0.1:9/",
            "--non-interactive",
            "--retries",
            "0",
        ]
    )
    assert code == exitcodes.NETWORK_FAILURE  # no prompt: tried without a password


@pytest.mark.parametrize("mode", ["huge", "silent", "redirect-host"])
def test_hostile_servers_one_line_exit_4_no_password(capsys, tmp_path: Path, mode: str) -> None:
    (wheel,) = build_release(tmp_path / "d", "1.0", labels=())
    with hostile_server(mode, body_size=64 * 1024 * 1024) as server:
        url = server.url.replace("http://", "http://alice:hunter2@")
        argv = ["publish", str(wheel), "--repository-url", url, "--non-interactive",
                "--retries", "0", "--timeout", "1"]  # fmt: skip
        code, out, err = run(capsys, *argv)
        # -v: the traceback too never shows the password
        verbose = subprocess.run(
            [sys.executable, "-m", "varwheel", "-v", *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert code == exitcodes.NETWORK_FAILURE
    assert err.startswith("varwheel: error: ") and err.count("\n") == 1 and len(err) < 600
    for text in (out, err, verbose.stdout, verbose.stderr):
        assert "hunter2" not in text and "alice:" not in text
    if mode == "silent":
        assert "no answer within 1 s (--timeout)" in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_timeout_must_be_a_positive_number(capsys, value: str) -> None:
    code, _, err = run(capsys, "publish", "x.whl", "--timeout", value)
    assert code == exitcodes.INVALID_INPUT
    assert (
        err
        == f"varwheel: error: --timeout {float(value):g}: must be a positive number of seconds\n"
    )
