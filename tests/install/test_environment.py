from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging import markers, tags

from helpers.envs import make_venv
from helpers.system_python import make_system_python
from varwheel.codes import EnvironmentSource
from varwheel.errors import ExternallyManaged, InstallError, NoTargetEnvironment
from varwheel.install import environment as envmod
from varwheel.install.environment import (
    TargetEnvironment,
    VersionRequest,
    expand_platforms,
    externally_managed,
    find_target_environment,
    parse_version_request,
    probe_interpreter,
    refuse_externally_managed,
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
    # how each was found: a code (``--report``'s target_environment.source), compared by member
    sources = [e.source for e in (by_python, by_env, dot, relative)]
    assert sources == [
        EnvironmentSource.PYTHON,
        EnvironmentSource.VIRTUAL_ENV,
        EnvironmentSource.PROJECT_VENV,
        EnvironmentSource.PYTHON,
    ]
    assert all(isinstance(source, EnvironmentSource) for source in sources)


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


# --- PEP 668 -------------------------------------------------------------------------------

DEBIAN_STYLE = """[externally-managed]
Error=To install Python packages system-wide, try apt install
 python3-xyz, where xyz is the package you are trying to
 install.
Error-de_DE=Bitte apt install python3-xyz verwenden.
"""


def test_externally_managed_interpreter_is_refused_unless_allowed(tmp_path: Path) -> None:
    """PEP 668: the marker file in the target's own sysconfig ``stdlib`` directory (a real
    interpreter copied under tmp reports it there), its Error text in one line."""
    python = make_system_python(tmp_path / "sys", externally_managed=DEBIAN_STYLE)
    env = find_target_environment(str(python), tmp_path, environ={})
    assert not env.is_virtualenv and env.prefix == tmp_path / "sys"
    text = "To install Python packages system-wide, try apt install python3-xyz, where xyz is "
    assert externally_managed(env, environ={}) == text + "the package you are trying to install."
    with pytest.raises(ExternallyManaged) as info:
        refuse_externally_managed(env, allow=False, environ={})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{python} is externally managed (PEP 668): ")
    assert text in message and "--break-system-packages" in message
    assert isinstance(info.value, NoTargetEnvironment)  # exit 2, like an unusable target
    # the user's locale picks Error-<lang> first, as pip does
    german = externally_managed(env, environ={"LANG": "de_DE.UTF-8"})
    assert german == "Bitte apt install python3-xyz verwenden."
    # allowed by the flag or by either environment variable
    refuse_externally_managed(env, allow=True, environ={})
    for name in ("VARWHEEL_BREAK_SYSTEM_PACKAGES", "PIP_BREAK_SYSTEM_PACKAGES"):
        refuse_externally_managed(env, allow=False, environ={name: "1"})
    with pytest.raises(ExternallyManaged):
        refuse_externally_managed(env, allow=False, environ={"PIP_BREAK_SYSTEM_PACKAGES": "0"})


def test_a_venv_of_an_externally_managed_python_is_not_externally_managed(tmp_path: Path) -> None:
    python = make_system_python(tmp_path / "sys", externally_managed=DEBIAN_STYLE)
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    env = find_target_environment(str(tmp_path / "v"), tmp_path, environ={})
    assert env.is_virtualenv
    # the venv's interpreter reports the base's stdlib, which holds the marker file
    assert (Path(env.facts["paths"]["stdlib"]) / "EXTERNALLY-MANAGED").is_file()
    assert externally_managed(env, environ={}) is None
    refuse_externally_managed(env, allow=False, environ={})


def test_marker_without_error_text_and_unmarked_system_python(tmp_path: Path) -> None:
    bare = make_system_python(tmp_path / "a", externally_managed="[externally-managed]\n")
    env = find_target_environment(str(bare), tmp_path, environ={})
    assert externally_managed(env, environ={}) == (
        f"the Python environment under {tmp_path / 'a'} is managed externally, and may not be "
        "manipulated by the user"
    )
    plain = make_system_python(tmp_path / "b")
    env_b = find_target_environment(str(plain), tmp_path, environ={})
    assert externally_managed(env_b, environ={}) is None


# --- --python VERSION ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "implementation", "version"),
    [
        ("3", None, (3,)),
        ("3.12", None, (3, 12)),
        ("3.12.3", None, (3, 12, 3)),
        ("312", None, (3, 12)),
        ("python3.12", None, (3, 12)),
        ("python3", None, (3,)),
        ("cpython@3.12", "cpython", (3, 12)),
        ("cpython3.12", "cpython", (3, 12)),
        ("cp312", "cpython", (3, 12)),
        ("pypy@3.10", "pypy", (3, 10)),
        ("pp310", "pypy", (3, 10)),
    ],
)
def test_version_requests(text: str, implementation: str | None, version: tuple[int, ...]) -> None:
    assert parse_version_request(text) == VersionRequest(text, implementation, version)


@pytest.mark.parametrize(
    "text", ["venv", ".venv", "python", "10", "python312", "py3.12", "3.x", "\u0663.\u0661\u0662"]
)
def test_paths_and_names_are_not_version_requests(text: str) -> None:
    assert parse_version_request(text) is None


@given(st.text(max_size=40))
def test_version_request_parser_never_raises(text: str) -> None:
    request = parse_version_request(text)
    assert request is None or (request.version and all(p >= 0 for p in request.version))


@given(
    st.sampled_from(["", "python", "cpython", "cpython@", "cp", "pypy@", "pypy", "pp"]),
    st.integers(2, 3),
    st.integers(0, 99),
)
def test_version_request_forms_round_trip(prefix: str, major: int, minor: int) -> None:
    request = parse_version_request(f"{prefix}{major}.{minor}")
    assert request is not None and request.version == (major, minor)
    assert request.implementation == {"": None, "python": None}.get(
        prefix, "pypy" if prefix.startswith("p") and prefix != "python" else "cpython"
    )
    assert (
        request.names()[0]
        == f"{'pypy' if request.implementation == 'pypy' else 'python'}{major}.{minor}"
    )


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_python_version_finds_an_interpreter_on_path_as_uv(tmp_path: Path) -> None:
    """``--python 3.X``: PATH directories in order, ``python3.X``, ``python3``, ``python`` in
    each; a broken one (a pyenv shim of an absent version) or one of another version is
    skipped; a system interpreter found so is allowed (the user asked for it) but keeps PEP 668."""
    major, minor = sys.version_info[:2]
    system = make_system_python(tmp_path / "sys", externally_managed=DEBIAN_STYLE)
    broken = _script(tmp_path / "shims" / f"python{major}.{minor}", "exit 127")
    wrong = _script(tmp_path / "other" / f"python{major}.{minor + 1}", f'exec {system} "$@"')
    path = os.pathsep.join([str(broken.parent), str(wrong.parent), str(system.parent)])
    for text in (f"{major}.{minor}", f"python{major}.{minor}", f"cpython@{major}.{minor}", "3"):
        env = find_target_environment(text, tmp_path, environ={"PATH": path})
        assert env.prefix == tmp_path / "sys", text
        assert env.python.parent == system.parent
        assert env.source == "--python"
        with pytest.raises(ExternallyManaged):
            refuse_externally_managed(env, allow=False, environ={})
    with pytest.raises(NoTargetEnvironment) as info:
        find_target_environment(f"{major}.{minor + 1}", tmp_path, environ={"PATH": path})
    message = str(info.value)
    assert message.startswith(f"--python {major}.{minor + 1}: no interpreter of this version")
    assert f"{wrong} is cpython {major}.{minor}." in message
    with pytest.raises(NoTargetEnvironment, match="no interpreter of this version"):
        find_target_environment("pypy@3.10", tmp_path, environ={"PATH": path})


def test_an_activated_venv_comes_first_on_path(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    system = make_system_python(tmp_path / "sys")
    path = os.pathsep.join([str(venv / "bin"), str(system.parent)])
    env = find_target_environment("3", tmp_path, environ={"PATH": path})
    assert env.prefix == venv and env.is_virtualenv


def test_unusable_python_argument_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NoTargetEnvironment, match=r"\(5000 characters\): File name too long"):
        find_target_environment("a" * 5000, tmp_path, environ={})


def test_project_venv_is_skipped_when_not_wanted(tmp_path: Path) -> None:
    make_venv(tmp_path / ".venv")
    assert find_target_environment(None, tmp_path, environ={}).source == "./.venv"
    with pytest.raises(NoTargetEnvironment, match="no target environment"):
        find_target_environment(None, tmp_path, environ={}, project_venv=False)
