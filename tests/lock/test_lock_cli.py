"""``varwheel lock`` / ``install -r pylock.toml`` / ``sync`` / ``explain -r``: real wheels, a real
127.0.0.1 index, real venvs, three whole-machine profiles (CPU, CUDA 12.8 sm 9.0, CUDA 13.0
sm 12.0)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree
from helpers.http_server import LocalServer, serve_directory
from lock.project import EXPECTED, build_project, write_profiles
from resolve.variant_project import write_variants_json
from varwheel.cli.main import main
from varwheel.index.static import write_static_index
from varwheel.lock.read import read_lock

PROFILES = ("cpu", "cuda128", "cuda130")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gpulib")
    wheels = build_project(root / "wheels")
    extra = write_variants_json(wheels, root / "wheels")
    write_static_index([*wheels, *extra], root / "site")
    return root


@pytest.fixture(scope="module")
def server(built: Path) -> Iterator[LocalServer]:
    with serve_directory(built / "site") as srv:
        yield srv


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("NV_VARIANT_PROVIDER_",))


@pytest.fixture
def profiles(tmp_path: Path) -> dict[str, Path]:
    return write_profiles(tmp_path / "profiles")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def profile_args(profiles: dict[str, Path]) -> list[str]:
    return [arg for name in PROFILES for arg in ("--profile", str(profiles[name]))]


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def installed(venv: Path) -> dict[str, str | None]:
    """canonical name -> variant label (None: non-variant) of every dist-info in ``venv``."""
    out: dict[str, str | None] = {}
    for info in site_packages(venv).glob("*.dist-info"):
        name = info.name[: -len(".dist-info")].rsplit("-", 1)[0].replace("_", "-").lower()
        vj = info / "variant.json"
        label = next(iter(json.loads(vj.read_text())["variants"])) if vj.exists() else None
        out[name] = label
    return out


def lock_from_files(capsys, built: Path, profiles: dict[str, Path], dest: Path) -> Path:
    """A lock whose wheels are ``path`` entries (find-links directory, no index at all)."""
    code, _, err = run(
        capsys, "lock", "gpulib", "-o", str(dest), "--no-index", "-f", str(built / "wheels"),
        *profile_args(profiles),
    )  # fmt: skip
    assert code == 0, err
    return dest


def test_three_profiles_each_get_their_variant_and_dependencies_offline(
    capsys, tmp_path, built, profiles
) -> None:
    # the wheels are copied next to the lock: paths are relative, and nothing else is reachable
    project = tmp_path / "project"
    shutil.copytree(built / "wheels", project / "wheels")
    for p in profiles.values():
        shutil.copy(p, project / p.name)
    local = {k: project / v.name for k, v in profiles.items()}
    lock = lock_from_files(capsys, project, local, project / "pylock.toml")
    text = lock.read_text()
    assert 'path = "wheels/gpulib-1.0-py3-none-any-cu130.whl"' in text
    moved = tmp_path / "moved"
    shutil.move(project, moved)  # the lock travels with its wheels; no index, no server
    for name in PROFILES:
        venv = make_venv(tmp_path / f"venv-{name}")
        code, _, err = run(
            capsys, "install", "-r", str(moved / "pylock.toml"), "--python", str(venv),
            "--profile", str(moved / f"{name}.toml"),
        )  # fmt: skip
        assert code == 0, err
        label, names = EXPECTED[name]
        got = installed(venv)
        assert set(got) == names, (name, got)
        assert got["gpulib"] == label
        assert all(got[n] is None for n in names - {"gpulib"})


def test_lock_is_deterministic_valid_and_checkable(
    capsys, tmp_path, built, server, profiles
) -> None:
    index = ["--index-url", server.url + "simple/"]
    code, _, err = run(capsys, "lock", "gpulib", *index, *profile_args(profiles))
    assert code == 0, err
    first = (tmp_path / "pylock.toml").read_bytes()
    (tmp_path / "pylock.toml").unlink()
    assert run(capsys, "lock", "gpulib", *index, *profile_args(profiles))[0] == 0
    assert (tmp_path / "pylock.toml").read_bytes() == first  # byte-identical rerun
    # the recorded inputs are enough to check it (CI): 0 = up to date
    code, out, _ = run(capsys, "lock", "--check")
    assert code == 0 and "up to date" in out
    code, _, err = run(capsys, "lock", "--check", "gpulib", "common-dep<1", *index)
    assert code == 1 and "stale" in err
    with profiles["cuda130"].open("a") as f:  # a target changed: stale too
        f.write("# edited\n")
    assert run(capsys, "lock", "--check", "-q")[0] == 1
    assert (tmp_path / "pylock.toml").read_bytes() == first  # --check writes nothing
    lock = read_lock(tmp_path / "pylock.toml")
    gpulib = lock.by_name()["gpulib"]
    assert {w.label for w in gpulib.wheels} == {"cu128", "cu130", "null", None}
    assert gpulib.variants is not None and set(gpulib.variants.variants) == {
        "cu128",
        "cu130",
        "null",
    }
    doc = __import__("tomllib").loads(first.decode())
    vj = next(p for p in doc["packages"] if p["name"] == "gpulib")["variants-json"]
    assert vj["$schema"].startswith("https://variants-schema.wheelnext.dev/")
    published = json.loads((built / "wheels" / "gpulib-1.0-variants.json").read_text())
    assert vj == published  # PEP 825: inlined as published, $schema preserved (all labels listed)
    assert vj["variants"]["cu130"] == {
        "nvidia": {"cuda_version_lower_bound": ["13.0"], "sm_arch": ["120_real"]}
    }
    for pkg in doc["packages"]:
        for wheel in pkg["wheels"]:
            assert re.fullmatch(r"[0-9a-f]{64}", wheel["hashes"]["sha256"]) and wheel["size"] > 0
    # variant-only dependencies are gated for plain PEP 751 consumers
    markers = {p["name"]: p.get("marker") for p in doc["packages"]}
    assert markers["gpulib-cu13-rt"] == '"varwheel-variant-deps" in dependency_groups'
    assert markers["gpulib-cpu-rt"] is None and markers["common-dep"] is None


def test_install_from_http_lock_reads_only_the_chosen_files(
    capsys, tmp_path, server, profiles, monkeypatch
) -> None:
    index = ["--index-url", server.url + "simple/"]
    assert run(capsys, "lock", "gpulib", "-q", *index, *profile_args(profiles))[0] == 0
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "fresh-cache"))  # really download
    before = len(server.stats.requests)
    venv = make_venv(tmp_path / "venv")
    code, _, err = run(
        capsys, "install", "-r", "pylock.toml", "--python", str(venv),
        "--profile", str(profiles["cuda130"]),
    )  # fmt: skip
    assert code == 0, err
    paths = sorted(r.path for r in server.stats.requests[before:])
    assert all(p.startswith("/files/") and p.endswith(".whl") for p in paths), paths
    assert "/files/gpulib-1.0-py3-none-any-cu130.whl" in paths
    assert not any("cu128" in p or "cpu_rt" in p for p in paths)  # nothing else is read
    assert set(installed(venv)) == EXPECTED["cuda130"][1]
    # a tampered hash of a downloaded file: refused, nothing installed
    lock = tmp_path / "pylock.toml"
    cu13 = next(w for w in read_lock(lock).by_name()["gpulib-cu13-rt"].wheels)
    lock.write_text(lock.read_text().replace(cu13.sha256, "f" * 64))
    other = make_venv(tmp_path / "other")
    before_tree = snapshot_tree(other)
    code, _, err = run(
        capsys, "install", "-r", "pylock.toml", "--python", str(other),
        "--profile", str(profiles["cuda130"]),
    )  # fmt: skip
    assert code == 1 and "tampered" in err, err
    assert snapshot_tree(other) == before_tree


def test_tampered_hash_or_file_is_refused_with_nothing_installed(
    capsys, tmp_path, built, profiles
) -> None:
    project = tmp_path / "project"
    shutil.copytree(built / "wheels", project / "wheels")
    lock = lock_from_files(capsys, project, profiles, project / "pylock.toml")
    venv = make_venv(tmp_path / "venv")
    before = snapshot_tree(venv)
    good = lock.read_text()
    doc = read_lock(lock)
    cu130 = next(w for w in doc.by_name()["gpulib"].wheels if w.label == "cu130")
    lock.write_text(good.replace(cu130.sha256, "0" * 64))
    args = [
        "install",
        "-r",
        str(lock),
        "--python",
        str(venv),
        "--profile",
        str(profiles["cuda130"]),
    ]
    code, _, err = run(capsys, *args)
    assert code == 1 and "sha256" in err and "tampered" in err
    assert snapshot_tree(venv) == before
    # the file changed instead of the lock: same refusal
    lock.write_text(good)
    victim = project / "wheels" / "gpulib-1.0-py3-none-any-cu130.whl"
    shutil.copy(project / "wheels" / "gpulib-1.0-py3-none-any-cu128.whl", victim)
    code, _, err = run(capsys, *args)
    assert code == 1 and "sha256" in err
    assert snapshot_tree(venv) == before


def test_inconsistent_variant_metadata_is_refused_before_anything_is_written(
    capsys, tmp_path, built, profiles
) -> None:
    project = tmp_path / "project"
    shutil.copytree(built / "wheels", project / "wheels")
    lock = lock_from_files(capsys, project, profiles, project / "pylock.toml")
    venv = make_venv(tmp_path / "venv")
    before = snapshot_tree(venv)
    good = lock.read_text()
    args = [
        "install",
        "-r",
        str(lock),
        "--python",
        str(venv),
        "--profile",
        str(profiles["cuda130"]),
    ]
    # the inline metadata gives cu130 other properties than its wheel's variant.json
    lock.write_text(
        good.replace('sm_arch = [\n    "120_real",', 'sm_arch = [\n    "120_real",\n    "90_real",')
    )
    code, _, err = run(capsys, *args)
    assert code == 1 and "variant.json" in err
    # a listed label missing from [packages.variants-json]
    lock.write_text(
        good.replace(
            "[packages.variants-json.variants.cu128.nvidia]",
            "[packages.variants-json.variants.zz.nvidia]",
        )
    )
    code, _, err = run(capsys, *args)
    assert code == 2 and "'cu128' is not in [packages.variants-json]" in err
    # a dependency the lock does not list
    lock.write_text(
        re.sub(
            r'\[\[packages\]\]\nname = "gpulib-cu13-rt"', '[[packages]]\nname = "other-rt"', good
        )
    )
    code, _, err = run(capsys, *args)
    assert code == 2, err
    assert snapshot_tree(venv) == before


def test_only_the_labels_of_listed_wheels_are_inlined(capsys, tmp_path, built, profiles) -> None:
    lock = tmp_path / "pylock.toml"
    argv = ["lock", "gpulib", "-q", "-o", str(lock), "--no-index", "-f", str(built / "wheels")]
    assert run(capsys, *argv, "--profile", str(profiles["cuda128"]))[0] == 0
    gpulib = read_lock(lock).by_name()["gpulib"]
    assert {w.label for w in gpulib.wheels} == {"cu128", "null", None}  # cu130: no target
    assert gpulib.variants_document is not None
    assert set(gpulib.variants_document["variants"]) == {"cu128", "null"}
    assert "any-cu130.whl" not in lock.read_text() and "variants.cu130" not in lock.read_text()


def test_python_version_sets_and_hardware_only_profiles(capsys, tmp_path, built) -> None:
    """An old-style profile (properties only) takes its Python side from --python-version:
    one target per version; the lock installs on this interpreter's."""
    hw = tmp_path / "gpu.toml"
    hw.write_text(
        '[profile]\ncreated-by = "old"\n[properties.nvidia]\n'
        'cuda_version_lower_bound = ["12.8"]\nsm_arch = ["90_real"]\n'
    )
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = tmp_path / "pylock.toml"
    argv = ["lock", "gpulib", "-q", "-o", str(lock), "--no-index", "-f", str(built / "wheels")]
    argv += ["--profile", str(hw), "--python-version", here, "--python-version", "3.99"]
    assert run(capsys, *argv)[0] == 0
    doc = read_lock(lock)
    assert [t.name for t in doc.targets] == [f"gpu-py{here}", "gpu-py3.99"]
    assert len(doc.environments) == 2 and any('"3.99"' in m for m in doc.environments)
    code, _, err = run(capsys, "lock", "--check", "-o", str(lock))
    assert code == 0, err  # the sets are recorded
    venv = make_venv(tmp_path / "venv")
    code, _, err = run(
        capsys, "install", "-r", str(lock), "--python", str(venv), "--profile", str(hw)
    )
    assert code == 0, err
    assert installed(venv)["gpulib"] == "cu128"


def test_targets_needing_different_versions_are_refused(capsys, tmp_path, built) -> None:
    lock = tmp_path / "pylock.toml"
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    code, _, err = run(
        capsys, "lock", "-o", str(lock), "--no-index", "-f", str(built / "wheels"),
        'common-dep==0.5; python_version == "3.99"', 'common-dep>=1; python_version != "3.99"',
        "--python-version", here, "--python-version", "3.99",
    )  # fmt: skip
    # one line naming the package, both targets and both versions
    assert code == 1 and err.count("\n") == 1, err
    assert (
        f"common-dep: target 'this-machine-py3.99' needs 0.5, target 'this-machine-py{here}' "
        "locked 1.0; one lock holds one version per package" in err
    )
    assert not lock.exists()


def test_a_lock_without_varwheel_tables_installs_as_pep751_says(
    capsys, tmp_path, built, profiles
) -> None:
    """Another tool's lock: no Requires-Dist kept, so every package whose marker holds."""
    import tomli_w
    import tomllib

    lock = lock_from_files(capsys, built, profiles, tmp_path / "pylock.toml")
    doc = tomllib.loads(lock.read_text())
    del doc["tool"]
    for pkg in doc["packages"]:
        del pkg["tool"]
    lock.write_text(tomli_w.dumps(doc))
    venv = make_venv(tmp_path / "venv")
    code, _, err = run(
        capsys, "install", "-r", str(lock), "--python", str(venv), "--profile", str(profiles["cpu"])
    )
    assert code == 0, err
    assert installed(venv) == {"gpulib": "null", "common-dep": None, "gpulib-cpu-rt": None}


def test_requirements_file_and_variant_only_packages(capsys, tmp_path, built, profiles) -> None:
    links = ["--no-index", "-f", str(built / "wheels"), "--profile", str(profiles["cuda128"])]
    (tmp_path / "reqs.txt").write_text("vonly\n")
    assert run(capsys, "lock", "vonly", "-q", "-o", "pylock.a.toml", *links)[0] == 0
    code, _, err = run(capsys, "lock", "-r", "reqs.txt", "-o", "pylock.b.toml", *links)
    assert code == 0 and "no non-variant install" in err  # said, not hidden
    assert (tmp_path / "pylock.a.toml").read_bytes() == (tmp_path / "pylock.b.toml").read_bytes()
    venv = make_venv(tmp_path / "venv")
    before = snapshot_tree(venv)
    for flags in (
        ["--profile", str(profiles["cpu"])],
        ["--profile", str(profiles["cuda128"]), "--no-variants"],
    ):
        code, _, err = run(capsys, "install", "-r", "pylock.a.toml", "--python", str(venv), *flags)
        assert code == 1 and "vonly 1.0: no wheel in the lock fits this target" in err, err
        assert snapshot_tree(venv) == before
    code, _, err = run(capsys, "install", "-r", "pylock.a.toml", "--python", str(venv), *links[-2:])
    assert code == 0 and installed(venv) == {"vonly": "cu128"}


def test_lock_for_another_python_is_refused_here(capsys, tmp_path, built, profiles) -> None:
    other = tmp_path / "py399.toml"
    other.write_text(
        profiles["cpu"].read_text().replace('python-version = "', 'python-version = "3.99"\nx = "')
        .replace(f'python_version = "{sys.version_info[0]}.{sys.version_info[1]}"', 'python_version = "3.99"')
    )  # fmt: skip
    lock = tmp_path / "pylock.toml"
    argv = ["lock", "gpulib", "-q", "-o", str(lock), "--no-index", "-f", str(built / "wheels")]
    assert run(capsys, *argv, "--profile", str(other))[0] == 0
    assert 'python_version == "3.99"' in read_lock(lock).environments[0]
    venv = make_venv(tmp_path / "venv")
    before = snapshot_tree(venv)
    code, _, err = run(capsys, "install", "-r", str(lock), "--python", str(venv))
    assert code == 1 and "made for other machines" in err
    assert snapshot_tree(venv) == before
    code, _, err = run(capsys, "install", "-r", str(lock), "--python", str(venv), "--no-deps")
    assert code == 2 and "--no-deps does not apply" in err


def test_variant_flags_apply_at_install_time(capsys, tmp_path, built, profiles) -> None:
    lock = lock_from_files(capsys, built, profiles, tmp_path / "pylock.toml")
    cases = {
        ("--variant", "gpulib=null"): ("null", EXPECTED["cpu"][1]),
        ("--no-variants",): (None, {"gpulib", "common-dep", "gpulib-cpu-rt"}),
        ("--forbid", "nvidia :: sm_arch :: 120_real"): ("null", EXPECTED["cpu"][1]),
    }
    for i, (flags, (label, names)) in enumerate(cases.items()):
        venv = make_venv(tmp_path / f"venv{i}")
        code, _, err = run(
            capsys, "install", "-r", str(lock), "--python", str(venv),
            "--profile", str(profiles["cuda130"]), *flags,
        )  # fmt: skip
        assert code == 0, (flags, err)
        got = installed(venv)
        assert set(got) == names and got["gpulib"] == label, (flags, got)


def test_live_providers_choose_at_install_time(
    capsys, tmp_path, built, profiles, monkeypatch
) -> None:
    """No --profile at install: the native nvidia provider answers (forced GPU, as
    NV_VARIANT_PROVIDER_FORCE_* do for nvidia-variant-provider)."""
    lock = lock_from_files(capsys, built, profiles, tmp_path / "pylock.toml")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "13.0")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "12.0")
    venv = make_venv(tmp_path / "venv")
    code, _, err = run(capsys, "install", "-r", str(lock), "--python", str(venv))
    assert code == 0, err
    got = installed(venv)
    assert set(got) == EXPECTED["cuda130"][1] and got["gpulib"] == "cu130"


def test_extras_follow_the_chosen_variant(capsys, tmp_path, built, profiles) -> None:
    lock = tmp_path / "pylock.toml"
    argv = [
        "lock",
        "gpulib[fast]",
        "-q",
        "-o",
        str(lock),
        "--no-index",
        "-f",
        str(built / "wheels"),
    ]
    assert run(capsys, *argv, *profile_args(profiles))[0] == 0
    for name, extra in (("cuda128", True), ("cpu", False)):
        venv = make_venv(tmp_path / f"venv-{name}")
        code, _, err = run(
            capsys,
            "install",
            "-r",
            str(lock),
            "--python",
            str(venv),
            "--profile",
            str(profiles[name]),
        )
        assert code == 0, err
        assert set(installed(venv)) == EXPECTED[name][1] | ({"gpulib-extra"} if extra else set())


def test_explain_and_sync(capsys, tmp_path, built, profiles) -> None:
    lock = lock_from_files(capsys, built, profiles, tmp_path / "pylock.toml")
    code, out, err = run(
        capsys, "explain", "-r", str(lock), "--json", "--profile", str(profiles["cuda128"])
    )
    assert code == 0, err
    pkgs = {p["name"]: p for p in json.loads(out)["packages"]}
    assert pkgs["gpulib"]["chosen"]["label"] == "cu128"
    assert pkgs["gpulib"]["dependencies"] == ["common-dep", "gpulib-cu12-rt"]
    statuses = {w["label"]: w["status"] for w in pkgs["gpulib"]["wheels"]}
    code, out, _ = run(capsys, "explain", "-r", str(lock), "--profile", str(profiles["cuda130"]))
    assert code == 0
    assert "gpulib 1.0: gpulib-1.0-py3-none-any-cu130.whl (variant 'cu130')" in out
    assert (
        "rejected: gpulib-1.0-py3-none-any-cu128.whl (nvidia :: sm_arch needs one of 90_real" in out
    )
    assert "pulls in: common-dep, gpulib-cu13-rt, gpulib-sm120-kernels" in out
    assert statuses == {
        "cu128": "chosen",
        "cu130": "rejected",
        "null": "compatible",
        None: "compatible",
    }
    venv = make_venv(tmp_path / "venv", with_pip=True)
    args = ["--python", str(venv)]
    assert run(capsys, "install", "-r", str(lock), *args, "--profile", str(profiles["cpu"]))[0] == 0
    code, out, err = run(capsys, "sync", str(lock), *args, "--profile", str(profiles["cuda130"]))
    assert code == 0, err
    got = installed(venv)
    assert set(got) - {"pip", "setuptools"} == EXPECTED["cuda130"][1]  # cpu-rt removed, pip kept
    assert "pip" in got and got["gpulib"] == "cu130"
    code, out, _ = run(capsys, "sync", str(lock), *args, "--profile", str(profiles["cuda130"]))
    assert code == 0 and "Nothing to do" in out


def test_upgrade_package_relocks_one_package(capsys, tmp_path, built, profiles) -> None:
    links = tmp_path / "links"
    shutil.copytree(built / "wheels", links)
    base = ["--no-index", "-f", str(links), *profile_args(profiles)]
    assert run(capsys, "lock", "gpulib", "common-dep", "-q", *base)[0] == 0
    from helpers.wheels import build_wheel

    build_wheel(links, "common-dep", "2.0")
    build_wheel(links, "gpulib-cpu-rt", "2.0")
    # new versions on the index do not make the lock stale: the locked ones still satisfy
    assert run(capsys, "lock", "--check", "gpulib", "common-dep", "-q", *base)[0] == 0
    assert run(capsys, "lock", "gpulib", "common-dep", "-q", "-P", "common-dep", *base)[0] == 0
    versions = {p.name: str(p.version) for p in read_lock(tmp_path / "pylock.toml").packages}
    assert versions["common-dep"] == "2.0" and versions["gpulib-cpu-rt"] == "1.0"


def test_detect_output_describes_the_whole_machine(capsys, tmp_path) -> None:
    from varwheel.install.environment import current_environment
    from varwheel.lock.targets import read_machine
    from varwheel.providers.profile import load_profile

    assert run(capsys, "detect", "--namespace", "x86_64", "-o", str(tmp_path / "me.toml"))[0] == 0
    machine, _ = read_machine(tmp_path / "me.toml")
    env = current_environment()
    assert machine is not None and machine.python_version == env.python_version
    assert machine.markers["sys_platform"] == sys.platform
    assert set(machine.tags()) == set(env.tags)
    load_profile(tmp_path / "me.toml")  # still an ordinary profile


UV = Path(sys.executable).with_name("uv")


def tree(venv: Path) -> dict[str, str]:
    """The venv's files, but uv's own empty ``.lock`` file (it leaves one even on refusal)."""
    return {k: v for k, v in snapshot_tree(venv).items() if k != ".lock"}


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_plain_pep751_consumers_install_non_variant_or_refuse(
    capsys, tmp_path, built, server, profiles, tool
) -> None:
    """Measured: pip 26.3 refuses the whole file ("Invalid wheel filename"), uv 0.13.9 installs
    the non-variant wheel and skips the variant-only dependencies (gated on an undeclared
    dependency group). Either way, never a broken environment."""
    if tool == "uv" and not UV.exists():
        pytest.skip("uv is not installed in this venv")
    index = ["--index-url", server.url + "simple/"]
    gpu_only = ["--profile", str(profiles["cuda128"])]
    for reqs, name, targets in (
        (["gpulib"], "pylock.toml", profile_args(profiles)),
        (["vonly"], "pylock.vonly.toml", gpu_only),  # variant-only: no non-variant install
    ):
        assert run(capsys, "lock", *reqs, "-q", "-o", name, *index, *targets)[0] == 0
        venv = make_venv(tmp_path / f"venv-{tool}-{reqs[0]}")
        if tool == "pip":
            cmd = [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
                   "--no-cache-dir", "--disable-pip-version-check", "-r", name]  # fmt: skip
        else:
            cmd = [str(UV), "pip", "install", "--python", str(venv / "bin/python"), "--no-cache",
                   "--no-config", "-r", name]  # fmt: skip

        before = tree(venv)
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        if result.returncode != 0:
            assert tree(venv) == before, result.stderr  # a clean refusal
            assert "wheel" in result.stderr.lower(), result.stderr
            continue
        got = installed(venv)
        assert reqs[0] == "gpulib", f"{tool} installed a variant-only lock: {got}"
        assert got == {"gpulib": None, "common-dep": None, "gpulib-cpu-rt": None}
        check = subprocess.run(
            [str(venv / "bin/python"), "-c", "import gpulib, common_dep, gpulib_cpu_rt"]
        )
        assert check.returncode == 0
