"""Reading one wheel member over HTTP range requests, against a real loopback server."""

from __future__ import annotations

import bz2
import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.http_server import LocalServer, serve_directory
from helpers.zips import RawMember, deflate_bomb, raw_zip, stored
from varwheel.errors import IndexFetchError, WheelMemberNotFound
from varwheel.index import range_zip
from varwheel.index.client import MEMBER_RANGE, MEMBER_WHOLE, IndexClient
from varwheel.index.models import IndexFile
from varwheel.index.range_zip import find_eocd, parse_central_directory

VARIANT = b'{"variants": {"x": {}}}\n'


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in members:
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compress_type=method)
    return path


def _read(server: LocalServer, name: str, suffix: str = ".dist-info/variant.json"):  # type: ignore[no-untyped-def]
    with IndexClient([server.url], retries=0) as client:
        return client.read_wheel_member_routed(IndexFile(name, server.url + name), suffix)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    blob = os.urandom(200_000)
    _zip(  # member first, payload after: tail + local header requests
        tmp_path / "early-1.0-py3-none-any-x.whl",
        [
            ("early-1.0.dist-info/variant.json", VARIANT, zipfile.ZIP_DEFLATED),
            ("early/blob.bin", blob, zipfile.ZIP_STORED),
        ],
    )
    many = [(f"many/m{i:05d}.py", b"x", zipfile.ZIP_STORED) for i in range(600)]
    _zip(  # central directory larger than the 16 KiB tail
        tmp_path / "many-1.0-py3-none-any-x.whl",
        [*many, ("many-1.0.dist-info/variant.json", VARIANT, zipfile.ZIP_DEFLATED)],
    )
    _zip(
        tmp_path / "nested-1.0-py3-none-any-x.whl",
        [
            ("nested/vendored-2.0.dist-info/variant.json", b"{}", zipfile.ZIP_STORED),
            ("nested-1.0.dist-info/variant.json", VARIANT, zipfile.ZIP_STORED),
        ],
    )
    (tmp_path / "notzip-1.0-py3-none-any-x.whl").write_bytes(os.urandom(30_000))
    return tmp_path


def test_member_before_payload(site: Path) -> None:
    with serve_directory(site) as server:
        got = _read(server, "early-1.0-py3-none-any-x.whl")
        reqs = server.stats.snapshot()
    assert got.data == VARIANT and got.route == MEMBER_RANGE
    assert [r.status for r in reqs] == [206, 206]
    assert sum(r.bytes_sent for r in reqs) < 20_000


def test_central_directory_outside_tail(site: Path) -> None:
    with serve_directory(site) as server:
        got = _read(server, "many-1.0-py3-none-any-x.whl")
        reqs = server.stats.snapshot()
    assert got.data == VARIANT
    assert len(reqs) >= 2 and all(r.status == 206 for r in reqs)


def test_only_top_level_dist_info_counts(site: Path) -> None:
    with serve_directory(site) as server:
        assert _read(server, "nested-1.0-py3-none-any-x.whl").data == VARIANT
        with pytest.raises(WheelMemberNotFound, match=r"nested-1\.0-py3-none-any-x\.whl"):
            _read(server, "nested-1.0-py3-none-any-x.whl", ".dist-info/entry_points.txt")


def test_whole_download_when_range_ignored(site: Path) -> None:
    size = (site / "early-1.0-py3-none-any-x.whl").stat().st_size
    with serve_directory(site, range_support=False) as server:
        got = _read(server, "early-1.0-py3-none-any-x.whl")
        (req,) = server.stats.snapshot()
    assert got.data == VARIANT and got.route == MEMBER_WHOLE
    assert req.status == 200 and req.bytes_sent == size


def test_not_a_zip(site: Path) -> None:
    with serve_directory(site) as server, pytest.raises(IndexFetchError, match="not a zip"):
        _read(server, "notzip-1.0-py3-none-any-x.whl")


def test_zip64_end_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip64 archive (the classic record's fields saturated) is read through its zip64 record."""
    with monkeypatch.context() as patch:  # not undo(): that would revert conftest's settings too
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 0)  # make zipfile write zip64 end records
        path = _zip(
            tmp_path / "big-1.0-py3-none-any-x.whl",
            [
                ("big/a.py", b"a" * 1000, zipfile.ZIP_DEFLATED),
                ("big-1.0.dist-info/variant.json", VARIANT, zipfile.ZIP_DEFLATED),
            ],
        )
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHLL", data, eocd + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(io.BytesIO(data)).read("big-1.0.dist-info/variant.json") == VARIANT
    with serve_directory(tmp_path) as server:
        assert _read(server, path.name).data == VARIANT


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parsers_fail_only_with_index_errors(data: bytes) -> None:
    for blob in (data, b"PK\x01\x02" + data, data + b"PK\x05\x06" + bytes(18)):
        try:
            find_eocd(blob, "x.whl")
            parse_central_directory(blob, "x.whl")
        except IndexFetchError:
            pass


def test_oversized_member_is_refused_before_fetching(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "bomb-1.0-py3-none-any-x.whl",
        [("bomb-1.0.dist-info/variant.json", VARIANT, zipfile.ZIP_DEFLATED)],
    )
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, 0x7FFFFFFF)  # uncompressed size in the CD
    path.write_bytes(bytes(data))
    with serve_directory(tmp_path) as server:
        with pytest.raises(IndexFetchError, match="too large"):
            _read(server, path.name)
        assert server.stats.count() == 1  # the tail only


def test_long_archive_comment_pushes_the_end_record_out_of_the_first_tail(tmp_path: Path) -> None:
    path = tmp_path / "comment-1.0-py3-none-any-x.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("comment/blob.bin", os.urandom(100_000))
        zf.writestr("comment-1.0.dist-info/variant.json", VARIANT)
        zf.comment = b"c" * 60_000
    with serve_directory(tmp_path) as server:
        got = _read(server, path.name)
        reqs = server.stats.snapshot()
    assert got.data == VARIANT and got.route == MEMBER_RANGE
    assert len(reqs) == 2 and sum(r.bytes_sent for r in reqs) < 90_000


# --- hostile members (issue 7): one line, bounded memory, over every route -------------------

_VJ = "w-1.0.dist-info/variant.json"
_BIG = 20 * 1024 * 1024  # honest, but over the 16 MiB cap for a member read whole
_HOSTILE = {
    "encrypted": (stored(_VJ, VARIANT, flags=0x801), "encrypted"),
    "method-99": (
        RawMember(_VJ, b"????", method=99, size=len(VARIANT), crc=0),
        "unsupported compression method 99",
    ),
    "bzip2": (
        RawMember(_VJ, bz2.compress(VARIANT), method=12, size=len(VARIANT), crc=0),
        "unsupported compression method 12",
    ),
    "stored-size-lie": (stored(_VJ, VARIANT, size=3), "declares 3 bytes but holds"),
    "too-large": (deflate_bomb(_VJ, _BIG), "too large"),
    "bomb-declaring-100-bytes": (
        RawMember(_VJ, deflate_bomb(_VJ, 1 << 30).payload, method=8, size=100, crc=0),
        _VJ,
    ),
    "empty-name-member": (stored("", VARIANT), "no member ending in"),
}


@pytest.mark.parametrize("route", ["range", "whole", "local"])
@pytest.mark.parametrize("case", sorted(_HOSTILE))
def test_hostile_member_is_one_line_error(tmp_path: Path, case: str, route: str) -> None:
    member, fragment = _HOSTILE[case]
    name = "w-1.0-py3-none-any-x.whl"
    (tmp_path / name).write_bytes(raw_zip([stored("w/__init__.py", b""), member]))
    with pytest.raises(IndexFetchError) as info:
        if route == "local":
            with IndexClient([], retries=0) as client:
                client.read_wheel_member(
                    IndexFile(name, (tmp_path / name).as_uri()), ".dist-info/variant.json"
                )
        else:
            with serve_directory(tmp_path, range_support=route == "range") as server:
                _read(server, name)
    message = str(info.value)
    assert message.startswith(f"{name}: ") and message.isprintable(), message
    assert fragment in message, message


def test_central_directory_over_the_cap_is_not_fetched(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(range_zip, "MAX_CENTRAL_DIRECTORY", 16 * 1024)
    with serve_directory(site) as server:
        with pytest.raises(
            IndexFetchError, match=r"many-1\.0-py3-none-any-x\.whl: central directory of \d+ bytes"
        ):
            _read(server, "many-1.0-py3-none-any-x.whl")
        assert server.stats.count() == 1  # the tail only: the central directory was not fetched
