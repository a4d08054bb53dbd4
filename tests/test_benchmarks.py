"""The benchmark scripts keep working (not timed): argument parsing, the tables they render, and
tiny real runs that need neither the network nor, when absent, uv or pip 26.3 (then skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.wheels import build_wheel

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import all as bench_all  # noqa: E402
import harness  # noqa: E402
import realworld  # noqa: E402

SCRIPTS = ("harness", "realworld", "noop", "startup", "all")


def _run(*argv: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("script", ["realworld.py", "noop.py", "startup.py", "all.py"])
def test_help_parses(script: str) -> None:
    done = _run(str(BENCH / script), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
    assert "--json" in done.stdout


@pytest.mark.parametrize("script", ["realworld.py", "startup.py", "all.py"])
def test_unknown_part_is_one_clear_error(script: str) -> None:
    done = _run(str(BENCH / script), "--only", "nonsense")
    assert done.returncode == 2
    assert "unknown" in done.stderr and "nonsense" in done.stderr
    assert "Traceback" not in done.stderr


def test_row_ratios_are_medians_of_per_round_ratios() -> None:
    row = harness.make_row(
        "t", {"varwheel": [1.0, 2.0, 9.0], "uv": [1.0, 1.0, 1.0], "pip": [4.0, 4.0, 36.0]}
    )
    assert row.subject == "varwheel"
    assert row.medians == {"varwheel": 2.0, "uv": 1.0, "pip": 4.0}
    assert row.ratios == {"uv": 2.0, "pip": 0.25}  # per round 1/1 2/1 9/1; 1/4 2/4 9/36
    table = harness.render([row])
    assert "| t | varwheel | 2.000 | 1.000–9.000 | 2.00× uv, 0.25× pip |" in table
    assert "| t | pip | 4.000 | 4.000–36.000 |  |" in table


def test_measure_interleaves_and_drops_warmup() -> None:
    calls: list[str] = []

    def step(name: str, value: float) -> float:
        calls.append(name)
        return value

    row = harness.measure(
        "m",
        {"a": lambda: step("a", 2.0), "b": lambda: step("b", 1.0)},
        samples=2,
        warmup=1,
    )
    assert calls == ["a", "b"] * 3
    assert row.samples == {"a": [2.0, 2.0], "b": [1.0, 1.0]}
    assert row.ratios == {"b": 2.0}


def test_timed_names_a_failed_command() -> None:
    with pytest.raises(harness.BenchmarkError, match="exited 3"):
        harness.timed([sys.executable, "-c", "import sys; sys.exit(3)"])


def _synthetic_results(out: Path) -> None:
    out.mkdir()
    install = [
        {  # install.py's own format
            "title": "(a) 30 wheels, local find-links",
            "cold": False,
            "median_s": {"varwheel": 0.3, "uv": 0.2, "pip": 1.0},
            "ratios": {"uv": 1.5, "pip": 0.3},
        },
        {
            "title": "(a) 30 wheels, HTTP index http://127.0.0.1:4242/simple/",
            "cold": True,
            "median_s": {"varwheel": 1.0, "uv": 0.5, "pip": 2.0},
            "ratios": {"uv": 2.0, "pip": 0.5},
        },
    ]
    (out / "install.json").write_text(json.dumps(install))
    version = harness.make_row(
        "start-up: --version",
        {"varwheel --version": [0.02, 0.03], "python -c pass": [0.015, 0.015]},
    )
    harness.write_json(out / "startup.json", [version])


def test_combined_table_from_earlier_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _synthetic_results(tmp_path / "res")
    assert (
        bench_all.main(["--from", str(tmp_path / "res"), "--json", str(tmp_path / "c.json")]) == 0
    )
    out = capsys.readouterr().out
    lines = {
        line.split(" | ")[0].lstrip("| "): line
        for line in out.splitlines()
        if line.startswith("| ")
    }
    warm = lines["warm install, 30 wheels, find-links"]
    assert "1.50× uv; 0.30× pip" in warm and "≤ 2× uv; ≤ 0.35× pip" in warm
    assert "| yes / yes |" in warm
    cold = lines["cold install, 30 wheels, HTTP index"]
    assert "2.00× uv" in cold and "| no |" in cold
    version = lines["`varwheel --version` (uv, pip: their `--version`)"]
    assert "1.67× `python -c pass` | ≤ 2× `python -c pass` | yes |" in version
    assert "six-wheel variant package, warm" not in lines  # not measured: no row
    records = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [r["row"] for r in records] == [
        "warm install, 30 wheels, find-links",
        "cold install, 30 wheels, HTTP index",
        "`varwheel --version` (uv, pip: their `--version`)",
    ]
    assert records[1]["met"] == ["no"]


def test_realworld_cache_index_and_count_on_tiny_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "six", "1.16.0")
    build_wheel(wheels, "Typing_Extensions", "4.12.2")
    pins = ["six==1.16.0", "typing-extensions==4.12.2", "idna==3.10"]
    assert realworld.missing_wheels(wheels, pins) == ["idna==3.10"]
    index = realworld.build_index(sorted(wheels.glob("*.whl")), tmp_path / "index")
    assert (index / "simple" / "six").is_dir()
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "six-1.16.0.dist-info").mkdir(parents=True)
    (site / "typing_extensions-4.12.2.dist-info").mkdir()
    assert realworld.installed(tmp_path / "venv", pins) == 2


def test_the_pins_are_one_wheel_each_and_cover_the_requirements() -> None:
    names = [p.partition("==")[0] for p in realworld.PINS]
    assert len(names) == len(set(names)) and 20 <= len(names) <= 40
    assert set(realworld.REQUIREMENTS) <= set(names)


@pytest.mark.slow
def test_startup_runs_once(tmp_path: Path) -> None:
    done = _run(
        str(BENCH / "startup.py"),
        *("--samples", "1", "--warmup", "0", "--only", "version"),
        *("--json", str(tmp_path / "s.json")),
    )
    assert done.returncode == 0, done.stderr
    assert "| start-up: --version | varwheel --version |" in done.stdout
    (row,) = harness.rows_from_json(tmp_path / "s.json")
    assert set(row.medians) >= {"varwheel --version", "python -c pass"}
    assert row.ratios["python -c pass"] > 0


@pytest.mark.slow
def test_noop_runs_once_on_three_wheels(tmp_path: Path) -> None:
    if harness.find_uv() is None:
        pytest.skip(f"uv {harness.UV_VERSION} is not installed next to this python")
    template = Path(__import__("tempfile").gettempdir()) / "varwheel-bench-template"
    if harness.pip_version(template / "bin" / "python") != harness.PIP_VERSION:
        pytest.skip(f"no template venv with pip {harness.PIP_VERSION} (made by a benchmark run)")
    done = _run(
        str(BENCH / "noop.py"),
        *("--samples", "1", "--warmup", "0", "--wheels", "3", "--tools", "varwheel,uv"),
        *("--keep", str(tmp_path / "work"), "--json", str(tmp_path / "n.json")),
    )
    assert done.returncode == 0, done.stderr
    (row,) = harness.rows_from_json(tmp_path / "n.json")
    assert row.title == "no-op: 3 wheels already installed, find-links"
    assert set(row.medians) == {"varwheel", "uv"} and row.ratios["uv"] > 0


def test_missing_peers_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import startup

    monkeypatch.setattr(startup, "find_uv", lambda: None)
    monkeypatch.setattr(startup, "pip_version", lambda python: None)
    assert list(startup.commands("version", sys.executable)) == [
        "varwheel --version",
        "python -c pass",
    ]
    assert list(startup.commands("help", sys.executable)) == ["varwheel --help"]
    monkeypatch.setattr(realworld, "find_uv", lambda: None)
    assert [t.name for t in realworld.select_tools("varwheel,uv,pip")] == ["varwheel", "pip"]


def test_the_import_floor_is_what_an_install_loads(tmp_path: Path) -> None:
    """The floor row imports only modules a real local install also loads, so it is a lower
    bound of an install's start-up, not of something varwheel avoids."""
    import startup
    from helpers.cli import modules_after
    from helpers.envs import make_venv, venv_python

    argvs = startup.commands("floor", sys.executable)
    assert list(argvs) == ["python + the libraries an install imports", "python -c pass"]
    wanted = [m.strip() for m in startup.LIBRARIES.split(",")]
    build_wheel(tmp_path / "links", "floordemo", "1.0")
    python = str(venv_python(make_venv(tmp_path / "venv")))
    install = ("install", "--python", python, "--no-index", "--find-links")
    modules, done = modules_after(*install, str(tmp_path / "links"), "floordemo")
    assert done.returncode == 0, done.stderr
    assert set(wanted) <= modules
    floor = subprocess.run(argvs["python + the libraries an install imports"], check=False)
    assert floor.returncode == 0
