"""Downloaded wheels must declare what chose them (PEP 825: the wheels are the source of truth;
PEP 658: ``.metadata`` equals the wheel's METADATA), checked before anything is installed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from resolve.variant_project import NVIDIA_PROVIDER, write_profile
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.errors import DownloadMismatch
from varwheel.index.static import write_static_index
from varwheel.install.environment import find_target_environment
from varwheel.install.installed import installed_distributions
from varwheel.install.unpacked import PreparedWheel, UnpackedCache
from varwheel.install.verify import verify_download, verify_prepared
from varwheel.install.wheelcheck import check_wheel
from varwheel.resolve.candidates import Candidate
from varwheel.resolve.metadata import parse_core_metadata, read_wheel_metadata
from varwheel.spec.filenames import parse_wheel_filename
from varwheel.spec.metadata import dump_json, load_variant_json
from varwheel.spec.properties import VariantProperty

CUDA = "nvidia :: cuda_version_lower_bound"


def doc(label: str, value: str | None) -> dict[str, object]:
    props = [f"{CUDA} :: {value}"] if value else []
    return variant_json(label, props, providers=NVIDIA_PROVIDER, namespace_priorities=["nvidia"])


def candidate(path: Path, props: list[str]) -> Candidate:
    wf = parse_wheel_filename(path.name)
    return Candidate(
        canonicalize_name(wf.project),
        Version(str(wf.version)),
        None,
        wf,
        wf.label,
        tuple(VariantProperty.parse(p) for p in props),
    )


def _validated(path: Path, *args: Any) -> tuple[str, ...]:
    """What ``execute`` does: the members the one validation read."""
    return verify_prepared(PreparedWheel(check_wheel(path)), *args)


def _cached(path: Path, *args: Any) -> tuple[str, ...]:
    """A wheel already in the unpacked cache: not opened; its members read from the entry."""
    cache = UnpackedCache(path.parent / "unpacked")
    cache.prepare(path)
    wheel = PreparedWheel(*cache.prepare(path))
    assert wheel.unpacked is not None and wheel.checked.dist_info_files is None
    return verify_prepared(wheel, *args)


@pytest.fixture(
    params=[verify_download, _validated, _cached], ids=["archive", "validated", "cached"]
)
def verify(request: pytest.FixtureRequest) -> Callable[..., tuple[str, ...]]:
    return request.param  # type: ignore[no-any-return]


def test_matching_wheel_passes_and_mismatches_are_refused(
    tmp_path: Path, verify: Callable[..., tuple[str, ...]]
) -> None:
    path = build_wheel(tmp_path, "vm", "1.0", variant=doc("cu12", "12.8"), requires_dist=["a"])
    md = load_variant_json(json.dumps(doc("cu12", "12.8")))
    used = parse_core_metadata(read_wheel_metadata(path), source="t")
    assert verify(path, candidate(path, [f"{CUDA} :: 12.8"]), md, used) == ()

    with pytest.raises(DownloadMismatch, match=r"vm-1.0-py3-none-any-cu12.whl: .*12\.8.*12\.0"):
        verify(path, candidate(path, [f"{CUDA} :: 12.0"]), md, used)

    other = dict(used)
    other["requires_dist"] = ["a", "b"]
    with pytest.raises(DownloadMismatch, match="Requires-Dist differs"):
        verify(path, candidate(path, [f"{CUDA} :: 12.8"]), md, other)  # type: ignore[arg-type]
    other = dict(used, version="2.0")
    with pytest.raises(DownloadMismatch, match=r"METADATA says vm 1\.0"):
        verify(path, candidate(path, [f"{CUDA} :: 12.8"]), md, other)  # type: ignore[arg-type]


def test_non_variant_name_with_variant_json(
    tmp_path: Path, verify: Callable[..., tuple[str, ...]]
) -> None:
    gpu = build_wheel(
        tmp_path / "g",
        "vm",
        "1.0",
        extra_dist_info={"variant.json": json.dumps(doc("cu12", "12.8"))},
    )
    assert parse_wheel_filename(gpu.name).label is None
    with pytest.raises(DownloadMismatch, match=r"no variant label.*'cu12'"):
        verify(gpu, candidate(gpu, []), None, None)

    null = build_wheel(
        tmp_path / "n", "vm", "1.0", extra_dist_info={"variant.json": json.dumps(doc("null", None))}
    )
    (warning,) = verify(null, candidate(null, []), None, None)
    assert null.name in warning and "non-variant" in warning

    plain = build_wheel(tmp_path / "p", "vm", "1.0")
    assert verify(plain, candidate(plain, []), None, None) == ()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """``stale 1.0``: the index ``*-variants.json`` says cu12 = cuda 12.0, the wheel says 12.8;
    ``sneaky 1.0``: a CUDA build under a non-variant name; ``badmeta 1.0``: its PEP 658
    ``.metadata`` file was altered after the page published its hash."""
    root = tmp_path_factory.mktemp("verify")
    wheels = [
        build_wheel(root / "w", "stale", "1.0", variant=doc("cu12", "12.8")),
        build_wheel(root / "w", "stale", "1.0"),
        build_wheel(
            root / "w",
            "sneaky",
            "1.0",
            extra_dist_info={"variant.json": json.dumps(doc("cu12", "12.8"))},
        ),
        build_wheel(root / "w", "badmeta", "1.0", requires_dist=["stale"]),
    ]
    index_file = root / "w" / "stale-1.0-variants.json"
    index_file.write_bytes(dump_json(load_variant_json(json.dumps(doc("cu12", "12.0")))))
    site = write_static_index([*wheels, index_file], root / "site")
    # badmeta's .metadata loses its dependency after the page published its hash
    meta = site / "files" / "badmeta-1.0-py3-none-any.whl.metadata"
    meta.write_bytes(meta.read_bytes().replace(b"Requires-Dist: stale\n", b""))
    with serve_directory(site) as srv:
        yield srv


@pytest.fixture(scope="module")
def gpu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("p") / "gpu.toml", cuda=["12.8", "12.0"])


def install(server: LocalServer, profile: Path, venv: Path, *reqs: str) -> int:
    index = ["--index-url", server.url + "simple/", "--profile", str(profile)]
    return main(["install", "--python", str(venv), *index, *reqs])


@pytest.mark.slow
def test_install_refuses_wheel_disagreeing_with_index_file(
    capsys, tmp_path: Path, server: LocalServer, gpu: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    assert install(server, gpu, venv, "stale") == exitcodes.FAILURE
    err = capsys.readouterr().err
    assert "stale-1.0-py3-none-any-cu12.whl" in err and "source of truth" in err
    assert install(server, gpu, venv, "sneaky") == exitcodes.FAILURE
    err = capsys.readouterr().err
    assert "sneaky-1.0-py3-none-any.whl: the filename has no variant label" in err
    assert installed_distributions(find_target_environment(str(venv))) == {}


def test_altered_core_metadata_file_is_refused(
    capsys, tmp_path: Path, server: LocalServer, gpu: Path
) -> None:
    """PEP 658/714: the ``.metadata`` file is fetched through the hash-checked path."""
    index = ["--index-url", server.url + "simple/", "--profile", str(gpu)]
    venv = make_venv(tmp_path / "venv")  # a dry run needs a target, as the real run
    code = main(["install", "--dry-run", "--python", str(venv), *index, "badmeta"])
    err = capsys.readouterr().err
    assert code == exitcodes.NETWORK_FAILURE, err
    assert "badmeta-1.0-py3-none-any.whl.metadata" in err and "sha256" in err
