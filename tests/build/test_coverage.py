"""Shipped machine profiles and ``matrix --coverage``: which declared variant each machine gets."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from varwheel.build.coverage import (
    Machine,
    Outcome,
    coverage,
    load_machine,
    resolve_machines,
    shipped_machines,
)
from varwheel.build.machines import MACHINES, MACHINES_DIR, render
from varwheel.build.matrix import load_matrix, project_metadata, read_pyproject
from varwheel.errors import InvalidInput, InvalidProfile
from varwheel.providers.native.nvidia import FORCE_CUDA_VAR, FORCE_SM_VAR, NvidiaProvider
from varwheel.providers.profile import load_profile
from varwheel.spec.selection import SupportedProperties

DEMO = Path(__file__).parent / "data" / "demo" / "pyproject.toml"


@pytest.fixture(scope="module")
def demo() -> tuple:
    doc = read_pyproject(DEMO)
    return load_matrix(doc, source=str(DEMO)), project_metadata(doc, source=str(DEMO))


@pytest.mark.parametrize("spec", MACHINES, ids=[m.name for m in MACHINES])
def test_shipped_profile_is_what_the_providers_say(spec) -> None:  # type: ignore[no-untyped-def]
    """Each file equals a fresh rendering through the native providers (regenerate with
    ``python -m varwheel.build.machines`` after a provider change)."""
    path = MACHINES_DIR / f"{spec.name}.toml"
    assert path.read_text() == render(spec)
    load_profile(path)  # a valid profile for --profile too


def test_every_shipped_file_has_a_spec() -> None:
    assert sorted(p.stem for p in MACHINES_DIR.glob("*.toml")) == sorted(m.name for m in MACHINES)
    machines = shipped_machines()
    assert [m.name for m in machines] == [m.name for m in MACHINES]


def test_profiles_carry_real_provider_orders() -> None:
    by_name = {m.name: m for m in shipped_machines()}
    haswell = by_name["x86-64-v3-haswell"].support
    assert haswell.values("x86_64", "level") == ("v3", "v2", "v1")
    assert "avx512f" not in haswell.properties["x86_64"]
    assert by_name["x86-64-v4-zen4"].support.values("x86_64", "level")[0] == "v4"
    # the provider reports nothing below v2, like provider-variant-x86-64
    assert by_name["x86-64-v1-core2"].support.properties["x86_64"] == {}
    assert by_name["aarch64-graviton3"].support.values("aarch64", "version")[0] == "8.4a"
    assert by_name["aarch64-graviton4"].support.values("aarch64", "version")[0] == "9.0a"
    assert by_name["aarch64-graviton3"].support.properties["x86_64"] == {}
    h100 = by_name["nvidia-h100"].support
    forced = NvidiaProvider(environ={FORCE_CUDA_VAR: "12.8", FORCE_SM_VAR: "9.0"}, detect=None)
    expected = {c.name: c.values for c in forced.get_supported_configs()}
    assert dict(h100.properties["nvidia"]) == expected
    assert h100.values("nvidia", "sm_arch") == ("90_real", "90_virtual")
    assert by_name["nvidia-b200"].support.values("nvidia", "sm_arch")[0] == "100_real"
    assert by_name["nvidia-t4"].support.values("nvidia", "cuda_version_lower_bound")[0] == "12.2"
    assert by_name["nvidia-gh200"].markers["platform_machine"] == "aarch64"
    assert by_name["amd-mi300x"].support.values("amd", "gfx_arch") == ("gfx942",)


def test_demo_coverage(demo: tuple) -> None:
    matrix, md = demo
    report = coverage(matrix, md, shipped_machines())
    got = {row.machine.name: row for row in report.machines}
    assert got["x86-64-v2-sandybridge"].label == "x8664v2"
    assert got["x86-64-v3-haswell"].label == "x8664v3"
    assert got["x86-64-v3-haswell"].compatible == ("x8664v3", "x8664v2")
    # mkl + v4 always beats plain v4: the static blas_lapack provider is always supported
    assert got["x86-64-v4-icelake"].compatible[:2] == ("f88e092c", "x8664v4")
    assert got["nvidia-h100"].label == "cu128"  # nvidia first in the namespace order
    assert got["nvidia-t4"].label == "f88e092c"  # driver 12.2 < the 12.8 lower bound
    assert got["nvidia-rtx5090"].outcome is Outcome.VARIANT
    assert "cu128" not in got["nvidia-rtx5090"].compatible  # sm_120 is not in the build
    core2 = got["x86-64-v1-core2"]
    assert (core2.outcome, core2.label) == (Outcome.NULL, "null")
    assert core2.reason == (
        "x8664v2: x86_64 :: level needs one of v2; target has no supported values"
    )
    assert got["aarch64-graviton3"].outcome is Outcome.NULL
    assert report.unselected == ("x8664v4",)
    assert report.incompatible == ()


def test_fallbacks_without_null(demo: tuple) -> None:
    matrix, md = demo
    from dataclasses import replace

    no_null = replace(matrix, entries=tuple(e for e in matrix.entries if e.name != "null"))
    row = coverage(no_null, md, resolve_machines(["aarch64-graviton2"])).machines[0]
    assert (row.outcome, row.label) == (Outcome.PLAIN, None)
    variants_only = replace(no_null, entries=no_null.variants)
    row = coverage(variants_only, md, resolve_machines(["aarch64-graviton2"])).machines[0]
    assert row.outcome is Outcome.NONE


def test_a_detect_output_file_is_a_machine(
    tmp_path: Path, demo: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile written by ``varwheel detect --output`` on a forced GPU machine."""
    from varwheel.cli.main import main

    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VARWHEEL_CONFIG", str(tmp_path / "c.toml"))
    (tmp_path / "c.toml").write_text("")
    monkeypatch.setenv(FORCE_CUDA_VAR, "13.0")
    monkeypatch.setenv(FORCE_SM_VAR, "10.0")
    out = tmp_path / "mybox.toml"
    assert main(["detect", "--output", str(out), "--namespace", "nvidia"]) == 0
    machine = load_machine(out)
    # detect --output records the whole machine, its marker environment included
    assert machine.name == "mybox"
    assert machine.markers["platform_machine"] == platform.machine()
    matrix, md = demo
    (row,) = coverage(matrix, md, [machine]).machines
    assert row.label == "cu128"
    # files and shipped names together, each machine once
    both = resolve_machines([str(out), "nvidia-h1*", "shipped"])
    assert [m.name for m in both][:2] == ["mybox", "nvidia-h100"]
    assert len(both) == len(MACHINES) + 1


def test_enable_if_sees_the_machine_markers(demo: tuple) -> None:
    matrix, md = demo
    from dataclasses import replace

    x86 = replace(md.providers["x86_64"], enable_if="platform_machine == 'x86_64'")
    gated = replace(md, providers={**md.providers, "x86_64": x86})
    arm_box = Machine(
        "arm-with-x86-answer",
        SupportedProperties({"x86_64": {"level": ("v3", "v2", "v1")}}),
        markers={"platform_machine": "aarch64"},
    )
    x86_box = replace(arm_box, name="x86", markers={"platform_machine": "x86_64"})
    rows = coverage(matrix, gated, [arm_box, x86_box]).machines
    assert rows[0].outcome is Outcome.NULL
    assert "enable-if" in rows[0].reason
    assert rows[1].label == "x8664v3"


def test_optional_provider_counts_only_when_enabled(demo: tuple) -> None:
    matrix, md = demo
    from dataclasses import replace

    optional = replace(md.providers["nvidia"], optional=True)
    md2 = replace(md, providers={**md.providers, "nvidia": optional})
    h100 = resolve_machines(["nvidia-h100"])
    assert coverage(matrix, md2, h100).machines[0].label == "x8664v3"
    assert coverage(matrix, md2, h100, enabled_optional=["nvidia"]).machines[0].label == "cu128"


def test_bad_machine_inputs(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"--coverage nope: no such profile file or shipped"):
        resolve_machines(["nope"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nmarkers = {cpu = "x"}\n')
    with pytest.raises(InvalidProfile, match=r"bad\.toml: profile\.markers must map PEP 508"):
        load_machine(bad)
    bad.write_text("[propertes.x86_64]\n")
    with pytest.raises(InvalidProfile, match="unknown top-level key 'propertes'"):
        load_machine(bad)
    with pytest.raises(InvalidProfile, match="cannot read profile"):
        load_machine(tmp_path / "missing.toml")
