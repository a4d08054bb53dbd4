"""``select_wheels`` with a user's request (``--variant`` by label, null or properties), on the
real torch 2.8.0 / 2.9.0 wheels and variant metadata of the published variant index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.tags import Tag

from varwheel.codes import ReasonCode
from varwheel.spec.filenames import WheelFilename, parse_wheel_filename
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.model import VariantMetadata
from varwheel.spec.properties import VariantProperty
from varwheel.spec.request import VariantRequest
from varwheel.spec.selection import (
    Preferences,
    RequestPreferences,
    SupportedProperties,
    request_of,
    select_wheels,
    with_request,
)

TAGS = [Tag("cp312", "cp312", f"manylinux_2_{m}_x86_64") for m in range(28, 16, -1)]
GPU = SupportedProperties(
    {
        "nvidia": {"cuda_version_lower_bound": ("12.8", "12.0"), "sm_arch": ("90_real",)},
        "priority": {"order": ("1", "2", "3")},
    }
)
CPU = SupportedProperties({"priority": {"order": ("1", "2", "3")}})


def _torch(real_index_dir: Path, version: str) -> tuple[list[WheelFilename], VariantMetadata]:
    html = (real_index_dir / "torch" / "index.html").read_text()
    names = [h.rsplit("/", 1)[-1] for h in re.findall(r'href="([^"#]+\.whl)', html)]
    wheels = [parse_wheel_filename(n) for n in names if n.startswith(f"torch-{version}-")]
    md = load_variants_json(
        (real_index_dir / "torch" / f"torch-{version}-variants.json").read_bytes()
    )
    return wheels, md


@pytest.fixture(scope="module")
def torch28(real_index_dir: Path) -> tuple[list[WheelFilename], VariantMetadata]:
    return _torch(real_index_dir, "2.8.0")


@pytest.fixture(scope="module")
def torch29(real_index_dir: Path) -> tuple[list[WheelFilename], VariantMetadata]:
    return _torch(real_index_dir, "2.9.0")


def _ask(text: str | VariantRequest, *, force: bool = False) -> Preferences:
    request = text if isinstance(text, VariantRequest) else VariantRequest(label=text)
    return with_request(Preferences(force_variant=force), request)


def _props(*texts: str) -> VariantRequest:
    return VariantRequest(properties=frozenset(VariantProperty.parse(t) for t in texts))


def test_request_round_trips_through_preferences() -> None:
    for request in (
        VariantRequest(label="cu128"),
        VariantRequest(label="null"),
        _props("a :: b :: c"),
    ):
        assert (
            request_of(with_request(Preferences(prefer=(), force_variant=True), request)) == request
        )
    prefs = with_request(Preferences(), _props("a :: b :: c"))
    assert isinstance(prefs, RequestPreferences) and prefs.variant is None
    assert request_of(with_request(prefs, None)) is None


def test_label_of_another_version_lists_this_versions_labels(torch29) -> None:
    wheels, md = torch29
    sel = select_wheels(wheels, md, GPU, TAGS, _ask("cu128"))
    assert not sel.ranked
    assert sel.missing == (
        "torch 2.9.0 has no variant cu128 (its variants: cuda12.6, cuda12.8, cuda13.0, "
        "rocm6.3, rocm6.4, xpu, null)"
    )
    # a label it has: no ``missing``, only that label ranks
    sel = select_wheels(wheels, md, GPU, TAGS, _ask("cuda12.6"))
    assert {r.label for r in sel.ranked} == {"cuda12.6"} and not sel.missing


def test_null_is_the_variant_without_properties(torch28, torch29) -> None:
    wheels, md = torch28  # publishes it as 00000000
    sel = select_wheels(wheels, md, GPU, TAGS, _ask("null"))
    assert {r.label for r in sel.ranked} == {"00000000"} and not sel.missing
    wheels, md = torch29
    sel = select_wheels(wheels, md, GPU, TAGS, _ask("null"))
    assert {r.label for r in sel.ranked} == {"null"}
    assert all(r.properties == () for r in sel.ranked)


def test_properties_and_the_best_variant_with_all_of_them(torch29) -> None:
    wheels, md = torch29
    one = _props("nvidia :: cuda_version_lower_bound :: 12.0")
    sel = select_wheels(wheels, md, GPU, TAGS, _ask(one))
    # cuda12.8 before cuda12.6 (priority :: order), cuda13.0 lacks the property, null too
    assert [r.label for r in sel.ranked][:1] == ["cuda12.8"]
    assert {r.label for r in sel.ranked} == {"cuda12.8", "cuda12.6"}
    reasons = {
        r.wheel.label: r.reason.message
        for r in sel.rejected
        if r.wheel.label and r.reason.code != ReasonCode.TAG_MISMATCH
    }
    assert "lacks 'nvidia :: cuda_version_lower_bound :: 12.0'" in reasons["cuda13.0"]
    assert "lacks" in reasons["null"]
    both = _props("nvidia :: cuda_version_lower_bound :: 12.0", "nvidia :: sm_arch :: 50_real")
    sel = select_wheels(wheels, md, GPU, TAGS, _ask(both))
    assert {r.label for r in sel.ranked} == {"cuda12.6"}
    none = _props("nvidia :: cuda_version_lower_bound :: 12.8")
    sel = select_wheels(wheels, md, GPU, TAGS, _ask(none))
    assert not sel.ranked
    assert sel.missing.startswith(
        "no variant of torch 2.9.0 has 'nvidia :: cuda_version_lower_bound :: 12.8' (its variants:"
    )


def test_forced_label_is_marked_with_the_reason(torch29) -> None:
    wheels, md = torch29
    sel = select_wheels(wheels, md, CPU, TAGS, _ask("cuda12.8", force=True))
    assert sel.ranked and all(r.forced for r in sel.ranked)
    assert "nvidia :: cuda_version_lower_bound needs one of 12.0" in sel.ranked[0].forced_reason
    # supported: not forced, even with --force-variant
    sel = select_wheels(wheels, md, GPU, TAGS, _ask("cuda12.8", force=True))
    assert sel.ranked and not any(r.forced for r in sel.ranked)


def test_forced_properties_need_one_variant(torch29) -> None:
    wheels, md = torch29
    only_126 = _props("nvidia :: sm_arch :: 50_real")
    sel = select_wheels(wheels, md, CPU, TAGS, _ask(only_126, force=True))
    assert {r.label for r in sel.ranked} == {"cuda12.6"} and sel.ranked[0].forced
    two = _props("nvidia :: cuda_version_lower_bound :: 12.0")  # cuda12.6 and cuda12.8
    sel = select_wheels(wheels, md, CPU, TAGS, _ask(two, force=True))
    assert not sel.ranked
    message = next(
        r.reason.message
        for r in sel.rejected
        if r.wheel.label == "cuda12.8" and r.reason.code != ReasonCode.TAG_MISMATCH
    )
    assert "cuda12.6, cuda12.8 all have" in message and "name one by its label" in message


def test_non_variant_wheels_never_satisfy_a_request(torch29) -> None:
    wheels, md = torch29
    plain = parse_wheel_filename("torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64.whl")
    sel = select_wheels([*wheels, plain], md, CPU, TAGS, _ask("null"))
    assert plain not in {r.wheel for r in sel.ranked}
    why = next(r.reason.message for r in sel.rejected if r.wheel == plain)
    assert "non-variant wheel, but the null variant was requested" in why


def test_without_metadata_only_a_label_is_recognised() -> None:
    wheels = [
        parse_wheel_filename("demo-1.0-py3-none-any-cu12.whl"),
        parse_wheel_filename("demo-1.0-py3-none-any.whl"),
    ]
    tags = [Tag("py3", "none", "any")]
    sel = select_wheels(wheels, None, CPU, tags, _ask("cu13"))
    assert sel.missing == "demo 1.0 has no variant cu13 (its variants: cu12)"
    sel = select_wheels(wheels, None, CPU, tags, _ask("cu12", force=True))
    assert [(r.label, r.forced) for r in sel.ranked] == [("cu12", True)]
    assert "no variant metadata" in sel.ranked[0].forced_reason
    plain_only = [wheels[1]]
    sel = select_wheels(plain_only, None, CPU, tags, _ask("cu12"))
    assert sel.missing == "demo 1.0 has no variant cu12 (it has no variant wheels)"
