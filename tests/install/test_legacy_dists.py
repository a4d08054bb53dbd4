"""Distributions that pip and uv list but that have no ``.dist-info``: setuptools' ``.egg-info``
directories and files (``setup.py install``, distro packages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel
from varwheel.errors import InstallError
from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import installed_distributions, read_record
from varwheel.install.transaction import install_wheels, uninstall


def _egg_dir(env: TargetEnvironment, name: str, version: str) -> Path:
    egg = env.purelib / f"{name.replace('-', '_')}-{version}-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text(f"Metadata-Version: 1.0\nName: {name}\nVersion: {version}\n")
    return egg


def test_egg_info_directories_and_files_are_listed(env: TargetEnvironment) -> None:
    _egg_dir(env, "old-egg", "1.0")
    (env.purelib / "flat-2.0-py3.11.egg-info").write_text(
        "Metadata-Version: 1.1\nName: Flat\nVersion: 2.0\n"
    )
    dists = installed_distributions(env)
    assert (dists["old-egg"].version, dists["flat"].display_name) == ("1.0", "Flat")
    assert dists["flat"].installer == "" and dists["flat"].variant_label is None


def test_egg_info_without_pkg_info_is_named_from_its_directory(env: TargetEnvironment) -> None:
    (env.purelib / "bare-3.1-py3.11.egg-info").mkdir()
    assert installed_distributions(env)["bare"].version == "3.1"


def test_replacing_an_egg_info_dist_is_refused_and_changes_nothing(
    env: TargetEnvironment, tmp_path: Path
) -> None:
    _egg_dir(env, "old-egg", "1.0")
    wheel = build_wheel(tmp_path, "old-egg", "2.0", files={"old_egg/__init__.py": ""})
    before = snapshot_tree(env.prefix)
    with pytest.raises(InstallError, match=r"old-egg 1\.0: .*egg-info.*"):
        install_wheels(env, [wheel])
    assert snapshot_tree(env.prefix) == before
    with pytest.raises(InstallError, match="egg-info"):
        uninstall(env, ["old-egg"])
    dist = installed_distributions(env)["old-egg"]
    with pytest.raises(InstallError, match="egg-info"):
        read_record(dist)


def test_a_dist_info_wins_over_a_stale_egg_info(env: TargetEnvironment) -> None:
    _egg_dir(env, "pkg", "1.0")
    dist_info = env.purelib / "pkg-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    dist = installed_distributions(env)["pkg"]
    assert dist.dist_info == dist_info and dist.installer == "pip"
