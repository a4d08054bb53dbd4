"""The no-op install: everything already satisfied is answered from the environment alone.

Real wheels on a real static index served on 127.0.0.1, installed into a real venv; the server
counts requests. Where the fast path answers, no request reaches the server and the output says
"Requirement already satisfied"; where something is not satisfied (version, marker, extras,
variant pin, constraint) the normal resolution runs and asks the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.targets import use_target_venv
from helpers.cli import isolate_cli, modules_after
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from varwheel import api
from varwheel.cli.main import main
from varwheel.index.static import write_static_index
from varwheel.resolve import satisfied
from varwheel.resolve.satisfied import requires_dist

PROVIDERS = {"x86_64": {"requires": ["x86-64-variant-provider"]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    wheels = tmp_path_factory.mktemp("wheels")
    build_wheel(
        wheels,
        "app",
        "1.0",
        requires_dist=[
            "lib>=1.0",
            'helper; python_version < "3"',  # false on every target: never needed
            'extra-dep>=1; extra == "fast"',
        ],
    )
    build_wheel(wheels, "lib", "1.0")
    build_wheel(wheels, "lib", "2.0")
    build_wheel(wheels, "extra-dep", "1.0")
    build_wheel(wheels, "helper", "1.0")
    build_wheel(wheels, "tool", "1.0", requires_dist=['helper; python_version >= "3"'])
    build_wheel(wheels, "suite", "1.0", requires_dist=['Lib>=1; extra == "X"'])
    for level in ("v1", "v2"):
        doc = variant_json(f"x86_64_{level}", [f"x86_64 :: level :: {level}"], providers=PROVIDERS)
        build_wheel(wheels, "vpkg", "1.0", variant=doc)
    site = tmp_path_factory.mktemp("site")
    write_static_index(sorted(wheels.glob("*.whl")), site, generate_variants_json=True)
    with serve_directory(site) as srv:
        yield srv


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("target") / "venv")


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "x86.toml"
    path.write_text('[profile]\ncreated-by = "tests"\n[properties.x86_64]\nlevel = ["v2", "v1"]\n')
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv: Path) -> None:
    isolate_cli(tmp_path, monkeypatch)
    use_target_venv(monkeypatch, venv)


@pytest.fixture(scope="module")
def installed(server: LocalServer, venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """app 1.0, lib 1.0, suite 1.0, tool 1.0 without its dependency, vpkg as x86_64_v1."""
    mp = pytest.MonkeyPatch()
    try:
        isolate_cli(tmp_path_factory.mktemp("setup"), mp)
        use_target_venv(mp, venv)
        assert main(["install", "-q", *_index(server), "app", "lib==1.0", "suite"]) == 0
        assert main(["install", "-q", *_index(server), "--no-deps", "tool"]) == 0
        profile = tmp_path_factory.mktemp("p") / "x86.toml"
        profile.write_text('[profile]\n[properties.x86_64]\nlevel = ["v2", "v1"]\n')
        pin = ["--profile", str(profile), "--variant", "vpkg=x86_64_v1"]
        assert main(["install", "-q", *_index(server), *pin, "vpkg"]) == 0
    finally:
        mp.undo()
    return venv


def _index(server: LocalServer) -> list[str]:
    return ["--index-url", server.url + "simple/"]


def _run(capsys: pytest.CaptureFixture[str], server: LocalServer, *argv: str) -> tuple[str, int]:
    """Run ``install ARGV`` against the server: (stdout, requests it made)."""
    before = server.stats.count()
    code = main(["install", *_index(server), *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, server.stats.count() - before


def test_satisfied_install_makes_no_request(capsys, server, installed) -> None:
    out, requests = _run(capsys, server, "app")
    assert requests == 0
    assert "Requirement already satisfied: app 1.0 (already installed)" in out
    assert "Requirement already satisfied: lib 1.0 (already installed)" in out
    assert "helper" not in out  # its marker is false
    # specifiers, a false root marker, a --variant pin the installed label meets
    out, requests = _run(
        capsys,
        server,
        "--variant",
        "vpkg=x86_64_v1",
        "app>=1,<2",
        "lib~=1.0",
        'nothing-such; python_version < "3"',
        "vpkg",
    )
    assert requests == 0
    assert "Ignoring nothing-such" in out
    assert "Requirement already satisfied: vpkg 1.0 (already installed)" in out


@pytest.mark.parametrize(
    ("argv", "would"),
    [
        (["lib>=2"], "lib 2.0"),  # version
        (["tool"], "helper 1.0"),  # a dependency whose marker holds is missing
        (["app[fast]"], "extra-dep 1.0"),  # extras
        (["-U", "lib"], "lib 2.0"),  # --upgrade always asks the index
    ],
)
def test_unsatisfied_requirement_resolves(capsys, server, installed, argv, would) -> None:
    out, requests = _run(capsys, server, "--dry-run", *argv)
    assert requests > 0
    assert "Would install" in out and would in out


def test_differing_variant_pin_resolves(capsys, server, installed, profile) -> None:
    out, requests = _run(
        capsys,
        server,
        "--dry-run",
        "--profile",
        str(profile),
        "--variant",
        "vpkg=x86_64_v2",
        "vpkg",
    )
    assert requests > 0
    assert "vpkg 1.0 (variant x86_64_v2" in out and "replacing 1.0 [x86_64_v1]" in out


def test_constraint_the_installed_version_breaks_resolves(
    capsys, server, installed, tmp_path
) -> None:
    constraints = tmp_path / "c.txt"
    constraints.write_text("lib>=2\n")
    out, requests = _run(capsys, server, "--dry-run", "-c", str(constraints), "app")
    assert requests > 0
    assert "lib 2.0" in out


@pytest.mark.parametrize(
    "reqs",
    [["app"], ["app", "lib"], ["suite[x]"], ["suite[x]", "suite", "lib[nope]"], ["vpkg"]],
)
def test_fast_path_equals_the_resolver(server, installed, monkeypatch, reqs) -> None:
    """The kept plan is the one the resolver returns (candidates, extras, requested flags), and
    so is its pip report."""
    settings = api.Settings.load(api.Flags(index_url=server.url + "simple/"))
    env = api.find_environment(settings)
    target = api.target_for(settings, env)
    with api.plan_install(reqs, settings, target, environment=env) as fast:
        assert fast.to_install == []
        before = server.stats.count()
        fast_report = fast.report()
        assert server.stats.count() == before
    monkeypatch.setattr(satisfied, "already_satisfied", lambda *a, **k: None)
    with api.plan_install(reqs, settings, target, environment=env) as slow:
        assert slow.resolution == fast.resolution
        assert slow.report() == fast_report
        assert dict(slow.installed) == dict(fast.installed)


RESOLVING = {
    "resolvelib",
    "varwheel.resolve.resolver",
    "varwheel.resolve.finder",
    "varwheel.index.client",
    "varwheel.index.http",
}
PROVIDERS_MODULES = {"varwheel.providers.detect", "varwheel.providers.native"}


def test_no_op_process_builds_no_resolver_client_or_providers(server, installed) -> None:
    before = server.stats.count()
    modules, done = modules_after("install", *_index(server), "app", "vpkg")
    assert done.returncode == 0, done.stderr
    assert server.stats.count() == before
    assert "Requirement already satisfied: app 1.0 (already installed)" in done.stdout
    assert not (RESOLVING | PROVIDERS_MODULES) & modules


def test_plain_install_runs_no_provider(server, installed, profile) -> None:
    """Providers are imported (and run) only for a version with variant wheels."""
    modules, done = modules_after("install", "--dry-run", *_index(server), "lib>=2")
    assert done.returncode == 0, done.stderr
    assert "lib 2.0" in done.stdout
    assert "varwheel.resolve.resolver" in modules  # it did resolve
    assert not PROVIDERS_MODULES & modules
    modules, done = modules_after(
        "install", "--dry-run", *_index(server), "--profile", str(profile), "-U", "vpkg"
    )
    assert done.returncode == 0, done.stderr
    assert "vpkg 1.0 (variant x86_64_v2" in done.stdout
    assert modules >= PROVIDERS_MODULES


def test_requires_dist_reader(tmp_path) -> None:
    info = tmp_path / "x-1.0.dist-info"
    info.mkdir()
    assert requires_dist(info) == []  # no METADATA: the resolver's view is "none" too
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: x\nVersion: 1.0\nDescription: one\n  folded\n"
        "Requires-Dist: a>=1\nrequires-dist: b; extra == 'y'\n\nBody: not a header\n"
    )
    assert requires_dist(info) == ["a>=1", "b; extra == 'y'"]
    (info / "METADATA").write_text("Name: x\nRequires-Dist: a\n  >=1\n")
    assert requires_dist(info) is None  # folded Requires-Dist: the full parser decides
    (info / "METADATA").write_bytes(b"Name: x\nRequires-Dist: \xff\n")
    assert requires_dist(info) is None
