"""The 375 reference selections on the real WheelNext index (../shared/fixtures/reference-choices).

Each case: a real ``*-variants.json`` (schema v0.0.3) and the wheels listed on the project's index
page, a target (CPython 3.12, ``manylinux_2_28_x86_64`` with older manylinux tags, or
``linux_x86_64``) and a forced GPU environment. The supported properties come from what the
published plugins answered under those FORCE variables (reference-plugin-outputs/plugins.json).
The reference implementation (variantlib 0.0.3) picked the first label of its ranking that has a
tag-compatible wheel; ``NONVARIANT`` = the plain wheel, ``ERROR`` = nothing installable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from varwheel.spec.filenames import WheelFilename, parse_wheel_filename, variants_json_filename
from varwheel.spec.metadata import load_variants_json
from varwheel.spec.model import VariantMetadata
from varwheel.spec.selection import (
    SupportedProperties,
    WheelSelection,
    effective_support,
    order_variants,
    select_wheels,
)

WHEEL_LINK_RE = re.compile(r">([^<>]+\.whl)</a>")


def target_platforms(arch: str = "x86_64", glibc_minor: int = 28) -> list[str]:
    """manylinux_2_28 down to 2_5 (with the legacy aliases after their PEP 600 twin), then linux."""
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    platforms = []
    for minor in range(glibc_minor, 4, -1):
        platforms.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            platforms.append(f"{legacy[minor]}_{arch}")
    return [*platforms, f"linux_{arch}"]


def target_tags(grid_target: Mapping[str, Any]) -> list[Tag]:
    major, minor = (int(p) for p in grid_target["python_version"].split("."))
    assert grid_target["platforms"] == ["manylinux_2_28_x86_64", "linux_x86_64"]
    platforms = target_platforms()
    return [
        *cpython_tags((major, minor), [f"cp{major}{minor}"], platforms),
        *compatible_tags((major, minor), f"cp{major}{minor}", platforms),
    ]


def target_env(grid_target: Mapping[str, Any]) -> dict[str, str]:
    version = grid_target["python_version"]
    return {
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "sys_platform": "linux",
        "os_name": "posix",
        "python_version": version,
        "python_full_version": f"{version}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def detected_support(plugins: Mapping[str, Any], env: Mapping[str, str]) -> SupportedProperties:
    """Each published plugin's answer for the case's FORCE variables (its ``{}`` case when none of
    its variables is set). An empty answer means the namespace has no supported property."""
    properties: dict[str, dict[str, tuple[str, ...]]] = {}
    unavailable: dict[str, str] = {}
    for ns, plugin in plugins["providers"].items():
        own = {k: v for k, v in env.items() if any(k in c["env"] for c in plugin["cases"])}
        answers = [c["supported"] for c in plugin["cases"] if c["env"] == own]
        assert len(answers) == 1, f"no recorded answer of {ns} for {own}"
        if answers[0]:
            properties[ns] = {cfg["name"]: tuple(cfg["values"]) for cfg in answers[0]}
        else:
            unavailable[ns] = f"{plugin['distribution']} reports no supported configs"
    return SupportedProperties(properties, unavailable)


@cache
def project_wheels(index_dir: Path, project: str) -> tuple[WheelFilename, ...]:
    page = (index_dir / project / "index.html").read_text()
    return tuple(parse_wheel_filename(name) for name in WHEEL_LINK_RE.findall(page))


@cache
def project_metadata(index_dir: Path, project: str, version: str) -> VariantMetadata:
    path = index_dir / project / variants_json_filename(project, version)
    return load_variants_json(path.read_bytes(), source=path.name)


@pytest.fixture(scope="module")
def grid(fixtures_dir: Path) -> dict[str, Any]:
    return json.loads((fixtures_dir / "reference-choices" / "grid.json").read_text())


@pytest.fixture(scope="module")
def plugins(fixtures_dir: Path) -> dict[str, Any]:
    return json.loads((fixtures_dir / "reference-plugin-outputs" / "plugins.json").read_text())


def select(
    index_dir: Path,
    grid: Mapping[str, Any],
    plugins: Mapping[str, Any],
    project: str,
    version: str,
    env: Mapping[str, str],
) -> tuple[VariantMetadata, SupportedProperties, WheelSelection]:
    md = project_metadata(index_dir, project, version)
    sp = effective_support(
        md, detected_support(plugins, env), marker_env=target_env(grid["target"])
    )
    files = [
        w
        for w in project_wheels(index_dir, project)
        if w.project == canonicalize_name(project) and w.version == Version(version)
    ]
    return md, sp, select_wheels(files, md, sp, target_tags(grid["target"]))


def outcome(selection: WheelSelection) -> str:
    if selection.best is None:
        return "ERROR"
    return selection.best.label or "NONVARIANT"


def test_grid_has_375_cases(grid: dict[str, Any]) -> None:
    assert len(grid["cases"]) == 375
    assert len({c["profile"] for c in grid["cases"]}) == 5


def test_all_reference_choices(
    grid: dict[str, Any], plugins: dict[str, Any], real_index_dir: Path
) -> None:
    mismatches = []
    orders = []
    for case in grid["cases"]:
        md, sp, selection = select(
            real_index_dir, grid, plugins, case["project"], case["version"], case["env"]
        )
        where = f"{case['profile']} {case['project']} {case['version']}"
        if outcome(selection) != case["expected"]:
            mismatches.append(f"{where}: {outcome(selection)} != {case['expected']}")
        # The whole ranking agrees too, not only its first usable label.
        ranking = list(order_variants(md, sp).labels)
        if ranking != case["oracle_order"]:
            orders.append(f"{where}: {ranking} != {case['oracle_order']}")
    assert mismatches == []
    assert orders == []


def test_error_cases_explain_every_rejected_wheel(
    grid: dict[str, Any], plugins: dict[str, Any], real_index_dir: Path
) -> None:
    # ERROR = nothing installable: every wheel of the version is rejected with a reason the
    # installer can show (tag mismatch or the failing namespace/feature).
    errors = [c for c in grid["cases"] if c["expected"] == "ERROR"]
    assert errors
    for case in errors:
        _, _, selection = select(
            real_index_dir, grid, plugins, case["project"], case["version"], case["env"]
        )
        assert selection.ranked == ()
        assert selection.rejected
        for rejected in selection.rejected:
            assert rejected.reason.code in {
                "tag-mismatch",
                "feature-unsupported",
                "namespace-unavailable",
            }
            assert rejected.wheel.filename in rejected.reason.message or (
                rejected.reason.namespace is not None
            )


def test_cuda_choice_explained(
    grid: dict[str, Any], plugins: dict[str, Any], real_index_dir: Path
) -> None:
    env = {
        "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.7",
        "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "12.5",
    }
    _, _, selection = select(real_index_dir, grid, plugins, "torch", "2.9.0", env)
    assert selection.best is not None
    assert (
        selection.best.wheel.filename
        == "torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64-cuda12.8.whl"
    )
    assert selection.best.decided_by == (
        "variant 'cuda12.8' before the null variant (PEP 825: null sorts last)"
    )
    reasons = {
        r.wheel.label: r.reason for r in selection.rejected if r.reason.code != "tag-mismatch"
    }
    assert reasons["cuda13.0"].message == (
        "nvidia :: cuda_version_lower_bound needs one of 13.0; target has 12.7, 12.6, 12.5, 12.4, "
        "12.3, 12.2, 12.1, 12.0, ... (23 more)"
    )
    assert reasons["cuda13.0"].available[-1] == "11"  # the structured field keeps the full list
    assert reasons["cuda12.6"].message.endswith(
        "target has 125_real, 124_real, 123_real, 122_real, 121_real, 120_real, 120_virtual"
    )
    assert reasons["xpu"].code == "namespace-unavailable"


@pytest.mark.parametrize(
    ("profile_env", "expected"),
    [
        # the cu126 build (lower bound 12.0, sm 50-90) fits CUDA 12.0 / SM 8.0; cu128 needs 12.8
        (
            {
                "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.0",
                "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "8.0",
            },
            "cu126",
        ),
        # CUDA 11.4 fits no CUDA build: the empty-property wheel labelled 00000000 is used
        (
            {
                "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "11.4",
                "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "7.0",
            },
            "00000000",
        ),
    ],
)
def test_skipped_old_null_label_degrades_gracefully(
    grid: dict[str, Any],
    plugins: dict[str, Any],
    real_index_dir: Path,
    profile_env: dict[str, str],
    expected: str,
) -> None:
    # The reference implementation rejects torch 2.8.0 outright because its property-less variant
    # is labelled 00000000 instead of null (grid.json "skipped"). PEP 825 §"Implementation
    # requirements" asks consumers to degrade gracefully: the loader reads it, and selection treats
    # that property-less variant like null (always compatible, after every variant with properties).
    skipped = {(s["project"], s["version"]) for s in grid["skipped"]}
    assert ("torch", "2.8.0") in skipped
    _, _, selection = select(real_index_dir, grid, plugins, "torch", "2.8.0", profile_env)
    assert outcome(selection) == expected


def test_native_providers_reach_the_same_choices(
    grid: dict[str, Any],
    real_index_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # End to end: varwheel's own (native) providers under the same FORCE variables, instead of the
    # recorded plugin answers, then effective_support and select_wheels: all 375 choices agree.
    from varwheel.providers.detect import ProviderOptions, ProviderSession

    force_vars = {k for case in grid["cases"] for k in case["env"]}
    by_profile: dict[str, list[dict[str, Any]]] = {}
    for case in grid["cases"]:
        by_profile.setdefault(case["profile"], []).append(case)
    mismatches = []
    for cases in by_profile.values():
        for var in force_vars:
            monkeypatch.delenv(var, raising=False)
        for var, value in cases[0]["env"].items():
            monkeypatch.setenv(var, value)
        session = ProviderSession(ProviderOptions(cache=False, cache_dir=tmp_path))
        env = target_env(grid["target"])
        for case in cases:
            md = project_metadata(real_index_dir, case["project"], case["version"])
            detected = session.detect(md, target_env=env)
            sp = effective_support(md, detected, marker_env=env)
            files = [
                w
                for w in project_wheels(real_index_dir, case["project"])
                if w.version == Version(case["version"])
            ]
            got = outcome(select_wheels(files, md, sp, target_tags(grid["target"])))
            if got != case["expected"]:
                where = f"{case['profile']} {case['project']} {case['version']}"
                mismatches.append(f"{where}: {got} != {case['expected']}")
    assert mismatches == []
