"""Which project, version and kind a listed filename belongs to, and whether it is safe to write.

Only the cheap splitting the index layer needs; full wheel-filename validation is
``varwheel.spec.filenames`` (the resolver's job).
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from varwheel.spec.filenames import VARIANTS_JSON_SUFFIX

WHEEL = "wheel"
SDIST = "sdist"
VARIANTS_JSON = "variants.json"

_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")


def is_safe_filename(filename: str) -> bool:
    """A bare file name that cannot escape a directory or hide (no separators, ``..``, NUL), and
    prints as itself (no control characters: names end up in messages on a terminal)."""
    return bool(
        filename
        and filename.isprintable()
        and filename not in (".", "..")
        and not filename.startswith(".")
        and "/" not in filename
        and "\\" not in filename
        and "\x00" not in filename
        and ":" not in filename
    )


def file_kind(filename: str) -> str | None:
    """``wheel``, ``sdist``, ``variants.json`` or None for anything else an index page links."""
    if filename.endswith(".whl"):
        return WHEEL
    if filename.endswith(VARIANTS_JSON_SUFFIX):
        return VARIANTS_JSON
    if filename.endswith(_SDIST_SUFFIXES):
        return SDIST
    return None


def project_and_version(filename: str) -> tuple[str, str] | None:
    """Canonical project name and version text of a distribution filename, if it has them."""
    kind = file_kind(filename)
    if kind == WHEEL:
        parts = filename[: -len(".whl")].split("-")
        if not 5 <= len(parts) <= 7:
            return None
        return canonicalize_name(parts[0]), parts[1]
    if kind == VARIANTS_JSON:
        parts = filename[: -len(VARIANTS_JSON_SUFFIX)].split("-")
        if len(parts) != 2 or not all(parts):
            return None
        return canonicalize_name(parts[0]), parts[1]
    if kind == SDIST:
        stem = next(filename[: -len(s)] for s in _SDIST_SUFFIXES if filename.endswith(s))
        # Old sdists may have dashes in the name: the version starts at the last dash before a digit.
        for i in range(len(stem) - 1, 0, -1):
            if stem[i] == "-" and stem[i + 1 : i + 2].isdigit():
                return canonicalize_name(stem[:i]), stem[i + 1 :]
    return None


def belongs_to(filename: str, project: str) -> bool:
    """True when ``filename`` is a distribution file of canonical ``project``."""
    found = project_and_version(filename)
    return found is not None and found[0] == project
