"""A wheel whose deflate stream is damaged is a one-line error, not a zlib traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from helpers.wheels import build_wheel, variant_json
from varwheel.errors import IndexFetchError, InvalidInput
from varwheel.index.client import IndexClient
from varwheel.index.static import write_static_index


def _damage_member(wheel: Path, suffix: str) -> None:
    """Flip bytes in the middle of one member's compressed data (its CRC no longer matters:
    inflating fails first)."""
    with zipfile.ZipFile(wheel) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(suffix))
    data = bytearray(wheel.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start, start + max(4, info.compress_size // 2)):
        data[i] ^= 0xFF
    wheel.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    wheel = build_wheel(
        tmp_path / "links",
        "zeta",
        "1.0",
        requires_dist=[f"dep{i} >= {i}" for i in range(40)],
        metadata_headers=[("Description", "x" * 4000)],
    )
    _damage_member(wheel, ".dist-info/METADATA")
    return wheel


def test_static_index_writer_reports_a_damaged_wheel(damaged: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"zeta-1\.0-py3-none-any\.whl"):
        write_static_index([damaged], tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_find_links_member_read_reports_a_damaged_wheel(damaged: Path) -> None:
    client = IndexClient(find_links=[str(damaged.parent)], no_index=True)
    (file,) = client.project_files("zeta")
    with pytest.raises(IndexFetchError, match="cannot read wheel"):
        client.read_wheel_member(file, ".dist-info/METADATA")


def test_generated_variants_json_reports_a_damaged_variant_json(tmp_path: Path) -> None:
    doc = variant_json("mkl", ["blas :: library :: mkl"], providers={"blas": {"requires": ["b"]}})
    wheel = build_wheel(tmp_path / "w", "eta", "1.0", variant=doc, label="mkl")
    _damage_member(wheel, ".dist-info/variant.json")
    with pytest.raises(InvalidInput, match=r"eta-1\.0-py3-none-any-mkl\.whl"):
        write_static_index([wheel], tmp_path / "index", generate_variants_json=True)
    assert not (tmp_path / "index").exists()
