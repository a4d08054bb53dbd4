"""``varwheel detect``: table, JSON, profile output, namespaces, provider flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from varwheel.cli.main import main
from varwheel.providers.profile import load_profile

PLUGINS = Path(__file__).resolve().parents[1] / "providers" / "plugins"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("VARWHEEL_CONFIG", str(config))
    monkeypatch.setenv("VARWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    monkeypatch.delenv("AMD_VARIANT_PROVIDER_FORCE_GFX_ARCH", raising=False)
    monkeypatch.delenv("AMD_VARIANT_PROVIDER_FORCE_ROCM_VERSION", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["detect", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)["namespaces"]


def test_json_reports_every_native_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys)
    assert {"x86_64", "aarch64", "nvidia", "amd", "intel", "ascend"} <= set(doc)
    assert doc["nvidia"]["supported"]["sm_arch"][0] == "90_real"
    assert doc["nvidia"]["source"] == "native provider 'nvidia' 0.0.2"
    assert doc["nvidia"]["cached"] is False
    if doc["amd"]["supported"] == {}:
        assert doc["amd"]["reason"].startswith("no AMD GPU found")
    again = _json(capsys)  # second run: from the on-disk cache
    assert again["nvidia"]["cached"] is True
    assert again["nvidia"]["supported"] == doc["nvidia"]["supported"]
    assert _json(capsys, "--no-cache")["nvidia"]["cached"] is False


def test_table_says_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("varwheel.providers.native._nvml.query_nvml", lambda *a, **k: None)
    assert main(["detect", "--namespace", "nvidia", "--namespace", "nope", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "no NVIDIA GPU found (" in out
    assert "NV_VARIANT_PROVIDER_FORCE_* variables can describe one" in out
    assert "unavailable: no provider for namespace 'nope'" in out


def test_output_writes_a_profile_that_round_trips(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = isolated / "out" / "box.toml"
    target.parent.mkdir()
    assert (
        main(["detect", "-o", str(target), "--namespace", "nvidia", "--namespace", "x86_64"]) == 0
    )
    assert f"profile written to {target}" in capsys.readouterr().out
    profile = load_profile(target)
    assert set(profile.properties) <= {"nvidia", "x86_64"}
    assert profile.properties["nvidia"]["sm_arch"][0] == "90_real"
    assert target.read_text().startswith('[profile]\ncreated-by = "varwheel ')
    assert sorted(p.name for p in target.parent.iterdir()) == ["box.toml"]
    # detect --profile shows the profile, and runs nothing
    doc = _json(capsys, "--profile", str(target))
    assert doc["nvidia"]["supported"] == {
        k: list(v) for k, v in profile.properties["nvidia"].items()
    }
    assert doc["nvidia"]["source"] == f"profile {target}"


def test_external_provider_flag(capsys: pytest.CaptureFixture[str]) -> None:
    script = PLUGINS / "external_provider.sh"
    doc = _json(capsys, "--namespace", "tpu", "--external-provider", f"tpu=bash {script} ok")
    assert doc["tpu"]["supported"] == {"chip": ["a2", "a1"]}


def test_bad_input_exit_codes(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--namespace", "Bad-NS"]) == 2
    assert "invalid namespace 'Bad-NS'" in capsys.readouterr().err
    bad = isolated / "bad.toml"
    bad.write_text("[nope]\n")
    assert main(["detect", "--profile", str(bad)]) == 2
    assert f"{bad}: unknown top-level key 'nope'" in capsys.readouterr().err
    assert main(["detect", "--trust-provider", "x>=1"]) == 2
    capsys.readouterr()
    for target in (isolated, isolated / "file.txt" / "sub.toml"):  # a directory; under a file
        (isolated / "file.txt").write_text("")
        assert main(["detect", "--output", str(target)]) == 2
        err = capsys.readouterr().err
        assert f"--output {target}: cannot write the profile: " in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_whole_process(isolated: Path) -> None:
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "varwheel", "detect", "--json", "--namespace", "x86_64"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "x86_64" in json.loads(result.stdout)["namespaces"]


def test_a_profile_of_another_machine_is_that_machine_and_another_cpu_is_said(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``detect --output`` on a machine, then ``--profile`` elsewhere: its Python side and
    platform choose the wheels (explain), and a real install here is refused; ``--platform``
    of another CPU without a profile says which providers cannot describe it, once."""
    import platform

    import tomli_w
    from tests.helpers.envs import make_venv, snapshot_tree
    from tests.helpers.wheels import build_wheel

    from varwheel.safeparse import toml_loads

    other = "x86_64" if platform.machine().lower() in ("aarch64", "arm64") else "aarch64"
    links = isolated / "links"
    build_wheel(links, "armonly", "1.0", tags=f"cp312-cp312-manylinux_2_28_{other}")
    assert main(["detect", "-o", str(isolated / "here.toml"), "--namespace", "x86_64"]) == 0
    doc = toml_loads((isolated / "here.toml").read_bytes())
    assert {"python-version", "implementation", "abis", "platform-tags", "markers"} <= set(
        doc["profile"]
    )
    doc["profile"].update(
        {"python-version": "3.12", "abis": ["cp312"], "platform-tags": [f"manylinux_2_28_{other}"]}
    )
    doc["profile"]["markers"].update({"platform_machine": other, "python_version": "3.12"})
    (isolated / "there.toml").write_text(tomli_w.dumps(doc))
    capsys.readouterr()
    find = ["--no-index", "-f", str(links)]
    assert main(["explain", "armonly", *find, "--json"]) == 1  # not for this machine
    capsys.readouterr()
    assert main(["explain", "armonly", *find, "--json", "--profile", "there.toml"]) == 0
    chosen = json.loads(capsys.readouterr().out)["packages"][0]
    assert chosen["chosen"]["filename"] == f"armonly-1.0-cp312-cp312-manylinux_2_28_{other}.whl"
    venv = make_venv(isolated / "venv")
    before = snapshot_tree(venv)
    argv = ["install", "armonly", *find, "--python", str(venv), "--profile", "there.toml"]
    assert main(argv) == 2
    assert "there.toml: describes another machine" in capsys.readouterr().err
    assert snapshot_tree(venv) == before
    build_wheel(links, "anywhere", "1.0")
    assert main(["explain", "anywhere", *find, "--platform", f"manylinux_2_28_{other}"]) == 0
    err = capsys.readouterr().err
    assert err.count("cannot describe it") == 1 and f"the target's CPU is {other}" in err
