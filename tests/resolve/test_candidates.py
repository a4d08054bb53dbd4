"""Per-version wheel choice on the real torch 2.9.0 files, with real provider answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.version import Version

from varwheel.index.models import IndexFile
from varwheel.resolve.candidates import choose, group_releases, has_tag_compatible_variant
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.selection import Preferences, SupportedProperties, effective_support

TARGET_ENV = {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64"}
TAGS = [Tag("cp312", "cp312", f"manylinux_2_{m}_x86_64") for m in range(28, 16, -1)] + [
    Tag("cp312", "cp312", "linux_x86_64"),
    Tag("cp312", "none", "any"),
    Tag("py3", "none", "any"),
]


def page_files(index_dir: Path, project: str) -> list[IndexFile]:
    html = (index_dir / project / "index.html").read_text()
    files = []
    for href in re.findall(r'<a\s+href="([^"#]+)', html):
        name = href.rsplit("/", 1)[-1]
        if name.endswith((".whl", ".json", ".tar.gz")):
            files.append(IndexFile(name, href if "://" in href else f"http://x/{project}/{href}"))
    return files


def nvidia_support(fixtures_dir: Path, env: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    data = json.loads((fixtures_dir / "reference-plugin-outputs" / "plugins.json").read_text())
    case = next(c for c in data["providers"]["nvidia"]["cases"] if c["env"] == env)
    return {"nvidia": {f["name"]: f["values"] for f in case["supported"]}}


@pytest.fixture(scope="module")
def torch_release(real_index_dir: Path):
    releases = group_releases("torch", page_files(real_index_dir, "torch"))
    return releases[Version("2.9.0")]


@pytest.fixture(scope="module")
def torch_md(real_index_dir: Path):
    return load_variants_json((real_index_dir / "torch" / "torch-2.9.0-variants.json").read_bytes())


def test_group_releases_attaches_variants_json(torch_release) -> None:
    assert torch_release.variants_json is not None
    assert torch_release.variants_json.filename == "torch-2.9.0-variants.json"
    assert torch_release.wheels and not torch_release.sdists
    assert has_tag_compatible_variant(torch_release.wheels, TAGS)
    assert not has_tag_compatible_variant(torch_release.wheels, [Tag("py2", "none", "any")])


def test_forced_gpu_picks_cuda_wheel(torch_release, torch_md, fixtures_dir: Path) -> None:
    env = {
        "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.0",
        "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "8.0",
    }
    grid = json.loads((fixtures_dir / "reference-choices" / "grid.json").read_text())
    expected = next(
        c["expected"]
        for c in grid["cases"]
        if c["project"] == "torch" and c["version"] == "2.9.0" and c["env"] == env
    )
    detected = SupportedProperties(nvidia_support(fixtures_dir, env))
    support = effective_support(torch_md, detected, marker_env=TARGET_ENV)
    choice = choose(
        torch_release, metadata=torch_md, support=support, tags=TAGS, prefs=Preferences()
    )
    assert choice.candidate is not None
    assert choice.candidate.label == expected
    assert choice.candidate.wheel.platform_tag == "manylinux_2_28_x86_64"
    # PEP 825: markers see only the supported subset of the chosen wheel's properties
    assert choice.candidate.marker_properties <= set(choice.candidate.properties)
    assert all(p.namespace in ("nvidia", "priority") for p in choice.candidate.marker_properties)


def test_no_gpu_picks_null_and_keeps_reasons(torch_release, torch_md) -> None:
    support = effective_support(
        torch_md, SupportedProperties({}, {"nvidia": "no NVIDIA GPU found"}), marker_env=TARGET_ENV
    )
    choice = choose(
        torch_release, metadata=torch_md, support=support, tags=TAGS, prefs=Preferences()
    )
    assert choice.candidate is not None and choice.candidate.label == "null"
    assert choice.candidate.marker_properties == frozenset()
    reasons = {
        r.wheel.label: r.reason
        for r in choice.selection.rejected
        if r.reason.code != "tag-mismatch"
    }
    assert reasons["cuda12.8"].code == "namespace-unavailable"
    assert "no NVIDIA GPU found" in reasons["cuda12.8"].message


def test_no_variants_leaves_nothing_for_variant_only_release(torch_release, torch_md) -> None:
    choice = choose(
        torch_release,
        metadata=torch_md,
        support=SupportedProperties({}),
        tags=TAGS,
        prefs=Preferences(variants_enabled=False),
    )
    assert choice.candidate is None
    assert (
        "cuda12.6, cuda12.8, cuda13.0, null, rocm6.3, rocm6.4, xpu: variant wheels are disabled"
        in choice.skip_reason
    )
    assert "with tags this target does not support" in choice.skip_reason


def test_missing_metadata_makes_variant_wheels_incompatible(torch_release) -> None:
    choice = choose(torch_release, metadata=None, support=None, tags=TAGS, prefs=Preferences())
    assert choice.candidate is None
    assert "no variant metadata" in choice.skip_reason
