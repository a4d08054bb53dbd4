"""``varwheel.build.check``: each problem flagged on real wheels (and projects), a clean release
passes, and the shadowing rule agrees with the installer's ranking."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from helpers.wheels import build_wheel, variant_json
from varwheel.build.check import (
    CODES,
    Finding,
    Severity,
    check_project,
    check_release,
    has_errors,
    shadowing,
)
from varwheel.errors import InvalidBuildConfig, InvalidInput
from varwheel.spec.merge import merge_metadata
from varwheel.spec.metadata import dump_json, load_pyproject, load_variant_json
from varwheel.spec.properties import VariantProperty
from varwheel.spec.selection import SupportedProperties, effective_support, order_variants

X86 = {"x86_64": {"requires": ["provider-variant-x86-64"]}}
DEMO = Path(__file__).parent / "data" / "demo" / "pyproject.toml"
LINUX = "cp311-cp311-linux_x86_64"


def wheel(
    d: Path,
    label: str | None,
    props: Sequence[str] = (),
    *,
    version: str = "1.0",
    tags: str = LINUX,
    providers: dict | None = None,
) -> Path:
    if label is None:
        return build_wheel(d, "demo", version, tags=tags)
    doc = variant_json(label, props, providers=X86 if providers is None else providers)
    return build_wheel(d, "demo", version, tags=tags, variant=doc)


def index_json(d: Path, version: str = "1.0", *, drop: Sequence[str] = ()) -> Path:
    """``demo-<version>-variants.json`` merged from the release's wheels' own variant.json."""
    import zipfile

    docs = []
    for path in sorted(d.glob(f"demo-{version}-*.whl")):
        with zipfile.ZipFile(path) as zf:
            member = next((n for n in zf.namelist() if n.endswith("/variant.json")), None)
            if member is not None:
                docs.append(load_variant_json(zf.read(member), source=path.name))
    merged = merge_metadata(docs)
    data = json.loads(dump_json(merged))
    for label in drop:
        del data["variants"][label]
    target = d / f"demo-{version}-variants.json"
    target.write_text(json.dumps(data, indent=4))
    return target


def codes(findings: Sequence[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def only(findings: Sequence[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, findings
    assert found[0].severity is CODES[code]
    return found[0]


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    wheel(d, None)
    wheel(d, "null")
    wheel(d, "x8664v3", ["x86_64 :: level :: v3"])
    wheel(d, "x8664v4", ["x86_64 :: level :: v4"])
    index_json(d)
    return d


def test_clean_release_has_no_findings(clean: Path) -> None:
    assert check_release([clean]) == ()
    assert check_release(sorted(clean.iterdir())) == ()  # files instead of the directory


def test_unknown_value_and_feature_are_errors(clean: Path) -> None:
    wheel(clean, "v9", ["x86_64 :: level :: v9"])
    wheel(clean, "fancy", ["x86_64 :: avx1024 :: on"])
    index_json(clean)
    findings = check_release([clean])
    assert codes(findings) == ["unknown-feature", "unknown-value"]
    assert only(findings, "unknown-value").subjects == ("demo-1.0-cp311-cp311-linux_x86_64-v9.whl",)
    assert "x86_64 :: level :: v9 is not a value provider 'x86_64' knows" in (
        only(findings, "unknown-value").message
    )
    assert "no feature 'avx1024'" in only(findings, "unknown-feature").message
    assert has_errors(findings)


def test_single_valued_feature_with_two_values(clean: Path) -> None:
    wheel(clean, "both", ["x86_64 :: level :: v3", "x86_64 :: level :: v4"])
    index_json(clean)
    finding = only(check_release([clean]), "multi-value")
    assert "x86_64 :: level is single-valued but lists v3, v4" in finding.message


def test_namespace_no_known_provider_owns(tmp_path: Path) -> None:
    providers = {**X86, "toy": {"requires": ["toy-variant-provider==0.1"]}}
    wheel(tmp_path, None)
    wheel(tmp_path, "toy", ["toy :: color :: red"], providers=providers)
    wheel(tmp_path, "v3", ["x86_64 :: level :: v3"], providers=providers)
    index_json(tmp_path)
    findings = check_release([tmp_path])
    finding = only(findings, "unknown-provider")
    assert "namespace 'toy' is owned by no provider varwheel knows (toy-variant-provider==0.1)" in (
        finding.message
    )
    assert not has_errors(findings)


def test_pep825_document_without_providers(tmp_path: Path) -> None:
    """PEP 825 v0.1 has no providers: a namespace is checked by the provider of that name."""
    schema = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"
    for label, ns, value in (("a", "x86_64", "v9"), ("b", "mystery", "x")):
        doc = {
            "$schema": schema,
            "default-priorities": {"namespace": [ns]},
            "variants": {label: {ns: {"level": [value]}}},
        }
        build_wheel(tmp_path, "demo", "1.0", tags=f"cp311-cp311-linux_{label}", variant=doc)
    findings = check_release([tmp_path])
    assert "unknown-value" in codes(findings)
    assert (
        "namespace 'mystery' is owned by no provider" in only(findings, "unknown-provider").message
    )
    assert "undeclared-namespace" not in codes(findings)


def test_label_reused_with_other_properties_in_one_release(clean: Path) -> None:
    wheel(clean, "x8664v3", ["x86_64 :: level :: v2"], tags="cp312-cp312-linux_x86_64")
    finding = only(check_release([clean]), "label-conflict")
    assert "label 'x8664v3' names different properties" in finding.message
    assert "demo-1.0-cp312-cp312-linux_x86_64-x8664v3.whl" in finding.subjects
    assert "demo-1.0-variants.json" in finding.subjects


def test_providers_differ_between_wheels(clean: Path) -> None:
    other = {"x86_64": {"requires": ["provider-variant-x86-64>=0.0.3"]}}
    wheel(clean, "x8664v2", ["x86_64 :: level :: v2"], providers=other)
    findings = check_release([clean])
    finding = only(findings, "provider-mismatch")
    assert "providers.x86_64 differs between files" in finding.message
    assert "{requires=['provider-variant-x86-64>=0.0.3']} in demo-1.0-cp311" in finding.message
    assert has_errors(findings)


def test_shadowed_variant(clean: Path) -> None:
    wheel(clean, "zz_v3", ["x86_64 :: level :: v3"])  # same properties, later label
    index_json(clean)
    finding = only(check_release([clean]), "shadowed-variant")
    assert finding.severity is Severity.WARNING
    assert finding.message.startswith("variant 'zz_v3' {x86_64 :: level :: v3} is never selected")
    assert "wins the label tie-break" in finding.message


def test_missing_non_variant_fallback(tmp_path: Path) -> None:
    wheel(tmp_path, None, tags="cp312-cp312-linux_x86_64")  # a fallback for another tag set only
    wheel(tmp_path, "x8664v3", ["x86_64 :: level :: v3"])
    wheel(tmp_path, "x8664v3", ["x86_64 :: level :: v3"], tags="cp312-cp312-linux_x86_64")
    index_json(tmp_path)
    finding = only(check_release([tmp_path]), "no-fallback")
    assert "no non-variant wheel for cp311-cp311-linux_x86_64" in finding.message
    assert finding.subjects == ("demo-1.0-cp311-cp311-linux_x86_64-x8664v3.whl",)
    # a pure-Python plain wheel is a fallback everywhere
    wheel(tmp_path, None, tags="py3-none-any")
    assert "no-fallback" not in codes(check_release([tmp_path]))


def test_labels_change_between_releases(clean: Path) -> None:
    wheel(clean, None, version="2.0")
    wheel(clean, "avx2", ["x86_64 :: level :: v3"], version="2.0")  # was x8664v3 in 1.0
    wheel(clean, "x8664v4", ["x86_64 :: level :: v2"], version="2.0")  # meant v4 in 1.0
    index_json(clean, "2.0")
    findings = check_release([clean])
    changed = only(findings, "label-changed")
    assert "{x86_64 :: level :: v3} is labelled 'avx2' in 2.0, 'x8664v3' in 1.0" in changed.message
    reused = only(findings, "label-reused")
    assert (
        "label 'x8664v4' means {x86_64 :: level :: v4} in 1.0; {x86_64 :: level :: v2} in 2.0"
        in (reused.message)
    )
    assert not has_errors(findings)


def test_label_missing_from_index_file(tmp_path: Path) -> None:
    wheel(tmp_path, None)
    wheel(tmp_path, "x8664v3", ["x86_64 :: level :: v3"])
    wheel(tmp_path, "null")
    index_json(tmp_path, drop=["null"])
    finding = only(check_release([tmp_path]), "label-not-in-index")
    assert finding.subjects == ("demo-1.0-cp311-cp311-linux_x86_64-null.whl",)


def test_no_index_file(tmp_path: Path) -> None:
    wheel(tmp_path, None)
    wheel(tmp_path, "x8664v3", ["x86_64 :: level :: v3"])
    assert codes(check_release([tmp_path])) == ["no-variants-json"]


def test_wheel_lying_about_its_label(tmp_path: Path) -> None:
    doc = variant_json("x8664v4", ["x86_64 :: level :: v4"], providers=X86)
    build_wheel(tmp_path, "demo", "1.0", tags=LINUX, variant=doc, label="x8664v3")
    wheel(tmp_path, None)
    finding = only(check_release([tmp_path]), "invalid-wheel")
    assert finding.subjects == ("demo-1.0-cp311-cp311-linux_x86_64-x8664v3.whl",)
    (tmp_path / "demo-1.0-variants.json").write_text("{")
    assert "invalid-variants-json" in codes(check_release([tmp_path]))


def test_bad_paths_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no wheels or"):
        check_release([tmp_path])
    with pytest.raises(InvalidInput, match="no such file or directory"):
        check_release([tmp_path / "nope"])
    (tmp_path / "README").write_text("x")
    with pytest.raises(InvalidInput, match="not a wheel or a"):
        check_release([tmp_path / "README"])


# --------------------------------------------------------------------------- projects


def write_project(tmp_path: Path, extra: str) -> Path:
    text = DEMO.read_text().split("[tool.varwheel.build]")[0]
    path = tmp_path / "pyproject.toml"
    path.write_text(text + "[tool.varwheel.build]\n" + extra)
    return path


def test_demo_project_flags_the_outranked_level(tmp_path: Path) -> None:
    finding = only(check_project(DEMO), "shadowed-variant")
    assert "'x8664v4' {x86_64 :: level :: v4} is never selected: 'f88e092c'" in finding.message
    assert "static, always supported" in finding.message
    assert check_project(DEMO.parent) == check_project(DEMO)


def test_project_problems(tmp_path: Path) -> None:
    path = write_project(
        tmp_path,
        """non-variant = false
[[tool.varwheel.build.variants]]
label = "a"
properties = ["x86_64 :: level :: v9"]
[[tool.varwheel.build.variants]]
label = "b"
properties = ["nvidia :: sm_arch :: 90_real", "nvidia :: cuda_version_lower_bound :: 12.8",
              "nvidia :: cuda_version_lower_bound :: 12.9"]
[[tool.varwheel.build.variants]]
label = "c"
properties = ["cuda :: x :: y"]
[[tool.varwheel.build.variants]]
label = "d"
properties = ["nvidia :: sm_arch :: 90_real", "nvidia :: sm_arch :: 80_real"]
[[tool.varwheel.build.variants]]
label = "e"
properties = ["nvidia :: sm_arch :: 90_real"]
[[tool.varwheel.build.variants]]
label = "f"
properties = ["nvidia :: sm_arch :: 80_real", "nvidia :: sm_arch :: 75_real"]
""",
    )
    findings = check_project(path)
    assert codes(findings) == [
        "multi-value", "no-fallback", "shadowed-variant", "undeclared-namespace", "unknown-value",
    ]  # fmt: skip
    assert only(findings, "unknown-value").subjects == ("a",)
    # e's targets all take d (d lists e's values too, and its label sorts first); f is not
    # shadowed: an sm_75 machine takes it
    shadowed = only(findings, "shadowed-variant")
    assert shadowed.subjects == ("e",)
    assert shadowed.message.startswith("variant 'e' {nvidia :: sm_arch :: 90_real} is never")
    assert "'d' {nvidia :: sm_arch :: 80_real, nvidia :: sm_arch :: 90_real}" in shadowed.message
    assert "non-variant = false" in only(findings, "no-fallback").message


def test_variant_no_representative_machine_selects(tmp_path: Path) -> None:
    """x86_64 :: level :: v1 next to v2: the provider reports levels only from v2 up, so every
    machine answering x86_64 takes v2 (coverage); an Intel GPU variant is not judged (no shipped
    machine has one)."""
    head = DEMO.read_text().split("[tool.varwheel.build]")[0]
    path = tmp_path / "pyproject.toml"
    path.write_text(
        head.replace('namespace = ["nvidia", "x86_64", "blas_lapack"]',
                     'namespace = ["nvidia", "x86_64", "blas_lapack", "intel"]')
        + '[variant.providers.intel]\nrequires = ["intel-variant-provider"]\n'
        + "[tool.varwheel.build]\n"
        + "".join(
            f'[[tool.varwheel.build.variants]]\nlabel = "{label}"\nproperties = ["{prop}"]\n'
            for label, prop in (
                ("v1", "x86_64 :: level :: v1"),
                ("v2", "x86_64 :: level :: v2"),
                ("xpu", "intel :: device_ip :: 20.1.0"),
            )
        )
    )  # fmt: skip
    findings = check_project(path)
    finding = only(findings, "unselected-variant")
    assert finding.subjects == ("v1",)
    assert "selected by none of varwheel's" in finding.message
    assert "always outranked by another variant" in finding.message
    assert not has_errors(findings)


def test_bad_project_is_input_error(tmp_path: Path) -> None:
    path = write_project(tmp_path, "nul-variant = true\n")
    with pytest.raises(InvalidBuildConfig, match=r"tool\.varwheel\.build: unknown key"):
        check_project(path)
    with pytest.raises(InvalidInput, match="no such file"):
        check_project(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- shadowing rule

_PYPROJECT = {
    "variant": {
        "default-priorities": {"namespace": ["x86_64", "nvidia", "blas_lapack"]},
        "providers": {
            **X86,
            "nvidia": {"requires": ["nvidia-variant-provider"]},
            "blas_lapack": {"static-properties": {"provider": ["openblas", "mkl"]}},
        },
    }
}
_PROPS = st.sampled_from([
    "x86_64 :: level :: v2", "x86_64 :: level :: v3", "x86_64 :: level :: v4",
    "nvidia :: sm_arch :: 80_real", "nvidia :: sm_arch :: 90_real", "nvidia :: sm_arch :: 100_real",
    "blas_lapack :: provider :: mkl", "blas_lapack :: provider :: openblas",
])  # fmt: skip
_SUPPORT = st.fixed_dictionaries({
    "x86_64": st.fixed_dictionaries({"level": st.lists(
        st.sampled_from(["v4", "v3", "v2", "v1"]), unique=True)}),
    "nvidia": st.fixed_dictionaries({"sm_arch": st.lists(
        st.sampled_from(["100_real", "90_real", "80_real"]), unique=True)}),
})  # fmt: skip


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.sets(_PROPS, min_size=1, max_size=3),
        min_size=2,
        max_size=5,
    ),
    st.lists(_SUPPORT, min_size=1, max_size=4),
)
def test_shadowed_variants_never_win(
    variants: dict[str, set[str]], supports: list[dict[str, dict[str, list[str]]]]
) -> None:
    """Against the installer's own ranking: a shadowed variant is never ranked above its
    shadower on any target (and is never the first choice when the shadower exists)."""
    parsed = {
        label: tuple(sorted(VariantProperty.parse(p) for p in props))
        for label, props in variants.items()
    }
    md = load_pyproject(_PYPROJECT)
    shadowed = shadowing(parsed, md)
    full = type(md)(**{**md.__dict__, "variants": parsed})
    for support in supports:
        effective = effective_support(full, SupportedProperties(support), marker_env={})
        ranking = order_variants(full, effective)
        labels = ranking.labels
        for a, b in shadowed.items():
            event("a shadowed variant is compatible" if a in labels else "shadowed, incompatible")
            if a in labels:
                assert b in labels and labels.index(b) < labels.index(a)


# --------------------------------------------------------------------------- published data


def test_published_releases(real_index_dir: Path) -> None:
    """The wheelnext variant index (v0.0.3 files): torch and numpy are clean; cupy's cu11 lists
    sm_35, which nvidia-variant-provider 0.0.2 does not know (it starts at 5.0); nvidia-nccl's
    `cu12` meant lower bound `12` in one release and `12.0` (another range) in the others."""
    assert check_release([real_index_dir / "torch"]) == ()
    assert check_release([real_index_dir / "numpy"]) == ()
    cupy = check_release([real_index_dir / "cupy"])
    assert codes(cupy) == ["unknown-value", "unknown-value"]
    assert cupy[0].message.startswith(
        "cupy 13.5.1: variant 'cu11': nvidia :: sm_arch :: 35_real is not a value provider"
    )
    nccl = check_release([real_index_dir / "nvidia-nccl"])
    reused = only(nccl, "label-reused")
    assert "label 'cu12' means {nvidia :: cuda_version_lower_bound :: 12} in 2.27.3" in (
        reused.message
    )


def test_each_file_read_once_and_releases_in_version_order(tmp_path: Path) -> None:
    one = wheel(tmp_path, "v3", ["x86_64 :: level :: v3"], version="10.0")
    wheel(tmp_path, "x8664v3", ["x86_64 :: level :: v3"], version="2.0")
    wheel(tmp_path, None, version="10.0")
    wheel(tmp_path, None, version="2.0")
    findings = check_release([tmp_path, one, tmp_path / one.name])
    assert codes(findings) == ["label-changed", "no-variants-json", "no-variants-json"]
    assert "is labelled 'v3' in 10.0, 'x8664v3' in 2.0" in only(findings, "label-changed").message
    per_release = [f.message.split(":")[0] for f in findings if f.code == "no-variants-json"]
    assert per_release == ["demo 2.0", "demo 10.0"]
