"""pip's and uv's habits (issue 11, "pip/uv habits lose variants or logins"): each finding
is one test against real servers on 127.0.0.1, real wheels and real venvs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.index.static import write_static_index


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("PIP_", "UV_", "VARWHEEL_INDEX"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "no-xdg"))


def _site(tmp_path: Path) -> Path:
    wheel = build_wheel(tmp_path / "wheels", "demo-pkg", "1.0", files={"demo_pkg/x.py": "X = 1\n"})
    return write_static_index([wheel], tmp_path / "site")


def _install(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    venv = make_venv(tmp_path / "venv")
    code = main(["install", "-q", "--python", str(venv), *extra, "demo-pkg"])
    return code, venv


def _installed(venv: Path) -> bool:
    return any(venv.glob("lib/python*/site-packages/demo_pkg/x.py"))


def _served(server: LocalServer) -> bool:
    return server.stats.count("/simple/demo-pkg/", status=200) == 1


@pytest.mark.parametrize("var", ["PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX"])
def test_pip_and_uv_index_variables_are_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    with serve_directory(_site(tmp_path)) as server:
        monkeypatch.setenv(var, server.url + "simple/")
        code, venv = _install(tmp_path)
        assert code == exitcodes.OK and _served(server)
    assert _installed(venv)


def test_pip_extra_index_url_variable_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = write_static_index([], tmp_path / "empty")
    with serve_directory(empty) as first, serve_directory(_site(tmp_path)) as second:
        monkeypatch.setenv("PIP_INDEX_URL", first.url + "simple/")
        monkeypatch.setenv("PIP_EXTRA_INDEX_URL", second.url + "simple/")
        code, venv = _install(tmp_path)
        assert code == exitcodes.OK and _served(second)
    assert _installed(venv)


def test_pip_conf_index_url_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_directory(_site(tmp_path)) as server:
        conf = tmp_path / "home" / ".config" / "pip" / "pip.conf"
        conf.parent.mkdir(parents=True)
        conf.write_text(f"[global]\nindex-url = {server.url}simple/\n")
        monkeypatch.delenv("PIP_CONFIG_FILE")
        code, venv = _install(tmp_path)
        assert code == exitcodes.OK and _served(server)
    assert _installed(venv)


def test_varwheel_index_url_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_directory(_site(tmp_path)) as server:
        monkeypatch.setenv("VARWHEEL_INDEX_URL", server.url + "simple/")
        monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # varwheel's own wins
        code, venv = _install(tmp_path)
        assert code == exitcodes.OK and _served(server)
    assert _installed(venv)


def test_netrc_login_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password pw-123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with serve_directory(_site(tmp_path), basic_auth=("alice", "pw-123")) as server:
        code, venv = _install(tmp_path, "-i", server.url + "simple/")
        assert code == exitcodes.OK
    assert _installed(venv)


def test_timeout_and_cert_flags_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    with serve_directory(_site(tmp_path)) as server:
        index = ["-i", server.url + "simple/"]
        flags = ["--timeout", "5", "--retries", "1", "--cert", str(ca)]
        code, venv = _install(tmp_path, *index, *flags)
        assert code == exitcodes.OK
    assert _installed(venv)


def test_explain_reports_variants_on_another_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pip's ``--extra-index-url VARIANT_INDEX``: first-index takes the plain torch from the
    first index; explain must say the variant index has variants and how to get them."""
    plain = build_wheel(tmp_path / "plain", "torch", "2.9.1", files={"torch/a.py": ""})
    variant_wheels = [
        build_wheel(
            tmp_path / "variants",
            "torch",
            "2.9.0",
            files={"torch/a.py": ""},
            variant=variant_json(label, [f"blas :: library :: {label}"]),
        )
        for label in ("mkl", "openblas")
    ]
    general = write_static_index([plain], tmp_path / "general")
    variants = write_static_index(variant_wheels, tmp_path / "variants-site")
    with serve_directory(general) as pypi, serve_directory(variants) as vidx:
        venv = make_venv(tmp_path / "venv")
        index = ["-i", pypi.url + "simple/", "--extra-index-url", vidx.url + "simple/"]
        assert main(["explain", "--python", str(venv), *index, "torch"]) == exitcodes.OK
    out = capsys.readouterr().out
    text = " ".join(out.split())
    assert f"the index {vidx.url}simple/ has torch 2.9.0 with variants mkl, openblas" in text
    assert f"--index-for torch={vidx.url}simple/" in text
    assert "--index-strategy unsafe-best-match" in text
