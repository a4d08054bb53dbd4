"""``$schema`` URLs: generation, version negotiation (PEP 825 §"Variant metadata" versioning)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from varwheel.errors import InvalidMetadata, UnsupportedSchema
from varwheel.spec.model import SCHEMA_V0_2_0, SchemaGeneration
from varwheel.spec.schema import (
    PEP817_UNVERSIONED,
    PEP817_V0_0_2,
    PEP817_V0_0_3,
    PEP825_V0_1_0,
    PEP825_V0_1_1,
    VARIANTLIB_V0_2_0,
    identify_schema,
)

HOST = "https://variants-schema.wheelnext.dev/"


@pytest.mark.parametrize(
    ("url", "generation", "version"),
    [
        (SCHEMA_V0_2_0, SchemaGeneration.PROVIDERS, (0, 2, 0)),
        (VARIANTLIB_V0_2_0, SchemaGeneration.PROVIDERS, (0, 2, 0)),
        (PEP825_V0_1_0, SchemaGeneration.PEP825, (0, 1, 0)),
        (PEP825_V0_1_1, SchemaGeneration.PEP825, (0, 1, 1)),
        (PEP817_V0_0_2, SchemaGeneration.PEP817, (0, 0, 2)),
        (PEP817_V0_0_3, SchemaGeneration.PEP817, (0, 0, 3)),
        (PEP817_UNVERSIONED, SchemaGeneration.PEP817, None),
    ],
)
def test_known_urls(
    url: str, generation: SchemaGeneration, version: tuple[int, int, int] | None
) -> None:
    info = identify_schema(url)
    assert (info.generation, info.version) == (generation, version)
    assert info.is_canonical is (url == SCHEMA_V0_2_0)
    # only variantlib's non-canonical URL for the same shape earns a note
    assert bool(info.warnings) is (url == VARIANTLIB_V0_2_0)


@pytest.mark.parametrize(
    ("url", "generation", "read_as"),
    [
        (HOST + "peps/850/v0.3.0.json", SchemaGeneration.PROVIDERS, "v0.2.0"),
        (HOST + "peps/850/v0.2.7.json", SchemaGeneration.PROVIDERS, "v0.2.0"),
        (HOST + "peps/825/v0.1.9.json", SchemaGeneration.PEP825, "v0.1.1"),
        (HOST + "v0.0.4.json", SchemaGeneration.PEP817, "v0.0.3"),
    ],
)
def test_newer_minor_or_patch_reads_as_the_newest_known_with_a_warning(
    url: str, generation: SchemaGeneration, read_as: str
) -> None:
    info = identify_schema(url)
    assert info.generation is generation
    (warning,) = info.warnings
    assert "newer than the supported" in warning and f"reading it as {read_as}" in warning


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (HOST + "peps/850/v1.0.0.json", "schema major version 1 is not supported"),
        (HOST + "peps/850/v0.1.0.json", "unknown schema version v0.1.0"),
        (HOST + "v0.0.1.json", "unknown schema version v0.0.1"),
        (HOST + "peps/999/v0.2.0.json", "unknown schema URL"),
        ("http://variants-schema.wheelnext.dev/v0.0.3.json", "unknown schema URL"),
        (HOST + "peps/850/v0.2.0.json#", "unknown schema URL"),
    ],
)
def test_unsupported(url: str, message: str) -> None:
    with pytest.raises(UnsupportedSchema, match=message) as info:
        identify_schema(url, source="f.json")
    assert str(info.value).startswith("f.json: $schema: ")


def test_long_urls_are_shortened_in_messages() -> None:
    url = HOST + "peps/850/v0.2." + "9" * 50 + ".json" + "x" * 500
    with pytest.raises(UnsupportedSchema) as info:
        identify_schema(url)
    assert len(str(info.value)) < 300 and "..." in str(info.value)


@given(st.one_of(st.text(max_size=80), st.integers(), st.none(), st.lists(st.text(max_size=3))))
def test_any_value_is_identified_or_refused_cleanly(value: object) -> None:
    try:
        info = identify_schema(value)
    except InvalidMetadata as err:
        assert str(err).startswith("$schema: ") and "\n" not in err.reason
    else:
        assert info.url == value and isinstance(value, str) and value.startswith(HOST)
