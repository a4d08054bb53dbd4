"""resolvelib identifiers and requirement handling of the provider."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from varwheel.resolve.provider import identifier, split_identifier

NAME = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)
EXTRA = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)


@settings(max_examples=40)
@given(NAME, st.lists(EXTRA, max_size=4))
def test_identifier_round_trips(name: str, extras: list[str]) -> None:
    ident = identifier(name, extras)
    got_name, got_extras = split_identifier(ident)
    assert got_name == canonicalize_name(name)
    assert got_extras == {canonicalize_name(e) for e in extras}
    # order and spelling of extras do not change the identifier
    assert identifier(name.upper(), reversed(extras)) == ident


@settings(max_examples=40)
@given(NAME, st.lists(EXTRA, max_size=3))
def test_identifier_matches_requirement_parse(name: str, extras: list[str]) -> None:
    text = name + (f"[{','.join(extras)}]" if extras else "") + ">=1"
    req = Requirement(text)
    assert identifier(req.name, req.extras) == identifier(name, extras)
