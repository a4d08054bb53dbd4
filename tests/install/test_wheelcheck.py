from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.wheels import build_wheel, record_digest, variant_json
from varwheel.errors import InstallError, InvalidFilename
from varwheel.install.wheelcheck import check_wheel

VJ = variant_json("x86_64_v3", ["x86_64 :: level :: v3"])


def _rewrite(src: Path, dst: Path, edit: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """Copy a wheel with its members passed through ``edit`` (RECORD left as ``edit`` made it)."""
    with zipfile.ZipFile(src) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in edit(members).items():
            zout.writestr(name, data)
    return dst


def test_valid_variant_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "Demo.Pkg", "1.0", variant=VJ, requires_dist=["x>=1"])
    checked = check_wheel(wheel)
    assert checked.project == "demo-pkg"
    assert checked.name == "Demo.Pkg"
    assert checked.version == "1.0"
    assert checked.label == "x86_64_v3"
    assert checked.dist_info == "demo_pkg-1.0.dist-info"
    assert checked.root_is_purelib


def test_real_variantlib_wheels_pass(fixtures_dir: Path) -> None:
    wheels = sorted((fixtures_dir / "variantlib-0.2.2-outputs" / "wheels").glob("*.whl"))
    assert len(wheels) >= 6
    labels = {check_wheel(w).label for w in wheels}
    assert {"mkl", "null", "x86_v4", None} <= labels


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(
        st.from_regex(r"pkg/[a-z_]{1,8}(/[a-z_]{1,8}){0,2}\.(py|txt|bin)", fullmatch=True),
        st.binary(max_size=300),
        max_size=8,
    ),
    version=st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
    stored=st.booleans(),
)
def test_builder_round_trip(
    tmp_path: Path, files: dict[str, bytes], version: str, stored: bool
) -> None:
    wheel = build_wheel(
        tmp_path / version,
        "round-trip",
        version,
        files=files,
        compression=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
    )
    checked = check_wheel(wheel)
    assert checked.members == len(files) + 3  # + METADATA, WHEEL, RECORD


@pytest.mark.parametrize(
    "member", ["../evil.py", "/etc/evil", "pkg/../../evil.py", "C:/evil.py", "pkg\\..\\evil.py"]
)
def test_path_traversal_is_refused(tmp_path: Path, member: str) -> None:
    good = build_wheel(tmp_path, "demo", "1.0")

    def add_evil(m: dict[str, bytes]) -> dict[str, bytes]:
        m[member] = b"boom"
        record = "demo-1.0.dist-info/RECORD"
        m[record] = m[record] + f"{member},{record_digest(b'boom')},4\n".encode()
        return m

    (tmp_path / "bad").mkdir()
    bad = _rewrite(good, tmp_path / "bad" / good.name, add_evil)
    with pytest.raises(InstallError, match=r"demo-1\.0-py3-none-any\.whl: unsafe path"):
        check_wheel(bad)


def test_hash_mismatch(tmp_path: Path) -> None:
    good = build_wheel(tmp_path, "demo", "1.0", files={"demo/__init__.py": "A = 1\n"})
    (tmp_path / "bad").mkdir()

    def tamper(m: dict[str, bytes]) -> dict[str, bytes]:
        m["demo/__init__.py"] = b"A = 2\n"
        return m

    bad = _rewrite(good, tmp_path / "bad" / good.name, tamper)
    with pytest.raises(InstallError, match=r"hash mismatch for 'demo/__init__.py'"):
        check_wheel(bad)


def test_corrupt_zip(tmp_path: Path) -> None:
    good = build_wheel(tmp_path, "demo", "1.0", files={"demo/data.bin": bytes(range(256)) * 64})
    data = bytearray(good.read_bytes())
    (tmp_path / "bad").mkdir()
    truncated = tmp_path / "bad" / good.name
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(InstallError, match="not a readable zip archive"):
        check_wheel(truncated)
    # Flip bytes inside the compressed payload: the archive opens, the member's CRC fails.
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("demo/data.bin")
    offset = info.header_offset + 30 + len(info.filename) + 10
    data[offset : offset + 4] = b"\x00\xff\x00\xff"
    truncated.write_bytes(bytes(data))
    with pytest.raises(InstallError, match=r"corrupt member 'demo/data.bin'|hash mismatch"):
        check_wheel(truncated)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: {k: v for k, v in m.items() if not k.endswith("/METADATA")},
            "METADATA is missing",
        ),
        (
            lambda m: {k: v for k, v in m.items() if not k.endswith("__init__.py")},
            "not in the archive",
        ),
        (lambda m: {**m, "extra.txt": b"x"}, "'extra.txt' is not listed in RECORD"),
        (
            lambda m: {
                k.replace("demo-1.0.dist-info", "other-1.0.dist-info"): v for k, v in m.items()
            },
            "does not match the filename",
        ),
        (
            lambda m: {**m, "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 2.0\n"},
            "hash mismatch|Wheel-Version",
        ),
        (lambda m: {**m, "demo-1.0.data/weird/x": b""}, "not listed in RECORD|known .data scheme"),
    ],
)
def test_structural_errors(
    tmp_path: Path, edit: Callable[[dict[str, bytes]], dict[str, bytes]], message: str
) -> None:
    good = build_wheel(tmp_path, "demo", "1.0")
    (tmp_path / "bad").mkdir()
    with pytest.raises(InstallError, match=message):
        check_wheel(_rewrite(good, tmp_path / "bad" / good.name, edit))


def test_metadata_version_must_match_filename(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", filename="demo-1.1-py3-none-any.whl")
    with pytest.raises(InstallError, match="does not match the filename"):
        check_wheel(wheel)


def test_label_needs_matching_variant_json(tmp_path: Path) -> None:
    plain = build_wheel(tmp_path, "demo", "1.0", filename="demo-1.0-py3-none-any-x86_64_v3.whl")
    with pytest.raises(InstallError, match=r"no demo-1\.0\.dist-info/variant\.json"):
        check_wheel(plain)
    other = build_wheel(
        tmp_path, "demo", "1.0", variant=VJ, filename="demo-1.0-py3-none-any-mkl.whl"
    )
    with pytest.raises(InstallError, match=r"declares \['x86_64_v3'\], the filename says 'mkl'"):
        check_wheel(other)


def test_bad_filename(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", filename="demo.whl")
    with pytest.raises(InvalidFilename):
        check_wheel(wheel)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (b"demo/__init__.py,sha256=AAAA,1\n", "RECORD lists 'demo/__init__.py' twice, differently"),
        (b'"' + b"x" * 200_000 + b'",,\n', "malformed RECORD (field larger than field limit"),
        (b"demo/a\x1b[2J.py,,\n", r"unsafe path 'demo/a\x1b[2J.py'"),
    ],
)
def test_hostile_record_rows(tmp_path: Path, rows: bytes, message: str) -> None:
    """RECORD is parsed as it streams; odd rows are one-line errors, never a csv traceback."""
    good = build_wheel(tmp_path, "demo", "1.0", files={"demo/__init__.py": "A = 1\n"})

    def add_rows(m: dict[str, bytes]) -> dict[str, bytes]:
        m["demo-1.0.dist-info/RECORD"] += rows
        return m

    (tmp_path / "bad").mkdir()
    bad = _rewrite(good, tmp_path / "bad" / good.name, add_rows)
    with pytest.raises(InstallError) as info:
        check_wheel(bad)
    assert message in str(info.value) and str(info.value).isprintable()


def test_a_metadata_version_past_the_digit_limit_is_one_line(tmp_path: Path) -> None:
    """Before: ``Version()`` raised int()'s 4,300-digit ValueError (no wheel named)."""
    huge = "1." + "9" * 5000
    meta = f"Metadata-Version: 2.1\nName: demo\nVersion: {huge}\nSummary: x\n\n"
    wheel = build_wheel(tmp_path, "demo", "1.0", extra_dist_info={"METADATA": meta})
    with pytest.raises(InstallError) as info:
        check_wheel(wheel)
    message = str(info.value)
    assert message.startswith(f"{wheel.name}: METADATA says demo '1.999"), message
    assert len(message) < 400 and message.isprintable(), message
