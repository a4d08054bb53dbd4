"""``varwheel repair``: the label is stripped around a real repair tool process and put back.

The tools are real executables: ``cp`` and a script that behaves like auditwheel 6.8.2 as
measured in build-publish.md (refuses six-part names, rewrites the wheel under a manylinux tag
with a vendored library, refuses an x86-64-v3 ISA note without ``--disable-isa-ext-check``).
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.wheels import build_wheel
from varwheel.build.errors import BuildFailed, InvalidWheel
from varwheel.build.make_variant import make_variant, read_wheel_variant
from varwheel.build.repair import ISA_FLAG, plan_command, repair_wheel, tool_name
from varwheel.cli.main import main
from varwheel.errors import InvalidInput
from varwheel.spec.metadata import load_pyproject
from varwheel.spec.properties import VariantProperty


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)  # no user config, private cache


P = VariantProperty.parse

FAKE_AUDITWHEEL = """#!{python}
import base64, hashlib, json, os, re, sys, zipfile
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
wheel = args[-1]
dest = args[args.index("-w") + 1]
name = os.path.basename(wheel)
if len(name[:-4].split("-")) == 6:
    sys.exit("InvalidWheelFilename: Invalid build number: py3")
if "--disable-isa-ext-check" not in args:
    sys.exit("demo.so depends on unsupported ISA extensions: x86-64-v3")
out = os.path.join(dest, name.replace("-any.whl", "-manylinux_2_17_x86_64.whl"))
drop = os.environ.get("FAKE_DROP_VARIANT_JSON") == "1"
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
    files = {{n: src.read(n) for n in src.namelist() if not n.endswith("/RECORD")}}
    if drop:
        files = {{n: d for n, d in files.items() if not n.endswith("/variant.json")}}
    files["demo_pkg.libs/libfoo-1234.so"] = b"ELF"
    record = next(n for n in src.namelist() if n.endswith("/RECORD"))
    rows = "".join(f"{{n}},{{digest(d)}},{{len(d)}}\\n" for n, d in files.items())
    files[record] = (rows + record + ",,\\n").encode()
    for n, d in files.items():
        dst.writestr(n, d)
print("Fixed-up wheel written to", out)
"""

PYPROJECT = {
    "variant": {
        "default-priorities": {"namespace": ["x86_64"]},
        "providers": {"x86_64": {"requires": ["x86-64-variant-provider"]}},
    }
}


@pytest.fixture
def variant_wheel(tmp_path: Path) -> Path:
    plain = build_wheel(tmp_path / "in", "demo-pkg", "1.0")
    md = load_pyproject(PYPROJECT, source="pyproject.toml")
    return make_variant(
        plain,
        (P("x86_64 :: level :: v3"),),
        label="x8664v3",
        out_dir=tmp_path / "dist",
        metadata=md,
    )


@pytest.fixture
def auditwheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tool = tmp_path / "bin" / "auditwheel"
    tool.parent.mkdir()
    tool.write_text(FAKE_AUDITWHEEL.format(python=sys.executable))
    tool.chmod(0o755)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "auditwheel.log"))
    return tool


def _calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "auditwheel.log").read_text().splitlines()]


def test_auditwheel_sees_a_plain_name_and_the_isa_flag_and_the_label_comes_back(
    tmp_path: Path, variant_wheel: Path, auditwheel: Path
) -> None:
    (result,) = repair_wheel(variant_wheel, [str(auditwheel), "repair"], out_dir=tmp_path / "wh")
    assert (
        result.path == tmp_path / "wh" / "demo_pkg-1.0-py3-none-manylinux_2_17_x86_64-x8664v3.whl"
    )
    assert not result.restored
    (argv,) = _calls(tmp_path)
    assert argv[:2] == ["repair", ISA_FLAG]
    assert Path(argv[-1]).name == "demo_pkg-1.0-py3-none-any.whl"
    repaired = read_wheel_variant(result.path)  # full check: RECORD, label <-> variant.json
    assert repaired.properties == (P("x86_64 :: level :: v3"),)
    assert repaired.variant_json == read_wheel_variant(variant_wheel).variant_json
    with zipfile.ZipFile(result.path) as zf:
        assert "demo_pkg.libs/libfoo-1234.so" in zf.namelist()
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == [result.path.name]


def test_variant_json_dropped_by_the_tool_is_restored(
    tmp_path: Path, variant_wheel: Path, auditwheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DROP_VARIANT_JSON", "1")
    (result,) = repair_wheel(variant_wheel, [str(auditwheel), "repair"], out_dir=tmp_path / "wh")
    assert result.restored
    assert (
        read_wheel_variant(result.path).variant_json
        == read_wheel_variant(variant_wheel).variant_json
    )


def test_placeholders_with_a_generic_tool(tmp_path: Path, variant_wheel: Path) -> None:
    cp = shutil.which("cp")
    assert cp is not None
    (result,) = repair_wheel(variant_wheel, [cp, "{wheel}", "{dest_dir}"], out_dir=tmp_path / "wh")
    assert result.path.read_bytes() == variant_wheel.read_bytes()  # a pure rename back


def test_tool_failure_exit_1_and_nothing_written(
    tmp_path: Path, variant_wheel: Path, auditwheel: Path, capsys
) -> None:
    out = tmp_path / "wh"
    code = main(
        [
            "repair",
            str(variant_wheel),
            "-o",
            str(out),
            "--",
            str(auditwheel),
            "repair",
            ISA_FLAG,
            "--bogus",
        ]
    )
    assert code == 0  # the fake ignores unknown flags: a control for the failing run below
    shutil.rmtree(out)
    capsys.readouterr()
    code = main(
        [
            "repair",
            str(variant_wheel),
            "-o",
            str(out),
            "--",
            sys.executable,
            "-c",
            "raise SystemExit('boom')",
            "{wheel}",
            "{dest_dir}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "failed (exit 1): boom" in err and err.count("\n") == 1
    assert not any(out.iterdir())


def test_refusals(tmp_path: Path, variant_wheel: Path) -> None:
    plain = build_wheel(tmp_path / "plain", "demo-pkg", "1.0")
    with pytest.raises(InvalidWheel, match="not a variant wheel"):
        repair_wheel(plain, ["auditwheel", "repair"], out_dir=tmp_path / "wh")
    with pytest.raises(InvalidInput, match="dest_dir"):
        repair_wheel(variant_wheel, ["mytool", "fix"], out_dir=tmp_path / "wh")
    with pytest.raises(BuildFailed, match="cannot run"):
        repair_wheel(variant_wheel, ["/nonexistent/auditwheel", "repair"], out_dir=tmp_path / "wh")


def test_plan_command() -> None:
    wheel, dest = Path("/t/in/a-1-py3-none-any.whl"), Path("/t/out")
    assert plan_command(["auditwheel", "repair", "--plat", "manylinux_2_28_x86_64"], wheel=wheel, dest_dir=dest, x86_64_level=True) == [
        "auditwheel", "repair", ISA_FLAG, "--plat", "manylinux_2_28_x86_64", "-w", "/t/out", str(wheel)
    ]  # fmt: skip
    assert plan_command(["delocate-wheel", "-v"], wheel=wheel, dest_dir=dest, x86_64_level=True) == [
        "delocate-wheel", "-v", "-w", "/t/out", str(wheel)
    ]  # fmt: skip
    assert ISA_FLAG not in plan_command(
        ["auditwheel", "repair"], wheel=wheel, dest_dir=dest, x86_64_level=False
    )
    assert tool_name([sys.executable, "-m", "auditwheel", "repair"]) == "auditwheel"


@pytest.mark.slow
def test_real_auditwheel_on_an_x86_64_v3_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auditwheel 6.8.2 itself: it cannot read the labelled name, and refuses the x86-64-v3 ISA
    note of the .so without the flag varwheel adds (both measured in build-publish.md)."""
    import subprocess

    from varwheel.build.frontend import build_wheel
    from varwheel.build.make_variant import unmake_variant

    auditwheel = shutil.which("auditwheel", path=str(Path(sys.executable).parent))
    if (
        auditwheel is None
        or shutil.which("patchelf", path=str(Path(sys.executable).parent)) is None
    ):
        pytest.skip("auditwheel 6.8.2 and patchelf are not installed")
    if shutil.which("cc") is None or not sys.platform.startswith("linux"):
        pytest.skip("a Linux C toolchain is needed")
    example = Path(__file__).resolve().parents[2] / "examples" / "fastsum"
    wheel = build_wheel(
        example,
        tmp_path / "dist",
        properties=(P("x86_64 :: level :: v3"),),
        label="x8664v3",
        isolation=False,
        env={"LDFLAGS": "-Wl,-z,x86-64-v3"},  # marks the .so as needing x86-64-v3
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    labelled = subprocess.run(
        [auditwheel, "show", str(wheel)], capture_output=True, text=True, env=env
    )
    assert labelled.returncode != 0 and "Invalid build number" in labelled.stderr
    plain = unmake_variant(wheel, tmp_path / "plain")
    control = subprocess.run(
        [auditwheel, "repair", "-w", str(tmp_path / "control"), str(plain)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert control.returncode != 0 and "unsupported ISA extensions" in control.stderr

    monkeypatch.setenv("PATH", env["PATH"])  # auditwheel runs patchelf from PATH
    (result,) = repair_wheel(wheel, [auditwheel, "repair"], out_dir=tmp_path / "wh")
    assert "manylinux" in result.path.name and result.path.name.endswith("-x8664v3.whl")
    assert not result.restored  # auditwheel keeps dist-info files
    assert read_wheel_variant(result.path).variant_json == read_wheel_variant(wheel).variant_json


def test_a_tool_that_writes_another_distribution_is_refused(
    tmp_path: Path, variant_wheel: Path
) -> None:
    other = build_wheel(tmp_path / "other", "evil-pkg", "6.6")
    script = tmp_path / "tool.sh"
    script.write_text(f'#!/bin/sh\ncp {other} "$2"\n')
    script.chmod(0o755)
    # the old repair labelled evil_pkg-6.6 as demo-pkg's x8664v3 variant
    with pytest.raises(InvalidWheel, match=r"wrote evil_pkg-6\.6-py3-none-any\.whl, not a build"):
        repair_wheel(variant_wheel, [str(script), "{wheel}", "{dest_dir}"], out_dir=tmp_path / "wh")
    assert list((tmp_path / "wh").iterdir()) == []
