"""On-disk HTTP and wheel caches: atomic entries, torn or foreign entries read as misses."""

from __future__ import annotations

from pathlib import Path

from helpers.http_server import serve_directory
from varwheel.index.cache import HttpCache, WheelCache
from varwheel.index.client import IndexClient
from varwheel.index.static import write_static_index


def test_http_cache_round_trip_and_damage(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path)
    url = "http://127.0.0.1:1/simple/a/"
    cache.store(url, b"body", {"etag": '"x"', "content-type": "text/html"})
    hit = cache.load(url)
    assert hit is not None and hit.body == b"body" and hit.validators() == {"If-None-Match": '"x"'}
    cache.store("http://127.0.0.1:1/plain", b"b", {"content-type": "text/html"})
    assert cache.load("http://127.0.0.1:1/plain") is None  # no validator: not cached
    (entry,) = [p for p in tmp_path.rglob("*") if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:-2])  # torn write
    assert cache.load(url) is None
    entry.write_bytes(b"garbage")
    assert cache.load(url) is None
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary files left


def test_wheel_cache_keys_need_a_hash(tmp_path: Path) -> None:
    cache = WheelCache(tmp_path)
    assert cache.path_for("http://h/a.whl", {}, "a.whl") is None
    one = cache.path_for("http://h/a.whl", {"sha256": "aa"}, "a.whl")
    assert one is not None and one.name == "a.whl"
    assert one != cache.path_for("http://h/a.whl", {"sha256": "bb"}, "a.whl")
    assert one != cache.path_for("http://other/a.whl", {"sha256": "aa"}, "a.whl")


def test_corrupt_cached_wheel_is_downloaded_again(
    tmp_path: Path, variant_wheels: list[Path]
) -> None:
    site = write_static_index(variant_wheels[:1], tmp_path / "site")
    cache_dir = tmp_path / "cache"
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"], cache_dir=cache_dir) as client:
            (file,) = client.project_files("bigpkg")
            client.download(file, tmp_path / "a")
            entry = client.wheel_cache.path_for(file.url, file.hashes, file.filename)  # type: ignore[union-attr]
            assert entry is not None and entry.is_file()
            entry.write_bytes(b"tampered")
            path = client.download(file, tmp_path / "b")
        assert path.read_bytes() == variant_wheels[0].read_bytes()
        assert server.stats.count(f"/files/{file.filename}") == 2
        assert entry.read_bytes() == variant_wheels[0].read_bytes()  # repaired


def test_an_unwritable_cache_only_loses_entries(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "simple" / "demo").mkdir(parents=True)
    (site / "simple" / "demo" / "index.html").write_text('<a href="demo-1.0.tar.gz">d</a>')
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # the cache lives "under a file": every write fails
    with (
        serve_directory(site) as server,
        IndexClient([server.url + "simple/"], cache_dir=blocker / "cache") as client,
    ):
        assert [f.filename for f in client.project_files("demo")] == ["demo-1.0.tar.gz"]
