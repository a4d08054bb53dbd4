"""Turn simple-API entries (HTML links, JSON file objects) into :class:`IndexFile` values."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from varwheel.errors import InvalidIndexPage
from varwheel.index.dists import file_kind, is_safe_filename
from varwheel.index.models import IndexFile
from varwheel.safeparse import too_long_number_reason

_HEX = frozenset("0123456789abcdef")
# PEP 503: the fragment names a hashlib algorithm; we accept those every Python has.
HASH_NAMES = frozenset(hashlib.algorithms_guaranteed)


@dataclass(frozen=True)
class ParsedFiles:
    """The distribution files of one page and what was skipped, as user-facing warnings."""

    files: tuple[IndexFile, ...]
    warnings: tuple[str, ...] = ()


def filename_of(url: str) -> str:
    """The percent-decoded last path segment of a URL without fragment (the file's name)."""
    path = url.split("?", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1].partition("/")[2]
    name = path.rsplit("/", 1)[-1]
    return unquote(name) if "%" in name else name


def valid_hashes(hashes: Mapping[str, object]) -> dict[str, str]:
    """Keep entries whose name is a guaranteed hashlib algorithm and value a hex digest."""
    out: dict[str, str] = {}
    for name, value in hashes.items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        name, value = name.lower(), value.lower()
        if name in HASH_NAMES and value and set(value) <= _HEX:
            out[name] = value
    return out


def hashes_from_fragment(fragment: str) -> dict[str, str]:
    """``sha256=<hex>`` (PEP 503 URL fragment or PEP 658 attribute value) to a hash mapping."""
    name, sep, value = fragment.partition("=")
    return valid_hashes({name: value}) if sep else {}


def split_url(url: str) -> tuple[str, str]:
    """URL without fragment, and the fragment."""
    bare, _, fragment = url.partition("#")
    return bare, fragment


_REMOTE = ("http://", "https://")


def check_scheme(url: str, page_url: str, source: str) -> str | None:
    """None when a page at ``page_url`` may link ``url``, else the warning text.

    A page fetched over HTTP may link only HTTP(S) URLs: a remote index must never make us read
    local files (``file:`` links or a ``<base href="file:///">``). Local pages may link both.
    """
    scheme = url.split(":", 1)[0].lower() + ":" if ":" in url else ""
    allowed = (
        ("http:", "https:")
        if page_url.lower().startswith(_REMOTE)
        else ("http:", "https:", "file:")
    )
    if scheme in allowed:
        return None
    return f"{source}: ignoring link {url!r}: a page at {page_url!r} may not link {scheme or 'that'} URLs"


def check_filename(filename: str, url: str, source: str) -> str | None:
    """None when the file is a distribution we can use, else why it is skipped (warning text).

    Non-distribution links (navigation, home page) return the empty string: skipped silently.
    """
    if not filename:
        return ""  # a link to a directory or a site (``../``, a home page): navigation
    if not is_safe_filename(filename):
        return f"{source}: ignoring link {url!r}: file name {filename!r} is not a plain file name"
    if file_kind(filename) is None:
        return ""
    reason = too_long_number_reason(filename)
    if reason is not None:  # its version could never be compared (int() digit limit)
        return f"{source}: ignoring file {_short(filename)}: its name holds {reason}"
    return None


def check_requires_python(value: str | None, filename: str, source: str) -> str | None:
    """None when a file's ``requires-python`` can be evaluated later, else the warning text
    (a version past ``int()``'s digit limit would fail every comparison with a bare error)."""
    reason = too_long_number_reason(value) if value else None
    if reason is None:
        return None
    return f"{source}: ignoring file {_short(filename)}: requires-python holds {reason}"


def _short(text: str, limit: int = 200) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"...({len(text)} chars)"


def make_file(
    filename: str,
    url: str,
    *,
    hashes: Mapping[str, str],
    source: str,
    requires_python: str | None = None,
    yanked: bool = False,
    yanked_reason: str | None = None,
    metadata: bool = False,
    metadata_hashes: Mapping[str, str] | None = None,
    size: int | None = None,
) -> IndexFile:
    return IndexFile(
        filename=filename,
        url=url,
        hashes=dict(hashes),
        requires_python=requires_python or None,
        yanked=yanked,
        yanked_reason=yanked_reason or None,
        metadata_url=f"{url}.metadata" if metadata else None,
        metadata_hashes=dict(metadata_hashes or {}),
        size=size,
        index=source,
    )


def check_repository_version(version: str | None, url: str) -> None:
    """PEP 629: refuse a major API version other than 1 (minor versions are compatible)."""
    if version is None:
        return
    major = version.strip().split(".", 1)[0]
    if major != "1":
        raise InvalidIndexPage(
            f"{url}: unsupported simple API version {version!r} (this varwheel reads 1.x)"
        )
