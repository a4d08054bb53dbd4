"""Downloads that stop half-way leave no temp file: Ctrl-C while a worker is blocked on a stalled
server, a write that fails (a full disk, the file size limit), a ``.part`` a killed run left.
Real HTTP on 127.0.0.1, real files, real signals and resource limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from helpers.http_server import serve_directory
from helpers.stall_server import stalling_server
from helpers.wheels import build_wheel
from varwheel.errors import IndexFetchError
from varwheel.index.client import STALE_PART_SECONDS, IndexClient
from varwheel.index.static import write_static_index

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and resource limits")


def parts_under(*roots: Path) -> list[str]:
    return [p.name for root in roots if root.exists() for p in root.rglob("*.part")]


def index_of(tmp_path: Path, *names: str, payload: int = 1000) -> Path:
    wheels = [
        build_wheel(tmp_path / "dist", name, "1.0", files={f"{name}/d": os.urandom(payload)})
        for name in names
    ]
    return write_static_index(wheels, tmp_path / "index")


@posix_only
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_while_a_worker_stalls_removes_its_part_file_and_the_finished_ones(
    tmp_path: Path,
) -> None:
    """The main thread gets KeyboardInterrupt while a daemon worker is blocked reading a stalled
    wheel: its ``.part`` in the wheel cache goes at once, a wheel already finished leaves
    ``dest`` (all or nothing), and the worker, released later, writes nothing more."""
    root = index_of(tmp_path, "fastpkg", "slowpkg")
    cache, dest = tmp_path / "cache", tmp_path / "dl"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with (
            stalling_server(root, stall_on="slowpkg-1.0-py3-none-any.whl") as stall,
            IndexClient([stall.url], cache_dir=cache, retries=0, timeout=60) as client,
        ):
            files = [client.project_files(n)[0] for n in ("fastpkg", "slowpkg")]
            main = threading.main_thread().ident
            assert main is not None

            seen: list[str] = []

            def interrupt() -> None:
                try:
                    stall.stalled.wait(20)
                    deadline = time.monotonic() + 20
                    fast = dest / "fastpkg-1.0-py3-none-any.whl"
                    while not fast.exists() and time.monotonic() < deadline:
                        time.sleep(0.01)
                    seen.extend([*parts_under(cache), *(p.name for p in dest.iterdir())])
                finally:
                    signal.pthread_kill(main, signal.SIGINT)

            threading.Thread(target=interrupt, daemon=True).start()
            with pytest.raises(KeyboardInterrupt):
                client.download_many(files, dest)
            assert "fastpkg-1.0-py3-none-any.whl" in seen
            assert any(n.startswith(".slowpkg-1.0-py3-none-any.whl.") for n in seen), seen
            assert parts_under(cache, dest) == []
            assert list(dest.iterdir()) == []
    finally:
        signal.signal(signal.SIGINT, previous)
    for thread in threading.enumerate():  # the released worker fails and ends
        if thread.name == "varwheel-download":
            thread.join(10)
    assert parts_under(cache, dest) == []
    assert list(dest.iterdir()) == []


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from varwheel.errors import InstallError
    from varwheel.index.client import IndexClient

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    index, links, cache, dest = sys.argv[1:]
    with IndexClient([index] if index else [], find_links=[links] if links else [],
                     no_index=not index, cache_dir=Path(cache), retries=0) as client:
        file = client.project_files("bigpkg")[0]
        try:
            client.download(file, Path(dest))
        except InstallError as exc:
            print(exc)
            sys.exit(1)
    sys.exit(0)
    """
)


def run_with_small_files(*args: str) -> subprocess.CompletedProcess[str]:
    """``FULL_DISK`` in a child whose files cannot grow past 64 KiB (a full disk, as the kernel
    says it to one process)."""
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK, *args], capture_output=True, text=True, timeout=60
    )


@posix_only
def test_a_failed_write_into_the_cache_names_the_cache_file_and_downloads_once(
    tmp_path: Path,
) -> None:
    """The cache and ``dest`` share the file system: the failed write is reported at once, not
    after a second download into ``dest`` that would fail the same way."""
    root = index_of(tmp_path, "bigpkg", payload=300_000)
    cache, dest = tmp_path / "cache", tmp_path / "dl"
    with serve_directory(root) as server:
        done = run_with_small_files(server.url + "simple/", "", str(cache), str(dest))
        wheel_requests = [r for r in server.stats.snapshot() if r.path.endswith(".whl")]
    assert done.returncode == 1, done.stderr
    line = done.stdout.strip()
    assert line.startswith(str(cache)) and "bigpkg-1.0-py3-none-any.whl" in line
    assert line.endswith(": cannot write: File too large")
    assert len(wheel_requests) == 1
    assert parts_under(cache, dest) == [] and list(dest.iterdir()) == []


@posix_only
def test_a_failed_write_from_find_links_names_the_file_written_not_the_source(
    tmp_path: Path,
) -> None:
    index_of(tmp_path, "bigpkg", payload=300_000)
    cache, dest = tmp_path / "cache", tmp_path / "dl"
    done = run_with_small_files("", str(tmp_path / "dist"), str(cache), str(dest))
    assert done.returncode == 1, done.stderr
    assert (
        done.stdout.strip()
        == f"{dest / 'bigpkg-1.0-py3-none-any.whl'}: cannot write: File too large"
    )
    assert parts_under(cache, dest) == [] and list(dest.iterdir()) == []


def test_a_stale_part_file_of_a_killed_run_is_swept_when_the_wheel_is_downloaded(
    tmp_path: Path,
) -> None:
    """A ``.part`` untouched for hours is a SIGKILLed run's: downloading that wheel again
    removes it. A recent one may be another varwheel's live download: it stays."""
    root = index_of(tmp_path, "demo")
    cache, dest = tmp_path / "cache", tmp_path / "dl"
    with (
        serve_directory(root) as server,
        IndexClient([server.url + "simple/"], cache_dir=cache, retries=0) as client,
    ):
        file = client.project_files("demo")[0]
        assert client.wheel_cache is not None
        entry = client.wheel_cache.path_for(file.url, file.hashes, file.filename)
        assert entry is not None
        entry.parent.mkdir(parents=True)
        stale, live = (entry.parent / f".{entry.name}.{tag}.part" for tag in ("old", "new"))
        for part in (stale, live):
            part.write_bytes(b"PK\x03\x04")
        old = time.time() - STALE_PART_SECONDS - 60
        os.utime(stale, (old, old))
        got = client.download(file, dest)
    assert (
        got.read_bytes() == entry.read_bytes() == (tmp_path / "dist" / file.filename).read_bytes()
    )
    assert not stale.exists() and live.exists()


@pytest.mark.parametrize("small", [True, False], ids=["in-this-thread", "in-workers"])
def test_local_files_are_copied_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: bool
) -> None:
    """A small batch of find-links wheels is copied without worker threads (issue 10: starting
    them cost more than the copies); a large one in workers. Either way a file that cannot be
    read any more fails the batch and leaves nothing in the destination."""
    import varwheel.index.client as client_mod

    if not small:
        monkeypatch.setattr(client_mod, "_SMALL_LOCAL_BATCH", 0)
    links = tmp_path / "links"
    for name in ("apkg", "bpkg", "cpkg"):
        build_wheel(links, name, "1.0")
    dest = tmp_path / "dl"
    pools: list[int] = []
    real_executor = client_mod.DaemonExecutor

    def counting_executor(workers: int, name: str) -> object:
        pools.append(workers)
        return real_executor(workers, name)

    monkeypatch.setattr(client_mod, "DaemonExecutor", counting_executor)
    with IndexClient([], find_links=[links], no_index=True, cache_dir=tmp_path / "c") as client:
        files = [client.project_files(n)[0] for n in ("apkg", "bpkg", "cpkg")]
        got = client.download_many(files, dest)
        assert [p.name for p in got] == [f.filename for f in files]
        assert all(p.read_bytes() == (links / p.name).read_bytes() for p in got)
        assert pools == ([] if small else [3])
        for p in got:
            p.unlink()
        pools.clear()
        (links / files[2].filename).unlink()  # replaced after the listing by something unreadable
        (links / files[2].filename).mkdir()
        with pytest.raises(IndexFetchError, match=r"cpkg-1\.0-py3-none-any\.whl"):
            client.download_many(files, dest)
        assert pools == ([] if small else [3])
    assert list(dest.iterdir()) == [] and parts_under(dest) == []
