"""``varwheel install --link-mode`` and ``--refresh``: real venvs, a real server on 127.0.0.1."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.index.static import write_static_index


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def _wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path / "wheels", "demo-pkg", "1.0", files={"demo_pkg/x.py": "X = 1\n"})


def _installed(venv: Path) -> Path:
    (path,) = venv.glob("lib/python*/site-packages/demo_pkg/x.py")
    return path


@pytest.mark.parametrize(
    ("flag", "mode", "links"), [([], 0o444, 2), (["--link-mode", "copy"], 0o644, 1)]
)
def test_link_mode(tmp_path: Path, flag: list[str], mode: int, links: int) -> None:
    _wheel(tmp_path)
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "-q", "--python", str(venv), "--no-index", "-f", str(tmp_path / "wheels")]
    assert main([*argv, *flag, "demo-pkg"]) == 0
    installed = _installed(venv)
    assert stat.S_IMODE(os.stat(installed).st_mode) == mode
    assert os.stat(installed).st_nlink == links  # linked to the unpacked cache, or a copy


def test_a_bad_link_mode_from_the_environment_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _wheel(tmp_path)
    venv = make_venv(tmp_path / "venv")
    monkeypatch.setenv("VARWHEEL_LINK_MODE", "symlink")
    argv = ["install", "--python", str(venv), "--no-index", "-f", str(tmp_path / "wheels")]
    assert main([*argv, "demo-pkg"]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert "link mode 'symlink': must be one of hardlink, clone, copy" in err
    assert "Traceback" not in err


def test_refresh_revalidates_fresh_pages(tmp_path: Path) -> None:
    site = write_static_index([_wheel(tmp_path)], tmp_path / "site")
    with serve_directory(site, cache_control="max-age=600") as server:
        index = ["--index-url", server.url + "simple/", "--dry-run", "demo-pkg"]
        venv = make_venv(tmp_path / "venv")
        for extra in ([], [], ["--refresh"]):
            assert main(["install", "-q", "--python", str(venv), *index, *extra]) == 0
        assert server.stats.count("/simple/demo-pkg/", status=200) == 1
        assert server.stats.count("/simple/demo-pkg/", status=304) == 1  # only --refresh asked
