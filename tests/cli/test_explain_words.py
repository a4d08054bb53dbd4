"""``varwheel explain`` in words a user understands (issue 11, "Messages"): each ranking step in
plain English, the rule and its PEP section only under ``--verbose``, ``--json`` values unchanged.
On the real PyTorch variant index served over 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.targets import use_target_venv
from cli.test_explain import FORCE_PREFIXES, TARGET
from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.http_server import LocalServer, serve_directory
from varwheel.cli.main import main
from varwheel.resolve.wording import plain_decision

JARGON = ("last candidate", "ranks before", "§", "PEP ")


@pytest.fixture(scope="module")
def target_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("target") / "venv")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_venv: Path) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=FORCE_PREFIXES)
    use_target_venv(monkeypatch, target_venv)
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")


@pytest.fixture(scope="module")
def real_index(real_index_dir: Path) -> Iterator[LocalServer]:
    with serve_directory(real_index_dir) as srv:
        yield srv


def _ranked_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^    \d+\. ", line)]


def test_each_ranking_step_is_plain_english(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    argv = ["explain", "--index-url", real_index.url, *TARGET, "torch==2.9.0"]
    assert main(argv) == 0
    ranked = _ranked_lines(capsys.readouterr().out)
    assert len(ranked) == 3, ranked
    for line in ranked:
        assert not any(word in line for word in JARGON), line
    assert ranked[0].endswith(
        "chosen: priority order 2 is preferred over 3 by the package's priority order "
        "(then its provider's)"
    )
    assert "cuda12.6 matches this machine, so it is preferred over the null variant" in ranked[1]
    assert ranked[2].endswith("the last of the compatible wheels: every wheel above is preferred")


def test_verbose_adds_the_rule_with_its_pep_section(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    argv = ["-v", "explain", "--index-url", real_index.url, *TARGET, "torch==2.9.0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "       rule: priority :: order :: 2 ranks before 3 (PEP 817 §6.4 variant ordering)\n"
    ) in out
    assert (
        "       rule: variant 'cuda12.6' before the null variant (PEP 825: null sorts last)" in out
    )


def test_the_only_compatible_wheel_says_so(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    assert main(["explain", "--index-url", real_index.url, *TARGET, "numpy==2.3.5"]) == 0
    (ranked,) = _ranked_lines(capsys.readouterr().out)
    assert ranked.endswith("[non-variant] chosen: the only compatible wheel left"), ranked


def test_json_keeps_decided_by_and_adds_why(
    capsys: pytest.CaptureFixture[str], real_index: LocalServer
) -> None:
    argv = ["explain", "--json", "--index-url", real_index.url, *TARGET, "torch==2.9.0"]
    assert main(argv) == 0
    (pkg,) = json.loads(capsys.readouterr().out)["packages"]
    ranked = [w for w in pkg["wheels"] if w["rank"] is not None]
    assert [w["decided_by"] for w in ranked] == [
        "priority :: order :: 2 ranks before 3",
        "variant 'cuda12.6' before the null variant (PEP 825: null sorts last)",
        "last candidate",
    ]
    assert pkg["chosen"]["decided_by"] == "priority :: order :: 2 ranks before 3"
    assert [w["why"] for w in ranked][2] == (
        "the last of the compatible wheels: every wheel above is preferred"
    )


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            "x86_64 :: level :: v4 ranks before v3",
            "x86_64 level v4 is preferred over v3 by the package's priority order (then its "
            "provider's)",
        ),
        (
            "namespace nvidia ranks before x86_64 (nvidia :: sm_arch :: 90_real vs x86_64 :: level "
            ":: v3)",
            "its nvidia sm_arch 90_real is preferred over the next wheel's x86_64 level v3: the "
            "package ranks namespace nvidia before x86_64",
        ),
        (
            "variant wheel before non-variant wheels (PEP 817 §6.4)",
            "a variant wheel that fits this machine is preferred over the non-variant wheel",
        ),
        (
            "platform tag cp312-cp312-manylinux_2_28_x86_64 preferred over cp312-abi3-linux_x86_64",
            "its platform tag cp312-cp312-manylinux_2_28_x86_64 fits this interpreter better than "
            "cp312-abi3-linux_x86_64",
        ),
        ("something new", "something new"),
    ],
)
def test_wording_of_each_rule(rule: str, words: str) -> None:
    assert plain_decision(rule, rank=1, compatible=2, chosen=True) == words
