"""examples/fastsum end to end: the whole declared matrix (x86-64 v1-v4, null, non-variant) built
by setuptools through post-tagging, and variants built natively by scikit-build-core; each build
installed into a real venv, where the extension reports the ISA it was compiled for."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from varwheel.build.make_variant import read_wheel_variant
from varwheel.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
LEVELS = ("v1", "v2", "v3", "v4")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler"),
]


def _host_level() -> int:
    import archspec.cpu

    generic = archspec.cpu.host().generic.name
    if not generic.startswith("x86_64_v"):
        pytest.skip(f"x86-64 host needed (this is {generic})")
    return min(int(generic.removeprefix("x86_64_v")), 4)


def _install_and_ask(venv: Path, wheel: Path, tmp_path: Path) -> dict:
    """Install ``wheel`` with varwheel itself and ask the extension what it was compiled for."""
    proc = subprocess.run(
        [str(BIN / "varwheel"), "install", "--python", str(venv), "--no-deps",
         "--force-reinstall", str(wheel)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
        "VARWHEEL_CACHE_DIR": str(tmp_path / "cache"), "VARWHEEL_CONFIG": str(tmp_path / "config.toml")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import array, json, fastsum; assert fastsum.sumsq(array.array('f', [3] * 37)) == 333; "
         "print(json.dumps(fastsum.compiled_isa()))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_setuptools_post_tagged_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    host = _host_level()
    isolate_cli(tmp_path, monkeypatch)
    (tmp_path / "config.toml").write_text("")
    out = tmp_path / "dist"
    code = main(["build", str(EXAMPLES / "fastsum"), "--all", "--no-isolation", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    wheels = {read_wheel_variant(p).label: p for p in out.glob("*.whl")}
    assert sorted(wheels, key=str) == sorted(
        [None, "null", *(f"x8664{v}" for v in LEVELS)], key=str
    )
    assert [p.name for p in out.iterdir()] and not list(out.glob(".*"))  # no staging left
    for level in LEVELS:
        assert read_wheel_variant(wheels[f"x8664{level}"]).properties[0].value == level

    venv = make_venv(tmp_path / "venv")
    for level in LEVELS[:host]:  # a higher level would not run here; its flags: test_settings
        isa = _install_and_ask(venv, wheels[f"x8664{level}"], tmp_path)
        assert isa["level"] == level
        assert isa["avx2"] is (level in ("v3", "v4"))
        assert isa["avx512f"] is (level == "v4")
    for label in ("null", None):  # no properties: the compiler's default baseline
        assert _install_and_ask(venv, wheels[label], tmp_path)["level"] == "v1"


def test_scikit_build_core_native_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    host = _host_level()
    pytest.importorskip("scikit_build_core")
    pytest.importorskip("variantlib")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    if host < 3:
        pytest.skip("the native example builds x86-64-v3")
    isolate_cli(tmp_path, monkeypatch)
    out = tmp_path / "dist"
    argv = ["build", str(EXAMPLES / "fastsum-skbuild"), "-p", "x86_64 :: level :: v3",
            "--label", "x8664v3", "--no-isolation", "--skip-dependency-check", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    (wheel,) = out.glob("*.whl")
    found = read_wheel_variant(wheel)
    assert found.label == "x8664v3"
    # scikit-build-core wrote variant.json itself (variantlib's $schema URL, not ours)
    assert (
        json.loads(found.variant_json)["$schema"]
        == "https://variants-schema.wheelnext.dev/v0.2.0.json"
    )
    venv = make_venv(tmp_path / "venv")
    assert _install_and_ask(venv, wheel, tmp_path) == {
        "level": "v3",
        "avx2": True,
        "avx512f": False,
    }


def test_scikit_build_core_native_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The whole declared matrix of the scikit-build-core example (v1-v4, null, non-variant),
    each wheel tagged by the backend itself and checked by varwheel, each build's compiled ISA
    as its label says."""
    host = _host_level()
    pytest.importorskip("scikit_build_core")
    pytest.importorskip("variantlib")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    isolate_cli(tmp_path, monkeypatch)
    (tmp_path / "config.toml").write_text("")
    out = tmp_path / "dist"
    argv = ["build", str(EXAMPLES / "fastsum-skbuild"), "--all", "--no-isolation",
            "--skip-dependency-check", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    wheels = {read_wheel_variant(p).label: p for p in out.glob("*.whl")}
    assert sorted(wheels, key=str) == sorted(
        [None, "null", *(f"x8664{v}" for v in LEVELS)], key=str
    )
    venv = make_venv(tmp_path / "venv")
    for level in LEVELS[:host]:
        isa = _install_and_ask(venv, wheels[f"x8664{level}"], tmp_path)
        assert isa["level"] == level
    for label in ("null", None):
        assert _install_and_ask(venv, wheels[label], tmp_path)["level"] == "v1"


def test_the_skbuild_example_carries_the_same_sources() -> None:
    # copies, not links: varwheel build refuses links that lead outside the project
    for name in ("__init__.py", "_fastsum.c"):
        mine = EXAMPLES / "fastsum-skbuild" / "src" / "fastsum" / name
        assert not mine.is_symlink()
        assert mine.read_bytes() == (EXAMPLES / "fastsum" / "src" / "fastsum" / name).read_bytes()
