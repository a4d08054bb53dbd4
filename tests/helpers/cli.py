"""A command run in a test sees only its own cache, an empty config and no active venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def isolate_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drop_env_prefixes: tuple[str, ...] = ()
) -> None:
    """Point the cache and the config into ``tmp_path``, forget ``VIRTUAL_ENV`` and any variable
    starting with one of ``drop_env_prefixes``, and run from ``tmp_path``."""
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").write_text("")
    monkeypatch.setenv("VARWHEEL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    if drop_env_prefixes:
        for key in list(os.environ):
            if key.startswith(drop_env_prefixes):
                monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def modules_after(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules a real ``python -m varwheel ARGS`` run loaded, read at interpreter exit,
    and the run itself (which inherits this process's environment)."""
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('MODULES', ' '.join(sys.modules), file=sys.stderr))\n"
        f"sys.argv = ['varwheel', *{list(args)!r}]\n"
        "runpy.run_module('varwheel', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    lines = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")]
    assert lines, f"the run printed no module list: {done.stderr[-2000:]}"
    return set(lines[-1].split()[1:]), done
