"""A cloned source tree is untrusted input: reading its ``pyproject.toml`` and copying it.

``varwheel build`` compiles in a private copy of the project (setuptools reuses object files
under ``build/`` whatever the flags). The copy never reaches outside the project:

- a symbolic link whose target lies inside the project is copied as a relative link (not
  followed: a link to ``.`` or a link loop cannot make the copy recurse);
- a link that leads outside the project (``LICENSE -> ../LICENSE``, ``data -> /``) is refused
  with one line: building it would put files from elsewhere on this machine into the wheel;
- a named pipe or device is refused (reading one blocks or never ends; pip refused them the
  same way when it copied source trees); a socket (``.git/fsmonitor--daemon.ipc``) is skipped;
- earlier build outputs, virtual environments and tool caches are left out.

``read_project_file`` reads ``pyproject.toml`` with the same rules (a regular file inside the
project), and names the file for TOML a parser cannot take (over-deep nesting, an integer
beyond Python's 4300-digit limit).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from varwheel.errors import InvalidInput
from varwheel.fsutil import FileTooLarge, NotARegularFile, read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["UnsafeSourceTree", "copy_source", "parse_toml", "read_project_file"]

# Left out of the copy: earlier build outputs (setuptools reuses object files under build/
# whatever the flags, so a -march=x86-64-v3 build would ship v1 objects), virtual environments
# and tool caches. VCS metadata is kept (setuptools-scm).
SKIPPED_TOP = frozenset({"build", "dist", ".tox", ".nox", ".venv", "venv", ".eggs"})
SKIPPED_ANY = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


# The largest pyproject.toml on PyPI is a few hundred KB; a bigger one is an attack on memory.
MAX_PROJECT_FILE = 16 * 1024 * 1024


class UnsafeSourceTree(InvalidInput):
    """The project holds a link leading outside it or a special file (exit 2)."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _skipped(name: str, directory: str, root: str) -> bool:
    if name in SKIPPED_ANY or name.endswith(".egg-info") or name.startswith(".varwheel-"):
        return True  # .varwheel-*: our own staging, when -o lies inside the tree
    if directory == root and name in SKIPPED_TOP:
        return True
    return os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))


def copy_source(src: Path, dest: Path) -> Path:
    """Copy the project ``src`` to ``dest`` (which must not exist) by the rules above; raise
    :class:`UnsafeSourceTree` naming the first offending path (``dest`` is then partial: the
    caller's temporary directory)."""
    root = os.path.realpath(src)
    shown = Path(src)
    os.makedirs(dest)
    # iterative walk: a deep tree cannot hit the recursion limit
    pending = [(root, str(dest))]
    while pending:
        here, there = pending.pop()
        with os.scandir(here) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            if _skipped(entry.name, here, root):
                continue
            source, target = entry.path, os.path.join(there, entry.name)
            where = shown / os.path.relpath(source, root)
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                resolved = os.path.realpath(source)
                if not _inside(resolved, root):
                    raise UnsafeSourceTree(
                        f"{where}: a symbolic link to {os.readlink(source)}, outside the project: "
                        "varwheel builds a copy of the project and copies nothing from outside "
                        "it (copy the file into the project; docs/build.md)"
                    )
                link = os.path.relpath(resolved, os.path.realpath(here))
                os.symlink(link, target)
            elif stat.S_ISDIR(mode):
                os.mkdir(target)
                pending.append((source, target))
            elif stat.S_ISREG(mode):
                shutil.copy2(source, target, follow_symlinks=False)
            elif stat.S_ISSOCK(mode):
                continue  # a daemon's socket (git fsmonitor): nothing a build reads
            else:
                raise UnsafeSourceTree(
                    f"{where}: a named pipe or device file in the project; a build cannot copy "
                    "it (remove it)"
                )
    return dest


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """``tomllib.loads`` with every parser failure as one line naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise InvalidInput(f"{source}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # int() past sys.get_int_max_str_digits()
        if "digits" in str(exc):
            raise InvalidInput(
                f"{source}: invalid TOML: an integer with more than "
                f"{sys.get_int_max_str_digits()} digits"
            ) from None
        raise InvalidInput(f"{source}: invalid TOML: {exc}") from None


def read_project_file(path: Path, *, project: Path | None = None) -> Mapping[str, Any]:
    """Parse the TOML file ``path``: a regular file (a FIFO is refused, never opened for a
    blocking read) that, when ``project`` is given, lies inside that directory."""
    if project is not None:
        resolved = os.path.realpath(path)
        if not _inside(resolved, os.path.realpath(project)):
            raise UnsafeSourceTree(
                f"{path}: a symbolic link to {resolved}, outside the project; not read"
            )
    try:
        data = read_regular(path, limit=MAX_PROJECT_FILE)
    except FileNotFoundError:
        raise InvalidInput(
            f"{path}: no such file (expected a project directory or its pyproject.toml)"
        ) from None
    except NotARegularFile:
        raise InvalidInput(f"{path}: not a regular file") from None
    except FileTooLarge:
        raise InvalidInput(f"{path}: larger than {MAX_PROJECT_FILE} bytes; not read") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from None
    return parse_toml(text, str(path))
