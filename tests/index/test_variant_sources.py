"""variant_metadata_for: index ``*-variants.json`` vs per-wheel ``variant.json`` (range requests,
whole downloads, local files), over real loopback HTTP servers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from varwheel.errors import HashMismatch, InvalidMetadata
from varwheel.index.client import IndexClient
from varwheel.index.models import (
    ROUTE_INDEX,
    ROUTE_LOCAL,
    ROUTE_NONE,
    ROUTE_RANGE,
    ROUTE_WHOLE,
    IndexFile,
)
from varwheel.index.static import write_static_index
from varwheel.index.variants import find_variants_json, variant_metadata_for
from varwheel.spec.metadata import load_variants_json


@pytest.fixture
def tinypkg_wheels(variantlib_outputs_dir: Path) -> list[Path]:
    return sorted((variantlib_outputs_dir / "wheels").glob("tinypkg-*.whl"))


def test_real_index_variants_json(real_index_server: LocalServer, real_index_dir: Path) -> None:
    with IndexClient([real_index_server.url], retries=0) as client:
        files = client.project_files("torch")
        source = variant_metadata_for(client, "torch", "2.9.0", files)
    assert source.route == ROUTE_INDEX
    assert source.detail == f"{real_index_server.url}torch/torch-2.9.0-variants.json"
    expected = load_variants_json(
        (real_index_dir / "torch" / "torch-2.9.0-variants.json").read_bytes()
    )
    assert source.metadata is not None
    assert dict(source.metadata.variants) == dict(expected.variants)
    assert len(source.metadata.variants) == 7 and len(source.metadata.providers) == 4


def test_version_without_variant_wheels(real_index_server: LocalServer) -> None:
    with IndexClient([real_index_server.url], retries=0) as client:
        files = client.project_files("torch")
        source = variant_metadata_for(client, "torch", "2.9.1", files)
    assert source == source.__class__(None, ROUTE_NONE)


def _same_metadata(a, b) -> None:  # type: ignore[no-untyped-def]
    assert dict(a.variants) == dict(b.variants)
    assert dict(a.providers) == dict(b.providers)
    assert a.namespace_priorities == b.namespace_priorities


def test_per_wheel_merge_equals_variantlib_index_file(
    tmp_path: Path, tinypkg_wheels: list[Path], variantlib_outputs_dir: Path
) -> None:
    site = write_static_index(tinypkg_wheels, tmp_path / "site")
    expected = load_variants_json(
        (variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes()
    )
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        source = variant_metadata_for(client, "tinypkg", "1.0.0", client.project_files("tinypkg"))
    assert source.route == ROUTE_RANGE
    assert source.metadata is not None
    _same_metadata(source.metadata, expected)
    assert set(source.detail.split(", ")) == {
        w.name for w in tinypkg_wheels if w.name.count("-") == 5
    }


def test_range_route_reads_a_fraction_of_each_wheel(
    tmp_path: Path, variant_wheels: list[Path], payload_size: int
) -> None:
    site = write_static_index(variant_wheels, tmp_path / "site")
    labelled = [w for w in variant_wheels if w.name.count("-") == 5]
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        source = variant_metadata_for(client, "bigpkg", "1.0", client.project_files("bigpkg"))
        assert source.route == ROUTE_RANGE
        for wheel in labelled:
            path = f"/files/{wheel.name}"
            assert server.stats.count(path, status=206) >= 1
            assert server.stats.count(path, status=200) == 0
            assert server.stats.bytes_for(path) < 40 * 1024 < payload_size
        assert server.stats.count(f"/files/{variant_wheels[0].name}") == 0  # plain wheel unread
    assert source.metadata is not None
    assert set(source.metadata.variants) == {"null", "x86_v4", "mkl", "v2_cuda_openblas"}


def test_server_without_range_support_falls_back_to_whole_downloads(
    tmp_path: Path, variant_wheels: list[Path]
) -> None:
    site = write_static_index(variant_wheels, tmp_path / "site")
    cache = tmp_path / "cache"
    labelled = [w for w in variant_wheels if w.name.count("-") == 5]
    with serve_directory(site, range_support=False) as server:
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            files = client.project_files("bigpkg")
            source = variant_metadata_for(client, "bigpkg", "1.0", files)
        assert source.route == ROUTE_WHOLE
        for wheel in labelled:
            assert server.stats.bytes_for(f"/files/{wheel.name}") == wheel.stat().st_size
        served = server.stats.total_bytes
        # the whole downloads were hash-checked and cached: installing one costs no request
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            again = variant_metadata_for(client, "bigpkg", "1.0", files)
            path = client.download(
                next(f for f in files if f.filename == labelled[0].name), tmp_path
            )
        assert path.read_bytes() == labelled[0].read_bytes()
        page_bytes = server.stats.total_bytes - served
        assert page_bytes < 10 * 1024  # only the (revalidated) project page
    assert again.metadata == source.metadata


def test_find_links_directory_reads_local_wheels(tinypkg_wheels: list[Path]) -> None:
    with IndexClient(no_index=True, find_links=[tinypkg_wheels[0].parent]) as client:
        files = client.project_files("tinypkg")
        source = variant_metadata_for(client, "tinypkg", "1.0.0", files)
    assert source.route == ROUTE_LOCAL
    assert source.metadata is not None and "x86_v4" in source.metadata.variants


def test_index_variants_json_preferred_and_hash_checked(
    tmp_path: Path, tinypkg_wheels: list[Path], variantlib_outputs_dir: Path
) -> None:
    vj = variantlib_outputs_dir / "tinypkg-1.0.0-variants.json"
    site = write_static_index([*tinypkg_wheels, vj], tmp_path / "site")
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        files = client.project_files("tinypkg")
        vfile = next(f for f in files if f.filename == vj.name)
        assert vfile.sha256
        source = variant_metadata_for(client, "TinyPkg", "1.0", files)  # normalised lookups
        assert source.route == ROUTE_INDEX
        assert all(r.path.endswith((".json", "/")) for r in server.stats.snapshot())
    assert source.metadata is not None and len(source.metadata.variants) == 5


def test_malformed_index_variants_json_names_url(tmp_path: Path) -> None:
    page = tmp_path / "simple" / "badpkg"
    page.mkdir(parents=True)
    (page / "badpkg-1.0-variants.json").write_text('{"variants": ')
    (page / "index.html").write_text(
        '<a href="badpkg-1.0-variants.json">badpkg-1.0-variants.json</a>'
    )
    with serve_directory(tmp_path) as server, IndexClient([server.url + "simple/"]) as client:
        files = client.project_files("badpkg")
        with pytest.raises(InvalidMetadata) as err:
            variant_metadata_for(client, "badpkg", "1.0", files)
    assert f"{server.url}simple/badpkg/badpkg-1.0-variants.json" in str(err.value)


def test_variant_json_label_must_match_filename(tmp_path: Path) -> None:
    doc = variant_json("mkl", ["blas :: library :: mkl"], providers={"blas": {"requires": ["b"]}})
    build_wheel(tmp_path / "w", "liar", "1.0", variant=doc, label="openblas")
    with IndexClient(no_index=True, find_links=[tmp_path / "w"]) as client:
        files = client.project_files("liar")
        with pytest.raises(InvalidMetadata) as err:
            variant_metadata_for(client, "liar", "1.0", files)
    assert "liar-1.0-py3-none-any-openblas.whl" in str(err.value)
    assert "'openblas'" in str(err.value) and "mkl" in str(err.value)


def test_labelled_wheel_without_variant_json(tmp_path: Path) -> None:
    plain = build_wheel(tmp_path / "w", "hollow", "1.0")
    shutil.move(plain, tmp_path / "w" / "hollow-1.0-py3-none-any-x1.whl")
    site = write_static_index((tmp_path / "w").iterdir(), tmp_path / "site")
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        files = client.project_files("hollow")
        with pytest.raises(InvalidMetadata) as err:
            variant_metadata_for(client, "hollow", "1.0", files)
    assert "hollow-1.0-py3-none-any-x1.whl" in str(err.value)
    assert "no *.dist-info/variant.json" in str(err.value)


def test_index_variants_json_with_wrong_published_hash(
    tmp_path: Path, variantlib_outputs_dir: Path
) -> None:
    vj = variantlib_outputs_dir / "tinypkg-1.0.0-variants.json"
    page = tmp_path / "simple" / "tinypkg"
    page.mkdir(parents=True)
    shutil.copy(vj, page)
    (page / "index.html").write_text(f'<a href="{vj.name}#sha256={"0" * 64}">{vj.name}</a>')
    with serve_directory(tmp_path) as server, IndexClient([server.url + "simple/"]) as client:
        files = client.project_files("tinypkg")
        with pytest.raises(HashMismatch) as err:
            variant_metadata_for(client, "tinypkg", "1.0.0", files)
    assert vj.name in str(err.value) and "0" * 64 in str(err.value)


def test_variants_json_of_another_project_or_version_is_never_used() -> None:
    def files(*names: str) -> list[IndexFile]:
        return [IndexFile(n, f"http://127.0.0.1:9/files/{n}") for n in names]

    decoys = files(
        "other-1.0-variants.json",
        "demo_pkg-2.0-variants.json",
        "demo_pkg-1.0.post1-variants.json",
        "demo_pkg-1.0+local-variants.json",
        "demo_pkg_extra-1.0-variants.json",
    )
    assert find_variants_json(decoys, "demo-pkg", Version("1.0")) is None
    (mine,) = files("Demo.Pkg-1.0.0-variants.json")  # same project and version, unnormalised
    assert find_variants_json([*decoys, mine], "demo-pkg", Version("1.0")) == mine
