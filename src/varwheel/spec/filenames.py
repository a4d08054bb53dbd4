"""Wheel filenames with an optional variant label, and ``{name}-{version}-variants.json`` names.

Grammar (PEP 817 / PEP 825 "Wheel filename"):
``{name}-{version}(-{build})?-{python}-{abi}-{platform}(-{label})?.whl``.

With six ``-``-separated parts the third is a build tag iff it starts with a digit, otherwise the
last part is the label; PEP 825 makes that unambiguous by forbidding Python tags that start with a
digit. Parsing is split-based (no backtracking regex) and caches versions and tag-set expansion,
because the resolver parses every link of pages with hundreds of wheels.

Deliberate differences from ``packaging.utils.parse_wheel_filename`` on names it accepts:
a path separator, whitespace or control character anywhere is rejected (filenames become paths on
disk), and a compressed tag set may expand to at most ``MAX_TAGS`` tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import InvalidFilename, InvalidLabel
from varwheel.spec.properties import validate_label

WHEEL_SUFFIX = ".whl"
VARIANTS_JSON_SUFFIX = "-variants.json"
MAX_TAGS = 4096

# PEP 427 escaped name as packaging accepts it (``\w`` and ``.``; ``__`` is rejected separately).
_WHEEL_NAME_RE = re.compile(r"[\w.]+")
_UNSAFE_RE = re.compile(r"[/\\\s\x00-\x1f\x7f]")
# Core metadata ``Name`` (used when emitting ``*-variants.json`` names).
_PROJECT_NAME_RE = re.compile(r"[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9]", re.IGNORECASE | re.ASCII)
_NAME_ESCAPE_RE = re.compile(r"[-_.]+")


# a page lists hundreds of wheels of one project: normalise each name once
_canonical_name = lru_cache(maxsize=1024)(canonicalize_name)


class _Bad(Exception):
    """Internal: a reason why one component is invalid; wrapped into ``InvalidFilename``."""


@dataclass(frozen=True, slots=True)
class WheelFilename:
    """A parsed wheel filename. ``str()`` rebuilds the canonical filename from the parts."""

    name: str
    project: NormalizedName
    version: Version
    build: tuple[int, str] | tuple[()]
    python_tag: str
    abi_tag: str
    platform_tag: str
    label: str | None
    tags: frozenset[Tag] = field(repr=False)
    filename: str = field(compare=False)

    def __str__(self) -> str:
        parts = [self.name, str(self.version)]
        if self.build:
            parts.append(f"{self.build[0]}{self.build[1]}")
        parts += [self.python_tag, self.abi_tag, self.platform_tag]
        if self.label is not None:
            parts.append(self.label)
        return "-".join(parts) + WHEEL_SUFFIX

    @property
    def is_variant(self) -> bool:
        """True when the filename carries a variant label (``null`` included)."""
        return self.label is not None

    def with_label(self, label: str | None) -> WheelFilename:
        """The same wheel with ``label`` (``None`` drops it); ``filename`` is rebuilt."""
        if label is not None:
            try:
                validate_label(label)
            except InvalidLabel as exc:
                raise InvalidFilename(f"cannot label wheel {self.filename!r}: {exc}") from exc
        changed = replace(self, label=label, filename="")
        return replace(changed, filename=str(changed))


def _fail(text: str, reason: str) -> InvalidFilename:
    return InvalidFilename(f"invalid wheel filename {text!r}: {reason}")


@lru_cache(maxsize=4096)
def _parse_version(text: str) -> Version:
    try:
        return Version(text)
    except (InvalidVersion, ValueError) as exc:  # ValueError: int() digit limit on huge numbers
        raise _Bad(f"invalid version {text!r}") from exc


@lru_cache(maxsize=4096)
def _expand_tags(python_tag: str, abi_tag: str, platform_tag: str) -> frozenset[Tag]:
    interpreters = python_tag.split(".")
    abis = abi_tag.split(".")
    platforms = platform_tag.split(".")
    for kind, parts in (("Python", interpreters), ("ABI", abis), ("platform", platforms)):
        if "" in parts:
            raise _Bad(f"empty component in {kind} tag set")
    for interpreter in interpreters:
        # PEP 825: "The Python tag component MUST NOT start with a digit".
        if interpreter[0].isdigit():
            raise _Bad(f"Python tag {interpreter!r} starts with a digit (PEP 825)")
        if not interpreter.isidentifier():
            raise _Bad(f"Python tag {interpreter!r} is not an identifier")
    count = len(interpreters) * len(abis) * len(platforms)
    if count > MAX_TAGS:
        raise _Bad(f"compressed tag set expands to {count} tags (limit {MAX_TAGS})")
    return frozenset(Tag(i, a, p) for i in interpreters for a in abis for p in platforms)


def _parse_build(build: str) -> tuple[int, str]:
    end = 0
    while end < len(build) and "0" <= build[end] <= "9":
        end += 1
    if end == 0:
        raise _Bad(f"build tag {build!r} must start with a digit")
    try:
        return int(build[:end]), build[end:]
    except ValueError as exc:  # more digits than int() accepts
        raise _Bad(f"build tag {build!r} is too long") from exc


def _check_name(name: str) -> None:
    if not name or "__" in name or _WHEEL_NAME_RE.fullmatch(name) is None:
        raise _Bad(f"invalid project name {name!r}")


def parse_wheel_filename(text: str) -> WheelFilename:
    """Parse a bare wheel filename (no directory, already URL-unquoted).

    Raises ``InvalidFilename`` naming the filename and the reason; nothing else escapes.
    """
    if not isinstance(text, str):
        raise InvalidFilename(f"invalid wheel filename {text!r}: not a string")
    return _parse_wheel_filename(text)


@lru_cache(maxsize=16384)
def _parse_wheel_filename(text: str) -> WheelFilename:
    if not text.endswith(WHEEL_SUFFIX):
        raise _fail(text, "extension must be '.whl'")
    if _UNSAFE_RE.search(text):
        raise _fail(text, "contains a path separator, whitespace or control character")
    parts = text[: -len(WHEEL_SUFFIX)].split("-")
    count = len(parts)
    if count not in (5, 6, 7):
        raise _fail(text, f"expected 5 to 7 '-'-separated parts, got {count}")
    label: str | None = None
    build_text: str | None = None
    if count == 7:
        build_text, label = parts[2], parts[6]
        tag_parts = parts[3:6]
    elif count == 6:
        # PEP 817 "Wheel filename": a build tag iff the third part starts with a digit.
        if "0" <= parts[2][:1] <= "9":
            build_text = parts[2]
            tag_parts = parts[3:6]
        else:
            label = parts[5]
            tag_parts = parts[2:5]
    else:
        tag_parts = parts[2:5]
    try:
        _check_name(parts[0])
        version = _parse_version(parts[1])
        build: tuple[int, str] | tuple[()] = (
            _parse_build(build_text) if build_text is not None else ()
        )
        tags = _expand_tags(*tag_parts)
    except _Bad as exc:
        raise _fail(text, str(exc)) from None
    if label is not None:
        try:
            validate_label(label)
        except InvalidLabel as exc:
            raise _fail(text, str(exc)) from None
    return WheelFilename(
        name=parts[0],
        project=_canonical_name(parts[0]),
        version=version,
        build=build,
        python_tag=tag_parts[0],
        abi_tag=tag_parts[1],
        platform_tag=tag_parts[2],
        label=label,
        tags=tags,
        filename=text,
    )


def _version_of(version: str | Version, what: str) -> Version:
    if isinstance(version, Version):
        return version
    try:
        return _parse_version(str(version))
    except _Bad as exc:
        raise InvalidFilename(f"invalid {what}: {exc}") from None


def is_project_name(name: str) -> bool:
    """A valid project name (PEP 508 "Names": ASCII letters and digits, with ``._-`` only
    inside). packaging's requirement parser also accepts a trailing ``_``, ``-`` or ``.``."""
    return _PROJECT_NAME_RE.fullmatch(name) is not None


def variants_json_filename(name: str, version: str | Version) -> str:
    """``{name}-{version}-variants.json`` with wheel-style escaping (PEP 817 "Index level").

    The name is lowercased with runs of ``-_.`` replaced by ``_``; the version is PEP 440
    normalised: ``("Foo.Bar", "1.0.0")`` -> ``foo_bar-1.0.0-variants.json``.
    """
    if not isinstance(name, str) or not is_project_name(name):
        raise InvalidFilename(
            f"cannot name variants.json for project {name!r}: not a valid project name"
        )
    ver = _version_of(version, f"variants.json version for {name!r}")
    escaped = _NAME_ESCAPE_RE.sub("_", name).lower()
    return f"{escaped}-{ver}{VARIANTS_JSON_SUFFIX}"


def parse_variants_json_filename(text: str) -> tuple[NormalizedName, Version]:
    """Parse ``{name}-{version}-variants.json`` into (canonical name, version)."""
    if not isinstance(text, str):
        raise InvalidFilename(f"invalid variants.json filename {text!r}: not a string")
    return _parse_variants_json_filename(text)


@lru_cache(maxsize=1024)
def _parse_variants_json_filename(text: str) -> tuple[NormalizedName, Version]:
    if not text.endswith(VARIANTS_JSON_SUFFIX):
        raise InvalidFilename(
            f"invalid variants.json filename {text!r}: must end with {VARIANTS_JSON_SUFFIX!r}"
        )
    if _UNSAFE_RE.search(text):
        raise InvalidFilename(
            f"invalid variants.json filename {text!r}: contains a path separator, "
            "whitespace or control character"
        )
    parts = text[: -len(VARIANTS_JSON_SUFFIX)].split("-")
    if len(parts) != 2:
        raise InvalidFilename(
            f"invalid variants.json filename {text!r}: expected '{{name}}-{{version}}"
            f"{VARIANTS_JSON_SUFFIX}', got {len(parts)} '-'-separated parts before the suffix"
        )
    try:
        _check_name(parts[0])
        version = _parse_version(parts[1])
    except _Bad as exc:
        raise InvalidFilename(f"invalid variants.json filename {text!r}: {exc}") from None
    return _canonical_name(parts[0]), version


def is_variants_json_filename(text: str) -> bool:
    """True when ``text`` is a well-formed ``{name}-{version}-variants.json`` filename."""
    if not isinstance(text, str) or not text.endswith(VARIANTS_JSON_SUFFIX):
        return False
    try:
        parse_variants_json_filename(text)
    except InvalidFilename:
        return False
    return True


def is_variant_json_member(name: str) -> bool:
    """True for the archive path of a wheel's ``variant.json``: PEP 817 §"variant.json" puts it
    in the wheel's top-level ``*.dist-info/`` directory (``pkg-1.0.dist-info/variant.json``)."""
    head, sep, tail = name.partition("/")
    return (
        bool(sep)
        and tail == "variant.json"
        and head.endswith(".dist-info")
        and head != ".dist-info"
    )
