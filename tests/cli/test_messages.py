"""Messages that tell the truth, once (issue 11, "Messages"): index warnings name the page and
are grouped per page, a cause shared by several rejected variants is said once, a provider's
reason is not repeated on every wheel it rejects. Real index pages served over 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.test_explain import FORCE_PREFIXES, TARGET
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from helpers.wheels import build_wheel
from varwheel.cli.main import main
from varwheel.index.client import IndexClient


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)


@pytest.fixture(scope="module")
def real_index(real_index_dir: Path) -> Iterator[LocalServer]:
    with serve_directory(real_index_dir) as srv:
        yield srv


def test_navigation_links_of_the_real_index_are_not_warnings(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    """Each project page of the real index links ``../`` and the project's home page: two
    warnings per page that named the index root, not the page."""
    argv = ["explain", "--index-url", real_index.url, *TARGET, "torch==2.9.0", "numpy"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "warning" not in err, err


def test_page_warnings_name_the_page_and_are_counted_past_three(tmp_path: Path) -> None:
    page = tmp_path / "simple" / "demo"
    page.mkdir(parents=True)
    wheel = build_wheel(page, "demo", "1.0")
    bad = "".join(f'<a href="..%2Fevil{i}-1.0.tar.gz">x</a>\n' for i in range(7))
    (page / "index.html").write_text(f'<a href="{wheel.name}">w</a>\n<a href="../">up</a>\n{bad}')
    with (
        serve_directory(tmp_path, json_negotiation=False) as server,
        IndexClient([server.url + "simple/"]) as client,
    ):
        files = client.project_files("demo")
        warnings = client.warnings
    assert [f.filename for f in files] == [wheel.name]
    page_url = server.url + "simple/demo/"
    assert len(warnings) == 4, warnings
    assert all(w.startswith(f"{page_url}: ") for w in warnings)
    assert warnings[3] == f"{page_url}: … and 4 more links ignored on this page"


def test_a_cause_shared_by_rejected_variants_is_said_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    real_index: LocalServer,
) -> None:
    """nvidia-cudnn's cu12 and cu13 wheels rejected for the same reason: one mention of it."""
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "11.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "--dry-run", "--python", str(venv), "--index-url", real_index.url]
    assert main([*argv, "nvidia-cudnn"]) == 1
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "error" in x]
    assert line.count("target has 11.8") == 1, line
    assert "cu12: nvidia :: cuda_version_lower_bound needs one of 12.0; " in line
    assert (
        "cu13: nvidia :: cuda_version_lower_bound needs one of 13.0; for both: target has" in line
    )


def test_explain_states_a_provider_reason_once(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    """torch 2.9.0's rocm6.3 and rocm6.4 wheels are rejected because the AMD provider found no
    GPU: that reason is printed under "target supports", not again on each wheel."""
    assert main(["explain", "--index-url", real_index.url, *TARGET, "torch==2.9.0"]) == 0
    out = capsys.readouterr().out
    (amd,) = [line for line in out.splitlines() if line.startswith("    amd: ")]
    reason = amd.split("(", 1)[1].rsplit(")", 1)[0]
    assert len(reason) > 40
    assert out.count(reason) == 1, out
    rocm = [line for line in out.splitlines() if "-rocm6." in line]
    assert len(rocm) == 2 and all(line.endswith("(amd: see above)") for line in rocm)
