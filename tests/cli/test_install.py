"""``varwheel install``: real wheels on real 127.0.0.1 servers, real venvs."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cli.targets import use_target_venv, without_environment_line
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, free_port, serve_directory
from resolve.variant_project import write_profile, write_site
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.cli.selection_options import parse_variant_pins
from varwheel.errors import InvalidInput
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions
from varwheel.resolve.requirements_file import read_requirements_file


@pytest.fixture(scope="module")
def target_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("target") / "venv")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_venv: Path) -> None:
    isolate_cli(tmp_path, monkeypatch)
    use_target_venv(monkeypatch, target_venv)  # dry runs act on a target as real runs do


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("vdemo"))


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LocalServer]:
    with serve_directory(site) as srv:
        yield srv


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("profiles")
    return {
        "gpu": write_profile(d / "gpu.toml", cuda=["12.8", "12.0"]),
        "cpu": write_profile(d / "cpu.toml", cuda=None),
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, without_environment_line(err)


def dry_run_report(capsys: pytest.CaptureFixture[str], profile: Path, *argv: str) -> dict:
    """``install --dry-run --report - --profile PROFILE ARGV...``: it succeeds; its report."""
    code, out, err = run(
        capsys, "install", "--dry-run", "--report", "-", "--profile", str(profile), *argv
    )
    assert code == 0, err
    return json.loads(out)


def index_args(server: LocalServer) -> list[str]:
    return ["--index-url", server.url + "simple/"]


def test_report_has_variant_objects(capsys, server, profiles) -> None:
    code, out, err = run(
        capsys,
        "install",
        "--dry-run",
        "--report",
        "-",
        "--profile",
        str(profiles["gpu"]),
        *index_args(server),
        "vdemo",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["version"] == "1"
    assert report["pip_version"]
    items = {i["metadata"]["name"]: i for i in report["install"]}
    assert set(items) == {"vdemo", "vdemo-cuda-rt"}
    vdemo = items["vdemo"]
    assert vdemo["variant"] == {
        "label": "cu12",
        "properties": ["nvidia :: cuda_version_lower_bound :: 12.0"],
    }
    assert vdemo["requested"] is True and items["vdemo-cuda-rt"]["requested"] is False
    assert items["vdemo-cuda-rt"]["variant"] is None
    assert vdemo["download_info"]["url"].endswith("vdemo-1.0-py3-none-any-cu12.whl")
    sha = vdemo["download_info"]["archive_info"]["hashes"]["sha256"]
    assert len(sha) == 64
    assert vdemo["metadata"]["version"] == "1.0"
    assert any("variant_features" in r for r in vdemo["metadata"]["requires_dist"])
    assert report["environment"]["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert "Would install" in err  # the plan goes to stderr when the report takes stdout


def test_report_to_file_and_no_variants(capsys, tmp_path, server, profiles) -> None:
    dest = tmp_path / "report.json"
    code, out, _ = run(
        capsys,
        "install",
        "--dry-run",
        "--no-variants",
        "--report",
        str(dest),
        "--profile",
        str(profiles["gpu"]),
        *index_args(server),
        "vdemo",
    )
    assert code == 0
    items = {i["metadata"]["name"]: i for i in json.loads(dest.read_text())["install"]}
    assert set(items) == {"vdemo", "vdemo-cpu-rt", "vdemo-label-dep"}
    assert items["vdemo"]["variant"] is None
    assert "non-variant" in out


def test_variant_flag_forbid_prefer(capsys, server, profiles) -> None:
    def plan(profile: str, *argv: str) -> tuple[int, str, str]:
        return run(
            capsys,
            *("install", "--dry-run", "--no-deps", "--profile", str(profiles[profile])),
            *index_args(server),
            *argv,
        )

    def chosen(*argv: str) -> str:
        code, out, err = plan("gpu", *argv, "vdemo")
        assert code == 0, err
        return out

    assert "variant null" in chosen("--variant", "vdemo=null")
    out = chosen("-v")
    assert "variant cu12" in out and "chosen because: " in out
    assert "variant null" in chosen("--forbid", "nvidia :: cuda_version_lower_bound")
    assert "variant cu12" in chosen("--prefer", "nvidia :: cuda_version_lower_bound :: 12.0")
    # an unsupported variant is refused unless forced
    code, _, err = plan("cpu", "--variant", "vdemo=cu12", "vdemo==1.0")
    assert code == exitcodes.FAILURE
    assert "cu12" in err and err.count("\n") == 1
    code, out, _ = plan("cpu", "--variant", "vdemo=cu12", "--force-variant", "vdemo==1.0")
    assert code == 0 and "variant cu12" in out


def test_variant_only_package_fails_with_reasons(capsys, server, profiles) -> None:
    code, _, err = run(
        capsys,
        "install",
        "--dry-run",
        "--profile",
        str(profiles["cpu"]),
        *index_args(server),
        "vonly",
    )
    assert code == exitcodes.FAILURE
    assert err.count("\n") == 1
    assert "cu12: nvidia :: cuda_version_lower_bound needs one of 12.0" in err
    assert "varwheel explain vonly" in err


def test_usage_errors_exit_2(capsys, server) -> None:
    code, _, err = run(capsys, "install", "--platform", "manylinux_2_28_x86_64", "vdemo")
    assert code == exitcodes.INVALID_INPUT and "--dry-run" in err
    code, _, err = run(
        capsys, "install", "--dry-run", "--variant", "vdemo", *index_args(server), "vdemo"
    )
    assert code == exitcodes.INVALID_INPUT and "NAME=LABEL" in err
    code, _, err = run(capsys, "install", "--dry-run", *index_args(server), "vdemo>>1")
    assert code == exitcodes.INVALID_INPUT and "invalid requirement" in err


def test_requirements_file(capsys, tmp_path, server, profiles) -> None:
    (tmp_path / "base.txt").write_text("vdemo-cpu-rt  # a comment\n")
    (tmp_path / "req.txt").write_text("-r base.txt\n\nvdemo<1\n")
    code, out, _ = run(
        capsys,
        "install",
        "--dry-run",
        "-r",
        str(tmp_path / "req.txt"),
        "--profile",
        str(profiles["cpu"]),
        *index_args(server),
    )
    assert code == 0
    assert "vdemo 0.9" in out and "vdemo-cpu-rt 1.0" in out


@pytest.mark.slow
def test_install_into_venv_matches_explain(capsys, tmp_path, server, profiles) -> None:
    venv = make_venv(tmp_path / "venv")
    common = ["--python", str(venv), "--profile", str(profiles["gpu"]), *index_args(server)]
    env = find_target_environment(str(venv))
    # an installed older version satisfies a bare requirement; --upgrade replaces it
    code, out, err = run(capsys, "install", "--no-deps", *common, "vdemo<1")
    assert code == 0, err
    code, out, _ = run(capsys, "install", "--no-deps", *common, "vdemo")
    assert "already satisfied: vdemo 0.9" in out
    code, out, _ = run(capsys, "install", "-U", *common, "vdemo")
    assert code == 0 and installed_distributions(env)["vdemo"].version == "1.0"
    code, out, _ = run(capsys, "explain", "--json", *common, "vdemo")
    assert code == 0
    explained = json.loads(out)["packages"][0]["chosen"]
    code, out, err = run(capsys, "install", *common, "vdemo")
    assert code == 0, err
    dists = installed_distributions(env)
    assert set(dists) == {"vdemo", "vdemo-cuda-rt"}
    assert dists["vdemo"].variant_label == explained["label"] == "cu12"
    assert dists["vdemo"].requested and not dists["vdemo-cuda-rt"].requested
    # satisfied requirements are kept; --force-reinstall replaces; --upgrade keeps the newest
    code, out, _ = run(capsys, "install", *common, "vdemo")
    assert code == 0 and "already satisfied" in out
    code, out, _ = run(capsys, "install", "--force-reinstall", "--no-deps", *common, "vdemo")
    assert code == 0 and "Successfully installed vdemo-1.0" in out
    # --upgrade keeps what already is the best wheel...
    code, out, _ = run(capsys, "install", "-U", "--no-deps", *common, "vdemo")
    assert code == 0 and "already satisfied: vdemo 1.0" in out
    # a different target profile does not silently swap an installed variant (pip semantics)
    cpu = ["--python", str(venv), "--profile", str(profiles["cpu"]), *index_args(server)]
    code, out, _ = run(capsys, "install", *cpu, "vdemo")
    assert "already satisfied" in out
    # ...but replaces a variant the target no longer prefers
    code, out, _ = run(capsys, "install", "-U", "--dry-run", *cpu, "vdemo")
    assert code == 0 and "Would install" in out and "variant null" in out
    code, out, _ = run(capsys, "install", "--force-reinstall", *cpu, "vdemo")
    assert code == 0
    dists = installed_distributions(env)
    assert dists["vdemo"].variant_label == "null"
    assert "vdemo-cpu-rt" in dists
    # a wheel named by path is installed with a PEP 610 direct_url.json
    wheel = server.root / "files" / "vdemo-1.0-py3-none-any-cu12.whl"
    code, out, err = run(
        capsys,
        "install",
        "--force-reinstall",
        "--no-deps",
        "--python",
        str(venv),
        "--profile",
        str(profiles["gpu"]),
        str(wheel),
    )
    assert code == 0, err
    dist = installed_distributions(env)["vdemo"]
    assert dist.variant_label == "cu12"
    direct = json.loads((dist.dist_info / "direct_url.json").read_text())
    assert direct["url"] == wheel.resolve().as_uri()


def _start_pypiserver(packages: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pypiserver",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "--backend",
            "simple-dir",
            str(packages),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/simple/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("pypiserver did not start")


@pytest.mark.slow
def test_pypiserver_without_variants_json(capsys, tmp_path, site, profiles) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    for whl in (site / "files").glob("*.whl"):
        (packages / whl.name).write_bytes(whl.read_bytes())
    proc, url = _start_pypiserver(packages)
    try:
        code, out, err = run(
            capsys,
            "explain",
            "--json",
            "--profile",
            str(profiles["gpu"]),
            "--index-url",
            url,
            "vdemo",
        )
        assert code == 0, err
        pkg = json.loads(out)["packages"][0]
        assert pkg["chosen"]["label"] == "cu12"
        assert pkg["metadata_route"].startswith("per-wheel variant.json")
        report = dry_run_report(capsys, profiles["gpu"], "--index-url", url, "vdemo")
        items = {i["metadata"]["name"]: i["variant"] for i in report["install"]}
        assert items == {
            "vdemo": {
                "label": "cu12",
                "properties": ["nvidia :: cuda_version_lower_bound :: 12.0"],
            },
            "vdemo-cuda-rt": None,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@given(st.text(max_size=40))
def test_variant_pin_parser_accepts_or_refuses_cleanly(text: str) -> None:
    try:
        pins = parse_variant_pins([text])
    except InvalidInput as err:
        assert "\n" not in str(err)
    else:
        ((name, label),) = pins.items()
        assert name and label and text.count("=") >= 1


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
@example("-r0")  # an include that does not exist: reported at the line that names it
@example("-r .")  # a directory
def test_requirements_file_parser_never_crashes(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "req.txt"
        path.write_text(text, encoding="utf-8")
        try:
            reqs = read_requirements_file(path)
        except InvalidInput as err:
            assert str(err).startswith(str(path.resolve()))
        else:
            assert all(r.name for r in reqs)


def test_progress_bars_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from varwheel.cli.render import download_progress
    from varwheel.index.models import IndexFile, ProgressEvent

    file = IndexFile("demo-1.0-py3-none-any.whl", "http://127.0.0.1/demo.whl")
    plain = Console(file=io.StringIO(), force_terminal=False)
    with download_progress(plain, 1) as callback:
        assert callback is None
    buf = io.StringIO()
    tty = Console(file=buf, force_terminal=True, width=100)
    with download_progress(tty, 1) as callback:
        assert callback is not None
        callback(ProgressEvent(file, 512, 1024))
        callback(ProgressEvent(file, 1024, 1024, done=True))
    assert "demo-1.0-py3-none-any.whl" in buf.getvalue()


def test_local_variant_wheel_by_path(capsys, site, profiles) -> None:
    # PEP 817 §"Installing a local wheel": tags, then its own variant.json against the target
    wheel = site / "files" / "vdemo-1.0-py3-none-any-cu12.whl"
    report = dry_run_report(capsys, profiles["gpu"], "--no-index", "--no-deps", str(wheel))
    (item,) = report["install"]
    assert item["is_direct"] is True
    assert item["download_info"]["url"] == wheel.resolve().as_uri()
    assert item["variant"]["label"] == "cu12"
    code, _, err = run(
        capsys,
        "install",
        "--dry-run",
        "--no-index",
        "--no-deps",
        "--profile",
        str(profiles["cpu"]),
        str(wheel),
    )
    assert code == exitcodes.FAILURE
    assert "cu12: nvidia :: cuda_version_lower_bound needs one of 12.0" in err
    code, _, err = run(capsys, "install", "--dry-run", "--no-index", "missing-1.0-py3-none-any.whl")
    assert code == exitcodes.INVALID_INPUT and "no such wheel file" in err


@pytest.mark.slow
def test_report_matches_pip_for_plain_wheels(capsys, tmp_path) -> None:
    """Differential: pip's own --report on the same plain wheels gives the same items (our
    ``variant`` key aside)."""
    from helpers.wheels import build_wheel

    links = tmp_path / "links"
    headers = [
        ("Classifier", "Programming Language :: Python :: 3"),
        ("Classifier", "License :: OSI Approved :: MIT License"),
        ("Keywords", "gpu,variants"),
        ("Project-URL", "Homepage, https://example.invalid/"),
        ("Provides-Extra", "fast"),
        ("Author-email", "A <a@example.invalid>"),
    ]
    build_wheel(
        links,
        "rich-meta",
        "2.0",
        requires_dist=["dep-a>=1", 'dep-b; extra == "fast"'],
        metadata_headers=headers,
        requires_python=">=3.8",
    )
    build_wheel(links, "dep-a", "1.5")
    build_wheel(links, "dep-b", "1.0")
    pip_report = tmp_path / "pip.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--no-index",
            "--find-links",
            str(links),
            "--ignore-installed",
            "--report",
            str(pip_report),
            "rich-meta[fast]",
        ],
        check=True,
        capture_output=True,
        env={
            "PIP_CONFIG_FILE": "/dev/null",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PATH": "/usr/bin:/bin",
        },
    )
    code, out, err = run(
        capsys,
        "install",
        "--dry-run",
        "--no-index",
        "--find-links",
        str(links),
        "--report",
        "-",
        "rich-meta[fast]",
    )
    assert code == 0, err
    ours = json.loads(out)
    theirs = json.loads(pip_report.read_text())
    assert ours["version"] == theirs["version"] == "1"
    by_name = lambda rep: {i["metadata"]["name"]: i for i in rep["install"]}  # noqa: E731
    mine, pips = by_name(ours), by_name(theirs)
    assert set(mine) == set(pips) == {"rich-meta", "dep-a", "dep-b"}
    for name, item in pips.items():
        assert mine[name]["metadata"] == item["metadata"], name
        assert mine[name]["requested"] == item["requested"], name
        assert mine[name]["is_direct"] == item["is_direct"], name
        assert mine[name]["download_info"]["url"] == item["download_info"]["url"], name
        assert (
            mine[name]["download_info"]["archive_info"]["hashes"]
            == item["download_info"]["archive_info"]["hashes"]
        )
        assert mine[name]["variant"] is None
    assert (
        mine["rich-meta"]["requested_extras"] == pips["rich-meta"]["requested_extras"] == ["fast"]
    )
    assert set(ours["environment"]) == set(theirs["environment"])


def test_settings_from_config_and_flags_override(capsys, tmp_path, server, profiles) -> None:
    (tmp_path / "config.toml").write_text(
        f'index-url = "{server.url}simple/"\nprofile = "{profiles["gpu"]}"\nforbid = ["nvidia"]\n'
    )
    code, out, err = run(capsys, "install", "--dry-run", "--no-deps", "vdemo")
    assert code == 0, err
    assert "variant null" in out  # config: forbid nvidia
    code, out, _ = run(capsys, "install", "--dry-run", "--no-deps", "--forbid", "other", "vdemo")
    assert "variant cu12" in out  # a flag replaces the config's list
    # the project's [tool.varwheel] applies over the user config
    (tmp_path / "pyproject.toml").write_text("[tool.varwheel]\nno-variants = true\n")
    code, out, _ = run(capsys, "install", "--dry-run", "--no-deps", "--forbid", "other", "vdemo")
    assert code == 0 and "non-variant" in out


def test_extra_index_url(capsys, tmp_path, site, profiles) -> None:
    from varwheel.index.static import write_static_index

    files = sorted((site / "files").iterdir())
    main_files = [
        f for f in files if f.name.split("-")[0] == "vdemo" and not f.name.endswith(".metadata")
    ]
    dep_files = [f for f in files if f.name.startswith("vdemo_cuda_rt") and f.suffix == ".whl"]
    first = write_static_index(main_files, tmp_path / "first")
    second = write_static_index(dep_files, tmp_path / "second")
    with serve_directory(first) as a, serve_directory(second) as b:
        report = dry_run_report(
            capsys,
            profiles["gpu"],
            *("--index-url", a.url + "simple/", "--extra-index-url", b.url + "simple/", "vdemo"),
        )
    urls = {i["metadata"]["name"]: i["download_info"]["url"] for i in report["install"]}
    assert urls["vdemo"].startswith(a.url) and urls["vdemo-cuda-rt"].startswith(b.url)


@pytest.mark.slow
def test_x86_level_choice_matches_uv(capsys, tmp_path) -> None:
    """Differential against uv 0.13.9 (vendored x86-64 provider) on this machine's CPU: both
    install the same x86_64 level variant."""
    import shutil

    from helpers.wheels import build_wheel, variant_json
    from resolve.variant_project import write_variants_json

    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.fail("uv (a test dependency) is not installed next to this interpreter")
    links = tmp_path / "fl"
    prov = {"x86_64": {"requires": ["x86-64-variant-provider"]}}
    wheels = [build_wheel(links, "tinypkg", "1.0.0")]
    for k in range(1, 5):
        doc = variant_json(
            f"x86_64_v{k}",
            [f"x86_64 :: level :: v{k}"],
            providers=prov,
            namespace_priorities=["x86_64"],
        )
        wheels.append(build_wheel(links, "tinypkg", "1.0.0", variant=doc))
    write_variants_json(wheels, links)
    labels = {}
    for tool in ("uv", "varwheel"):
        venv = make_venv(tmp_path / tool)
        if tool == "uv":
            subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(venv / "bin" / "python"),
                    "--preview-features",
                    "wheel-variants",
                    "--no-index",
                    "--find-links",
                    str(links),
                    "--no-cache",
                    "tinypkg",
                ],
                check=True,
                capture_output=True,
                env={"UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin"},
            )
        else:
            code, _, err = run(
                capsys, "install", "--python", str(venv), "--no-index", "-f", str(links), "tinypkg"
            )
            assert code == 0, err
        dist = installed_distributions(find_target_environment(str(venv)))["tinypkg"]
        labels[tool] = dist.variant_label
    assert labels["varwheel"] == labels["uv"]
    if platform.machine() in ("x86_64", "AMD64"):
        assert labels["varwheel"] is not None and labels["varwheel"].startswith("x86_64_v")


@pytest.mark.slow
def test_sdist_only_project_is_built_and_installed(capsys, tmp_path, site) -> None:
    from resolve.variant_project import build_sdist

    links = tmp_path / "links"
    build_sdist(links, "sdpkg", "1.0", dependencies=["vdemo-cpu-rt"])
    venv = make_venv(tmp_path / "venv")
    args = ["--python", str(venv), "--no-index", "-f", str(links), "-f", str(site / "files")]
    code, out, err = run(capsys, "install", "--no-build", *args, "sdpkg")
    assert code == exitcodes.FAILURE and "building from source is disabled" in err
    code, out, err = run(capsys, "install", "--no-build-isolation", *args, "sdpkg")
    assert code == 0, err
    assert "built from sdpkg-1.0.tar.gz" in out
    dists = installed_distributions(find_target_environment(str(venv)))
    assert set(dists) == {"sdpkg", "vdemo-cpu-rt"}
    assert dists["sdpkg"].variant_label is None


def test_index_strategy_and_index_warnings(capsys, tmp_path, profiles) -> None:
    """``first-index`` (default) takes ``dupe`` from the first index listing it even though a
    later one has a newer version; ``unsafe-best-match`` merges both. A failing extra index is
    fatal under ``first-index`` before a hit, and one warning line under ``unsafe-best-match``."""
    from helpers.wheels import build_wheel
    from varwheel.index.static import write_static_index

    first = write_static_index([build_wheel(tmp_path / "a", "dupe", "1.0")], tmp_path / "ia")
    second = write_static_index([build_wheel(tmp_path / "b", "dupe", "2.0")], tmp_path / "ib")
    with (
        serve_directory(first) as a,
        serve_directory(second) as b,
        serve_directory(second) as broken,
    ):
        broken.fail("/simple/dupe/", 403, times=10)
        base = ["install", "--dry-run", "--no-deps", "--profile", str(profiles["cpu"])]
        indexes = ["--index-url", a.url + "simple/", "--extra-index-url", b.url + "simple/"]
        code, out, err = run(capsys, *base, *indexes, "dupe")
        assert code == 0, err
        assert "dupe 1.0" in out and "2.0" not in out

        best = ["--index-strategy", "unsafe-best-match"]
        code, out, err = run(capsys, *base, *indexes, *best, "dupe")
        assert code == 0, err
        assert "dupe 2.0" in out and "warning" not in err

        failing = ["--extra-index-url", broken.url + "simple/"]
        code, out, err = run(capsys, *base, *indexes, *failing, *best, "dupe")
        assert code == 0, err
        warnings = [line for line in err.splitlines() if line.startswith("varwheel: warning:")]
        assert len(warnings) == 1 and broken.url in warnings[0] and "403" in warnings[0]
        assert "dupe 2.0" in out

        broken.fail("/simple/dupe/", 403, times=10)
        code, out, err = run(capsys, "explain", "--json", *indexes, *failing, *best, "dupe")
        assert code == 0, err
        assert json.loads(out)["packages"][0]["version"] == "2.0", (out, err)
        assert err.count("varwheel: warning:") == 1 and broken.url in err

        broken.fail("/simple/dupe/", 403, times=10)
        code, _, err = run(capsys, *base, "--index-url", broken.url + "simple/", "dupe")
        assert code == exitcodes.NETWORK_FAILURE, err
        assert broken.url in err

    with pytest.raises(SystemExit):
        main(["install", "--help"])
    assert "--index-strategy {first-index,unsafe-best-match}" in capsys.readouterr().out
