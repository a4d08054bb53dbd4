"""``varwheel build``: real PEP 517 builds through pypa/build, post-tagged and native, and the
checks that keep a wrong wheel out of the output directory.

Most projects here use an in-tree backend (``backend-path``) that records what it was given
(environment, config settings) inside the wheel and can be told to misbehave like the backends
measured in build-publish.md (silently plain, wrong label, wrong properties, crash).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel as write_wheel
from varwheel.api.build import parse_config_settings
from varwheel.build.errors import BuildFailed, InvalidBuildRequest, InvalidWheel
from varwheel.build.frontend import build_wheel, load_project, plan_settings
from varwheel.build.make_variant import read_wheel_variant
from varwheel.cli.main import main
from varwheel.errors import InvalidInput
from varwheel.spec.properties import VariantProperty, default_label


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)  # no user config, private cache


P = VariantProperty.parse
V3 = (P("x86_64 :: level :: v3"),)

# A PEP 517 backend in ~40 lines: records CFLAGS and the config settings in the wheel, and when
# asked (config setting variant-label) writes variant.json as a variant-aware backend would.
BACKEND = """
import base64, hashlib, json, os, sys, tomllib, zipfile

def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    config = dict(config_settings or {})
    mode = tomllib.load(open("pyproject.toml", "rb"))["tool"]["fake"]["mode"]
    if mode == "slow":  # a long compile: says it started, then takes a minute
        open(os.environ["FAKE_STARTED"], "a").write("started")
        import time; time.sleep(60)
    if mode == "crash" or (mode == "crash-v4" and "x86-64-v4" in os.environ.get("CFLAGS", "")):
        print("compiling demo.c", flush=True)
        print("demo.c:1:1: error: unknown type name 'flaot'", file=sys.stderr)
        raise SystemExit(1)
    label = config.get("variant-label")
    if "null-variant" in config:
        label = "null"
    props = config.get("variant", [])
    props = [props] if isinstance(props, str) else props
    if mode == "plain":
        label = None
    elif mode == "wrong-label" and label:
        label = "x8664v4"
    elif mode == "wrong-props" and props:
        props = ["x86_64 :: level :: v2"]
    elif mode == "variant-anyway":
        label, props = "x8664v3", ["x86_64 :: level :: v3"]
    files = {
        "demo/__init__.py": b"",
        "demo/build.json": json.dumps({"CFLAGS": os.environ.get("CFLAGS", ""), "config": config}).encode(),
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: demo\\nVersion: 1.0\\n\\n",
        "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: fake\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    if label:
        tree = {}
        for p in props:
            ns, f, v = (x.strip() for x in p.split("::"))
            tree.setdefault(ns, {}).setdefault(f, []).append(v)
        files["demo-1.0.dist-info/variant.json"] = json.dumps({
            "$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json",
            "default-priorities": {"namespace": ["x86_64"]},
            "providers": {"x86_64": {"requires": ["x86-64-variant-provider"]}},
            "variants": {label: tree},
        }).encode()
    record = "".join(f"{n},{_digest(d)},{len(d)}\\n" for n, d in files.items())
    files["demo-1.0.dist-info/RECORD"] = (record + "demo-1.0.dist-info/RECORD,,\\n").encode()
    name = "demo-1.0-py3-none-any" + (f"-{label}" if label else "") + ".whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return name
"""


def fake_project(
    root: Path, mode: str = "honest", *, native: bool = False, matrix: str = ""
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fakebackend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [build-system]
        requires = []
        build-backend = "fakebackend"
        backend-path = ["."]

        [project]
        name = "demo"
        version = "1.0"

        [variant.default-priorities]
        namespace = ["x86_64"]

        [variant.providers.x86_64]
        requires = ["x86-64-variant-provider"]

        [tool.fake]
        mode = "{mode}"

        [tool.varwheel.build]
        native = {str(native).lower()}
        """)
        + matrix
    )
    return root


def recorded(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as zf:
        return json.loads(zf.read("demo/build.json"))


def test_plain_build_by_default(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    wheel = build_wheel(src, tmp_path / "dist", isolation=False)
    assert wheel.name == "demo-1.0-py3-none-any.whl"
    assert read_wheel_variant(wheel).variant_json is None
    assert recorded(wheel) == {"CFLAGS": "", "config": {}}


def test_post_tagged_variant_gets_the_provider_flags_and_variant_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLAGS", "-O2 -g")
    src = fake_project(tmp_path / "src")
    before = snapshot_tree(src)
    wheel = build_wheel(src, tmp_path / "dist", properties=V3, label="x8664v3", isolation=False)
    assert wheel.name == "demo-1.0-py3-none-any-x8664v3.whl"
    assert read_wheel_variant(wheel).properties == V3
    # the user's CFLAGS kept, the provider's -march appended (the last -march wins in GCC)
    assert recorded(wheel) == {"CFLAGS": "-O2 -g -march=x86-64-v3", "config": {}}
    assert snapshot_tree(src) == before  # built from a private copy


def test_project_settings_override_the_provider_ones(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    wheel = build_wheel(
        src,
        tmp_path / "dist",
        properties=V3,
        isolation=False,
        env={"CFLAGS": "-march=haswell"},
        config_settings={"opt": ("a", "b")},
    )
    assert recorded(wheel) == {"CFLAGS": "-march=haswell", "config": {"opt": ["a", "b"]}}


def test_native_build_passes_the_variant_settings_and_is_checked(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src", native=True)
    wheel = build_wheel(src, tmp_path / "dist", properties=V3, label="x8664v3", isolation=False)
    assert wheel.name.endswith("-x8664v3.whl")
    config = recorded(wheel)["config"]
    assert config == {"variant": ["x86_64 :: level :: v3"], "variant-label": "x8664v3"}
    null = build_wheel(src, tmp_path / "dist", null_variant=True, isolation=False)
    assert null.name.endswith("-null.whl")
    assert recorded(null)["config"] == {"null-variant": "true"}  # no variant-label beside it


@pytest.mark.parametrize(
    ("mode", "native", "match"),
    [
        ("plain", True, "built a plain wheel for variant 'x8664v3'"),
        ("wrong-label", True, "labelled 'x8664v4', but variant 'x8664v3' was requested"),
        ("wrong-props", True, "gives 'x8664v3' the properties \\[x86_64 :: level :: v2\\]"),
        ("variant-anyway", False, "built a variant wheel although no variant was requested"),
    ],
)
def test_a_wheel_that_lies_is_refused_and_nothing_is_written(
    tmp_path: Path, mode: str, native: bool, match: str
) -> None:
    src = fake_project(tmp_path / "src", mode, native=native)
    out = tmp_path / "dist"
    with pytest.raises(InvalidWheel, match=match):
        build_wheel(src, out, properties=V3, label="x8664v3", isolation=False)
    assert not out.exists() or not any(out.iterdir())


def test_backend_failure_names_its_last_line_and_writes_nothing(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src", "crash")
    out = tmp_path / "dist"
    with pytest.raises(BuildFailed) as err:
        build_wheel(src, out, properties=V3, isolation=False)
    assert str(err.value).startswith(f"{src}: the build backend fakebackend failed: ")
    assert "unknown type name 'flaot'" in str(err.value)
    assert "compiling demo.c" in err.value.log
    assert not out.exists()


def test_request_errors_before_any_build(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    with pytest.raises(InvalidBuildRequest, match="nothing to label"):
        build_wheel(src, tmp_path / "d", label="x", isolation=False)
    (src / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n')
    with pytest.raises(InvalidBuildRequest, match="no \\[variant\\] table"):
        build_wheel(src, tmp_path / "d", properties=V3, isolation=False)
    with pytest.raises(InvalidInput, match="not a Python project"):
        load_project(tmp_path)


def test_plan_settings_for_scikit_build_core(tmp_path: Path) -> None:
    src = fake_project(tmp_path / "src")
    text = (
        (src / "pyproject.toml").read_text().replace('"fakebackend"', '"scikit_build_core.build"')
    )
    (src / "pyproject.toml").write_text(text)
    from varwheel.build.request import resolve_request

    project = load_project(src)
    md = project.variant_metadata()
    req = resolve_request(md, V3, label="x8664v3")
    assert plan_settings(project, req).as_lines() == (
        "CFLAGS=-march=x86-64-v3",
        "CXXFLAGS=-march=x86-64-v3",
    )
    native = plan_settings(project, req, native=True)
    assert native.config_settings == {
        "variant": ("x86_64 :: level :: v3",),
        "variant-label": "x8664v3",
    }


def test_config_settings_parsing() -> None:
    assert parse_config_settings(["a=1", "b=x=y", "a=2", "c="]) == {
        "a": ("1", "2"),
        "b": "x=y",
        "c": "",
    }
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        parse_config_settings(["novalue"])


# ------------------------------------------------------------------ CLI


def test_cli_build_and_show_settings(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src")
    argv = ["build", str(src), "-p", "x86_64 :: level :: v4", "--label", "x8664v4"]
    assert main([*argv, "--show-settings"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "# x8664v4 (fakebackend)",
        "CFLAGS=-march=x86-64-v4",
        "CXXFLAGS=-march=x86-64-v4",
    ]
    assert main([*argv, "--no-isolation", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(tmp_path / "o" / "demo-1.0-py3-none-any-x8664v4.whl")


@pytest.mark.parametrize(
    ("mode", "args", "code", "message"),
    [
        ("honest", ["-p", "x86_64 :: level :: v9"], 2, "does not know value 'v9'"),
        ("honest", ["-p", "x86_64 :: level :: v3", "--label", "a" * 17], 2, "at most 16"),
        ("honest", ["-p", "nvidia :: sm_arch :: 90_real"], 2, "namespace 'nvidia' has no provider"),
        ("crash", ["-p", "x86_64 :: level :: v3"], 1, "unknown type name 'flaot'"),
        ("wrong-label", ["-p", "x86_64 :: level :: v3", "--label", "v3", "--native"], 2, "was requested"),
    ],
)  # fmt: skip
def test_cli_bad_input_one_line_exit_code_nothing_written(
    tmp_path: Path, capsys, mode: str, args: list[str], code: int, message: str
) -> None:
    src = fake_project(tmp_path / "src", mode)
    out = tmp_path / "o"
    assert main(["build", str(src), *args, "--no-isolation", "-o", str(out)]) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("varwheel: error: ")
    assert not out.exists()


MATRIX = """
null-variant = true

[[tool.varwheel.build.variants]]
label = "x8664v3"
properties = ["x86_64 :: level :: v3"]

[[tool.varwheel.build.variants]]
label = "x8664v4"
properties = ["x86_64 :: level :: v4"]
env = {LDFLAGS = "-Wl,-O1"}
"""


def test_cli_build_all_builds_the_declared_set(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src", matrix=MATRIX)
    out = tmp_path / "o"
    assert main(["build", str(src), "--all", "--no-isolation", "-j", "2", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    names = sorted(Path(line).name for line in captured.out.splitlines())
    assert names == [
        "demo-1.0-py3-none-any-null.whl",
        "demo-1.0-py3-none-any-x8664v3.whl",
        "demo-1.0-py3-none-any-x8664v4.whl",
        "demo-1.0-py3-none-any.whl",
    ]
    assert sorted(p.name for p in out.iterdir()) == names  # no staging directory left
    assert recorded(out / names[2])["CFLAGS"] == "-march=x86-64-v4"
    assert "[4/4] built" in captured.err  # one plain line per build off a terminal


def test_cli_build_all_is_all_or_nothing(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src", "crash-v4", matrix=MATRIX)
    out = tmp_path / "o"
    assert main(["build", str(src), "--all", "--no-isolation", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "varwheel: error: x8664v4: " in err and "unknown type name 'flaot'" in err
    assert "1 of 4 builds failed; nothing was written" in err
    assert not out.exists()


def test_cli_build_all_show_settings(tmp_path: Path, capsys) -> None:
    src = fake_project(tmp_path / "src", matrix=MATRIX)
    assert main(["build", str(src), "--all", "--show-settings", "-C", "x=1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "# x8664v3 (fakebackend)",
        "CFLAGS=-march=x86-64-v3",
        "CXXFLAGS=-march=x86-64-v3",
        "-Cx=1",
        "# x8664v4 (fakebackend)",
        "CFLAGS=-march=x86-64-v4",
        "CXXFLAGS=-march=x86-64-v4",
        "LDFLAGS=-Wl,-O1",
        "-Cx=1",
        "# null (fakebackend)",
        "-Cx=1",
        "# non-variant (fakebackend)",
        "-Cx=1",
    ]


def test_properties_alone_build_the_declared_label(tmp_path: Path, capsys) -> None:
    # the matrix declares level v4 as x8664v4: -p without --label used to give 'cfdbe307'
    src = fake_project(tmp_path / "src", matrix=MATRIX)
    out = tmp_path / "o"
    args = ["build", str(src), "-p", "x86_64 :: level :: v4", "--no-isolation", "-o", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert Path(captured.out.strip()).name == "demo-1.0-py3-none-any-x8664v4.whl"
    assert f"label 'x8664v4': declared for these properties in {src / 'pyproject.toml'}" in (
        captured.err
    )
    assert main([*args[:4], "--show-settings"]) == 0
    assert capsys.readouterr().out.startswith("# x8664v4 ")
    # undeclared properties keep the hash label; an explicit --label always wins
    assert main([*args[:2], "-p", "x86_64 :: level :: v2", *args[4:]]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(f"-{default_label([P('x86_64 :: level :: v2')])}.whl")
    )
    assert main([*args, "--label", "mine"]) == 0
    assert capsys.readouterr().out.strip().endswith("-mine.whl")
    assert build_wheel(src, tmp_path / "lib", properties=V3, isolation=False).name.endswith(
        "-x8664v3.whl"
    )


@pytest.mark.parametrize("all_", [True, False])
def test_ctrl_c_stops_the_backends_at_once_and_writes_nothing(tmp_path: Path, all_: bool) -> None:
    src = fake_project(tmp_path / "src", "slow", matrix=MATRIX)
    started = tmp_path / "started"
    out = tmp_path / "o"
    which = ["--all", "-j", "2"] if all_ else ["-p", "x86_64 :: level :: v3"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "varwheel", "build", str(src), *which, "--no-isolation",
         "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FAKE_STARTED": str(started)},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    begin = time.monotonic()
    _, err = proc.communicate(timeout=90)
    # the old build_all waited for every running backend to finish (a minute here)
    assert time.monotonic() - begin < 20
    assert proc.returncode == 130 and err.endswith("varwheel: error: interrupted\n"), err
    assert "built" not in err and not out.exists()


def test_abi_dependency_variants_build_as_the_matrix_accepts_them(tmp_path: Path) -> None:
    # PEP 817 §"abi_dependency": no provider entry by design; load_matrix accepted such a
    # variant but build refused it twice ("has no provider"), so --all could never succeed
    matrix = """
[[tool.varwheel.build.variants]]
label = "torch29"
properties = ["abi_dependency :: torch :: 2.9", "x86_64 :: level :: v3"]
"""
    src = fake_project(tmp_path / "src", matrix=matrix)
    props = (P("abi_dependency :: torch :: 2.9"), *V3)
    wheel = build_wheel(src, tmp_path / "dist", properties=props, isolation=False)
    assert wheel.name == "demo-1.0-py3-none-any-torch29.whl"
    assert read_wheel_variant(wheel).properties == tuple(sorted(props))


def test_a_declared_label_for_other_properties_is_refused(tmp_path: Path, capsys) -> None:
    # PEP 817: one label, one property set; the old build wrote x8664v4 holding level v3
    src = fake_project(tmp_path / "src", matrix=MATRIX)
    out = tmp_path / "o"
    args = ["-p", "x86_64 :: level :: v3", "--label", "x8664v4", "-o", str(out)]
    assert main(["build", str(src), "--no-isolation", *args]) == 2
    pyproject = src / "pyproject.toml"
    expected = (
        f"varwheel: error: --label 'x8664v4': {pyproject} declares it for "
        "[x86_64 :: level :: v4]; a label names one property set (PEP 817): pick another label "
        "or drop --label\n"
    )
    assert capsys.readouterr().err == expected
    wheel = write_wheel(tmp_path / "plain", "demo", "1.0")
    assert main(["make-variant", str(wheel), "--pyproject", str(pyproject), *args]) == 2
    assert capsys.readouterr().err == expected
    assert not out.exists()
