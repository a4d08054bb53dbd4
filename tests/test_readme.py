"""The README's "Using varwheel from Python" example runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.wheels import build_wheel, variant_json

README = Path(__file__).resolve().parents[1] / "README.md"


def python_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using varwheel from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, "the section has two Python examples: install side, producer side"
    return blocks


def run_example(index: int) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(python_examples()[index], str(README), "exec"), {"__name__": "readme"})
    return out.getvalue()


@pytest.fixture
def readme_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory the examples name (``wheels``, in the current directory) and the profile
    of the machine the first one plans for."""
    isolate_cli(tmp_path, monkeypatch)
    wheels = tmp_path / "wheels"
    shape = {"providers": {"x86_64": {"requires": ["x86-64-provider"]}}}
    for level in ("v1", "v2", "v3", "v4"):
        doc = variant_json(f"x8664{level}", [f"x86_64 :: level :: {level}"], **shape)
        build_wheel(wheels, "fastsum", "1.0", variant=doc)
    null = variant_json("null", [], namespace_priorities=["x86_64"], **shape)
    build_wheel(wheels, "fastsum", "1.0", variant=null)
    build_wheel(wheels, "fastsum", "1.0")
    (tmp_path / "machine.toml").write_text(
        '[profile]\ncreated-by = "tests"\n\n[properties.x86_64]\nlevel = ["v3", "v2", "v1"]\n'
    )
    return wheels


def test_readme_api_example_prints_the_chosen_label_and_why(readme_wheels: Path) -> None:
    assert run_example(0) == "x8664v3 - x86_64 :: level :: v3 ranks before v2\n"


def test_readme_producer_example_lints_the_directory(readme_wheels: Path) -> None:
    assert run_example(1) == "warning unknown-provider\nwarning no-variants-json\n"


def command_table() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## What it does", 1)[1].split("\n## ", 1)[0]


def test_the_command_table_lists_every_command_and_only_those() -> None:
    """Each command ``varwheel --help`` lists has a row (``varwheel NAME`` in the command
    column, or ``NAME`` after another command of its row), and every ``varwheel NAME`` there
    is a command."""
    from varwheel.cli.main import COMMANDS, build_parser

    rows = [line.split(" | ")[0] for line in command_table().splitlines() if line.startswith("| `")]
    cells = " ".join(rows)
    named = set(re.findall(r"`varwheel ([a-z-]+)", cells))
    named |= {cmd for cmd in COMMANDS if f"`{cmd}" in cells}
    assert named == set(COMMANDS)
    help_text = build_parser(None, summaries=True).format_help()
    assert all(re.search(rf"^    {re.escape(cmd)}\b", help_text, re.M) for cmd in COMMANDS)
