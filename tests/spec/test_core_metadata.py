"""spec.core_metadata answers exactly as packaging.metadata.parse_email, with or without its
fast path: on generated documents (hypothesis) and on every METADATA/PKG-INFO on this machine."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from packaging.metadata import parse_email

from varwheel.spec import core_metadata
from varwheel.spec.core_metadata import parse_core_metadata_bytes

FIELDS = [
    "Metadata-Version", "Name", "name", "Version", "Summary", "Requires-Dist", "requires-dist",
    "Provides-Extra", "Requires-Python", "Keywords", "Project-URL", "Classifier", "Import-Name",
    "Dynamic", "License-File", "Description", "X-Unknown", "Content-Type", "From", "",
]  # fmt: skip

_value = st.lists(
    st.sampled_from([*"ab ,:\t=?é\n\r\x0c", "1.0", "x; extra == 'a'", "https://u"]),
    max_size=12,
).map("".join)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["header", "header", "header", "fold", "junk"]))
        if kind == "header":
            lines.append(f"{draw(st.sampled_from(FIELDS))}:{draw(_value)}")
        elif kind == "fold":
            lines.append(draw(st.sampled_from([" ", "\t", "        |"])) + draw(_value))
        else:
            lines.append(draw(_value))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text += "\n\n" + draw(_value)
    raw = text.encode("utf-8")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=4))
    return raw


def _same(data: bytes) -> None:
    expected = parse_email(data)
    assert parse_core_metadata_bytes(data) == expected
    try:  # the fast path itself, where it accepts the document
        fast = core_metadata._parse_simple(data)
    except core_metadata._NotSimple:
        return
    assert fast == expected


@given(documents())
@example(b"Name: a\n  b\nVersion:\n\tc\n\nbody\n\nmore")
@example(b"Name: a\nName: b\nKeywords: x, y ,z\nProject-URL: a, b\nProject-URL: a, c\n")
@example(b"Import-Name:\nDescription: d\n\nbody")
@example(b"\nName: not a header: body")
def test_generated_documents_parse_as_packaging_does(data: bytes) -> None:
    _same(data)


def _metadata_files() -> list[Path]:
    roots = {Path(p) for p in (*site.getsitepackages(), site.getusersitepackages())}
    roots.add(Path(subprocess.__file__).parent / "site-packages")
    found: list[Path] = []
    for root in sorted(roots):
        if root.is_dir():
            found += sorted(root.glob("*.dist-info/METADATA"))
            found += sorted(root.glob("*.egg-info/PKG-INFO"))
    return found


def test_every_installed_metadata_parses_as_packaging_does() -> None:
    files = _metadata_files()
    assert len(files) >= 20, (sys.prefix, files)  # this venv has pytest, hypothesis, build, ...
    fast = 0
    for path in files:
        data = path.read_bytes()
        _same(data)
        try:
            core_metadata._parse_simple(data)
            fast += 1
        except core_metadata._NotSimple:
            pass
    assert fast >= len(files) * 3 // 4, (fast, len(files))  # the common shape takes the fast path
