"""varwheel.safeparse: Python's own limits (int() digits, recursion, NUL in paths) as values."""

from __future__ import annotations

import gc
import json
import threading

import pytest

from varwheel.safeparse import (
    TomlError,
    json_int,
    long_number,
    path_problem,
    paused_gc,
    toml_loads,
    too_long_number_reason,
)

HUGE = "1" + "0" * 4400


def test_long_numbers_are_found_only_past_the_limit() -> None:
    assert long_number("x" * 10_000) is None
    assert long_number("1" * 4300) is None
    assert long_number("1" * 4301) == "111111111111...(4301 digits)"
    assert too_long_number_reason(f"a>={HUGE}") == (
        "a number with more than 4300 digits (100000000000...(4401 digits))"
    )
    assert long_number("1_" * 4301) is not None  # TOML and int() both skip underscores


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"a = {HUGE}", "holds a number with more than 4300 digits"),
        ("a = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        (b"a = 1\xff", "not UTF-8 text"),
        ('a = "\x00"', "Illegal character"),
        ("a = ", "Invalid value"),
    ],
)
def test_toml_failures_are_one_line_toml_errors(text: str | bytes, reason: str) -> None:
    with pytest.raises(TomlError) as err:
        toml_loads(text)
    assert reason in str(err.value) and "\n" not in str(err.value)


def test_toml_error_is_a_value_error_and_tomllib_waits_until_toml_is_read() -> None:
    """TomlError is a ValueError (not tomllib's class: importing tomllib costs every command's
    start-up, and most commands read no TOML)."""
    import subprocess
    import sys

    with pytest.raises(ValueError, match="digits"):
        toml_loads(f"a = {HUGE}")
    assert toml_loads(b"a = 1") == {"a": 1}
    probe = "import sys, varwheel.safeparse; print('tomllib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_json_int_never_raises() -> None:
    assert json.loads("[1, -2]", parse_int=json_int) == [1, -2]
    assert json.loads(HUGE, parse_int=json_int) == float("inf")


def test_path_problems() -> None:
    assert path_problem("a/b") is None
    assert path_problem("a\x00b") == "the path contains a NUL byte"
    assert path_problem("a\ud800") is not None


def test_paused_gc_nests_and_restores() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()


def test_paused_gc_across_threads() -> None:
    inside = threading.Event()
    release = threading.Event()

    def worker() -> None:
        with paused_gc():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(10)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the worker is still inside
    release.set()
    thread.join(10)
    assert gc.isenabled()
