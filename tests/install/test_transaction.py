from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel, build_with_backend, record_digest, variant_json
from varwheel.errors import InstallError
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import installed_distributions
from varwheel.install.transaction import environment_lock, install_wheels, uninstall

VJ = variant_json(
    "x86_64_v3",
    ["x86_64 :: level :: v3"],
    providers={"x86_64": {"requires": ["x86-64-variant-provider"]}},
)
SCRIPT = {"console_scripts": {"demo-tool": "demo_pkg:main"}}


def _demo(tmp_path: Path, version: str, **kwargs: object) -> Path:
    files = kwargs.pop("files", None) or {
        "demo_pkg/__init__.py": f"def main():\n    print('demo {version}')\n",
        f"demo_pkg/only_{version.replace('.', '_')}.py": "X = 1\n",
    }
    return build_wheel(
        tmp_path / "wheels", "demo-pkg", version, files=files, entry_points=SCRIPT, **kwargs
    )  # type: ignore[arg-type]


def test_install_variant_wheel_keeps_metadata(tmp_path: Path, env: TargetEnvironment) -> None:
    wheel = _demo(tmp_path, "1.0", variant=VJ)
    result = install_wheels(env, [wheel], requested={"Demo_Pkg"})
    assert [(w.name, w.version, w.label) for w in result.installed] == [
        ("demo-pkg", "1.0", "x86_64_v3")
    ]
    dist_info = env.purelib / "demo_pkg-1.0.dist-info"
    with zipfile.ZipFile(wheel) as z:
        assert (dist_info / "variant.json").read_bytes() == z.read(
            "demo_pkg-1.0.dist-info/variant.json"
        )
    assert (dist_info / "INSTALLER").read_text() == "varwheel\n"
    assert (dist_info / "REQUESTED").exists()
    assert not (dist_info / "direct_url.json").exists()
    record = (dist_info / "RECORD").read_text()
    for listed in (
        "demo_pkg/__init__.py",
        "INSTALLER",
        "REQUESTED",
        "variant.json",
        "../../../bin/demo-tool",
    ):
        assert listed in record
    # The console script runs with the TARGET interpreter.
    script = env.scripts / "demo-tool"
    assert script.read_text().splitlines()[0] == f"#!{env.python}"
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True)
    assert out.stdout == "demo 1.0\n"
    (dist,) = installed_distributions(env).values()
    assert (dist.variant_label, dist.variant_properties, dist.installer, dist.requested) == (
        "x86_64_v3",
        ("x86_64 :: level :: v3",),
        "varwheel",
        True,
    )
    assert not (env.prefix / ".varwheel" / "txn").exists()


def test_upgrade_then_uninstall_restores_the_tree(tmp_path: Path, env: TargetEnvironment) -> None:
    before = snapshot_tree(env.prefix)
    install_wheels(env, [_demo(tmp_path, "1.0", variant=VJ)])
    assert (env.purelib / "demo_pkg" / "only_1_0.py").exists()
    result = install_wheels(env, [_demo(tmp_path, "2.0")], requested={"demo-pkg"})
    assert result.removed == (("demo-pkg", "1.0"),)
    assert result.installed[0].replaced_version == "1.0"
    assert not (env.purelib / "demo_pkg" / "only_1_0.py").exists()
    assert not (env.purelib / "demo_pkg-1.0.dist-info").exists()
    assert (env.purelib / "demo_pkg" / "only_2_0.py").exists()
    dists = installed_distributions(env)
    assert dists["demo-pkg"].version == "2.0" and dists["demo-pkg"].variant_label is None
    out = subprocess.run(
        [str(env.scripts / "demo-tool")], capture_output=True, text=True, check=True
    )
    assert out.stdout == "demo 2.0\n"
    removed = uninstall(env, ["demo-pkg", "never-installed"])
    assert removed.removed == (("demo-pkg", "2.0"),)
    assert removed.missing == ("never-installed",)
    assert snapshot_tree(env.prefix) == before


def test_skip_existing_when_not_upgrading(tmp_path: Path, env: TargetEnvironment) -> None:
    install_wheels(env, [_demo(tmp_path, "1.0")])
    result = install_wheels(env, [_demo(tmp_path, "2.0")], upgrade_existing=False)
    assert result.installed == ()
    assert result.skipped == ("demo-pkg",)
    assert installed_distributions(env)["demo-pkg"].version == "1.0"


def test_data_scripts_headers_and_direct_url(tmp_path: Path, env: TargetEnvironment) -> None:
    wheel = build_wheel(
        tmp_path,
        "datapkg",
        "0.1",
        files={
            "datapkg/__init__.py": "",
            "datapkg-0.1.data/scripts/dp-shell": "#!python\nprint('from data script')\n",
            "datapkg-0.1.data/headers/datapkg.h": "#define DP 1\n",
            "datapkg-0.1.data/data/share/datapkg/readme.txt": "hello\n",
        },
    )
    url = {"url": wheel.as_uri(), "archive_info": {}}
    install_wheels(env, [wheel], direct_urls={"datapkg": url})
    out = subprocess.run(
        [str(env.scripts / "dp-shell")], capture_output=True, text=True, check=True
    )
    assert out.stdout == "from data script\n"
    assert (env.headers / "datapkg" / "datapkg.h").read_text() == "#define DP 1\n"
    assert (env.prefix / "share" / "datapkg" / "readme.txt").read_text() == "hello\n"
    direct = json.loads((env.purelib / "datapkg-0.1.dist-info" / "direct_url.json").read_text())
    assert direct == url
    uninstall(env, ["datapkg"])
    assert not (env.prefix / "share").exists()
    assert not (env.scripts / "dp-shell").exists()


def test_compile_bytecode_is_opt_in_and_removed_on_uninstall(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    install_wheels(env, [_demo(tmp_path, "1.0")])
    assert not (env.purelib / "demo_pkg" / "__pycache__").exists()
    install_wheels(env, [_demo(tmp_path, "2.0")], compile_bytecode=True)
    cached = list((env.purelib / "demo_pkg" / "__pycache__").glob("*.pyc"))
    assert {p.name.split(".")[0] for p in cached} == {"__init__", "only_2_0"}
    uninstall(env, ["demo-pkg"])
    assert not (env.purelib / "demo_pkg").exists()


def test_bad_wheel_in_a_batch_changes_nothing(tmp_path: Path, env: TargetEnvironment) -> None:
    install_wheels(env, [_demo(tmp_path, "1.0")])
    before = snapshot_tree(env.prefix)
    good = build_wheel(tmp_path / "batch", "other", "1.0")
    evil = build_wheel(tmp_path / "src", "evil", "1.0")
    with zipfile.ZipFile(evil) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members["../../escape.py"] = b"x"
    members["evil-1.0.dist-info/RECORD"] += f"../../escape.py,{record_digest(b'x')},1\n".encode()
    with zipfile.ZipFile(tmp_path / "batch" / evil.name, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    with pytest.raises(
        InstallError, match=r"evil-1\.0-py3-none-any\.whl: unsafe path '\.\./\.\./escape\.py'"
    ):
        install_wheels(env, [good, _demo(tmp_path, "2.0"), tmp_path / "batch" / evil.name])
    assert snapshot_tree(env.prefix) == before
    assert not (env.prefix / ".varwheel" / "txn").exists()


def test_duplicate_project_in_one_call(tmp_path: Path, env: TargetEnvironment) -> None:
    with pytest.raises(InstallError, match="are both demo-pkg"):
        install_wheels(env, [_demo(tmp_path, "1.0"), _demo(tmp_path, "2.0")])


def test_uninstall_refuses_record_outside_env_and_missing_record(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    install_wheels(env, [_demo(tmp_path, "1.0")])
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    record = env.purelib / "demo_pkg-1.0.dist-info" / "RECORD"
    rel = os.path.relpath(outside, env.purelib)
    record.write_text(record.read_text() + f"{rel},,\n")
    before = snapshot_tree(env.prefix)
    with pytest.raises(InstallError, match="outside the environment"):
        uninstall(env, ["demo-pkg"])
    assert outside.read_text() == "keep me"
    assert snapshot_tree(env.prefix) == before
    record.unlink()
    with pytest.raises(InstallError, match=r"demo-pkg 1\.0: no RECORD file"):
        uninstall(env, ["demo-pkg"])


def test_refuses_to_overwrite_an_unowned_file(tmp_path: Path, env: TargetEnvironment) -> None:
    """A file no installed distribution owns is not the wheel's to replace (pip overwrites it
    silently; an uninstall could then not give it back)."""
    stray = env.purelib / "demo_pkg" / "__init__.py"
    stray.parent.mkdir(parents=True)
    stray.write_text("stray\n")
    before = snapshot_tree(env.prefix)
    with pytest.raises(
        InstallError,
        match=r"^demo_pkg-1\.0-py3-none-any\.whl: 'demo_pkg/__init__\.py' would overwrite "
        r".*/demo_pkg/__init__\.py, which no installed distribution owns; nothing was installed",
    ):
        install_wheels(env, [_demo(tmp_path, "1.0")])
    assert stray.read_text() == "stray\n"
    assert snapshot_tree(env.prefix) == before
    assert not (env.prefix / ".varwheel" / "txn").exists()


def test_concurrent_runs_are_excluded(env: TargetEnvironment) -> None:
    with (
        environment_lock(env),
        pytest.raises(InstallError, match="another varwheel process"),
        environment_lock(env, timeout=0.2),
    ):
        pass


def test_wheel_from_a_real_backend(tmp_path: Path, env: TargetEnvironment) -> None:
    wheel = build_with_backend(
        tmp_path / "proj",
        tmp_path / "dist",
        "real-backend-pkg",
        "3.1",
        modules={"__init__.py": "def main():\n    print('real backend')\n"},
        scripts={"rbp": "real_backend_pkg:main"},
    )
    install_wheels(env, [wheel])
    out = subprocess.run([str(env.scripts / "rbp")], capture_output=True, text=True, check=True)
    assert out.stdout == "real backend\n"
    assert installed_distributions(env)["real-backend-pkg"].version == "3.1"


def test_shared_namespace_directory_survives_partial_uninstall(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    before = snapshot_tree(env.prefix)
    first = build_wheel(tmp_path, "ns-a", "1.0", files={"nspkg/a.py": "A = 1\n"})
    second = build_wheel(tmp_path, "ns-b", "1.0", files={"nspkg/b.py": "B = 1\n"})
    install_wheels(env, [first, second])
    assert sorted(p.name for p in (env.purelib / "nspkg").iterdir()) == ["a.py", "b.py"]
    uninstall(env, ["ns-a"])
    assert sorted(p.name for p in (env.purelib / "nspkg").iterdir()) == ["b.py"]
    uninstall(env, ["ns-b"])
    assert snapshot_tree(env.prefix) == before


def test_staging_destination_refuses_escaping_paths(tmp_path: Path) -> None:
    from varwheel.install.transaction import _destination_class

    dest = _destination_class()(
        {"purelib": str(tmp_path / "site")},
        interpreter="/usr/bin/python3",
        script_kind="posix",
        destdir=str(tmp_path / "stage"),
    )
    inside = dest._path_with_destdir("purelib", "pkg/mod.py")
    assert inside == Path(str(tmp_path / "stage") + str(tmp_path / "site" / "pkg" / "mod.py"))
    for bad in ("../escape.py", "pkg/../../escape.py", "/etc/passwd"):
        with pytest.raises(ValueError, match="outside of the target directory"):
            dest._path_with_destdir("purelib", bad)


@pytest.mark.parametrize(
    "cache", ["default", None], ids=["from-the-unpacked-cache", "from-the-zip"]
)
def test_bytecode_shipped_in_pycache_is_left_out_without_a_python_warning(
    tmp_path: Path, env: TargetEnvironment, cache: str | None
) -> None:
    """installer leaves out ``__pycache__`` members (Python writes its own bytecode) and warned
    per file with a RuntimeWarning that -q could not silence (numpy 2.1 ships one)."""
    import warnings

    files = {
        "demo_pkg/__init__.py": "X = 1\n",
        "demo_pkg/__pycache__/__init__.cpython-311.pyc": b"\x00not bytecode",
    }
    wheel = _demo(tmp_path, "1.0", files=files)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the install
        install_wheels(env, [wheel], unpacked_cache=cache)
    assert (env.purelib / "demo_pkg" / "__init__.py").read_text() == "X = 1\n"
    assert not (env.purelib / "demo_pkg" / "__pycache__").exists()
    record = (env.purelib / "demo_pkg-1.0.dist-info" / "RECORD").read_text()
    assert "__pycache__" not in record
