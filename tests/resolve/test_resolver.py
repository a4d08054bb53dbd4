"""End-to-end resolution of real variant wheels: different variants pull different dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from resolve.variant_project import build_project, profile_session, write_profile
from varwheel.errors import ResolutionError
from varwheel.index.client import IndexClient
from varwheel.install.environment import current_environment
from varwheel.resolve.explain import explain_requirement
from varwheel.resolve.resolver import Resolution, Session
from varwheel.spec.properties import VariantProperty
from varwheel.spec.selection import Preferences


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vdemo-wheels")
    build_project(out)
    return out


@pytest.fixture(scope="module")
def target():
    return current_environment()


@pytest.fixture(scope="module")
def gpu_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("p") / "gpu.toml", cuda=["12.8", "12.0"])


@pytest.fixture(scope="module")
def cpu_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("p") / "cpu.toml", cuda=None)


def session(wheel_dir: Path, target, profile: Path, **opts) -> Session:
    return profile_session(
        IndexClient(find_links=[wheel_dir], no_index=True), target, profile, **opts
    )


def picked(res: Resolution) -> dict[str, str | None]:
    return {p.name: p.candidate.label for p in res.packages}


def reqs(*texts: str) -> list[Requirement]:
    return [Requirement(t) for t in texts]


def test_gpu_variant_pulls_cuda_runtime(wheel_dir: Path, target, gpu_profile: Path) -> None:
    res = session(wheel_dir, target, gpu_profile).resolve(reqs("vdemo"))
    assert picked(res) == {"vdemo": "cu12", "vdemo-cuda-rt": None}
    vdemo = res.by_name()[canonicalize_name("vdemo")]
    assert vdemo.requested and vdemo.candidate.filename.endswith("-cu12.whl")
    assert vdemo.choice is not None and vdemo.choice.route is not None


def test_no_gpu_null_variant_pulls_cpu_runtime(wheel_dir: Path, target, cpu_profile: Path) -> None:
    res = session(wheel_dir, target, cpu_profile).resolve(reqs("vdemo"))
    assert picked(res) == {"vdemo": "null", "vdemo-cpu-rt": None}


def test_no_variants_uses_plain_wheel_and_label_marker(
    wheel_dir: Path, target, gpu_profile: Path
) -> None:
    s = session(wheel_dir, target, gpu_profile, prefs=Preferences(variants_enabled=False))
    res = s.resolve(reqs("vdemo"))
    assert picked(res) == {"vdemo": None, "vdemo-cpu-rt": None, "vdemo-label-dep": None}


def test_variant_pin_and_forbid_and_prefer(wheel_dir: Path, target, gpu_profile: Path) -> None:
    pinned = session(wheel_dir, target, gpu_profile, variant_for={"vdemo": "null"})
    assert picked(pinned.resolve(reqs("vdemo")))["vdemo"] == "null"
    forbid = session(wheel_dir, target, gpu_profile, prefs=Preferences(forbid=("nvidia",)))
    assert picked(forbid.resolve(reqs("vdemo")))["vdemo"] == "null"
    prefer = session(
        wheel_dir,
        target,
        gpu_profile,
        prefs=Preferences(
            prefer=(VariantProperty.parse("nvidia :: cuda_version_lower_bound :: 12.0"),)
        ),
    )
    assert picked(prefer.resolve(reqs("vdemo")))["vdemo"] == "cu12"


def test_extras_and_no_deps(wheel_dir: Path, target, gpu_profile: Path) -> None:
    res = session(wheel_dir, target, gpu_profile).resolve(reqs("vdemo[fast]"))
    assert set(picked(res)) == {"vdemo", "vdemo-cuda-rt", "vdemo-extra-dep"}
    assert res.by_name()[canonicalize_name("vdemo")].requested_extras == {"fast"}
    alone = session(wheel_dir, target, gpu_profile, no_deps=True).resolve(reqs("vdemo"))
    assert picked(alone) == {"vdemo": "cu12"}


def test_variant_only_package_error_names_every_reason(
    wheel_dir: Path, target, cpu_profile: Path
) -> None:
    with pytest.raises(ResolutionError) as info:
        session(wheel_dir, target, cpu_profile).resolve(reqs("vonly"))
    message = str(info.value)
    assert "vonly 1.0" in message
    assert "cu12:" in message and "nvidia :: cuda_version_lower_bound" in message
    assert "varwheel explain vonly" in message
    assert "\n" not in message


def test_variant_only_dependency_names_package_and_reason(
    wheel_dir: Path, target, cpu_profile: Path
) -> None:
    with pytest.raises(ResolutionError) as info:
        session(wheel_dir, target, cpu_profile).resolve(reqs("vneeds"))
    message = str(info.value)
    assert message.startswith("vonly 1.0 has no wheel for this target: cu12: ")
    assert "varwheel explain vonly==1.0" in message


def test_conflict_is_named(wheel_dir: Path, target, gpu_profile: Path) -> None:
    with pytest.raises(ResolutionError, match="vdemo"):
        session(wheel_dir, target, gpu_profile).resolve(reqs("vdemo>=1", "vdemo<1"))
    with pytest.raises(ResolutionError, match="no version of vdemo matches"):
        session(wheel_dir, target, gpu_profile).resolve(reqs("vdemo>5"))


def test_older_version_when_newer_excluded(wheel_dir: Path, target, cpu_profile: Path) -> None:
    res = session(wheel_dir, target, cpu_profile).resolve(reqs("vdemo<1"))
    assert [(p.name, str(p.candidate.version)) for p in res.packages] == [("vdemo", "0.9")]


def test_explain_agrees_with_resolution(wheel_dir: Path, target, gpu_profile: Path) -> None:
    for profile in (gpu_profile,):
        s = session(wheel_dir, target, profile)
        expl = explain_requirement(
            Requirement("vdemo"), s.finder, dependencies_of=s.dependencies_of
        )
        res = s.resolve(reqs("vdemo"))
        chosen = res.by_name()[canonicalize_name("vdemo")].candidate
        assert expl.chosen == chosen.filename
        assert [w.status for w in expl.wheels if w.rank] == ["chosen", "compatible", "compatible"]
        assert expl.dependencies == ("vdemo-cuda-rt>=1",)
        assert expl.route is not None


@pytest.mark.slow
def test_sdist_fallback_builds_a_non_variant_wheel(
    tmp_path: Path, wheel_dir: Path, target, gpu_profile: Path
) -> None:
    # PEP 817 §"Source distributions": no compatible wheel, so the sdist is built; its markers
    # evaluate as for a non-variant wheel.
    from resolve.variant_project import build_sdist

    links = tmp_path / "links"
    links.mkdir()
    for whl in wheel_dir.glob("*.whl"):
        (links / whl.name).write_bytes(whl.read_bytes())
    build_sdist(links, "sdpkg", "1.0", dependencies=["vdemo-cpu-rt"])
    client = IndexClient(find_links=[links], no_index=True)
    s = profile_session(
        client, target, gpu_profile, build_dir=tmp_path / "build", build_isolation=False
    )
    res = s.resolve(reqs("sdpkg"))
    assert picked(res) == {"sdpkg": None, "vdemo-cpu-rt": None}
    pkg = res.by_name()[canonicalize_name("sdpkg")]
    assert pkg.candidate.is_sdist
    assert pkg.built_wheel is not None and pkg.built_wheel.name.startswith("sdpkg-1.0-")
    no_build = profile_session(client, target, gpu_profile, allow_sdists=False)
    with pytest.raises(ResolutionError, match="building from source is disabled"):
        no_build.resolve(reqs("sdpkg"))


def test_a_wheel_whose_metadata_excludes_the_target_python_is_refused(
    tmp_path: Path, target, cpu_profile: Path
) -> None:
    """Core metadata 1.2 Requires-Python read from the wheel itself (a find-links directory has
    no data-requires-python): pip refuses such a wheel; it used to be installed."""
    from helpers.wheels import build_wheel

    build_wheel(tmp_path, "dual", "2.0", requires_python=">=3.99")
    build_wheel(tmp_path, "odd", "1.0", requires_python="not a specifier")
    with pytest.raises(
        ResolutionError, match=r"dual-2\.0-py3-none-any\.whl: requires Python >=3\.99"
    ):
        session(tmp_path, target, cpu_profile).resolve(reqs("dual"))
    # an unparsable value is ignored, as pip ignores it
    res = session(tmp_path, target, cpu_profile).resolve(reqs("odd"))
    assert [p.name for p in res.packages] == ["odd"]
