"""PEP 825: variant metadata with an unsupported ``$schema`` major MUST NOT be used; the installer
SHOULD degrade gracefully. One release's unreadable metadata falls back to its non-variant wheel
with a warning (it stopped the install); ``inspect`` still errors on the same file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv
from helpers.wheels import build_wheel, variant_json
from varwheel.cli import exitcodes
from varwheel.cli.main import main
from varwheel.spec.filenames import variants_json_filename

FUTURE = "https://variants-schema.wheelnext.dev/peps/825/v1.0.0.json"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)


def _doc(schema: str | None = None) -> dict[str, object]:
    doc = variant_json(
        "x86_64_v1",
        ["x86_64 :: level :: v1"],
        providers={"x86_64": {"requires": ["x86-64-variant-provider"]}},
        namespace_priorities=["x86_64"],
    )
    if schema is not None:
        doc["$schema"] = schema
    return doc


def _links(tmp_path: Path, *, index_json: bool) -> Path:
    links = tmp_path / "fl"
    build_wheel(links, "tinypkg", "1.0", files={"tinypkg/__init__.py": "KIND = 'plain'\n"})
    # the variant wheel's own variant.json uses the future schema too (the wheel route)
    build_wheel(
        links,
        "tinypkg",
        "1.0",
        variant=_doc(FUTURE),
        files={"tinypkg/__init__.py": "KIND = 'variant'\n"},
    )
    if index_json:
        (links / variants_json_filename("tinypkg", "1.0")).write_text(json.dumps(_doc(FUTURE)))
    return links


@pytest.mark.parametrize("index_json", [True, False], ids=["variants.json", "wheel variant.json"])
def test_unsupported_schema_major_degrades_to_the_non_variant_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], index_json: bool
) -> None:
    links = _links(tmp_path, index_json=index_json)
    venv = make_venv(tmp_path / "venv")
    argv = ["install", "--dry-run", "--python", str(venv), "--no-index", "-f", str(links)]
    assert main([*argv, "tinypkg"]) == exitcodes.OK
    captured = capsys.readouterr()
    err = captured.err
    assert "tinypkg 1.0 (non-variant: tinypkg-1.0-py3-none-any.whl)" in captured.out
    warnings = [line for line in err.splitlines() if "ignoring its variant wheels" in line]
    assert len(warnings) == 1, err
    assert warnings[0].startswith("varwheel: warning: tinypkg 1.0: tinypkg-1.0-")
    assert "schema major version 1 is not supported" in warnings[0]
    assert "Traceback" not in err


def test_inspect_still_errors_on_the_unsupported_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links = _links(tmp_path, index_json=True)
    target = links / variants_json_filename("tinypkg", "1.0")
    assert main(["inspect", str(target)]) == exitcodes.INVALID_INPUT
    assert "schema major version 1 is not supported" in capsys.readouterr().err
