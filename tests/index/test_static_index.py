"""write_static_index: PEP 503 + PEP 691 pages, PEP 658 metadata, atomic replacement, and real
consumers (our client, pip) reading the result over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.http_server import serve_directory
from helpers.wheels import build_wheel, variant_json
from varwheel.errors import InvalidFilename, InvalidInput, InvalidMetadata, MergeConflict
from varwheel.index.client import IndexClient
from varwheel.index.models import ROUTE_INDEX
from varwheel.index.static import write_static_index
from varwheel.index.variants import variant_metadata_for
from varwheel.spec.metadata import load_variants_json


def test_layout_metadata_and_hashes(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "Demo.Pkg", "1.0", requires_python=">=3.8,<4")
    sdist = tmp_path / "w" / "demo_pkg-1.0.tar.gz"
    sdist.write_bytes(b"not really a tarball")
    site = write_static_index([wheel, sdist], tmp_path / "site")
    page = (site / "simple" / "demo-pkg" / "index.html").read_text()
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in page
    assert '<meta name="pypi:repository-version" content="1.1">' in page
    md = (site / "files" / f"{wheel.name}.metadata").read_bytes()
    assert md.startswith(b"Metadata-Version: 2.1\nName: Demo.Pkg\n")
    doc = json.loads((site / "simple" / "demo-pkg" / "index.json").read_text())
    assert doc["meta"] == {"api-version": "1.1"} and doc["versions"] == ["1.0"]
    by_name = {f["filename"]: f for f in doc["files"]}
    assert by_name[wheel.name]["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert by_name[wheel.name]["core-metadata"] == {"sha256": hashlib.sha256(md).hexdigest()}
    assert "core-metadata" not in by_name[sdist.name]
    root = json.loads((site / "simple" / "index.json").read_text())
    assert root["projects"] == [{"name": "demo-pkg"}]
    with IndexClient([(site / "simple").as_uri()]) as client:
        files = client.project_files("demo_pkg")
        whl = next(f for f in files if f.is_wheel)
        assert whl.requires_python == ">=3.8,<4"
        assert client.core_metadata(whl) == md  # hash-checked against data-core-metadata


def test_failure_leaves_existing_index_untouched(
    tmp_path: Path, variant_wheels: list[Path], variantlib_outputs_dir: Path
) -> None:
    site = write_static_index(variant_wheels[:2], tmp_path / "site")
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    bad_json = tmp_path / "bigpkg-1.0-variants.json"
    bad_json.write_text('{"$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json"}')
    with pytest.raises(InvalidMetadata):
        write_static_index([*variant_wheels, bad_json], site)
    with pytest.raises(InvalidFilename):
        write_static_index([tmp_path / "not-a-distribution.txt"], site)
    dup = tmp_path / "dup"
    dup.mkdir()
    (dup / variant_wheels[0].name).write_bytes(variant_wheels[0].read_bytes())
    with pytest.raises(InvalidInput, match="same file name"):
        write_static_index([variant_wheels[0], dup / variant_wheels[0].name], site)
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    good = variantlib_outputs_dir / "tinypkg-1.0.0-variants.json"
    write_static_index([*variant_wheels, good], site)  # replaces atomically
    assert (site / "files" / good.name).read_bytes() == good.read_bytes()
    assert good.name in (site / "simple" / "tinypkg" / "index.html").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_pip_downloads_from_the_static_index(tmp_path: Path, variant_wheels: list[Path]) -> None:
    """pip (a real, independent consumer) resolves the page, checks the hash, skips variants."""
    site = write_static_index(variant_wheels, tmp_path / "site")
    with serve_directory(site, json_negotiation=False) as server:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--isolated",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--index-url",
                server.url + "simple/",
                "--dest",
                str(tmp_path / "dl"),
                "bigpkg==1.0",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["bigpkg-1.0-py3-none-any.whl"]


def test_generated_variants_json_matches_variantlib(
    tmp_path: Path, variantlib_outputs_dir: Path
) -> None:
    wheels = sorted((variantlib_outputs_dir / "wheels").glob("*.whl"))
    site = write_static_index(wheels, tmp_path / "site", generate_variants_json=True)
    written = site / "files" / "tinypkg-1.0.0-variants.json"
    ours = load_variants_json(written.read_bytes())
    theirs = load_variants_json(
        (variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes()
    )
    assert dict(ours.variants) == dict(theirs.variants)
    assert dict(ours.providers) == dict(theirs.providers)
    assert (
        "tinypkg-1.0.0-variants.json#sha256="
        in (site / "simple" / "tinypkg" / "index.html").read_text()
    )
    assert not (site / "files" / "toy_variant_provider-0.1.0-variants.json").exists()
    assert not (site / ".generated").exists()
    with IndexClient([(site / "simple").as_uri()]) as client:
        files = client.project_files("tinypkg")
        source = variant_metadata_for(client, "tinypkg", "1.0.0", files)
    assert source.route == ROUTE_INDEX and source.metadata is not None
    assert dict(source.metadata.variants) == dict(theirs.variants)


def test_generation_refuses_conflicting_wheels(tmp_path: Path, variant_wheels: list[Path]) -> None:
    other = variant_json(
        "other", ["toy :: level :: v1"], providers={"toy": {"requires": ["another-provider"]}}
    )
    conflicting = build_wheel(tmp_path / "w", "bigpkg", "1.0", variant=other)
    with pytest.raises(MergeConflict):
        write_static_index(
            [*variant_wheels, conflicting], tmp_path / "site", generate_variants_json=True
        )
    assert not (tmp_path / "site").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
