"""varwheel.codecache: dataclasses built from cached code are the classes built without it; a
damaged or foreign file is ignored; only the command line installs it; --no-cache writes none."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from varwheel import codecache
from varwheel.codecache import CodeCache

pytestmark = pytest.mark.skipif(not codecache.supported(), reason="CPython 3.10-3.12 only")


def _shapes() -> list[type]:
    """Dataclasses of every shape the generator has a branch for."""

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        """doc"""

        a: int
        b: str = "x"
        c: tuple[int, ...] = ()
        d: list[int] = dataclasses.field(default_factory=list, compare=False, repr=False)

    @dataclasses.dataclass
    class Plain:
        a: int
        b: dataclasses.InitVar[int] = 0
        c: int = dataclasses.field(init=False, default=3)
        k: ClassVar[int] = 1

        def __post_init__(self, b: int) -> None:
            self.c = self.a + b

    @dataclasses.dataclass(order=True, unsafe_hash=True)
    class Ordered:
        x: float
        y: float = 0.0

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Slotted:
        name: str
        size: int = 0

    @dataclasses.dataclass(eq=False, repr=False)
    class Bare:
        v: Any

    @dataclasses.dataclass(frozen=True)
    class Child(Frozen):
        e: int = 5

    return [Frozen, Plain, Ordered, Slotted, Bare, Child]


_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__")


def _methods(cls: type) -> dict[str, Any]:
    out = {}
    for name in _METHODS:
        fn = cls.__dict__.get(name)
        code = getattr(fn, "__code__", None)
        if code is not None:
            out[name] = (
                code,
                fn.__defaults__,
                fn.__kwdefaults__,
                fn.__annotations__,
                fn.__qualname__,
            )
    return out


def _build(monkeypatch: pytest.MonkeyPatch, cache: CodeCache | None) -> list[type]:
    with monkeypatch.context() as patch:
        if cache is not None:
            patch.setattr(dataclasses, "exec", cache.exec, raising=False)
        return _shapes()


def _behaviour(classes: list[type]) -> list[object]:
    frozen, plain, ordered, slotted, bare, child = classes
    f = frozen(1, d=[2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.a = 2  # type: ignore[misc]
    return [
        repr(f), f == frozen(1, d=[9]), hash(f) == hash(frozen(1)), dataclasses.astuple(f),
        repr(plain(1, 2)), plain(1, 2).c, ordered(1.0) < ordered(2.0), hash(ordered(1.0, 2.0)),
        repr(slotted(name="n")), slotted(name="n") == slotted(name="n"), bare(1) == bare(1),
        repr(child(1)), [f.name for f in dataclasses.fields(child)],
    ]  # fmt: skip


def test_classes_from_cached_code_are_the_same_classes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = _build(monkeypatch, None)
    filling = CodeCache(tmp_path / "startup" / "f")
    filled = _build(monkeypatch, filling)
    assert filling.added > 20
    filling.save()
    reading = CodeCache(tmp_path / "startup" / "f")
    reading.load()
    assert len(reading.codes) == len(filling.codes)
    cached = _build(monkeypatch, reading)
    assert reading.added == 0  # every method came from the file
    for a, b, c in zip(plain, filled, cached, strict=True):
        assert _methods(a) == _methods(b) == _methods(c), a.__name__
        assert a.__doc__ == b.__doc__ == c.__doc__
        assert a.__match_args__ == c.__match_args__
    assert _behaviour(plain) == _behaviour(filled) == _behaviour(cached)


def _write(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


_HOSTILE_IDS = [
    "foreign", "damaged", "empty", "wrong-types", "not-a-dict", "world-writable", "fifo",
    "directory", "symlink",
]  # fmt: skip


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _write(p, b"not ours"),
        lambda p: _write(p, codecache._MAGIC + b"\xff\x00garbage"),
        lambda p: _write(p, codecache._MAGIC),
        lambda p: _write(p, codecache._MAGIC + __import__("marshal").dumps({"x": 1})),
        lambda p: _write(p, codecache._MAGIC + __import__("marshal").dumps([1, 2])),
        lambda p: _write(p, codecache._MAGIC + __import__("marshal").dumps({}), 0o666),
        lambda p: (p.parent.mkdir(parents=True), os.mkfifo(p)),
        lambda p: (p.parent.mkdir(parents=True), p.mkdir()),
        lambda p: (_write(p.with_name("real"), codecache._MAGIC + b"{"), p.symlink_to("real")),
    ],
    ids=_HOSTILE_IDS,
)
def test_a_file_that_is_not_ours_and_whole_is_ignored(
    make: Callable[[Path], object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "startup" / "f"
    make(path)
    cache = CodeCache(path)
    cache.load()
    assert cache.codes == {}
    assert _behaviour(_build(monkeypatch, cache)) == _behaviour(_shapes())


def test_a_world_writable_file_with_good_code_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = CodeCache(tmp_path / "startup" / "f")
    _build(monkeypatch, good)
    good.save()
    good.path.chmod(0o622)
    again = CodeCache(good.path)
    again.load()
    assert again.codes == {}


def _run(args: list[str], cache_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VARWHEEL_CACHE_DIR=str(cache_dir))
    env.pop("VARWHEEL_NO_CACHE", None)
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args], capture_output=True, text=True, env=env
    )


def test_the_command_line_fills_it_and_no_cache_writes_none(tmp_path: Path) -> None:
    done = _run(["detect", "--json", "--no-cache"], tmp_path / "none")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "none" / "startup").exists()
    done = _run(["detect", "--json"], tmp_path / "c")
    assert done.returncode == 0, done.stderr
    (written,) = (tmp_path / "c" / "startup").iterdir()
    assert written.name.startswith("dataclass-code-") and written.stat().st_mode & 0o077 == 0
    info = _run(["cache", "info", "--json"], tmp_path / "c")
    assert "startup_code" in info.stdout, info.stdout
    cleared = _run(["cache", "clear"], tmp_path / "c")
    assert cleared.returncode == 0, cleared.stderr
    assert not written.exists()


def test_the_library_never_installs_it() -> None:
    probe = "import dataclasses, varwheel.api; print('exec' in vars(dataclasses))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
