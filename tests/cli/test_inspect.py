"""``varwheel inspect``: every kind of file, ``--json``, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.wheels import build_wheel, variant_json
from varwheel.cli.main import main

V020 = "https://variants-schema.wheelnext.dev/peps/850/v0.2.0.json"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_inspect_all_96_real_files(
    real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(real_index_dir.glob("*/*-variants.json"))
    assert len(files) == 96
    for path in files:
        code, out, err = run_cli(capsys, str(path), "--json")
        assert (code, err) == (0, ""), path.name
        data = json.loads(out)
        raw = json.loads(path.read_bytes())
        assert data["kind"] == "variants.json" and data["generation"] == "0.0"
        assert set(data["variants"]) == set(raw["variants"])
        assert data["namespace_priorities"] == raw["default-priorities"]["namespace"]
    for name in ("torch/torch-2.9.0-variants.json", "numpy/numpy-2.3.3-variants.json"):
        code, out, err = run_cli(capsys, str(real_index_dir / name))
        assert (code, err) == (0, "")
        assert "valid" in out and "enable-if" in out


def test_json_output_is_stable_and_complete(
    real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = real_index_dir / "torch" / "torch-2.9.0-variants.json"
    first = run_cli(capsys, str(path), "--json")[1]
    assert run_cli(capsys, str(path), "--json")[1] == first
    data = json.loads(first)
    assert data["project"] == {"name": "torch", "version": "2.9.0"}
    assert data["schema"] == "https://variants-schema.wheelnext.dev/v0.0.3.json"
    nvidia = data["providers"]["nvidia"]
    assert nvidia["kind"] == "install-time"
    assert nvidia["enable_if"] == "platform_system == 'Linux' or platform_system == 'Windows'"
    assert data["providers"]["priority"]["kind"] == "static"
    assert data["providers"]["priority"]["static_properties"] == {"order": ["1", "2", "3"]}
    assert data["property_priorities"] == {"priority": {"order": ["1", "2", "3"]}}
    assert data["variants"]["null"] == []
    assert data["v0_2_0"]["convertible"] is True
    assert any("enable-if" in w for w in data["v0_2_0"]["warnings"])
    assert first == json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_legacy_null_label_shown_with_conversion_warning(
    real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, str(real_index_dir / "torch" / "torch-2.8.0-variants.json"), "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["variants"]["00000000"] == []
    assert any("00000000" in w for w in data["warnings"])
    assert data["v0_2_0"]["convertible"] is True and data["v0_2_0"]["error"] is None
    assert any("'00000000' is written as 'null'" in w for w in data["v0_2_0"]["warnings"])


def test_inspect_variantlib_wheels_and_files(
    variantlib_outputs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for wheel in sorted((variantlib_outputs_dir / "wheels").glob("tinypkg-*.whl")):
        code, out, err = run_cli(capsys, str(wheel), "--json")
        assert (code, err) == (0, ""), wheel.name
        data = json.loads(out)
        label = wheel.name[: -len(".whl")].split("-")[5] if wheel.name.count("-") == 5 else None
        assert data["wheel"]["label"] == label
        assert data["variant"] is (label is not None)
        if label:
            assert list(data["variants"]) == [label]
    for name in ("tinypkg-1.0.0-variants.json", "variant-json/variant.json.v2_cuda_openblas"):
        code, out, err = run_cli(capsys, str(variantlib_outputs_dir / name))
        assert (code, err) == (0, "")
        assert "non-canonical" in out and "toy :: accel :: cuda13" in out
    for name in (
        "tinypkg-pyproject.toml",
        "x86-pyproject.toml",
        "aot-build-requires-pyproject.toml",
    ):
        code, out, err = run_cli(capsys, str(variantlib_outputs_dir / name), "--json")
        assert (code, err) == (0, "")
        assert json.loads(out)["kind"] == "pyproject"


def _wheel(tmp_path: Path, **kwargs: object) -> Path:
    return build_wheel(tmp_path, "demo", "1.0", **kwargs)  # type: ignore[arg-type]


def _broken_files(tmp_path: Path, variantlib_outputs_dir: Path) -> list[tuple[Path, str]]:
    good = variant_json("v3", ["x86_64 :: level :: v3"])
    cases: list[tuple[str, bytes, str]] = [
        ("demo-1.0-variants.json", b'{"$schema": "https://variants-schema', "not valid JSON"),
        (
            "wrongtype-1.0-variants.json",
            json.dumps({**good, "variants": ["v3"]}).encode(),
            "variants: expected an object, got a list",
        ),
        (
            "badlabel-1.0-variants.json",
            json.dumps({**good, "variants": {"V3!": {"x86_64": {"level": ["v3"]}}}}).encode(),
            "variants.V3!: invalid variant label",
        ),
        (
            "major-1.0-variants.json",
            json.dumps(
                {**good, "$schema": "https://variants-schema.wheelnext.dev/peps/850/v1.0.0.json"}
            ).encode(),
            "$schema: schema major version 1 is not supported",
        ),
        (
            "pyproject.toml",
            b'[variant.default-priorities]\nnamespace = ["x"]\n[variant.providers.x]\nrequires = ["x"]\n'
            b"[variant.variants.a.x]\nf = ['1']\n",
            "variant.variants: pyproject.toml [variant] must not contain variants",
        ),
        ("broken.toml", b"[variant\n", "not valid TOML"),
        ("notes.txt", b"hello", "cannot tell what this file is"),
        ("bad-name-1.0-variants.json", json.dumps(good).encode(), "invalid variants.json filename"),
        (
            "demo-1.0-py3-none-any-v3.whl",
            b"PK\x03\x04 not really a zip",
            "not a valid wheel (zip) archive",
        ),
    ]
    out = []
    for name, data, message in cases:
        path = tmp_path / name
        path.write_bytes(data)
        out.append((path, message))
    mismatch = _wheel(tmp_path / "m", label="v4", variant=good)
    out.append((mismatch, "names variant 'v3' but the file name has label 'v4'"))
    unlabelled = tmp_path / "u" / "demo-1.0-py3-none-any.whl"
    unlabelled.parent.mkdir()
    unlabelled.write_bytes(_wheel(tmp_path / "u2", variant=good).read_bytes())
    out.append((unlabelled, "the file name has no variant label"))
    plain = _wheel(tmp_path / "p")
    missing = tmp_path / "demo-1.0-py3-none-any-x.whl"
    missing.write_bytes(plain.read_bytes())
    out.append((missing, "has no *.dist-info/variant.json"))
    out.append((tmp_path / "absent-1.0-variants.json", "cannot read"))
    out.append((tmp_path, "is a directory"))
    invalid = variantlib_outputs_dir / "variant-json" / "variant.json.aot-with-plugin-api.INVALID"
    out.append((invalid, "providers.cpu.plugin-api: plugin-api is valid only with requires"))
    return out


def test_broken_files_exit_2_with_one_line(
    tmp_path: Path, variantlib_outputs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path, message in _broken_files(tmp_path, variantlib_outputs_dir):
        code, out, err = run_cli(capsys, str(path))
        assert code == 2, (path, err)
        assert out == ""
        assert err.count("\n") == 1, err
        assert err.startswith(f"varwheel: error: {path}"), err
        assert message in err, (message, err)
        assert "Traceback" not in err


def test_verbose_shows_the_exception(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x-1.0-variants.json"
    path.write_text("{")
    from varwheel.errors import InvalidMetadata

    assert main(["--verbose", "inspect", str(path)]) == 2  # the same exit code as without -v
    err = capsys.readouterr().err
    assert "Traceback" in err and InvalidMetadata.__name__ in err
    assert err.rstrip().splitlines()[-1].startswith("varwheel: error: ")


def _run_varwheel(*args: str, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "varwheel", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_inspect_real_subprocess(real_index_dir: Path, tmp_path: Path) -> None:
    path = real_index_dir / "numpy" / "numpy-2.3.4-variants.json"
    done = _run_varwheel("inspect", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["providers"]["blas_lapack"]["kind"] == "static"
    bad = tmp_path / "bad-1.0-variants.json"
    bad.write_text('{"$schema": 1}')
    done = _run_varwheel("inspect", str(bad))
    assert done.returncode == 2
    assert done.stderr == f"varwheel: error: {bad}: $schema: expected a URL string, got a number\n"


def test_wheel_with_two_dist_info_variant_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = variant_json("v3", ["x86_64 :: level :: v3"])
    wheel = _wheel(tmp_path, variant=good)
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("other-1.0.dist-info/variant.json", json.dumps(good))
    code, _, err = run_cli(capsys, str(wheel))
    assert code == 2 and "several variant.json files" in err


def test_inspect_modules_do_not_import_rich() -> None:
    """rich is imported only to render human output (start-up time of ``--json`` and errors)."""
    code = (
        "import sys, varwheel.cli.cmd_inspect, varwheel.cli.cmd_label, varwheel.inspect; "
        "sys.exit('rich' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=False)
    assert done.returncode == 0


def _good_text() -> str:
    return json.dumps(variant_json("v3", ["x86_64 :: level :: v3"]))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xef\xbb\xbf" + _good_text().encode(), "starts with a UTF-8 byte order mark"),
        (_good_text().replace('"v3"]', "NaN]").encode(), "NaN is not a JSON value"),
        (_good_text().replace('"v3"]', "-Infinity]").encode(), "-Infinity is not a JSON value"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
        (
            _good_text().replace('"v3"]', "1" * 5000 + "]").encode(),
            "variants.v3.x86_64.level[0]: expected a string, got a number",
        ),
        (_good_text().encode("utf-16"), "not UTF-8 text"),
        (_good_text().encode() + b"\x00", "not valid JSON: Extra data"),
    ],
)
def test_hostile_json_fails_with_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, message: str
) -> None:
    path = tmp_path / "demo-1.0-variants.json"
    path.write_bytes(data)
    code, out, err = run_cli(capsys, str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"varwheel: error: {path}: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err and "utf-8-sig" not in err


def test_json_under_another_name_with_a_bom_is_recognised_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "metadata.json"
    path.write_bytes(b"\xef\xbb\xbf" + _good_text().encode())
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and "starts with a UTF-8 byte order mark" in err


def test_huge_number_in_an_unknown_key_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(_good_text())
    path = tmp_path / "demo-1.0-variants.json"
    path.write_text(json.dumps(doc)[:-1] + ', "x-later": ' + "9" * 5000 + "}")
    code, out, err = run_cli(capsys, str(path), "--json")
    assert (code, err) == (0, "") and json.loads(out)["variants"] == {
        "v3": ["x86_64 :: level :: v3"]
    }


@pytest.mark.parametrize(
    "text",
    ["a = " + "[" * 100_000 + "]" * 100_000 + "\n", "a = " + "{b=" * 3000 + "1" + "}" * 3000],
)
def test_deeply_nested_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and err == f"varwheel: error: {path}: not valid TOML: nested too deeply\n"


def test_fifo_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "demo-1.0-variants.json"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, str(fifo))
    assert code == 2 and err == f"varwheel: error: {fifo}: not a regular file\n"


def test_control_characters_in_the_path_stay_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad\nname-1.0-variants.json"
    path.write_text("{")
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"varwheel: error: {tmp_path}/bad\\nname-1.0-variants.json: "), err


def test_label_mismatch_names_the_member(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _wheel(tmp_path, label="v4", variant=variant_json("v3", ["x86_64 :: level :: v3"]))
    code, _, err = run_cli(capsys, str(wheel))
    assert code == 2
    assert err == (
        f"varwheel: error: {wheel}!demo-1.0.dist-info/variant.json: variants: "
        "names variant 'v3' but the file name has label 'v4'\n"
    )


def test_permission_denied(tmp_path: Path) -> None:
    """Run as an unprivileged user (root reads anything) on a file only its owner may read."""
    secret = tmp_path / "secret" / "demo-1.0-variants.json"
    secret.parent.mkdir()
    secret.write_text(_good_text())
    secret.chmod(0)
    tmp_path.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = _run_varwheel("inspect", str(secret), prefix=prefix)
    assert done.returncode == 2
    assert done.stderr == f"varwheel: error: {secret}: cannot read: Permission denied\n"


def test_wheel_with_a_legacy_null_label(
    tmp_path: Path, real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A torch 2.8.0-style wheel ``...-00000000.whl`` whose PEP 817 variant.json names that label
    with no properties: valid, the null variant, written as ``null`` in schema v0.2.0."""
    index = json.loads((real_index_dir / "torch" / "torch-2.8.0-variants.json").read_bytes())
    doc = {**index, "variants": {"00000000": {}}}
    wheel = _wheel(tmp_path, label="00000000", variant=doc)
    code, out, err = run_cli(capsys, str(wheel), "--json")
    data = json.loads(out)
    assert (code, err) == (0, "")
    assert data["wheel"]["label"] == "00000000" and data["variants"] == {"00000000": []}
    assert data["v0_2_0"]["convertible"] is True
    assert any("'00000000' is written as 'null'" in w for w in data["v0_2_0"]["warnings"])


def _assert_clean_outcome(code: int, out: str, err: str, path: Path) -> None:
    if code == 0:
        assert err == "" and out
    else:
        assert code == 2 and out == "", (code, err)
        assert err.count("\n") == 1 and err.startswith(f"varwheel: error: {path}"), err
        assert "Traceback" not in err


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=200),
    name=st.sampled_from(["demo-1.0-variants.json", "pyproject.toml", "variant.json", "x.json"]),
)
def test_fuzz_random_bytes_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run_cli(capsys, str(path))
    _assert_clean_outcome(code, out, err, path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=4))
def test_fuzz_corrupted_wheel_never_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flips: list[tuple[int, int]]
) -> None:
    """A damaged download: a valid variant wheel with a few bytes changed."""
    wheel = tmp_path / "demo-1.0-py3-none-any-v3.whl"
    if not wheel.exists():
        built = _wheel(tmp_path / "src", variant=variant_json("v3", ["x86_64 :: level :: v3"]))
        wheel.write_bytes(built.read_bytes())
    data = bytearray(wheel.read_bytes())
    for offset, xor in flips:
        data[offset % len(data)] ^= xor
    broken = tmp_path / "broken" / wheel.name
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(bytes(data))
    code, out, err = run_cli(capsys, str(broken))
    _assert_clean_outcome(code, out, err, broken)


def test_human_output_lists_variants_without_trailing_spaces(
    real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, str(real_index_dir / "torch" / "torch-2.8.0-variants.json"))
    lines = out.splitlines()
    assert code == 0 and not any(line != line.rstrip() for line in lines)
    assert "    00000000  (null variant)" in lines
    assert "    cu126     nvidia :: cuda_version_lower_bound :: 12.0" in lines
    assert "              nvidia :: sm_arch :: 50_real" in lines


# --------------------------------------------------------------------------- issue 7: inputs

_HUGE = "1" + "0" * 4400  # past int()'s 4,300-digit limit


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("pyproject.toml", f"[variant]\nx = {_HUGE}\n", "more than 4300 digits"),
        (
            "pyproject.toml",
            '[variant.default-priorities]\nnamespace = ["a"]\n'
            f'[variant.providers.a]\nrequires = ["p>={_HUGE}"]\n',
            "variant.providers.a.requires[0]: not a valid requirement: holds a number",
        ),
        (
            "demo-1.0-variants.json",
            json.dumps(variant_json("v3", ["x86_64 :: level :: v3"])).replace(
                '"requires": [', f'"requires": ["p; python_version > \'{_HUGE}\'", '
            ),
            "providers.x86_64.requires[0]: not a valid requirement: holds a number",
        ),
    ],
)
def test_numbers_past_the_digit_limit_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, out, err = run_cli(capsys, str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err and len(err) < 800, err[:800]


@pytest.mark.parametrize("name", ["y" * 300, "y" * 300 + ".whl", "z/" * 3000 + "a.toml"])
def test_over_long_paths_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = run_cli(capsys, str(tmp_path / name))
    assert (code, out) == (2, "") and err.count("\n") == 1 and "Traceback" not in err
    assert "too long" in err or "invalid wheel filename" in err


@pytest.mark.parametrize("name", ["a\x00b-1.0-variants.json", "a\x00b.whl", "a\ud800.toml"])
def test_unusable_path_characters_are_invalid_input(tmp_path: Path, name: str) -> None:
    # argv cannot carry a NUL byte; other callers (a requirements file, an API user) can
    from varwheel.errors import InvalidInput
    from varwheel.inspect import inspect_path

    with pytest.raises(InvalidInput) as err:
        inspect_path(tmp_path / name)
    assert "\n" not in str(err.value) and "\x00" not in str(err.value)


_TOML_LINES = (
    "[variant]",
    "[variant.default-priorities]",
    'namespace = ["a"]',
    "[variant.providers.a]",
    'requires = ["p"]',
)
_V020 = {
    "$schema": V020,
    "default-priorities": {"namespace": ["a"]},
    "providers": {"a": {"requires": ["p>=1"], "enable-if": "python_version > '3'"}},
    "variants": {"v": {"a": {"f": ["1"]}}},
}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    name=st.sampled_from(["demo-1.0-variants.json", "pyproject.toml", "variant.json", "x.json"]),
)
def test_fuzz_hostile_shapes_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject, name: str
) -> None:
    from helpers.hostile import TOML_HOSTILE_LINES, json_documents, line_documents

    path = tmp_path / "fuzz" / name
    path.parent.mkdir(exist_ok=True)
    if name.endswith(".toml"):
        hostile = (*TOML_HOSTILE_LINES, f'requires = ["p>={"1" * 4400}"]')
        path.write_bytes(data.draw(line_documents(_TOML_LINES, hostile)))
    else:
        doc = {**_V020, "variants": {"v": _V020["variants"]["v"]}}
        path.write_bytes(data.draw(json_documents(doc)))
    code, out, err = run_cli(capsys, str(path))
    _assert_clean_outcome(code, out, err, path)
