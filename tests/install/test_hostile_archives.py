"""Hostile wheel archives (issue 7): bombs, lying sizes, odd members and names.

Every wheel here is written byte by byte (``helpers.zips``) so that exactly one thing is wrong
with it; ``check_wheel`` must refuse it in one line naming the wheel and the member, before
anything is unpacked, in bounded memory.
"""

from __future__ import annotations

import bz2
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
import zlib
from pathlib import Path

import pytest

from helpers.envs import make_venv
from helpers.wheels import record_digest
from helpers.zips import (
    RawMember,
    deflate_bomb,
    deflated,
    raw_zip,
    repeated_deflate,
    repeated_digest,
    stored,
    wheel_members,
)
from varwheel.errors import InstallError
from varwheel.install.wheelcheck import check_wheel
from varwheel.wheelzip import MAX_MEMBERS, MAX_METADATA_SIZE, MAX_TOTAL_SIZE, RATIO_FLOOR

WHEEL = "demo-1.0-py3-none-any.whl"
PEAK_BOUND_MIB = 200  # docs/DESIGN.md "Security invariants", "Wheel archives"


def _wheel(
    tmp_path: Path,
    extra: list[RawMember] | tuple[RawMember, ...] = (),
    *,
    files: dict[str, bytes] | None = None,
    record_extra: tuple[str, ...] = (),
) -> Path:
    files = {"demo/__init__.py": b"X = 1\n"} if files is None else files
    path = tmp_path / WHEEL
    members = wheel_members("demo", "1.0", files, extra=extra, record_extra=record_extra)
    path.write_bytes(raw_zip(members))
    return path


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(InstallError) as info:
        check_wheel(path)
    message = str(info.value)
    assert message.startswith(f"{WHEEL}: "), message
    assert message.isprintable(), message  # one terminal line: no NUL, newline, ESC, bidi
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_raw_writer_makes_valid_wheels(tmp_path: Path) -> None:
    checked = check_wheel(_wheel(tmp_path, [stored("demo/data.txt", b"data")]))
    assert checked.members == 5


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty member name"),
        ("demo/a\x00b.py", "control"),
        ("demo/a\nb.py", "control"),
        ("demo/a\rb.py", "control"),
        ("demo/\x1b[2Jx.py", "control"),
        ("demo/\u202ecod.py", "control"),  # right-to-left override: shows as yp.doc
        ("/etc/evil.py", "absolute path"),
        ("C:x.py", "drive path"),
        ("C:/x.py", "drive path"),
        ("demo\\x.py", "backslash"),
        ("../evil.py", "'..'"),
        ("demo/../../evil.py", "'..'"),
        ("demo//x.py", "non-canonical"),
        ("./demo/x.py", "non-canonical"),
        ("demo/./x.py", "non-canonical"),
        ("demo/" + "x" * 300 + ".py", "longer than 255 bytes"),
    ],
)
def test_unsafe_member_names_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    message = _refused(_wheel(tmp_path, [stored(name, b"boom")]), "unsafe path", reason)
    assert repr(name)[1:-1][:60] in message


def test_duplicate_member_names_are_refused(tmp_path: Path) -> None:
    _refused(
        _wheel(tmp_path, [stored("demo/x.py", b"a"), stored("demo/x.py", b"b")]),
        "'demo/x.py'",
        "appears twice",
    )


@pytest.mark.parametrize("second", ["x//x.py", "demo//x.py", "./x.py"])
def test_names_equal_after_normalisation_are_refused(tmp_path: Path, second: str) -> None:
    """``x.py`` beside ``x//x.py`` (or ``./x.py``): RECORD would list one file twice."""
    wheel = _wheel(
        tmp_path, [stored("x.py", b"a"), stored("demo/x.py", b"b"), stored(second, b"c")]
    )
    _refused(wheel, repr(second), "non-canonical")


def test_a_name_that_is_both_file_and_directory_is_refused(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, [stored("demo/x", b"file"), stored("demo/x/y.py", b"child")])
    _refused(wheel, "'demo/x'", "both a file and a directory")


def test_directory_entry_with_data_is_refused(tmp_path: Path) -> None:
    _refused(_wheel(tmp_path, [stored("demo/d/", b"hidden")]), "'demo/d/'", "directory entry")


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    member = stored("demo/secret.py", b"X = 1\n", flags=0x801)
    _refused(_wheel(tmp_path, [member]), "'demo/secret.py'", "encrypted")


@pytest.mark.parametrize(
    ("method", "payload"), [(99, b"????"), (12, bz2.compress(b"x" * 1000)), (14, b"\x00" * 9)]
)
def test_unsupported_compression_is_refused(tmp_path: Path, method: int, payload: bytes) -> None:
    """Unknown methods, and bzip2/lzma: zipfile inflates those without an output bound."""
    content = b"x" * 1000
    member = RawMember(
        "demo/odd.bin", payload, method=method, crc=zlib.crc32(content), size=len(content)
    )
    row = f"demo/odd.bin,{record_digest(content)},{len(content)}"
    wheel = _wheel(tmp_path, [member], record_extra=(row,))
    _refused(wheel, "'demo/odd.bin'", f"unsupported compression method {method}")


def test_stored_member_whose_sizes_disagree_is_refused(tmp_path: Path) -> None:
    member = stored("demo/x.bin", b"123456", size=3)  # central directory: 3 bytes, holds 6
    _refused(_wheel(tmp_path, [member]), "'demo/x.bin'", "declares 3 bytes but holds 6")


@pytest.mark.parametrize(("declared", "fragment"), [(2000, "declares 2000"), (10, "Bad CRC")])
def test_deflated_member_whose_size_lies_is_refused(
    tmp_path: Path, declared: int, fragment: str
) -> None:
    content = bytes(range(256)) * 4  # 1024 bytes
    member = deflated("demo/x.bin", content, size=declared)
    row = f"demo/x.bin,{record_digest(content)},{declared}"
    message = _refused(_wheel(tmp_path, [member], record_extra=(row,)), "'demo/x.bin'")
    assert fragment in message or "corrupt" in message


def test_member_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    bomb = deflate_bomb("demo/big.bin", 1 << 30)  # 1 GiB of zeros in about 1 MiB
    row = f"demo/big.bin,{repeated_digest(bytes(1 << 20), 1024)},{1 << 30}"
    _refused(_wheel(tmp_path, [bomb], record_extra=(row,)), "'demo/big.bin'", "zip bomb")


def test_archive_of_small_bombs_is_refused(tmp_path: Path) -> None:
    """Members each under the per-member floor escape the member rule, not the archive's."""
    assert RATIO_FLOOR > 8 << 20
    bombs = [deflate_bomb(f"demo/b{i}.bin", 8 << 20) for i in range(20)]
    rows = tuple(f"demo/b{i}.bin,{repeated_digest(bytes(1 << 20), 8)},{8 << 20}" for i in range(20))
    _refused(_wheel(tmp_path, bombs, record_extra=rows), "unpack to", "zip bomb")


def test_declared_total_size_is_bounded(tmp_path: Path) -> None:
    """Sizes declared in the central directory (not even present) are refused before reading."""
    members = [
        RawMember(f"demo/h{i}.bin", b"\x03\x00", method=8, crc=0, size=0xFFFFFFF0,
                  compressed_size=0x2000000)
        for i in range(5)
    ]  # fmt: skip
    _refused(_wheel(tmp_path, members), f"more than the {MAX_TOTAL_SIZE} bytes allowed")


def test_member_count_is_bounded_before_parsing(tmp_path: Path) -> None:
    """The end record's entry count is checked before zipfile builds a ZipInfo per entry
    (a 16-bit count cannot say 250001: the zip64 record does)."""
    path = _wheel(tmp_path)
    path.write_bytes(_zip64_count(path.read_bytes(), MAX_MEMBERS + 1))
    _refused(path, f"{MAX_MEMBERS + 1} members")


def _zip64_count(data: bytes, count: int) -> bytes:
    """``data`` with a zip64 end record (and locator) claiming ``count`` entries."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<LL", data, eocd + 12)
    body = data[:eocd]
    record_at = len(body)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_offset, 0)
    return body + record + locator + end


def test_metadata_read_whole_is_capped(tmp_path: Path) -> None:
    big = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n" + b"x" * (MAX_METADATA_SIZE + 1)
    members = wheel_members("demo", "1.0", {"demo/__init__.py": b""})
    members = [stored(m.name, big) if str(m.name).endswith("METADATA") else m for m in members]
    path = tmp_path / WHEEL
    path.write_bytes(raw_zip(members))
    _refused(path, "METADATA'", "too large to read")


_PEAK = """
import resource
try:  # VmHWM: this process's own high-water mark. ru_maxrss is not: exec keeps the maximum
    # of the (v)forking parent's memory, so a big pytest process would be measured instead.
    with open("/proc/self/status") as fh:
        print(next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024)
except OSError:  # not Linux: ru_maxrss (bytes on macOS)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024)
"""


def _peak_mib(tmp_path: Path, body: str) -> tuple[float, str]:
    """Run ``body`` in a fresh interpreter; its peak RSS (MiB) and its other output."""
    script = tmp_path / "probe.py"
    script.write_text("import sys\n" + textwrap.dedent(body) + _PEAK)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    *rest, peak = proc.stdout.strip().splitlines()
    return float(peak), "\n".join(rest)


@pytest.mark.parametrize("gib", [1, 4])
def test_bomb_is_refused_in_bounded_memory(tmp_path: Path, gib: int) -> None:
    """A 1 MB (4 MB) bomb peaked at 2 GiB (5 GiB) when every member was read whole."""
    bombs = [deflate_bomb(f"demo/big{i}.bin", 1 << 30) for i in range(gib)]
    path = _wheel(tmp_path, bombs)
    peak, out = _peak_mib(
        tmp_path,
        f"""
        from varwheel.errors import InstallError
        from varwheel.install.wheelcheck import check_wheel
        try:
            check_wheel({str(path)!r})
        except InstallError as exc:
            print(exc)
        """,
    )
    assert peak < PEAK_BOUND_MIB
    assert "zip bomb" in out


def test_streaming_alone_bounds_memory(tmp_path: Path) -> None:
    """With the ratio and size rules switched off, a 256 MiB bomb that RECORD vouches for is
    inflated, CRC-checked and hashed chunk by chunk: memory does not grow with what it unpacks to."""
    bomb = deflate_bomb("demo/big.bin", 256 << 20)
    row = f"demo/big.bin,{repeated_digest(bytes(1 << 20), 256)},{256 << 20}"
    path = _wheel(tmp_path, [bomb], record_extra=(row,))
    peak, out = _peak_mib(
        tmp_path,
        f"""
        from varwheel import wheelzip
        from varwheel.install.wheelcheck import check_wheel
        wheelzip.MAX_RATIO = wheelzip.RATIO_FLOOR = 1 << 40
        print(check_wheel({str(path)!r}).members)
        """,
    )
    assert out == "5"
    assert peak < 64


def test_large_wheel_validates_and_installs_in_bounded_memory(tmp_path: Path) -> None:
    """256 MiB in one member (30:1, a plausible shared library): streamed through validation
    and through installer's unpacking, never held whole."""
    chunk = os.urandom(2048) + bytes(62 * 1024)
    count = 4096  # 256 MiB
    member = repeated_deflate("demo/lib.so", chunk, count)
    row = f"demo/lib.so,{repeated_digest(chunk, count)},{len(chunk) * count}"
    path = _wheel(tmp_path, [member], record_extra=(row,))
    venv = make_venv(tmp_path / "venv")
    peak, out = _peak_mib(
        tmp_path,
        f"""
        from varwheel.install.environment import find_target_environment
        from varwheel.install.transaction import install_wheels
        from varwheel.install.wheelcheck import check_wheel
        checked = check_wheel({str(path)!r})
        env = find_target_environment({str(venv)!r})
        result = install_wheels(env, [checked.path])
        print(checked.members, [w.name for w in result.installed])
        """,
    )
    assert out.endswith("5 ['demo']"), out
    installed = next((venv / "lib").glob("python*/site-packages/demo/lib.so"))
    assert installed.stat().st_size == len(chunk) * count
    assert peak < PEAK_BOUND_MIB


def test_validation_result_of_a_real_wheel_is_unchanged(tmp_path: Path) -> None:
    """The streaming check still reports what the old one did (callers read these fields)."""
    vj = json.dumps({"variants": {"x": {}}}).encode()
    members = wheel_members(
        "demo", "1.0", {"demo/__init__.py": b"", "demo-1.0.dist-info/variant.json": vj}
    )
    path = tmp_path / "demo-1.0-py3-none-any-x.whl"
    path.write_bytes(raw_zip(members))
    checked = check_wheel(path)
    assert (checked.project, checked.version, checked.label, checked.members) == (
        "demo",
        "1.0",
        "x",
        5,
    )
    assert checked.dist_info == "demo-1.0.dist-info"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_or_directory_named_like_a_wheel_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / WHEEL)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: outcome.append(_error_of(tmp_path / WHEEL)))
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader before failing
        with open(tmp_path / WHEEL, "wb"):
            pass
        worker.join()
        pytest.fail("check_wheel blocked on a FIFO")
    assert "not a regular file" in str(outcome[0])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / WHEEL).mkdir()
    assert "not a regular file" in str(_error_of(tmp_path / "d" / WHEEL))


def _error_of(path: Path) -> BaseException:
    with pytest.raises(InstallError) as info:
        check_wheel(path)
    return info.value
