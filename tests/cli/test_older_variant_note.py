"""A note when the newest version has no variant wheels but an older one has a variant for this
target (issue 11, "Messages"): ``install torch`` with CUDA 12.8 picks torch 2.9.1 (published
without variants) and must say that 2.9.0 has a cuda12.8 build and how to get it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.test_explain import FORCE_PREFIXES, TARGET
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main

TORCH_NOTE = (
    "torch 2.9.1 has no variant wheels; torch 2.9.0 has a variant for this target (cuda12.8): "
    "to get it, ask for torch==2.9.0"
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)


@pytest.fixture(scope="module")
def real_index(real_index_dir: Path) -> Iterator[LocalServer]:
    with serve_directory(real_index_dir) as srv:
        yield srv


def test_explain_torch_with_cuda_12_8_names_the_older_cuda_build(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, real_index: LocalServer
) -> None:
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    assert main(["explain", "--index-url", real_index.url, *TARGET, "torch"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("torch 2.9.1\n")
    assert f"  note: {TORCH_NOTE}\n" in out
    # asked for 2.9.1 exactly: no older version is in reach, nothing to say
    assert main(["explain", "--index-url", real_index.url, *TARGET, "torch==2.9.1"]) == 0
    assert "has a variant for this target" not in capsys.readouterr().out


def test_no_note_when_the_older_variants_do_not_fit(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    # no GPU described: 2.9.0's only fitting variant is the null (CPU) one, no better than 2.9.1
    assert main(["explain", "--index-url", real_index.url, *TARGET, "torch"]) == 0
    assert "has a variant for this target" not in capsys.readouterr().out


def test_install_says_which_older_version_has_a_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links = tmp_path / "links"
    doc = variant_json(
        "x86_64_v1",
        ["x86_64 :: level :: v1"],
        providers={"x86_64": {"requires": ["provider-variant-x86-64"]}},
        namespace_priorities=["x86_64"],
    )
    build_wheel(links, "tinypkg", "1.0")
    build_wheel(links, "tinypkg", "1.0", variant=doc)
    build_wheel(links, "tinypkg", "2.0")  # the newest: no variant wheels
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "--dry-run", "--python", str(venv), "--no-index", "-f", str(links)]
    assert main([*argv, "tinypkg"]) == 0
    captured = capsys.readouterr()
    assert "tinypkg 2.0 (non-variant" in captured.out
    assert (
        "varwheel: warning: tinypkg 2.0 has no variant wheels; tinypkg 1.0 has a variant for "
        "this target (x86_64_v1): to get it, ask for tinypkg==1.0"
    ) in captured.err
    assert main([*argv, "tinypkg==1.0"]) == 0
    assert "tinypkg 1.0 (variant x86_64_v1" in capsys.readouterr().out
