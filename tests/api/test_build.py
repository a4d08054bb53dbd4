"""``varwheel.api.build`` driven without the command line: real wheels from a real PEP 517
backend run through pypa/build (a small in-tree backend, as tests/build/test_frontend.py), the
returned values and what the reporter heard asserted."""

from __future__ import annotations

import json
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import snapshot_tree
from helpers.wheels import build_wheel as write_wheel
from helpers.wheels import variant_json
from varwheel.api import build as api
from varwheel.build.errors import InvalidBuildRequest, InvalidWheel
from varwheel.build.make_variant import read_wheel_variant
from varwheel.errors import InvalidInput, InvalidProperty
from varwheel.reporter import Reporter
from varwheel.spec.properties import VariantProperty

DEMO = Path(__file__).resolve().parents[1] / "build" / "data" / "demo" / "pyproject.toml"
X86 = {"x86_64": {"requires": ["x86-64-variant-provider"]}}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch)  # no user config, private cache
    monkeypatch.delenv("CFLAGS", raising=False)


# A PEP 517 backend: records CFLAGS and the config settings in the wheel, warns (twice, the
# same text) when asked, and fails for x86-64-v4 builds in mode "crash-v4".
BACKEND = """
import base64, hashlib, json, os, tomllib, warnings, zipfile

def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    mode = tomllib.load(open("pyproject.toml", "rb"))["tool"]["fake"]["mode"]
    cflags = os.environ.get("CFLAGS", "")
    if mode == "warn":
        for _ in range(2):
            warnings.warn("the  option 'x'\\n is deprecated")
    if mode == "crash-v4" and "x86-64-v4" in cflags:
        raise SystemExit("cc: error: no v4 here")
    files = {
        "demo/__init__.py": b"",
        "demo/build.json": json.dumps({"CFLAGS": cflags, "config": dict(config_settings or {})}).encode(),
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: demo\\nVersion: 1.0\\n\\n",
        "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: fake\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = "".join(f"{n},{_digest(d)},{len(d)}\\n" for n, d in files.items())
    files["demo-1.0.dist-info/RECORD"] = (record + "demo-1.0.dist-info/RECORD,,\\n").encode()
    name = "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return name
"""

MATRIX = """
[tool.varwheel.build]
null-variant = true

[[tool.varwheel.build.variants]]
label = "x8664v3"
properties = ["x86_64 :: level :: v3"]

[[tool.varwheel.build.variants]]
label = "x8664v4"
properties = ["x86_64 :: level :: v4"]
env = {LDFLAGS = "-Wl,-O1"}
"""


def project(root: Path, mode: str = "honest", *, matrix: str = MATRIX) -> Path:
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
        """)
        + matrix
    )
    return root


def recorded(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as zf:
        return json.loads(zf.read("demo/build.json"))


def test_build_plain_into_src_dist_with_the_backend_warning_reported_once(tmp_path: Path) -> None:
    src = project(tmp_path / "src", "warn")
    reporter = Reporter()
    built = api.build(src, isolation=False, config_settings=["k=1", "k=2"], reporter=reporter)
    assert built.path == src / "dist" / "demo-1.0-py3-none-any.whl" and built.path.is_file()
    assert built.label is None and built.seconds > 0
    assert recorded(built.path) == {"CFLAGS": "", "config": {"k": ["1", "2"]}}
    assert reporter.warnings == ("build backend: the option 'x' is deprecated",)


def test_build_properties_alone_get_the_declared_label(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    reporter = Reporter()
    built = api.build(
        src, tmp_path / "out", properties=["x86_64 :: level :: v3"], isolation=False,
        reporter=reporter,
    )  # fmt: skip
    assert built.label == "x8664v3"
    assert built.path == tmp_path / "out" / "demo-1.0-py3-none-any-x8664v3.whl"
    assert read_wheel_variant(built.path).properties == (
        VariantProperty.parse("x86_64 :: level :: v3"),
    )
    assert recorded(built.path)["CFLAGS"] == "-march=x86-64-v3"
    assert reporter.notes == (
        f"label 'x8664v3': declared for these properties in {src / 'pyproject.toml'}",
    )
    # an undeclared set keeps the hash label, and no note
    quiet = Reporter()
    other = api.build(
        src, tmp_path / "out", properties=["x86_64 :: level :: v2"], isolation=False,
        reporter=quiet,
    )  # fmt: skip
    assert other.label is not None and len(other.label) == 8 and quiet.notes == ()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"properties": ["x86_64 :: level"]}, InvalidProperty, "-p 'x86_64 :: level': "),
        ({"config_settings": ["novalue"]}, InvalidInput, "-C 'novalue': expected KEY=VALUE"),
        ({"null_variant": True, "trusted": ["nope"]}, InvalidInput, "nope"),
        ({"label": "x"}, InvalidBuildRequest, "nothing to label"),
    ],
)
def test_build_refuses_bad_requests_before_building(
    tmp_path: Path, kwargs: dict, error: type[Exception], match: str
) -> None:
    src = project(tmp_path / "src")
    with pytest.raises(error, match=match):
        api.build(src, tmp_path / "out", isolation=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_build_matrix_builds_all_and_reports_progress(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    events: list[api.BuildProgress] = []
    result = api.build_matrix(src, tmp_path / "out", isolation=False, jobs=2,
                              on_progress=events.append)  # fmt: skip
    assert result.failed == () and result.out_dir == tmp_path / "out"
    names = sorted(p.name for p in result.paths)
    assert names == sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "demo-1.0-py3-none-any-null.whl",
        "demo-1.0-py3-none-any-x8664v3.whl",
        "demo-1.0-py3-none-any-x8664v4.whl",
        "demo-1.0-py3-none-any.whl",
    ]
    assert [r.entry.name for r in result.results] == ["x8664v3", "x8664v4", "null", "non-variant"]
    assert (events[0].finished, events[0].total, events[0].result) == (0, 4, None)
    assert [e.finished for e in events[1:]] == [1, 2, 3, 4]
    assert {e.result.entry.name for e in events[1:] if e.result} == {
        "x8664v3", "x8664v4", "null", "non-variant",
    }  # fmt: skip
    assert recorded(tmp_path / "out" / names[2])["CFLAGS"] == "-march=x86-64-v4"


def test_build_matrix_reports_the_backends_warning_once_across_workers(tmp_path: Path) -> None:
    src = project(tmp_path / "src", "warn")
    reporter = Reporter()
    result = api.build_matrix(src, tmp_path / "out", isolation=False, jobs=2, reporter=reporter)
    assert len(result.paths) == 4 and result.failed == ()
    assert reporter.warnings == ("build backend: the option 'x' is deprecated",)


def test_build_matrix_is_all_or_nothing_and_refuses_a_request(tmp_path: Path) -> None:
    src = project(tmp_path / "src", "crash-v4")
    result = api.build_matrix(src, tmp_path / "out", isolation=False)
    assert [r.entry.name for r in result.failed] == ["x8664v4"]
    assert "no v4 here" in str(result.failed[0].error)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InvalidInput, match="--all builds the declared set"):
        api.build_matrix(src, properties=["x86_64 :: level :: v3"])
    bare = project(tmp_path / "bare", matrix="")
    with pytest.raises(InvalidInput, match=r"no \[tool\.varwheel\.build\] table"):
        api.build_matrix(bare)


def test_preview_settings_builds_nothing(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    before = snapshot_tree(src)
    previews = api.preview_settings(src, declared=True, config_settings=["x=1"])
    assert [(p.name, p.backend, p.native) for p in previews] == [
        ("x8664v3", "fakebackend", False),
        ("x8664v4", "fakebackend", False),
        ("null", "fakebackend", False),
        ("non-variant", "fakebackend", False),
    ]
    assert previews[1].lines == (
        "CFLAGS=-march=x86-64-v4",
        "CXXFLAGS=-march=x86-64-v4",
        "LDFLAGS=-Wl,-O1",
        "-Cx=1",
    )
    reporter = Reporter()
    (one,) = api.preview_settings(
        src, properties=["x86_64 :: level :: v4"], native=True, reporter=reporter
    )
    assert (one.name, one.native) == ("x8664v4", True)
    assert "-Cvariant-label=x8664v4" in one.lines
    assert len(reporter.notes) == 1 and "declared for these properties" in reporter.notes[0]
    assert snapshot_tree(src) == before


def test_make_and_unmake_variant(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    plain = api.build(src, tmp_path / "plain", isolation=False).path
    reporter = Reporter()
    made = api.make_variant(
        plain, tmp_path / "v", pyproject=src / "pyproject.toml",
        properties=["x86_64 :: level :: v4"], reporter=reporter,
    )  # fmt: skip
    assert made.label == "x8664v4" and made.path.name == "demo-1.0-py3-none-any-x8664v4.whl"
    assert read_wheel_variant(made.path).properties == (
        VariantProperty.parse("x86_64 :: level :: v4"),
    )
    assert reporter.notes == (
        f"label 'x8664v4': declared for these properties in {src / 'pyproject.toml'}",
    )
    again = api.make_variant(plain, tmp_path / "v2", pyproject=src / "pyproject.toml",
                             properties=["x86_64 :: level :: v4"])  # fmt: skip
    assert again.path.read_bytes() == made.path.read_bytes()  # reproducible
    null = api.make_variant(
        plain, tmp_path / "n", pyproject=src / "pyproject.toml", null_variant=True
    )
    assert null.label == "null"
    back = api.unmake_variant(made.path, tmp_path / "back")
    assert back.label is None and back.path.name == plain.name
    assert read_wheel_variant(back.path).variant_json is None


def test_make_variant_refusals(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    plain = api.build(src, tmp_path / "plain", isolation=False).path
    pyproject = src / "pyproject.toml"
    with pytest.raises(InvalidBuildRequest, match="declares it for"):
        api.make_variant(plain, tmp_path / "o", pyproject=pyproject,
                         properties=["x86_64 :: level :: v3"], label="x8664v4")  # fmt: skip
    with pytest.raises(InvalidInput, match="no such file; pass the project's pyproject"):
        api.make_variant(plain, tmp_path / "o", pyproject=tmp_path / "missing.toml")
    other = write_wheel(tmp_path / "other", "other", "1.0")
    with pytest.raises(InvalidInput, match="a wheel of 'other', but"):
        api.make_variant(other, tmp_path / "o", pyproject=pyproject, null_variant=True)
    assert not (tmp_path / "o").exists()


def test_repair_puts_the_label_back(tmp_path: Path) -> None:
    src = project(tmp_path / "src")
    plain = api.build(src, tmp_path / "plain", isolation=False).path
    variant = api.make_variant(plain, tmp_path / "v", pyproject=src / "pyproject.toml",
                               properties=["x86_64 :: level :: v3"]).path  # fmt: skip
    cp = shutil.which("cp")
    assert cp is not None
    (result,) = api.repair(variant, [cp, "{wheel}", "{dest_dir}"], tmp_path / "wh")
    assert result.path == tmp_path / "wh" / variant.name and not result.restored
    assert result.path.read_bytes() == variant.read_bytes()
    with pytest.raises(InvalidWheel, match="not a variant wheel"):
        api.repair(plain, [cp, "{wheel}", "{dest_dir}"], tmp_path / "wh2")


def test_check_release_and_project(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_wheel(dist, "demo", "1.0")
    write_wheel(dist, "demo", "1.0",
                variant=variant_json("x8664v3", ["x86_64 :: level :: v3"], providers=X86))  # fmt: skip
    result = api.check([dist])
    assert (result.errors, result.warnings, result.passed) == (0, 1, True)
    assert [f.code for f in result.findings] == ["no-variants-json"]
    assert result.findings[0].severity is api.Severity.WARNING
    assert api.check([dist], strict=True).passed is False
    write_wheel(dist, "demo", "1.0",
                variant=variant_json("v9", ["x86_64 :: level :: v9"], providers=X86))  # fmt: skip
    broken = api.check([str(dist)])
    assert broken.errors == 1 and not broken.passed
    assert "unknown-value" in [f.code for f in broken.findings]
    # a project directory (a pyproject.toml and no wheels) gets the project check
    src = project(tmp_path / "src")
    assert api.check([src]).findings == api.check([src / "pyproject.toml"]).findings
    with pytest.raises(InvalidInput):
        api.check([tmp_path / "missing"])


def test_matrix_forms_and_coverage() -> None:
    plan = api.plan_matrix(DEMO)
    assert plan.source == str(DEMO) and plan.project == str(DEMO)
    names = [e.name for e in plan.entries]
    assert "x8664v3" in names
    doc = api.matrix_json(plan, "wheelhouse")
    assert doc["project"] == str(DEMO) and [e["name"] for e in doc["entries"]] == names
    v3 = next(e for e in doc["entries"] if e["name"] == "x8664v3")
    assert v3["command"].endswith("--label x8664v3 -o wheelhouse")
    assert v3["env"] == dict(line.split("=", 1) for line in plan.settings_lines(
        plan.matrix.entry("x8664v3")) if not line.startswith("-C"))  # fmt: skip
    github = json.loads(api.github_matrix(plan))
    assert [job["name"] for job in github["include"]] == names
    one = api.plan_matrix(DEMO, entry="x8664v3")
    assert [e.name for e in one.entries] == ["x8664v3"]
    assert api.cibuildwheel_lines(one)[0].startswith("CIBW_CONFIG_SETTINGS=")
    with pytest.raises(InvalidInput, match="no entry 'nope'"):
        api.plan_matrix(DEMO, entry="nope")

    report = api.matrix_coverage(DEMO, ["x86-64-v3-haswell", "aarch64-graviton2"])
    rows = {row.machine.name: row for row in report.machines}
    assert rows["x86-64-v3-haswell"].outcome is api.Outcome.VARIANT
    assert rows["x86-64-v3-haswell"].label == "x8664v3"
    assert rows["aarch64-graviton2"].outcome is api.Outcome.NULL
    with pytest.raises(InvalidInput, match="graviton9: no such profile"):
        api.matrix_coverage(DEMO, ["graviton9"])
