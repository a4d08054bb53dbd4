"""``varwheel publish`` against real index servers started on 127.0.0.1: pypiserver 2.4.2 and
devpi-server 6.20.3 (both from the registry, in the test extra).

Measured here, not assumed: both accept and list six- and seven-part variant wheel names, both
refuse ``*-variants.json`` (pypiserver: 400 ``Bad filename``; devpi: 400 ``… is not a valid
archive name``); ``varwheel install`` from the server picks the expected variant through each
wheel's ``variant.json``, and through the ``--variants-index`` side index through the merged
file; pip (this venv's, 26.3) and uv 0.13.9 without preview install the plain wheel from the
server and from our static index; a refusal is one line with exit 4; a publish killed half-way
leaves the side index as it was.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree, venv_python
from helpers.http_server import free_port, serve_directory
from index.release import FORCE_CUDA_12, build_release
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.index.static import update_index

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    kind: str
    upload_url: str
    simple_url: str
    user: str
    password: str
    packages: Path | None  # pypiserver's directory (to watch uploads land)


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if urllib3.request("GET", url, retries=False, timeout=2).status < 500:
                return
        except urllib3.exceptions.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.skip(f"{what} exited with {proc.returncode} at start-up")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{what} did not answer {url} within {seconds:.0f}s")


@pytest.fixture(scope="module")
def pypiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with warnings.catch_warnings():  # passlib imports the deprecated crypt module
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile  # pypiserver's htpasswd support needs passlib

    root = tmp_path_factory.mktemp("pypiserver")
    packages = root / "packages"
    packages.mkdir()
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
    htpasswd.set_password("alice", "pypiserver-secret")
    htpasswd.save()
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "pypi-server"),
            "run",
            "-p",
            str(port),
            "-i",
            "127.0.0.1",
            "-P",
            str(root / "htpasswd"),
            "-a",
            "update",
            "--disable-fallback",
            str(packages),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        _wait(base + "simple/", proc, 30, "pypiserver")
        yield Server("pypiserver", base, base + "simple/", "alice", "pypiserver-secret", packages)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (BIN / "devpi-server").exists():
        pytest.skip("devpi-server is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("devpi") / "server"
    init = subprocess.run(
        [str(BIN / "devpi-init"), "--serverdir", str(root), "--root-passwd", "root-secret"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        pytest.skip(f"devpi-init failed: {init.stderr.strip().splitlines()[-1:]}")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "devpi-server"),
            "--serverdir",
            str(root),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--offline-mode",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/+api", proc, 120, "devpi-server")
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        made = urllib3.request(
            "PUT", base + "/alice", body=json.dumps({"password": "devpi-secret"}), headers=headers
        )
        assert made.status == 201, made.data
        auth = urllib3.make_headers(basic_auth="alice:devpi-secret")
        index = json.dumps({"bases": [], "volatile": False})
        made = urllib3.request("PUT", base + "/alice/dev", body=index, headers={**headers, **auth})
        assert made.status == 200, made.data
        yield Server(
            "devpi",
            base + "/alice/dev/",
            base + "/alice/dev/+simple/",
            "alice",
            "devpi-secret",
            None,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(params=["pypiserver", "devpi"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("TWINE_", "VARWHEEL_REPOSITORY"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pypirc of the user's


_VERSIONS = iter(range(1, 1000))


def new_version() -> str:
    """A version no test used yet: the servers live for the whole module."""
    return f"1.{next(_VERSIONS)}"


def sdist(dest: Path, version: str) -> Path:
    """A minimal sdist (PKG-INFO is what the upload reads)."""
    path = dest / f"vpub-{version}.tar.gz"
    data = f"Metadata-Version: 2.1\nName: vpub\nVersion: {version}\n".encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"vpub-{version}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def release(dest: Path, version: str, **kwargs: object) -> list[Path]:
    """Six- and seven-part names: each wheel without and with build tag 1."""
    return [
        *build_release(dest, version, **kwargs),  # type: ignore[arg-type]
        *build_release(dest, version, build_tag="1", **kwargs),  # type: ignore[arg-type]
    ]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def publish_args(server: Server, *extra: str) -> list[str]:
    return ["--repository-url", server.upload_url, "-u", server.user, *extra]


def test_servers_refuse_variants_json_and_accept_variant_wheels(
    server: Server, tmp_path: Path
) -> None:
    """What each server does with the files of a variant release (twine's form fields)."""
    version = new_version()
    wheels = release(tmp_path / "dist", version, labels=("cu12",))
    update_index(wheels, tmp_path / "site")
    variants_json = next((tmp_path / "site" / "files").rglob("*-variants.json"))
    auth = urllib3.make_headers(basic_auth=f"{server.user}:{server.password}")

    def post(path: Path) -> urllib3.BaseHTTPResponse:
        fields = [(":action", "file_upload"), ("protocol_version", "1"), ("name", "vpub")]
        fields += [("version", version), ("filetype", "bdist_wheel"), ("pyversion", "py3")]
        fields.append(("content", (path.name, path.read_bytes(), "application/octet-stream")))
        return urllib3.request("POST", server.upload_url, fields=fields, headers=auth)

    for wheel in wheels:
        assert post(wheel).status == 200, wheel.name
    refused = post(variants_json)
    assert refused.status == 400
    expected = {
        "pypiserver": f"Bad filename: vpub-{version}-variants.json",
        "devpi": f"'vpub-{version}-variants.json' is not a valid archive name",
    }[server.kind]
    assert expected in refused.data.decode()
    page = urllib3.request("GET", server.simple_url + "vpub/").data.decode()
    for wheel in wheels:
        assert wheel.name in page
    assert "-variants.json" not in page
    assert "#sha256=" in page


def _install_and_run(capsys, tmp_path: Path, index_url: str, version: str) -> tuple[str, dict]:
    venv = make_venv(tmp_path / f"venv-{abs(hash(index_url))}")
    code, _, err = cli(
        capsys, "install", f"vpub=={version}", "--index-url", index_url, "--python", str(venv)
    )
    assert code == 0, err
    code, out, err = cli(
        capsys, "explain", f"vpub=={version}", "--index-url", index_url, "--python", str(venv),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    build = subprocess.run(
        [str(venv_python(venv)), "-c", "import vpub; print(vpub.BUILD)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return build, json.loads(out)["packages"][0]


def test_publish_then_install_the_expected_variant(
    server: Server, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in FORCE_CUDA_12.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VARWHEEL_PASSWORD", server.password)
    version = new_version()
    release(tmp_path / "dist", version)
    sdist(tmp_path / "dist", version)
    code, out, err = cli(
        capsys, "publish", "dist", *publish_args(server, "--variants-index", "side")
    )
    assert code == 0, err
    assert sum(line.startswith("uploaded ") for line in out.splitlines()) == 9
    assert "password from VARWHEEL_PASSWORD" in out and server.password not in out + err
    lines = [line for line in out.splitlines() if line.startswith("uploaded ")]
    assert lines[0] == f"uploaded vpub-{version}.tar.gz"  # the sdist and plain wheels first
    assert lines[1] == f"uploaded vpub-{version}-1-py3-none-any.whl"
    assert lines[-1].endswith("-cu13.whl")

    # straight from the server: the wheels' own variant.json (range requests / downloads)
    build, expl = _install_and_run(capsys, tmp_path, server.simple_url, version)
    assert build == "cu12"
    assert expl["chosen"]["filename"] == f"vpub-{version}-1-py3-none-any-cu12.whl"
    assert expl["metadata_route"].startswith("per-wheel variant.json")
    # through the side index: the merged *-variants.json, wheels still from the server
    with serve_directory(tmp_path / "side") as side:
        build, expl = _install_and_run(capsys, tmp_path, side.url + "simple/", version)
    assert build == "cu12"
    assert expl["metadata_route"] == "index variants.json"


def _pip_and_uv_install(index_url: str, version: str, target: Path) -> dict[str, str]:
    """The build each tool installs (no variant support: the plain wheel is the right one)."""
    got = {}
    commands = {
        "pip": [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--isolated",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--index-url",
            index_url,
        ],
        "uv": [
            str(BIN / "uv"),
            "pip",
            "install",
            "--no-deps",
            "--no-cache",
            "--python",
            sys.executable,
            "--index-url",
            index_url,
        ],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    for tool, command in commands.items():
        dest = target / tool
        run = subprocess.run(
            [*command, "--target", str(dest), f"vpub=={version}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert run.returncode == 0, f"{tool}: {run.stdout}\n{run.stderr}"
        got[tool] = (dest / "vpub" / "__init__.py").read_text().split('"')[1]
        record = next(dest.glob("vpub-*.dist-info"))
        assert not (record / "variant.json").exists()
    return got


def test_pip_and_uv_install_the_plain_wheel(
    server: Server, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_version = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout
    uv_version = subprocess.run(
        [str(BIN / "uv"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert pip_version.startswith("pip 26.3") and uv_version.startswith("uv 0.13.9")
    version = new_version()
    release(tmp_path / "dist", version)
    monkeypatch.setenv("TWINE_PASSWORD", server.password)
    code, _, err = cli(capsys, "publish", "dist", *publish_args(server))
    assert code == 0, err
    assert _pip_and_uv_install(server.simple_url, version, tmp_path / "from-server") == {
        "pip": "plain",
        "uv": "plain",
    }
    code, _, err = cli(capsys, "index", "build", "dist", "-o", "static")
    assert code == 0, err
    with serve_directory(tmp_path / "static", json_negotiation=False) as site:
        got = _pip_and_uv_install(site.url + "simple/", version, tmp_path / "from-static")
    assert got == {"pip": "plain", "uv": "plain"}


def test_refusal_is_one_line_exit_4(server: Server, tmp_path: Path, capsys) -> None:
    version = new_version()
    release(tmp_path / "a", version, labels=())
    args = publish_args(server, "-p", server.password)
    code, _, err = cli(capsys, "publish", "a", *args)
    assert code == 0, err
    # the same file names with other bytes: both servers refuse with 409
    release(tmp_path / "b", version, labels=(), payload=16)
    code, out, err = cli(capsys, "publish", "b", *args)
    assert code == exitcodes.NETWORK_FAILURE
    assert err.count("\n") == 1 and "HTTP 409" in err and "--skip-existing" in err
    assert server.password not in err + out
    code, out, err = cli(capsys, "publish", "b", *args, "--skip-existing")
    assert code == 0, err
    assert sum(line.startswith("exists ") for line in out.splitlines()) == 2
    # ... but a side index is never paired with bytes other than the ones published
    release(tmp_path / "c", version, labels=("cu12",), payload=16)
    code, out, err = cli(capsys, "publish", "c", *args, "--skip-existing", "--variants-index", "s")
    assert code == exitcodes.NETWORK_FAILURE, err
    assert "with sha256" in err and "side index not written" in err
    assert not (tmp_path / "s" / "simple").exists()
    # wrong credentials
    code, _, err = cli(capsys, "publish", "b", *publish_args(server, "-p", "wrong"))
    assert code == exitcodes.NETWORK_FAILURE and err.count("\n") == 1
    assert "HTTP 401" in err or "HTTP 403" in err
    assert "credentials: username from --username, password from --password" in err


_PUBLISH = "from varwheel.cli.main import run; run()"


def test_killed_publish_leaves_the_side_index_as_it_was(
    pypiserver: Server, tmp_path: Path, capsys
) -> None:
    args = publish_args(pypiserver, "-p", pypiserver.password, "--variants-index", "side")
    first = new_version()
    release(tmp_path / "one", first, labels=("cu12",))
    code, _, err = cli(capsys, "publish", "one", *args)
    assert code == 0, err
    before = snapshot_tree(tmp_path / "side")
    second = new_version()
    release(tmp_path / "two", second, payload=4 * 1024 * 1024)
    assert pypiserver.packages is not None
    proc = subprocess.Popen(
        [sys.executable, "-c", _PUBLISH, "publish", "two", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(pypiserver.packages.glob(f"vpub-{second}-*")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(pypiserver.packages.glob(f"vpub-{second}-*"))) < 8  # really half-way
    assert snapshot_tree(tmp_path / "side") == before
    left = [p.name for p in (tmp_path / "side").rglob(".*")]
    assert left == [".varwheel-index.lock"]  # no temp files left
    code, _out, err = cli(capsys, "publish", "two", *args, "--skip-existing")
    assert code == 0, err
    page = (tmp_path / "side" / "simple" / "vpub" / "index.html").read_text()
    assert f"vpub-{first}-variants.json" in page and f"vpub-{second}-variants.json" in page
    with urllib.request.urlopen(pypiserver.simple_url + "vpub/") as resp:
        assert resp.read().decode().count(f">vpub-{second}-") == 8
    shutil.rmtree(tmp_path / "two")


def test_credentials_in_the_server_index_url_are_never_shown_or_written(
    pypiserver: Server, tmp_path: Path, capsys
) -> None:
    release(tmp_path / "d", new_version(), labels=("cu12",))
    secret_url = pypiserver.simple_url.replace("http://", "http://alice:idx-hunter2@")
    args = publish_args(pypiserver, "-p", pypiserver.password, "--variants-index", "side")
    code, out, err = cli(capsys, "publish", "d", *args, "--server-index-url", secret_url)
    assert code == 0, err
    # the old report printed "its pages link http://alice:idx-hunter2@..."
    assert f"(its pages link {pypiserver.simple_url})" in out
    assert "idx-hunter2" not in out + err
    for page in (tmp_path / "side").rglob("*"):
        if page.is_file():
            assert b"idx-hunter2" not in page.read_bytes(), page
