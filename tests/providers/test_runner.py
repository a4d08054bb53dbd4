"""The plugin runner with real wheels, a real venv and real worker processes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugins.wheelhouse import TEST_PLUGINS, PluginPaths, shared_paths

from helpers.wheels import build_wheel
from varwheel.errors import ProviderError
from varwheel.providers.runner import (
    STDERR_TAIL,
    BadAnswer,
    PluginQuery,
    PluginSource,
    ensure_plugin_env,
    env_key,
    last_line,
    parse_answer,
    query_plugins,
    run_isolated,
)
from varwheel.providers.trust import parse_pin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def plugin_paths(
    tmp_path_factory: pytest.TempPathFactory, variantlib_outputs_dir: Path
) -> PluginPaths:
    return shared_paths(tmp_path_factory.getbasetemp(), variantlib_outputs_dir / "wheels")


@pytest.fixture(scope="session")
def test_env(plugin_paths: PluginPaths) -> Path:
    return ensure_plugin_env(
        [parse_pin(TEST_PLUGINS)],
        python=sys.executable,
        source=plugin_paths.source(),
        cache_root=plugin_paths.cache_root,
    )


def _ask(env: Path, ns: str, api: str, timeout: float = 20.0):
    return query_plugins(env, [PluginQuery(ns, api)], timeout=timeout)[ns]


def test_toy_plugin_from_fixture_wheel(
    plugin_paths: PluginPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = ensure_plugin_env(
        [parse_pin("toy-variant-provider==0.1.0")],
        python=sys.executable,
        source=plugin_paths.source(),
        cache_root=plugin_paths.cache_root,
    )
    monkeypatch.setenv("TOY_LEVEL", "2")
    monkeypatch.setenv("TOY_ACCEL", "rocm6,cuda12")
    answer = _ask(env, "toy", "toy_variant_provider")
    assert answer.ok, answer.error
    assert answer.declared_namespace == "toy"
    assert [(c["name"], c["values"]) for c in answer.supported_configs] == [
        ("level", ["v2", "v1"]),
        ("accel", ["rocm6", "cuda12"]),
    ]
    assert {c["name"] for c in answer.all_configs} == {"level", "accel"}


def test_env_is_reused_not_rebuilt(test_env: Path, plugin_paths: PluginPaths) -> None:
    built = (test_env / "pyvenv.cfg").stat().st_mtime_ns
    again = ensure_plugin_env(
        [parse_pin(TEST_PLUGINS)],
        python=sys.executable,
        source=plugin_paths.source(),
        cache_root=plugin_paths.cache_root,
    )
    assert again == test_env
    assert (test_env / "pyvenv.cfg").stat().st_mtime_ns == built  # not rebuilt
    assert not list(test_env.parent.glob(".build-*"))  # no half-built venvs left behind


def test_env_key_depends_on_pins_interpreter_and_index() -> None:
    pins = [parse_pin("a==1")]
    base = env_key(pins, sys.executable, PluginSource())
    assert env_key([parse_pin("a==2")], sys.executable, PluginSource()) != base
    assert (
        env_key(pins, sys.executable, PluginSource(index_url="http://127.0.0.1:1/simple")) != base
    )
    assert env_key(pins, sys.executable, PluginSource()) == base


def test_one_worker_answers_every_query(test_env: Path) -> None:
    queries = [
        PluginQuery("noisy", "vw_noisy"),
        PluginQuery("legacy", "vw_legacy:V003Plugin"),
        PluginQuery("oldest", "vw_legacy:V001Plugin"),
        PluginQuery("modern", "vw_legacy : V02Plugin"),
        PluginQuery("crash", "vw_crash"),
    ]
    answers = query_plugins(test_env, queries, timeout=20)
    assert [c["values"] for c in answers["noisy"].supported_configs] == [["slow"], ["blue", "red"]]
    assert answers["legacy"].declared_namespace == "legacy"
    assert answers["legacy"].aot is False
    assert answers["legacy"].supported_configs[0]["values"] == ["three", "one"]
    assert answers["oldest"].supported_configs == (
        {"name": "gen", "values": ["one"], "multi_value": False},
    )
    assert answers["modern"].aot is True and answers["modern"].declared_namespace is None
    assert not answers["crash"].ok
    assert answers["crash"].error == "RuntimeError: detection library exploded"


def test_stdout_noise_does_not_break_the_exchange(test_env: Path) -> None:
    answer = _ask(test_env, "noisy", "vw_noisy")
    assert answer.ok, answer.error
    assert answer.all_configs[1] == {
        "name": "color",
        "values": ["red", "blue"],
        "multi_value": True,
    }


def test_wrong_types_are_reported(test_env: Path) -> None:
    answer = _ask(test_env, "bad", "vw_badtypes")
    assert not answer.ok
    assert "get_supported_configs()[0].values must be a list of str" in answer.error


@pytest.mark.parametrize(
    "api",
    [
        "no_such_plugin_module",
        "json",  # stdlib: importable, but no trusted distribution provides it
        "antigravity",  # would open a web browser on import
        "vw_noisy.__builtins__",  # a submodule path that is not a module
    ],
)
def test_only_modules_of_the_trusted_distributions_are_imported(test_env: Path, api: str) -> None:
    answer = _ask(test_env, "ghost", api)
    assert not answer.ok
    if "." in api:
        assert answer.error.startswith(
            "ModuleNotFoundError: No module named 'vw_noisy.__builtins__'"
        )
    else:
        assert answer.error == (
            f"plugin-api module {api!r} is not provided by the trusted plugin distributions"
        )


def test_dead_worker_fails_all_its_queries(test_env: Path) -> None:
    answers = query_plugins(
        test_env, [PluginQuery("exit", "vw_exit"), PluginQuery("noisy", "vw_noisy")], timeout=20
    )
    for ns in ("exit", "noisy"):
        assert not answers[ns].ok
        assert answers[ns].error == "plugin process exited with code 7: fatal: segfault simulated"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_hang_is_killed_with_its_process_group(
    test_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("VW_HANG_PIDFILE", str(pidfile))
    start = time.perf_counter()
    answer = _ask(test_env, "hang", "vw_hang", timeout=1.5)
    elapsed = time.perf_counter() - start
    assert not answer.ok
    assert answer.error == "timed out after 1.5 s (killed)"
    assert elapsed < 5
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_install_failure_is_a_provider_error(plugin_paths: PluginPaths, tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=r"installing provider plugin not-there==9\.9 failed"):
        ensure_plugin_env(
            [parse_pin("not-there==9.9")],
            python=sys.executable,
            source=plugin_paths.source(),
            cache_root=tmp_path,
        )
    assert not list((tmp_path / "plugin-envs").iterdir())


@pytest.fixture(scope="module")
def pin_house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugin with a look-alike local version and a dependency with a newer release."""
    house = tmp_path_factory.mktemp("pin-house")
    for version, mark in (("1.0.0", "pinned"), ("1.0.0+evil", "local")):
        build_wheel(
            house,
            "vw-pinned",
            version,
            files={"vw_pinned.py": f"MARK = {mark!r}\n"},
            requires_dist=["vw-dep>=1"],
        )
    for version in ("1.0", "9.0"):
        build_wheel(house, "vw-dep", version, files={"vw_dep.py": f"V = {version!r}\n"})
    return house


def _installed(env: Path) -> dict[str, str]:
    site = next(env.glob("lib/python*/site-packages"))
    found = (p.name[: -len(".dist-info")].split("-") for p in site.glob("*.dist-info"))
    return {name: version for name, version in found}


def test_pins_are_exact_and_dependencies_must_be_pinned_too(
    pin_house: Path, tmp_path: Path
) -> None:
    source = PluginSource(no_index=True, find_links=(str(pin_house),))
    pin = parse_pin("vw-pinned==1.0.0")
    # pip alone would install vw-dep 9.0: an unpinned dependency is refused, nothing is kept
    with pytest.raises(ProviderError, match=r"needs vw-dep 9\.0, which is not trusted; trust it"):
        ensure_plugin_env([pin], python=sys.executable, source=source, cache_root=tmp_path)
    assert not list((tmp_path / "plugin-envs").iterdir())
    allowed = [pin, parse_pin("vw-dep==1.0")]
    env = ensure_plugin_env(
        [pin], python=sys.executable, source=source, cache_root=tmp_path, allowed=allowed
    )
    # ==1.0.0 would have picked 1.0.0+evil (PEP 440 ignores local labels); dep is the pinned one
    assert _installed(env) == {"vw_pinned": "1.0.0", "vw_dep": "1.0"}
    assert "pinned" in next(env.glob("lib/python*/site-packages/vw_pinned.py")).read_text()
    # the venv's base interpreter disappears (a Python upgrade): the env is built again
    python = env / "bin" / "python"
    python.unlink()
    python.symlink_to(tmp_path / "removed-base-python")
    again = ensure_plugin_env(
        [pin], python=sys.executable, source=source, cache_root=tmp_path, allowed=allowed
    )
    assert again == env and python.exists()


def test_stderr_is_bounded_and_keeps_the_last_line(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "for _ in range(400):\n"
        "    sys.stderr.write('x' * 65535 + '\\n')\n"
        "sys.stderr.write('the real reason\\n')\n"
        "sys.exit(3)\n"
    )
    done = run_isolated([sys.executable, "-c", script], timeout=30, cwd=tmp_path, env=None)
    assert done.returncode == 3
    assert len(done.stderr) <= STDERR_TAIL
    assert last_line(done.stderr) == "the real reason"


def test_children_left_behind_are_killed_when_the_process_exits(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'],"
        " stderr=subprocess.DEVNULL)\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
    )
    start = time.perf_counter()
    done = run_isolated([sys.executable, "-c", script], timeout=30, cwd=tmp_path, env=None)
    assert done.returncode == 0 and time.perf_counter() - start < 10
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_an_unusable_cache_dir_is_a_provider_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ProviderError, match=r"cannot create a plugin environment for a==1"):
        ensure_plugin_env(
            [parse_pin("a==1")], python=sys.executable, source=PluginSource(), cache_root=blocker
        )


def test_a_missing_target_interpreter_is_a_provider_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    with pytest.raises(ProviderError, match=r"target interpreter .*no-python: cannot run it"):
        ensure_plugin_env(
            [parse_pin("a==1")], python=missing, source=PluginSource(), cache_root=tmp_path
        )


def test_a_plugin_env_whose_python_is_gone_fails_its_queries(tmp_path: Path) -> None:
    broken = tmp_path / "env"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").symlink_to(tmp_path / "removed-base-python")
    answers = query_plugins(broken, [PluginQuery("a", "a"), PluginQuery("b", "b")], timeout=5)
    for ns in ("a", "b"):
        assert not answers[ns].ok
        assert "cannot run" in answers[ns].error and "varwheel cache clear" in answers[ns].error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_child_gets_clean_signals_and_its_own_exit_status(tmp_path: Path) -> None:
    """The reaper in between is invisible: no ignored or blocked signals leak into the child
    (Python ignores SIGPIPE; the reaper ignores SIGINT), and exit codes and deaths by signal
    come back as if varwheel had started the child itself."""
    script = "grep -E 'SigIgn|SigBlk' /proc/self/status >&2; exit 3"
    done = run_isolated(["sh", "-c", script], timeout=30, cwd=tmp_path, env=None)
    assert done.returncode == 3
    masks = dict(zip(done.stderr.split()[::2], done.stderr.split()[1::2], strict=True))
    # signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): no program can block, ignore or
    # handle them, and glibc itself may leave them blocked across a fork in a threaded parent
    glibc_internal = (1 << 31) | (1 << 32)
    assert {name: int(mask, 16) & ~glibc_internal for name, mask in masks.items()} == {
        "SigBlk:": 0,
        "SigIgn:": 0,
    }
    killed = run_isolated(["sh", "-c", "kill -9 $$"], timeout=30, cwd=tmp_path, env=None)
    assert killed.returncode == -9
    with pytest.raises(FileNotFoundError):
        run_isolated([str(tmp_path / "missing")], timeout=30, cwd=tmp_path, env=None)


_json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(
    st.one_of(
        st.binary(max_size=64),
        _json_ish.map(lambda doc: json.dumps(doc).encode()),
        st.integers(1, 400_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(4290, 9000).map(lambda n: b'{"n": -' + b"7" * n + b"}"),
    )
)
def test_parse_answer_returns_a_value_or_one_line(data: bytes) -> None:
    try:
        parse_answer(data)
    except BadAnswer as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300
