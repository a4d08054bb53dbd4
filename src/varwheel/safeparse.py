"""Parsing untrusted text without Python's own limits escaping as tracebacks.

Each reader of user or index input turns these into its own one-line error class
(``InvalidProfile``, ``InvalidMetadata``, ``InvalidIndexPage``, ...):

- integers longer than ``sys.get_int_max_str_digits()`` (4,300 by default): ``int()`` raises a
  bare ``ValueError`` from TOML integers, JSON numbers and every PEP 440 version that
  ``packaging`` parses (release segments, marker comparisons, specifiers);
- ``RecursionError`` from nesting (``tomllib`` recurses per array / inline-table level);
- NUL bytes and over-long names in paths (``ValueError`` / ``ENAMETOOLONG`` from ``os``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any


class TomlError(ValueError):
    """TOML text that cannot be read; ``str()`` is the one-line reason. (Not a subclass of
    ``tomllib.TOMLDecodeError``: tomllib is imported only when TOML is read, for start-up.)"""


def max_digits() -> int:
    """The longest decimal integer ``int()`` converts here (0 = no limit)."""
    getter = getattr(sys, "get_int_max_str_digits", None)
    return int(getter()) if getter is not None else 0


@lru_cache(maxsize=4)
def _long_number_re(limit: int) -> re.Pattern[str]:
    # int() accepts any Unicode decimal digit, and PEP 440 release numbers may use "_" nowhere,
    # but TOML integers may: count digit runs with underscores between them
    return re.compile(rf"\d(?:_?\d){{{limit},}}")


def long_number(text: str) -> str | None:
    """The first run of more digits than ``int()`` converts (shortened for messages), or None.

    ``packaging`` turns every version it compares into integers, so such a number anywhere in a
    requirement, specifier or marker fails later with a bare ``ValueError``; callers refuse it
    up front with their own error naming the input.
    """
    limit = max_digits()
    if not limit or len(text) <= limit:
        return None
    found = _long_number_re(limit).search(text)
    if found is None:
        return None
    digits = found.group()
    return f"{digits[:12]}...({len(digits)} digits)"


def too_long_number_reason(text: str) -> str | None:
    """``"a number with more than N digits (123...)"`` when ``text`` holds one, else None."""
    found = long_number(text)
    if found is None:
        return None
    return f"a number with more than {max_digits()} digits ({found})"


def toml_loads(text: str | bytes) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is a :class:`TomlError` (bytes must be UTF-8)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return tomllib.loads(text)
    except TomlError:
        raise
    except tomllib.TOMLDecodeError as err:
        raise TomlError(str(err).splitlines()[0] if str(err) else "invalid TOML") from None
    except UnicodeDecodeError as err:
        raise TomlError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise TomlError("nested too deeply") from None
    except ValueError as err:  # int() digit limit on a huge integer
        reason = too_long_number_reason(text) or str(err).split(";")[0]
        raise TomlError(f"holds {reason}") from None


def json_int(text: str) -> int | float:
    """``parse_int`` for ``json.loads``: an integer with more digits than ``int()`` converts is
    read as a float (never a valid count, size or version), so the parser never raises."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def path_problem(text: str) -> str | None:
    """Why ``text`` can never name a file on this system, or None (checked before any ``os``
    call, whose ``ValueError: embedded null byte`` would otherwise escape)."""
    if "\x00" in text:
        return "the path contains a NUL byte"
    try:
        os.fsencode(text)
    except UnicodeError:  # a lone surrogate the file system encoding cannot carry
        return "the path is not valid in the file system's encoding"
    return None


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Suspend the cyclic garbage collector while a large document is parsed into acyclic
    containers: CPython would otherwise rescan the growing heap again and again (half the time
    of loading a 10 MB ``*-variants.json``). Nesting and threads are counted; the previous
    state is restored by the last one out."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
