"""PEP 691 JSON project pages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varwheel.errors import InvalidIndexPage
from varwheel.index.json_api import files_from_json

PAGE = "http://127.0.0.1:9/simple/demo/"


def _doc(files: list[object], version: str = "1.1") -> bytes:
    return json.dumps({"meta": {"api-version": version}, "name": "demo", "files": files}).encode()


def test_fields() -> None:
    parsed = files_from_json(
        _doc(
            [
                {
                    "filename": "demo-1.0-py3-none-any.whl",
                    "url": "../../files/demo-1.0-py3-none-any.whl",
                    "hashes": {"sha256": "AB12", "bogus": "zz"},
                    "requires-python": ">=3.9",
                    "core-metadata": {"sha256": "cd34"},
                    "dist-info-metadata": True,
                    "yanked": "broken build",
                    "size": 1234,
                },
                {
                    "filename": "demo-1.0.tar.gz",
                    "url": "https://cdn.example/demo-1.0.tar.gz",
                    "hashes": {},
                    "yanked": True,
                    "dist-info-metadata": True,
                    "size": True,
                },
                {
                    "filename": "demo-1.0-variants.json",
                    "url": "demo-1.0-variants.json",
                    "hashes": {},
                },
                {"filename": "README.txt", "url": "README.txt", "hashes": {}},
            ]
        ),
        PAGE,
        "IDX",
    )
    whl, sdist, vj = parsed.files
    assert whl.url == "http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl"
    assert whl.hashes == {"sha256": "ab12"}
    assert whl.requires_python == ">=3.9" and whl.size == 1234
    assert whl.yanked and whl.yanked_reason == "broken build"
    assert whl.metadata_url == whl.url + ".metadata" and whl.metadata_hashes == {"sha256": "cd34"}
    assert sdist.yanked and sdist.yanked_reason is None and sdist.size is None
    assert sdist.metadata_url and not sdist.metadata_hashes  # legacy key alone still counts
    assert vj.url == PAGE + "demo-1.0-variants.json"
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"files": []}', "meta.api-version"),
        (_doc([], "2.0"), "unsupported simple API version"),
        (json.dumps({"meta": {"api-version": "1.0"}}).encode(), "'files' list"),
        (_doc(["x"]), "files[0] is not an object"),
        (_doc([{"filename": 3, "url": "u"}]), "files[0] lacks"),
        (_doc([{"filename": "a-1.tar.gz", "url": "u", "hashes": []}]), "files[0].hashes"),
    ],
)
def test_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidIndexPage) as err:
        files_from_json(body, PAGE, "IDX")
    assert str(err.value).startswith(PAGE) and reason in str(err.value)


_scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json = (
    _scalar
    | st.lists(_scalar, max_size=3)
    | st.dictionaries(st.text(max_size=8), _scalar | st.lists(_scalar, max_size=2), max_size=3)
)
_entry = st.fixed_dictionaries(
    {"filename": st.text(max_size=20) | _json, "url": st.text(max_size=20) | _json},
    optional={"hashes": _json, "yanked": _json, "size": _json, "core-metadata": _json},
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_entry, max_size=4) | _json)
def test_only_invalid_index_page_errors(files: object) -> None:
    try:
        parsed = files_from_json(_doc(files), PAGE, "IDX")  # type: ignore[arg-type]
    except InvalidIndexPage:
        return
    for f in parsed.files:
        assert "/" not in f.filename and "\\" not in f.filename and f.url.startswith("http")


def test_invalid_url_is_skipped_with_a_warning() -> None:
    entry = {"filename": "demo-1.0.tar.gz", "url": "//[x/demo-1.0.tar.gz", "hashes": {}}
    parsed = files_from_json(_doc([entry]), PAGE, "IDX")
    assert parsed.files == () and "not a valid URL" in parsed.warnings[0]


def test_deeply_nested_page_is_an_index_error() -> None:
    for doc in (b"[" * 100_000, b'{"files": ' * 100_000):
        with pytest.raises(InvalidIndexPage, match="nested too deeply"):
            files_from_json(doc, "https://example.org/simple/x/", "idx")
