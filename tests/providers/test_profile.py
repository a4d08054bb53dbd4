"""Target profiles: parsing, errors naming file and reason, deterministic dump, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.hostile import HUGE, TOML_HOSTILE_LINES, hostile_text, line_documents
from varwheel.errors import InvalidProfile
from varwheel.providers.profile import dump_profile, load_profile, parse_profile
from varwheel.spec.selection import SupportedProperties

EXAMPLE = """\
[profile]
created-by = "varwheel 0.1.0"

[properties.nvidia]
cuda_version_lower_bound = ["12.8", "12.7"]
sm_arch = ["90_real", "90_virtual"]

[properties.x86_64]
level = ["v3", "v2", "v1"]

[properties.amd]
"""


def test_load_the_documented_format(tmp_path: Path) -> None:
    path = tmp_path / "gpu-box.toml"
    path.write_text(EXAMPLE)
    sp = load_profile(path)
    assert sp.properties == {
        "nvidia": {
            "cuda_version_lower_bound": ("12.8", "12.7"),
            "sm_arch": ("90_real", "90_virtual"),
        },
        "x86_64": {"level": ("v3", "v2", "v1")},
        "amd": {},
    }
    assert list(sp.properties["nvidia"]) == ["cuda_version_lower_bound", "sm_arch"]
    assert sp.unavailable == {}


def test_dump_is_deterministic_and_round_trips() -> None:
    sp = parse_profile(EXAMPLE)
    text = dump_profile(sp, created_by="varwheel 0.1.0")
    assert text == dump_profile(parse_profile(text), created_by="varwheel 0.1.0")
    assert text.index("[properties.amd]") < text.index("[properties.nvidia]")  # namespaces sorted
    assert parse_profile(text).properties == sp.properties
    assert text.startswith('[profile]\ncreated-by = "varwheel 0.1.0"\n')


def test_dump_keeps_feature_and_value_order() -> None:
    text = dump_profile({"ns": {"zeta": ("b", "a"), "alpha": ("y", "x")}}, created_by="t")
    assert text.index("zeta") < text.index("alpha")
    assert parse_profile(text).properties["ns"] == {"zeta": ("b", "a"), "alpha": ("y", "x")}


def test_default_created_by_names_varwheel() -> None:
    from varwheel import __version__

    assert f'created-by = "varwheel {__version__}"' in dump_profile(SupportedProperties({}, {}))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[properties.nvidia\n", "invalid TOML"),
        ("[propertes.nvidia]\nx = ['1']\n", "unknown top-level key 'propertes'"),
        ("properties = 3\n", "'properties' must be a table"),
        ("profile = 'x'\n", "'profile' must be a table"),
        ("[profile]\ncreated-by = 1\n", "profile.created-by must be a string"),
        ("[properties.Nvidia]\n", "properties.Nvidia: invalid namespace 'Nvidia'"),
        ("[properties]\nnvidia = 1\n", "properties.nvidia must be a table of features"),
        ("[properties.nvidia]\n'sm-arch' = ['90']\n", "invalid feature name 'sm-arch'"),
        (
            "[properties.nvidia]\nsm_arch = '90'\n",
            "properties.nvidia.sm_arch must be a list of strings",
        ),
        ("[properties.nvidia]\nsm_arch = [90]\n", "must be a list of strings"),
        ("[properties.nvidia]\nsm_arch = ['9.0-real']\n", "invalid value '9.0-real'"),
        ("[properties.nvidia]\nsm_arch = ['90', '90']\n", "duplicate values"),
    ],
)
def test_errors_name_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidProfile) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidProfile, match=r"nope\.toml: cannot read profile"):
        load_profile(tmp_path / "nope.toml")


def test_unknown_keys_inside_profile_header_are_ignored() -> None:
    assert parse_profile("[profile]\nhost = 'gpu01'\n").properties == {}


_name = st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True)
_value = st.from_regex(r"[a-z0-9_.]{1,8}", fullmatch=True)
_tree = st.dictionaries(
    _name, st.dictionaries(_name, st.lists(_value, unique=True, max_size=4), max_size=4), max_size=4
)


@settings(max_examples=40, deadline=None)
@given(_tree)
def test_round_trip_any_supported_set(tree: dict[str, dict[str, list[str]]]) -> None:
    sp = SupportedProperties(tree, {})
    again = parse_profile(dump_profile(sp, created_by="x"))
    assert again.properties == sp.properties
    for ns in tree:
        assert list(again.properties[ns]) == list(tree[ns])


@given(st.text(max_size=60))
def test_parser_only_raises_invalid_profile(text: str) -> None:
    try:
        sp = parse_profile(text)
    except InvalidProfile as exc:
        assert str(exc).startswith("<profile>: ")
    else:
        assert isinstance(sp, SupportedProperties)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe[properties]\n", "invalid TOML"),
        (b"\xef\xbb\xbf[properties]\n", "invalid TOML"),
        (b"[properties.a]\nb = " + HUGE.encode() + b"\n", "more than 4300 digits"),
        (b"[profile]\nx = -1_" + b"0" * 4400 + b"\n", "more than 4300 digits"),
        (b'[properties.a]\nb = ["\x00"]\n', "Illegal character"),
        (b"[properties.a]\nb = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
        (b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n", "nested too deeply"),
    ],
)
def test_hostile_bytes_are_one_line_errors(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "hostile.toml"
    path.write_bytes(data)
    with pytest.raises(InvalidProfile) as info:
        load_profile(path)
    assert str(info.value).startswith(f"{path}: invalid TOML")
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_a_huge_profile_loads_quickly(tmp_path: Path) -> None:
    values = ", ".join(f"'v{i}'" for i in range(50_000))
    path = tmp_path / "huge.toml"
    path.write_text(f"[properties.ns]\nfeat = [{values}]\n")
    assert len(load_profile(path).properties["ns"]["feat"]) == 50_000


@pytest.mark.parametrize(
    ("name", "reason"),
    [("a\x00b.toml", "contains a NUL byte"), ("y" * 300 + ".toml", "File name too long")],
)
def test_hostile_profile_paths(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(InvalidProfile) as info:
        load_profile(tmp_path / name)
    message = str(info.value)
    assert "cannot read profile" in message and reason in message
    assert "\n" not in message and "\x00" not in message


def test_control_characters_in_keys_stay_on_one_line() -> None:
    with pytest.raises(InvalidProfile) as info:
        parse_profile('[properties."a\\nb"]\n')
    assert "\n" not in str(info.value)


_PROFILE_LINES = (
    "[profile]",
    'created-by = "x"',
    "[properties.nvidia]",
    'sm_arch = ["90", "80"]',
    "[properties.x86_64]",
    "level = []",
)


@settings(max_examples=300, deadline=None)
@given(line_documents(_PROFILE_LINES, TOML_HOSTILE_LINES))
def test_fuzz_profile_bytes(data: bytes) -> None:
    try:
        parse_profile(data, source="fuzz.toml")
    except InvalidProfile as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hostile_text(("p.toml", "/", ".."), max_parts=4))
def test_fuzz_profile_paths(tmp_path: Path, name: str) -> None:
    try:
        load_profile(tmp_path / "none" / name)
    except InvalidProfile as exc:
        assert "\n" not in str(exc) and "\x00" not in str(exc)
