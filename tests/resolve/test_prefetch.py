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
