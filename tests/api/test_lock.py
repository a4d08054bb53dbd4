"""``varwheel.api.lock`` driven without the command line: lock for three whole-machine profiles,
choose from the lock per target, sync real venvs, explain, check; real wheels, no index."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree
from lock.project import EXPECTED, build_project, write_profiles
from varwheel import api
from varwheel.api.lock import (
    PROTECTED,
    LockMismatch,
    explain_lock,
    lock,
    lock_inputs,
    lock_path_of,
    plan_from_lock,
    read_lock_file,
    sync,
    sync_changes,
)
from varwheel.errors import InvalidInput
from varwheel.reporter import Reporter
from varwheel.safeparse import toml_loads

PROFILES = ("cpu", "cuda128", "cuda130")
OTHER = "x86_64" if platform.machine().lower() in ("aarch64", "arm64") else "aarch64"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gpulib")
    build_project(root / "wheels")
    return root / "wheels"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("NV_VARIANT_PROVIDER_",))


@pytest.fixture
def profiles(tmp_path: Path) -> dict[str, Path]:
    return write_profiles(tmp_path / "profiles")


def make_lock(tmp_path: Path, wheels: Path, profiles: dict[str, Path], *reqs: str):
    flags = api.Flags(no_index=True, find_links=(str(wheels),))
    inputs = lock_inputs(
        tmp_path / "pylock.toml",
        reqs or ("gpulib",),
        flags=flags,
        profiles=[profiles[n] for n in (*PROFILES, "foreign") if n in profiles],
    )
    settings = api.Settings.load(inputs.flags, requirements=inputs.requirements.options)
    return inputs, settings, lock(inputs, settings, reporter=Reporter())


def installed_labels(env: api.Environment) -> dict[str, str | None]:
    return {d.name: d.variant_label for d in api.installed(env)}


def test_one_lock_for_three_machines_each_gets_its_variant_and_dependencies(
    tmp_path: Path, wheels: Path, profiles: dict[str, Path]
) -> None:
    _inputs, _settings, result = make_lock(tmp_path, wheels, profiles)
    assert result.written and result.output.is_file()
    assert result.output.read_text() == result.text
    assert [t.name for t in result.targets] == list(PROFILES)
    gpulib = result.lock.by_name()["gpulib"]
    assert gpulib.variants is not None and result.variant_packages == 1
    assert {w.label for w in gpulib.wheels} == {"cu128", "cu130", "null", None}
    for name in PROFILES:
        venv = make_venv(tmp_path / f"venv-{name}")
        settings = api.Settings(python=str(venv), profile=profiles[name])
        env = api.find_environment(settings)
        target = api.target_for(settings, env)
        chosen = plan_from_lock(result.output, settings, target, environment=env)
        label, names = EXPECTED[name]
        assert chosen.plan.by_name()["gpulib"].label == label
        assert {i.name for i in chosen.items} == names
        changes = sync_changes(chosen, env)
        announced: list[Any] = []
        done = sync(
            chosen,
            changes,
            env,
            after_install=announced.extend,
        )
        assert {i.name for i in done.installed} == names == {i.name for i in announced}
        got = installed_labels(env)
        assert set(got) == names and got["gpulib"] == label
        # the second time there is nothing to do
        assert sync_changes(
            plan_from_lock(result.output, settings, target, environment=env), env
        ).empty


def test_check_explain_and_an_exact_sync(
    tmp_path: Path, wheels: Path, profiles: dict[str, Path]
) -> None:
    inputs, settings, _result = make_lock(tmp_path, wheels, profiles)
    # the recorded inputs are enough to check it: no requirements, no flags
    again = lock_inputs(inputs.output)
    assert [str(r) for r in again.requirements] == ["gpulib"] and again.flags.no_index
    assert again.profiles == tuple(profiles[n] for n in PROFILES)
    checked = lock(again, api.Settings.load(again.flags), check=True)
    assert checked.up_to_date and not checked.written
    stale = lock_inputs(inputs.output, ["gpulib", "common-dep<1"], flags=inputs.flags)
    assert lock(stale, settings, check=True).up_to_date is False
    # explain: per package the chosen wheel, the others ranked or rejected with a reason
    target = api.target_for(api.Settings(profile=profiles["cuda130"]))
    doc = explain_lock(inputs.output, settings, target).to_json()
    gpulib = next(p for p in doc["packages"] if p["name"] == "gpulib")
    assert gpulib["chosen"]["label"] == "cu130"
    statuses = {w["label"]: w["status"] for w in gpulib["wheels"]}
    assert statuses["cu130"] == "chosen" and statuses["null"] == "compatible"
    assert statuses["cu128"] == "rejected"
    json.dumps(doc)  # JSON as it is
    # an exact sync removes what the lock does not select, never the tools
    venv = make_venv(tmp_path / "venv")
    here = api.Settings(python=str(venv), profile=profiles["cpu"])
    env = api.find_environment(here)
    chosen = plan_from_lock(inputs.output, here, api.target_for(here, env), environment=env)
    sync(chosen, sync_changes(chosen, env), env)
    changes = sync_changes(chosen, env, exact=True)
    assert changes.empty  # nothing extra yet
    cuda = api.Settings(python=str(venv), profile=profiles["cuda128"])
    moved = plan_from_lock(inputs.output, cuda, api.target_for(cuda, env), environment=env)
    changes = sync_changes(moved, env, exact=True)
    assert {n for n, _ in changes.remove} == {"gpulib-cpu-rt"}
    assert not {n for n, _ in changes.remove} & PROTECTED
    done = sync(moved, changes, env)
    assert [n for n, _ in done.removed] == ["gpulib-cpu-rt"]
    assert installed_labels(env)["gpulib"] == "cu128" and "gpulib-cpu-rt" not in installed_labels(
        env
    )


def test_tampered_files_are_refused_before_anything_is_installed(
    tmp_path: Path, wheels: Path, profiles: dict[str, Path]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    local = project / "wheels"
    local.mkdir()
    for w in wheels.iterdir():
        (local / w.name).write_bytes(w.read_bytes())
    _i, _s, result = make_lock(project, local, profiles)
    victim = next(local.glob("gpulib-1.0-*-cu130.whl"))
    data = victim.read_bytes()
    victim.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])  # same size
    venv = make_venv(tmp_path / "venv")
    settings = api.Settings(python=str(venv), profile=profiles["cuda130"])
    env = api.find_environment(settings)
    chosen = plan_from_lock(result.output, settings, api.target_for(settings, env), environment=env)
    before = snapshot_tree(venv)
    announced: list[object] = []
    changes = sync_changes(chosen, env)
    assert victim.name in {i.wheel.filename.filename for i in changes.install}
    with pytest.raises(LockMismatch, match="tampered"):
        sync(chosen, changes, env, after_install=announced.append)
    assert announced == [] and snapshot_tree(venv) == before


def test_a_lock_file_is_given_alone() -> None:
    assert lock_path_of([]) is None and lock_path_of(["reqs.txt"]) is None
    assert lock_path_of(["pylock.toml"]) == Path("pylock.toml")
    assert lock_path_of(["pylock.gpu.toml"]) == Path("pylock.gpu.toml")
    with pytest.raises(InvalidInput, match="give it alone"):
        lock_path_of(["pylock.toml"], other_requirements=True)
    with pytest.raises(InvalidInput, match="give it alone"):
        lock_path_of(["pylock.toml", "reqs.txt"])
    with pytest.raises(InvalidInput, match="PEP 751 names a lock"):
        lock_inputs("locked.toml", ["x"])


def test_a_profile_of_another_machine_is_planned_but_never_installed(
    tmp_path: Path, wheels: Path, profiles: dict[str, Path]
) -> None:
    """``--profile`` implies the machine it records: choosing from the lock for it works (what
    would it get), installing it into this machine's environment is refused."""
    data = toml_loads(profiles["cuda128"].read_bytes())
    data["profile"]["platform-tags"] = [f"manylinux_2_28_{OTHER}", f"linux_{OTHER}"]
    data["profile"]["markers"]["platform_machine"] = OTHER
    foreign = tmp_path / "foreign.toml"
    foreign.write_text(tomli_w.dumps(data))
    _i, _s, result = make_lock(tmp_path, wheels, {**profiles, "foreign": foreign})
    venv = make_venv(tmp_path / "venv")
    settings = api.Settings(python=str(venv), profile=foreign)
    env = api.find_environment(settings)
    target = api.target_for(settings, env)
    assert target.is_cross and target.marker_env["platform_machine"] == OTHER
    chosen = plan_from_lock(result.output, settings, target, environment=env)
    assert chosen.plan.by_name()["gpulib"].label == "cu128"  # its profile's GPU, its tags
    before = snapshot_tree(venv)
    with pytest.raises(InvalidInput, match=r"--profile .*foreign.toml: describes another machine"):
        sync(chosen, sync_changes(chosen, env), env)
    assert snapshot_tree(venv) == before
    # without any profile, a target of another CPU is said once when choosing
    reporter = Reporter()
    cross = api.Target.current().with_overrides(
        api.CrossTarget(platforms=(f"manylinux_2_28_{OTHER}",))
    )
    there = plan_from_lock(result.output, api.Settings(), cross, reporter=reporter)
    assert there.plan.by_name()["gpulib"].label == "null"  # this machine has no GPU either
    assert [w for w in reporter.warnings if "cannot describe it" in w], reporter.warnings


def test_locking_for_another_cpu_without_a_profile_is_said(tmp_path: Path, wheels: Path) -> None:
    flags = api.Flags(
        no_index=True,
        find_links=(str(wheels),),
        cross=api.CrossTarget(platforms=(f"manylinux_2_28_{OTHER}",)),
    )
    inputs = lock_inputs(tmp_path / "pylock.toml", ["common-dep"], flags=flags)
    reporter = Reporter()
    result = lock(inputs, api.Settings.load(inputs.flags), reporter=reporter)
    assert [p.name for p in result.lock.packages] == ["common-dep"]
    said = [w for w in reporter.warnings if "cannot describe it" in w]
    assert len(said) == 1 and f"the target's CPU is {OTHER}" in said[0]
    assert read_lock_file(result.output).inputs["platforms"] == [f"manylinux_2_28_{OTHER}"]


def test_the_lock_is_a_distribution_source_of_its_files_only(
    tmp_path: Path, wheels: Path, profiles: dict[str, Path]
) -> None:
    """What ``sync`` gives ``api.execute``: the locked wheels of each project, the metadata the
    lock kept, its inline variant metadata; a file it does not list is never read."""
    from varwheel.errors import IndexFetchError
    from varwheel.index.models import IndexFile
    from varwheel.lock.model import InvalidLock
    from varwheel.lock.source import LockSource
    from varwheel.resolve.source import DistributionSource

    _i, settings, result = make_lock(tmp_path, wheels, profiles)
    target = api.target_for(api.Settings(profile=profiles["cuda128"]))
    chosen = plan_from_lock(result.output, settings, target)
    source = LockSource(chosen.lock, chosen.items, lock_dir=tmp_path)
    assert isinstance(source, DistributionSource)
    files = source.project_files("GPULib")
    assert {f.filename for f in files} == {
        w.filename.filename for w in chosen.lock.by_name()["gpulib"].wheels
    }
    assert all(f.hashes["sha256"] and f.size for f in files) and source.project_files("nope") == ()
    item = chosen.plan.by_name()["gpulib"]
    mine = next(f for f in files if f.filename == item.wheel.filename.filename)
    meta = source.core_metadata(mine).decode()
    assert (
        "Name: gpulib" in meta and 'Requires-Dist: gpulib-cu12-rt; variant_label == "cu128"' in meta
    )
    md = source.variant_metadata("gpulib", item.package.version, files).metadata
    assert md is not None and set(md.variants) == {"cu128", "cu130", "null"}
    (path,) = source.download_many([mine], tmp_path / "dl")
    assert path.read_bytes() == (wheels / mine.filename).read_bytes()
    with pytest.raises(InvalidLock, match="not a chosen locked wheel"):
        source.download(IndexFile("other-1.0-py3-none-any.whl", "x"), tmp_path / "dl")
    with pytest.raises((InvalidLock, IndexFetchError)):
        source.build_wheel(mine, tmp_path / "b", isolated=True)
