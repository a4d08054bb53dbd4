"""Wheel filenames with variant labels and ``*-variants.json`` names (PEP 817 / PEP 825)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename
from packaging.utils import parse_wheel_filename as packaging_parse
from packaging.version import Version
from variantlib.constants import VALIDATION_WHEEL_NAME_REGEX

from varwheel.errors import InvalidFilename, InvalidLabel, VarwheelError
from varwheel.spec.filenames import (
    MAX_TAGS,
    is_project_name,
    is_variant_json_member,
    is_variants_json_filename,
    parse_variants_json_filename,
    parse_wheel_filename,
    variants_json_filename,
)
from varwheel.spec.properties import VariantProperty, check_label_matches

HREF_RE = re.compile(r'href="([^"]+)"')


def index_links(real_index_dir: Path) -> list[str]:
    """Every link target (bare, unquoted filename) of the real index's project pages."""
    names: list[str] = []
    for page in sorted(real_index_dir.glob("*/index.html")):
        for href in HREF_RE.findall(page.read_text(encoding="utf-8")):
            names.append(unquote(href.split("#", 1)[0].rsplit("/", 1)[-1]))
    return names


@pytest.fixture(scope="module")
def real_wheel_names(real_index_dir: Path) -> list[str]:
    names = [n for n in index_links(real_index_dir) if n.endswith(".whl")]
    assert len(names) > 10_000
    return names


def packaging_result(name: str) -> tuple[object, ...] | None:
    try:
        return packaging_parse(name)
    except InvalidWheelFilename:
        return None


def ours(name: str) -> tuple[object, ...] | None:
    try:
        wf = parse_wheel_filename(name)
    except InvalidFilename:
        return None
    return (wf.project, wf.version, wf.build, wf.tags)


# --- conformance checklist (shared/reference/spec-digest.md §10) ------------------------------


def test_checklist_01_label_is_last_component_before_whl() -> None:
    six = parse_wheel_filename("numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl")
    assert (six.label, six.build, six.platform_tag) == ("x86_64_v3", (), "musllinux_1_2_x86_64")
    seven = parse_wheel_filename("numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl")
    assert (seven.label, seven.build, seven.python_tag) == ("x86_64_v3", (1, ""), "cp313")
    plain = parse_wheel_filename("numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl")
    assert plain.label is None and not plain.is_variant
    assert six.is_variant and seven.is_variant


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("X86", "uppercase"),
        ("", "empty"),
        ("a b", "whitespace"),
        ("cu+12", "plus"),
        ("é", "non-ascii"),
    ],
)
def test_checklist_02_label_grammar_rejects(label: str, why: str) -> None:
    name = f"foo-1.0-py3-none-any-{label}.whl"
    with pytest.raises(InvalidFilename, match=re.escape(repr(name))):
        parse_wheel_filename(name)


def test_checklist_02_label_dash_changes_part_count() -> None:
    # A '-' inside a label makes 7 parts whose third is not a build tag.
    with pytest.raises(InvalidFilename, match="build tag 'py3' must start with a digit"):
        parse_wheel_filename("foo-1.0-py3-none-any-cu-12.whl")


def test_checklist_02_label_length_uncapped_per_pep_825() -> None:
    # PEP 817 capped labels at 16 characters; PEP 825 (and variantlib 0.2.2) dropped the cap.
    label = "a" * 17 + "._0" * 20
    assert parse_wheel_filename(f"foo-1.0-py3-none-any-{label}.whl").label == label
    assert parse_wheel_filename("foo-1.0-py3-none-any-0.9_z.whl").label == "0.9_z"


def test_checklist_03_null_label_means_empty_property_set() -> None:
    wf = parse_wheel_filename("numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64-null.whl")
    assert wf.label == "null"
    check_label_matches(wf.label, [])
    with pytest.raises(InvalidLabel):
        check_label_matches(wf.label, [VariantProperty.parse("x86_64 :: level :: v3")])
    labelled = parse_wheel_filename("foo-1.0-py3-none-any-v3.whl")
    with pytest.raises(InvalidLabel):
        check_label_matches(labelled.label or "", [])


@pytest.mark.parametrize(
    "name",
    [
        "numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl",
        "numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl",
    ],
)
def test_checklist_05_non_variant_parser_rejects_variant_names(name: str) -> None:
    with pytest.raises(InvalidWheelFilename):
        packaging_parse(name)
    assert parse_wheel_filename(name).label == "x86_64_v3"


def test_checklist_06_six_parts_build_tag_iff_digit() -> None:
    build = parse_wheel_filename("foo-1.0-7-py3-none-any.whl")
    assert (build.build, build.label, build.python_tag) == ((7, ""), None, "py3")
    build_rest = parse_wheel_filename("foo-1.0-12abc-py3-none-any.whl")
    assert build_rest.build == (12, "abc")
    label = parse_wheel_filename("foo-1.0-py3-none-any-7.whl")
    assert (label.build, label.label, label.python_tag) == ((), "7", "py3")
    # A third part starting with a digit is always a build tag, whatever follows (PEP 825 makes
    # this unambiguous): the rest is then read as python-abi-platform.
    odd = parse_wheel_filename("foo-1.0-3x-none-any-lbl.whl")
    assert (odd.build, odd.python_tag, odd.abi_tag, odd.platform_tag, odd.label) == (
        (3, "x"),
        "none",
        "any",
        "lbl",
        None,
    )


@pytest.mark.parametrize(
    "name",
    [
        "foo-1.0-3py-none-any.whl",
        "foo-1.0-1-3py-none-any-lbl.whl",
        "foo-1.0-1-3py-none-any.whl",
        "foo-1.0-py3.3x-none-any.whl",
    ],
)
def test_checklist_07_python_tag_starting_with_digit_rejected(name: str) -> None:
    with pytest.raises(InvalidFilename, match=r"starts with a digit \(PEP 825\)"):
        parse_wheel_filename(name)


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("foo-bar", "1.0", "foo_bar-1.0-variants.json"),
        ("Foo.Bar", "1.0.0", "foo_bar-1.0.0-variants.json"),
        ("Foo__-.Bar", "1.0.0", "foo_bar-1.0.0-variants.json"),
        ("nvidia-cublas", "12.6.4.1", "nvidia_cublas-12.6.4.1-variants.json"),
        ("torch", "V2.8.0-RC1", "torch-2.8.0rc1-variants.json"),
        ("torch", "2.8.0+CU128", "torch-2.8.0+cu128-variants.json"),
        ("x", Version("1.0.post0"), "x-1.0.post0-variants.json"),
    ],
)
def test_checklist_27_variants_json_name_normalised(
    name: str, version: str | Version, expected: str
) -> None:
    assert variants_json_filename(name, version) == expected
    project, parsed_version = parse_variants_json_filename(expected)
    assert parsed_version == Version(str(version))
    assert variants_json_filename(project, parsed_version) == expected
    assert is_variants_json_filename(expected)


# --- details of the grammar -------------------------------------------------------------------


def test_fields_and_compressed_tag_set() -> None:
    wf = parse_wheel_filename("Foo.Bar-1.0-py2.py3-none-any.whl")
    assert wf.name == "Foo.Bar" and wf.project == "foo-bar"
    assert wf.version == Version("1.0")
    assert wf.tags == {Tag("py2", "none", "any"), Tag("py3", "none", "any")}
    assert wf.filename == "Foo.Bar-1.0-py2.py3-none-any.whl" == str(wf)


def test_str_is_canonical_and_with_label() -> None:
    wf = parse_wheel_filename("foo-01.0-007b-py3-none-any.whl")
    assert str(wf) == "foo-1.0-7b-py3-none-any.whl"
    labelled = wf.with_label("cu128")
    assert labelled.label == "cu128" and labelled.filename == "foo-1.0-7b-py3-none-any-cu128.whl"
    assert parse_wheel_filename(labelled.filename) == labelled
    assert labelled.with_label(None).filename == "foo-1.0-7b-py3-none-any.whl"
    assert labelled.with_label("null").label == "null"
    with pytest.raises(InvalidFilename, match=re.escape("cannot label wheel 'foo-01.0-007b")):
        wf.with_label("CU128")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("x.whl", "expected 5 to 7 '-'-separated parts, got 1"),
        ("a-1-b-c-d-e-f-g.whl", "expected 5 to 7 '-'-separated parts, got 8"),
        ("foo-1.0-py3-none-any.zip", "extension must be '.whl'"),
        ("foo-1.0-py3-none-any.WHL", "extension must be '.whl'"),
        ("foo-one-py3-none-any.whl", "invalid version 'one'"),
        ("foo-1.0-x-py3-none-any-lbl.whl", "build tag 'x' must start with a digit"),
        ("fo__o-1.0-py3-none-any.whl", "invalid project name 'fo__o'"),
        ("-1.0-py3-none-any.whl", "invalid project name ''"),
        ("foo-1.0-py3-none-.whl", "empty component in platform tag set"),
        ("foo-1.0-py3-none.-any.whl", "empty component in ABI tag set"),
        ("foo-1.0-py3.-none-any.whl", "empty component in Python tag set"),
        ("foo-1.0-py$-none-any.whl", "not an identifier"),
        ("foo-1.0-py3-none-../../x.whl", "path separator"),
        ("foo-1.0-py3-none-a ny.whl", "path separator, whitespace"),
        ("foo-1.0-py3-none-any\x00.whl", "control character"),
        ("foo-1.0-py3-none-any-" + "9" * 5000 + ".whl", None),
        ("foo-1.0-" + "9" * 5000 + "-py3-none-any.whl", "too long"),
        ("foo-" + "1" * 5000 + "-py3-none-any.whl", "invalid version"),
    ],
)
def test_invalid_names_raise_invalid_filename_naming_file(name: str, reason: str | None) -> None:
    if reason is None:  # a long, valid label: accepted (no cap in PEP 825)
        assert parse_wheel_filename(name).label == "9" * 5000
        return
    with pytest.raises(InvalidFilename) as info:
        parse_wheel_filename(name)
    message = str(info.value)
    assert message.startswith(f"invalid wheel filename {name!r}: ")
    assert reason in message
    assert "\n" not in message


def test_tag_explosion_is_bounded() -> None:
    comp = ".".join(f"p{i}" for i in range(20))
    ok = parse_wheel_filename(f"foo-1.0-{comp}-{comp}-x.whl")
    assert len(ok.tags) == 400
    with pytest.raises(InvalidFilename, match=f"limit {MAX_TAGS}"):
        parse_wheel_filename(f"foo-1.0-{comp}-{comp}-{comp}.whl")


def test_non_string_input() -> None:
    with pytest.raises(InvalidFilename):
        parse_wheel_filename(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidFilename):
        parse_variants_json_filename(["x"])  # type: ignore[arg-type]
    assert not is_variants_json_filename(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "foo-variants.json",
        "foo-bar-1.0-variants.json",
        "foo-1.0-variants.jsonx",
        "foo-one-variants.json",
        "f__o-1.0-variants.json",
        "../foo-1.0-variants.json",
        "-1.0-variants.json",
    ],
)
def test_invalid_variants_json_names(name: str) -> None:
    assert not is_variants_json_filename(name)
    with pytest.raises(InvalidFilename, match=re.escape(repr(name))):
        parse_variants_json_filename(name)


@pytest.mark.parametrize(("name", "version"), [("-foo", "1.0"), ("foo", "1.0-x"), ("", "1")])
def test_variants_json_filename_rejects_bad_input(name: str, version: str) -> None:
    with pytest.raises(InvalidFilename, match=re.escape(repr(name))):
        variants_json_filename(name, version)


# --- real published data ----------------------------------------------------------------------


def test_every_real_index_wheel_parses(real_wheel_names: list[str]) -> None:
    parsed = [parse_wheel_filename(n) for n in real_wheel_names]
    labels = {wf.label for wf in parsed if wf.label is not None}
    assert sum(wf.is_variant for wf in parsed) == 809
    assert {"null", "00000000", "cu128", "cuda12.8", "rocm6.4", "xpu", "openblas"} <= labels
    assert all(str(wf) == wf.filename for wf in parsed)  # the index uses canonical names


def test_real_index_non_variant_names_match_packaging(real_wheel_names: list[str]) -> None:
    compared = 0
    for name in real_wheel_names:
        wf = parse_wheel_filename(name)
        if wf.label is None:
            assert packaging_result(name) == (wf.project, wf.version, wf.build, wf.tags), name
            compared += 1
        else:
            assert packaging_result(name) is None, name  # checklist 5 on real data
    assert compared > 9000


def test_real_index_variant_names_match_variantlib(real_wheel_names: list[str]) -> None:
    for name in real_wheel_names:
        wf = parse_wheel_filename(name)
        match = VALIDATION_WHEEL_NAME_REGEX.fullmatch(name)
        assert match is not None, name
        build = f"{wf.build[0]}{wf.build[1]}" if wf.build else None
        assert (wf.name, wf.version, build, wf.python_tag, wf.abi_tag, wf.platform_tag) == (
            match["name"],
            Version(match["ver"]),
            match["build"],
            match["pyver"],
            match["abi"],
            match["plat"],
        )
        assert wf.label == match["variant_label"], name


def test_real_index_variants_json_names(real_index_dir: Path) -> None:
    links = [n for n in index_links(real_index_dir) if n.endswith(".json")]
    files = sorted(p for p in real_index_dir.glob("*/*.json"))
    assert len(files) == 96 and len(links) >= 96
    for path in files:
        project, version = parse_variants_json_filename(path.name)
        assert project == path.parent.name.replace("_", "-")
        assert variants_json_filename(project, version) == path.name
    for name in links:
        assert is_variants_json_filename(name), name


def test_real_index_every_variant_release_has_its_variants_json(
    real_index_dir: Path, real_wheel_names: list[str]
) -> None:
    present = {p.name for p in real_index_dir.glob("*/*-variants.json")}
    releases = {
        variants_json_filename(wf.project, wf.version)
        for wf in map(parse_wheel_filename, real_wheel_names)
        if wf.is_variant
    }
    assert releases and releases <= present


def test_variantlib_outputs_filenames(variantlib_outputs_dir: Path) -> None:
    text = (variantlib_outputs_dir / "filenames.txt").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"[A-Za-z0-9_.]+-[^\s/<>]*\.whl", text)) - {"<label>.whl"})
    names = [n for n in names if "<" not in n]
    assert len(names) >= 12
    for name in names:
        wf = parse_wheel_filename(name)
        assert wf.project in {"tinypkg", "toy-variant-provider"}
        match = VALIDATION_WHEEL_NAME_REGEX.fullmatch(name)
        assert match is not None and match["variant_label"] == wf.label
    assert parse_variants_json_filename("tinypkg-1.0.0-variants.json") == ("tinypkg", Version("1"))


def test_variantlib_wheels_label_matches_variant_json(variantlib_outputs_dir: Path) -> None:
    wheels = sorted((variantlib_outputs_dir / "wheels").glob("*.whl"))
    labelled = 0
    for path in wheels:
        wf = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if m.endswith(".dist-info/variant.json")]
            if wf.label is None:
                assert members == []
                continue
            doc = json.loads(zf.read(members[0]))
        assert list(doc["variants"]) == [wf.label]
        labelled += 1
    assert labelled == 5


# --- differences from the peers, on purpose ---------------------------------------------------


def test_differs_from_variantlib_where_pep_825_says_so() -> None:
    # variantlib accepts a digit-leading Python tag; PEP 825 forbids it.
    name = "foo-1.0-3py-none-any.whl"
    assert VALIDATION_WHEEL_NAME_REGEX.fullmatch(name) is not None
    with pytest.raises(InvalidFilename):
        parse_wheel_filename(name)
    # variantlib does not check the version at all; a wheel needs a PEP 440 version.
    bad_version = "foo--py3-none-any-lbl.whl"
    assert VALIDATION_WHEEL_NAME_REGEX.fullmatch(bad_version) is not None
    with pytest.raises(InvalidFilename, match="invalid version"):
        parse_wheel_filename(bad_version)


def test_differs_from_packaging_only_on_unsafe_names() -> None:
    # packaging accepts a '/' or a space inside tags; such a name would become a path on disk.
    for name in ("foo-1.0-py3-none-x/y.whl", "foo-1.0-py3-none-a b.whl"):
        assert packaging_result(name) is not None
        with pytest.raises(InvalidFilename):
            parse_wheel_filename(name)


# --- property-based ---------------------------------------------------------------------------

NAME_CHARS = st.sampled_from("abcXYZ019_.")
TAG_CHARS = st.sampled_from("abcz019_")
LABELS = st.from_regex(r"[0-9a-z_.]{1,12}", fullmatch=True)
PY_TAGS = st.from_regex(r"(py|cp|pp)[0-9]{1,3}", fullmatch=True)
VERSIONS = st.builds(
    lambda parts, pre: ".".join(map(str, parts)) + pre,
    st.lists(st.integers(0, 300), min_size=1, max_size=4),
    st.sampled_from(["", "rc1", "a2", ".post1", ".dev0", "+cu128", "+local.7"]),
)


@st.composite
def valid_wheel_names(draw: st.DrawFn) -> str:
    name = draw(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._]{0,10}", fullmatch=True).filter(
            lambda n: "__" not in n
        )
    )
    parts = [name, draw(VERSIONS)]
    if draw(st.booleans()):
        parts.append(str(draw(st.integers(0, 999))) + draw(st.sampled_from(["", "a", "_x"])))
    py = ".".join(draw(st.lists(PY_TAGS, min_size=1, max_size=3)))
    abi = ".".join(
        draw(st.lists(st.text(TAG_CHARS, min_size=1, max_size=8), min_size=1, max_size=2))
    )
    plat = ".".join(
        draw(st.lists(st.text(TAG_CHARS, min_size=1, max_size=12), min_size=1, max_size=2))
    )
    parts += [py, abi, plat]
    if draw(st.booleans()):
        parts.append(draw(LABELS))
    return "-".join(parts) + ".whl"


@st.composite
def near_valid_names(draw: st.DrawFn) -> str:
    alphabet = st.sampled_from("abc019_.+!/ \x00ÉX")
    count = draw(st.integers(3, 8))
    parts = [draw(st.text(alphabet, max_size=8)) for _ in range(count)]
    return "-".join(parts) + draw(st.sampled_from([".whl", ".whl", "-variants.json", ".WHL"]))


@settings(max_examples=100, deadline=None)
@given(valid_wheel_names())
def test_property_round_trip(name: str) -> None:
    wf = parse_wheel_filename(name)
    again = parse_wheel_filename(str(wf))
    assert again == wf
    assert str(again) == str(wf)
    if wf.label is None:
        assert packaging_result(name) == (wf.project, wf.version, wf.build, wf.tags)
    else:
        match = VALIDATION_WHEEL_NAME_REGEX.fullmatch(name)
        assert match is not None and match["variant_label"] == wf.label
        assert wf.with_label(None).with_label(wf.label) == wf


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), near_valid_names()))
def test_property_only_own_errors(text: str) -> None:
    for func in (parse_wheel_filename, parse_variants_json_filename):
        try:
            func(text)
        except InvalidFilename as exc:
            assert isinstance(exc, VarwheelError)
            assert "\n" not in str(exc)
            assert repr(text) in str(exc)
    assert isinstance(is_variants_json_filename(text), bool)


@st.composite
def five_part_names(draw: st.DrawFn) -> str:
    """Five-part names whose parts are each either valid or drawn from a hostile alphabet."""
    junk = st.text(st.sampled_from("abc019_.+!É"), max_size=6)
    name = draw(st.one_of(st.sampled_from(["foo", "Foo.Bar", "a_b", "x1"]), junk))
    version = draw(st.one_of(VERSIONS, junk))
    py = draw(st.one_of(PY_TAGS, st.sampled_from(["py2.py3", "3py", "py3.", "_x"]), junk))
    abi = draw(st.one_of(st.sampled_from(["none", "abi3", "cp313t"]), junk))
    plat = draw(st.one_of(st.sampled_from(["any", "linux_x86_64", "a.b"]), junk))
    return f"{name}-{version}-{py}-{abi}-{plat}.whl"


@settings(max_examples=200, deadline=None)
@given(five_part_names())
def test_property_agrees_with_packaging_on_five_part_names(text: str) -> None:
    assert ours(text) == packaging_result(text), text


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True), VERSIONS)
def test_property_variants_json_round_trip(name: str, version: str) -> None:
    filename = variants_json_filename(name, version)
    project, parsed = parse_variants_json_filename(filename)
    assert parsed == Version(version)
    assert variants_json_filename(project, parsed) == filename
    assert re.fullmatch(r"[a-z0-9_]+", filename.split("-", 1)[0])


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("demo-1.0.dist-info/variant.json", True),
        ("demo-1.0.dist-info/variant.jsonx", False),
        (".dist-info/variant.json", False),
        ("variant.json", False),
        ("demo/demo-1.0.dist-info/variant.json", False),
        ("demo-1.0.dist-info/sub/variant.json", False),
        ("demo-1.0.data/variant.json", False),
    ],
)
def test_variant_json_member(member: str, expected: bool) -> None:
    assert is_variant_json_member(member) is expected


@pytest.mark.parametrize(
    ("name", "valid"),
    [("a", True), ("Foo.Bar-baz_9", True), ("9", True), ("", False), ("foo-", False),
     ("_foo", False), ("foo bar", False), ("foo/bar", False), ("\u212aelvin", False),
     ("caf\u00e9", False), ("foo\n", False)],
)  # fmt: skip
def test_project_names_are_pep_508_ascii(name: str, valid: bool) -> None:
    """PEP 508 "Names": ASCII letters and digits, ``._-`` inside only. The Kelvin sign, which a
    case-insensitive Unicode regex takes for "k", is not a letter here."""
    assert is_project_name(name) is valid
