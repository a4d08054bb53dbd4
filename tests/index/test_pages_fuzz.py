"""Index pages with hostile shapes (issue 7 "Inputs"): PEP 503 HTML and PEP 691 JSON pages with
integers and versions past ``int()``'s digit limit, NUL and control characters, very long strings,
deep nesting, invalid UTF-8 and byte order marks. Only ``VarwheelError`` may escape, in one line;
a file whose name or requires-python could never be compared is skipped with a warning."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from helpers.hostile import HUGE, hostile_bytes, json_documents
from varwheel.errors import VarwheelError
from varwheel.index.html import files_from_html
from varwheel.index.json_api import files_from_json
from varwheel.index.links import ParsedFiles

PAGE = "http://127.0.0.1:9/simple/demo/"


def _parse(fn, data: bytes) -> ParsedFiles | None:  # type: ignore[no-untyped-def]
    try:
        parsed = fn(data, PAGE, "index")
    except VarwheelError as err:
        assert "\n" not in str(err), str(err)[:300]
        return None
    for warning in parsed.warnings:
        assert "\n" not in warning
    return parsed


_HTML_PIECES = (
    '<a href="',
    '">',
    "</a>",
    "demo-1.0-py3-none-any.whl",
    f"demo-{HUGE}-py3-none-any.whl",
    f"demo-{HUGE}.tar.gz",
    "demo-1.0.tar.gz#sha256=ab",
    ' data-requires-python="',
    f"&gt;={HUGE}",
    "&#" + "9" * 5000 + ";",
    "&#" + "0" * 5000 + "65;",
    "&#x" + "f" * 5000 + ";",
    ' data-yanked="',
    ' data-core-metadata="sha256=',
    '<base href="',
    '<meta name="pypi:repository-version" content="',
    f"1.{HUGE}",
    "<!--",
    "<script>",
    "%00",
    "%2F",
)


@settings(max_examples=250, deadline=None)
@given(hostile_bytes(_HTML_PIECES, max_parts=12))
def test_html_pages(data: bytes) -> None:
    _parse(files_from_html, data)


JSON_PAGE = {
    "meta": {"api-version": "1.1"},
    "name": "demo",
    "files": [
        {
            "filename": "demo-1.0-py3-none-any.whl",
            "url": "demo-1.0-py3-none-any.whl",
            "hashes": {"sha256": "ab12"},
            "requires-python": ">=3.9",
            "core-metadata": {"sha256": "cd34"},
            "size": 1234,
            "yanked": False,
        },
        {"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {}},
    ],
}


@settings(max_examples=250, deadline=None)
@given(json_documents(JSON_PAGE))
def test_json_pages(data: bytes) -> None:
    _parse(files_from_json, data)


@pytest.mark.parametrize("key", ["size", "requires-python", "filename", "url"])
def test_json_page_with_a_huge_number_keeps_or_skips_the_file(key: str) -> None:
    doc = json.loads(json.dumps(JSON_PAGE))
    entry = doc["files"][0]
    raw = (
        HUGE
        if key == "size"
        else json.dumps(
            {"requires-python": f">={HUGE}", "filename": f"demo-{HUGE}-py3-none-any.whl"}.get(
                key, f"demo-{HUGE}-py3-none-any.whl"
            )
        )
    )
    entry[key] = "@@RAW@@"
    text = json.dumps(doc).replace('"@@RAW@@"', raw)
    parsed = _parse(files_from_json, text.encode())
    assert parsed is not None
    names = [f.filename for f in parsed.files]
    if key == "size":  # read as a float: not a size, the file itself is fine
        assert parsed.files[0].size is None and "demo-1.0-py3-none-any.whl" in names
    elif key == "url":  # the name comes from "filename": still the 1.0 wheel, nothing compared
        assert "demo-1.0-py3-none-any.whl" in names
    else:
        assert names == ["demo-1.0.tar.gz"]
        assert any("more than 4300 digits" in w for w in parsed.warnings)


@pytest.mark.parametrize("attr", ["href", "requires"])
def test_html_page_with_a_huge_version_skips_the_file(attr: str) -> None:
    if attr == "href":
        link = f'<a href="demo-{HUGE}-py3-none-any.whl">x</a>'
    else:
        link = f'<a href="demo-2.0-py3-none-any.whl" data-requires-python="&gt;={HUGE}">x</a>'
    page = f'{link}<a href="demo-1.0.tar.gz">y</a><a href="x">&#{"9" * 5000};</a>'.encode()
    parsed = _parse(files_from_html, page)
    assert parsed is not None
    assert [f.filename for f in parsed.files] == ["demo-1.0.tar.gz"]
    (warning,) = parsed.warnings
    assert "more than 4300 digits" in warning and len(warning) < 600
