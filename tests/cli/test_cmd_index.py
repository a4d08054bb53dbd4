"""``varwheel index build|merge``: exit codes, one-line refusals, nothing written on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel, variant_json
from index.release import NVIDIA, build_release
from varwheel.cli import exitcodes
from varwheel.cli.main import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_build_then_add_then_refuse(capsys, tmp_path: Path) -> None:
    build_release(tmp_path / "dist1", "1.0")
    (tmp_path / "dist1" / "SHA256SUMS").write_text("x\n")
    code, out, err = run(capsys, "index", "build", "dist1", "-o", "site")
    assert code == 0, err
    assert "added vpub-1.0-py3-none-any-cu12.whl" in out
    assert "wrote files/variants/" in out and "skipped dist1/SHA256SUMS" in err
    page = (tmp_path / "site" / "simple" / "vpub" / "index.html").read_text()
    assert "vpub-1.0-variants.json#sha256=" in page

    code, out, _ = run(capsys, "index", "build", "dist1", "-o", "site")
    assert code == 0 and "already up to date (4 file(s) present)" in out

    before = snapshot_tree(tmp_path / "site")
    doc = variant_json("cu13", ["nvidia :: cuda_version_lower_bound :: 13.0"], providers=NVIDIA)
    doc["variants"]["cu13"] = {"nvidia": {"cuda_version_lower_bound": ["12.0"]}}  # lies
    build_wheel(tmp_path / "dist2", "vpub", "1.0", variant=doc, build_tag="2")
    build_release(tmp_path / "dist2", "2.0")
    code, out, err = run(capsys, "index", "build", "dist2", "-o", "site")
    assert code == exitcodes.INVALID_INPUT
    assert err.count("\n") == 1 and "vpub-1.0-2-py3-none-any-cu13.whl" in err
    assert "vpub-1.0-py3-none-any-cu13.whl" in err and "Traceback" not in err
    assert snapshot_tree(tmp_path / "site") == before


def test_merge_order_independent(capsys, tmp_path: Path) -> None:
    build_release(tmp_path / "linux", "1.0", labels=("cu12",))
    build_release(tmp_path / "cuda13", "1.0", labels=("cu13", "null"), plain=False)
    code, out, err = run(capsys, "index", "merge", "linux", "cuda13", "-o", "ab")
    assert code == 0, err
    assert "merged vpub-1.0-variants.json" in out and "ab: 5 file(s)" in out
    code, _, err = run(capsys, "index", "merge", "cuda13", "linux", "-o", "ba")
    assert code == 0, err
    assert snapshot_tree(tmp_path / "ab") == snapshot_tree(tmp_path / "ba")
    code, _, err = run(capsys, "index", "merge", "missing", "-o", "x")
    assert code == exitcodes.INVALID_INPUT and "missing: no such file or directory" in err
    assert not (tmp_path / "x").exists()


def test_quiet_build_and_merge_print_only_warnings(capsys, tmp_path: Path) -> None:
    """-q as pip's: no per-file lines and no summary; a skipped file is still a warning."""
    build_release(tmp_path / "dist1", "1.0")
    (tmp_path / "dist1" / "SHA256SUMS").write_text("x\n")
    code, out, err = run(capsys, "index", "build", "-q", "dist1", "-o", "site")
    assert code == 0 and out == "", out
    assert "skipped dist1/SHA256SUMS" in err
    assert (tmp_path / "site" / "simple" / "vpub" / "index.html").is_file()
    code, out, err = run(capsys, "index", "merge", "-q", "dist1", "-o", "merged")
    assert code == 0 and out == "", out
    assert (tmp_path / "merged" / "vpub-1.0-py3-none-any-cu12.whl").is_file()
