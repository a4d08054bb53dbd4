"""``varwheel check``: output, exit codes (1 on errors, --strict on warnings, 2 on bad input),
release vs project mode, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main

DEMO = Path(__file__).resolve().parents[1] / "build" / "data" / "demo" / "pyproject.toml"
X86 = {"x86_64": {"requires": ["provider-variant-x86-64"]}}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def release(d: Path, *labels: tuple[str, str]) -> Path:
    build_wheel(d, "demo", "1.0")
    for label, prop in labels:
        build_wheel(d, "demo", "1.0", variant=variant_json(label, [prop], providers=X86))
    return d


def test_errors_exit_1_and_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = release(tmp_path / "dist", ("x8664v3", "x86_64 :: level :: v3"),
                ("v9", "x86_64 :: level :: v9"))  # fmt: skip
    code, out, err = run(capsys, str(d))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[-1] == "1 error(s), 1 warning(s)"
    assert lines[0].startswith(
        "error[unknown-value]: demo 1.0: variant 'v9': x86_64 :: level :: v9 "
    )
    assert lines[0].endswith(" [demo-1.0-py3-none-any-v9.whl]")  # the file, when unnamed
    assert lines[1].startswith("warning[no-variants-json]: demo 1.0: variant wheels without")


def test_warnings_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = release(tmp_path / "dist", ("x8664v3", "x86_64 :: level :: v3"))
    code, out, _ = run(capsys, str(d))
    assert code == 0 and out.endswith("0 error(s), 1 warning(s)\n")
    code, _, _ = run(capsys, "--strict", str(d))
    assert code == 1


def test_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = release(tmp_path / "dist", ("a", "x86_64 :: level :: v3"), ("b", "x86_64 :: level :: v3"))
    code, out, _ = run(capsys, "--json", str(d))
    assert code == 0
    doc = json.loads(out)
    assert (doc["errors"], doc["warnings"]) == (0, 2)
    shadowed = next(f for f in doc["findings"] if f["code"] == "shadowed-variant")
    assert shadowed["severity"] == "warning"
    assert shadowed["subjects"] == ["demo-1.0-py3-none-any-b.whl"]


def test_project_directory_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DEMO.parent))
    assert code == 0
    assert out.splitlines()[0].startswith("warning[shadowed-variant]: variant 'x8664v4'")
    assert run(capsys, str(DEMO))[1] == out
    # the current directory as "." (no PATH checks the environment: tests/cli/test_check_env.py)
    (tmp_path / "pyproject.toml").write_text(DEMO.read_text())
    assert run(capsys, ".")[1] == out.replace(str(DEMO), str(Path("pyproject.toml")))


def test_directory_with_wheels_is_a_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(DEMO.read_text())
    release(tmp_path, ("x8664v3", "x86_64 :: level :: v3"))
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0
    assert "no-variants-json" in out and "shadowed" not in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "missing: no such file or directory"),
        ("empty", "empty: no wheels or *-variants.json files"),
        ("badtoml", "bad.toml: invalid TOML"),
        ("nobuild", "pyproject.toml: no [tool.varwheel.build] table"),
    ],
)
def test_bad_input_exit_2(
    setup: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / setup
    if setup == "empty":
        target.mkdir()
    elif setup == "badtoml":
        target = tmp_path / "bad.toml"
        target.write_text("[x\n")
    elif setup == "nobuild":
        target = tmp_path / "pyproject.toml"
        target.write_text('[project]\nname = "x"\n')
    code, out, err = run(capsys, str(target))
    assert (code, out) == (2, "")
    assert err.startswith("varwheel: error: ") and err.count("\n") == 1
    assert message in err


def test_real_process_exit_code(tmp_path: Path) -> None:
    d = release(tmp_path / "dist", ("v9", "x86_64 :: level :: v9"))
    result = subprocess.run(
        [sys.executable, "-m", "varwheel", "check", str(d)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error[unknown-value]" in result.stdout
