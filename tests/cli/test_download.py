"""``varwheel download REQ... -d DIR`` (issue 11): the files a target (this machine, or a
profile plus tags) would get, hash-checked, each moved in whole; nothing is installed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.targets import without_environment_line
from helpers.cli import isolate_cli
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel
from resolve.variant_project import write_profile, write_site
from varwheel.cli import exitcodes
from varwheel.cli.main import main


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("vdemo"))


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LocalServer]:
    with serve_directory(site) as srv:
        yield srv


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, without_environment_line(err)


def test_profiles_get_their_variant(capsys, tmp_path, server) -> None:
    gpu = write_profile(tmp_path / "gpu.toml", cuda=["12.8", "12.0"])
    cpu = write_profile(tmp_path / "cpu.toml", cuda=None)
    index = ["--index-url", server.url + "simple/"]
    code, out, err = run(capsys, "download", *index, "--profile", str(gpu), "-d", "g", "vdemo")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "vdemo-1.0-py3-none-any-cu12.whl",
        "vdemo_cuda_rt-1.0-py3-none-any.whl",
    ]
    assert "[variant cu12]" in out
    code, out, err = run(
        capsys, "download", *index, "--profile", str(cpu), "-d", "c", "--json", "vdemo"
    )
    assert code == 0, err
    doc = json.loads(out)
    files = {f["name"]: f for f in doc["files"]}
    assert files["vdemo"]["variant_label"] == "null"
    assert set(files) == {"vdemo", "vdemo-cpu-rt"}
    for f in doc["files"]:  # the sha256 is the file's own
        assert hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest() == f["sha256"]
    # again: identical files are kept, nothing else appears (no staging directory left)
    code, out, _ = run(capsys, "download", *index, "--profile", str(cpu), "-d", "c", "vdemo")
    assert code == 0 and out.count("(already there)") == 2
    assert len(list((tmp_path / "c").iterdir())) == 2


def test_another_platform_and_python(capsys, tmp_path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "native", "1.0", tags="cp312-cp312-manylinux_2_28_x86_64")
    build_wheel(links, "native", "1.0", tags="cp312-cp312-manylinux_2_28_aarch64")
    build_wheel(links, "native", "1.0", tags="cp313-cp313-manylinux_2_28_aarch64")
    argv = ["download", "--no-index", "-f", str(links), "-d", "out", "native"]
    code, _, err = run(
        capsys, *argv, "--platform", "manylinux_2_28_aarch64", "--python-version", "3.12"
    )
    assert code == 0, err
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        "native-1.0-cp312-cp312-manylinux_2_28_aarch64.whl"
    ]


def test_hash_mismatch_leaves_the_directory_untouched(capsys, tmp_path) -> None:
    links = tmp_path / "links"
    a = build_wheel(links, "aaa", "1.0")
    build_wheel(links, "bbb", "1.0")
    good = hashlib.sha256(a.read_bytes()).hexdigest()
    req = tmp_path / "req.txt"
    req.write_text(f"aaa==1.0 --hash=sha256:{good}\nbbb==1.0 --hash=sha256:{'0' * 64}\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, _, err = run(
        capsys, "download", "--no-index", "-f", str(links), "-d", "out", "-r", str(req)
    )
    assert code == exitcodes.FAILURE and "is not one of the --hash values for bbb" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    code, _, err = run(
        capsys, "download", "--no-index", "-f", str(links), "-d", "out", "--require-hashes", "bbb"
    )
    assert code == exitcodes.INVALID_INPUT and "must be pinned with ==" in err


def test_sdist_only_project_is_downloaded_as_its_sdist(capsys, tmp_path) -> None:
    from resolve.variant_project import build_sdist

    links = tmp_path / "links"
    build_sdist(links, "srconly", "1.0", dependencies=[])
    code, out, err = run(
        capsys,
        "download",
        "--no-index",
        "--no-build-isolation",
        "-f",
        str(links),
        "-d",
        "out",
        "srconly",
    )
    assert code == 0, err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["srconly-1.0.tar.gz"]
    assert "[sdist]" in out
