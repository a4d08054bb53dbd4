"""A real pypiserver on 127.0.0.1: it serves variant wheels but cannot host ``*-variants.json``,
so variant metadata must come from the wheels (range requests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from helpers.http_server import free_port
from varwheel.index.client import IndexClient
from varwheel.index.models import ROUTE_RANGE
from varwheel.index.variants import variant_metadata_for
from varwheel.spec.metadata import load_variants_json

pytestmark = pytest.mark.slow


@pytest.fixture
def pypiserver(tmp_path: Path, variantlib_outputs_dir: Path) -> Iterator[str]:
    packages = tmp_path / "packages"
    packages.mkdir()
    for wheel in (variantlib_outputs_dir / "wheels").glob("*.whl"):
        shutil.copy(wheel, packages)
    shutil.copy(variantlib_outputs_dir / "tinypkg-1.0.0-variants.json", packages)
    exe = Path(sys.executable).with_name("pypi-server")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "run", "-p", str(port), "-i", "127.0.0.1", "--disable-fallback", str(packages)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/simple/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if urllib3.request("GET", url, retries=False, timeout=1).status == 200:
                    break
            except urllib3.exceptions.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("pypiserver did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_variant_wheels_via_pypiserver(pypiserver: str, variantlib_outputs_dir: Path) -> None:
    with IndexClient([pypiserver], retries=0) as client:
        files = client.project_files("tinypkg")
        names = sorted(f.filename for f in files)
        assert names == sorted(
            p.name for p in (variantlib_outputs_dir / "wheels").glob("tinypkg-*")
        )
        assert not any(n.endswith("-variants.json") for n in names)  # pypiserver cannot list it
        assert all(f.sha256 for f in files)
        source = variant_metadata_for(client, "tinypkg", "1.0.0", files)
        assert client.project_files("no-such-project") == ()
    expected = load_variants_json(
        (variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes()
    )
    assert source.route == ROUTE_RANGE
    assert source.metadata is not None
    assert dict(source.metadata.variants) == dict(expected.variants)
    assert dict(source.metadata.providers) == dict(expected.providers)
