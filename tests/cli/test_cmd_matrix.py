"""``varwheel matrix``: table, JSON, GitHub Actions matrix (schema-checked), cibuildwheel lines,
``--coverage``, and bad input (one line, exit 2)."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from helpers.cli import isolate_cli
from varwheel.cli.main import main

DEMO = Path(__file__).resolve().parents[1] / "build" / "data" / "demo" / "pyproject.toml"

# The shape GitHub Actions takes through `strategy: matrix: ${{ fromJSON(...) }}`: an object
# whose `include` lists at most 256 jobs; ours are flat strings so each drops into run:/env:.
GITHUB_MATRIX_SCHEMA = {
    "type": "object",
    "required": ["include"],
    "additionalProperties": False,
    "properties": {
        "include": {
            "type": "array",
            "minItems": 1,
            "maxItems": 256,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "name", "kind", "label", "properties", "variant_args", "command",
                    "config_settings", "environment",
                ],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[0-9a-z._-]+$"},
                    "kind": {"enum": ["variant", "null", "non-variant"]},
                    "label": {"type": "string", "pattern": r"^([0-9a-z._]{1,16})?$"},
                    "properties": {"type": "string"},
                    "variant_args": {"type": "string"},
                    "command": {"type": "string", "pattern": r"^(env [^ ]+=[^ ]* )*varwheel build "},
                    "config_settings": {"type": "string"},
                    "environment": {"type": "string"},
                },
            },
        }
    },
}  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["entry", "properties", "settings"]
    assert any(line.startswith("x8664v4 ") and "-march=x86-64-v4" in line for line in lines)
    assert "-Csetup-args=-Dsimd=avx512" in out
    assert any(line.startswith("non-variant ") for line in lines)


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO.parent), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["project"] == str(DEMO)
    assert [e["name"] for e in doc["entries"]] == [
        "x8664v2", "x8664v3", "x8664v4", "cu128", "f88e092c", "null", "non-variant",
    ]  # fmt: skip
    v4 = doc["entries"][2]
    assert v4["properties"] == ["x86_64 :: level :: v4"]
    assert v4["config_settings"] == {"setup-args": ["-Dsimd=avx512", "-Dfast=true"]}
    assert v4["env"]["CFLAGS"] == "-march=x86-64-v4" and v4["env"]["DEMO_OPT"] == "3"
    assert doc["entries"][-1]["label"] is None


def test_github_matrix_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO), "--format", "github", "-o", "wheelhouse")
    assert code == 0
    assert out.count("\n") == 1  # one line: `echo "matrix=$(...)" >> $GITHUB_OUTPUT`
    doc = json.loads(out)
    jsonschema.validate(doc, GITHUB_MATRIX_SCHEMA)
    jobs = {job["name"]: job for job in doc["include"]}
    assert len(jobs) == 7
    cu = jobs["cu128"]
    assert shlex.split(cu["variant_args"]) == [
        "-p", "nvidia :: cuda_version_lower_bound :: 12.8",
        "-p", "nvidia :: sm_arch :: 100_real",
        "-p", "nvidia :: sm_arch :: 90_real",
        "--label", "cu128",
    ]  # fmt: skip
    project = str(DEMO.parent)  # varwheel build takes the source directory
    assert shlex.split(cu["command"]) == [
        "env", "DEMO_OPT=1", "varwheel", "build", project, *shlex.split(cu["variant_args"]),
        "-o", "wheelhouse",
    ]  # fmt: skip
    v4 = shlex.split(jobs["x8664v4"]["command"])
    assert v4[:2] == ["env", "DEMO_OPT=3"]
    assert v4[-6:] == ["-C", "setup-args=-Dsimd=avx512", "-C", "setup-args=-Dfast=true",
                       "-o", "wheelhouse"]  # fmt: skip
    assert jobs["null"]["variant_args"] == "--null-variant"
    assert jobs["non-variant"]["variant_args"] == "" and jobs["non-variant"]["label"] == ""
    assert shlex.split(jobs["x8664v4"]["config_settings"]) == [
        "setup-args=-Dsimd=avx512",
        "setup-args=-Dfast=true",
    ]


def test_github_commands_parse_as_varwheel_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """Each job's command is a valid ``varwheel build`` line and its variant_args are valid
    ``make-variant`` arguments (the relabel step after cibuildwheel)."""
    from varwheel.cli.main import build_parser

    code, out, _ = run(capsys, "matrix", str(DEMO), "--format", "github")
    assert code == 0
    for job in json.loads(out)["include"]:
        argv = shlex.split(job["command"])
        argv = argv[argv.index("varwheel") + 1 :]
        args = build_parser("build").parse_args(argv)
        assert args.label == (job["label"] if job["kind"] == "variant" else None)
        assert args.null_variant == (job["kind"] == "null")
        assert args.properties == [p for p in job["properties"].split("; ") if p]
        relabel = ["make-variant", "x.whl", *shlex.split(job["variant_args"]), "-o", "dist"]
        if job["kind"] != "non-variant":
            made = build_parser("make-variant").parse_args(relabel)
            assert made.null_variant == (job["kind"] == "null")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cibuildwheel_environment_is_bash_that_appends(capsys: pytest.CaptureFixture[str]) -> None:
    """CIBW_ENVIRONMENT is bash assignment syntax; flag variables keep the runner's own value."""
    code, out, _ = run(
        capsys, "matrix", str(DEMO), "--format", "cibuildwheel", "--entry", "x8664v4"
    )
    assert code == 0
    lines = dict(line.split("=", 1) for line in out.splitlines())
    assert set(lines) == {"CIBW_CONFIG_SETTINGS", "CIBW_ENVIRONMENT"}
    assert lines["CIBW_CONFIG_SETTINGS"] == "setup-args=-Dsimd=avx512 setup-args=-Dfast=true"
    script = f'{lines["CIBW_ENVIRONMENT"]}; printf "%s|%s|%s" "$CFLAGS" "$CXXFLAGS" "$DEMO_OPT"'
    result = subprocess.run(
        ["bash", "-c", script],
        env={"CFLAGS": "-O2", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "-O2 -march=x86-64-v4| -march=x86-64-v4|3"


def test_cibuildwheel_all_entries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO), "--format", "cibuildwheel")
    assert code == 0
    headers = [line for line in out.splitlines() if line.startswith("# ")]
    assert headers[0] == "# x8664v2: x86_64 :: level :: v2"
    assert headers[-2:] == ["# null: null", "# non-variant: non-variant"]
    assert out.count("CIBW_ENVIRONMENT=") == 7


def _write(tmp_path: Path, build: str) -> Path:
    head = DEMO.read_text().split("[tool.varwheel.build]")[0]
    (tmp_path / "proj").mkdir(exist_ok=True)
    path = tmp_path / "proj" / "pyproject.toml"
    path.write_text(head + "[tool.varwheel.build]\n" + build)
    return path


def test_more_than_256_jobs_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["avx2", "avx", "bmi2", "bmi1", "abm", "f16c", "fma", "movbe", "xsave", "sse4_2",
             "sse4_1", "ssse3", "sse3", "cx16", "lahf_lm", "popcnt", "sse2", "sse", "mmx",
             "aes", "adx", "gfni", "rdseed", "rdrand", "pclmulqdq", "fsgsbase"]  # fmt: skip
    blocks = [
        f'[[tool.varwheel.build.variants]]\nproperties = ["x86_64 :: {a} :: on", '
        f'"x86_64 :: {b} :: on"]\n'
        for a, b in itertools.islice(itertools.combinations(flags, 2), 256)
    ]
    path = _write(tmp_path, "".join(blocks))  # 256 variants + the plain wheel
    code, out, err = run(capsys, "matrix", str(path), "--format", "github")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "257 builds exceed GitHub Actions' limit of 256 jobs per matrix" in err
    code, out, _ = run(capsys, "matrix", str(path), "--format", "github", "--entry", "non-variant")
    assert code == 0 and len(json.loads(out)["include"]) == 1


def test_coverage_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO), "--coverage")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert rows["x86-64-v3-haswell"].split()[1] == "x8664v3"
    assert "null (fallback)" in rows["aarch64-graviton2"]
    assert "variant x8664v4 is selected by no machine (always outranked)" in out
    code, out, _ = run(capsys, "matrix", str(DEMO), "--coverage", "nvidia-*", "--json")
    doc = json.loads(out)
    assert [m["name"] for m in doc["machines"]][:2] == ["nvidia-t4", "nvidia-a100"]
    h100 = next(m for m in doc["machines"] if m["name"] == "nvidia-h100")
    assert (h100["outcome"], h100["label"]) == ("variant", "cu128")
    assert h100["compatible"] == ["cu128", "x8664v3", "x8664v2"]
    assert doc["unselected"] == ["x8664v2", "x8664v4"]  # among the GPU machines only


BAD = [
    (["matrix", "nowhere"], "nowhere: no such file (expected a project directory or its"),
    (["matrix", str(DEMO), "--entry", "x8664v9"], "no entry 'x8664v9' in the build matrix"),
    (["matrix", str(DEMO), "--coverage", "graviton9"], "--coverage graviton9: no such profile"),
    (["matrix", str(DEMO), "--json"], "--json goes with --coverage"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("varwheel: error: ") and err.count("\n") == 1
    assert message in err


def test_invalid_declaration_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, '[[tool.varwheel.build.variants]]\nlabel = "Bad"\n'
                  'properties = ["x86_64 :: level :: v3"]\n')  # fmt: skip
    code, out, err = run(capsys, "matrix", str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"varwheel: error: {path}: tool.varwheel.build.variants[0].label: invalid variant label "
        "'Bad': must match ^[0-9a-z_.]+$\n"
    )


def test_documented_workflow_relabel_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/build-matrix.md's workflow without the CI machinery: per job a plain wheel (what
    cibuildwheel leaves in wheelhouse/), relabelled with ``make-variant <variant_args>``, the
    job artifacts merged with ``index merge``, and the release passes ``varwheel check``."""
    from helpers.wheels import build_wheel

    path = _write(
        tmp_path,
        'null-variant = true\n[[tool.varwheel.build.variants]]\nlabel = "x8664v3"\n'
        'properties = ["x86_64 :: level :: v3"]\n[[tool.varwheel.build.variants]]\n'
        'properties = ["x86_64 :: level :: v4"]\n',
    )
    code, out, _ = run(capsys, "matrix", str(path), "--format", "github")
    assert code == 0
    artifacts = []
    for job in json.loads(out)["include"]:
        wheelhouse = tmp_path / "jobs" / job["name"] / "wheelhouse"
        plain = build_wheel(wheelhouse, "demo-ext", "1.0", tags="cp311-cp311-linux_x86_64")
        dist = tmp_path / "jobs" / job["name"] / "dist"
        if job["kind"] == "non-variant":
            dist.mkdir()
            shutil.copy(plain, dist)
        else:
            argv = ["make-variant", str(plain), *shlex.split(job["variant_args"]), "-o", str(dist)]
            assert main([*argv, "--pyproject", str(path)]) == 0
        artifacts.append(str(dist))
    capsys.readouterr()
    merged = tmp_path / "release"
    assert main(["index", "merge", *artifacts, "-o", str(merged)]) == 0
    names = sorted(p.name for p in merged.iterdir())
    assert names == [
        "demo_ext-1.0-cp311-cp311-linux_x86_64-cfdbe307.whl",  # the hash label of v4
        "demo_ext-1.0-cp311-cp311-linux_x86_64-null.whl",
        "demo_ext-1.0-cp311-cp311-linux_x86_64-x8664v3.whl",
        "demo_ext-1.0-cp311-cp311-linux_x86_64.whl",
        "demo_ext-1.0-variants.json",
    ]
    capsys.readouterr()
    code, out, _ = run(capsys, "check", str(merged))
    assert (code, out) == (0, "0 error(s), 0 warning(s)\n")


def test_documented_workflow_uses_existing_keys_and_commands() -> None:
    """The workflow in docs/build-matrix.md only reads matrix keys the github format writes,
    and only runs varwheel commands that exist."""
    from varwheel.cli.main import COMMANDS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "build-matrix.md").read_text()
    workflow = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert 'varwheel matrix --format github)" >> "$GITHUB_OUTPUT"' in workflow
    assert "fromJSON(needs.plan.outputs.matrix)" in workflow
    used = set(re.findall(r"(?<![\w.])matrix\.([a-z_]+)", workflow))
    keys = set(GITHUB_MATRIX_SCHEMA["properties"]["include"]["items"]["properties"])  # type: ignore[index]
    assert used and used <= keys
    commands = set(re.findall(r"varwheel ([a-z-]+)", workflow))
    assert commands <= set(COMMANDS)
    assert {"matrix", "check", "make-variant", "index", "publish"} <= commands


def test_coverage_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "matrix", str(DEMO), "--coverage", "x86-64-v[12]-*", "--markdown")
    assert code == 0
    assert out.splitlines() == [
        "| machine | gets | also compatible / why not a variant |",
        "|---|---|---|",
        "| `x86-64-v1-core2` | null (fallback) | x8664v2: x86_64 :: level needs one of v2; "
        "target has no supported values |",
        "| `x86-64-v2-sandybridge` | x8664v2 |  |",
        "",
        "Variant `x8664v3` is selected by no machine (compatible with none).",
        "",
        "Variant `x8664v4` is selected by no machine (compatible with none).",
        "",
        "Variant `cu128` is selected by no machine (compatible with none).",
        "",
        "Variant `f88e092c` is selected by no machine (compatible with none).",
    ]
