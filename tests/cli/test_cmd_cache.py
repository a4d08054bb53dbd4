"""``varwheel cache info|clear``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.cli.main import main
from varwheel.index.static import write_static_index


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("VARWHEEL_CONFIG", str(config))
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "cache"


def _info(capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["cache", "info", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_info_then_clear(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = _info(capsys)
    assert {k: v for k, v in empty.items() if k != "parts"} == {
        "location": str(cache_dir),
        "plugin_envs": 0,
        "provider_answers": 0,
        "size_bytes": 0,
    }
    assert all(p["entries"] == 0 for p in empty["parts"].values())
    assert main(["detect", "--json", "--namespace", "nvidia", "--namespace", "x86_64"]) == 0
    capsys.readouterr()
    filled = _info(capsys)
    assert filled["provider_answers"] == 2
    assert filled["size_bytes"] > 0
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert f"location:           {cache_dir}" in text
    assert re.search(r"provider answers: +2 ", text)
    assert main(["cache", "clear"]) == 0
    assert "removed 2 provider answers (" in capsys.readouterr().out
    assert _info(capsys)["provider_answers"] == 0


def test_cache_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cache"])
    assert info.value.code == 2


def _du(root: Path) -> int:
    """Bytes of the files under ``root`` (``lstat``, links not followed), as ``du -b`` counts."""
    return sum(
        os.lstat(os.path.join(d, n)).st_size for d, _dirs, names in os.walk(root) for n in names
    )


def _install_from_an_index(tmp_path: Path) -> Path:
    """A real wheel served by a real index on 127.0.0.1 installed into a real venv: fills the
    HTTP page cache, the downloaded-wheel cache, the unpacked cache and the interpreter facts."""
    wheel = build_wheel(tmp_path / "wheels", "demo-pkg", "1.0", files={"demo_pkg/x.py": "X = 1\n"})
    site = write_static_index([wheel], tmp_path / "site")
    venv = make_venv(tmp_path / "venv")
    with serve_directory(site) as server:
        argv = ["install", "-q", "--python", str(venv), "--index-url", server.url + "simple/"]
        assert main([*argv, "demo-pkg"]) == 0
    return venv


def test_info_counts_every_cache_and_clear_removes_what_it_says(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = _install_from_an_index(tmp_path)
    capsys.readouterr()
    info = _info(capsys)
    parts = info["parts"]
    assert parts["unpacked_wheels"]["entries"] == 1
    assert parts["downloaded_wheels"]["entries"] == 1
    assert parts["http_pages"]["entries"] >= 1
    assert parts["interpreter_facts"]["entries"] >= 1
    assert all(parts[k]["size_bytes"] > 0 for k in ("unpacked_wheels", "downloaded_wheels"))
    assert info["size_bytes"] == _du(cache_dir)  # the true size, every part counted
    assert sum(p["size_bytes"] for p in parts.values()) <= info["size_bytes"]
    assert main(["cache", "info"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"unpacked wheels: +1 ", text) and re.search(r"downloaded wheels: +1 ", text)
    assert all(len(line) <= 80 for line in text.splitlines() if "location" not in line)
    assert main(["cache", "clear"]) == 0
    said = capsys.readouterr().out
    assert "1 unpacked wheel," in said and "1 downloaded wheel," in said
    assert "HTTP page" in said and "interpreter fact" in said
    after = _info(capsys)
    assert all(p["entries"] == 0 and p["size_bytes"] == 0 for p in after["parts"].values())
    assert sorted(p.name for p in cache_dir.iterdir()) == [".lock", "CACHEDIR.TAG"]
    # the linked install survives: hard links keep the data
    (installed,) = venv.glob("lib/python*/site-packages/demo_pkg/x.py")
    assert installed.read_text() == "X = 1\n"


def test_clear_empties_a_cache_without_its_tag(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache written only by the index client (or an older varwheel) has no CACHEDIR.TAG:
    its downloaded wheels and pages must still go (they did not: only answers were removed)."""
    _install_from_an_index(tmp_path)
    (cache_dir / "CACHEDIR.TAG").unlink()
    assert main(["cache", "clear"]) == 0
    capsys.readouterr()
    assert not (cache_dir / "index").exists() and not (cache_dir / "unpacked").exists()
    assert _info(capsys)["size_bytes"] == 0


def test_clear_of_a_mistaken_directory_leaves_its_files_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    (home / "index").mkdir(parents=True)
    (home / "index" / "notes.txt").write_text("mine")
    (home / "provider-answers").mkdir()
    (home / "provider-answers" / "a.json").write_text("{}")
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(home))
    assert main(["cache", "clear"]) == 0
    captured = capsys.readouterr()
    assert "removed 1 provider answer (" in captured.out
    assert "left 1 other entries" in captured.err and "CACHEDIR.TAG" in captured.err
    assert (home / "index" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in home.iterdir()) == ["index"]  # no lock file planted either


def test_clear_never_follows_a_symlink_out_of_the_cache(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_from_an_index(tmp_path)
    capsys.readouterr()
    before = _info(capsys)["size_bytes"]
    shutil.rmtree(cache_dir / "interpreters")
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "keep.txt").write_text("x" * 5000)
    (cache_dir / "unpacked" / "evil").symlink_to(outside, target_is_directory=True)
    (cache_dir / "index" / "wheels" / "ab").symlink_to(outside / "deep")
    (cache_dir / "interpreters").symlink_to(outside)  # a whole part replaced by a link
    capsys.readouterr()
    info = _info(capsys)
    assert info["size_bytes"] < before  # the 5000 bytes behind the links are not counted
    assert info["parts"]["interpreter_facts"]["entries"] == 0
    assert main(["cache", "clear"]) == 0
    assert (outside / "deep" / "keep.txt").read_text() == "x" * 5000
    assert sorted(p.name for p in cache_dir.iterdir()) == [".lock", "CACHEDIR.TAG"]


_HOLDER = """
import sys, time
from pathlib import Path
from varwheel.providers.cache import hold_cache
hold_cache(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


def test_clear_refuses_while_another_varwheel_uses_the_cache(
    cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_from_an_index(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(cache_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        capsys.readouterr()
        assert main(["cache", "clear"]) == 1
        err = capsys.readouterr().err
        assert "another varwheel is using the cache" in err and "Traceback" not in err
        assert _info(capsys)["parts"]["unpacked_wheels"]["entries"] == 1  # nothing removed
    finally:
        holder.communicate("")
    assert main(["cache", "clear"]) == 0
    capsys.readouterr()
    assert _info(capsys)["parts"]["unpacked_wheels"]["entries"] == 0
