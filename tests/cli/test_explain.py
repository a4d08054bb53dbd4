"""``varwheel explain`` on the real published index served over 127.0.0.1, cross-checked with the
reference choices (fixtures/reference-choices/grid.json), and on a locally built variant index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.targets import use_target_venv, without_environment_line
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from resolve.variant_project import write_profile, write_site
from varwheel.cli import exitcodes
from varwheel.cli.main import main

# grid.json's target: CPython 3.12 on manylinux_2_28_x86_64 with the older manylinux tags (pip's
# --platform does not expand PEP 600 tags or their legacy aliases, so they are listed, most
# preferred first) or linux_x86_64
TARGET = ["--python-version", "3.12"]
for _minor in range(28, 16, -1):
    TARGET += ["--platform", f"manylinux_2_{_minor}_x86_64"]
TARGET += ["--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64"]
FORCE_PREFIXES = ("NV_VARIANT_PROVIDER_", "AMD_VARIANT_PROVIDER_", "INTEL_VARIANT_PROVIDER_")


@pytest.fixture(scope="module")
def target_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("target") / "venv")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_venv: Path) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)
    use_target_venv(monkeypatch, target_venv)  # the install --dry-run cases need a target


@pytest.fixture(scope="module")
def real_index(real_index_dir: Path) -> Iterator[LocalServer]:
    with serve_directory(real_index_dir) as srv:
        yield srv


@pytest.fixture(scope="module")
def grid(fixtures_dir: Path) -> dict:
    return json.loads((fixtures_dir / "reference-choices" / "grid.json").read_text())


def explain_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["explain", "--json", *argv])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


# Every package version under one profile; the multi-vendor projects under all five (parsing the
# 20 project pages dominates the time, so the other profiles stay on four pages).
PROFILES = {
    "nv120-sm80": None,
    "nv127-sm125": {"torch", "torchvision", "cupy", "cudf"},
    "nv114-sm70": {"torch", "torchvision", "cupy", "cudf"},
    "amd-gfx90a-63": {"torch", "torchvision", "cupy", "cudf"},
    "intel-12.55.8": {"torch", "torchvision", "cupy", "cudf"},
}


@pytest.mark.slow
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_real_index_matches_reference_choices(
    capsys, monkeypatch, real_index: LocalServer, grid: dict, profile: str
) -> None:
    projects = PROFILES[profile]
    cases = [
        c
        for c in grid["cases"]
        if c["profile"] == profile and (projects is None or c["project"] in projects)
    ]
    assert len(cases) >= 5
    for key, value in cases[0]["env"].items():
        monkeypatch.setenv(key, value)
    reqs = [f"{c['project']}=={c['version']}" for c in cases]
    _, doc = explain_json(capsys, "--index-url", real_index.url, *TARGET, *reqs)
    got = {}
    for pkg in doc["packages"]:
        chosen = pkg["chosen"]
        if chosen is None:
            got[pkg["requirement"]] = "ERROR"
        else:
            got[pkg["requirement"]] = chosen["label"] or "NONVARIANT"
    expected = {f"{c['project']}=={c['version']}": c["expected"] for c in cases}
    assert got == expected


def test_torch_forced_gpu_and_no_gpu(capsys, monkeypatch, real_index: LocalServer) -> None:
    args = ["--index-url", real_index.url, *TARGET, "torch==2.9.0"]
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    code, doc = explain_json(capsys, *args)
    pkg = doc["packages"][0]
    assert code == 0
    assert pkg["chosen"]["label"] == "cuda12.8"
    assert pkg["chosen"]["filename"] == "torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64-cuda12.8.whl"
    assert pkg["metadata_route"] == "index variants.json"
    ranked = [w for w in pkg["wheels"] if w["rank"] is not None]
    assert [w["label"] for w in ranked][:1] == ["cuda12.8"]
    assert all(w["decided_by"] for w in ranked)
    monkeypatch.delenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION")
    monkeypatch.delenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH")

    # no GPU (a profile with no properties): the CPU build, and every CUDA wheel says why
    profile = write_profile(Path("cpu.toml"), cuda=None)
    code, doc = explain_json(capsys, "--profile", str(profile), *args)
    pkg = doc["packages"][0]
    assert pkg["chosen"]["label"] == "null"
    reasons = {
        w["label"]: w["reason"]
        for w in pkg["wheels"]
        if w["status"] == "rejected" and w["reason"]["code"] != "tag-mismatch"
    }
    assert {"cuda12.6", "cuda12.8", "cuda13.0", "rocm6.3", "rocm6.4", "xpu"} <= set(reasons)
    assert "nvidia :: cuda_version_lower_bound needs one of" in reasons["cuda12.8"]["message"]
    assert reasons["cuda12.8"]["code"] in ("namespace-unavailable", "feature-unsupported")


def test_human_output_names_reasons(capsys, real_index: LocalServer, tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "cpu.toml", cuda=None)
    code = main(
        [
            "explain",
            "--profile",
            str(profile),
            "--index-url",
            real_index.url,
            *TARGET,
            "torch==2.9.0",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    assert "chosen: torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64-null.whl" in out
    assert "[cuda12.8]: nvidia :: cuda_version_lower_bound needs one of" in out
    assert "variant metadata: index variants.json" in out
    assert "tags do not match the target" in out


def test_dry_run_no_deps_fetches_only_pages_and_variants_json(
    capsys, monkeypatch, real_index: LocalServer
) -> None:
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.0")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "8.0")
    real_index.stats.clear()
    code = main(
        [
            "install",
            "--dry-run",
            "--no-deps",
            "--index-url",
            real_index.url,
            *TARGET,
            "torch==2.9.0",
            "torchvision",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "torch 2.9.0 (variant cuda12.8" in out
    paths = sorted({r.path for r in real_index.stats.snapshot()})
    assert paths, "no request reached the server"
    for path in paths:
        assert path.endswith("/") or path.endswith("-variants.json"), path
    assert "/torch/torch-2.9.0-variants.json" in paths
    assert "/torchvision/" in paths
    # one variants.json per chosen version at most (torchvision's newest may have none)
    assert sum(p.endswith("-variants.json") for p in paths) <= 2


def test_malformed_variants_json_and_page(capsys, tmp_path: Path) -> None:
    site = write_site(tmp_path / "vdemo")
    variants = site / "files" / "vdemo-1.0-variants.json"
    old_digest = hashlib.sha256(variants.read_bytes()).hexdigest()
    variants.write_text('{"$schema": 3, "variants": ')
    # the pages (HTML and PEP 691 JSON) list the new file's hash: it is fetched and parsed
    new_digest = hashlib.sha256(variants.read_bytes()).hexdigest()
    for page in (site / "simple" / "vdemo").iterdir():
        page.write_text(page.read_text().replace(old_digest, new_digest))
    with serve_directory(site) as srv:
        code = main(["explain", "--no-variants", "--index-url", srv.url + "simple/", "vdemo"])
        capsys.readouterr()
        assert code == 0  # variant data is never read when variants are off
        code = main(["install", "--dry-run", "--index-url", srv.url + "simple/", "vdemo"])
        err = without_environment_line(capsys.readouterr().err)
        assert code == exitcodes.INVALID_INPUT, err
        assert err.startswith("varwheel: error: ") and err.count("\n") == 1
        assert "vdemo-1.0-variants.json" in err and "hash mismatch" not in err

    broken = tmp_path / "broken"
    (broken / "simple" / "vdemo").mkdir(parents=True)
    (broken / "simple" / "vdemo" / "index.json").write_text("{not json")
    with serve_directory(broken) as srv:
        code = main(["install", "--dry-run", "--index-url", srv.url + "simple/", "vdemo"])
        err = without_environment_line(capsys.readouterr().err)
        assert code == exitcodes.INVALID_INPUT
        assert err.count("\n") == 1 and "vdemo" in err


def test_explain_local_index_dependencies(capsys, tmp_path: Path) -> None:
    site = write_site(tmp_path / "vdemo")
    gpu = write_profile(tmp_path / "gpu.toml", cuda=["12.0"])
    with serve_directory(site) as srv:
        code, doc = explain_json(
            capsys,
            "--deps",
            "--profile",
            str(gpu),
            "--index-url",
            srv.url + "simple/",
            "vdemo",
            "vonly",
            "nosuchproject",
        )
    assert code == exitcodes.FAILURE  # nosuchproject has no version
    vdemo, vonly, missing = doc["packages"]
    assert vdemo["chosen"]["label"] == "cu12"
    assert vdemo["dependencies"] == ["vdemo-cuda-rt>=1"]
    assert vdemo["target"]["supported"] == {"nvidia": {"cuda_version_lower_bound": ["12.0"]}}
    assert vonly["chosen"]["label"] == "cu12"
    assert missing["chosen"] is None and missing["version"] is None


@pytest.fixture
def toy_links(tmp_path: Path, variantlib_outputs_dir: Path) -> Path:
    """variantlib 0.2.2's demo wheels, its tinypkg-1.0.0-variants.json and the toy plugin."""
    links = tmp_path / "links"
    links.mkdir()
    for whl in (variantlib_outputs_dir / "wheels").glob("*.whl"):
        (links / whl.name).write_bytes(whl.read_bytes())
    name = "tinypkg-1.0.0-variants.json"
    (links / name).write_bytes((variantlib_outputs_dir / name).read_bytes())
    return links


def test_untrusted_plugin_falls_back_like_uv(capsys, toy_links: Path) -> None:
    # uv 0.13.9 skips the toy provider and installs 'mkl' (uv-0.13.9-transcript.txt); so do we,
    # and say why the toy variants were not used
    code, doc = explain_json(capsys, "--no-index", "-f", str(toy_links), "tinypkg")
    pkg = doc["packages"][0]
    assert code == 0 and pkg["chosen"]["label"] == "mkl"
    assert "not trusted" in pkg["target"]["unavailable"]["toy"]
    rejected = {
        w["label"]: w["reason"]["message"] for w in pkg["wheels"] if w["status"] == "rejected"
    }
    assert set(rejected) == {"89de6e32", "v2_cuda_openblas", "x86_v4"}
    assert all("not trusted" in m for m in rejected.values())


@pytest.mark.slow
def test_trusted_plugin_decides(capsys, monkeypatch, toy_links: Path) -> None:
    monkeypatch.setenv("TOY_LEVEL", "4")
    args = ["--no-index", "-f", str(toy_links), "--trust-provider", "toy-variant-provider==0.1.0"]
    code, doc = explain_json(capsys, *args, "tinypkg")
    pkg = doc["packages"][0]
    assert code == 0 and pkg["chosen"]["label"] == "x86_v4"
    assert pkg["target"]["supported"]["toy"]["level"] == ["v4", "v3", "v2", "v1"]
    code = main(["install", "--dry-run", *args, "tinypkg"])
    out, _ = capsys.readouterr()
    assert code == 0 and "variant x86_v4" in out


def test_no_gpu_reason_comes_from_the_native_provider(capsys, tmp_path: Path) -> None:
    """The native nvidia provider runs (no profile) and finds no GPU: rejections and the install
    error say so, instead of "target has no supported values"."""
    from varwheel.providers.registry import native_provider_by_namespace

    provider = native_provider_by_namespace("nvidia")
    assert provider is not None
    if provider.get_supported_configs():
        pytest.skip("this machine has an NVIDIA GPU")
    site = write_site(tmp_path / "vdemo")
    with serve_directory(site) as srv:
        index = ["--index-url", srv.url + "simple/"]
        code, doc = explain_json(capsys, *index, "vdemo")
        assert code == 0
        pkg = doc["packages"][0]
        (cu12,) = [w for w in pkg["wheels"] if w["label"] == "cu12"]
        message = cu12["reason"]["message"]
        assert message.startswith("nvidia :: cuda_version_lower_bound needs one of 12.0; ")
        assert "native provider 'nvidia'" in message and "no NVIDIA GPU found" in message
        assert pkg["target"]["unavailable"]["nvidia"] == message.split("; ", 1)[1]

        code = main(["explain", *index, "vdemo"])
        out = capsys.readouterr().out
        assert "nvidia: nothing supported (native provider 'nvidia'" in out

        code = main(["install", "--dry-run", *index, "vonly"])
        err = capsys.readouterr().err
        assert code == exitcodes.FAILURE
        assert "vonly 1.0 has no wheel for this target" in err and "no NVIDIA GPU found" in err
