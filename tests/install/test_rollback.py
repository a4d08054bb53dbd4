"""Rollback never makes things worse: a backup goes back to exactly the path it came from or
stays in the backup, and a transaction that cannot be rolled back is reported in one line (the
environment, what is in the way, the command that finishes it) by every later command."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel
from varwheel.errors import InstallError, StuckTransaction
from varwheel.install import transaction
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import installed_distributions

SCRIPT = {"console_scripts": {"demo-tool": "demo_pkg:main"}}


def _demo(tmp_path: Path, version: str) -> Path:
    files = {
        "demo_pkg/__init__.py": f"def main():\n    print('demo {version}')\n",
        **{f"demo_pkg/m{i}.py": f"X = {i}\n" for i in range(5)},
    }
    return build_wheel(tmp_path / version, "demo-pkg", version, files=files, entry_points=SCRIPT)


def _varwheel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args], capture_output=True, text=True, check=False
    )


def test_move_never_puts_a_backup_inside_an_existing_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across filesystems (EXDEV) ``shutil.move`` would move the backup INTO a directory in its
    way (the probe's ``pip/3``); the exact-path move refuses and leaves both as they are."""
    saved = tmp_path / "backup" / "3"
    saved.mkdir(parents=True)
    (saved / "__init__.py").write_text("original\n")
    in_the_way = tmp_path / "site" / "pip"
    in_the_way.mkdir(parents=True)
    real_replace = os.replace

    def cross_device(src: str, dst: str) -> None:
        if src == str(saved):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src)
        real_replace(src, dst)

    monkeypatch.setattr(transaction.os, "replace", cross_device)
    with pytest.raises(FileExistsError):
        transaction._move(str(saved), str(in_the_way))
    assert list(in_the_way.iterdir()) == []
    assert (saved / "__init__.py").read_text() == "original\n"
    # and with nothing in the way the cross-device move lands at exactly that path
    os.rmdir(in_the_way)
    transaction._move(str(saved), str(in_the_way))
    assert (in_the_way / "__init__.py").read_text() == "original\n"
    assert not saved.exists()


def test_blocked_rollback_is_stuck_in_one_line_until_settled(
    tmp_path: Path, env: TargetEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An uninstall fails half-way (the dist-info cannot be moved: a read-only directory), and
    while it failed the package directory it had already moved away was replaced by a FILE:
    the rollback cannot put the original back. It must not move the backup anywhere else, must
    not raise a traceback, and every later command must say the same one line until the
    obstacle is gone; then the next command finishes the rollback exactly."""
    transaction.install_wheels(env, [_demo(tmp_path, "1.0")])
    before = snapshot_tree(env.prefix)
    package = env.purelib / "demo_pkg"
    real_move = transaction._move

    def read_only_dist_info(src: str, dst: str) -> None:
        if src.endswith(".dist-info") and "/.varwheel/txn/backup/" in dst:
            package.write_text("something else now lives here\n")
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), src)
        real_move(src, dst)

    monkeypatch.setattr(transaction, "_move", read_only_dist_info)
    with pytest.raises(StuckTransaction) as info:
        transaction.uninstall(env, ["demo-pkg"])
    monkeypatch.setattr(transaction, "_move", real_move)
    message = str(info.value)
    txn = env.prefix / ".varwheel" / "txn"
    assert "\n" not in message
    assert message.startswith(
        f"{env.prefix}: an interrupted varwheel uninstall cannot be rolled back: a file is in "
        f"the way at {package} (the original is kept as {txn}/backup/"
    )
    assert message.endswith(
        f"then run `varwheel list --python {env.prefix}` to finish the rollback"
    )
    # the obstacle is untouched, the original is still in the backup (not moved into anything)
    assert package.read_text() == "something else now lives here\n"
    kept = [p for p in (txn / "backup").iterdir() if (p / "__init__.py").exists()]
    assert len(kept) == 1
    # what could be put back was: the console script and the dist-info
    assert (env.scripts / "demo-tool").exists()
    assert (env.purelib / "demo_pkg-1.0.dist-info" / "RECORD").exists()

    wheel = _demo(tmp_path, "2.0")
    for args in (
        ["list"],
        ["uninstall", "-y", "demo-pkg"],
        ["install", str(wheel), "--no-index"],
    ):
        proc = _varwheel(*args, "--python", str(env.prefix))
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == f"varwheel: error: {message}"
    assert package.read_text() == "something else now lives here\n"

    package.unlink()  # the user settles it as the message says
    settled = _varwheel("list", "--python", str(env.prefix))
    assert settled.returncode == 0, settled.stderr
    assert "rolled back an interrupted varwheel uninstall" in settled.stderr
    assert snapshot_tree(env.prefix) == before
    assert not txn.exists()
    assert installed_distributions(env)["demo-pkg"].version == "1.0"


def test_failed_commit_write_restores_the_environment(
    tmp_path: Path, env: TargetEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit record cannot be written (disk full): the upgrade is undone from the plan in
    memory, one line, environment as before."""
    transaction.install_wheels(env, [_demo(tmp_path, "1.0")])
    before = snapshot_tree(env.prefix)
    real_write = transaction.journal.write

    def disk_full_at_commit(txn: Path, key: bytes, doc: dict[str, object]) -> None:
        if doc.get("state") == "committed":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(txn))
        real_write(txn, key, doc)

    monkeypatch.setattr(transaction.journal, "write", disk_full_at_commit)
    with pytest.raises(InstallError, match=r"install failed .*; the environment was restored$"):
        transaction.install_wheels(env, [_demo(tmp_path, "2.0")])
    assert snapshot_tree(env.prefix) == before
    assert not (env.prefix / ".varwheel" / "txn").exists()


def test_ctrl_c_during_placement_restores_the_environment(
    tmp_path: Path, env: TargetEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    transaction.install_wheels(env, [_demo(tmp_path, "1.0")])
    before = snapshot_tree(env.prefix)
    real_move = transaction._move
    moves: list[str] = []

    def interrupted(src: str, dst: str) -> None:
        moves.append(dst)
        if len(moves) == 5:  # once: the rollback's own moves go through
            raise KeyboardInterrupt
        real_move(src, dst)

    monkeypatch.setattr(transaction, "_move", interrupted)
    with pytest.raises(KeyboardInterrupt):
        transaction.install_wheels(env, [_demo(tmp_path, "2.0")])
    monkeypatch.setattr(transaction, "_move", real_move)
    assert snapshot_tree(env.prefix) == before
    assert not (env.prefix / ".varwheel" / "txn").exists()


def test_state_directory_that_is_a_symlink_is_refused(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    """Lock, key and journal are never reached through a symlink planted at ``.varwheel``."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (env.prefix / ".varwheel").symlink_to(elsewhere)
    with pytest.raises(InstallError, match=r"\.varwheel: varwheel's state directory is a symlink"):
        transaction.install_wheels(env, [_demo(tmp_path, "1.0")])
    assert list(elsewhere.iterdir()) == []


def test_ctrl_c_rollback_ignores_a_journal_replaced_on_disk(
    tmp_path: Path, env: TargetEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: were the journal on disk replaced during placement (no wheel can do so
    any more), the in-process rollback after Ctrl-C works from the plan in memory and the
    directory the forgery names, outside the environment, survives."""
    victim = tmp_path / "victim"
    (victim / "deep").mkdir(parents=True)
    (victim / "deep" / "precious.txt").write_text("keep me\n")
    transaction.install_wheels(env, [_demo(tmp_path, "1.0")])
    before = snapshot_tree(env.prefix)
    journal_path = env.prefix / ".varwheel" / "txn" / "journal.json"
    forged = '{"version": 1, "op": "install", "state": "applying", "displace": [], '
    forged += f'"place": ["{victim}"], "new_dirs": [], "prune_dirs": []}}'
    real_move = transaction._move
    moves: list[str] = []

    def forge_then_interrupt(src: str, dst: str) -> None:
        moves.append(dst)
        if len(moves) == 3:
            journal_path.write_text(forged)
            raise KeyboardInterrupt
        real_move(src, dst)

    monkeypatch.setattr(transaction, "_move", forge_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        transaction.install_wheels(env, [_demo(tmp_path, "2.0")])
    assert (victim / "deep" / "precious.txt").read_text() == "keep me\n"
    assert snapshot_tree(env.prefix) == before
    assert not journal_path.parent.exists()


@pytest.mark.parametrize("moves", ["1", "3", "9", "commit"])
def test_a_real_ctrl_c_during_placement_exits_130_and_restores(
    tmp_path: Path, env: TargetEnvironment, moves: str
) -> None:
    """The CLI end to end: SIGINT delivered to ``varwheel install`` while it moves files into
    place (after N moves, or right after the commit record) -> exit 130, one line, no traceback;
    before commit the old version is back exactly, after commit the new one is whole."""
    first = _varwheel("install", "--python", str(env.prefix), str(_demo(tmp_path, "1.0")))
    assert first.returncode == 0, first.stderr
    before = snapshot_tree(env.prefix)
    second = str(_demo(tmp_path, "2.0"))
    proc = subprocess.run(
        [sys.executable, "-m", "varwheel", "install", "--python", str(env.prefix), second],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            transaction.CRASH_ENV: moves,
            transaction.CRASH_SIGNAL_ENV: "SIGINT",
        },
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.splitlines()[-1] == "varwheel: error: interrupted", proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (env.prefix / ".varwheel" / "txn").exists()
    versions = {d.name: d.version for d in installed_distributions(env).values()}
    if moves == "commit":
        assert versions == {"demo-pkg": "2.0"}
    else:
        assert snapshot_tree(env.prefix) == before
    settled = _varwheel("list", "--python", str(env.prefix))
    assert settled.returncode == 0 and "Traceback" not in settled.stderr, settled.stderr


def _immutable(path: Path, on: bool) -> bool:
    """``chattr +i``/``-i``: a file even root cannot delete (as a file in a read-only directory
    is for anyone else); False where the file system or the container does not allow it."""
    flag = "+i" if on else "-i"
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


def test_an_undeletable_leftover_never_blocks_the_next_run(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    """A file of an uninstalled package that cannot be deleted stays in the backup after the
    uninstall succeeded. Before: the transaction directory stayed, every later command printed
    "removed the staging area of an interrupted varwheel run" without removing it, and every
    later uninstall failed with ".varwheel/txn: File exists". Now it is moved aside into
    ``.varwheel/leftovers`` (retried by later runs) and nothing is blocked."""
    assert (
        _varwheel("install", "--python", str(env.prefix), str(_demo(tmp_path, "1.0"))).returncode
        == 0
    )
    stubborn = env.purelib / "demo_pkg" / "m3.py"
    if not _immutable(stubborn, True):
        pytest.skip("chattr +i is not available here")
    try:
        first = _varwheel("uninstall", "-y", "--python", str(env.prefix), "demo-pkg")
        assert first.returncode == 0, first.stderr
        assert not (env.prefix / ".varwheel" / "txn").exists()
        for args in (
            ("install", str(_demo(tmp_path, "2.0"))),
            ("uninstall", "-y", "demo-pkg"),
            ("list",),
        ):
            proc = _varwheel(*args, "--python", str(env.prefix))
            assert proc.returncode == 0, proc.stderr
            assert "note:" not in proc.stderr and "error" not in proc.stderr, proc.stderr
        assert installed_distributions(env) == {}
        leftovers = list((env.prefix / ".varwheel" / "leftovers").rglob("m3.py"))
        assert [p.read_text() for p in leftovers] == ["X = 3\n"]
    finally:
        for path in (env.prefix / ".varwheel").rglob("m3.py"):
            _immutable(path, False)
    again = _varwheel("list", "--python", str(env.prefix))
    assert again.returncode == 0, again.stderr
    assert not (env.prefix / ".varwheel" / "leftovers").exists()  # retried, now deletable


@pytest.fixture
def read_only_purelib(env: TargetEnvironment) -> Iterator[Path]:
    """The environment's site-packages as a read-only bind mount (another file system than
    ``.varwheel``: moves are copies there, and deleting fails); skipped where mounting is not
    allowed (not root, no CAP_SYS_ADMIN)."""
    site = str(env.purelib)
    bind = subprocess.run(["mount", "--bind", site, site], capture_output=True, check=False)
    if bind.returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        ro = subprocess.run(
            ["mount", "-o", "remount,bind,ro", site], capture_output=True, check=False
        )
        if ro.returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield env.purelib
    finally:
        subprocess.run(["umount", site], capture_output=True, check=False)


@pytest.mark.parametrize("op", ["uninstall", "upgrade"])
def test_a_read_only_site_packages_is_restored_not_stuck(
    tmp_path: Path, env: TargetEnvironment, request: pytest.FixtureRequest, op: str
) -> None:
    """Before: moving a package into the backup copied it (another file system), failed to
    delete the read-only original, kept both, and the rollback then found "a directory in the
    way": a stuck transaction in every later command, even after the file system was writable
    again. Now a move that cannot delete its source leaves no copy: one line, exit 1, the
    environment as it was, nothing left to settle."""
    assert (
        _varwheel("install", "--python", str(env.prefix), str(_demo(tmp_path, "1.0"))).returncode
        == 0
    )
    before = snapshot_tree(env.prefix)
    request.getfixturevalue("read_only_purelib")
    if op == "uninstall":
        proc = _varwheel("uninstall", "-y", "--python", str(env.prefix), "demo-pkg")
    else:
        proc = _varwheel("install", "--python", str(env.prefix), str(_demo(tmp_path, "2.0")))
    errors = [line for line in proc.stderr.splitlines() if line.startswith("varwheel: error")]
    assert proc.returncode == 1, proc.stderr
    assert len(errors) == 1 and "Read-only file system" in errors[0], proc.stderr
    assert "the environment was restored" in errors[0], proc.stderr
    assert not (env.prefix / ".varwheel" / "txn").exists()
    assert snapshot_tree(env.prefix) == before
    settled = _varwheel("list", "--python", str(env.prefix))
    assert settled.returncode == 0 and "demo-pkg" in settled.stdout, settled.stderr
