"""``resolve/hashes.py``: pip's hash-checking mode."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.wheels import build_wheel
from varwheel.errors import InstallError
from varwheel.resolve.hashes import check_hashes, check_hashes_given, required_hashes


def _pkg(name: str, *, sdist_hashes: dict[str, str] | None = None) -> SimpleNamespace:
    file = None
    if sdist_hashes is not None:
        file = SimpleNamespace(hashes=sdist_hashes, filename=f"{name}-1.0.tar.gz")
    cand = SimpleNamespace(version="1.0", is_sdist=sdist_hashes is not None, file=file)
    return SimpleNamespace(name=name, candidate=cand)


def test_required_hashes_groups_by_name() -> None:
    pairs = [("a", "sha256:01"), ("b", "sha256:02"), ("a", "sha512:03")]
    assert required_hashes(pairs) == {"a": {"sha256:01", "sha512:03"}, "b": {"sha256:02"}}


def test_every_distribution_needs_a_hash() -> None:
    check_hashes_given([_pkg("a")], {"a": {"sha256:01"}})
    with pytest.raises(InstallError, match=r"no --hash given for b==1\.0"):
        check_hashes_given([_pkg("a"), _pkg("b")], {"a": {"sha256:01"}})


def test_wheel_hash_any_algorithm(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "a", "1.0")
    data = wheel.read_bytes()
    for algo in ("sha256", "sha384", "sha512"):
        check_hashes([_pkg("a")], [wheel], {"a": {f"{algo}:{hashlib.new(algo, data).hexdigest()}"}})
    with pytest.raises(InstallError, match=r"hash sha256:[0-9a-f]{64} is not one of"):
        check_hashes([_pkg("a")], [wheel], {"a": {"sha256:" + "0" * 64}})


def test_a_built_sdist_is_checked_by_the_index_hash(tmp_path: Path) -> None:
    built = build_wheel(tmp_path, "a", "1.0")  # its own bytes do not matter
    pkg = _pkg("a", sdist_hashes={"sha256": "ab" * 32})
    check_hashes([pkg], [built], {"a": {"sha256:" + "ab" * 32}})
    with pytest.raises(InstallError, match=r"a-1\.0\.tar\.gz"):
        check_hashes([pkg], [built], {"a": {"sha256:" + "cd" * 32}})


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_wheel_is_hashed_in_bounded_memory(tmp_path: Path) -> None:
    """A 256 MiB file is hashed in chunks (before: read whole, peak above 256 MiB)."""
    big = tmp_path / "a-1.0-py3-none-any.whl"
    with big.open("wb") as fh:
        fh.truncate(256 << 20)
    digest = hashlib.sha256()
    with big.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from types import SimpleNamespace
        from varwheel.resolve.hashes import check_hashes
        cand = SimpleNamespace(version="1.0", is_sdist=False, file=None)
        pkg = SimpleNamespace(name="a", candidate=cand)
        check_hashes([pkg], [Path({str(big)!r})], {{"a": {{"sha256:{digest.hexdigest()}"}}}})
        with open("/proc/self/status") as fh:
            print(next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) // 1024)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout) < 64, proc.stdout
