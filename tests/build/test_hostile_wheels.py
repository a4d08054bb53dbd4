"""Every command that takes wheels, against the same hostile wheels: a name that says one label
and a variant.json that says another, a duplicate member, a zip bomb, a RECORD that lies. Each
is one line naming the wheel, a documented exit code, and nothing written."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main

PYPROJECT = (
    '[project]\nname = "h"\nversion = "1.0"\n\n'
    '[variant.default-priorities]\nnamespace = ["x86_64"]\n\n'
    '[variant.providers.x86_64]\nrequires = ["x86-64-variant-provider"]\n'
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)


def _rewrite(wheel: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    change(members)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return wheel


def lying_label(dest: Path) -> Path:
    doc = variant_json("y", ["x86_64 :: level :: v3"])
    wheel = build_wheel(dest, "h", "1.0", variant=doc)
    return wheel.rename(wheel.with_name("h-1.0-py3-none-any-x8664v3.whl"))


def lying_record(dest: Path) -> Path:
    doc = variant_json("x8664v3", ["x86_64 :: level :: v3"])
    wheel = build_wheel(dest, "h", "1.0", variant=doc)
    return _rewrite(wheel, lambda m: m.__setitem__("h/__init__.py", b"import os\n"))


def duplicate(dest: Path) -> Path:
    doc = variant_json("x8664v3", ["x86_64 :: level :: v3"])
    wheel = build_wheel(dest, "h", "1.0", variant=doc)
    with pytest.warns(UserWarning), zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("h/__init__.py", "x = 2\n")
    return wheel


def bomb(dest: Path) -> Path:
    doc = variant_json("x8664v3", ["x86_64 :: level :: v3"])
    wheel = build_wheel(dest, "h", "1.0", variant=doc)
    with (
        zipfile.ZipFile(wheel, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("h/zeros.bin", "w", force_zip64=True) as fh,
    ):
        for _ in range(300):
            fh.write(bytes(1 << 20))
    return wheel


KINDS = {
    "lying-label": (lying_label, "'y'"),
    "lying-record": (lying_record, "'h/__init__.py'"),
    "duplicate": (duplicate, "appears twice"),
    "bomb": (bomb, "zip bomb"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_wheel_command_refuses_it_in_one_line(tmp_path: Path, capsys, kind: str) -> None:
    make, reason = KINDS[kind]
    wheel = make(tmp_path / "in")
    out = tmp_path / "out"
    commands = {
        "unmake-variant": (["unmake-variant", str(wheel), "-o", str(out)], 2),
        "repair": (["repair", str(wheel), "-o", str(out), "--", "cp", "{wheel}", "{dest_dir}"], 2),
        "index build": (["index", "build", str(tmp_path / "in"), "-o", str(out)], 2),
        "index merge": (["index", "merge", str(tmp_path / "in"), "-o", str(out)], 2),
        "publish": (["publish", "--dry-run", str(wheel)], 2),
    }
    for name, (argv, code) in commands.items():
        assert main(argv) == code, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and wheel.name in err and reason in err, (name, err)
        assert not out.exists() or list(out.iterdir()) == [], name
    assert main(["check", str(wheel)]) == 1  # check reports, exit 1 on errors
    report = capsys.readouterr().out
    assert "error[invalid-wheel]: " in report and reason in report
