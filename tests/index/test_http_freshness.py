"""HTTP cache freshness (``index/cache.py``, ``index/http.py``): pages and ``*-variants.json``
served from the cache while ``Cache-Control: max-age`` says they are fresh, revalidated when
stale, on ``no-cache`` or with ``refresh``; ``no-store`` never kept. Requests are counted on a
real server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers.http_server import serve_directory
from varwheel.index.cache import HttpCache, freshness
from varwheel.index.client import IndexClient
from varwheel.index.http import HttpSession
from varwheel.index.static import write_static_index


def _site(tmp_path: Path) -> Path:
    page = tmp_path / "site" / "simple" / "demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text('<a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a>\n')
    return tmp_path / "site"


def _get(cache: HttpCache, url: str, *, refresh: bool = False) -> bool:
    session = HttpSession(cache=cache, refresh=refresh)  # a new session, as a new process
    try:
        resp = session.get(url, use_cache=True)
    finally:
        session.close()
    assert resp.status == 200 and b"demo-1.0" in resp.body
    return resp.from_cache


def test_a_fresh_page_is_served_without_a_request(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path / "http")
    with serve_directory(_site(tmp_path), cache_control="max-age=600, public") as server:
        url = server.url + "simple/demo/"
        assert _get(cache, url) is False
        assert _get(cache, url) is True
        assert _get(cache, url) is True
        assert server.stats.count("/simple/demo/") == 1


def test_refresh_revalidates_a_fresh_page(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path / "http")
    with serve_directory(_site(tmp_path), cache_control="max-age=600") as server:
        url = server.url + "simple/demo/"
        _get(cache, url)
        assert _get(cache, url, refresh=True) is True  # the 304 reuses the body
        assert server.stats.count("/simple/demo/", status=304) == 1
        assert server.stats.count("/simple/demo/") == 2


def test_a_stale_page_is_revalidated_and_fresh_again(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path / "http")
    with serve_directory(_site(tmp_path), cache_control="max-age=600") as server:
        url = server.url + "simple/demo/"
        _get(cache, url)
        entry = cache.load(url)
        assert entry is not None and entry.is_fresh()
        # the same entry, stored 601 s ago: stale now
        cache.store(
            url,
            entry.body,
            {"etag": entry.etag or "", "cache-control": "max-age=600"},
            now=time.time() - 601,
        )
        assert not cache.load(url).is_fresh()  # type: ignore[union-attr]
        _get(cache, url)
        assert server.stats.count("/simple/demo/", status=304) == 1
        _get(cache, url)  # the 304's max-age made it fresh again
        assert server.stats.count("/simple/demo/") == 2


@pytest.mark.parametrize("header", [None, "no-cache", "max-age=0", "max-age=600, no-cache"])
def test_without_a_positive_max_age_every_use_revalidates(
    tmp_path: Path, header: str | None
) -> None:
    cache = HttpCache(tmp_path / "http")
    with serve_directory(_site(tmp_path), cache_control=header) as server:
        url = server.url + "simple/demo/"
        for _ in range(3):
            _get(cache, url)
        assert server.stats.count("/simple/demo/", status=304) == 2
        assert server.stats.count("/simple/demo/", status=200) == 1


def test_no_store_is_never_kept(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path / "http")
    with serve_directory(_site(tmp_path), cache_control="max-age=600") as server:
        url = server.url + "simple/demo/"
        _get(cache, url)
        server.options.cache_control = "no-store"
        _get(cache, url, refresh=True)  # a 304 marked no-store: the entry is dropped
        assert cache.load(url) is None
        assert _get(cache, url) is False
        assert _get(cache, url) is False  # that 200 was not kept either
        assert cache.load(url) is None
        assert server.stats.count("/simple/demo/", status=200) == 3


def test_age_counts_against_max_age() -> None:
    assert freshness({"cache-control": "max-age=600"}) == 600
    assert freshness({"cache-control": "max-age=600", "age": "100"}) == 500
    assert freshness({"cache-control": "max-age=600", "age": "700"}) is None
    assert freshness({"cache-control": "max-age=soon"}) is None
    assert freshness({"cache-control": "max-age=" + "9" * 40}) is None
    assert freshness({"cache-control": "MAX-AGE=5"}) == 5


def test_index_pages_and_variants_json_come_from_the_cache_while_fresh(
    tmp_path: Path, variant_wheels: list[Path]
) -> None:
    site = write_static_index(variant_wheels, tmp_path / "site", generate_variants_json=True)
    (variants,) = list(site.rglob("*-variants.json"))
    cache_dir = tmp_path / "cache"
    with serve_directory(site, cache_control="max-age=600") as server:
        for _ in range(2):  # two clients: as two varwheel runs
            with IndexClient([server.url + "simple/"], cache_dir=cache_dir) as client:
                files = client.project_files("bigpkg")
                (vfile,) = [f for f in files if f.filename.endswith("-variants.json")]
                assert client.fetch(vfile.url, vfile.hashes) == variants.read_bytes()
        assert server.stats.count("/simple/bigpkg/") == 1
        assert server.stats.count(f"/files/{variants.name}") == 1
