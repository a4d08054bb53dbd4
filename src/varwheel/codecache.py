"""A disk cache for the code ``dataclasses`` generates: start-up time of the command line.

On CPython 3.10 to 3.12, ``@dataclass`` compiles each generated method (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, a frozen class's ``__setattr__``/``__delattr__``) from
source text with its own ``exec`` call. That is about 0.45 ms per class, and 40 ms of an
install's start-up for the ~90 classes it loads: more than the rest of varwheel's own modules
take to import. The text is the same on every run, so the command line keeps the compiled code
objects, keyed by that exact text, in one marshal file per interpreter version under the cache
root (``<cache>/startup/``), as ``__pycache__`` keeps module bytecode. Python 3.13 compiles a
class's methods in one go and is left alone.

Only the name ``exec`` in the ``dataclasses`` module's globals is replaced (a module global
shadows the builtin there and nowhere else). A cached code object is what
``compile(text, "<string>", "exec", dont_inherit=True)`` returns, which is what ``exec(text)``
compiles inside ``dataclasses`` (it has no ``__future__`` imports), so the classes are the same
as without the cache (tests/test_codecache.py compares them).

The file is trusted as the user's own, like the bytecode in ``__pycache__`` and the wheels in the
same cache: it is read only when it is a regular file owned by this user and writable by no one
else, and ignored when missing, damaged or written by another Python. New code is written at
exit, atomically (temp + rename). ``import varwheel.api`` never installs the cache; only the
command line does (``varwheel.cli.main``).
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import marshal
import os
import stat
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["CodeCache", "install", "supported"]

_MAGIC = b"varwheel dataclass code 1\n"
_MAX_BYTES = 8 * 1024 * 1024
# A command loads ~100 classes (~600 methods); every command together stays well under this.
# Past it (code that keeps changing, as in development), the file restarts from this run's code.
_MAX_ENTRIES = 3000


def supported() -> bool:
    """CPython 3.10 to 3.12, whose ``dataclasses`` compiles one method per ``exec``."""
    return sys.implementation.name == "cpython" and (3, 10) <= sys.version_info[:2] <= (3, 12)


_PREFIX = "dataclass-code-"


def cache_file(root: Path) -> Path:
    """One file per interpreter build and varwheel version (an upgrade starts a new one)."""
    from varwheel import __version__

    tag = f"{sys.implementation.cache_tag}-{sys.hexversion:x}-{__version__}"
    return root / "startup" / f"{_PREFIX}{tag}"


class CodeCache:
    """Compiled code by source text; ``exec`` is a drop-in for the builtin."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = {}
        self.used: set[str] = set()
        self.added = 0

    def load(self) -> None:
        """Read the file if it is ours and whole; anything else leaves the cache empty."""
        data = _read_own_file(self.path)
        if data is None or not data.startswith(_MAGIC):
            return
        try:
            table = marshal.loads(data[len(_MAGIC) :])
        except (EOFError, ValueError, TypeError):
            return
        if isinstance(table, dict) and all(
            type(k) is str and type(v) is CodeType for k, v in table.items()
        ):
            self.codes = table

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        if type(source) is str:
            code = self.codes.get(source)
            if code is None:
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.codes[source] = code
                self.added += 1
            self.used.add(source)
            source = code
        builtins.exec(source, globals, locals)

    def save(self) -> None:
        """Write the table when this run compiled something new; failures are ignored."""
        if not self.added:
            return
        if len(self.codes) > _MAX_ENTRIES:
            self.codes = {k: v for k, v in self.codes.items() if k in self.used}
        with contextlib.suppress(OSError, ValueError):
            data = _MAGIC + marshal.dumps(self.codes)
            if len(data) > _MAX_BYTES:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self.added = 0
            _remove_older_files(self.path)


def _remove_older_files(current: Path) -> None:
    """Files of other varwheel versions for this interpreter are not read again after an
    upgrade (another interpreter's file is its own business)."""
    interpreter = f"{_PREFIX}{sys.implementation.cache_tag}-{sys.hexversion:x}-"
    with contextlib.suppress(OSError), os.scandir(current.parent) as entries:
        for entry in entries:
            if entry.name.startswith(interpreter) and entry.name != current.name:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _read_own_file(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_size > _MAX_BYTES
            or (hasattr(os, "getuid") and st.st_uid != os.getuid())
            or st.st_mode & 0o022
        ):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(_MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


_INSTALLED: CodeCache | None = None


def install(root: Path) -> CodeCache | None:
    """Serve ``dataclasses``' compiles from ``<root>/startup/`` for the rest of this process
    (once; None where unsupported). Written back at exit."""
    global _INSTALLED
    if _INSTALLED is not None or not supported():
        return _INSTALLED
    import dataclasses

    cache = CodeCache(cache_file(root))
    cache.load()
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    atexit.register(cache.save)
    _INSTALLED = cache
    return cache
