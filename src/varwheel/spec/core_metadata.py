"""Core metadata (``METADATA``, ``PKG-INFO``) parsed as ``packaging.metadata.parse_email`` does,
without importing the ``email`` package on the common path.

``parse_email`` builds an ``email.message.Message`` (compat32 policy) and maps its headers to
``RawMetadata``. Importing ``packaging.metadata`` pulls in ``email.parser``, ``email.message``,
``email.utils``, ``socket`` ... about 10 ms of every install's start-up, for files that are
nearly always plain ``Name: value`` lines. This module reads exactly that shape: UTF-8, ``\\n``
line ends, ``Name: value`` headers (continuation lines kept as compat32 keeps them, joined with
their newlines), a blank line, then the body. Anything else (a ``\\r``, non-ASCII in a header,
a line that is not a header, MIME headers, non-UTF-8 bytes) is handed to ``parse_email``
itself, so the answer is always what packaging gives (tests/spec/test_core_metadata.py checks
both on generated documents and every METADATA on this machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

__all__ = ["parse_core_metadata_bytes"]

# Core metadata specification field names (lowercased) -> RawMetadata keys, by kind.
_STRING = {
    "author": "author",
    "author-email": "author_email",
    "description": "description",
    "description-content-type": "description_content_type",
    "download-url": "download_url",
    "home-page": "home_page",
    "license": "license",
    "license-expression": "license_expression",
    "maintainer": "maintainer",
    "maintainer-email": "maintainer_email",
    "metadata-version": "metadata_version",
    "name": "name",
    "requires-python": "requires_python",
    "summary": "summary",
    "version": "version",
}
_LIST = {
    "classifier": "classifiers",
    "dynamic": "dynamic",
    "import-name": "import_names",
    "import-namespace": "import_namespaces",
    "license-file": "license_files",
    "obsoletes": "obsoletes",
    "obsoletes-dist": "obsoletes_dist",
    "platform": "platforms",
    "provides": "provides",
    "provides-dist": "provides_dist",
    "provides-extra": "provides_extra",
    "requires": "requires",
    "requires-dist": "requires_dist",
    "requires-external": "requires_external",
    "supported-platform": "supported_platforms",
}
# Headers that make the email package treat the body differently (decoding, multipart).
_MIME = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
# compat32's header-name characters: printable ASCII except space and ":" (RFC 5322).
_NAME_CHARS = frozenset(chr(c) for c in range(0o41, 0o177) if c != 0o72)


class _NotSimple(Exception):
    """The document needs the email package's full parser."""


def parse_core_metadata_bytes(data: bytes) -> tuple[RawMetadata, dict[str, list[str]]]:
    """``packaging.metadata.parse_email(data)``: the recognised fields and the rest."""
    try:
        return _parse_simple(data)
    except _NotSimple:
        from packaging.metadata import parse_email

        return parse_email(data)


def _headers_and_body(data: bytes) -> tuple[list[tuple[str, str]], str]:
    if b"\r" in data:
        raise _NotSimple
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotSimple from None
    headers: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        nl = text.find("\n", pos)
        line = text[pos:] if nl < 0 else text[pos:nl]
        nxt = end if nl < 0 else nl + 1
        if line == "":  # the header/body separator (thrown away, as the email parser does)
            return headers, text[nxt:]
        first = line[0]
        if first in " \t":  # a folded continuation: compat32 keeps the newline and the indent
            if not headers:
                raise _NotSimple
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
        else:
            colon = line.find(":")
            if colon <= 0 or line.startswith("From ") or not line.isascii():
                raise _NotSimple
            name = line[:colon]
            if not _NAME_CHARS.issuperset(name):
                raise _NotSimple
            headers.append((name, line[colon + 1 :].lstrip(" \t")))
        pos = nxt
    return headers, ""


def _parse_simple(data: bytes) -> tuple[RawMetadata, dict[str, list[str]]]:
    headers, body = _headers_and_body(data)
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if not value.isascii():  # a folded line with non-ASCII: the email package's Header dance
            raise _NotSimple
        key = name.lower()
        if key in _MIME:
            raise _NotSimple
        grouped.setdefault(key, []).append(value.rstrip("\r\n"))
    raw: dict[str, Any] = {}
    unparsed: dict[str, list[str]] = {}
    for key, values in grouped.items():
        if key in _STRING and len(values) == 1:
            raw[_STRING[key]] = values[0]
        elif key == "import-name" and values == [""]:
            raw["import_names"] = []
        elif key in _LIST:
            raw[_LIST[key]] = values
        elif key == "keywords" and len(values) == 1:
            raw["keywords"] = [k.strip() for k in values[0].split(",")]
        elif key == "project-url":
            urls: dict[str, str] = {}
            for pair in values:
                label, _, url = (s.strip() for s in pair.partition(","))
                if label in urls:
                    break
                urls[label] = url
            else:
                raw["project_urls"] = urls
                continue
            unparsed[key] = values
        else:
            unparsed[key] = values
    if body:
        if "description" in raw:
            unparsed.setdefault("description", []).extend([raw.pop("description"), body])
        elif "description" in unparsed:
            unparsed["description"].append(body)
        else:
            raw["description"] = body
    return raw, unparsed  # type: ignore[return-value]
