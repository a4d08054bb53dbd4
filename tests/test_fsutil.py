"""fsutil: the one bounded, non-blocking reader of small files that untrusted input may name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from varwheel.fsutil import FileTooLarge, NotARegularFile, open_regular, read_regular


def test_a_regular_file_is_read_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert read_regular(path, limit=5) == b"12345"
    with pytest.raises(FileTooLarge):
        read_regular(path, limit=4)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.whl"
    os.mkfifo(fifo)  # nobody writes: a blocking open would hang the test (pytest-timeout)
    with pytest.raises(NotARegularFile):
        open_regular(fifo)
    with pytest.raises(NotARegularFile):
        read_regular(tmp_path, limit=10)  # a directory


def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile):
        read_regular("/dev/zero", limit=10)


def test_open_errors_stay_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", limit=10)
    with pytest.raises(ValueError):
        read_regular("a\0b", limit=10)
