"""``varwheel install`` against pip's and uv's habits: requirement syntax, requirements files,
constraints, and the error text of common failures. Real wheels, a real 127.0.0.1 index and
real venvs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.targets import use_target_venv, without_environment_line
from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree
from helpers.http_server import LocalServer, serve_directory
from helpers.stall_server import stalling_server
from helpers.wheels import build_wheel
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.index.static import write_static_index
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions


@pytest.fixture(scope="module")
def target_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("target") / "venv")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_venv: Path) -> None:
    isolate_cli(tmp_path, monkeypatch)
    use_target_venv(monkeypatch, target_venv)  # dry runs act on a target as real runs do


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("qa-wheels")
    build_wheel(d, "alpha", "1.0", requires_dist=["beta>=1"], files={"alpha/__init__.py": ""})
    build_wheel(
        d,
        "alpha",
        "2.0",
        requires_dist=["beta>=2", "gamma; extra == 'g'"],
        files={"alpha/__init__.py": ""},
        metadata_headers=[("Provides-Extra", "g")],
    )
    for v in ("1.0", "2.0", "3.0b1"):
        build_wheel(d, "beta", v, files={"beta/__init__.py": ""})
    build_wheel(d, "gamma", "1.0", files={"gamma/__init__.py": ""})
    for tags in ("cp311-cp311-win_amd64", "cp312-cp312-macosx_11_0_arm64"):
        build_wheel(d, "onlyother", "1.0", tags=tags, files={"onlyother/__init__.py": ""})
    build_wheel(d, "needs-x", "1.0", requires_dist=["gamma[x]"], files={"needs_x/__init__.py": ""})
    build_wheel(d, "conf", "1.0", requires_dist=["beta<2"], files={"conf/__init__.py": ""})
    build_wheel(d, "newpy", "1.0", requires_python=">=3.99", files={"newpy/__init__.py": ""})
    return d


@pytest.fixture(scope="module")
def server(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    root = write_static_index(sorted(wheels.iterdir()), tmp_path_factory.mktemp("qa-index"))
    with serve_directory(root) as srv:
        yield srv


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, without_environment_line(err)


def index(server: LocalServer) -> list[str]:
    return ["--index-url", server.url + "simple/"]


def test_requires_python_exclusion_is_named(capsys, server) -> None:
    # pip: "Ignored the following versions that require a different python version: 1.0
    # Requires-Python >=3.99"; uv: "the current Python version (3.11.7) does not satisfy ..."
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "newpy")
    assert code == exitcodes.FAILURE
    line = err.strip()
    assert "\n" not in line
    assert "newpy" in line and "Requires-Python >=3.99" in line and "1.0" in line


def test_invalid_requirement_is_one_line(capsys, server) -> None:
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "beta;")
    assert code == exitcodes.INVALID_INPUT
    assert err.count("\n") == 1 and "\\n" not in err
    assert "beta;" in err


def test_direct_reference_to_a_wheel_file_url(capsys, tmp_path, server, wheels) -> None:
    env = make_venv(tmp_path / "env")
    url = (wheels / "alpha-1.0-py3-none-any.whl").as_uri()
    code, _, err = run(capsys, "install", "--python", str(env), *index(server), f"alpha @ {url}")
    assert code == 0, err
    dists = installed_distributions(find_target_environment(str(env)))
    assert str(dists["alpha"].version) == "1.0" and "beta" in dists


def test_direct_reference_keeps_extras(capsys, server, wheels) -> None:
    url = (wheels / "alpha-2.0-py3-none-any.whl").as_uri()
    code, out, err = run(capsys, "install", "--dry-run", *index(server), f"alpha[g] @ {url}")
    assert code == 0, err
    assert "gamma 1.0" in out


def test_direct_reference_name_must_match_the_wheel(capsys, server, wheels) -> None:
    url = (wheels / "beta-1.0-py3-none-any.whl").as_uri()
    code, _, err = run(capsys, "install", "--dry-run", *index(server), f"alpha @ {url}")
    assert code == exitcodes.INVALID_INPUT
    assert "alpha" in err and "beta-1.0-py3-none-any.whl" in err


def test_direct_reference_to_a_non_wheel_is_refused(capsys, server, tmp_path) -> None:
    # silently resolving `alpha` from the index instead would install something else
    url = (tmp_path / "alpha-1.0.tar.gz").as_uri()
    code, _, err = run(capsys, "install", "--dry-run", *index(server), f"alpha @ {url}")
    assert code == exitcodes.INVALID_INPUT
    assert "alpha" in err and "alpha-1.0.tar.gz" in err


def test_requirements_file_options_and_continuations(capsys, tmp_path, server) -> None:
    # pip accepts index options, --pre and -c in requirements files
    (tmp_path / "cons.txt").write_text("beta<2  # keep the old one\n")
    (tmp_path / "req.txt").write_text(
        f"# pinned set\n--index-url {server.url}simple/\n-c cons.txt\nalpha \\\n  >=1.0\n"
    )
    code, out, err = run(capsys, "install", "--dry-run", "-r", str(tmp_path / "req.txt"))
    assert code == 0, err
    assert "alpha 1.0" in out and "beta 1.0" in out


def test_requirements_file_pre_option(capsys, tmp_path, server) -> None:
    (tmp_path / "req.txt").write_text("--pre\nbeta\n")
    code, out, err = run(capsys, "install", "--dry-run", *index(server), "-r", "req.txt")
    assert code == 0, err
    assert "beta 3.0b1" in out


def test_requirements_file_error_names_the_physical_line(capsys, tmp_path, server) -> None:
    (tmp_path / "req.txt").write_text("alpha>=1 \\\n  ,<2\n-e ./x\n")
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "-r", "req.txt")
    assert code == exitcodes.INVALID_INPUT
    assert "req.txt:3:" in err and "-e" in err


def test_constraints_flag(capsys, tmp_path, server) -> None:
    (tmp_path / "c.txt").write_text("beta<2\ngamma==1.0\n")
    code, out, err = run(capsys, "install", "--dry-run", *index(server), "-c", "c.txt", "alpha")
    assert code == 0, err
    # a constraint alone installs nothing; it only narrows beta (alpha 2.0 needs beta>=2)
    assert "alpha 1.0" in out and "beta 1.0" in out and "gamma" not in out


def test_conflict_with_a_constraint_is_explained(capsys, tmp_path, server) -> None:
    (tmp_path / "c.txt").write_text("beta<1\n")
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "-c", "c.txt", "beta")
    assert code == exitcodes.FAILURE
    assert "beta" in err and "<1" in err and "c.txt" in err


def test_unknown_extra_warns_like_pip(capsys, server) -> None:
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "alpha[nosuch]")
    assert code == 0, err
    assert "alpha 2.0 does not provide the extra 'nosuch'" in err


def test_uninstalling_a_dependency_warns_about_dependents(capsys, tmp_path, server) -> None:
    env = make_venv(tmp_path / "env")
    code, _, err = run(capsys, "install", "--python", str(env), *index(server), "alpha")
    assert code == 0, err
    code, _, err = run(capsys, "uninstall", "--python", str(env), "-y", "beta")
    assert code == 0  # as pip and uv: removed anyway
    assert "alpha 2.0 requires beta>=2" in err
    assert "beta" not in installed_distributions(find_target_environment(str(env)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "stall_on",
    [".whl", "/simple/beta/"],
    ids=["during-download", "during-resolution"],
)
def test_sigint_exits_130_at_once_and_changes_nothing(tmp_path, wheels, stall_on) -> None:
    root = write_static_index(sorted(wheels.iterdir()), tmp_path / "index")
    env = make_venv(tmp_path / "env")
    before = snapshot_tree(env)
    with stalling_server(root, stall_on=stall_on) as stall:
        argv = ["install", "--python", str(env), "--index-url", stall.url, "alpha"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "varwheel", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert stall.stalled.wait(20), proc.communicate(timeout=5)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        _, err = proc.communicate(timeout=40)
        # at once, not after the 30 s read timeout of the stalled request
        elapsed = time.monotonic() - start
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert without_environment_line(err).strip().splitlines() == ["varwheel: error: interrupted"]
    assert elapsed < 5
    assert snapshot_tree(env) == before


def test_a_failed_download_installs_nothing(capsys, tmp_path, server) -> None:
    env = make_venv(tmp_path / "env")
    before = snapshot_tree(env)
    server.fail("/files/beta-2.0-py3-none-any.whl", 404, times=10)
    try:
        code, _, err = run(capsys, "install", "--python", str(env), *index(server), "alpha")
    finally:
        server.options.failures.clear()
    assert code == exitcodes.NETWORK_FAILURE, err
    # (the in-process test server may log a dropped connection on stderr too)
    ours = [line for line in err.splitlines() if line.startswith("varwheel:")]
    assert len(ours) == 1 and "beta-2.0-py3-none-any.whl" in ours[0]
    assert snapshot_tree(env) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["install", "gamma"],
        ["install", "--python", "/nonexistent/bin/python", "gamma"],
        ["uninstall", "-y", "gamma"],
        ["list"],
    ],
)
def test_no_usable_target_is_a_usage_error(capsys, monkeypatch, server, argv) -> None:
    monkeypatch.delenv("VIRTUAL_ENV")
    code, _, err = run(capsys, *argv, *(index(server) if argv[0] == "install" else []))
    assert code == exitcodes.INVALID_INPUT
    assert err.count("\n") == 1 and ("--python" in err or "target environment" in err)


@pytest.fixture(scope="module")
def yanked_server(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The index with beta 2.0 yanked (PEP 592), in both its HTML and JSON pages."""
    import json

    root = write_static_index(sorted(wheels.iterdir()), tmp_path_factory.mktemp("qa-yanked"))
    page = root / "simple" / "beta" / "index.html"
    page.write_text(
        page.read_text().replace(
            '">beta-2.0-py3-none-any.whl', '" data-yanked="broken build">beta-2.0-py3-none-any.whl'
        )
    )
    doc_path = root / "simple" / "beta" / "index.json"
    doc = json.loads(doc_path.read_text())
    for f in doc["files"]:
        if f["filename"] == "beta-2.0-py3-none-any.whl":
            f["yanked"] = "broken build"
    doc_path.write_text(json.dumps(doc))
    with serve_directory(root) as srv:
        yield srv


def test_yanked_versions_like_pip(capsys, yanked_server) -> None:
    args = ["install", "--dry-run", *index(yanked_server)]
    code, out, err = run(capsys, *args, "beta")
    assert code == 0, err
    assert "beta 1.0" in out  # 3.0b1 is a pre-release, 2.0 yanked
    code, out, err = run(capsys, *args, "beta==2.0")
    assert code == 0, err
    assert "beta 2.0" in out
    assert "beta 2.0 is yanked" in err and "broken build" in err
    code, _, err = run(capsys, *args, "beta>=2,<3")
    assert code == exitcodes.FAILURE
    assert "yanked" in err and "2.0" in err


def test_conflict_names_both_sides(capsys, server) -> None:
    # pip: "The conflict is caused by: The user requested beta>=2; conf 1.0 depends on beta<2"
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "conf", "beta>=2")
    assert code == exitcodes.FAILURE
    assert "conflicting requirements on beta" in err
    assert "beta<2 (from conf 1.0)" in err and "beta>=2 (requested)" in err


def test_wheels_only_for_other_machines_are_named_by_tag(capsys, server) -> None:
    # uv: "Wheels are available for `onlywin` (v1.0) on the following platform: `win_amd64`"
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "onlyother")
    assert code == exitcodes.FAILURE
    assert "cp311-cp311-win_amd64" in err and "cp312-cp312-macosx_11_0_arm64" in err


@pytest.mark.parametrize(
    ("req", "words"),
    [
        ("nosuch", "no distributions of nosuch found in http://127.0.0.1"),
        ("newpy", "Requires-Python >=3.99"),
        ("beta>=5", "available: 1.0, 2.0, 3.0b1"),
    ],
)
def test_explain_says_why_nothing_matches(capsys, server, req, words) -> None:
    code, out, err = run(capsys, "explain", *index(server), req)
    assert code == exitcodes.FAILURE
    assert words in out + err


@pytest.mark.parametrize("text", ["Beta_", "beta.", "be ta"])
def test_invalid_project_names_are_refused(capsys, server, text) -> None:
    code, _, err = run(capsys, "install", "--dry-run", *index(server), text)
    assert code == exitcodes.INVALID_INPUT
    assert err.startswith("varwheel: error: command line: invalid requirement") and text in err


def test_no_deps_install_warns_about_unmet_requirements(capsys, tmp_path, server) -> None:
    # pip: "conf 1.0 requires beta<2, but you have beta 2.0 which is incompatible."
    env = make_venv(tmp_path / "env")
    common = ["install", "--python", str(env), *index(server)]
    assert run(capsys, *common, "beta==2.0")[0] == 0
    code, _, err = run(capsys, *common, "--no-deps", "conf", "alpha==1.0")
    assert code == 0, err
    assert "conf 1.0 requires beta<2, but you have beta 2.0 which is incompatible" in err
    assert "alpha 1.0 requires" not in err  # beta 2.0 meets beta>=1
    code, _, err = run(capsys, *common, "--no-deps", "--force-reinstall", "alpha==2.0")
    assert "alpha 2.0 requires" not in err  # the gamma extra was not asked for


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hash_checking_mode_like_pip(capsys, tmp_path, server, wheels) -> None:
    # pip-compile --generate-hashes output: continuation lines with --hash per requirement
    env = make_venv(tmp_path / "env")
    alpha = _sha256(wheels / "alpha-1.0-py3-none-any.whl")
    beta = _sha256(wheels / "beta-2.0-py3-none-any.whl")
    req = tmp_path / "req.txt"
    common = ["install", "--python", str(env), *index(server), "-r", str(req)]
    req.write_text(f"alpha==1.0 \\\n    --hash=sha256:{alpha}\n")
    before = snapshot_tree(env)
    code, _, err = run(capsys, *common)
    assert code == exitcodes.FAILURE
    assert "no --hash given for beta==2.0" in err and snapshot_tree(env) == before
    req.write_text(f"alpha==1.0 --hash=sha256:{alpha}\nbeta==2.0 --hash sha256:{'0' * 64}\n")
    code, _, err = run(capsys, *common)
    assert code == exitcodes.FAILURE
    assert f"beta-2.0-py3-none-any.whl: hash sha256:{beta} is not one" in err
    assert snapshot_tree(env) == before
    req.write_text(
        f"alpha==1.0 \\\n  --hash=sha256:{'1' * 64} \\\n  --hash=sha256:{alpha}\n"
        f"beta==2.0 --hash=sha256:{beta}  # via alpha\n"
    )
    code, _, err = run(capsys, *common)
    assert code == 0, err
    assert {"alpha", "beta"} <= set(installed_distributions(find_target_environment(str(env))))


def test_malformed_hash_option(capsys, tmp_path, server) -> None:
    (tmp_path / "req.txt").write_text("alpha==1.0 --hash=md5:abc\n")
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "-r", "req.txt")
    assert code == exitcodes.INVALID_INPUT
    assert "req.txt:1: --hash 'md5:abc'" in err


def test_requirements_file_wheel_paths_and_direct_references(capsys, tmp_path, server, wheels):
    gamma = wheels / "gamma-1.0-py3-none-any.whl"
    alpha = (wheels / "alpha-1.0-py3-none-any.whl").as_uri()
    (tmp_path / "req.txt").write_text(f"{gamma}\nalpha @ {alpha}\n")
    code, out, err = run(capsys, "install", "--dry-run", *index(server), "-r", "req.txt")
    assert code == 0, err
    # alpha 1.0 from the URL, not the index's newest 2.0
    assert "alpha 1.0" in out and "gamma 1.0" in out


def test_requirement_with_false_marker_is_reported_as_ignored(capsys, server) -> None:
    req = "beta; python_version < '3'"
    code, out, err = run(capsys, "install", "--dry-run", *index(server), req, "gamma")
    assert code == 0, err
    assert "Ignoring beta: markers 'python_version < \"3\"' don't match" in out
    assert "beta" not in out.split("Ignoring beta")[1]


def test_uninstall_takes_requirement_specifiers_and_files(capsys, tmp_path, server) -> None:
    env = make_venv(tmp_path / "env")
    assert run(capsys, "install", "--python", str(env), *index(server), "alpha", "gamma")[0] == 0
    (tmp_path / "req.txt").write_text("alpha>=1  # the app\n")
    code, _, err = run(
        capsys, "uninstall", "-y", "--python", str(env), "gamma==1.0", "beta[x]", "-r", "req.txt"
    )
    assert code == 0, err
    assert not installed_distributions(find_target_environment(str(env)))
    code, _, err = run(capsys, "uninstall", "-y", "--python", str(env), "bad!!")
    assert code == exitcodes.INVALID_INPUT and "bad!!" in err


def test_plan_names_the_version_it_replaces(capsys, tmp_path, server) -> None:
    # pip: "Found existing installation: alpha 1.0 ... Successfully uninstalled alpha-1.0"
    env = make_venv(tmp_path / "env")
    common = ["install", "--python", str(env), *index(server)]
    assert run(capsys, *common, "alpha==1.0")[0] == 0
    code, out, err = run(capsys, *common, "-U", "alpha")
    assert code == 0, err
    assert "alpha 2.0 (non-variant: alpha-2.0-py3-none-any.whl), replacing 1.0" in out


def test_direct_url_over_http_records_the_installed_hash(capsys, tmp_path, server, wheels):
    import json

    env = make_venv(tmp_path / "env")
    url = server.url + "files/gamma-1.0-py3-none-any.whl"
    code, _, err = run(capsys, "install", "--python", str(env), *index(server), f"gamma @ {url}")
    assert code == 0, err
    dist = installed_distributions(find_target_environment(str(env)))["gamma"]
    direct = json.loads((dist.dist_info / "direct_url.json").read_text())
    assert direct["url"] == url
    digest = _sha256(wheels / "gamma-1.0-py3-none-any.whl")
    assert direct["archive_info"]["hashes"] == {"sha256": digest}


def test_unknown_extra_of_a_dependency_warns_like_uv(capsys, server) -> None:
    code, _, err = run(capsys, "install", "--dry-run", *index(server), "needs-x")
    assert code == 0, err
    assert "gamma 1.0 does not provide the extra 'x'" in err


def test_not_found_says_where_it_looked(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "install", "--dry-run", "--no-index", "gamma")
    assert code == exitcodes.FAILURE
    assert "no distributions of gamma found anywhere (--no-index and no --find-links)" in err
    code, _, err = run(capsys, "install", "--dry-run", "--no-index", "-f", str(tmp_path), "gamma")
    assert f"no distributions of gamma found in {tmp_path.as_uri()}" in err


def test_quiet_install_and_uninstall_print_nothing(capsys, tmp_path, server) -> None:
    env = make_venv(tmp_path / "env")
    assert run(capsys, "install", "-q", "--python", str(env), *index(server), "gamma") == (
        0,
        "",
        "",
    )
    assert run(capsys, "uninstall", "-q", "-y", "--python", str(env), "gamma") == (0, "", "")


def test_requirements_file_expands_environment_variables(capsys, tmp_path, server, monkeypatch):
    monkeypatch.setenv("QA_INDEX", server.url + "simple/")
    monkeypatch.setenv("BETA_PIN", "1.0")
    (tmp_path / "req.txt").write_text("--index-url ${QA_INDEX}\nbeta==${BETA_PIN}\n")
    code, out, err = run(capsys, "install", "--dry-run", "-r", "req.txt")
    assert code == 0, err
    assert "beta 1.0" in out
