"""The where-may-a-file-land rules of ``install.destinations`` on their own, for layouts the
end-to-end tests (a POSIX venv) do not reach: Windows names, a system interpreter whose data
scheme is ``/usr``, case-insensitive spellings."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from varwheel.install.destinations import EnvironmentLayout
from varwheel.install.environment import TargetEnvironment


def _layout(prefix: Path, *, scripts: str, python: str, site: str) -> EnvironmentLayout:
    env = SimpleNamespace(
        prefix=prefix,
        purelib=prefix / site,
        platlib=prefix / site,
        scripts=prefix / scripts,
        data=prefix,
        headers=prefix / "include" / "site",
        python=prefix / python,
        site_dirs=(prefix / site,),
    )
    return EnvironmentLayout.of(env)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("Scripts/python.exe", "interpreter"),
        ("Scripts/pythonw.exe", "interpreter"),
        ("scripts/PYTHON3.EXE", "interpreter"),
        ("Scripts/pypy3.10.exe", "interpreter"),
        ("Scripts/python3.13t.exe", "interpreter"),
        ("Scripts/Activate.ps1", "activation"),
        ("Scripts/activate.bat", "activation"),
        ("Scripts/deactivate.bat", "activation"),
        ("PyVenv.cfg", "configuration"),
        (".varwheel", "state"),
        (".VARWHEEL/txn/journal.json", "state"),
    ],
)
def test_windows_layout_reserved(tmp_path: Path, rel: str, reason: str) -> None:
    layout = _layout(
        tmp_path, scripts="Scripts", python="Scripts/python.exe", site="Lib/site-packages"
    )
    assert reason in (layout.reserved(str(tmp_path / rel)) or "")


@pytest.mark.parametrize(
    "rel",
    [
        "Scripts/python-tool.exe",
        "Scripts/pythonic",
        "Scripts/activator",
        "share/python3",  # not an interpreter directory
        "Lib/site-packages/python.py",
        ".varwheel-notes.txt",
    ],
)
def test_windows_layout_allowed(tmp_path: Path, rel: str) -> None:
    layout = _layout(
        tmp_path, scripts="Scripts", python="Scripts/python.exe", site="Lib/site-packages"
    )
    assert layout.reserved(str(tmp_path / rel)) is None


def test_system_interpreter_directory_is_reserved_too(tmp_path: Path) -> None:
    """A system interpreter (``--break-system-packages``): scripts go to ``local/bin`` but the
    data scheme is the prefix, so ``bin/python3`` beside the real interpreter is reachable."""
    layout = _layout(
        tmp_path,
        scripts="local/bin",
        python="bin/python3.12",
        site="local/lib/python3/dist-packages",
    )
    assert "interpreter" in (layout.reserved(str(tmp_path / "bin" / "python3")) or "")
    assert "interpreter" in (layout.reserved(str(tmp_path / "local" / "bin" / "python")) or "")
    assert layout.reserved(str(tmp_path / "bin" / "tool")) is None


def test_contains(tmp_path: Path, env: TargetEnvironment) -> None:
    layout = EnvironmentLayout.of(env)
    outside = tmp_path / "outside"
    outside.mkdir()
    (env.purelib / "door").symlink_to(outside)
    inside = str(env.purelib / "pkg" / "mod.py")
    assert layout.contains(inside)
    assert layout.contains(str(env.purelib / "door"))  # the link itself: unlinked, not followed
    assert layout.contains(str(env.prefix / "include" / "site"))  # headers may be created
    for bad in (
        str(outside),
        str(env.purelib / "door" / "x"),
        f"{env.purelib}/../../../../outside",
        "relative/path",
        str(env.purelib) + "/x\0y",
        str(env.prefix),
        str(env.purelib),
        str(env.scripts),
        str(env.purelib.parent),  # lib/python3.X holds site-packages
        os.path.dirname(str(env.prefix)),
    ):
        assert not layout.contains(bad), bad
    assert layout.contains(str(env.purelib), allow_root=True)
    assert not layout.contains(str(env.purelib.parent), allow_root=True)


def test_metadata_dir(env: TargetEnvironment) -> None:
    layout = EnvironmentLayout.of(env)
    assert layout.metadata_dir(str(env.purelib / "a-1.0.dist-info" / "RECORD")) == "a-1.0.dist-info"
    assert layout.metadata_dir(str(env.purelib / "B-2.EGG-INFO")) == "B-2.EGG-INFO"
    assert layout.metadata_dir(str(env.purelib / "pkg" / "x.dist-info" / "y")) is None
    assert layout.metadata_dir(str(env.prefix / "x.dist-info" / "y")) is None
