"""Trust pins: strict parsing, matching against requirements, and the canary plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version
from plugins.wheelhouse import CANARY, PluginPaths, shared_paths

from varwheel.errors import InvalidInput, InvalidMetadata
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.providers.trust import (
    TrustedPin,
    applicable_requirements,
    decide,
    parse_pin,
    parse_pins,
    pin_for,
)
from varwheel.spec.model import ProviderInfo, VariantMetadata


@pytest.fixture(scope="session")
def plugin_paths(
    tmp_path_factory: pytest.TempPathFactory, variantlib_outputs_dir: Path
) -> PluginPaths:
    return shared_paths(tmp_path_factory.getbasetemp(), variantlib_outputs_dir / "wheels")


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("nvidia-variant-provider==0.0.2", "nvidia-variant-provider", "0.0.2"),
        ("Foo_Bar.baz==1.2.3rc1", "foo-bar-baz", "1.2.3rc1"),
        ("  toy==1  ", "toy", "1"),
        ("x==1.0.post2.dev3", "x", "1.0.post2.dev3"),
    ],
)
def test_parse_pin_accepts_exact_pins(text: str, name: str, version: str) -> None:
    assert parse_pin(text) == TrustedPin(name, Version(version))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "toy",
        "toy>=1",
        "toy==1.*",
        "toy===1",
        "toy == 1",
        "toy==1+local",
        "toy[extra]==1",
        "toy==1; python_version>'3'",
        "==1",
        "-toy==1",
        "toy==v1",
        "",
    ],
)
def test_parse_pin_rejects_everything_else(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^--trust-provider: invalid provider pin"):
        parse_pin(text)


def test_error_names_the_origin() -> None:
    with pytest.raises(InvalidInput, match=r"^/etc/x.toml: trusted-providers: invalid"):
        parse_pin("toy>=1", origin="/etc/x.toml: trusted-providers")


def test_conflicting_pins() -> None:
    with pytest.raises(InvalidInput, match="pinned twice"):
        parse_pins(["toy==1", "Toy==2"])
    assert parse_pins(["toy==1", "TOY==1.0"]) == (TrustedPin("toy", Version("1")),)  # type: ignore[arg-type]


@given(
    name=st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True),
    release=st.lists(st.integers(0, 999), min_size=1, max_size=4),
)
def test_parse_pin_round_trips(name: str, release: list[int]) -> None:
    version = ".".join(map(str, release))
    pin = parse_pin(f"{name}=={version}")
    assert parse_pin(str(pin)) == pin
    assert pin.version == Version(version)


@given(st.text(max_size=40))
def test_parse_pin_never_crashes(text: str) -> None:
    try:
        pin = parse_pin(text)
    except InvalidInput:
        return
    assert "==" in text and str(pin.version)


def test_requirement_must_admit_the_pinned_version() -> None:
    pins = parse_pins(["toy-variant-provider==0.1.0"])
    assert pin_for(Requirement("toy-variant-provider>=0.1"), pins) == pins[0]
    assert pin_for(Requirement("Toy_Variant.Provider"), pins) == pins[0]
    assert pin_for(Requirement("toy-variant-provider>=0.2"), pins) is None
    assert pin_for(Requirement("other-provider"), pins) is None


def test_decide_needs_every_requirement_pinned() -> None:
    pins = parse_pins(["a==1", "b==2"])
    assert decide((Requirement("a"), Requirement("b>=2")), pins).pins == pins
    refused = decide((Requirement("a"), Requirement("c")), pins)
    assert not refused.trusted
    assert (
        refused.reason
        == "provider 'c' is not trusted; trust it with --trust-provider 'c==<version>'"
    )


def test_untrusted_message_suggests_the_exact_pin() -> None:
    refused = decide((Requirement("foo-variant-provider==1.2.3"),), ())
    assert refused.reason == (
        "provider 'foo-variant-provider' is not trusted; "
        "trust it with --trust-provider 'foo-variant-provider==1.2.3'"
    )
    wrong = decide(
        (Requirement("foo-variant-provider>=2"),), parse_pins(["foo-variant-provider==1"])
    )
    assert "trusted only as foo-variant-provider==1" in wrong.reason


def test_markers_are_evaluated_against_the_target() -> None:
    requires = ("win-only ; sys_platform == 'win32'", "everywhere>=1")
    linux = dict(default_environment(), sys_platform="linux")
    windows = dict(default_environment(), sys_platform="win32")
    assert [r.name for r in applicable_requirements(requires, linux, namespace="x")] == [
        "everywhere"
    ]
    assert [r.name for r in applicable_requirements(requires, windows, namespace="x")] == [
        "win-only",
        "everywhere",
    ]
    with pytest.raises(InvalidMetadata, match=r"providers\.x\.requires"):
        applicable_requirements(("not a requirement!",), linux, namespace="x")


def _canary_metadata() -> VariantMetadata:
    return VariantMetadata(
        namespace_priorities=("canary",),
        providers={
            "canary": ProviderInfo(
                "canary", requires=("vw-canary-plugin>=1",), plugin_api="vw_canary"
            )
        },
    )


@pytest.mark.slow
def test_untrusted_canary_is_never_installed_or_imported(
    plugin_paths: PluginPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary-was-imported"
    monkeypatch.setenv("VW_CANARY_FILE", str(canary))
    cache_root = tmp_path / "cache"
    warnings: list[str] = []
    options = ProviderOptions(
        trusted=("vw-test-plugins==1.0.0",),  # trusting something else does not help
        plugin_source=plugin_paths.source(),
        cache_dir=cache_root,
        on_warning=warnings.append,
    )
    session = ProviderSession(options)
    env = default_environment()
    for _ in range(3):  # several packages in one session: still one warning
        support = session.detect(_canary_metadata(), target_env=env)
        assert "canary" not in support.properties
        assert support.unavailable["canary"].startswith(
            "provider 'vw-canary-plugin' is not trusted"
        )
    assert warnings == [
        "provider 'vw-canary-plugin' is not trusted; trust it with --trust-provider "
        "'vw-canary-plugin==<version>'; variants that need namespace 'canary' are treated as "
        "incompatible"
    ]
    assert not canary.exists()
    assert not (cache_root / "plugin-envs").exists()  # nothing was even installed

    # the same plugin, trusted: it is installed and imported (the canary works)
    trusted = ProviderSession(
        ProviderOptions(
            trusted=(CANARY,), plugin_source=plugin_paths.source(), cache_dir=cache_root
        )
    )
    support = trusted.detect(_canary_metadata(), target_env=env)
    assert support.properties["canary"] == {"bird": ("yellow",)}
    assert canary.read_text() == "imported\n"
    assert "vw_canary" not in sys.modules  # it ran in its own venv, not in this process


@pytest.mark.parametrize(
    "text",
    [
        "toy-variant-provider @ https://127.0.0.1:9/toy_variant_provider-0.1.0-py3-none-any.whl",
        "toy-variant-provider @ file:///tmp/toy_variant_provider-0.1.0-py3-none-any.whl",
    ],
)
def test_direct_references_are_never_trusted(text: str) -> None:
    pins = parse_pins(["toy-variant-provider==0.1.0"])
    assert pin_for(Requirement(text), pins) is None
    refused = decide((Requirement(text),), pins)
    assert not refused.trusted
    assert "direct URL" in refused.reason and "never trusted" in refused.reason


@pytest.mark.parametrize(
    ("requirement", "admitted"),
    [
        ("toy-variant-provider==0.1.0", True),
        ("toy-variant-provider==0.1.*", True),
        ("toy-variant-provider===0.1.0", True),
        ("toy-variant-provider==0.1.0.post1", False),
        ("toy-variant-provider==0.1.0+local", False),
        ("TOY_variant.provider~=0.1", True),
        ("toy-variant-provider[extra]>=0.1", True),  # extras are not installed: the pin is
    ],
)
def test_pin_admission_edges(requirement: str, admitted: bool) -> None:
    pins = parse_pins(["toy-variant-provider==0.1.0"])
    assert (pin_for(Requirement(requirement), pins) is not None) is admitted
