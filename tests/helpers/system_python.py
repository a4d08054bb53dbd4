"""A real "system" interpreter under a test's tmp directory, for PEP 668 and ``--python 3.X``
tests: the base interpreter's binary copied to ``ROOT/bin/pythonX.Y`` beside a
``ROOT/lib/pythonX.Y`` directory of symlinks to the real stdlib (its own ``site-packages``).
CPython finds its prefix from the landmark ``lib/pythonX.Y/os.py`` next to the binary, so this
interpreter reports ``sys.prefix == ROOT`` and ``sysconfig`` ``stdlib == ROOT/lib/pythonX.Y``:
an ``EXTERNALLY-MANAGED`` file placed there is what the target interpreter itself reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

__all__ = ["make_system_python"]


def make_system_python(root: Path, *, externally_managed: str | None = None) -> Path:
    """Build the interpreter under ``root`` and return ``root/bin/python3``; with
    ``externally_managed``, write that text as its ``EXTERNALLY-MANAGED`` file. Skips the test
    where this interpreter's layout cannot be reproduced (e.g. a framework build)."""
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix})["stdlib"])
    lib = root / "lib" / version
    (lib / "site-packages").mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages", "EXTERNALLY-MANAGED"):
            (lib / entry.name).symlink_to(entry)
    (root / "bin").mkdir()
    shutil.copy2(base, root / "bin" / version)
    (root / "bin" / "python3").symlink_to(version)
    python = root / "bin" / "python3"
    probe = subprocess.run(
        [
            str(python),
            "-I",
            "-c",
            "import sys, sysconfig; print(sys.prefix, sysconfig.get_path('stdlib'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.split() != [str(root), str(lib)]:
        pytest.skip(f"cannot build a relocated copy of {base}: {probe.stdout or probe.stderr}")
    if externally_managed is not None:
        (lib / "EXTERNALLY-MANAGED").write_text(externally_managed, encoding="utf-8")
    return python
