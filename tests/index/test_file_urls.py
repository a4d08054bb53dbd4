"""``file://`` URLs made from local paths decode back to the same path (once, not twice)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from varwheel.index.http import file_url_path
from varwheel.index.links import filename_of

_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1
).filter(lambda s: s not in (".", ".."))


@given(_names)
def test_round_trip(name: str) -> None:
    path = Path("/tmp/dir with space") / name
    assert file_url_path(path.as_uri()) == path
    assert filename_of(path.as_uri()) == name
