"""A remote index page must not make varwheel read local files (file: links, <base href>)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.http_server import serve_directory
from helpers.wheels import build_wheel
from varwheel.errors import IndexFetchError, InvalidInput
from varwheel.index.client import IndexClient
from varwheel.index.html import files_from_html
from varwheel.index.json_api import files_from_json

REMOTE = "http://127.0.0.1:9/simple/demo/"


def test_http_page_drops_file_links() -> None:
    page = (
        b'<a href="file:///etc/demo-1.0-py3-none-any.whl">local</a>'
        b'<a href="FILE:/home/u/demo-1.1.tar.gz">local2</a>'
        b'<a href="ftp://127.0.0.1/demo-1.2.tar.gz">ftp</a>'
        b'<a href="demo-1.3.tar.gz">ok</a>'
    )
    parsed = files_from_html(page, REMOTE, "idx")
    assert [f.url for f in parsed.files] == [REMOTE + "demo-1.3.tar.gz"]
    assert len(parsed.warnings) == 3
    assert all("may not link" in w for w in parsed.warnings)


def test_base_tag_cannot_point_a_remote_page_at_local_files() -> None:
    page = b'<base href="file:///home/user/dist/"><a href="demo-1.0-py3-none-any.whl">w</a>'
    parsed = files_from_html(page, REMOTE, "idx")
    assert parsed.files == ()
    assert "file: URLs" in parsed.warnings[0]


def test_json_page_drops_file_urls() -> None:
    doc = {
        "meta": {"api-version": "1.1"},
        "files": [
            {"filename": "demo-1.0-py3-none-any.whl", "url": "file:///etc/x.whl", "hashes": {}},
            {"filename": "demo-1.1.tar.gz", "url": "../../f/demo-1.1.tar.gz", "hashes": {}},
        ],
    }
    parsed = files_from_json(json.dumps(doc), REMOTE, "idx")
    assert [f.filename for f in parsed.files] == ["demo-1.1.tar.gz"]
    assert "may not link file: URLs" in parsed.warnings[0]


def test_local_pages_may_link_both() -> None:
    page = b'<a href="demo-1.0.tar.gz">a</a><a href="https://127.0.0.1/demo-1.1.tar.gz">b</a>'
    parsed = files_from_html(page, "file:///srv/simple/demo/", "idx")
    assert [f.url for f in parsed.files] == [
        "file:///srv/simple/demo/demo-1.0.tar.gz",
        "https://127.0.0.1/demo-1.1.tar.gz",
    ]


def test_served_page_linking_a_local_wheel_is_ignored_end_to_end(tmp_path: Path) -> None:
    secret = build_wheel(tmp_path / "private", "demo", "1.0", files={"demo.py": "X = 1\n"})
    site = tmp_path / "site"
    (site / "simple" / "demo").mkdir(parents=True)
    (site / "simple" / "demo" / "index.html").write_text(
        f'<a href="{secret.as_uri()}">demo</a>'
        f'<a href="{secret.as_uri()}.metadata" data-core-metadata="true">m</a>'
    )
    (site / "simple" / "demo" / "index.json").write_text(
        json.dumps(
            {
                "meta": {"api-version": "1.0"},
                "files": [{"filename": secret.name, "url": secret.as_uri(), "hashes": {}}],
            }
        )
    )
    for negotiate in (True, False):
        with (
            serve_directory(site, json_negotiation=negotiate) as server,
            IndexClient([server.url + "simple/"]) as client,
        ):
            assert client.project_files("demo") == ()
            assert any("may not link file: URLs" in w for w in client.warnings)


@pytest.mark.parametrize("name", ["%2e%2e", "../secret", "a/b", "", "-x", "x y"])
def test_project_names_cannot_walk_the_index(tmp_path: Path, name: str) -> None:
    (tmp_path / "simple").mkdir()
    (tmp_path / "index.html").write_text('<a href="secret-1.0.tar.gz">outside simple/</a>')
    with (
        IndexClient([str(tmp_path / "simple")]) as client,
        pytest.raises(InvalidInput, match="not a valid project name"),
    ):
        client.project_files(name)


def test_file_names_with_control_characters_are_skipped() -> None:
    page = '<a href="demo-1.0%1B%5B2J.tar.gz">esc</a><a href="demo-1.1\u200b.tar.gz">zw</a>'
    parsed = files_from_html(page, REMOTE, "idx")
    assert parsed.files == ()
    assert len(parsed.warnings) == 2
    assert all(w.isprintable() for w in parsed.warnings)


def test_unlistable_find_links_directory_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    with (
        IndexClient(no_index=True, find_links=[tmp_path]) as client,
        pytest.raises(IndexFetchError, match=r"cannot list .*: Permission denied"),
    ):
        client.project_files("demo")
