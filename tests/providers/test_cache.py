"""The on-disk provider cache: keys, atomic writes, expiry, clearing, and invalidation by
override variables (variantlib's cache ignores them: fixtures/.../scripts/cachebug.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from packaging.markers import default_environment

from varwheel.fsutil import atomic_write
from varwheel.providers.cache import (
    ANSWERS,
    AnswerCache,
    InterpreterId,
    answer_key,
    cache_info,
    cache_root,
    clear_cache,
)
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.spec.model import ProviderInfo, VariantMetadata

PY = InterpreterId("cpython", "3.11.9", "/usr/bin/python3.11")


def _key(**changes: object) -> str:
    args: dict[str, object] = {
        "provider": "nvidia",
        "version": "0.0.2",
        "interpreter": PY,
        "env_values": {"NV_VARIANT_PROVIDER_FORCE_SM_ARCH": None},
        "fingerprint": "abc",
    }
    args.update(changes)
    return answer_key(**args)  # type: ignore[arg-type]


def test_key_covers_every_input() -> None:
    base = _key()
    assert _key() == base
    others = [
        _key(provider="amd"),
        _key(version="0.0.3"),
        _key(interpreter=InterpreterId("cpython", "3.12.1", PY.executable)),
        _key(interpreter=InterpreterId("pypy", PY.version, PY.executable)),
        _key(interpreter=InterpreterId("cpython", PY.version, "/opt/venv/bin/python")),
        _key(env_values={"NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "9.0"}),
        _key(env_values={"NV_VARIANT_PROVIDER_FORCE_SM_ARCH": ""}),
        _key(fingerprint="abd"),
    ]
    assert len({base, *others}) == len(others) + 1


def test_root_from_env_or_platformdirs(tmp_path: Path) -> None:
    assert cache_root({"VARWHEEL_CACHE_DIR": str(tmp_path)}) == tmp_path
    default = cache_root({})
    assert default.name == "varwheel" and default.is_absolute()


def test_put_get_and_expiry(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path)
    assert cache.get("k") is None
    cache.put("k", [{"name": "level", "values": ["v3"], "multi_value": False}])
    assert cache.get("k") == [{"name": "level", "values": ["v3"], "multi_value": False}]
    assert AnswerCache(tmp_path, max_age=0.0).get("k") is None
    path = tmp_path / ANSWERS / "k.json"
    doc = json.loads(path.read_text())
    doc["created"] = time.time() - 10
    path.write_text(json.dumps(doc))
    assert AnswerCache(tmp_path, max_age=5).get("k") is None
    assert AnswerCache(tmp_path, max_age=60).get("k") is not None


def test_corrupt_entries_are_misses(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path)
    (tmp_path / ANSWERS).mkdir(parents=True)
    (tmp_path / ANSWERS / "torn.json").write_text('{"format": 1, "crea')
    (tmp_path / ANSWERS / "old.json").write_text('{"format": 0, "created": 1e12, "value": 1}')
    (tmp_path / ANSWERS / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / ANSWERS / "bigint.json").write_text('{"format": 1, "created": ' + "9" * 5000 + "}")
    assert cache.get("torn") is None
    assert cache.get("old") is None
    assert cache.get("deep") is None
    assert cache.get("bigint") is None


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.toml"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.toml"]


def test_info_and_clear(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    assert cache_info(root).answers == 0
    cache = AnswerCache(root)
    cache.put("a", 1)
    cache.put("b", 2)
    (root / "plugin-envs" / "0123").mkdir(parents=True)
    (root / "index-downloads").mkdir()
    (root / "index-downloads" / "x.whl").write_bytes(b"x" * 100)
    info = cache_info(root)
    assert (info.location, info.answers, info.plugin_envs) == (root, 2, 1)
    assert info.size_bytes >= 100
    removed = clear_cache(root)
    assert removed.answers == 2
    # tagged dir: emptied (the lock file stays: another run may be waiting on it)
    assert sorted(p.name for p in root.iterdir()) == [".lock", "CACHEDIR.TAG"]
    assert cache_info(root).answers == 0


def test_clear_of_a_foreign_directory_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / ANSWERS).mkdir()
    (tmp_path / ANSWERS / "a.json").write_text("{}")
    (tmp_path / "precious.txt").write_text("keep")
    clear_cache(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]
    assert clear_cache(tmp_path / "missing").answers == 0


NVIDIA_MD = VariantMetadata(
    namespace_priorities=("nvidia",),
    providers={"nvidia": ProviderInfo("nvidia", requires=("nvidia-variant-provider>=0.0.1",))},
)


def _nvidia(cache_dir: Path) -> tuple[dict[str, tuple[str, ...]], bool]:
    session = ProviderSession(ProviderOptions(cache_dir=cache_dir))
    support = session.detect(NVIDIA_MD, target_env=default_environment())
    (result,) = [r for r in session.results() if r.namespace == "nvidia"]
    return dict(support.properties["nvidia"]), result.cached


def test_changing_a_force_variable_invalidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    first, cached = _nvidia(tmp_path)
    assert not cached
    assert first["sm_arch"][0] == "90_real"
    again, cached = _nvidia(tmp_path)  # a new session (= a new run) reads the disk cache
    assert cached and again == first
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "12.0")
    changed, cached = _nvidia(tmp_path)
    assert not cached
    assert changed["sm_arch"][0] == "120_real"
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.6")
    older, cached = _nvidia(tmp_path)
    assert not cached and older["cuda_version_lower_bound"][0] == "12.6"
    assert cache_info(tmp_path).answers == 3


def test_no_cache_option_neither_reads_nor_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    session = ProviderSession(ProviderOptions(cache=False, cache_dir=tmp_path))
    assert session.detect(NVIDIA_MD, target_env=default_environment()).properties["nvidia"]
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "value", ["not a list", [{"name": "sm_arch"}], [{"name": "bad name!", "values": ["x"]}], [7]]
)
def test_a_damaged_answer_is_recomputed_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION", "12.8")
    monkeypatch.setenv("NV_VARIANT_PROVIDER_FORCE_SM_ARCH", "9.0")
    first, _ = _nvidia(tmp_path)
    (entry,) = (tmp_path / "provider-answers").glob("*.json")
    doc = json.loads(entry.read_text())
    doc["value"] = value  # well-formed envelope, hostile payload
    entry.write_text(json.dumps(doc))
    session = ProviderSession(ProviderOptions(cache_dir=tmp_path))
    support = session.detect(NVIDIA_MD, target_env=default_environment())
    assert dict(support.properties["nvidia"]) == first
    assert session.warnings == []
    assert json.loads(entry.read_text())["value"] != value  # rewritten with the fresh answer


@pytest.mark.parametrize("created", ["NaN", "Infinity", "-Infinity", "1e30", "true", '"now"'])
def test_entries_with_impossible_timestamps_are_misses(tmp_path: Path, created: str) -> None:
    (tmp_path / ANSWERS).mkdir(parents=True)
    (tmp_path / ANSWERS / "k.json").write_text(
        f'{{"format": 1, "created": {created}, "value": []}}'
    )
    assert AnswerCache(tmp_path).get("k") is None


def test_held_cache_locks_are_bounded_per_process(tmp_path: Path) -> None:
    """Every cache root used holds a lock descriptor for the process; a process that uses many
    roots (a test run) keeps only the newest ones open, and clearing its own held root works."""
    from varwheel.providers.cache import _MAX_HELD, hold_cache

    before = len(os.listdir("/proc/self/fd"))
    for i in range(3 * _MAX_HELD):
        hold_cache(tmp_path / f"root{i}")
    assert len(os.listdir("/proc/self/fd")) <= before + _MAX_HELD
    root = tmp_path / f"root{3 * _MAX_HELD - 1}"
    AnswerCache(root).put("a", 1)
    assert clear_cache(root).answers == 1  # this process's shared lock does not block it
