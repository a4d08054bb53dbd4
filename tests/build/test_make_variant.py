"""make-variant / unmake-variant: archive rewriting, reproducibility, self-validation, and the
differential checks against variantlib 0.2.2 and uv 0.13.9 (their readers accept our output)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.wheels import build_wheel, variant_json
from varwheel.build.errors import InvalidWheel
from varwheel.build.make_variant import (
    _rewrite,
    make_variant,
    read_wheel_variant,
    relabel,
    source_date,
    unmake_variant,
)
from varwheel.cli.main import main
from varwheel.errors import InvalidInput, InvalidLabel
from varwheel.install.wheelcheck import check_wheel
from varwheel.spec.metadata import load_pyproject
from varwheel.spec.properties import VariantProperty, default_label


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)  # no user config, private cache


P = VariantProperty.parse
BIN = Path(sys.executable).parent
PYPROJECT = {
    "variant": {
        "default-priorities": {"namespace": ["x86_64"]},
        "providers": {"x86_64": {"requires": ["x86-64-variant-provider"]}},
    }
}
V3 = (P("x86_64 :: level :: v3"),)
# csv quoting: a comma, a double quote and a space in one member path
ODD = 'demo_pkg/data,with "quotes" and spaces.txt'


@pytest.fixture
def metadata():
    return load_pyproject(PYPROJECT, source="pyproject.toml")


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return build_wheel(
        tmp_path / "in",
        "demo-pkg",
        "1.0",
        files={
            "demo_pkg/__init__.py": "X = 1\n",
            ODD: "odd\n",
            "demo_pkg/big.txt": "x" * 5000,
        },
    )


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _record(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        return list(csv.reader(io.StringIO(zf.read(name).decode())))


def test_make_variant_adds_variant_json_label_and_a_csv_record(
    tmp_path: Path, plain: Path, metadata
) -> None:
    out = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "out", metadata=metadata)
    assert out.name == "demo_pkg-1.0-py3-none-any-x8664v3.whl"
    checked = check_wheel(out)  # every RECORD hash and size right, label <-> variant.json
    assert checked.label == "x8664v3"
    found = read_wheel_variant(out)
    assert found.properties == V3
    assert json.loads(found.variant_json)["variants"] == {"x8664v3": {"x86_64": {"level": ["v3"]}}}
    rows = _record(out)
    assert next(r for r in rows if r[0] == ODD)[2] == "4"  # the quoted path survives csv
    assert rows[-1] == ["demo_pkg-1.0.dist-info/RECORD", "", ""]
    names = [row[0] for row in rows]
    assert names.index("demo_pkg-1.0.dist-info/variant.json") > names.index("demo_pkg/big.txt")


def test_two_runs_are_byte_identical_and_source_date_epoch_sets_every_date(
    tmp_path: Path, plain: Path, metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "a", metadata=metadata)
    b = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "b", metadata=metadata)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2020, 1, 1, 0, 0, 0)}  # kept from input

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    c = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "c", metadata=metadata)
    d = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "d", metadata=metadata)
    assert c.read_bytes() == d.read_bytes() != a.read_bytes()
    with zipfile.ZipFile(c) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert all(not i.extra for i in zf.infolist())
    assert _members(c) == _members(a)


def test_source_date_epoch_is_clamped_and_checked() -> None:
    assert source_date({}) is None
    assert source_date({"SOURCE_DATE_EPOCH": "0"}) == (1980, 1, 1, 0, 0, 0)
    with pytest.raises(InvalidInput, match="SOURCE_DATE_EPOCH"):
        source_date({"SOURCE_DATE_EPOCH": "yesterday"})
    # past time_t (was an OverflowError traceback) or past Python's 4300-digit limit
    for huge in ("99999999999999999999", "9" * 5000, "4354819199"):
        assert source_date({"SOURCE_DATE_EPOCH": huge}) == (2107, 12, 31, 23, 59, 58)
    assert source_date({"SOURCE_DATE_EPOCH": "-99999999999999999"}) == (1980, 1, 1, 0, 0, 0)
    for bad in ("1e9", "١٢٣", "9" * 5000 + "x"):
        with pytest.raises(InvalidInput) as info:
            source_date({"SOURCE_DATE_EPOCH": bad})
        assert str(info.value).endswith("is not an integer") and len(str(info.value)) < 100


def test_each_member_keeps_its_compression(tmp_path: Path, metadata) -> None:
    stored = build_wheel(tmp_path / "in", "demo-pkg", "1.0", compression=zipfile.ZIP_STORED)
    out = make_variant(stored, V3, label="x8664v3", out_dir=tmp_path / "o", metadata=metadata)
    with zipfile.ZipFile(out) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_unmake_inverts_make_and_remaking_is_identical(
    tmp_path: Path, plain: Path, metadata
) -> None:
    made = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "m", metadata=metadata)
    back = unmake_variant(made, tmp_path / "u")
    assert back.name == plain.name

    def without_record(path: Path) -> dict[str, bytes]:
        return {k: v for k, v in _members(path).items() if not k.endswith("/RECORD")}

    assert without_record(back) == without_record(plain)
    assert read_wheel_variant(back).variant_json is None
    again = make_variant(back, V3, label="x8664v3", out_dir=tmp_path / "m2", metadata=metadata)
    assert again.read_bytes() == made.read_bytes()


def test_null_variant_and_default_label(tmp_path: Path, plain: Path, metadata) -> None:
    null = make_variant(plain, (), null=True, out_dir=tmp_path / "o", metadata=metadata)
    assert null.name.endswith("-null.whl")
    assert json.loads(read_wheel_variant(null).variant_json)["variants"] == {"null": {}}
    hashed = make_variant(plain, V3, out_dir=tmp_path / "o", metadata=metadata)
    assert read_wheel_variant(hashed).label == default_label(V3)


@pytest.mark.parametrize(
    ("props", "label", "null", "error", "match"),
    [
        (V3, "null", False, InvalidLabel, "reserved"),
        (V3, "a" * 17, False, InvalidLabel, "at most 16"),
        (V3, "Bad-Label", False, InvalidLabel, "must match"),
        (V3, None, True, InvalidInput, "null variant has no properties"),
        ((P("nvidia :: sm_arch :: 90_real"),), "gpu", False, InvalidInput, "no provider"),
    ],
)
def test_bad_requests_write_nothing(
    tmp_path: Path, plain: Path, metadata, props, label, null, error, match
) -> None:
    out = tmp_path / "out"
    with pytest.raises(error, match=match):
        make_variant(plain, props, label=label, null=null, out_dir=out, metadata=metadata)
    assert not out.exists() or not any(out.iterdir())


def test_a_broken_input_wheel_is_refused_not_rehashed(tmp_path: Path, metadata) -> None:
    good = build_wheel(tmp_path / "in", "demo-pkg", "1.0")
    broken = tmp_path / "broken" / good.name
    broken.parent.mkdir()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, b"tampered\n" if info.filename.endswith("__init__.py") else data)
    out = tmp_path / "out"
    with pytest.raises(InvalidWheel, match=r"(hash|size) mismatch"):
        make_variant(broken, V3, label="x8664v3", out_dir=out, metadata=metadata)
    assert not out.exists() or not any(out.iterdir())


def test_a_labelled_wheel_must_be_unmade_first(tmp_path: Path, plain: Path, metadata) -> None:
    made = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "m", metadata=metadata)
    with pytest.raises(InvalidWheel, match="unmake-variant it first"):
        make_variant(made, V3, label="x8664v4", out_dir=tmp_path / "m", metadata=metadata)
    with pytest.raises(InvalidWheel, match="not a variant wheel"):
        unmake_variant(plain, tmp_path / "u")


def test_a_wheel_that_lies_about_its_label_is_refused(tmp_path: Path) -> None:
    liar = build_wheel(
        tmp_path / "in",
        "demo-pkg",
        "1.0",
        label="x8664v4",
        variant=variant_json("x8664v3", ["x86_64 :: level :: v3"]),
    )
    with pytest.raises(InvalidWheel, match="declares"):
        unmake_variant(liar, tmp_path / "u")
    assert not (tmp_path / "u").exists() or not any((tmp_path / "u").iterdir())


def test_relabel_renames_when_variant_json_survived_and_restores_it_otherwise(
    tmp_path: Path, plain: Path, metadata
) -> None:
    made = make_variant(plain, V3, label="x8664v3", out_dir=tmp_path / "m", metadata=metadata)
    document = read_wheel_variant(made).variant_json
    stripped = tmp_path / "s" / plain.name  # the label stripped, variant.json still inside
    stripped.parent.mkdir()
    shutil.copyfile(made, stripped)
    renamed = relabel(stripped, tmp_path / "r", variant_json=document, label="x8664v3")
    assert renamed.read_bytes() == made.read_bytes()
    restored = relabel(plain, tmp_path / "r2", variant_json=document, label="x8664v3")
    assert read_wheel_variant(restored).properties == V3


# ------------------------------------------------------------------ CLI


def _pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[project]\nname = "demo-pkg"\nversion = "1.0"\n\n'
        '[variant.default-priorities]\nnamespace = ["x86_64"]\n\n'
        '[variant.providers.x86_64]\nrequires = ["x86-64-variant-provider"]\n'
    )
    return path


def test_cli_make_and_unmake(tmp_path: Path, plain: Path, capsys) -> None:
    pyproject = _pyproject(tmp_path)
    argv = ["make-variant", str(plain), "-p", "x86_64 :: level :: v3", "--label", "x8664v3"]
    assert main([*argv, "-o", str(tmp_path / "o"), "--pyproject", str(pyproject)]) == 0
    made = Path(capsys.readouterr().out.strip())
    assert made.name.endswith("-x8664v3.whl")
    assert main(["unmake-variant", str(made), "-o", str(tmp_path / "u")]) == 0
    assert Path(capsys.readouterr().out.strip()).name == plain.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "x86_64 :: level :: v9"], "does not know value 'v9'"),
        (["-p", "x86_64 :: levels :: v3"], "has no feature 'levels'"),
        (["-p", "x86_64 :: level :: v3", "-p", "x86_64 :: level :: v4"], "not multi-value"),
        (["-p", "x86_64 :: level :: v3", "--label", "x" * 21], "at most 16"),
        (["-p", "x86_64 :: level"], "expected 'namespace :: feature :: value'"),
        (["--null-variant", "-p", "x86_64 :: level :: v3"], "null variant has no properties"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, plain: Path, capsys, args, message
) -> None:
    pyproject = _pyproject(tmp_path)
    out = tmp_path / "o"
    code = main(["make-variant", str(plain), *args, "-o", str(out), "--pyproject", str(pyproject)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert not out.exists()


# ------------------------------------------------------------------ differential


def _variantlib() -> str:
    exe = shutil.which("variantlib", path=str(BIN))
    if exe is None:
        pytest.skip("variantlib 0.2.2 is not installed")
    return exe


def _tagged_set(tmp_path: Path, metadata) -> Path:
    plain = build_wheel(tmp_path / "in", "demo-pkg", "1.0", files={"demo_pkg/__init__.py": ""})
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(plain, links)
    for level in ("v1", "v2", "v3", "v4"):
        props = (P(f"x86_64 :: level :: {level}"),)
        make_variant(plain, props, label=f"x8664{level}", out_dir=links, metadata=metadata)
    make_variant(plain, (), null=True, out_dir=links, metadata=metadata)
    return links


def test_variantlib_reads_every_wheel_we_write(tmp_path: Path, metadata) -> None:
    exe = _variantlib()
    links = _tagged_set(tmp_path, metadata)
    for wheel in sorted(links.glob("*-*-*-*-*-*.whl")):
        proc = subprocess.run(
            [exe, "analyze-wheel", "-i", str(wheel)], capture_output=True, text=True
        )
        label = read_wheel_variant(wheel).label
        assert proc.returncode == 0, proc.stderr
        assert f"Variant: `{label}`" in proc.stdout
    # generate-index-json loads and validates each wheel's variant.json
    proc = subprocess.run(
        [exe, "generate-index-json", "-d", str(links)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    index = json.loads((links / "demo_pkg-1.0-variants.json").read_text())
    assert sorted(index["variants"]) == ["null", "x8664v1", "x8664v2", "x8664v3", "x8664v4"]
    assert index["variants"]["x8664v2"] == {"x86_64": {"level": ["v2"]}}


def test_variantlib_refuses_a_wheel_whose_label_lies(tmp_path: Path) -> None:
    """The control for the test above: variantlib does check what it reads."""
    exe = _variantlib()
    liar = build_wheel(
        tmp_path / "links",
        "demo-pkg",
        "1.0",
        label="x8664v4",
        variant=variant_json("x8664v3", ["x86_64 :: level :: v3"]),
    )
    proc = subprocess.run(
        [exe, "generate-index-json", "-d", str(liar.parent)], capture_output=True, text=True
    )
    assert proc.returncode != 0 or not (liar.parent / "demo_pkg-1.0-variants.json").exists()


@pytest.mark.slow
def test_uv_installs_the_host_level_variant_without_warning(tmp_path: Path, metadata) -> None:
    import archspec.cpu

    exe = _variantlib()
    uv = shutil.which("uv", path=str(BIN))
    if uv is None:
        pytest.skip("uv 0.13.9 is not installed")
    generic = archspec.cpu.host().generic.name
    if not generic.startswith("x86_64_v"):
        pytest.skip(f"host {generic} has no x86-64 level")
    level = f"v{min(int(generic.removeprefix('x86_64_v')), 4)}"
    links = _tagged_set(tmp_path, metadata)
    subprocess.run([exe, "generate-index-json", "-d", str(links)], check=True, capture_output=True)
    venv = make_venv(tmp_path / "venv")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    proc = subprocess.run(
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), "--no-index",
         "--find-links", str(links), "--preview-features", "wheel-variants", "-v", "demo-pkg"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"demo_pkg-1.0-py3-none-any-x8664{level}.whl" in proc.stderr
    assert "warning" not in proc.stderr.lower()
    dist_info = next((venv / "lib").glob("python*/site-packages/demo_pkg-1.0.dist-info"))
    assert json.loads((dist_info / "variant.json").read_text())["variants"] == {
        f"x8664{level}": {"x86_64": {"level": [level]}}
    }


_NAMES = st.text(alphabet="abcXYZ019 ,\"'#=;é_-.", min_size=1, max_size=12).filter(
    lambda s: s.strip(" .") == s and s not in (".", "..")
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(_NAMES, st.binary(max_size=300), min_size=1, max_size=5),
    stored=st.booleans(),
)
def test_round_trip_keeps_every_member_and_a_valid_record(
    tmp_path_factory: pytest.TempPathFactory, metadata, files: dict[str, bytes], stored: bool
) -> None:
    tmp = tmp_path_factory.mktemp("rt")
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    plain = build_wheel(
        tmp / "in", "demo-pkg", "1.0",
        files={f"demo_pkg/{name}": data for name, data in files.items()}, compression=compression,
    )  # fmt: skip
    made = make_variant(plain, V3, label="x8664v3", out_dir=tmp / "m", metadata=metadata)
    back = unmake_variant(made, tmp / "u")
    check_wheel(made)
    check_wheel(back)
    plain_members = {k: v for k, v in _members(plain).items() if not k.endswith("/RECORD")}
    assert {k: v for k, v in _members(back).items() if not k.endswith("/RECORD")} == plain_members
    with zipfile.ZipFile(made) as zf:
        assert {i.compress_type for i in zf.infolist()} == {compression}


def test_the_rewrite_itself_applies_the_archive_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the validator runs first, but the file may be replaced before the rewrite reopens it:
    # the rewrite streams through wheelzip too, and refuses before writing. The old one
    # unpacked all 300 MiB into out/ and only the check of its own output refused them.
    def verified_output(*args: object) -> None:
        raise AssertionError("the bomb was written out before it was refused")

    monkeypatch.setattr("varwheel.build.make_variant._verify", verified_output)
    wheel = build_wheel(tmp_path, "bomb", "1.0")
    with (
        zipfile.ZipFile(wheel, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("bomb/zeros.bin", "w", force_zip64=True) as fh,
    ):
        for _ in range(300):
            fh.write(bytes(1 << 20))
    out = tmp_path / "out"
    with pytest.raises(InvalidWheel, match="refused as a zip bomb"):
        _rewrite(wheel, out, label=None, variant_json=None, dist_info="bomb-1.0.dist-info")
    assert list(out.iterdir()) == []


def test_a_fifo_named_like_a_wheel_and_odd_outputs(tmp_path: Path, capsys) -> None:
    pyproject = _pyproject(tmp_path)
    fifo = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    os.mkfifo(fifo)
    args = ["-p", "x86_64 :: level :: v3", "--pyproject", str(pyproject)]
    assert main(["make-variant", str(fifo), *args, "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"varwheel: error: {fifo}: not a regular file\n"
    # -o through a symlink writes into its target, as cp does; a link already at the
    # output's name is replaced, never written through
    wheel = build_wheel(tmp_path / "in", "demo-pkg", "1.0")
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "real" / "demo_pkg-1.0-py3-none-any-x8664v3.whl")
    assert main(["make-variant", str(wheel), *args, "--label", "x8664v3", "-o", "link"]) == 0
    made = tmp_path / "real" / "demo_pkg-1.0-py3-none-any-x8664v3.whl"
    assert not made.is_symlink() and zipfile.is_zipfile(made) and victim.read_text() == "keep"


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    pyproject = _pyproject(tmp_path)
    wheel = build_wheel(
        tmp_path / "in", "demo-pkg", "1.0", files={"demo_pkg/blob.bin": os.urandom(3_000_000)}
    )
    out = tmp_path / "o"
    out.mkdir()
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"  # write() then fails with EFBIG
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))\n"
        "from varwheel.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["make-variant", str(wheel), "-p", "x86_64 :: level :: v3", "--label", "x8664v3"]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv, "--pyproject", str(pyproject), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"varwheel: error: {out}: cannot write demo_pkg-1.0-py3-none-any-x8664v3.whl: File too "
        "large; nothing was written\n"
    )
    assert list(out.iterdir()) == []


def test_a_pyproject_of_another_project_is_refused(tmp_path: Path, capsys) -> None:
    # make-variant run in the wrong directory tagged the wheel with that project's providers
    pyproject = _pyproject(tmp_path)  # project "demo-pkg"
    wheel = build_wheel(tmp_path / "in", "other-pkg", "1.0")
    argv = ["make-variant", str(wheel), "-p", "x86_64 :: level :: v3", "-o", str(tmp_path / "o")]
    assert main([*argv, "--pyproject", str(pyproject)]) == 2
    assert capsys.readouterr().err == (
        f"varwheel: error: {wheel.name}: a wheel of 'other-pkg', but {pyproject} is project "
        "'demo-pkg'; pass that project's pyproject.toml with --pyproject\n"
    )
    assert not (tmp_path / "o").exists()
