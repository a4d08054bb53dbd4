"""PEP 691 JSON project pages (``application/vnd.pypi.simple.v1+json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urljoin

from varwheel.errors import InvalidIndexPage
from varwheel.index.links import (
    ParsedFiles,
    check_filename,
    check_repository_version,
    check_requires_python,
    check_scheme,
    make_file,
    valid_hashes,
)
from varwheel.index.models import IndexFile
from varwheel.safeparse import json_int

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
# PEP 691 §"Content negotiation": JSON first, HTML as a fallback for PEP 503-only servers.
ACCEPT = f"{JSON_V1}, {HTML_V1};q=0.2, text/html;q=0.01"


def _metadata(value: object) -> tuple[bool, dict[str, str]]:
    """PEP 691/714 ``core-metadata``: true, false, or a hash mapping."""
    if isinstance(value, Mapping):
        return True, valid_hashes(value)
    return value is True, {}


def _file(entry: object, page_url: str, source: str, index: int) -> IndexFile | str:
    """One ``files[i]`` object, or a warning/error text when it is unusable."""
    where = f"{page_url}: files[{index}]"
    if not isinstance(entry, Mapping):
        raise InvalidIndexPage(f"{where} is not an object")
    filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes", {})
    if not isinstance(filename, str) or not isinstance(url, str):
        raise InvalidIndexPage(f"{where} lacks a string 'filename' or 'url'")
    if not isinstance(hashes, Mapping):
        raise InvalidIndexPage(f"{where}.hashes is not an object")
    try:
        absolute = urljoin(page_url, url)
    except ValueError:
        return f"{source}: ignoring file {filename!r}: {url!r} is not a valid URL"
    requires_python = entry.get("requires-python")
    if not isinstance(requires_python, str):
        requires_python = None
    problem = check_filename(filename, absolute, source)
    if problem is None:
        problem = check_scheme(absolute, page_url, source)
    if problem is None:
        problem = check_requires_python(requires_python, filename, source)
    if problem is not None:
        return problem
    has_md, md_hashes = _metadata(entry.get("core-metadata", entry.get("dist-info-metadata")))
    yanked = entry.get("yanked", False)
    size = entry.get("size")
    return make_file(
        filename,
        absolute,
        hashes=valid_hashes(hashes),
        source=source,
        requires_python=requires_python,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) else None,
        metadata=has_md,
        metadata_hashes=md_hashes,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def files_from_json(data: bytes | str, page_url: str, source: str) -> ParsedFiles:
    """The files of a PEP 691 project page; raises :class:`InvalidIndexPage` when malformed."""
    try:
        # an integer past int()'s digit limit reads as a float (never a valid size)
        doc = json.loads(data, parse_int=json_int)
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidIndexPage(f"{page_url}: project page is not valid JSON ({reason})") from None
    except RecursionError:
        raise InvalidIndexPage(f"{page_url}: project page is nested too deeply") from None
    if not isinstance(doc, Mapping):
        raise InvalidIndexPage(f"{page_url}: project page is not a JSON object")
    meta = doc.get("meta")
    version = meta.get("api-version") if isinstance(meta, Mapping) else None
    if not isinstance(version, str):
        raise InvalidIndexPage(f"{page_url}: project page lacks meta.api-version (PEP 691)")
    check_repository_version(version, page_url)
    entries = doc.get("files")
    if not isinstance(entries, list):
        raise InvalidIndexPage(f"{page_url}: project page lacks a 'files' list (PEP 691)")
    files: list[IndexFile] = []
    warnings: list[str] = []
    for i, entry in enumerate(entries):
        got = _file(entry, page_url, source, i)
        if isinstance(got, IndexFile):
            files.append(got)
        elif got:
            warnings.append(got)
    return ParsedFiles(tuple(files), tuple(warnings))
