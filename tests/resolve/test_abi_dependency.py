"""``abi_dependency`` (PEP 817 §"Optional abi_dependency namespace"): the supported values come
from the TARGET environment's distributions and from what the same install adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from resolve.variant_project import write_profile, write_variants_json
from varwheel.cli.main import main
from varwheel.index.static import write_static_index
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions

PROVIDERS = {"nvidia": {"requires": ["nvidia-variant-provider>=0.0.1"]}}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """``torchext 1.0``: ``torch29`` / ``torch28`` variants and a non-variant wheel; fake
    ``torch`` 2.8.0 and 2.9.1 (plain wheels)."""
    root = tmp_path_factory.mktemp("abi")
    wheels = [build_wheel(root / "w", "torch", v) for v in ("2.8.0", "2.9.1")]
    for label, value in (("torch29", "2.9"), ("torch28", "2.8")):
        doc = variant_json(
            label,
            [f"abi_dependency :: torch :: {value}"],
            providers=PROVIDERS,
            namespace_priorities=["nvidia"],
        )
        wheels.append(build_wheel(root / "w", "torchext", "1.0", variant=doc))
    wheels.append(build_wheel(root / "w", "torchext", "1.0", requires_dist=["torch"]))
    extra = write_variants_json(wheels, root / "w")
    with serve_directory(write_static_index([*wheels, *extra], root / "site")) as srv:
        yield srv


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # no GPU: the only variant namespace that can match is abi_dependency
    return write_profile(tmp_path_factory.mktemp("p") / "cpu.toml", cuda=None)


@pytest.fixture
def install(capsys: pytest.CaptureFixture[str], server: LocalServer, profile: Path):
    """``varwheel install`` into ``venv``; returns stdout (asserts success)."""

    def run(venv: Path, *args: str) -> str:
        index = ["--index-url", server.url + "simple/", "--profile", str(profile)]
        code = main(["install", "--python", str(venv), *index, *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    return run


def labels(venv: Path) -> dict[str, tuple[str, str | None]]:
    env = find_target_environment(str(venv))
    return {n: (d.version, d.variant_label) for n, d in installed_distributions(env).items()}


@pytest.mark.slow
def test_installed_torch_selects_matching_variant(tmp_path, install) -> None:
    venv = make_venv(tmp_path / "venv")
    install(venv, "torch==2.9.1")
    out = install(venv, "--no-deps", "torchext")
    assert "torch29" in out
    assert labels(venv)["torchext"] == ("1.0", "torch29")


@pytest.mark.slow
def test_without_torch_the_non_variant_wheel(tmp_path, install) -> None:
    venv = make_venv(tmp_path / "venv")
    install(venv, "--no-deps", "torchext")
    assert labels(venv) == {"torchext": ("1.0", None)}


@pytest.mark.slow
def test_torch_added_in_the_same_run_counts(tmp_path, install) -> None:
    """The first pass sees no torch (non-variant); torch 2.8.0 joins the install, so the second
    pass picks the 2.8 variant; an installed 2.9.1 being downgraded to 2.8.0 does the same."""
    venv = make_venv(tmp_path / "venv")
    install(venv, "torchext", "torch==2.8.0")
    assert labels(venv) == {"torchext": ("1.0", "torch28"), "torch": ("2.8.0", None)}

    other = make_venv(tmp_path / "other")
    install(other, "torch==2.9.1")
    out = install(other, "--dry-run", "torchext", "torch==2.8.0")
    assert "torch28" in out and "torch29" not in out
