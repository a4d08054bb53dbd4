"""The 96 real ``*-variants.json`` of the published WheelNext index (schema v0.0.3) and the
variantlib 0.2.2 outputs (schema v0.2.0): load, validate, convert to v0.2.0, cross-check."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from packaging.tags import Tag

from varwheel.errors import InvalidMetadata
from varwheel.providers.base import configs_to_properties
from varwheel.providers.native.nvidia import FORCE_CUDA_VAR, FORCE_SM_VAR, NvidiaProvider
from varwheel.spec.filenames import parse_wheel_filename
from varwheel.spec.metadata import dump_json, load_variant_json, load_variants_json, to_v0_2_0
from varwheel.spec.model import SCHEMA_V0_2_0, ProviderKind, SchemaGeneration, VariantMetadata
from varwheel.spec.properties import NULL_LABEL, VariantProperty
from varwheel.spec.selection import SupportedProperties, select_wheels

# PEP 817-era null variants labelled '00000000' (the reference implementation rejects these two;
# see fixtures/reference-choices/README.md). Read as null variants; written as 'null' in v0.2.0.
LEGACY_NULL_LABEL = {"torch-2.8.0-variants.json", "torchvision-0.23.0-variants.json"}
V011 = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"


def real_files(real_index_dir: Path) -> list[Path]:
    return sorted(real_index_dir.glob("*/*-variants.json"))


@cache
def _load(path: Path) -> VariantMetadata:
    return load_variants_json(path.read_bytes(), source=path.name)


def test_all_96_real_files_load_and_validate(real_index_dir: Path) -> None:
    files = real_files(real_index_dir)
    assert len(files) == 96
    for path in files:
        md = _load(path)
        raw = json.loads(path.read_bytes())
        assert md.generation is SchemaGeneration.PEP817
        assert md.namespace_priorities == tuple(raw["default-priorities"]["namespace"])
        assert set(md.variants) == set(raw["variants"])
        for label, props in md.variants.items():
            expected = {
                f"{ns} :: {f} :: {v}"
                for ns, feats in raw["variants"][label].items()
                for f, vals in feats.items()
                for v in vals
            }
            assert {str(p) for p in props} == expected, (path.name, label)
        for ns, info in md.providers.items():
            entry = raw["providers"][ns]
            assert info.install_time is entry.get("install-time", True)
            assert info.enable_if == entry.get("enable-if")
            if not info.install_time:
                assert info.static_properties == {
                    f: tuple(v) for f, v in raw["static-properties"][ns].items()
                }


def _as_written(md: VariantMetadata) -> dict[str, tuple[VariantProperty, ...]]:
    """``md.variants`` as schema v0.2.0 holds them: a legacy null label becomes ``null``."""
    return {
        NULL_LABEL if label in md.legacy_null_labels else label: props
        for label, props in md.variants.items()
    }


def test_all_96_round_trip_to_v020_without_losing_a_variant(real_index_dir: Path) -> None:
    legacy = set()
    for path in real_files(real_index_dir):
        md = _load(path)
        conv = to_v0_2_0(md)
        if any(info.enable_if for info in md.providers.values()):
            assert any("enable-if" in w for w in conv.warnings), path.name
        if md.legacy_null_labels:
            legacy.add(path.name)
            assert any("'00000000'" in w and "'null'" in w for w in conv.warnings), path.name
        out = dump_json(md)
        again = load_variants_json(out)
        assert again.generation is SchemaGeneration.PROVIDERS and again.schema == SCHEMA_V0_2_0
        assert again.variants == _as_written(md), path.name
        assert len(again.variants) == len(md.variants)
        assert again.namespace_priorities == md.namespace_priorities
        assert dump_json(again) == out
    assert legacy == LEGACY_NULL_LABEL


@pytest.mark.parametrize(("project", "version"), [("torch", "2.8.0"), ("torchvision", "0.23.0")])
def test_legacy_null_wheels_select_as_the_null_variant(
    real_index_dir: Path, project: str, version: str
) -> None:
    """A v0.0.x release whose property-less wheels are named ``...-00000000.whl``: on a machine
    without CUDA those wheels are the null variant, chosen over nothing else."""
    md = _load(real_index_dir / project / f"{project}-{version}-variants.json")
    assert md.legacy_null_labels == frozenset({"00000000"})
    page = (real_index_dir / project / "index.html").read_text()
    names = set(re.findall(rf"{project}-{re.escape(version)}-[^\"<>#/]+?\.whl", page))
    wheels = [parse_wheel_filename(n) for n in sorted(names)]
    tag = next(w for w in wheels if w.label == "00000000").tags
    ranked = select_wheels(wheels, md, SupportedProperties({}), sorted(tag)).ranked
    assert ranked and all(md.is_null_variant(r.label or "") for r in ranked)
    assert ranked[0].wheel.label == "00000000" and ranked[0].properties == ()
    # with a CUDA 12.9 / SM 9.0 GPU every CUDA build ranks first, the legacy null variant last
    gpu = NvidiaProvider(environ={FORCE_CUDA_VAR: "12.9", FORCE_SM_VAR: "9.0"}, detect=lambda: None)
    support = SupportedProperties({"nvidia": configs_to_properties(gpu.get_supported_configs())})
    linux = [Tag("cp311", "cp311", "manylinux_2_28_x86_64")]
    labels = [r.label for r in select_wheels(wheels, md, support, linux).ranked]
    assert labels == ["cu129", "cu128", "cu126", "00000000"]


def test_torch_priority_namespace_and_numpy_blas_fold(real_index_dir: Path) -> None:
    torch = to_v0_2_0(_load(real_index_dir / "torch" / "torch-2.9.0-variants.json"))
    assert torch.document["providers"]["priority"] == {
        "static-properties": {"order": ["1", "2", "3"]}
    }
    assert torch.document["providers"]["nvidia"]["plugin-api"] == (
        "nvidia_variant_provider.plugin:NvidiaVariantPlugin"
    )
    md = _load(real_index_dir / "numpy" / "numpy-2.3.3-variants.json")
    assert md.providers["blas_lapack"].kind is ProviderKind.STATIC
    numpy = to_v0_2_0(md)
    # the AoT plugin's requires were a build-time input; its output is in static-properties
    assert numpy.document["providers"]["blas_lapack"] == {
        "static-properties": {"provider": ["accelerate", "openblas", "mkl"]}
    }
    assert not any("blas_lapack" in w for w in numpy.warnings)


def test_output_is_pep825_conformant_where_pep825_applies(
    real_index_dir: Path, fixtures_dir: Path
) -> None:
    """PEP 825 v0.1.1 has no providers: its schema must accept the rest of every file we write."""
    schema = json.loads((fixtures_dir / "schemas" / "peps_825_v0.1.1.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for path in real_files(real_index_dir):
        out = json.loads(dump_json(_load(path)))
        subset = {
            "$schema": V011,
            "default-priorities": out["default-priorities"],
            "variants": out["variants"],
        }
        errors = [e.message for e in validator.iter_errors(subset)]
        assert errors == [], (path.name, errors)
        assert load_variants_json(subset).variants == _as_written(_load(path))


def _variantlib_view(document: dict[str, Any]) -> dict[str, Any]:
    """What variantlib 0.2.2 makes of a document: parse, then re-serialize with its own writer."""
    from variantlib.variants_json import VariantsJson

    return json.loads(VariantsJson(document).to_str())


def test_variantlib_reads_our_v020_output(
    real_index_dir: Path, variantlib_outputs_dir: Path
) -> None:
    """variantlib 0.2.2 never checks $schema, so it reads our canonical URL; its own writer then
    reproduces our document except for its non-canonical $schema URL."""
    sources = real_files(real_index_dir)
    sources.append(variantlib_outputs_dir / "tinypkg-1.0.0-variants.json")
    for path in sources:
        ours = json.loads(dump_json(load_variants_json(path.read_bytes())))
        theirs = _variantlib_view(ours)
        assert theirs.pop("$schema") == "https://variants-schema.wheelnext.dev/v0.2.0.json"
        ours.pop("$schema")
        assert theirs == ours, path.name


def test_variantlib_outputs_load(variantlib_outputs_dir: Path) -> None:
    for name in ("tinypkg-1.0.0-variants.json", "x86-tinypkg-1.0.0-variants.json"):
        md = load_variants_json((variantlib_outputs_dir / name).read_bytes(), source=name)
        assert md.generation is SchemaGeneration.PROVIDERS
        assert any("non-canonical" in w for w in md.warnings)
        # our bytes differ from variantlib's only in $schema and the trailing newline
        original = (variantlib_outputs_dir / name).read_text()
        expected = original.replace(
            "https://variants-schema.wheelnext.dev/v0.2.0.json", SCHEMA_V0_2_0
        )
        assert dump_json(md).decode() == expected + "\n"
    for path in sorted((variantlib_outputs_dir / "variant-json").glob("variant.json.*")):
        if "INVALID" in path.name:
            continue
        md = load_variant_json(path.read_bytes(), source=path.name)
        assert len(md.variants) == 1
        assert dump_json(load_variant_json(dump_json(md))) == dump_json(md)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "variant.json.ac31c899.INVALID-skip-plugin-validation",
            "variants.ac31c899.foo: namespace 'foo' is used by variant 'ac31c899' but has no entry in providers",
        ),
        (
            "variant.json.aot-with-plugin-api.INVALID",
            "providers.cpu.plugin-api: plugin-api is valid only with requires or build-requires",
        ),
    ],
)
def test_variantlib_invalid_outputs_fail_cleanly(
    variantlib_outputs_dir: Path, name: str, message: str
) -> None:
    with pytest.raises(InvalidMetadata) as info:
        load_variant_json(
            (variantlib_outputs_dir / "variant-json" / name).read_bytes(), source=name
        )
    assert str(info.value) == f"{name}: {message}"
