"""Prefetching: dependency pages and METADATA fetched in the background are used, not refetched."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from helpers.http_server import serve_directory
from resolve.variant_project import profile_session, write_profile, write_site
from varwheel.index.client import IndexClient
from varwheel.install.environment import current_environment


@pytest.mark.parametrize("no_deps", [False, True])
def test_each_file_fetched_once(tmp_path: Path, no_deps: bool) -> None:
    site = write_site(tmp_path / "vdemo")
    profile = write_profile(tmp_path / "gpu.toml", cuda=["12.0"])
    target = current_environment()
    with serve_directory(site) as srv:
        client = IndexClient([srv.url + "simple/"])
        session = profile_session(client, target, profile, no_deps=no_deps)
        res = session.resolve([Requirement("vdemo[fast]")])
        counts = Counter(r.path for r in srv.stats.snapshot())
    names = {p.name for p in res.packages}
    assert names == ({"vdemo"} if no_deps else {"vdemo", "vdemo-cuda-rt", "vdemo-extra-dep"})
    assert counts and max(counts.values()) == 1, counts
    fetched_metadata = [p for p in counts if p.endswith(".metadata")]
    if no_deps:
        assert fetched_metadata == []
    else:
        assert len(fetched_metadata) == 3


def test_local_sources_resolve_without_prefetch_threads(tmp_path: Path) -> None:
    """A find-links directory or a file: index answers at once: no prefetch thread is started
    (they would only contend for the GIL), and the resolution is the one the HTTP index gives."""
    import threading

    from varwheel.resolve.prefetch import Prefetcher

    site = write_site(tmp_path / "vdemo")
    profile = write_profile(tmp_path / "gpu.toml", cuda=["12.0"])
    target = current_environment()
    started: list[str] = []
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    local = IndexClient([(site / "simple").as_uri()])
    session = profile_session(local, target, profile)
    assert isinstance(session._prefetcher, Prefetcher)
    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        res = session.resolve([Requirement("vdemo[fast]")])
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert not [n for n in started if n == "varwheel-prefetch"]
    with serve_directory(site) as srv:
        remote = profile_session(IndexClient([srv.url + "simple/"]), target, profile)
        expected = remote.resolve([Requirement("vdemo[fast]")])
    assert [(p.name, p.candidate.version, p.candidate.label) for p in res.packages] == [
        (p.name, p.candidate.version, p.candidate.label) for p in expected.packages
    ]
