"""write_static_index: PEP 503 + PEP 691 pages, PEP 658 metadata, atomic replacement, and real
consumers (our client, pip) reading the result over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.envs import snapshot_tree
from helpers.http_server import serve_directory
from helpers.wheels import build_wheel, variant_json
from index.release import LABELS, build_release
from varwheel.errors import InvalidFilename, InvalidInput, InvalidMetadata, MergeConflict
from varwheel.index import static
from varwheel.index.client import IndexClient
from varwheel.index.models import ROUTE_INDEX
from varwheel.index.static import merge_artifacts, update_index, write_static_index
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


# --- update_index (``varwheel index build``) and merge_artifacts (``varwheel index merge``)


def assert_valid_index(site: Path) -> dict[str, list[str]]:
    """Read ``site`` as a client does (file:// pages, hash-checked files and ``*-variants.json``)
    and return each project's file names."""
    out: dict[str, list[str]] = {}
    root = json.loads((site / "simple" / "index.json").read_text())
    with IndexClient([(site / "simple").as_uri()]) as client:
        for project in (p["name"] for p in root["projects"]):
            files = client.project_files(project)
            for f in files:
                client.fetch(f.url, dict(f.hashes))  # the bytes the page promises
                if f.metadata_url:
                    client.core_metadata(f)
            versions = {f.filename.split("-")[1] for f in files if f.is_wheel}
            for version in versions:
                source = variant_metadata_for(client, project, version, files)
                if source.metadata is not None:
                    assert source.route == ROUTE_INDEX
            out[project] = sorted(f.filename for f in files)
    return out


def test_update_index_adds_a_release_rewriting_only_what_changes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = update_index(build_release(tmp_path / "r1", "1.0"), site)
    assert len(first.added) == 4 and len(first.variants_json) == 1
    listed = assert_valid_index(site)
    assert "vpub-1.0-variants.json" in listed["vpub"]
    before = snapshot_tree(site)
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}

    again = update_index(build_release(tmp_path / "r1", "1.0"), site)  # same bytes: a no-op
    assert again.added == () and again.pages == () and len(again.unchanged) == 4
    assert snapshot_tree(site) == before

    other = build_wheel(tmp_path / "o", "other", "2.0")
    second = update_index([*build_release(tmp_path / "r2", "2.0", build_tag="1"), other], site)
    assert sorted(second.added)[0] == "other-2.0-py3-none-any.whl"
    assert "vpub-2.0-1-py3-none-any-cu12.whl" in second.added  # seven-part names
    after = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    rewritten = {p.relative_to(site).as_posix() for p in stamps if after[p] != stamps[p]}
    # version 1.0's files and variants.json are untouched; only pages change
    assert rewritten == {
        "simple/index.html",
        "simple/index.json",
        "simple/vpub/index.html",
        "simple/vpub/index.json",
    }
    listed = assert_valid_index(site)
    assert {"vpub-1.0-variants.json", "vpub-2.0-variants.json"} <= set(listed["vpub"])
    assert listed["other"] == ["other-2.0-py3-none-any.whl"]


def test_update_index_merges_a_wheel_added_to_a_version(tmp_path: Path) -> None:
    site = tmp_path / "site"
    update_index(build_release(tmp_path / "a", "1.0", labels=("cu12",)), site)
    update_index(build_release(tmp_path / "b", "1.0", labels=("cu13",), plain=False), site)
    with IndexClient([(site / "simple").as_uri()]) as client:
        files = client.project_files("vpub")
        source = variant_metadata_for(client, "vpub", "1.0", files)
    assert source.route == ROUTE_INDEX and source.metadata is not None
    assert sorted(source.metadata.variants) == ["cu12", "cu13"]
    # the superseded merge stays (a client holding the old page still finds it); one is linked
    assert len(list((site / "files" / "variants").glob("*/vpub-1.0-variants.json"))) == 2
    assert sum(f.filename == "vpub-1.0-variants.json" for f in files) == 1


def test_update_index_refuses_inconsistency_and_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    update_index(build_release(tmp_path / "a", "1.0", labels=("cu12",)), site)
    before = snapshot_tree(site)
    # a cu13 wheel of 1.0 declaring another provider for nvidia: the merge fails
    bad_doc = variant_json(
        "cu13", LABELS["cu13"], providers={"nvidia": {"requires": ["somebody-else"]}}
    )
    bad = build_wheel(tmp_path / "bad", "vpub", "1.0", variant=bad_doc)
    fine = build_wheel(tmp_path / "bad", "unrelated", "1.0")
    with pytest.raises(InvalidInput, match=r"vpub 1.0: .*vpub-1.0-py3-none-any-cu1[23].whl"):
        update_index([fine, bad], site)
    # the same file name with other bytes
    other = build_release(tmp_path / "c", "1.0", labels=(), payload=10)[0]
    with pytest.raises(InvalidInput, match=r"already in .* with different content"):
        update_index([other], site)
    # a label that does not match the wheel's variant.json
    renamed = tmp_path / "d" / "vpub-1.0-py3-none-any-cu99.whl"
    renamed.parent.mkdir()
    renamed.write_bytes((tmp_path / "a" / "vpub-1.0-py3-none-any-cu12.whl").read_bytes())
    with pytest.raises(InvalidMetadata, match="cu99"):
        update_index([renamed], site)
    assert snapshot_tree(site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(InvalidInput, match="not empty and not a static index"):
        update_index([fine], tmp_path / "a")


def test_merge_artifacts_is_order_independent(tmp_path: Path) -> None:
    jobs = []
    for i, label in enumerate(("cu12", "cu13", "null")):
        job = tmp_path / f"job{i}"
        build_release(job, "1.0", labels=(label,), plain=(i == 0))
        (job / "build.log").write_text("noise\n")
        jobs.append(job)
    a = merge_artifacts(jobs, tmp_path / "a")
    b = merge_artifacts(list(reversed(jobs)), tmp_path / "b")
    assert snapshot_tree(tmp_path / "a") == snapshot_tree(tmp_path / "b")
    assert a.variants_json == b.variants_json == ("vpub-1.0-variants.json",)
    assert len(a.skipped) == 3
    merged = load_variants_json((tmp_path / "a" / "vpub-1.0-variants.json").read_bytes())
    assert sorted(merged.variants) == ["cu12", "cu13", "null"]
    # the merged set goes into an index unchanged
    update_index([tmp_path / "a"], tmp_path / "site")
    assert len(assert_valid_index(tmp_path / "site")["vpub"]) == 5


def test_merge_artifacts_refuses_conflicting_jobs(tmp_path: Path) -> None:
    build_release(tmp_path / "j1", "1.0", labels=())
    build_release(tmp_path / "j2", "1.0", labels=(), payload=10)  # same name, other bytes
    with pytest.raises(InvalidInput, match=r"j1/vpub-1.0-py3-none-any.whl and .*j2/"):
        merge_artifacts([tmp_path / "j2", tmp_path / "j1"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


_KILL_SCRIPT = """
import sys
from pathlib import Path
from varwheel.index.static import update_index
update_index([Path(sys.argv[1])], Path(sys.argv[2]))
"""


@pytest.mark.slow
def test_killed_update_leaves_the_old_index_valid(tmp_path: Path) -> None:
    """SIGKILL at several points of an update: the index is always the old or the new one."""
    site = tmp_path / "site"
    update_index(build_release(tmp_path / "r1", "1.0", payload=64 * 1024), site)
    old = assert_valid_index(site)
    release = tmp_path / "r2"
    for i in range(6):
        build_release(release, f"2.{i}", payload=2 * 1024 * 1024)
    interrupted = 0
    # first as soon as the first new file lands, then after growing delays
    for delay in (None, 0.05, 0.3, 0.6, 0.9, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(release), str(site)])
        if delay is None:
            while proc.poll() is None and not any((site / "files").glob("vpub-2.*")):
                time.sleep(0.002)
        else:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listed = assert_valid_index(site)
        if listed == old and any((site / "files").glob("vpub-2.*")):
            interrupted += 1  # files were written, pages not yet switched
        assert listed == old or len(listed["vpub"]) == 5 + 6 * 5
        if listed != old:
            break
    assert interrupted >= 1
    update_index([release], site)  # a rerun completes it
    assert len(assert_valid_index(site)["vpub"]) == 5 + 6 * 5


def test_one_writer_at_a_time_and_stale_temps_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    update_index(build_release(tmp_path / "a", "1.0", labels=()), site)
    stale = site / "files" / ".vpub-2.0-py3-none-any.whl.x1y2.tmp"
    stale.write_bytes(b"left by a killed run")
    monkeypatch.setattr(static, "LOCK_TIMEOUT_S", 0.2)
    before = snapshot_tree(site)
    with static.index_lock(site), pytest.raises(static.IndexBusy, match="another varwheel"):
        update_index(build_release(tmp_path / "b", "2.0", labels=()), site)
    assert snapshot_tree(site) == before
    update_index([tmp_path / "b"], site)
    assert not stale.exists()
    assert len(assert_valid_index(site)["vpub"]) == 2


def test_a_given_variants_json_feeds_the_merge(tmp_path: Path) -> None:
    """A *-variants.json among the inputs (variantlib's, an older merge) is merged with the
    wheels, also when the index already lists one for that version."""
    site = tmp_path / "site"
    update_index(build_release(tmp_path / "a", "1.0", labels=("cu12",)), site)
    merge_artifacts([tmp_path / "a"], tmp_path / "m")
    given = tmp_path / "m" / "vpub-1.0-variants.json"
    cu13 = build_release(tmp_path / "b", "1.0", labels=("cu13",), plain=False)
    update_index([given, *cu13], site)  # another vpub-1.0-variants.json than the index's
    with IndexClient([(site / "simple").as_uri()]) as client:
        files = client.project_files("vpub")
        source = variant_metadata_for(client, "vpub", "1.0", files)
    assert source.metadata is not None and sorted(source.metadata.variants) == ["cu12", "cu13"]
    assert [f.filename for f in files].count("vpub-1.0-variants.json") == 1
