"""External-command providers, with a real bash script speaking docs/provider-protocol.md."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest
from packaging.markers import default_environment

from varwheel.errors import ProviderError
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.providers.external import ExternalFailure, minimal_env, query_external
from varwheel.spec.model import ProviderInfo, VariantMetadata

SCRIPT = Path(__file__).parent / "plugins" / "external_provider.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _cmd(mode: str) -> tuple[str, ...]:
    return ("bash", str(SCRIPT), mode)


def test_answers_both_queries() -> None:
    all_configs = query_external("tpu", _cmd("ok"), "get_all_configs", timeout=10)
    supported = query_external("tpu", _cmd("ok"), "get_supported_configs", timeout=10)
    assert all_configs == [{"name": "chip", "values": ["a1", "a2", "a3"], "multi_value": False}]
    assert supported == [{"name": "chip", "values": ["a2", "a1"], "multi_value": False}]


def test_isolated_cwd_and_minimal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("LANG", "C.UTF-8")
    (env_cfg, cwd_cfg) = query_external("tpu", _cmd("env"), "get_supported_configs", timeout=10)
    names = set(env_cfg["values"])
    assert "secret_token" not in names
    assert {"path", "tmpdir", "lang"} <= names
    assert names <= {n.lower() for n in (*minimal_env("/x"), "PWD", "SHLVL", "_", "OLDPWD")}
    here = hashlib.md5(f"{os.getcwd()}\n".encode()).hexdigest()[:8]
    assert cwd_cfg["values"] != [here]  # ran in its own temp dir, not ours


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fail", "exited with code 4: no accelerator driver"),
        ("badjson", "response is not JSON"),
        ("wrongns", "answered for namespace 'other', expected 'tpu'"),
    ],
)
def test_protocol_failures(mode: str, message: str) -> None:
    with pytest.raises(ExternalFailure, match=message):
        query_external("tpu", _cmd(mode), "get_supported_configs", timeout=10)


def test_hang_is_killed() -> None:
    start = time.perf_counter()
    with pytest.raises(ExternalFailure, match=r"timed out after 0\.5 s \(killed\)"):
        query_external("tpu", _cmd("hang"), "get_all_configs", timeout=0.5)
    assert time.perf_counter() - start < 3


def test_missing_executable() -> None:
    with pytest.raises(ExternalFailure, match="cannot run '/nonexistent/provider'"):
        query_external("tpu", ("/nonexistent/provider",), "get_all_configs", timeout=5)


MD = VariantMetadata(
    namespace_priorities=("tpu",),
    providers={"tpu": ProviderInfo("tpu", requires=("tpu-variant-provider>=1",))},
)


def test_configured_command_serves_an_untrusted_namespace() -> None:
    warnings: list[str] = []
    options = ProviderOptions(external={"tpu": _cmd("ok")}, cache=False, on_warning=warnings.append)
    support = ProviderSession(options).detect(MD, target_env=default_environment())
    assert support.properties == {"tpu": {"chip": ("a2", "a1")}}
    assert warnings == []


def test_failure_is_one_warning_or_strict_error() -> None:
    warnings: list[str] = []
    options = ProviderOptions(
        external={"tpu": _cmd("fail")}, cache=False, on_warning=warnings.append
    )
    session = ProviderSession(options)
    for _ in range(2):
        support = session.detect(MD, target_env=default_environment())
        assert support.unavailable["tpu"] == "exited with code 4: no accelerator driver"
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"external provider 'bash {SCRIPT} fail' failed: exited with code 4"
    )
    strict = ProviderSession(
        ProviderOptions(external={"tpu": _cmd("fail")}, strict=True, cache=False)
    )
    with pytest.raises(ProviderError, match="no accelerator driver"):
        strict.detect(MD, target_env=default_environment())


def test_exchange_files_live_in_a_private_directory() -> None:
    (config,) = query_external("tpu", _cmd("private"), "get_supported_configs", timeout=10)
    assert config["values"] == ["700"]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("huge", r"response is larger than 16777216 bytes"),
        ("zero", r"response path is a symlink, not a regular file"),  # a link to /dev/zero
    ],
)
def test_a_huge_response_is_refused_unread(mode: str, message: str) -> None:
    with pytest.raises(ExternalFailure, match=message):
        query_external("tpu", _cmd(mode), "get_supported_configs", timeout=20)
