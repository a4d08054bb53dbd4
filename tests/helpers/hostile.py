"""Hypothesis strategies for hostile input shapes (issue 7 "Inputs"): integers past Python's
4,300-digit ``int()`` limit, NUL and other control characters, very long strings, deep nesting,
invalid UTF-8 and byte order marks. Parser fuzz tests mix these into otherwise plausible input.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from hypothesis import strategies as st

HUGE = "1" + "0" * 4400  # one digit more than int() converts, and then some
LONG = "x" * 5000

# short pieces that reach the failure modes the parsers used to miss
HOSTILE_PIECES: tuple[str, ...] = (
    HUGE,
    "9" * 4301,
    "0" * 4400 + "7",
    "\x00",
    "\x1b[31m",
    "\n",
    "\r",
    "\t",
    "\x7f",
    "\u2028",
    "\ufeff",
    "\udcff",  # a lone surrogate: not encodable as UTF-8 (a file system may take it)
    "\ud800",  # ... and one no file system name can hold
    LONG,
    "/" + "y" * 300,  # a path component past NAME_MAX
    "~nosuchuser_a5/",
    "é",
    "(" * 300,
    ")" * 300,
    "[" * 3000,
    "{" * 3000,
)

HOSTILE_BYTES: tuple[bytes, ...] = (
    b"\xef\xbb\xbf",  # UTF-8 BOM
    b"\xff\xfe",  # UTF-16 LE BOM
    b"\xff",
    b"\xc3",  # truncated sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\x00",
    b"\x80\x80",
)


def _join(parts: list[str]) -> str:
    return "".join(parts)


def _join_bytes(parts: list[bytes]) -> bytes:
    return b"".join(parts)


@cache
def hostile_text(pieces: Sequence[str] = (), *, max_parts: int = 8) -> st.SearchStrategy[str]:
    """Concatenations of plausible ``pieces``, hostile pieces and arbitrary short text."""
    part = st.one_of(
        st.sampled_from(HOSTILE_PIECES),
        st.text(max_size=12),
        *([st.sampled_from(tuple(pieces))] if pieces else []),
    )
    return st.lists(part, min_size=1, max_size=max_parts).map(_join)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@cache
def hostile_bytes(pieces: Sequence[str] = (), *, max_parts: int = 8) -> st.SearchStrategy[bytes]:
    """``hostile_text`` as bytes, with byte order marks and invalid UTF-8 mixed in."""
    part = st.one_of(
        hostile_text(pieces, max_parts=3).map(_encode),
        st.sampled_from(HOSTILE_BYTES),
        st.binary(max_size=8),
    )
    return st.lists(part, min_size=1, max_size=max_parts).map(_join_bytes)


class Raw(str):
    """A JSON token written as is (an integer ``json.dumps`` cannot write, broken nesting)."""


def dumps(value: Any) -> str:
    """JSON text of ``value``; ``Raw`` leaves are written verbatim."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


HOSTILE_JSON_VALUES: tuple[Any, ...] = (
    Raw(HUGE),
    Raw("-" + HUGE),
    Raw(HUGE + ".5e3"),
    Raw("1e999999"),
    Raw("[" * 5000 + "]" * 5000),
    Raw('{"a": ' * 3000 + "1" + "}" * 3000),
    Raw("[" * 900 + "]" * 900),  # deep, yet within the recursion limit
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "line\nbreak",
    "\ufeff",
    LONG,
    "1" * 5000,
    "x >= " + HUGE,
    f"python_version > '{HUGE}'",
    "",
    None,
    True,
    0,
    -1,
    1.5,
    [],
    {},
    ["a", None],
    {"": []},
    {"\x00": ["\x00"]},
)


_SHORT_HOSTILE = hostile_text(max_parts=3)
_HOSTILE_KEY = hostile_text(max_parts=2)
_HOSTILE_JSON = st.one_of(st.sampled_from(HOSTILE_JSON_VALUES), _SHORT_HOSTILE)


@st.composite
def _mutated(draw: st.DrawFn, base: Any) -> Any:
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        node = doc
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            child = node[key]
            if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
                if isinstance(node, dict) and draw(st.integers(0, 4)) == 0:
                    node[draw(_HOSTILE_KEY)] = node.pop(key)  # a hostile key
                else:
                    node[key] = copy.deepcopy(draw(_HOSTILE_JSON))  # never share a constant
                break
            node = child
    return doc


def mutate_json(base: Any) -> st.SearchStrategy[Any]:
    """``base`` (a JSON tree) with up to three values or keys replaced by hostile ones."""
    return _mutated(base)


@st.composite
def _json_bytes(draw: st.DrawFn, base: Any) -> bytes:
    data = _encode(dumps(draw(_mutated(base))))
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(HOSTILE_BYTES)) + data[at:]
    return data


def json_documents(base: Any) -> st.SearchStrategy[bytes]:
    """Mutated ``base`` as UTF-8 JSON bytes, sometimes with a BOM or invalid UTF-8 spliced in."""
    return _json_bytes(base)


TOML_HOSTILE_VALUES: tuple[str, ...] = (
    HUGE,
    "-" + HUGE,
    "1_" + "0" * 4400,
    "0x" + "f" * 5000,
    "[" * 3000 + "]" * 3000,
    "{a = " * 2000 + "1" + "}" * 2000,
    '"\\u0000"',
    '"a\x00b"',
    '"\x1b"',
    f'"{LONG}"',
    f'["{HUGE}"]',
    "1e99999",
    "nan",
    "inf",
    "1979-05-27T07:32:00Z",
    '"""\n"""',
    "[1, 'a']",
)


_LINE_NOISE = hostile_text(max_parts=2)


@st.composite
def _line_bytes(draw: st.DrawFn, valid: tuple[str, ...], hostile: tuple[str, ...]) -> bytes:
    lines = draw(
        st.lists(
            st.one_of(st.sampled_from(valid), st.sampled_from(hostile), _LINE_NOISE),
            min_size=1,
            max_size=6,
        )
    )
    data = _encode("\n".join(lines) + "\n")
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(HOSTILE_BYTES)) + data[at:]
    return data


def line_documents(valid: Sequence[str], hostile: Sequence[str]) -> st.SearchStrategy[bytes]:
    """Line-based text (TOML, requirements files): plausible ``valid`` lines mixed with
    ``hostile`` ones and noise, so a hostile line often follows a valid prefix."""
    return _line_bytes(tuple(valid), tuple(hostile))


TOML_HOSTILE_LINES: tuple[str, ...] = tuple(f"x = {value}" for value in TOML_HOSTILE_VALUES)
