"""Per-version choice with a ``--variant`` request on the real torch 2.8.0 / 2.9.0 files:
the one-line reason, ``--force-variant`` refusing another version, the hint naming the version
that has the variant, and the options' contradictions and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from resolve.test_candidates import TAGS, page_files
from varwheel.errors import InvalidInput, ResolutionError
from varwheel.resolve.candidates import (
    VersionChoice,
    choose,
    group_releases,
    request_hint,
    summarize_rejections,
)
from varwheel.resolve.options import ResolveOptions, request_warnings
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.properties import VariantProperty
from varwheel.spec.request import VariantRequest
from varwheel.spec.selection import Preferences, SupportedProperties, request_of

CPU = SupportedProperties({"priority": {"order": ("1", "2", "3")}})


@pytest.fixture(scope="module")
def releases(real_index_dir: Path):
    return group_releases("torch", page_files(real_index_dir, "torch"))


@pytest.fixture(scope="module")
def metadata(real_index_dir: Path):
    return {
        v: load_variants_json((real_index_dir / "torch" / f"torch-{v}-variants.json").read_bytes())
        for v in ("2.8.0", "2.9.0")
    }


def _choice(releases, metadata, version: str, prefs: Preferences) -> VersionChoice:
    return choose(
        releases[Version(version)], metadata=metadata[version], support=CPU, tags=TAGS, prefs=prefs
    )


def test_missing_label_is_the_reason(releases, metadata) -> None:
    opts = ResolveOptions(variant_for={"torch": "cu128"})
    ch = _choice(releases, metadata, "2.9.0", opts.prefs_for("torch"))
    assert ch.candidate is None
    assert ch.skip_reason.startswith("torch 2.9.0 has no variant cu128 (its variants: cuda12.6,")
    assert "other variants than the one requested" not in ch.skip_reason
    assert summarize_rejections(ch.release, ch.selection) == ch.skip_reason
    older = _choice(releases, metadata, "2.8.0", opts.prefs_for("torch"))
    hint = request_hint(VariantRequest(label="cu128"), ch, [older, ch])
    assert hint == "torch 2.8.0 has cu128"
    # no hint when the version has the label (its reason is the target's, not the label's)
    assert request_hint(VariantRequest(label="cu128"), older, [older, ch]) == ""


def test_forced_missing_label_refuses_to_move_on(releases, metadata) -> None:
    opts = ResolveOptions(prefs=Preferences(force_variant=True), variant_for={"torch": "cu128"})
    with pytest.raises(ResolutionError, match="does not move to another version"):
        _choice(releases, metadata, "2.9.0", opts.prefs_for("torch"))
    ch = _choice(releases, metadata, "2.8.0", opts.prefs_for("torch"))
    assert ch.candidate is not None and ch.candidate.label == "cu128"
    assert ch.candidate.forced and "nvidia" in ch.candidate.forced_reason


def test_property_request_through_the_options(releases, metadata) -> None:
    prop = VariantProperty.parse("nvidia :: sm_arch :: 50_real")
    opts = ResolveOptions(variant_for={"torch": VariantRequest(properties=frozenset({prop}))})
    prefs = opts.prefs_for("torch")
    assert request_of(prefs) == VariantRequest(properties=frozenset({prop}))
    assert opts.prefs_for("numpy") == opts.prefs  # other projects: untouched
    ch = _choice(releases, metadata, "2.9.0", prefs)
    assert ch.candidate is None  # cuda12.6 has it, this target has no GPU
    assert "cuda12.6" in ch.skip_reason and "nvidia" in ch.skip_reason


def test_request_with_variants_disabled_is_a_contradiction() -> None:
    with pytest.raises(InvalidInput, match=r"--variant torch=null .*--no-variants"):
        ResolveOptions(prefs=Preferences(variants_enabled=False), variant_for={"torch": "null"})
    ResolveOptions(prefs=Preferences(variants_enabled=False))  # alone: fine


def test_request_warnings(releases, metadata) -> None:
    from varwheel.resolve.resolver import ResolvedPackage

    opts = ResolveOptions(
        prefs=Preferences(prefer=(VariantProperty.parse("nvdia :: sm_arch :: 90_real"),)),
        variant_for={"torhc": "null"},
    )
    ch = _choice(releases, metadata, "2.9.0", Preferences())
    assert ch.candidate is not None
    pkg = ResolvedPackage(ch.candidate, requested=True, choice=ch)
    lines = request_warnings(opts, [pkg])
    assert lines[0].startswith("--variant torhc=null: torhc is not being installed")
    assert lines[1].startswith("--prefer 'nvdia :: sm_arch :: 90_real': no provider or package")
    assert "amd, " in lines[1] and "priority" in lines[1] and "x86_64" in lines[1]
    assert len(lines) == 2
