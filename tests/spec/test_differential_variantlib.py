"""Differential tests: varwheel's ordering against variantlib 0.2.2, the reference implementation.

1. Hypothesis generates schema v0.2.0 ``*-variants.json`` documents whose providers are all static
   (``static-properties`` + ``feature-order``, so no plugin runs) and ranks them with
   ``variantlib.api.get_variants_by_priority`` and with varwheel (``load_variants_json`` ->
   ``effective_support`` -> ``order_variants``). They must agree; the one deliberate difference is
   named where it is asserted (optional static providers, PEP 817 §"optional providers").
2. PEP 817 ``default-priorities.feature`` / ``.property`` with install-time providers, against
   variantlib's resolver (``sort_and_filter_supported_variants``, which still takes them).
3. The recorded transcript ../shared/fixtures/variantlib-0.2.2-outputs/selection-and-config-transcript.txt
   (variantlib with the toy plugin under TOY_LEVEL / TOY_ACCEL) is replayed with the toy plugin's
   supported lists as the detected support.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from varwheel.spec.metadata import load_variants_json
from varwheel.spec.model import SCHEMA_V0_2_0, ProviderInfo, VariantMetadata
from varwheel.spec.ordering import Preferences, order_variants
from varwheel.spec.properties import VariantProperty, canonical_properties
from varwheel.spec.selection import SupportedProperties, effective_support

variantlib_api = pytest.importorskip("variantlib.api")

TARGET_ENV = {"platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux"}
NAMESPACES = ["alpha", "beta", "gamma", "delta"]
FEATURES = ["f0", "f1", "f2", "f3"]
VALUES = ["v0", "v1", "v2", "v3", "v4", "v5"]


@pytest.fixture(autouse=True, scope="module")
def _quiet_variantlib() -> None:
    # variantlib logs every rejected variant at INFO; keep the test output readable.
    logging.getLogger("variantlib").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # variantlib reads ./variants.toml (and user/site config); run it from an empty directory and
    # without VARIANT_ABI_DEPENDENCY so only the document decides.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VARIANT_ABI_DEPENDENCY", raising=False)


@st.composite
def static_document(draw: st.DrawFn) -> dict[str, Any]:
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=3, unique=True))
    providers: dict[str, Any] = {}
    for ns in namespaces:
        feats = draw(st.lists(st.sampled_from(FEATURES), min_size=1, max_size=3, unique=True))
        static = {
            f: draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4, unique=True))
            for f in feats
        }
        providers[ns] = {
            "static-properties": static,
            "feature-order": draw(st.permutations(feats)),
        }
        if draw(st.integers(0, 4)) == 0:
            providers[ns]["optional"] = True
    variants: dict[str, Any] = {}
    seen: set[str] = set()
    for i in range(draw(st.integers(0, 10))):
        desc: dict[str, dict[str, list[str]]] = {}
        for ns in draw(st.lists(st.sampled_from(namespaces), min_size=1, max_size=2, unique=True)):
            static = providers[ns]["static-properties"]
            # declared features with mostly supported values; now and then an undeclared feature
            # or a value outside static-properties (-> incompatible)
            pool = [*static, *static, "zz"]
            for f in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)):
                known = static.get(f, VALUES)
                source = st.sampled_from(VALUES if draw(st.integers(0, 9)) == 0 else known)
                vals = draw(st.lists(source, min_size=1, max_size=3, unique=True))
                desc.setdefault(ns, {})[f] = sorted(vals)
        key = json.dumps(desc, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        variants[f"l{draw(st.integers(0, 9))}x{i}"] = desc
    if draw(st.booleans()):
        variants["null"] = {}
    return {
        "$schema": SCHEMA_V0_2_0,
        "default-priorities": {"namespace": draw(st.permutations(namespaces))},
        "providers": providers,
        "variants": variants,
    }


def variantlib_order(doc: Mapping[str, Any], **kwargs: Any) -> list[str]:
    ranked = variantlib_api.get_variants_by_priority(
        variants_json=json.loads(json.dumps(doc)), **kwargs
    )
    return [vdesc.label for vdesc in ranked]


def varwheel_order(doc: Mapping[str, Any], enabled_optional: tuple[str, ...] = ()) -> list[str]:
    md = load_variants_json(doc, source="generated")
    sp = effective_support(
        md, SupportedProperties({}), marker_env=TARGET_ENV, enabled_optional=enabled_optional
    )
    return list(order_variants(md, sp).labels)


def uses_namespace(desc: Mapping[str, Any], namespaces: set[str]) -> bool:
    return bool(namespaces.intersection(desc))


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(static_document())
def test_static_documents_rank_like_variantlib(doc: dict[str, Any]) -> None:
    optional = {ns for ns, p in doc["providers"].items() if p.get("optional")}
    reference = variantlib_order(doc)
    # With every optional provider enabled the two must agree exactly: same filter (AND over
    # features, OR over values), best supported value per feature, longer key wins a prefix tie,
    # label ascending as the last tie-break (PEP 825 §"Variant ordering").
    assert varwheel_order(doc, enabled_optional=tuple(optional)) == reference
    # Deliberate difference: variantlib 0.2.2 uses an optional provider's static-properties even
    # when it is not enabled; PEP 817 §"optional providers" says its properties are then
    # incompatible unless the user opts in. So by default we drop exactly those variants.
    expected_default = [
        label for label in reference if not uses_namespace(doc["variants"].get(label, {}), optional)
    ]
    assert varwheel_order(doc) == expected_default


@st.composite
def pep817_case(draw: st.DrawFn) -> tuple[VariantMetadata, SupportedProperties]:
    """Install-time providers with PEP 817 ``default-priorities.feature`` / ``.property``."""
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=3, unique=True))
    support = {
        ns: {
            f: tuple(draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4, unique=True)))
            for f in draw(st.lists(st.sampled_from(FEATURES), min_size=1, max_size=3, unique=True))
        }
        for ns in namespaces
    }
    feature_prio = {
        ns: tuple(draw(st.lists(st.sampled_from(FEATURES), max_size=3, unique=True)))
        for ns in namespaces
    }
    property_prio = {
        ns: {
            f: tuple(draw(st.lists(st.sampled_from(VALUES), max_size=3, unique=True)))
            for f in draw(st.lists(st.sampled_from(FEATURES), max_size=3, unique=True))
        }
        for ns in namespaces
    }
    variants: dict[str, tuple[VariantProperty, ...]] = {}
    for i in range(draw(st.integers(0, 10))):
        picked = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(namespaces), st.sampled_from(FEATURES), st.sampled_from(VALUES)
                ),
                min_size=1,
                max_size=4,
                unique=True,
            )
        )
        props = canonical_properties(VariantProperty(*t) for t in picked)
        if props not in variants.values():
            variants[f"l{draw(st.integers(0, 9))}x{i}"] = props
    md = VariantMetadata(
        namespace_priorities=tuple(draw(st.permutations(namespaces))),
        providers={ns: ProviderInfo(ns, requires=(f"{ns}-provider",)) for ns in namespaces},
        variants=variants,
        feature_priorities=feature_prio,
        property_priorities=property_prio,
    )
    return md, SupportedProperties(support)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pep817_case(), st.data())
def test_pep817_priorities_rank_like_variantlib_resolver(
    case: tuple[VariantMetadata, SupportedProperties], data: st.DataObject
) -> None:
    # variantlib 0.2.2 reads no default-priorities.feature/.property from files any more, but its
    # resolver still takes them (as user priorities). Feeding it the same lists checks PEP 817
    # §"Variant ordering" steps 2-3 (listed first, then supported order) end to end, together
    # with namespace / feature exclusions (our --forbid 'ns' and 'ns :: f').
    md, sp = case
    forbid_ns = data.draw(st.lists(st.sampled_from(NAMESPACES), max_size=1))
    forbid_feat = data.draw(
        st.lists(st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(FEATURES)), max_size=2)
    )
    vl_variant = pytest.importorskip("variantlib.models.variant")
    vl_lib = pytest.importorskip("variantlib.resolver.lib")
    descs = [
        vl_variant.VariantDescription(
            properties=[vl_variant.VariantProperty(p.namespace, p.feature, p.value) for p in props],
            label=label,
        )
        for label, props in md.variants.items()
    ]
    ranked = vl_lib.sort_and_filter_supported_variants(
        descs,
        [vl_variant.VariantProperty(p.namespace, p.feature, p.value) for p in sp.as_properties()],
        namespace_priorities=list(md.namespace_priorities),
        feature_priorities={ns: list(fs) for ns, fs in md.feature_priorities.items()},
        property_priorities={
            ns: {f: list(vs) for f, vs in feats.items()}
            for ns, feats in md.property_priorities.items()
        },
        forbidden_namespaces=forbid_ns,
        forbidden_features=[vl_variant.VariantFeature(ns, f) for ns, f in forbid_feat],
        filter_values=True,
    )
    prefs = Preferences(forbid=(*forbid_ns, *(f"{ns} :: {f}" for ns, f in forbid_feat)))
    assert list(order_variants(md, sp, prefs).labels) == [d.label for d in ranked]


def test_forbidding_one_value_differs_from_variantlib_by_design() -> None:
    # PEP 825 §"Overriding variant ordering" lets tools "exclude specific variants". Our
    # --forbid 'ns :: f :: v' excludes every variant listing that property; variantlib 0.2.2's
    # forbidden_properties only removes the value from the supported set, so a multi-value
    # variant survives through its other values. Both stay within PEP 825: neither selects an
    # unsupported wheel.
    vl_variant = pytest.importorskip("variantlib.models.variant")
    vl_lib = pytest.importorskip("variantlib.resolver.lib")
    fat = (
        VariantProperty("nvidia", "sm_arch", "110_real"),
        VariantProperty("nvidia", "sm_arch", "120_real"),
    )
    md = VariantMetadata(
        namespace_priorities=("nvidia",),
        providers={"nvidia": ProviderInfo("nvidia", requires=("nvidia-variant-provider",))},
        variants={"fat": fat},
    )
    sp = SupportedProperties({"nvidia": {"sm_arch": ("120_real", "110_real")}})
    forbidden = VariantProperty("nvidia", "sm_arch", "120_real")

    def vl(p: VariantProperty) -> Any:
        return vl_variant.VariantProperty(p.namespace, p.feature, p.value)

    ranked = vl_lib.sort_and_filter_supported_variants(
        [vl_variant.VariantDescription(properties=[vl(p) for p in fat], label="fat")],
        [vl(p) for p in sp.as_properties()],
        namespace_priorities=["nvidia"],
        forbidden_properties=[vl(forbidden)],
        filter_values=True,
    )
    assert [d.label for d in ranked] == ["fat", "null"]
    ranking = order_variants(md, sp, Preferences(forbid=(str(forbidden),)))
    assert ranking.labels == ("null",)
    assert ranking.rejected[0].reason.code == "forbidden"


# --- the recorded variantlib transcript (toy plugin + static blas) --------------------------------

SEL_RE = re.compile(r"^\$ (?P<env>.*?)python sel\.py.*$")


def toy_support(env: Mapping[str, str]) -> SupportedProperties:
    """What the toy plugin reports (see toy_variant_provider__init__.py.txt): levels from TOY_LEVEL
    down to v1, and the TOY_ACCEL list (defaults 3 and cuda12)."""
    level = int(env.get("TOY_LEVEL", "3"))
    accel = [a for a in env.get("TOY_ACCEL", "cuda12").split(",") if a]
    features: dict[str, tuple[str, ...]] = {"level": tuple(f"v{i}" for i in range(level, 0, -1))}
    if accel:
        features["accel"] = tuple(accel)
    return SupportedProperties({"toy": features})


def transcript_cases(outputs: Path) -> list[tuple[dict[str, str], list[str]]]:
    lines = (outputs / "selection-and-config-transcript.txt").read_text().splitlines()
    cases = []
    for i, line in enumerate(lines):
        match = SEL_RE.match(line)
        if match is None or "variants.toml" in "".join(lines[max(0, i - 3) : i]):
            continue
        env = dict(re.findall(r"(TOY_\w+)=(\S+)", match.group("env")))
        result = re.match(r"^(\[.*\]) \d+ ms$", lines[i + 1])
        assert result is not None, lines[i + 1]
        cases.append((env, json.loads(result.group(1).replace("'", '"'))))
    return cases


def test_recorded_transcript_orders(variantlib_outputs_dir: Path) -> None:
    md = load_variants_json((variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes())
    cases = transcript_cases(variantlib_outputs_dir)
    assert len(cases) == 4
    for env, expected in cases:
        sp = effective_support(md, toy_support(env), marker_env=TARGET_ENV)
        assert list(order_variants(md, sp).labels) == expected, env


def test_recorded_user_priorities_map_to_prefer(variantlib_outputs_dir: Path) -> None:
    # Transcript: variants.toml with feature_priorities.toy = ["accel"] and
    # property_priorities.blas.library = ["mkl"] gave v2_cuda_openblas, 89de6e32, mkl, null.
    # varwheel expresses that with --prefer (which also moves the namespace first; toy already is).
    text = (variantlib_outputs_dir / "selection-and-config-transcript.txt").read_text()
    assert "['v2_cuda_openblas', '89de6e32', 'mkl', 'null']" in text
    md = load_variants_json((variantlib_outputs_dir / "tinypkg-1.0.0-variants.json").read_bytes())
    sp = effective_support(md, toy_support({}), marker_env=TARGET_ENV)
    prefer = (
        VariantProperty.parse("toy :: accel :: cuda12"),
        VariantProperty.parse("blas :: library :: mkl"),
    )
    ranking = order_variants(md, sp, Preferences(prefer=prefer))
    assert list(ranking.labels) == ["v2_cuda_openblas", "89de6e32", "mkl", "null"]
