"""``--variant`` the way people ask (issue 11, "Asking for a variant is fragile"): by label, by
property, the null variant; a wrong label lists the version's labels and which version has it;
``--force-variant`` never downgrades and is recorded; contradictions and no-ops are said.

The project is torch as the real variant index publishes it: the real ``torch-2.8.0-variants.json``
and ``torch-2.9.0-variants.json`` (shared/fixtures) and one real wheel per label (``py3-none-any``,
so it installs into a real venv), served as a local index over 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import FORCED_VARIANT_FILE, installed_distributions

VERSIONS = ("2.8.0", "2.9.0")
FORCE_PREFIXES = ("NV_VARIANT_PROVIDER_", "AMD_VARIANT_PROVIDER_", "INTEL_VARIANT_PROVIDER_")


def write_torch_site(root: Path, real_index_dir: Path) -> Path:
    """torch 2.8.0 and 2.9.0: a wheel per label of the real metadata, the real variants.json
    files, and a plain ``numpy`` wheel; a static index under ``root/site``."""
    from varwheel.index.static import write_static_index

    wheels = root / "wheels"
    paths: list[Path] = []
    for version in VERSIONS:
        src = real_index_dir / "torch" / f"torch-{version}-variants.json"
        doc = json.loads(src.read_text())
        for label, props in doc["variants"].items():
            one = {**doc, "variants": {label: props}}
            paths.append(build_wheel(wheels, "torch", version, variant=one))
        paths.append(Path(shutil.copy(src, wheels / src.name)))
    paths.append(build_wheel(wheels, "numpy", "2.0.0"))
    return write_static_index(paths, root / "site")


def write_gpu_profile(path: Path, *, cuda: list[str], sm: list[str]) -> Path:
    """A machine with an NVIDIA GPU (providers/profile.py format)."""
    lines = [
        "[profile]",
        'created-by = "tests"',
        "[properties.nvidia]",
        "cuda_version_lower_bound = [" + ", ".join(f'"{v}"' for v in cuda) + "]",
        "sm_arch = [" + ", ".join(f'"{v}"' for v in sm) + "]",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_cpu_profile(path: Path) -> Path:
    path.write_text('[profile]\ncreated-by = "tests"\n[properties]\n')
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_index_dir: Path) -> Iterator[LocalServer]:
    with serve_directory(write_torch_site(tmp_path_factory.mktemp("torch"), real_index_dir)) as srv:
        yield srv


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


def _common(site: LocalServer, venv: Path, profile: Path) -> list[str]:
    return ["--python", str(venv), "--profile", str(profile), "--index-url", site.url + "simple/"]


def _installed(venv: Path):  # type: ignore[no-untyped-def]
    return installed_distributions(find_target_environment(str(venv)))


# -- asking by label ---------------------------------------------------------------------


def test_wrong_label_lists_the_labels_and_the_version_that_has_it(
    capsys, tmp_path, site, venv
) -> None:
    """2.8.0 says cu128, 2.9.0 says cuda12.8: the error lists 2.9.0's labels (was: "7 wheel(s)
    of other variants than the one requested") and names 2.8.0 as the version with cu128."""
    cpu = write_cpu_profile(tmp_path / "cpu.toml")
    code = main(["install", "--variant", "torch=cu128", *_common(site, venv, cpu), "torch"])
    err = capsys.readouterr().err
    assert code == exitcodes.FAILURE
    assert "torch 2.9.0 has no variant cu128 (its variants: cuda12.6, cuda12.8, cuda13.0, " in err
    assert "rocm6.3, rocm6.4, xpu, null)" in err
    assert "torch 2.8.0 has cu128" in err
    assert "other variants than the one requested" not in err
    assert "torch" not in _installed(venv)


def test_label_of_this_version_installs_it(capsys, tmp_path, site, venv) -> None:
    gpu = write_gpu_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"], sm=["90_real"])
    code = main(["install", "--variant", "torch=cuda12.6", *_common(site, venv, gpu), "torch"])
    assert code == 0, capsys.readouterr().err
    dist = _installed(venv)["torch"]
    assert (dist.version, dist.variant_label, dist.forced_variant) == ("2.9.0", "cuda12.6", None)


def test_force_variant_does_not_downgrade(capsys, tmp_path, site, venv) -> None:
    """Was: ``--force-variant`` silently installed torch 2.8.0 cu128."""
    cpu = write_cpu_profile(tmp_path / "cpu.toml")
    argv = ["install", "--variant", "torch=cu128", "--force-variant", *_common(site, venv, cpu)]
    code = main([*argv, "torch"])
    err = capsys.readouterr().err
    assert code == exitcodes.FAILURE
    assert "torch 2.9.0 has no variant cu128" in err
    assert "--force-variant does not move to another version" in err
    assert "torch" not in _installed(venv)
    # pinned to the version that has it, the forced variant installs
    assert main([*argv, "torch==2.8.0"]) == 0


def test_forced_variant_is_warned_recorded_and_listed(capsys, tmp_path, site, venv) -> None:
    """Was: explain called the forced wheel "compatible", install said nothing, nothing was
    recorded."""
    cpu = write_cpu_profile(tmp_path / "cpu.toml")
    common = _common(site, venv, cpu)
    force = ["--variant", "torch=cuda12.8", "--force-variant"]
    assert main(["explain", "--json", *force, *common, "torch"]) == 0
    pkg = json.loads(capsys.readouterr().out)["packages"][0]
    assert pkg["chosen"]["label"] == "cuda12.8" and pkg["chosen"]["forced"] is True
    chosen = next(w for w in pkg["wheels"] if w["status"] == "chosen")
    assert chosen["forced"] is True
    assert "FORCED" in chosen["decided_by"] and "nvidia" in chosen["decided_by"]
    assert any("forced by --force-variant" in note for note in pkg["notes"])

    assert main(["install", *force, *common, "torch"]) == 0
    err = capsys.readouterr().err
    assert "torch 2.9.0: variant cuda12.8 is forced by --force-variant" in err
    assert "does not support it" in err
    dist = _installed(venv)["torch"]
    assert dist.variant_label == "cuda12.8"
    assert dist.forced_variant is not None and "nvidia" in dist.forced_variant
    assert (dist.dist_info / FORCED_VARIANT_FILE).is_file()

    assert main(["list", "--python", str(venv)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("torch"))
    assert "cuda12.8 (forced)" in row
    assert main(["list", "--json", "--python", str(venv)]) == 0
    doc = {d["canonical_name"]: d for d in json.loads(capsys.readouterr().out)}
    assert doc["torch"]["variant_forced"] is True

    # the record tells how it was installed; reinstalled where it is supported, it is gone
    gpu = write_gpu_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"], sm=["90_real"])
    argv = ["install", "--force-reinstall", "--variant", "torch=cuda12.8", "torch"]
    assert main([*argv, *_common(site, venv, gpu)]) == 0
    assert _installed(venv)["torch"].forced_variant is None


# -- asking by property, and the null variant ------------------------------------------


def test_property_request_picks_the_best_variant_with_it(capsys, tmp_path, site, venv) -> None:
    """``cuda_version_lower_bound 12.0`` is in cuda12.6 and cuda12.8 of 2.9.0; the machine's
    preference (priority :: order) picks cuda12.8 among them, never cuda13.0. A second property
    narrows further (AND): only cuda12.6 builds for sm_arch 50_real."""
    gpu = write_gpu_profile(
        tmp_path / "gpu.toml", cuda=["13.0", "12.8", "12.0"], sm=["90_real", "75_real"]
    )
    common = _common(site, venv, gpu)
    prop = "torch=nvidia :: cuda_version_lower_bound :: 12.0"
    assert main(["install", "--variant", prop, *common, "torch"]) == 0
    assert _installed(venv)["torch"].variant_label == "cuda12.8"
    both = ["--variant", prop, "--variant", "torch=nvidia :: sm_arch :: 50_real"]
    assert main(["install", *both, *common, "torch"]) == 0
    assert _installed(venv)["torch"].variant_label == "cuda12.6"
    capsys.readouterr()
    # no variant has all three: the error names what is missing, nothing is installed
    three = [*both, "--variant", "torch=amd :: rocm_version :: 6.3"]
    code = main(["install", *three, "--force-reinstall", *common, "torch==2.9.0"])
    err = capsys.readouterr().err
    assert code == exitcodes.FAILURE
    assert "no variant of torch 2.9.0 has 'amd :: rocm_version :: 6.3' and " in err
    assert _installed(venv)["torch"].variant_label == "cuda12.6"


def test_property_only_an_older_version_has_is_warned(capsys, tmp_path, site, venv) -> None:
    """2.9.0 has no variant with lower bound 12.8 (2.8.0's cu128 has): 2.8.0 is installed, and
    the fallback to an older version is said (PEP 817: warn when selection goes back)."""
    gpu = write_gpu_profile(tmp_path / "gpu.toml", cuda=["12.8"], sm=["90_real"])
    prop = "torch=nvidia :: cuda_version_lower_bound :: 12.8"
    assert main(["install", "--variant", prop, *_common(site, venv, gpu), "torch"]) == 0
    err = capsys.readouterr().err
    assert "no variant of torch 2.9.0 has 'nvidia :: cuda_version_lower_bound :: 12.8'" in err
    assert "installing torch 2.8.0, the newest version that has it" in err
    dist = _installed(venv)["torch"]
    assert (dist.version, dist.variant_label) == ("2.8.0", "cu128")
    # pinned to 2.9.0, the error names 2.8.0 as the version that has it
    code = main(["install", "--variant", prop, *_common(site, venv, gpu), "torch==2.9.0"])
    err = capsys.readouterr().err
    assert code == exitcodes.FAILURE
    assert "torch 2.8.0 has a variant with 'nvidia :: cuda_version_lower_bound :: 12.8'" in err


def test_null_request_on_a_gpu_machine(capsys, tmp_path, site, venv) -> None:
    """``torch=null``: the variant without properties, also where 2.8.0 labels it 00000000."""
    gpu = write_gpu_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"], sm=["90_real"])
    common = _common(site, venv, gpu)
    assert main(["install", "--variant", "torch=null", *common, "torch"]) == 0
    assert _installed(venv)["torch"].variant_label == "null"
    assert main(["install", "--variant", "torch=null", *common, "torch==2.8.0"]) == 0
    assert _installed(venv)["torch"].variant_label == "00000000"


# -- contradictions and no-ops -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--variant", "*=cuda12.8"], ["per package", "--prefer"]),
        (["--variant", "torch=cuda12.8", "--variant", "torch=null"], ["two variants of torch"]),
        (["--variant", "torch=cuda12.8", "--no-variants"], ["--no-variants", "torch=cuda12.8"]),
        (
            ["--variant", "torch=null", "--variant", "torch=nvidia :: sm_arch :: 90_real"],
            ["by its label or by properties"],
        ),
        (["--variant", "torch=Bad-Label"], ["torch=Bad-Label", "invalid variant label"]),
    ],
)
def test_contradictions_are_usage_errors(capsys, tmp_path, site, venv, argv, words) -> None:
    """Each was silently ignored (or the last one won)."""
    cpu = write_cpu_profile(tmp_path / "cpu.toml")
    code = main(["install", *argv, *_common(site, venv, cpu), "torch"])
    err = capsys.readouterr().err
    assert code == exitcodes.INVALID_INPUT, err
    errors = [line for line in err.splitlines() if line.startswith("varwheel: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err
    assert "torch" not in _installed(venv)


def test_request_for_a_package_not_installed_is_warned(capsys, tmp_path, site, venv) -> None:
    cpu = write_cpu_profile(tmp_path / "cpu.toml")
    code = main(["install", "--variant", "torhc=null", *_common(site, venv, cpu), "numpy"])
    err = capsys.readouterr().err
    assert code == 0
    assert "--variant torhc=null: torhc is not being installed" in err


def test_misspelled_prefer_namespace_is_warned(capsys, tmp_path, site, venv) -> None:
    gpu = write_gpu_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"], sm=["90_real"])
    common = _common(site, venv, gpu)
    code = main(
        ["install", "--dry-run", "--prefer", "nvidai :: sm_arch :: 90_real", *common, "torch"]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "--prefer 'nvidai :: sm_arch :: 90_real': no provider or package here knows" in err
    assert "nvidia" in err and "priority" in err  # the known namespaces are named
    # a known namespace: no warning
    assert (
        main(["install", "--dry-run", "--prefer", "nvidia :: sm_arch :: 90_real", *common, "torch"])
        == 0
    )
    assert "--prefer" not in capsys.readouterr().err


# -- "an ARMv8.1a package please", for another machine (docs/variants.md) ----------------

AARCH64_PROVIDER = {
    # as numpy 2.3.4 on the variant index declares it
    "aarch64": {
        "enable-if": "platform_machine == 'aarch64' or 'arm' in platform_machine",
        "plugin-api": "provider_variant_aarch64.plugin:AArch64Plugin",
        "requires": ["provider-variant-aarch64"],
    }
}
ARM_TARGET = ["--python-version", "3.12", "--platform", "manylinux_2_28_aarch64"]


@pytest.fixture(scope="module")
def arm_links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``armdemo 1.0``: an ARMv8a, an ARMv8.1a and an ARMv8.2a build, and the null variant."""
    from helpers.wheels import variant_json

    dest = tmp_path_factory.mktemp("arm")
    tags = "py3-none-manylinux_2_28_aarch64"
    for label, props in (
        ("armv8", ["aarch64 :: version :: 8a"]),
        ("armv8.1", ["aarch64 :: version :: 8.1a"]),
        ("armv8.2", ["aarch64 :: version :: 8.2a"]),
        ("null", []),
    ):
        doc = variant_json(
            label, props, providers=AARCH64_PROVIDER, namespace_priorities=["aarch64"]
        )
        build_wheel(dest, "armdemo", "1.0", tags=tags, variant=doc)
    return dest


def _dry_run_label(capsys, argv: list[str]) -> tuple[int, str | None, str]:
    code = main(["install", "--dry-run", "--report", "-", "--no-index", *argv, "armdemo"])
    out, err = capsys.readouterr()
    if code != 0:
        return code, None, err
    report = json.loads(out)
    (item,) = report["install"]
    name = item["download_info"]["url"].rsplit("/", 1)[-1]
    return code, name.removesuffix(".whl").rsplit("-", 1)[-1], err


def test_armv81a_for_another_machine(capsys, tmp_path, arm_links, venv) -> None:
    """The documented answer: describe the target (a profile from ``varwheel detect --output``
    there, or these lines by hand) plus its tags, and ask by property."""
    profile = tmp_path / "arm.toml"
    profile.write_text(
        '[profile]\ncreated-by = "docs/variants.md"\n'
        '[properties.aarch64]\nversion = ["8.2a", "8.1a", "8a"]\n'
    )
    links = ["--find-links", str(arm_links), "--python", str(venv)]
    base = [*links, *ARM_TARGET, "--profile", str(profile)]
    # the machine's best is ARMv8.2a ...
    assert _dry_run_label(capsys, base)[1] == "armv8.2"
    # ... an ARMv8.1a package please
    ask = ["--variant", "armdemo=aarch64 :: version :: 8.1a"]
    assert _dry_run_label(capsys, [*base, *ask])[1] == "armv8.1"

    # without a profile the x86 host cannot say what the ARM machine supports: the request is
    # an error naming why, and --force-variant takes the one variant that has the property
    code, label, err = _dry_run_label(capsys, [*links, *ARM_TARGET, *ask])
    assert code == exitcodes.FAILURE and "armv8.1" in err and "aarch64" in err
    code, label, err = _dry_run_label(capsys, [*links, *ARM_TARGET, *ask, "--force-variant"])
    assert (code, label) == (0, "armv8.1")
    assert "forced by --force-variant" in err
