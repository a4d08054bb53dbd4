"""The unpacked-wheel cache and link modes (``install/unpacked.py``), with real venvs and wheels."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from helpers.envs import make_venv
from helpers.wheels import build_wheel, record_digest, variant_json
from varwheel.errors import InstallError, InvalidInput
from varwheel.install.environment import TargetEnvironment, find_target_environment
from varwheel.install.transaction import install_wheels, uninstall
from varwheel.install.unpacked import MANIFEST, UnpackedCache, link_mode_from

VJ = variant_json(
    "x86_64_v3",
    ["x86_64 :: level :: v3"],
    providers={"x86_64": {"requires": ["x86-64-variant-provider"]}},
)
SHEBANG_SCRIPT = b"#!python\nimport demo_pkg\ndemo_pkg.main()\n"
PLAIN_SCRIPT = b"#!/bin/sh\necho plain\n"


def _wheel(tmp_path: Path, version: str = "1.0", **kwargs: object) -> Path:
    files = {
        "demo_pkg/__init__.py": f"def main():\n    print('demo {version}')\n",
        "demo_pkg/data.txt": "payload\n",
        f"demo_pkg-{version}.data/scripts/demo-raw": SHEBANG_SCRIPT,
        f"demo_pkg-{version}.data/scripts/demo-plain": PLAIN_SCRIPT,
    }
    return build_wheel(
        tmp_path / "wheels",
        "demo-pkg",
        version,
        files=files,
        entry_points={"console_scripts": {"demo-tool": "demo_pkg:main"}},
        **kwargs,  # type: ignore[arg-type]
    )


def _env(tmp_path: Path, name: str) -> TargetEnvironment:
    return find_target_environment(str(make_venv(tmp_path / name)))


def _entry(cache: UnpackedCache) -> Path:
    (entry,) = [p for p in cache.root.iterdir()]
    return entry


def _record_matches_files(env: TargetEnvironment, version: str = "1.0") -> None:
    dist_info = env.purelib / f"demo_pkg-{version}.dist-info"
    with open(dist_info / "RECORD", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows
    for path, digest, size in rows:
        target = (env.purelib / path).resolve()
        if path.endswith("RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = target.read_bytes()
        assert (digest, size) == (record_digest(data), str(len(data))), path


def test_second_environment_links_members_and_writes_per_install_files(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path, variant=VJ)
    first, second = _env(tmp_path, "a"), _env(tmp_path, "b")
    install_wheels(first, [wheel], unpacked_cache=cache)
    entry = _entry(cache)
    install_wheels(
        second,
        [wheel],
        requested={"demo-pkg"},
        direct_urls={"demo-pkg": {"url": "file:///w.whl", "archive_info": {}}},
        unpacked_cache=cache,
    )
    cached = entry / "files" / "demo_pkg" / "__init__.py"
    for env in (first, second):
        module = env.purelib / "demo_pkg" / "__init__.py"
        assert os.stat(module).st_ino == os.stat(cached).st_ino  # linked, not copied
        assert stat.S_IMODE(os.stat(module).st_mode) == 0o444
        dist_info = env.purelib / "demo_pkg-1.0.dist-info"
        with zipfile.ZipFile(wheel) as z:
            assert (dist_info / "variant.json").read_bytes() == z.read(
                "demo_pkg-1.0.dist-info/variant.json"
            )
        for own in ("RECORD", "INSTALLER"):
            assert os.stat(dist_info / own).st_nlink == 1, own
        # scripts name this environment's interpreter and are never shared
        for script in ("demo-tool", "demo-raw"):
            path = env.scripts / script
            assert path.read_bytes().splitlines()[0] == f"#!{env.python}".encode()
            assert os.stat(path).st_nlink == 1
            assert os.access(path, os.X_OK)
        assert (env.scripts / "demo-plain").read_bytes() == PLAIN_SCRIPT
        _record_matches_files(env)
        out = subprocess.run([str(env.scripts / "demo-tool")], capture_output=True, text=True)
        assert out.stdout == "demo 1.0\n"
    b_info = second.purelib / "demo_pkg-1.0.dist-info"
    assert (b_info / "REQUESTED").exists() and (b_info / "direct_url.json").exists()
    a_info = first.purelib / "demo_pkg-1.0.dist-info"
    assert not (a_info / "REQUESTED").exists() and not (a_info / "direct_url.json").exists()
    assert os.stat(b_info / "direct_url.json").st_nlink == 1


def test_an_in_place_edit_of_a_linked_file_is_refused(tmp_path: Path) -> None:
    """Cached files are read-only: a normal user's in-place edit fails instead of changing the
    cache and every environment linked to it. (root ignores permission bits: then the files are
    given to ``nobody`` and the child drops to it and reopens the very inode through
    ``/proc/self/fd``.)"""
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    first, second = _env(tmp_path, "a"), _env(tmp_path, "b")
    install_wheels(first, [wheel], unpacked_cache=cache)
    install_wheels(second, [wheel], unpacked_cache=cache)
    module = first.purelib / "demo_pkg" / "data.txt"
    if os.geteuid() == 0:
        os.chown(module, 65534, 65534)  # the child is the files' owner, as a user's cache is
    fd = os.open(module, os.O_RDONLY)
    try:
        code = (
            "import os, sys\n"
            "if os.geteuid() == 0:\n"
            "    os.setgid(65534); os.setuid(65534)\n"
            "try:\n"
            f"    os.open('/proc/self/fd/{fd}', os.O_WRONLY)\n"
            "except PermissionError:\n"
            "    sys.exit(0)\n"
            "sys.exit(1)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], pass_fds=(fd,), check=False)
    finally:
        os.close(fd)
    assert done.returncode == 0, "a linked file was writable"
    assert (second.purelib / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    assert (_entry(cache) / "files" / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"


@pytest.mark.parametrize("mode", ["copy", "clone"])
def test_copy_and_clone_give_independent_writable_files(tmp_path: Path, mode: str) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    first, second = _env(tmp_path, "a"), _env(tmp_path, "b")
    install_wheels(first, [wheel], unpacked_cache=cache, link_mode=mode)
    install_wheels(second, [wheel], unpacked_cache=cache, link_mode=mode)
    module = first.purelib / "demo_pkg" / "data.txt"
    assert stat.S_IMODE(os.stat(module).st_mode) == 0o644
    assert os.stat(module).st_nlink == 1
    module.write_bytes(b"edited\n")
    assert (second.purelib / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    assert (_entry(cache) / "files" / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    _record_matches_files(second)


def test_uninstall_of_a_linked_install_keeps_the_cache_and_other_environments(
    tmp_path: Path,
) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    first, second = _env(tmp_path, "a"), _env(tmp_path, "b")
    install_wheels(first, [wheel], unpacked_cache=cache)
    install_wheels(second, [wheel], unpacked_cache=cache)
    uninstall(first, ["demo-pkg"])
    assert not (first.purelib / "demo_pkg").exists()
    assert (second.purelib / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    assert (_entry(cache) / "files" / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    # upgrade in place from the cache, then back: RECORD stays right
    install_wheels(second, [_wheel(tmp_path, "2.0")], unpacked_cache=cache)
    _record_matches_files(second, "2.0")
    install_wheels(second, [wheel], unpacked_cache=cache)
    _record_matches_files(second)


def test_a_hostile_wheel_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    bad = tmp_path / "bad" / wheel.name
    bad.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "demo_pkg/data.txt":
                data = b"tampere\n"  # same size: fails on the hash, mid-unpack
            dst.writestr(info, data)
    env = _env(tmp_path, "a")
    with pytest.raises(InstallError, match=r"hash mismatch for 'demo_pkg/data.txt'"):
        install_wheels(env, [bad], unpacked_cache=cache)
    assert list(cache.root.iterdir()) == []
    assert not (env.purelib / "demo_pkg").exists()


def test_a_damaged_entry_is_filled_again(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    install_wheels(_env(tmp_path, "a"), [wheel], unpacked_cache=cache)
    (_entry(cache) / MANIFEST).write_bytes(b"{not json")
    env = _env(tmp_path, "b")
    install_wheels(env, [wheel], unpacked_cache=cache)
    _record_matches_files(env)
    assert (_entry(cache) / MANIFEST).read_bytes().startswith(b'{"format"')


def test_concurrent_fills_of_one_wheel_agree(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path)
    results: list[object] = []

    def fill() -> None:
        results.append(cache.prepare(wheel)[1])

    threads = [threading.Thread(target=fill) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r is not None for r in results)
    assert [p.name for p in cache.root.iterdir()] == [_entry(cache).name]  # no temp left


def test_an_unwritable_cache_still_installs(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    env = _env(tmp_path, "a")
    install_wheels(env, [_wheel(tmp_path)], unpacked_cache=UnpackedCache(blocker / "unpacked"))
    _record_matches_files(env)


def test_link_mode_is_checked() -> None:
    assert link_mode_from(None, {}) == "hardlink"
    assert link_mode_from(None, {"VARWHEEL_LINK_MODE": "copy"}) == "copy"
    with pytest.raises(InvalidInput, match="link mode 'symlink': must be one of"):
        link_mode_from("symlink", {})


def test_the_default_cache_is_under_the_cache_root_and_cleared_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from varwheel.providers.cache import cache_root, clear_cache

    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "root"))
    env = _env(tmp_path, "a")
    install_wheels(env, [_wheel(tmp_path)])  # the default: <cache root>/unpacked
    unpacked = tmp_path / "root" / "unpacked"
    assert os.stat(env.purelib / "demo_pkg" / "data.txt").st_nlink == 2
    assert len(list(unpacked.iterdir())) == 1
    clear_cache(cache_root())
    assert not unpacked.exists()
    assert (env.purelib / "demo_pkg" / "data.txt").read_bytes() == b"payload\n"
    install_wheels(env, [_wheel(tmp_path, "2.0")], unpacked_cache=None)  # no cache at all
    assert not unpacked.exists()
    _record_matches_files(env, "2.0")


def test_a_per_install_file_shipped_in_the_wheel_never_writes_through_a_link(
    tmp_path: Path,
) -> None:
    """A wheel that ships its own ``INSTALLER``: the member is linked first, then varwheel's
    ``INSTALLER`` replaces it in staging; writing it through the link would change the cache
    (and, as root, every environment linked to it)."""
    cache = UnpackedCache(tmp_path / "cache")
    wheel = _wheel(tmp_path, extra_dist_info={"INSTALLER": b"pip\n"})
    first, second = _env(tmp_path, "a"), _env(tmp_path, "b")
    install_wheels(first, [wheel], unpacked_cache=cache)
    install_wheels(second, [wheel], unpacked_cache=cache)
    cached = _entry(cache) / "files" / "demo_pkg-1.0.dist-info" / "INSTALLER"
    assert cached.read_bytes() == b"pip\n"
    for env in (first, second):
        installer = env.purelib / "demo_pkg-1.0.dist-info" / "INSTALLER"
        assert installer.read_bytes() == b"varwheel\n"
        assert os.stat(installer).st_nlink == 1


def test_what_a_killed_fill_left_is_swept_when_old(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    old, recent = root / ".tmp-0123456789abcdef-1-1", root / ".tmp-fedcba9876543210-2-2"
    for leftover in (old, recent):
        (leftover / "files").mkdir(parents=True)
        (leftover / "files" / "x.py").write_text("X = 1\n")
        (leftover / "files" / "x.py").chmod(0o444)
    os.utime(old, (1, 1))
    install_wheels(_env(tmp_path, "a"), [_wheel(tmp_path)], unpacked_cache=UnpackedCache(root))
    assert not old.exists()
    assert recent.exists()  # may be another process's fill in progress
