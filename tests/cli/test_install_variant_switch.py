"""An installed distribution of another variant than the one asked for with ``--variant``:
the pin is a requirement the installed one does not meet (as ``pip install foo==2`` replaces
an installed foo 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from resolve.variant_project import write_profile, write_site
from varwheel.cli.main import main
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with serve_directory(write_site(tmp_path_factory.mktemp("vswitch"))) as srv:
        yield srv


def test_variant_pin_replaces_an_installed_other_variant(capsys, tmp_path, server) -> None:
    gpu = write_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"])
    venv = make_venv(tmp_path / "venv")
    common = ["--python", str(venv), "--profile", str(gpu), "--index-url", server.url + "simple/"]
    assert main(["install", "--no-deps", *common, "vdemo"]) == 0
    env = find_target_environment(str(venv))
    assert installed_distributions(env)["vdemo"].variant_label == "cu12"
    capsys.readouterr()
    assert main(["install", "--no-deps", "--variant", "vdemo=null", *common, "vdemo"]) == 0
    out = capsys.readouterr().out
    assert "already satisfied" not in out
    assert installed_distributions(env)["vdemo"].variant_label == "null"
    # the installed variant is the pinned one: kept
    assert main(["install", "--no-deps", "--variant", "vdemo=null", *common, "vdemo"]) == 0
    assert "already satisfied: vdemo 1.0" in capsys.readouterr().out
