"""``varwheel.api.detection`` and the target a profile describes, driven without the command
line: a profile records the whole machine, ``--profile`` then implies its Python side unless
cross-target options override it, and another architecture without a profile is said."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
import tomli_w

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel
from varwheel import api
from varwheel.api.detection import Support, detect_machine, machine_facts
from varwheel.errors import InvalidInput, ResolutionError
from varwheel.lock.targets import read_machine
from varwheel.providers.summary import undescribed_target_warning
from varwheel.reporter import Reporter
from varwheel.safeparse import toml_loads

HOST = platform.machine().lower()
OTHER = "x86_64" if HOST in ("aarch64", "arm64") else "aarch64"
OTHER_PLATFORM = f"manylinux_2_28_{OTHER}"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("NV_VARIANT_PROVIDER_",))


def foreign_profile(path: Path, *, version: str = "3.12") -> Path:
    """A whole-machine profile (as ``detect --output`` writes it) of another CPU architecture
    and Python version than this interpreter's."""
    nodot = version.replace(".", "")
    doc = {
        "profile": {
            "created-by": "tests",
            "python-version": version,
            "implementation": "cpython",
            "abis": [f"cp{nodot}"],
            "platform-tags": [OTHER_PLATFORM, f"manylinux_2_17_{OTHER}", f"linux_{OTHER}"],
            "markers": {
                "platform_machine": OTHER,
                "python_version": version,
                "python_full_version": f"{version}.1",
                "sys_platform": "linux",
            },
        },
        "properties": {},
    }
    path.write_text(tomli_w.dumps(doc))
    return path


def test_output_records_the_whole_machine_and_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "me.toml"
    reporter = Reporter()
    found = detect_machine(api.Settings(), ["x86_64", "nvidia"], output=out, reporter=reporter)
    assert found.profile == out and [r.namespace for r in found.results] == ["x86_64", "nvidia"]
    machine, _digest = read_machine(out)
    assert machine is not None
    facts = machine_facts()
    assert machine.python_version == facts["python-version"] == "{}.{}".format(*sys.version_info)
    assert machine.markers["python_full_version"] == platform.python_version()
    assert machine.implementation == sys.implementation.name
    here = api.Target.current()
    assert list(machine.platform_tags) == list(here.platforms)
    assert machine.abis and set(machine.abis) <= set(here.abis)
    assert machine.markers["platform_machine"] == here.marker_env["platform_machine"]
    assert machine.markers == dict(here.marker_env)
    rows = {row.namespace: row for row in found.summary()}
    assert set(rows) == {"x86_64", "nvidia"}
    assert rows["nvidia"].support is Support.NOTHING and "no NVIDIA GPU" in rows["nvidia"].text
    assert set(found.to_json()["namespaces"]) == {"x86_64", "nvidia"}
    # what was written is what the machine says, read back as a target
    assert api.Target.current().with_profile(out).tags == here.tags


def test_a_bad_namespace_or_output_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="invalid namespace 'X Y'"):
        detect_machine(api.Settings(), ["X Y"])
    with pytest.raises(InvalidInput, match="cannot write the profile"):
        detect_machine(api.Settings(), ["x86_64"], output=tmp_path)  # a directory


def test_a_profile_of_this_machine_keeps_the_interpreter(tmp_path: Path) -> None:
    out = tmp_path / "me.toml"
    detect_machine(api.Settings(), ["x86_64"], output=out)
    target = api.target_for(api.Settings(profile=out))
    assert not target.is_cross and target.profile == out
    assert target.interpreter == Path(sys.executable)


def test_a_profile_of_this_platform_made_with_another_python_keeps_the_environment(
    tmp_path: Path,
) -> None:
    """Installing into an environment of this machine with a profile ``detect --output`` wrote
    under another Python (a user-config ``profile``): the environment's Python is the target,
    the profile gives the hardware; ``--python-version`` asks for the profile's machine."""
    out = tmp_path / "me.toml"
    detect_machine(api.Settings(), ["x86_64"], output=out)
    doc = toml_loads(out.read_bytes())
    doc["profile"].update({"python-version": "3.99", "abis": ["cp399"]})
    doc["profile"]["markers"].update({"python_version": "3.99", "python_full_version": "3.99.0"})
    out.write_text(tomli_w.dumps(doc))
    venv = make_venv(tmp_path / "venv")
    settings = api.Settings(python=str(venv), profile=out)
    env = api.find_environment(settings)
    target = api.target_for(settings, env)
    assert not target.is_cross and target.profile == out
    assert target.python_version == "{}.{}".format(*sys.version_info)
    assert target.not_installable_reason() is None
    cross = api.target_for(
        api.Settings(python=str(venv), profile=out, cross=api.CrossTarget(python_version="3.12")),
        env,
    )
    assert cross.is_cross and cross.python_version == "3.12"
    assert cross.platforms[0] == doc["profile"]["platform-tags"][0]
    assert "--profile" in (cross.not_installable_reason() or "")


def test_profile_implies_its_python_side_unless_overridden(tmp_path: Path) -> None:
    profile = foreign_profile(tmp_path / "arm.toml")
    target = api.target_for(api.Settings(profile=profile))
    assert target.is_cross and target.profile == profile
    assert target.python_version == "3.12" and target.implementation == "cpython"
    assert target.marker_env["platform_machine"] == OTHER
    assert target.platforms[0] == OTHER_PLATFORM
    assert all(OTHER in p for p in target.platforms)
    assert target.tags[0].interpreter == "cp312" and target.tags[0].abi == "cp312"
    # a cross-target option overrides the profile key by key: the rest stays the profile's
    cross = api.CrossTarget(python_version="3.13")
    newer = api.target_for(api.Settings(profile=profile, cross=cross))
    assert newer.python_version == "3.13" and newer.marker_env["python_version"] == "3.13"
    assert newer.tags[0].interpreter == "cp313" and newer.tags[0].abi == "cp313"
    assert newer.platforms[0] == OTHER_PLATFORM
    assert newer.marker_env["platform_machine"] == OTHER
    moved = api.target_for(
        api.Settings(profile=profile, cross=api.CrossTarget(platforms=("manylinux_2_28_x86_64",)))
    )
    assert moved.python_version == "3.12" and moved.platforms[0] == "manylinux_2_28_x86_64"
    assert moved.marker_env["platform_machine"] == "x86_64"


def test_plan_and_execute_follow_the_profiles_machine(tmp_path: Path) -> None:
    """The wheel a profile's machine gets is chosen (not the host's), and such a plan is never
    installed into this machine's environment."""
    links = tmp_path / "links"
    build_wheel(links, "armonly", "1.0", tags=f"cp312-cp312-{OTHER_PLATFORM}")
    settings = api.Settings(find_links=(str(links),), no_index=True)
    venv = make_venv(tmp_path / "venv")
    env = api.find_environment(api.Settings(python=str(venv)))
    with pytest.raises(ResolutionError):  # this machine cannot use the wheel
        api.plan_install(["armonly"], settings, api.target_for(settings, env), environment=env)
    there = api.Settings(
        find_links=(str(links),), no_index=True, profile=foreign_profile(tmp_path / "arm.toml")
    )
    target = api.target_for(there, env)
    before = snapshot_tree(venv)
    with api.plan_install(["armonly"], there, target, environment=env) as plan:
        assert [p.candidate.filename for p in plan.to_install] == [
            f"armonly-1.0-cp312-cp312-{OTHER_PLATFORM}.whl"
        ]
        with pytest.raises(InvalidInput, match="describes another machine"):
            api.execute(plan, env)
    assert snapshot_tree(venv) == before


def test_another_architecture_without_a_profile_is_said_once(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "anywhere", "1.0")
    settings = api.Settings(find_links=(str(links),), no_index=True)
    target = api.Target.current().with_overrides(api.CrossTarget(platforms=(OTHER_PLATFORM,)))
    reporter = Reporter()
    api.explain(["anywhere"], settings, target, reporter=reporter).packages[0]
    with api.plan_install(["anywhere"], settings, target, reporter=reporter):
        pass
    said = [w for w in reporter.warnings if "cannot describe it" in w]
    assert len(said) == 1, reporter.warnings
    assert f"the target's CPU is {OTHER}" in said[0]
    assert "x86_64" in said[0] and "aarch64" in said[0] and "nvidia" in said[0]
    assert "--profile" in said[0]
    # the same architecture (or a profile) needs no word
    quiet = Reporter()
    same = api.Target.current().with_overrides(api.CrossTarget(python_version="3.12"))
    api.explain(["anywhere"], settings, same, reporter=quiet)
    assert not [w for w in quiet.warnings if "cannot describe it" in w]


def test_the_warning_names_hardware_providers_only() -> None:
    line = undescribed_target_warning({"platform_machine": "aarch64"}, host_machine="AMD64")
    assert line is not None
    assert "blas_lapack" not in line and "openmp" not in line  # static: describe no hardware
    assert line.startswith(
        "the target's CPU is aarch64, this machine's is AMD64: the aarch64, amd, ascend, intel, "
        "nvidia, x86_64 providers cannot describe it"
    )
    assert undescribed_target_warning({"platform_machine": "x86_64"}, host_machine="AMD64") is None
    assert undescribed_target_warning({"platform_machine": "arm64"}, host_machine="aarch64") is None
    assert undescribed_target_warning({}, host_machine="x86_64") is None
