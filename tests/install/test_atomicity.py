"""Kill varwheel (SIGKILL) in the middle of an install/uninstall; the next run must recover the
environment to exactly the before state (or, once committed, the after state)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions
from varwheel.install.transaction import CRASH_ENV, install_wheels

pytestmark = pytest.mark.slow

CHILD = """
import sys
from pathlib import Path
from varwheel.install.environment import find_target_environment
from varwheel.install.transaction import install_wheels, uninstall
env = find_target_environment(sys.argv[2])
if sys.argv[1] == "install":
    install_wheels(env, [Path(p) for p in sys.argv[3:]])
else:
    uninstall(env, sys.argv[3:])
"""


def _wheels(root: Path, version: str, names: list[str]) -> list[Path]:
    out = []
    for name in names:
        pkg = name.replace("-", "_")
        files = {f"{pkg}/__init__.py": f"VERSION = {version!r}\ndef main():\n    print(VERSION)\n"}
        files |= {f"{pkg}/sub/m{i}.py": f"# {name} {version} {i}\n" * 50 for i in range(12)}
        out.append(
            build_wheel(
                root / version,
                name,
                version,
                files=files,
                entry_points={"console_scripts": {f"{name}-cli": f"{pkg}:main"}},
            )
        )
    return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("atomic")
    old = _wheels(root, "1.0", ["alpha", "beta", "gamma"])
    new = _wheels(root, "2.0", ["alpha", "beta", "gamma", "delta"])
    venv = root / "venv"

    def fresh_with_old() -> None:
        shutil.rmtree(venv, ignore_errors=True)
        make_venv(venv)
        install_wheels(find_target_environment(str(venv)), old)

    fresh_with_old()
    before = snapshot_tree(venv)
    install_wheels(find_target_environment(str(venv)), new)
    after = snapshot_tree(venv)
    assert before != after
    # How many moves the transaction makes: crash at the first one and read the journal.
    fresh_with_old()
    assert _run_child("install", venv, [str(p) for p in new], "1").returncode == -signal.SIGKILL
    journal = json.loads((venv / ".varwheel" / "txn" / "journal.json").read_text())
    moves = len(journal["displace"]) + len(journal["place"])
    assert moves > 20
    return {
        "venv": venv,
        "new": new,
        "before": before,
        "after": after,
        "reset": fresh_with_old,
        "moves": moves,
    }


def _run_child(
    op: str, venv: Path, args: list[str], crash: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{CRASH_ENV: crash})
    return subprocess.run(
        [sys.executable, "-c", CHILD, op, str(venv), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _recover_with_cli(venv: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "varwheel", "list", "--python", str(venv)],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6, 1.0])
def test_killed_install_rolls_back(scenario: dict[str, object], fraction: float) -> None:
    """Killed after the first move, a third, two thirds, and after the very last move."""
    moves: int = scenario["moves"]  # type: ignore[assignment]
    crash_after = str(max(1, round(moves * fraction)))
    venv: Path = scenario["venv"]  # type: ignore[assignment]
    scenario["reset"]()  # type: ignore[operator]
    assert snapshot_tree(venv) == scenario["before"]
    proc = _run_child("install", venv, [str(p) for p in scenario["new"]], crash_after)  # type: ignore[attr-defined]
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (venv / ".varwheel" / "txn" / "journal.json").exists()
    assert snapshot_tree(venv) != scenario["before"]  # really half-done
    note = _recover_with_cli(venv)
    assert "rolled back an interrupted varwheel install" in note
    assert snapshot_tree(venv) == scenario["before"]
    assert not (venv / ".varwheel" / "txn").exists()


def test_killed_after_commit_rolls_forward(scenario: dict[str, object]) -> None:
    venv: Path = scenario["venv"]  # type: ignore[assignment]
    scenario["reset"]()  # type: ignore[operator]
    proc = _run_child("install", venv, [str(p) for p in scenario["new"]], "commit")  # type: ignore[attr-defined]
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    note = _recover_with_cli(venv)
    assert "completed an interrupted varwheel install" in note
    assert snapshot_tree(venv) == scenario["after"]


def test_killed_uninstall_rolls_back_and_next_install_recovers(scenario: dict[str, object]) -> None:
    venv: Path = scenario["venv"]  # type: ignore[assignment]
    scenario["reset"]()  # type: ignore[operator]
    proc = _run_child(
        "uninstall", venv, ["alpha", "gamma"], "3"
    )  # of 6: 2 x (dir, dist-info, script)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # The next operation (here an install, in-process) recovers first and says so.
    env = find_target_environment(str(venv))
    result = install_wheels(env, [scenario["new"][3]])  # type: ignore[index]
    assert (
        result.recovered is not None
        and "rolled back an interrupted varwheel uninstall" in result.recovered
    )
    versions = {n: d.version for n, d in installed_distributions(env).items()}
    assert versions == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", "delta": "2.0"}
    out = subprocess.run(
        [str(venv / "bin" / "alpha-cli")], capture_output=True, text=True, check=True
    )
    assert out.stdout == "1.0\n"


def test_killed_before_journal_leaves_env_untouched(scenario: dict[str, object]) -> None:
    """A staging area without a journal (killed while unpacking) is just removed."""
    venv: Path = scenario["venv"]  # type: ignore[assignment]
    scenario["reset"]()  # type: ignore[operator]
    staging = venv / ".varwheel" / "txn" / "staging"
    (staging / "some").mkdir(parents=True)
    (staging / "some" / "file").write_text("half-unpacked")
    note = _recover_with_cli(venv)
    assert "nothing had changed" in note
    assert snapshot_tree(venv) == scenario["before"]


def test_recovery_killed_while_restoring_can_run_again(
    scenario: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade replaces files at the same paths: a rerun recovery must not delete restored
    originals (the journal remembers that restoring began)."""
    from varwheel.install import transaction

    venv: Path = scenario["venv"]  # type: ignore[assignment]
    scenario["reset"]()  # type: ignore[operator]
    moves: int = scenario["moves"]  # type: ignore[assignment]
    proc = _run_child("install", venv, [str(p) for p in scenario["new"]], str(moves))  # type: ignore[attr-defined]
    assert proc.returncode == -signal.SIGKILL
    real_move = transaction._move
    restored = []

    def dying_move(src: str, dst: str) -> None:
        if len(restored) == 3:
            raise KeyboardInterrupt  # stands for the recovering process being killed
        real_move(src, dst)
        restored.append(dst)

    env = find_target_environment(str(venv))
    monkeypatch.setattr(transaction, "_move", dying_move)
    with pytest.raises(KeyboardInterrupt):
        transaction.recover_if_needed(env)
    journal = json.loads((venv / ".varwheel" / "txn" / "journal.json").read_text())
    assert journal["state"] == "restoring"
    monkeypatch.setattr(transaction, "_move", real_move)
    assert "rolled back" in (transaction.recover_if_needed(env) or "")
    assert snapshot_tree(venv) == scenario["before"]


@pytest.mark.parametrize("crash", ["1", "2", "3", "commit"])
def test_killed_install_creating_headers_and_data_dirs_recovers(tmp_path: Path, crash: str) -> None:
    """Placed whole directories such as ``include/site`` (an ancestor of the headers scheme
    directory, absent from a fresh venv) are the transaction's own: recovery removes them and
    does not mistake the journal for one that names an environment root."""
    venv = make_venv(tmp_path / "venv")
    wheel = build_wheel(
        tmp_path / "wheels",
        "withdata",
        "1.0",
        files={
            "withdata/__init__.py": "",
            "withdata-1.0.data/headers/withdata.h": "#define W 1\n",
            "withdata-1.0.data/data/share/withdata/readme.txt": "hello\n",
        },
    )
    before = snapshot_tree(venv)
    proc = _run_child("install", venv, [str(wheel)], crash)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    note = _recover_with_cli(venv)
    if crash == "commit":
        assert "completed an interrupted varwheel install" in note
        assert (venv / "include" / "site").is_dir()
        assert (venv / "share" / "withdata" / "readme.txt").read_text() == "hello\n"
    else:
        assert "rolled back an interrupted varwheel install" in note
        assert snapshot_tree(venv) == before
    assert not (venv / ".varwheel" / "txn").exists()
