"""pip's and uv's install flags varwheel lacked (issue 11): --reinstall[-package],
--upgrade-strategy, --only-binary/--no-binary, --require-hashes, install --json, -q/-v after the
command. Real wheels and sdists in a find-links directory, real venvs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cli.targets import without_environment_line
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.wheels import build_wheel
from resolve.variant_project import build_sdist
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("links")
    build_wheel(d, "app", "1.0", requires_dist=["lib>=1"])
    build_wheel(d, "lib", "1.0")
    build_wheel(d, "lib", "2.0")
    build_wheel(d, "other", "1.0")
    build_sdist(d, "srconly", "1.0", dependencies=[])
    build_sdist(d, "both", "1.0", dependencies=[])
    build_wheel(d, "both", "1.0")
    return d


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_cli(tmp_path, monkeypatch)
    return make_venv(tmp_path / "venv")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, without_environment_line(err)


def install(capsys, venv: Path, links: Path, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "install", "--python", str(venv), "--no-index", "-f", str(links), *argv)


def versions(venv: Path) -> dict[str, str]:
    dists = installed_distributions(find_target_environment(str(venv)))
    return {name: d.version for name, d in dists.items()}


def test_install_json_reports_plan_and_result(capsys, venv, links) -> None:
    code, out, err = install(capsys, venv, links, "--json", "app", "lib<2")
    assert code == 0, err
    doc = json.loads(out)  # stdout holds the JSON alone; the plan went to stderr
    assert doc["dry_run"] is False
    assert sorted((i["name"], i["version"]) for i in doc["installed"]) == [
        ("app", "1.0"),
        ("lib", "1.0"),
    ]
    assert {i["metadata"]["name"] for i in doc["install"]} == {"app", "lib"}
    assert doc["target_environment"]["prefix"] == str(venv)
    assert doc["problems"] == [] and "Installing 2 package(s)" in err
    code, out, _ = install(capsys, venv, links, "--json", "--dry-run", "app")
    doc = json.loads(out)
    assert doc["installed"] == [] and doc["dry_run"] is True
    assert {i["name"] for i in doc["already_installed"]} == {"app", "lib"}


def test_reinstall_package_and_reinstall(capsys, venv, links) -> None:
    assert install(capsys, venv, links, "-q", "app", "lib<2", "other")[0] == 0
    code, out, err = install(
        capsys, venv, links, "--json", "--reinstall-package", "LIB", "app", "lib<2"
    )
    assert code == 0, err
    assert [(i["name"], i["version"]) for i in json.loads(out)["installed"]] == [("lib", "1.0")]
    code, out, err = install(capsys, venv, links, "--json", "--reinstall", "app", "other", "lib<2")
    assert code == 0, err
    # uv's --reinstall (pip's --force-reinstall): everything of the resolution
    assert sorted(i["name"] for i in json.loads(out)["installed"]) == ["app", "lib", "other"]
    assert versions(venv)["lib"] == "1.0"


def test_upgrade_strategy(capsys, venv, links) -> None:
    assert install(capsys, venv, links, "-q", "app", "lib<2")[0] == 0
    code, _, err = install(capsys, venv, links, "-U", "app")
    assert code == 0, err
    assert versions(venv)["lib"] == "1.0"  # only-if-needed: lib 1.0 still satisfies app
    code, _, err = install(capsys, venv, links, "-U", "--upgrade-strategy", "eager", "app")
    assert code == 0, err
    assert versions(venv)["lib"] == "2.0"
    with pytest.raises(SystemExit) as usage:
        install(capsys, venv, links, "--upgrade-strategy", "lazy", "app")
    assert usage.value.code == exitcodes.INVALID_INPUT


def test_only_binary_and_no_binary(capsys, venv, links) -> None:
    code, _, err = install(capsys, venv, links, "--dry-run", "--only-binary", ":all:", "srconly")
    assert code == exitcodes.FAILURE and "srconly" in err
    code, _, err = install(
        capsys, venv, links, "--dry-run", "--only-binary", "other,srconly", "srconly"
    )
    assert code == exitcodes.FAILURE
    # a later --no-binary NAME wins over an earlier --only-binary :all: (pip's order)
    code, out, err = install(
        capsys,
        venv,
        links,
        "--no-build-isolation",
        "--only-binary",
        ":all:",
        "--no-binary",
        "both",
        "both",
    )
    assert code == 0, err
    assert "built from both-1.0.tar.gz" in out  # the wheel next to it was not taken
    code, out, err = install(capsys, venv, links, "--dry-run", "--reinstall", "both")
    assert code == 0 and "both-1.0-py3-none-any.whl" in out


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_require_hashes(capsys, venv, links, tmp_path) -> None:
    req = tmp_path / "req.txt"
    req.write_text("lib>=1\n")
    code, _, err = install(capsys, venv, links, "--require-hashes", "-r", str(req))
    assert code == exitcodes.INVALID_INPUT
    assert "every requirement must be pinned with ==" in err and "lib>=1" in err
    req.write_text("lib==1.0\n")
    code, _, err = install(capsys, venv, links, "--require-hashes", "-r", str(req))
    assert code == exitcodes.FAILURE and "no --hash given for lib==1.0" in err
    wrong = _sha256(links / "lib-2.0-py3-none-any.whl")
    req.write_text(f"--require-hashes\nlib==1.0 --hash={wrong}\n")  # the option line, too
    code, _, err = install(capsys, venv, links, "-r", str(req))
    assert code == exitcodes.FAILURE and "is not one of the --hash values" in err
    assert "lib" not in versions(venv)
    good = _sha256(links / "lib-1.0-py3-none-any.whl")
    req.write_text(f"lib==1.0 --hash={good}\n")
    code, _, err = install(capsys, venv, links, "--require-hashes", "-r", str(req))
    assert code == 0, err
    assert versions(venv)["lib"] == "1.0"


def test_quiet_and_verbose_after_the_command(capsys, venv, links) -> None:
    code, out, err = run(capsys, "list", "-q", "--python", str(venv))
    assert code == 0 and err == "" and out.startswith("Name")
    code, _, err = run(capsys, "uninstall", "-v", "-y", "--python", str(venv), "nothing")
    assert code == 0 and "nothing is not installed" in err
    code, _, _ = run(capsys, "cache", "info", "-q")
    assert code == 0
    code, out, err = install(capsys, venv, links, "-v", "--dry-run", "other")
    assert code == 0 and "chosen because" in out


def test_uninstall_json(capsys, venv, links) -> None:
    assert install(capsys, venv, links, "-q", "other")[0] == 0
    code, out, err = run(capsys, "uninstall", "--json", "--python", str(venv), "other", "absent")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["removed"] == [{"name": "other", "version": "1.0"}]
    assert doc["not_installed"] == ["absent"] and "other" not in versions(venv)
