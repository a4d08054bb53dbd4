"""IndexClient against real HTTP servers on 127.0.0.1: the published WheelNext index and static
indexes written by ``write_static_index`` from real wheels."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.http_server import LocalServer, free_port, serve_directory
from varwheel.errors import HashMismatch, IndexFetchError, InvalidIndexPage, InvalidInput
from varwheel.index.client import UNSAFE_BEST_MATCH, IndexClient
from varwheel.index.models import IndexFile, ProgressEvent
from varwheel.index.static import write_static_index


@pytest.fixture
def site(tmp_path: Path, variant_wheels: list[Path]) -> Path:
    return write_static_index(variant_wheels, tmp_path / "site")


def test_real_torch_page_lists_wheels_and_variants_json(real_index_server: LocalServer) -> None:
    with IndexClient([real_index_server.url], retries=0) as client:
        files = client.project_files("Torch")  # PEP 503 normalisation of the request
    names = [f.filename for f in files]
    assert len(names) == 908  # 906 wheels + 2 variants.json; navigation links dropped
    assert sum(n.endswith(".whl") for n in names) == 906
    vj = next(f for f in files if f.filename == "torch-2.9.0-variants.json")
    assert vj.url == f"{real_index_server.url}torch/torch-2.9.0-variants.json"
    assert vj.hashes == {
        "sha256": "54f0d0be70c4b686652352f9e51561af91f393f30d519c55a8fdf5dbfa075442"
    }
    wheel = next(f for f in files if f.filename == "torch-2.9.1-cp314-cp314t-win_amd64.whl")
    assert wheel.url.startswith("https://files.pythonhosted.org/packages/db/2b/")
    assert "#" not in wheel.url and wheel.sha256 and wheel.index == real_index_server.url


def test_fetch_checks_the_published_hash(
    real_index_server: LocalServer, real_index_dir: Path
) -> None:
    with IndexClient([real_index_server.url], retries=0) as client:
        vj = next(
            f for f in client.project_files("torch") if f.filename.endswith("2.9.0-variants.json")
        )
        data = client.fetch(vj.url, dict(vj.hashes))
        assert data == (real_index_dir / "torch" / "torch-2.9.0-variants.json").read_bytes()
        with pytest.raises(HashMismatch) as err:
            client.fetch(vj.url, {"sha256": "0" * 64})
    msg = str(err.value)
    assert "torch-2.9.0-variants.json" in msg and "0" * 64 in msg
    assert hashlib.sha256(data).hexdigest() in msg


def test_missing_project_is_empty_and_error_statuses_raise(real_index_server: LocalServer) -> None:
    with IndexClient([real_index_server.url], retries=0) as client:
        assert client.project_files("no-such-project") == ()
    real_index_server.fail("/numpy/", 500)
    with (
        IndexClient([real_index_server.url], retries=0) as client,
        pytest.raises(IndexFetchError) as err,
    ):
        client.project_files("numpy")
    assert "numpy/" in str(err.value) and "500" in str(err.value)


def test_retries_server_errors_with_backoff(real_index_server: LocalServer) -> None:
    real_index_server.fail("/scipy/", 503, times=2)
    before = real_index_server.stats.count("/scipy/", status=503)
    with IndexClient([real_index_server.url], retries=3, backoff=0.01) as client:
        assert client.project_files("scipy")
    assert real_index_server.stats.count("/scipy/", status=503) - before == 2


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/simple/"
    with IndexClient([url], retries=0, timeout=2) as client, pytest.raises(IndexFetchError) as err:
        client.project_files("anything")
    assert url in str(err.value) and "refused" in str(err.value).lower()


def test_json_negotiation_and_html_give_the_same_files(site: Path) -> None:
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"]) as client:
            from_json = client.project_files("bigpkg")
        (served,) = [r for r in server.stats.snapshot() if r.path == "/simple/bigpkg/"]
        assert "application/vnd.pypi.simple.v1+json" in served.headers["accept"]
        server.options.json_negotiation = False
        with IndexClient([server.url + "simple/"]) as client:
            from_html = client.project_files("bigpkg")
    assert len(from_json) == 5
    strip = [replace(f, size=None) for f in from_json]  # HTML pages carry no size
    assert strip == list(from_html)
    assert all(f.metadata_url == f.url + ".metadata" and f.metadata_hashes for f in from_json)
    assert all(f.size == (site / "files" / f.filename).stat().st_size for f in from_json)


def test_file_url_index(site: Path) -> None:
    with IndexClient([str(site / "simple")]) as client:  # a plain path works too
        assert client.index_urls == ((site / "simple").as_uri() + "/",)
        files = client.project_files("BigPkg")
        assert len(files) == 5
        md = client.core_metadata(files[0])
    assert md.startswith(b"Metadata-Version: 2.1\nName: bigpkg\n")


def test_etag_revalidation_reuses_cached_page(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serve_directory(site) as server:
        url = server.url + "simple/"
        with IndexClient([url], cache_dir=cache) as client:
            first = client.project_files("bigpkg")
        with IndexClient([url], cache_dir=cache) as client:
            second = client.project_files("bigpkg")
        assert server.stats.count("/simple/bigpkg/", status=200) == 1
        assert server.stats.count("/simple/bigpkg/", status=304) == 1
        (revalidation,) = [r for r in server.stats.snapshot() if r.status == 304]
        assert revalidation.headers["if-none-match"].startswith('"')
        server.options.conditional = False  # no validators: nothing cached, full fetch
    assert first == second


def test_last_modified_revalidation(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serve_directory(site) as server:
        for _ in range(2):
            with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
                client.fetch(server.url + "files/bigpkg-1.0-py3-none-any.whl.metadata")
        (second,) = [r for r in server.stats.snapshot() if r.status == 304]
        assert "if-modified-since" in second.headers


def test_changed_page_replaces_cache_entry(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    page = site / "simple" / "bigpkg" / "index.json"
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            assert len(client.project_files("bigpkg")) == 5
        doc = json.loads(page.read_text())
        doc["files"] = doc["files"][:2]
        page.write_text(json.dumps(doc))
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            assert len(client.project_files("bigpkg")) == 2
        assert server.stats.count("/simple/bigpkg/", status=200) == 2


def test_malformed_json_page_names_url(tmp_path: Path) -> None:
    root = tmp_path / "simple" / "broken"
    root.mkdir(parents=True)
    (root / "index.json").write_text('{"meta": {"api-version": "1.0"}, "files": [')
    with (
        serve_directory(tmp_path) as server,
        IndexClient([server.url + "simple/"]) as client,
        pytest.raises(InvalidIndexPage) as err,
    ):
        client.project_files("broken")
    assert f"{server.url}simple/broken/" in str(err.value) and "not valid JSON" in str(err.value)


def test_unsupported_api_major_version(tmp_path: Path) -> None:
    root = tmp_path / "simple" / "future"
    root.mkdir(parents=True)
    (root / "index.html").write_text(
        '<meta name="pypi:repository-version" content="2.0"><a href="future-1.0.tar.gz">x</a>'
    )
    with (
        IndexClient([(tmp_path / "simple").as_uri()]) as client,
        pytest.raises(InvalidIndexPage) as err,
    ):
        client.project_files("future")
    assert "unsupported simple API version '2.0'" in str(err.value)


def test_traversal_filenames_are_rejected(tmp_path: Path) -> None:
    root = tmp_path / "simple" / "evil"
    root.mkdir(parents=True)
    (root / "index.html").write_text(
        '<a href="..%2F..%2Fevil-1.0-py3-none-any.whl">a</a>\n'
        '<a href="../../files/evil-1.0.tar.gz#sha256=' + "a" * 64 + '">b</a>\n'
        '<a href="%2Ftmp%2Fevil-2.0.tar.gz">c</a>\n'
    )
    (root / "index.json").write_text(
        json.dumps(
            {
                "meta": {"api-version": "1.1"},
                "files": [{"filename": "../../evil-3.0.tar.gz", "url": "x.tar.gz", "hashes": {}}],
            }
        )
    )
    with serve_directory(tmp_path, json_negotiation=False) as server:
        with IndexClient([server.url + "simple/"]) as client:
            files = client.project_files("evil")
            warnings = client.warnings
        assert [f.filename for f in files] == ["evil-1.0.tar.gz"]  # ../../ in a URL path is fine
        assert len(warnings) == 2 and all("not a plain file name" in w for w in warnings)
        server.options.json_negotiation = True
        with IndexClient([server.url + "simple/"]) as client:
            assert client.project_files("evil") == ()
            assert "'../../evil-3.0.tar.gz'" in client.warnings[0]
    bad = IndexFile("../x.whl", "http://127.0.0.1:1/x.whl")
    with IndexClient(no_index=True) as client, pytest.raises(IndexFetchError, match="refusing"):
        client.download(bad, tmp_path / "dl")
    assert not (tmp_path / "x.whl").exists()


def test_download_many_parallel_hash_checked_and_cached(
    site: Path, tmp_path: Path, variant_wheels: list[Path]
) -> None:
    cache = tmp_path / "cache"
    events: list[ProgressEvent] = []
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"], cache_dir=cache, max_workers=4) as client:
            files = [f for f in client.project_files("bigpkg") if f.is_wheel]
            paths = client.download_many(files, tmp_path / "dl", progress=events.append)
        assert [p.name for p in paths] == [f.filename for f in files]
        for p in paths:
            assert p.read_bytes() == (site / "files" / p.name).read_bytes()
        assert sorted(e.file.filename for e in events if e.done) == sorted(p.name for p in paths)
        assert all(e.total == e.file.size for e in events if not e.done)
        wheel_requests = sum(server.stats.count(f"/files/{f.filename}") for f in files)
        assert wheel_requests == 5
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            again = client.download_many(client.project_files("bigpkg"), tmp_path / "dl2")
        assert sum(server.stats.count(f"/files/{f.filename}") for f in files) == 5  # cache hits
        assert {p.name for p in again} == {p.name for p in paths}
    assert not list((tmp_path / "dl").glob(".*"))  # no temporary files left


def test_hash_mismatch_on_download_leaves_nothing(site: Path, tmp_path: Path) -> None:
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        files = [f for f in client.project_files("bigpkg") if f.is_wheel]
        bad = replace(files[2], hashes={"sha256": "f" * 64})
        with pytest.raises(HashMismatch) as err:
            client.download_many([files[0], files[1], bad, files[3]], tmp_path / "dl")
    assert bad.filename in str(err.value) and "f" * 64 in str(err.value)
    assert list((tmp_path / "dl").iterdir()) == []  # all or nothing


def test_first_index_wins_unless_best_match(tmp_path: Path, variant_wheels: list[Path]) -> None:
    first = write_static_index(variant_wheels[:1], tmp_path / "first")
    second = write_static_index(variant_wheels[1:], tmp_path / "second")
    with serve_directory(first) as a, serve_directory(second) as b:
        urls = dict(index_urls=[a.url + "simple/"], extra_index_urls=[b.url + "simple/"])
        with IndexClient(**urls) as client:
            assert [f.filename for f in client.project_files("bigpkg")] == [variant_wheels[0].name]
        assert b.stats.count() == 0  # never consulted: no dependency confusion
        with IndexClient(**urls, index_strategy=UNSAFE_BEST_MATCH) as client:
            assert len(client.project_files("bigpkg")) == 5
        a.fail("/simple/bigpkg/", 500)
        with IndexClient(**urls, retries=0) as client, pytest.raises(IndexFetchError):
            client.project_files("bigpkg")
        a.fail("/simple/bigpkg/", 500)
        with IndexClient(**urls, retries=0, index_strategy=UNSAFE_BEST_MATCH) as client:
            assert len(client.project_files("bigpkg")) == 4
            assert "HTTP 500" in client.warnings[0]


def test_find_links_directory_and_page(
    tmp_path: Path, site: Path, variant_wheels: list[Path]
) -> None:
    wheel_dir = variant_wheels[0].parent
    with IndexClient(no_index=True, find_links=[wheel_dir]) as client:
        files = client.project_files("bigpkg")
        assert {f.filename for f in files} == {w.name for w in variant_wheels}
        assert all(f.url.startswith("file://") and f.size for f in files)
        assert client.project_files("other") == ()
        path = client.download(files[0], tmp_path / "dl")
        assert path.read_bytes() == (wheel_dir / files[0].filename).read_bytes()
    with serve_directory(site, json_negotiation=False) as server:
        page = server.url + "simple/bigpkg/"
        with IndexClient(no_index=True, find_links=[page]) as client:
            assert len(client.project_files("bigpkg")) == 5
            assert client.project_files("bigpkg-other") == ()
        assert server.stats.count("/simple/bigpkg/") == 1  # read once per client
    with IndexClient(no_index=True, find_links=[tmp_path / "nope"]) as client:
        # a missing location is ignored with a warning, as pip does
        assert client.project_files("bigpkg") == ()
        assert any("nope is ignored" in w for w in client.warnings)


def test_redirected_page_resolves_links_against_final_url(site: Path) -> None:
    with serve_directory(site, json_negotiation=False) as server:
        page = server.url + "simple/bigpkg"  # the server answers 301 -> .../bigpkg/
        with IndexClient(no_index=True, find_links=[page], retries=0) as client:
            files = client.project_files("bigpkg")
        assert server.stats.count("/simple/bigpkg", status=301) == 1
    assert len(files) == 5
    assert all(f.url.startswith(server.url + "files/") for f in files)


def test_project_pages_are_read_once(real_index_server: LocalServer) -> None:
    names = ["numpy", "scipy", "cupy", "xgboost", "no-such-project", "NumPy"]
    with IndexClient([real_index_server.url], retries=0, max_workers=4) as client:
        real_index_server.stats.clear()
        for name in names:
            client.project_files(name)
        assert real_index_server.stats.count() == 5
        assert client.project_files("numpy") and client.project_files("no-such-project") == ()
        assert real_index_server.stats.count() == 5  # memoised, 404 included


def test_find_links_local_html_file(tmp_path: Path, variant_wheels: list[Path]) -> None:
    links = tmp_path / "links.html"
    links.write_text(
        "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in variant_wheels)
        + '<a href="unrelated-1.0.tar.gz">u</a>'
    )
    with IndexClient(no_index=True, find_links=[links]) as client:
        files = client.project_files("bigpkg")
    assert sorted(f.filename for f in files) == sorted(w.name for w in variant_wheels)


def test_gzip_compressed_pages(real_index_dir: Path) -> None:
    with serve_directory(real_index_dir, gzip_pages=True) as server:
        with IndexClient([server.url], retries=0) as client:
            files = client.project_files("torch")
        (page,) = [r for r in server.stats.snapshot() if r.path == "/torch/"]
    assert len(files) == 908
    assert page.bytes_sent < (real_index_dir / "torch" / "index.html").stat().st_size / 5


def test_unknown_index_strategy_is_a_user_error() -> None:
    with pytest.raises(InvalidInput, match="first-index, unsafe-best-match"):
        IndexClient(index_strategy="best")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://user:secret@[::1/simple/", "not a valid URL"),
        ("ftp://example.com/simple/", "http://, https:// or file:"),
        ("ht!tp://example.com/simple/", "http://, https:// or file:"),
    ],
)
def test_malformed_index_urls_are_user_errors(url: str, message: str) -> None:
    for kwargs in ({"index_urls": [url]}, {"extra_index_urls": [url]}, {"find_links": [url]}):
        with pytest.raises(InvalidInput, match=message) as err:
            IndexClient(**kwargs)  # type: ignore[arg-type]
        assert "secret" not in str(err.value)


def test_unresponsive_server_times_out() -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
        with (
            IndexClient([url], retries=0, timeout=0.3) as client,
            pytest.raises(IndexFetchError) as err,
        ):
            client.project_files("slow")
    assert url in str(err.value) and "timed out" in str(err.value).lower()


def test_download_retries_server_errors(site: Path, tmp_path: Path) -> None:
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"], backoff=0.01) as client:
            file = next(f for f in client.project_files("bigpkg") if f.is_wheel)
            server.fail(f"/files/{file.filename}", 503, times=2)
            path = client.download(file, tmp_path)
        assert server.stats.count(f"/files/{file.filename}", status=503) == 2
    assert path.read_bytes() == (site / "files" / file.filename).read_bytes()


def test_credentials_in_index_url_are_sent_but_never_shown(site: Path, tmp_path: Path) -> None:
    with serve_directory(site, basic_auth=("alice", "s3cr@t")) as server:
        secret_url = server.url.replace("http://", "http://alice:s3cr%40t@") + "simple/"
        with IndexClient([secret_url], retries=0) as client:
            files = client.project_files("bigpkg")
            path = client.download(files[0], tmp_path)
            assert client.index_urls == (server.url + "simple/",)
        assert path.read_bytes() == (site / "files" / files[0].filename).read_bytes()
        assert all("s3cr" not in f.url + f.index for f in files)
        assert server.stats.count(status=401) == 0
        with (
            IndexClient([server.url + "simple/"], retries=0) as client,
            pytest.raises(IndexFetchError, match="HTTP 401"),
        ):
            client.project_files("bigpkg")
        wrong = server.url.replace("http://", "http://alice:guess@") + "simple/"
        with IndexClient([wrong], retries=0) as client, pytest.raises(IndexFetchError) as err:
            client.project_files("bigpkg")
        assert "guess" not in str(err.value) and "401" in str(err.value)


def test_http_proxy_from_environment(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    # The test server answers absolute-URI requests from its own directory: a loopback "proxy".
    # The target host is only ever named to the proxy, never resolved or contacted.
    target = "http://pkgs.invalid/simple/"
    with serve_directory(site) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        with IndexClient([target], retries=0) as client:
            files = client.project_files("bigpkg")
            client.download(files[0], tmp_path)
        assert proxy.stats.count("/simple/bigpkg/") == 1
        assert proxy.stats.count(f"/files/{files[0].filename}") == 1
        assert all(f.url.startswith("http://pkgs.invalid/files/") for f in files)
        loopback = f"http://127.0.0.1:{free_port()}/simple/"  # loopback bypasses the proxy
        with (
            IndexClient([loopback], retries=0) as client,
            pytest.raises(IndexFetchError, match="refused"),
        ):
            client.project_files("bigpkg")


@pytest.mark.parametrize(
    "variables",
    [{}, {"http_proxy": "http://p:3128"}, {"HTTPS_PROXY": "http://q:8080"},
     {"no_proxy": "example.org"}, {"ALL_PROXY": "socks5://r:1080", "ftp_proxy": "http://f"}],
)  # fmt: skip
def test_environment_proxies_are_what_urllib_finds(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    """The shortcut that skips importing urllib.request when no ``*_proxy`` variable is set
    finds the same http/https proxies as ``getproxies`` (issue 10)."""
    from urllib.request import getproxies

    from varwheel.index.http import _environment_proxies

    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    expected = {k: v for k, v in getproxies().items() if k in ("http", "https")}
    assert _environment_proxies() == expected


def test_interrupted_download_resumes_with_a_range_request(site: Path, tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    with (
        serve_directory(site) as server,
        IndexClient([server.url + "simple/"], backoff=0.01) as client,
    ):
        file = next(f for f in client.project_files("bigpkg") if f.is_wheel)
        path = f"/files/{file.filename}"
        server.truncate(path, times=2)
        got = client.download(file, tmp_path / "a", progress=events.append)
        statuses = [r.status for r in server.stats.snapshot() if r.path == path]
        server.options.range_support = False
        server.truncate(path)
        with pytest.raises(IndexFetchError, match="cannot resume"):
            client.download(file, tmp_path / "b")
    assert got.read_bytes() == (site / "files" / file.filename).read_bytes()
    assert statuses == [200, 206, 206]  # the second piece was cut again, the third completed
    assert events[-1].done and events[-1].downloaded == file.size
    assert list((tmp_path / "b").iterdir()) == []


def test_download_longer_than_the_listed_size_is_cut_off(site: Path, tmp_path: Path) -> None:
    with serve_directory(site) as server, IndexClient([server.url + "simple/"]) as client:
        files = [f for f in client.project_files("bigpkg") if f.is_wheel]
        liar = replace(files[0], hashes={}, size=1000)  # an index that understates the size
        with pytest.raises(IndexFetchError, match=r"larger than the 1000 bytes the index lists"):
            client.download(liar, tmp_path / "dl")
        assert list((tmp_path / "dl").iterdir()) == []
        # the half-read connection is not reused: the next download on this client is intact
        again = client.download(files[0], tmp_path / "ok")
        assert again.stat().st_size == files[0].size


def test_download_streams_into_the_cache_and_links_out(site: Path, tmp_path: Path) -> None:
    """One write per wheel: streamed (and hashed) into the wheel cache, hard-linked into the
    destination; the cached file is read-only, so nothing edits it through the link. A hash
    mismatch leaves nothing in the cache."""
    cache = tmp_path / "cache"
    with serve_directory(site) as server:
        with IndexClient([server.url + "simple/"], cache_dir=cache) as client:
            files = [f for f in client.project_files("bigpkg") if f.is_wheel]
            got = client.download(files[0], tmp_path / "dl")
            entry = client._cache_entry(files[0])
            assert entry is not None and entry.is_file()
            assert got.stat().st_ino == entry.stat().st_ino  # a link, not a second copy
            assert entry.stat().st_mode & 0o222 == 0
            again = client.download(files[0], tmp_path / "dl2")
            assert again.stat().st_ino == entry.stat().st_ino
            assert server.stats.count(f"/files/{files[0].filename}") == 1
            bad = replace(files[1], hashes={"sha256": "e" * 64})
            with pytest.raises(HashMismatch):
                client.download(bad, tmp_path / "dl3")
            bad_entry = client._cache_entry(bad)
            assert bad_entry is not None and not bad_entry.exists()
            assert not [p for p in cache.rglob("*") if p.name.endswith(".part")]
        assert got.read_bytes() == (site / "files" / files[0].filename).read_bytes()
