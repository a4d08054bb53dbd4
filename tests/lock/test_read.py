"""``lock.read`` / ``lock.write``: PEP 751 validation around packaging.pylock, our variant wheel
names, one-line refusals, and byte-identical round trips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.pylock import Pylock, PylockValidationError

from helpers.hostile import HOSTILE_PIECES
from lock.project import build_project, write_profiles
from varwheel.cli.main import main
from varwheel.errors import InvalidInput
from varwheel.lock.model import InvalidLock
from varwheel.lock.read import is_lock_path, parse_lock
from varwheel.lock.write import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def lock_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("readlock")
    build_project(root / "wheels")
    profiles = write_profiles(root / "profiles")
    dest = root / "pylock.toml"
    argv = ["lock", "gpulib", "-q", "-o", str(dest), "--no-index", "-f", str(root / "wheels")]
    for p in profiles.values():
        argv += ["--profile", str(p)]
    mp = pytest.MonkeyPatch()
    mp.setenv("VARWHEEL_CACHE_DIR", str(root / "cache"))
    (root / "config.toml").write_text("")
    mp.setenv("VARWHEEL_CONFIG", str(root / "config.toml"))
    try:
        assert main(argv) == 0
    finally:
        mp.undo()
    return dest.read_text()


def test_packaging_refuses_variant_names_we_accept_them(lock_text: str) -> None:
    doc = tomllib.loads(lock_text)
    with pytest.raises(PylockValidationError, match="Invalid wheel filename"):
        Pylock.from_dict(doc)  # why read.py shows packaging the label-less names
    lock = parse_lock(lock_text)
    gpulib = lock.by_name()["gpulib"]
    assert {w.label for w in gpulib.wheels} == {"cu128", "cu130", "null", None}
    assert lock.requirements == ("gpulib",)
    assert [t.name for t in lock.targets] == ["cpu", "cuda128", "cuda130"]


def test_round_trip_is_byte_identical(lock_text: str) -> None:
    assert dumps(parse_lock(lock_text)) == lock_text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('sha256 = "', 'sha256 = "X', 1), "sha256"),
        (lambda t: t.replace('lock-version = "1.0"', 'lock-version = "2.0"'), "not supported"),
        (
            lambda t: t.replace("[packages.variants-json", "[packages.variants-jsonx"),
            "without [packages.variants-json]",
        ),
        (
            lambda t: t.replace('name = "gpulib-1.0-py3-none-any-cu130.whl"', 'name = "other-1.0-py3-none-any-cu130.whl"'),
            "is not consistent with package name",
        ),
        (lambda t: t.replace('name = "gpulib-1.0-py3-none-any-cu130.whl"', 'name = "gpulib-1.0-py3-none-any-CU.whl"'), "label"),
        (lambda t: t.replace('"$schema" = "https://', '"$schema" = "ftp://'), "variants-json"),
        (lambda t: t.replace('[[packages]]\nname = "gpulib"', '[[packages]]\nname = "GPUlib"'), "not normalized"),
        (lambda t: t + '\n[[packages]]\nname = "common-dep"\nversion = "1.0"\n[packages.archive]\npath = "x.tar.gz"\nhashes = {sha256 = "00"}\n', "no wheels"),
        # checklist 68: [packages.variants-json] only alongside packages.wheels, never with an archive
        (lambda t: t + '\n[[packages]]\nname = "xdep"\nversion = "1.0"\n[packages.archive]\npath = "x.tar.gz"\nhashes = {sha256 = "00"}\n[packages.variants-json]\n"$schema" = "https://variants-schema.wheelnext.dev/v0.2.0.json"\n', "no wheels"),
    ],
)  # fmt: skip
def test_bad_locks_are_one_line_refusals(lock_text: str, edit, message: str) -> None:
    with pytest.raises(InvalidLock) as info:
        parse_lock(edit(lock_text), source="pylock.toml")
    text = str(info.value)
    assert message in text and "\n" not in text and text.startswith("pylock.toml")


@given(
    st.integers(min_value=0, max_value=4000),
    st.integers(min_value=0, max_value=40),
    st.sampled_from(["", '"', "]", "[[packages]]\n", "\x00", "=", *HOSTILE_PIECES[:6]]),
)
def test_mangled_locks_only_raise_invalid_input(
    lock_text: str, at: int, cut: int, piece: str
) -> None:
    at = min(at, len(lock_text))
    mangled = lock_text[:at] + piece + lock_text[at + cut :]
    try:
        parse_lock(mangled)
    except InvalidInput as exc:
        assert "\n" not in str(exc)


def test_lock_file_names() -> None:
    assert is_lock_path("pylock.toml") and is_lock_path(Path("x/pylock.gpu.toml"))
    assert not is_lock_path("requirements.txt") and not is_lock_path("pylock.a.b.toml")


def _many_packages(n: int) -> str:
    parts = ['lock-version = "1.0"\ncreated-by = "x"\n']
    for i in range(n):
        parts.append(
            f'[[packages]]\nname = "p{i}"\nversion = "1.0"\n[[packages.wheels]]\n'
            f'name = "p{i}-1.0-py3-none-any.whl"\nurl = "https://x.invalid/p{i}-1.0-py3-none-any.whl"\n'
            f'hashes = {{sha256 = "{"a" * 64}"}}\n'
        )
    return "".join(parts)


def test_reading_a_huge_lock_is_linear() -> None:
    """The duplicate check counted every name in the list for every name (quadratic: 16,000
    packages took 9x as long as 4,000); a hostile lock must not buy minutes of CPU."""
    import time

    def best(text: str) -> float:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            parse_lock(text)
            times.append(time.perf_counter() - start)
        return min(times)

    small, big = best(_many_packages(4000)), best(_many_packages(16000))
    assert big < 6 * small, (small, big)  # linear: ~4x


def test_a_package_listed_twice_with_other_versions_is_one_line(lock_text: str) -> None:
    extra = (
        '\n[[packages]]\nname = "common-dep"\nversion = "0.5"\n[[packages.wheels]]\n'
        'name = "common_dep-0.5-py3-none-any.whl"\npath = "w/common_dep-0.5-py3-none-any.whl"\n'
        f'hashes = {{sha256 = "{"a" * 64}"}}\n'
    )
    with pytest.raises(
        InvalidLock, match=r"^pylock.toml: package 'common-dep' is listed more than once$"
    ):
        parse_lock(lock_text + extra, source="pylock.toml")
