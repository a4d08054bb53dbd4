"""The PEP 503 page scanner: real pages, attribute edge cases, and agreement with html.parser."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varwheel.errors import InvalidIndexPage
from varwheel.index.html import files_from_html, parse_html_page


class _Reference(HTMLParser):
    """The stdlib parser's view: (href, attrs) of every <a>, outside comments/script/style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            d: dict[str, str | None] = {}
            for k, v in attrs:
                d.setdefault(k, v)
            if d.get("href") and d["href"].strip():  # type: ignore[union-attr]
                self.links.append((d["href"].strip(), d))  # type: ignore[union-attr]


def test_real_pages_match_html_parser(real_index_dir: Path) -> None:
    for name in ("torch/index.html", "numpy/index.html", "nvidia-cublas/index.html", "index.html"):
        page = real_index_dir / name
        data = page.read_bytes()
        ref = _Reference()
        ref.feed(data.decode("utf-8"))
        ours = parse_html_page(data, "http://127.0.0.1/simple/p/")
        base = "http://127.0.0.1/simple/p/"
        assert [link.url for link in ours.links] == [urljoin(base, h) for h, _ in ref.links], page
        assert [link.attrs for link in ours.links] == [a for _, a in ref.links], page


def test_pep503_attributes() -> None:
    page = (
        b"<!DOCTYPE html><html><head>"
        b'<meta name="pypi:repository-version" content="1.3"></head><body>\n'
        b"<!-- <a href='hidden-1.0.tar.gz'>hidden</a> -->\n"
        b"<script>var s = '<a href=\"js-1.0.tar.gz\">';</script>\n"
        b'<A HREF="../../files/demo-1.0-py3-none-any.whl#sha256=ABCDEF0123"\n'
        b'   data-requires-python="&gt;=3.8,&lt;4" data-yanked="broken &amp; bad"\n'
        b'   data-dist-info-metadata="sha256=aa" data-core-metadata="sha256=bb">w</A>\n'
        b"<a href=demo-1.1.tar.gz data-yanked>unquoted</a>\n"
        b"<a href='demo-1.2.tar.gz' data-core-metadata=\"true\" title='a > b'>q</a>\n"
        b'<a href="https://cdn.example/x/demo-1.3.zip#md5=00ff">abs</a>\n'
        b'<a href="demo-1.4.tar.gz#sha256=not-hex">bad hash</a>\n'
        b'<a href="/">home</a><abbr href="x.whl">no</abbr>\n'
    )
    parsed = files_from_html(page, "http://127.0.0.1:8000/simple/demo/", "IDX")
    files = {f.filename: f for f in parsed.files}
    assert list(files) == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.1.tar.gz",
        "demo-1.2.tar.gz",
        "demo-1.3.zip",
        "demo-1.4.tar.gz",
    ]
    whl = files["demo-1.0-py3-none-any.whl"]
    assert whl.url == "http://127.0.0.1:8000/files/demo-1.0-py3-none-any.whl"
    assert whl.hashes == {"sha256": "abcdef0123"}
    assert whl.requires_python == ">=3.8,<4"
    assert whl.yanked and whl.yanked_reason == "broken & bad"
    assert whl.metadata_url == whl.url + ".metadata"
    assert whl.metadata_hashes == {"sha256": "bb"}  # PEP 714: data-core-metadata wins
    assert whl.index == "IDX"
    assert files["demo-1.1.tar.gz"].yanked and files["demo-1.1.tar.gz"].yanked_reason is None
    assert files["demo-1.2.tar.gz"].metadata_url and not files["demo-1.2.tar.gz"].metadata_hashes
    assert files["demo-1.3.zip"].hashes == {"md5": "00ff"}
    assert files["demo-1.4.tar.gz"].hashes == {}
    assert parse_html_page(page, "http://x/").repository_version == "1.3"


def test_base_href_and_percent_encoding() -> None:
    page = '<base href="https://files.example/pkgs/"><a href="my%20pkg-1.0.tar.gz">x</a>'
    (f,) = files_from_html(page, "http://127.0.0.1/simple/my-pkg/", "IDX").files
    assert f.url == "https://files.example/pkgs/my%20pkg-1.0.tar.gz"
    assert f.filename == "my pkg-1.0.tar.gz"


def test_major_version_two_is_refused() -> None:
    with pytest.raises(InvalidIndexPage, match=r"'2\.0'"):
        parse_html_page('<meta name="pypi:repository-version" content="2.0">', "http://x/simple/a/")


_names = st.sampled_from(["href", "data-yanked", "data-requires-python", "class", "HREF", "x"])
_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    max_size=12,
)


@st.composite
def _anchor(draw: st.DrawFn) -> str:
    parts = []
    for name in draw(st.lists(_names, max_size=4)):
        style = draw(st.sampled_from(["dq", "sq", "bare", "none"]))
        value = draw(_values)
        if style == "dq":
            parts.append(f'{name}="{html.escape(value)}"')
        elif style == "sq":
            parts.append(f"{name}='{html.escape(value)}'")
        # a bare value starting with "=" is an HTML parse error that html.parser drops
        elif (
            style == "bare"
            and value
            and not value.startswith("=")
            and all(c.isalnum() or c in "._-/#=" for c in value)
        ):
            parts.append(f"{name}={value}")
        else:
            parts.append(name)
    sep = draw(st.sampled_from([" ", "\n  ", "\t"]))
    return f"<a{sep}{sep.join(parts)}>{html.escape(draw(_values))}</a>"


@settings(max_examples=100, deadline=None)
@given(st.lists(_anchor(), max_size=6), st.sampled_from(["", "<br>\n", "<p>text</p>"]))
def test_agrees_with_html_parser_on_generated_pages(anchors: list[str], filler: str) -> None:
    page = "<html><body>" + filler.join(anchors) + "</body></html>"
    ref = _Reference()
    ref.feed(page)
    ref.close()
    ours = parse_html_page(page, "http://127.0.0.1/simple/p/")
    assert [link.attrs for link in ours.links] == [a for _, a in ref.links]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=400)
    | st.text(alphabet='<a href="/[]:#%.-tgzwhl>', max_size=60).map(str.encode)
)
def test_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    try:
        parsed = files_from_html(data, "http://127.0.0.1/simple/p/", "IDX")
    except InvalidIndexPage:
        return
    for f in parsed.files:
        assert "/" not in f.filename and f.url.startswith("http")


def test_invalid_urls_are_skipped_with_a_warning() -> None:
    page = '<base href="//[x/"><a href="//[y/a-1.0.tar.gz">bad</a><a href="a-2.0.tar.gz">ok</a>'
    parsed = files_from_html(page, "http://127.0.0.1/simple/a/", "IDX")
    assert [f.url for f in parsed.files] == ["http://127.0.0.1/simple/a/a-2.0.tar.gz"]
    assert len(parsed.warnings) == 2 and all("not a valid URL" in w for w in parsed.warnings)
