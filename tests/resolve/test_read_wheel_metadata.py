"""``resolve/metadata.py``: reading a local wheel's METADATA goes through ``varwheel.wheelzip``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.wheels import build_wheel
from helpers.zips import raw_zip, stored, wheel_members
from varwheel.errors import InvalidMetadata
from varwheel.resolve.metadata import parse_core_metadata, read_wheel_metadata
from varwheel.wheelzip import MAX_METADATA_SIZE

WHEEL = "demo-1.0-py3-none-any.whl"


def test_read_wheel_metadata_returns_the_member(tmp_path: Path) -> None:
    path = build_wheel(tmp_path, "demo", "1.0", requires_dist=["dep>=2"])
    raw = parse_core_metadata(read_wheel_metadata(path), source=path.name)
    assert (raw["name"], raw["version"], raw["requires_dist"]) == ("demo", "1.0", ["dep>=2"])


def _oversized_metadata(path: Path) -> None:
    big = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n" + b"x" * (MAX_METADATA_SIZE + 1)
    members = wheel_members("demo", "1.0", {"demo/__init__.py": b""})
    members = [stored(m.name, big) if str(m.name).endswith("METADATA") else m for m in members]
    path.write_bytes(raw_zip(members))


def _bad_crc(path: Path) -> None:
    data = bytearray(raw_zip(wheel_members("demo", "1.0", {"demo/__init__.py": b""})))
    at = bytes(data).index(b"Metadata-Version")
    data[at] ^= 0x20  # a stored METADATA whose bytes no longer match its CRC
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.write_bytes(b"not a zip archive"), "not a readable zip archive"),
        (_oversized_metadata, "too large to read"),
        (_bad_crc, "CRC"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
    ids=["not-a-zip", "oversized-metadata", "bad-crc", "fifo"],
)
def test_a_hostile_wheel_is_one_line_invalid_metadata(tmp_path: Path, make, fragment: str) -> None:
    """Before: ``zipfile`` errors escaped as tracebacks, a METADATA of any size was read whole,
    and a FIFO named like a wheel blocked forever."""
    path = tmp_path / WHEEL
    make(path)
    with pytest.raises(InvalidMetadata) as info:
        read_wheel_metadata(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read the wheel's METADATA: "), message
    assert fragment in message and message.isprintable(), message
