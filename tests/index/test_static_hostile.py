"""``index build`` / ``index merge`` / ``publish`` on hostile inputs: a zip bomb, a duplicate
member, an oversized ``*-variants.json`` are refused with nothing written; Ctrl-C while a new
index or merge directory is being written leaves nothing behind, and the rerun works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.cli.main import main


def _bomb(dest: Path) -> Path:
    wheel = build_wheel(dest, "bomb", "1.0")
    # 300 MiB of zeros deflate to ~300 KB: over wheelzip's 200:1 for a member above 64 MiB
    with (
        zipfile.ZipFile(wheel, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("bomb/zeros.bin", "w", force_zip64=True) as fh,
    ):
        for _ in range(300):
            fh.write(bytes(1 << 20))
    return wheel


def _duplicate(dest: Path) -> Path:
    wheel = build_wheel(dest, "dup", "1.0", files={"dup/__init__.py": "x = 1\n"})
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("dup/__init__.py", "x = 2\n")  # a second member of the same name
    return wheel


@pytest.mark.parametrize(
    ("make", "reason"), [(_bomb, "refused as a zip bomb"), (_duplicate, "appears twice")]
)
def test_hostile_wheels_are_refused_by_index_merge_and_publish(
    tmp_path: Path, capsys, make, reason: str
) -> None:
    wheel = make(tmp_path / "in")
    for argv in (
        ["index", "build", str(tmp_path / "in"), "-o", str(tmp_path / "idx")],
        ["index", "merge", str(tmp_path / "in"), "-o", str(tmp_path / "merged")],
        ["publish", "--dry-run", str(wheel)],
    ):
        assert main(argv) == exitcodes.INVALID_INPUT
        err = capsys.readouterr().err
        assert err.startswith(f"varwheel: error: {wheel.name}: ") and reason in err
        assert err.count("\n") == 1
    assert not (tmp_path / "idx").exists() and not (tmp_path / "merged").exists()


def test_an_oversized_variants_json_is_not_read_whole(tmp_path: Path, capsys) -> None:
    (tmp_path / "in").mkdir()
    big = tmp_path / "in" / "vpub-1.0-variants.json"
    with open(big, "wb") as fh:
        fh.write(b"{" + b" " * (17 * 1024 * 1024) + b"}")
    assert main(["index", "build", str(tmp_path / "in"), "-o", str(tmp_path / "idx")]) == 2
    assert "larger than 16777216 bytes" in capsys.readouterr().err
    assert not (tmp_path / "idx").exists()


# The child stops inside the first file copy (as a slow disk would), then gets SIGINT.
_SLOW = textwrap.dedent("""
    import os, sys, time
    import varwheel.index.static as static
    original = static._copy_atomic
    def slow(source, target):
        original(source, target)
        print("copying", flush=True)
        time.sleep(60)
    static._copy_atomic = slow
    from varwheel.cli.main import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("command", ["build", "merge"])
def test_ctrl_c_while_writing_a_new_index_leaves_nothing(tmp_path: Path, command: str) -> None:
    build_wheel(tmp_path / "in", "alpha", "1.0")
    build_wheel(tmp_path / "in", "beta", "1.0")
    out = tmp_path / "out"
    argv = ["index", command, str(tmp_path / "in"), "-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "copying\n", proc.communicate(timeout=30)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert "interrupted" in err
    # the old code left out/files and the lock: the rerun then refused "not a static index"
    assert sorted(os.listdir(tmp_path)) == ["in"]
    assert main(argv) == 0
    assert (
        (out / "simple" / "index.html").is_file()
        if command == "build"
        else len(list(out.iterdir())) == 2
    )


def test_check_reports_a_hostile_wheel_as_an_error(tmp_path: Path, capsys) -> None:
    wheel = _bomb(tmp_path / "in")
    assert main(["check", str(wheel)]) == exitcodes.FAILURE  # was: 0 errors, exit 0
    out = capsys.readouterr().out
    assert f"error[invalid-wheel]: {wheel.name}: " in out and "zip bomb" in out


def test_a_wheel_whose_record_lies_is_refused_by_check_and_publish(tmp_path: Path, capsys) -> None:
    wheel = build_wheel(tmp_path, "lierec", "1.0", files={"lierec/__init__.py": "x = 1\n"})
    members = {}
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info)
    members["lierec/__init__.py"] = b"import os; os.system('echo pwned')\n"  # RECORD unchanged
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    # both said "0 error(s)" / "would upload" before
    assert main(["check", str(wheel)]) == exitcodes.FAILURE
    assert "error[invalid-wheel]: lierec-1.0-py3-none-any.whl: size mismatch for " in (
        capsys.readouterr().out
    )
    assert main(["publish", "--dry-run", str(wheel)]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"varwheel: error: {wheel.name}: size mismatch for 'lierec/__init__.py'")


def test_a_fifo_named_like_a_wheel_is_named_as_such(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "x-1.0-py3-none-any.whl"
    os.mkfifo(fifo)
    for argv in (["index", "build", str(fifo), "-o", "idx"], ["publish", "--dry-run", str(fifo)]):
        assert main(argv) == exitcodes.INVALID_INPUT
        assert capsys.readouterr().err == f"varwheel: error: {fifo}: not a regular file\n"
