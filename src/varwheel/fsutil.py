"""Small filesystem helpers shared by the caches, the index writer and the CLI."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename, so a reader
    sees the old content or the new one, never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class NotARegularFile(Exception):
    """The path names a FIFO, device, directory or socket: never read from it."""


class FileTooLarge(Exception):
    """The file holds more bytes than the reader accepts."""


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file. Opened non-blocking and
    checked with ``fstat`` on the descriptor, so a FIFO or device planted under a file's name
    can neither block nor stream forever, and a file swapped in after a check is still caught.
    Raises ``OSError`` (``ValueError`` for a NUL byte) from ``open`` and ``NotARegularFile``."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str, *, limit: int) -> bytes:
    """The whole content of the regular file ``path`` (``open_regular``), at most ``limit``
    bytes: ``FileTooLarge`` beyond, without reading more than one byte past the limit."""
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(str(path))
    return data
