"""Real virtual environments and whole-tree snapshots for installation tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["make_venv", "snapshot_tree", "venv_python"]


def make_venv(path: Path | str, *, with_pip: bool = False) -> Path:
    """``python -m venv [--without-pip] path`` with this interpreter's base; returns ``path``."""
    target = Path(path)
    args = [sys.executable, "-m", "venv", str(target)]
    if not with_pip:
        args.insert(3, "--without-pip")
    subprocess.run(args, check=True, capture_output=True)
    return target


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def snapshot_tree(root: Path | str, *, exclude: tuple[str, ...] = (".varwheel",)) -> dict[str, str]:
    """Every file, symlink and directory under ``root`` -> its sha256 / link target / "dir".

    Top-level names in ``exclude`` are skipped (varwheel's own lock/journal directory)."""
    base = Path(root)
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d not in exclude]
        for d in list(dirs):
            full = os.path.join(dirpath, d)
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if os.path.islink(full):
                out[rel] = "link:" + os.readlink(full)
                dirs.remove(d)
            else:
                out[rel] = "dir"
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(full):
                out[rel] = "link:" + os.readlink(full)
            else:
                with open(full, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out
