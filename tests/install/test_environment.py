from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging import markers, tags

from varwheel.errors import InstallError
from varwheel.install import environment as envmod
from varwheel.install.environment import (
    TargetEnvironment,
    expand_platforms,
    find_target_environment,
    probe_interpreter,
    tags_from_facts,
)


def test_bare_venv_paths(venv: Path, env: TargetEnvironment) -> None:
    assert env.python == venv / "bin" / "python"
    assert env.prefix == venv
    assert env.is_virtualenv
    assert env.purelib == venv / "lib" / f"python{env.python_version}" / "site-packages"
    assert env.scripts == venv / "bin"
    assert env.data == venv
    assert env.python_version == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_tags_equal_packaging_sys_tags_of_the_target() -> None:
    """Our tags from interpreter facts equal packaging's sys_tags() run in that interpreter."""
    code = "import json; from packaging.tags import sys_tags; print(json.dumps([str(t) for t in sys_tags()]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = json.loads(out.stdout)
    env = find_target_environment(sys.executable)
    assert [str(t) for t in env.tags] == expected


def test_bare_venv_tags_and_markers_match_its_base(env: TargetEnvironment) -> None:
    # Same base interpreter, no packaging inside the venv: same tags as packaging computes here.
    assert list(env.tags) == list(tags.sys_tags())
    assert dict(env.marker_env) == markers.default_environment()


def test_find_by_interpreter_virtual_env_and_dot_venv(venv: Path, tmp_path: Path) -> None:
    by_python = find_target_environment(str(venv / "bin" / "python"))
    by_env = find_target_environment(None, tmp_path, environ={"VIRTUAL_ENV": str(venv)})
    assert by_python.prefix == by_env.prefix == venv
    project = tmp_path / "project"
    project.mkdir()
    (project / ".venv").symlink_to(venv, target_is_directory=True)
    dot = find_target_environment(None, project, environ={})
    assert dot.python == project / ".venv" / "bin" / "python"
    relative = find_target_environment("venv", tmp_path, environ={})
    assert relative.prefix == venv


def test_no_target_is_an_error_not_a_system_install(tmp_path: Path) -> None:
    with pytest.raises(
        InstallError, match=r"no target environment: create one with `python -m venv \.venv`"
    ):
        find_target_environment(None, tmp_path, environ={})


def test_bad_python_arguments(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="no bin/python"):
        find_target_environment(str(tmp_path), tmp_path, environ={})
    with pytest.raises(InstallError, match="no such interpreter"):
        find_target_environment(str(tmp_path / "nope"), tmp_path, environ={})
    with pytest.raises(InstallError, match="VIRTUAL_ENV"):
        find_target_environment(None, tmp_path, environ={"VIRTUAL_ENV": str(tmp_path / "gone")})
    broken = tmp_path / "broken-python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(InstallError, match="interpreter query failed"):
        find_target_environment(str(broken), tmp_path, environ={})


def test_probe_is_cached_on_disk(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    python = venv / "bin" / "python"
    facts = probe_interpreter(python)
    files = list((tmp_path / "cache" / "interpreters").glob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == facts
    envmod._MEMO.clear()

    def no_run(_python: Path) -> dict[str, object]:
        raise AssertionError("the probe ran again despite the disk cache")

    monkeypatch.setattr(envmod, "_run_probe", no_run)
    assert probe_interpreter(python) == facts


def test_with_overrides_like_pip_platform_flags(env: TargetEnvironment) -> None:
    other = env.with_overrides(python_version="3.12", platforms=["manylinux_2_17_x86_64"])
    plats = expand_platforms(["manylinux_2_17_x86_64"])
    expected = list(tags.cpython_tags((3, 12), ["cp312"], plats))
    expected += [t for t in tags.compatible_tags((3, 12), "cp312", plats) if t not in expected]
    assert list(other.tags) == expected
    assert other.marker_env["python_version"] == "3.12"
    assert other.marker_env["python_full_version"] == "3.12.0"
    assert other.marker_env["sys_platform"] == "linux"
    assert other.marker_env["platform_machine"] == "x86_64"
    assert other.prefix == env.prefix
    assert env.with_overrides() is env

    win = env.with_overrides(platforms=["win_amd64"], implementation="pp", abis=["pypy311_pp73"])
    assert str(win.tags[0]) == f"pp{env.python_version.replace('.', '')}-pypy311_pp73-win_amd64"
    assert win.marker_env["sys_platform"] == "win32"
    assert win.marker_env["implementation_name"] == "pypy"
    with pytest.raises(InstallError, match="--python-version"):
        env.with_overrides(python_version="three")


def test_platform_flag_implies_what_such_a_machine_supports() -> None:
    # A glibc 2.28 machine also runs manylinux_2_17 / manylinux2014 wheels and, last, linux_* ones:
    # the ladder packaging.tags.sys_tags() gives there (pip would match the one tag only).
    x86 = expand_platforms(["manylinux_2_28_x86_64"])
    assert x86[0] == "manylinux_2_28_x86_64"
    assert x86.index("manylinux_2_17_x86_64") < x86.index("manylinux2014_x86_64")
    assert x86[-2:] == ("manylinux1_x86_64", "linux_x86_64")
    arm = expand_platforms(["manylinux2014_aarch64"])
    assert arm[:2] == ("manylinux_2_17_aarch64", "manylinux2014_aarch64")
    assert "manylinux_2_16_aarch64" not in arm
    assert expand_platforms(["musllinux_1_2_x86_64"]) == (
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
        "linux_x86_64",
    )
    assert expand_platforms(["win_amd64", "macosx_11_0_arm64"]) == (
        "win_amd64",
        "macosx_11_0_arm64",
    )


def test_manylinux_ladder_per_architecture(env: TargetEnvironment) -> None:
    facts = dict(env.facts)
    facts.update(platform="linux-aarch64", glibc="glibc 2.28", pointer_bits=64)
    plats = {t.platform for t in tags_from_facts(facts)}
    assert {"manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"} <= plats
    assert "manylinux_2_16_aarch64" not in plats
    assert "manylinux2010_aarch64" not in plats
    facts.update(platform="linux-x86_64", glibc="glibc 2.12")
    plats_x86 = [
        t.platform for t in tags_from_facts(facts) if t.abi == "none" and t.interpreter == "py3"
    ]
    assert plats_x86[:4] == [
        "linux_x86_64",
        "manylinux_2_12_x86_64",
        "manylinux2010_x86_64",
        "manylinux_2_11_x86_64",
    ]
    assert plats_x86[-3:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64", "any"]


def test_in_process_facts_equal_a_real_probe(venv: Path) -> None:
    """The shortcut for venvs of our own interpreter gives exactly what running it reports."""
    python = venv / "bin" / "python"
    shortcut = envmod._same_interpreter_venv_facts(python)
    assert shortcut is not None
    assert shortcut == envmod._run_probe(python)


def test_other_interpreters_are_probed_by_running_them(tmp_path: Path) -> None:
    # A copy of the binary is another interpreter as far as the shortcut is concerned.
    fake_venv = tmp_path / "fake"
    (fake_venv / "bin").mkdir(parents=True)
    (fake_venv / "pyvenv.cfg").write_text("home = /nowhere\n")
    script = fake_venv / "bin" / "python"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    script.chmod(0o755)
    assert envmod._same_interpreter_venv_facts(script) is None
    env = find_target_environment(str(fake_venv), tmp_path, environ={})
    assert env.python == script
    assert list(env.tags) == list(tags.sys_tags())
