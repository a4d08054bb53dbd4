"""``varwheel.wheelzip`` and every wheel reader built on it, fuzzed with damaged real wheels.

Whatever the bytes (flipped, truncated, names mutated with NUL / control characters / long
components, header fields rewritten), the readers either succeed or raise a varwheel error:
never a traceback from zipfile, zlib, struct or unicode decoding.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.wheels import build_wheel, variant_json
from helpers.zips import RawMember, raw_zip
from varwheel.errors import VarwheelError
from varwheel.index import range_zip
from varwheel.index.http import Response
from varwheel.inspect import inspect_path
from varwheel.install import verify
from varwheel.install.wheelcheck import check_wheel
from varwheel.wheelzip import member_name_problem

NAME = "demo-1.0-py3-none-any-x86_64_v3.whl"
VJ = variant_json("x86_64_v3", ["x86_64 :: level :: v3"])
_NAME_ALPHABET = st.sampled_from(
    ["a", "b", "_", ".", "/", "\\", ":", "\x00", "\n", "\r", "\x1b", "\x7f", "\u202e", "é", "ü"]
)


@functools.cache
def _bases() -> tuple[bytes, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for i, compression in enumerate((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED)):
            wheel = build_wheel(
                Path(tmp) / str(i),
                "demo",
                "1.0",
                variant=VJ,
                filename=NAME,
                compression=compression,
                files={"demo/__init__.py": "X = 1\n" * 40, "demo/data.bin": bytes(range(256)) * 8},
                entry_points={"console_scripts": {"demo": "demo:main"}},
            )
            out.append(wheel.read_bytes())
        return tuple(out)


def _members(data: bytes) -> list[RawMember]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [
            RawMember(i.filename, zf.read(i), method=0, size=i.file_size) for i in zf.infolist()
        ]


@st.composite
def damaged_wheels(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from(_bases()))
    kind = draw(st.sampled_from(["flip", "truncate", "rename", "fields"]))
    if kind == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "truncate":
        return base[: draw(st.integers(0, len(base) - 1))]
    members = _members(base)
    at = draw(st.integers(0, len(members) - 1))
    old = members[at]
    if kind == "rename":
        name: str | bytes = draw(
            st.text(_NAME_ALPHABET, max_size=40).map(lambda s: s * draw(st.sampled_from([1, 9])))
            | st.binary(max_size=300)
            | st.just(f"{old.name}".replace("/", "//"))
        )
        flags = draw(st.sampled_from([0, 0x800]))
        members[at] = RawMember(name, old.payload, flags=flags, size=old.size)
    else:
        members[at] = RawMember(
            old.name,
            old.payload,
            method=draw(st.sampled_from([0, 8, 12, 14, 93, 99, 0xFFFF])),
            flags=draw(st.integers(0, 0xFFFF)),
            crc=draw(st.none() | st.integers(0, 0xFFFFFFFF)),
            size=draw(st.sampled_from([old.size, 0, 1, 0xFFFFFFFF]) | st.integers(0, 1 << 31)),
            compressed_size=draw(st.none() | st.integers(0, 0xFFFFFFFF)),
        )
    return raw_zip(members)


def _ranges(data: bytes):  # type: ignore[no-untyped-def]
    """``fetch(range_header)`` over ``data`` as a server honouring ``Range`` answers it."""

    def fetch(header: str) -> Response:
        spec = header.removeprefix("bytes=")
        first, _, last = spec.partition("-")
        if not first:
            start, end = max(0, len(data) - int(last)), len(data) - 1
        else:
            start, end = int(first), min(int(last), len(data) - 1)
        if not data or start > end:
            return Response("u", 416)
        headers = {"content-range": f"bytes {start}-{end}/{len(data)}"}
        return Response("u", 206, headers, data[start : end + 1])

    return fetch


def _readers(path: Path, data: bytes) -> None:
    for read in (
        lambda: check_wheel(path),
        lambda: inspect_path(path),
        lambda: verify._read(path),
        lambda: range_zip.read_zip_member(path, ".dist-info/METADATA", NAME),
        lambda: range_zip.read_member(_ranges(data), ".dist-info/variant.json", NAME),
    ):
        try:
            read()
        except VarwheelError as exc:
            assert str(exc).isprintable(), str(exc)  # one line, control characters escaped


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged_wheels())
def test_damaged_wheels_raise_only_varwheel_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / NAME
    path.write_bytes(data)
    _readers(path, data)


def test_undamaged_bases_are_read(tmp_path: Path) -> None:
    for data in _bases():
        path = tmp_path / NAME
        path.write_bytes(data)
        assert check_wheel(path).label == "x86_64_v3"
        assert range_zip.read_member(_ranges(data), ".dist-info/variant.json", NAME).data
        assert inspect_path(path).wheel_label == "x86_64_v3"


@given(st.text(max_size=50))
def test_accepted_names_are_canonical_relative_paths(name: str) -> None:
    if member_name_problem(name) is not None:
        return
    assert name and not name.startswith("/") and "\\" not in name
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name)  # no C0/C1 controls
    assert all(part not in ("", ".", "..") for part in name.removesuffix("/").split("/"))


@pytest.mark.parametrize(
    "name", ["demo/__init__.py", "demo-1.0.dist-info/METADATA", "demo/é/ü.py", "demo/dir/"]
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert member_name_problem(name) is None
