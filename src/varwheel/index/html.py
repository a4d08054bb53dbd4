"""PEP 503 HTML project pages: a small tag scanner (no regex, no html.parser) for ``<a>`` links.

The stdlib ``html.parser`` spends ~20 ms on the 539 KiB torch page (perf-anchors W5). This
scanner works on the page's bytes: it lowers them once (ASCII-only, so offsets stay aligned),
jumps between the few tags that matter with ``bytes.find`` and tokenises only the attributes of
``<a>``, ``<base>`` and ``<meta>``. Comments, ``<script>`` and ``<style>`` bodies are skipped.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from varwheel.index.links import (
    ParsedFiles,
    check_filename,
    check_repository_version,
    check_requires_python,
    check_scheme,
    filename_of,
    hashes_from_fragment,
    make_file,
    split_url,
)
from varwheel.index.models import IndexFile

_WS = frozenset(b" \t\n\r\f")
_SKIP = frozenset(b" \t\n\r\f/")
_NAME_END = frozenset(b" \t\n\r\f/>=")
_VALUE_END = frozenset(b" \t\n\r\f>")
_TAGS = (b"<a", b"<base", b"<meta", b"<!--", b"<script", b"<style")


@dataclass(frozen=True)
class HtmlLink:
    """One ``<a href>``: the absolute URL (fragment kept) and the tag's other attributes."""

    url: str
    attrs: dict[str, str | None]


@dataclass(frozen=True)
class HtmlPage:
    links: tuple[HtmlLink, ...]
    repository_version: str | None  # PEP 629 ``<meta name="pypi:repository-version">``
    bad_hrefs: tuple[str, ...] = ()  # hrefs that are not URLs (e.g. ``//[x``)


# a decimal character reference past int()'s digit limit makes html.unescape raise ValueError
_LONG_DECIMAL_REF = re.compile(r"&#([0-9]{20,})(;?)")


def _shorten_ref(match: re.Match[str]) -> str:
    digits = match[1].lstrip("0") or "0"
    # past 7 digits it is above U+10FFFF: html.unescape gives U+FFFD, so say so without int()
    return f"&#{digits}{match[2]}" if len(digits) <= 7 else "\ufffd"


def _decode(raw: bytes) -> str:
    value = raw.decode("utf-8", "replace")
    if "&" not in value:
        return value
    if "&#" in value:
        value = _LONG_DECIMAL_REF.sub(_shorten_ref, value)
    return _html.unescape(value)


def _start_tag(data: bytes, low: bytes, pos: int) -> tuple[dict[str, str | None], int]:
    """Attributes of a start tag from ``pos`` (just after its name) and the offset of its ``>``.

    Quoted values may contain ``>``; the first unquoted ``>`` ends the tag.
    """
    attrs: dict[str, str | None] = {}
    n = len(data)
    while pos < n:
        char = data[pos]
        if char in _SKIP:
            pos += 1
            continue
        if char == 0x3E:  # '>'
            return attrs, pos
        start = pos
        while pos < n and data[pos] not in _NAME_END:
            pos += 1
        if pos == start:  # a stray '='
            pos += 1
            continue
        name = low[start:pos].decode("ascii", "replace")
        while pos < n and data[pos] in _WS:
            pos += 1
        if pos < n and data[pos] == 0x3D:  # '='
            pos += 1
            while pos < n and data[pos] in _WS:
                pos += 1
            if pos < n and data[pos] in (0x22, 0x27):  # quoted value
                close = data.find(data[pos : pos + 1], pos + 1)
                close = n if close < 0 else close
                value = _decode(data[pos + 1 : close])
                pos = close + 1
            else:
                start = pos
                while pos < n and data[pos] not in _VALUE_END:
                    pos += 1
                value = _decode(data[start:pos])
            attrs.setdefault(name, value)
        else:
            attrs.setdefault(name, None)
    return attrs, n


def _tags(data: bytes) -> Iterator[tuple[str, dict[str, str | None]]]:
    """Yield ``(tag, attrs)`` for every ``a``, ``base`` and ``meta`` start tag, in page order."""
    low = data.lower()
    n = len(low)
    # next occurrence of each needle; refreshed only once the scan has passed it
    nxt = {needle: low.find(needle) for needle in _TAGS}
    pos = 0
    while True:
        for needle, at in nxt.items():
            if 0 <= at < pos:
                nxt[needle] = low.find(needle, pos)
        live = [(at, needle) for needle, at in nxt.items() if at >= 0]
        if not live:
            return
        lt, needle = min(live)
        after = lt + len(needle)
        if needle == b"<!--":
            close = low.find(b"-->", after)
            pos = n if close < 0 else close + 3
            continue
        if after < n and low[after] not in _NAME_END:  # <abbr>, <basefont>, <metadata>, ...
            pos = lt + 1
            continue
        attrs, end = _start_tag(data, low, after)
        if needle in (b"<script", b"<style"):
            close = low.find(b"</" + needle[1:], end)
            pos = n if close < 0 else close
            continue
        yield needle[1:].decode(), attrs
        pos = end + 1


def _resolver(base: str):  # type: ignore[no-untyped-def]
    """A fast ``urljoin(base, href)`` for the common plain-relative and absolute hrefs."""
    cut = min((i for i in (base.find("?"), base.find("#")) if i >= 0), default=len(base))
    directory = base[: base.rfind("/", 0, cut) + 1] if "://" in base else ""

    def resolve(href: str) -> str:
        if href.startswith(("https://", "http://")):
            return href
        if directory and href and href[0] not in "/.?#" and ":" not in href.split("/", 1)[0]:
            return directory + href
        return urljoin(base, href)

    return resolve


def parse_html_page(data: bytes | str, page_url: str) -> HtmlPage:
    """All links of a PEP 503 page with hrefs resolved against the page URL (or ``<base href>``)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    resolve = _resolver(page_url)
    links: list[HtmlLink] = []
    bad: list[str] = []
    version: str | None = None
    for tag, attrs in _tags(data):
        if tag == "a":
            href = (attrs.get("href") or "").strip()
            if href:
                try:
                    links.append(HtmlLink(resolve(href), attrs))
                except ValueError:
                    bad.append(href)
        elif tag == "base":
            href = attrs.get("href")
            if href and not links:
                try:
                    resolve = _resolver(urljoin(page_url, href.strip()))
                except ValueError:
                    bad.append(href)
        elif (attrs.get("name") or "").lower() == "pypi:repository-version":
            version = attrs.get("content")
    check_repository_version(version, page_url)
    return HtmlPage(tuple(links), version, tuple(bad))


def _metadata_attr(value: str | None) -> tuple[bool, dict[str, str]]:
    """PEP 658/714 attribute: ``true`` or ``<hashname>=<hex>`` means a ``.metadata`` file exists."""
    if value is None:
        return False, {}
    value = value.strip()
    if value.lower() == "false":
        return False, {}
    return True, hashes_from_fragment(value)


def files_from_html(data: bytes | str, page_url: str, source: str) -> ParsedFiles:
    """The distribution files a PEP 503 page links, with PEP 503/592/658/714 attributes."""
    page = parse_html_page(data, page_url)
    files: list[IndexFile] = []
    warnings = [f"{source}: ignoring link {href!r}: not a valid URL" for href in page.bad_hrefs]
    for link in page.links:
        url, fragment = split_url(link.url)
        filename = filename_of(url)
        attrs = link.attrs
        problem = check_filename(filename, url, source)
        if problem is None:
            problem = check_scheme(url, page_url, source)
        if problem is None:
            problem = check_requires_python(attrs.get("data-requires-python"), filename, source)
        if problem is not None:
            if problem:
                warnings.append(problem)
            continue
        has_md, md_hashes = _metadata_attr(
            attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        )
        yanked = "data-yanked" in attrs
        files.append(
            make_file(
                filename,
                url,
                hashes=hashes_from_fragment(fragment),
                source=source,
                requires_python=attrs.get("data-requires-python"),
                yanked=yanked,
                yanked_reason=attrs.get("data-yanked") if yanked else None,
                metadata=has_md,
                metadata_hashes=md_hashes,
            )
        )
    return ParsedFiles(tuple(files), tuple(warnings))
