"""Providers that misbehave on purpose: escaping grandchildren, odd response paths, hostile JSON.

Every case runs real processes: tiny Python scripts as external commands, and a real plugin wheel
in a real plugin venv. A run that could hang on a broken varwheel happens in a separate Python
process with its own deadline, so the test fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from packaging.markers import default_environment

from helpers.wheels import build_wheel
from varwheel.errors import ProviderError
from varwheel.providers.detect import ProviderOptions, ProviderSession
from varwheel.providers.external import ExternalFailure, query_external
from varwheel.providers.runner import PluginSource, ensure_plugin_env
from varwheel.providers.trust import parse_pin
from varwheel.spec.model import ProviderInfo, VariantMetadata

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

# A daemon: leaves the session (setsid), forks again, keeps the inherited stderr open, sleeps.
DAEMON = textwrap.dedent(
    """
    import os, sys, time
    os.setsid()
    if os.fork():
        os._exit(0)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(600)
    """
)

SPAWN = textwrap.dedent(
    """
    import os, subprocess, sys, time

    def spawn_daemon(pidfile, daemon):
        # stderr (fd 2) is inherited: the daemon holds varwheel's pipe open
        subprocess.Popen([sys.executable, "-c", daemon, pidfile], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.01)
    """
)

EXTERNAL = SPAWN + textwrap.dedent(
    """
    import json
    mode, pidfile, daemon = sys.argv[1], sys.argv[2], sys.argv[3]
    request = sys.argv[sys.argv.index("--request") + 1]
    response = sys.argv[sys.argv.index("--response") + 1]
    ns = json.load(open(request))["namespace"]
    answer = {"namespace": ns, "configs": [{"name": "chip", "values": ["a1"]}]}
    if mode in ("exit", "hang"):
        spawn_daemon(pidfile, daemon)
        if mode == "hang":
            time.sleep(600)
        json.dump(answer, open(response, "w"))
    elif mode == "fifo":
        os.mkfifo(response)
    elif mode == "directory":
        os.mkdir(response)
    elif mode == "symlink":
        target = pidfile + ".answer.json"
        json.dump(answer, open(target, "w"))
        os.symlink(target, response)
    elif mode == "deep":
        open(response, "w").write("[" * 200_000 + "]" * 200_000)
    elif mode == "deep-object":
        open(response, "w").write('{"namespace": "%s", "configs": %s}'
                                  % (ns, "[" * 200_000 + "]" * 200_000))
    elif mode == "bigint":
        open(response, "w").write('{"namespace": "%s", "configs": [], "n": %s}' % (ns, "7" * 5000))
    elif mode == "bigint-value":
        open(response, "w").write(
            '{"namespace": "%s", "configs": [{"name": "chip", "values": [%s]}]}' % (ns, "9" * 5000)
        )
    """
)

PLUGIN = SPAWN + textwrap.dedent(
    """
    import atexit, contextlib, json

    def get_all_configs():
        return [{"name": "speed", "values": ["fast", "slow"], "multi_value": False}]

    def _replace_response(kind):
        response = sys.argv[2]  # the worker's RESPONSE argument
        with open(os.environ["VW_ESCAPE_TARGET"], "w") as f:
            f.write('{"results": {"escape": {"ok": true, "namespace": null, "aot": false, '
                    '"all": [], "supported": []}}}')
        with contextlib.suppress(OSError):
            os.remove(response)
        if kind == "fifo":
            os.mkfifo(response)
        else:
            os.symlink(os.environ["VW_ESCAPE_TARGET"], response)

    def get_supported_configs():
        mode = os.environ.get("VW_ESCAPE_MODE", "")
        if mode in ("exit", "hang"):
            spawn_daemon(os.environ["VW_ESCAPE_PIDFILE"], os.environ["VW_ESCAPE_DAEMON"])
            if mode == "hang":
                time.sleep(600)
        elif mode == "unprintable":
            raise ValueError(10**5000)  # str() of it fails: past the 4300-digit limit
        elif mode in ("fifo", "symlink"):
            # after the worker has written its answer, put something else at the path
            atexit.register(_replace_response, mode)
        return [{"name": "speed", "values": ["slow"], "multi_value": False}]
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        return "\nState:\tZ" not in status.read_text()
    return False


def _dead_soon(pid: int, within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@contextlib.contextmanager
def _reaping(pidfile: Path):
    """Whatever the test finds, no daemon of it outlives the test."""
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def _in_varwheel(code: str, tmp_path: Path, *, limit: float, env: dict[str, str] | None = None):
    """Run ``code`` in a fresh Python process (a varwheel run) with a hard deadline.

    Returns (json printed by the code, seconds the code itself took); fails the test when the
    process is still running at ``limit``.
    """
    out = tmp_path / "result.json"
    script = (
        textwrap.dedent(code)
        + f"\nimport json\nopen({str(out)!r}, 'w').write(json.dumps(RESULT))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"varwheel was still running after {limit:g} s")
    assert proc.returncode == 0, proc.returncode
    return json.loads(out.read_text())


# -- external commands -----------------------------------------------------------------------


@pytest.fixture
def external(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "provider.py"
    script.write_text(EXTERNAL)
    return script, tmp_path / "daemon.pid"


def _external_argv(script: Path, mode: str, pidfile: Path) -> tuple[str, ...]:
    return (sys.executable, str(script), mode, str(pidfile), DAEMON)


@pytest.mark.parametrize("mode", ["exit", "hang"])
def test_an_external_command_is_killed_on_time_with_a_setsid_daemon(
    external: tuple[Path, Path], tmp_path: Path, mode: str
) -> None:
    script, pidfile = external
    timeout = 3.0
    code = f"""
        import time
        from varwheel.providers.external import ExternalFailure, query_external
        start = time.monotonic()
        try:
            RESULT = {{"ok": query_external("tpu", {_external_argv(script, mode, pidfile)!r},
                                            "get_all_configs", timeout={timeout})}}
        except ExternalFailure as exc:
            RESULT = {{"error": str(exc)}}
        RESULT["seconds"] = time.monotonic() - start
    """
    with _reaping(pidfile):
        result = _in_varwheel(code, tmp_path, limit=40)
        daemon = int(pidfile.read_text())
        assert _dead_soon(daemon), "the setsid daemon outlived varwheel"
    if mode == "exit":
        assert result["ok"] == [{"name": "chip", "values": ["a1"]}]
    else:
        assert result["error"] == f"timed out after {timeout:g} s (killed)"
    assert result["seconds"] < timeout + 4


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fifo", "response path is a FIFO, not a regular file"),
        ("directory", "response path is a directory, not a regular file"),
        ("symlink", "response path is a symlink, not a regular file"),
    ],
)
def test_an_odd_response_path_is_refused_without_blocking(
    external: tuple[Path, Path], tmp_path: Path, mode: str, message: str
) -> None:
    script, pidfile = external
    code = f"""
        from varwheel.providers.external import ExternalFailure, query_external
        try:
            RESULT = query_external("tpu", {_external_argv(script, mode, pidfile)!r},
                                    "get_all_configs", timeout=10)
        except ExternalFailure as exc:
            RESULT = str(exc)
    """
    assert _in_varwheel(code, tmp_path, limit=30) == message


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("deep", "response is nested too deeply"),
        ("deep-object", "response is nested too deeply"),
        ("bigint", "response holds an integer of more than 4300 digits"),
        ("bigint-value", "response holds an integer of more than 4300 digits"),
    ],
)
def test_hostile_json_is_one_warning_or_one_strict_error(
    external: tuple[Path, Path], mode: str, message: str
) -> None:
    script, pidfile = external
    argv = _external_argv(script, mode, pidfile)
    with pytest.raises(ExternalFailure) as caught:
        query_external("tpu", argv, "get_all_configs", timeout=10)
    assert str(caught.value) == message
    md = VariantMetadata(
        namespace_priorities=("tpu",),
        providers={"tpu": ProviderInfo("tpu", requires=("tpu-variant-provider>=1",))},
    )
    warnings: list[str] = []
    options = ProviderOptions(external={"tpu": argv}, cache=False, on_warning=warnings.append)
    support = ProviderSession(options).detect(md, target_env=default_environment())
    assert support.unavailable["tpu"] == message
    assert len(warnings) == 1 and "\n" not in warnings[0] and message in warnings[0]
    strict = ProviderOptions(external={"tpu": argv}, cache=False, strict=True)
    with pytest.raises(ProviderError, match=message):
        ProviderSession(strict).detect(md, target_env=default_environment())


# -- trusted plugin workers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def escape_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("escape-house")
    build_wheel(house, "vw-escape-plugin", "1.0.0", files={"vw_escape.py": PLUGIN})
    return ensure_plugin_env(
        [parse_pin("vw-escape-plugin==1.0.0")],
        python=sys.executable,
        source=PluginSource(no_index=True, find_links=(str(house),)),
        cache_root=tmp_path_factory.mktemp("escape-cache"),
    )


def _query_code(env_dir: Path, timeout: float) -> str:
    return f"""
        import time
        from pathlib import Path
        from varwheel.providers.runner import PluginQuery, query_plugins
        start = time.monotonic()
        answer = query_plugins(Path({str(env_dir)!r}), [PluginQuery("escape", "vw_escape")],
                               timeout={timeout})["escape"]
        RESULT = {{"ok": answer.ok, "error": answer.error,
                   "supported": list(answer.supported_configs),
                   "seconds": time.monotonic() - start}}
    """


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exit", "hang"])
def test_a_plugin_worker_is_killed_on_time_with_a_setsid_daemon(
    escape_env: Path, tmp_path: Path, mode: str
) -> None:
    pidfile = tmp_path / "daemon.pid"
    timeout = 4.0
    env = {
        "VW_ESCAPE_MODE": mode,
        "VW_ESCAPE_PIDFILE": str(pidfile),
        "VW_ESCAPE_DAEMON": DAEMON,
    }
    with _reaping(pidfile):
        result = _in_varwheel(_query_code(escape_env, timeout), tmp_path, limit=40, env=env)
        assert _dead_soon(int(pidfile.read_text())), "the setsid daemon outlived varwheel"
    if mode == "exit":
        assert result["ok"], result["error"]
        assert result["supported"] == [{"name": "speed", "values": ["slow"], "multi_value": False}]
    else:
        assert result == {**result, "ok": False, "error": f"timed out after {timeout:g} s (killed)"}
    assert result["seconds"] < timeout + 4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fifo", "plugin process: response path is a FIFO, not a regular file"),
        ("symlink", "plugin process: response path is a symlink, not a regular file"),
    ],
)
def test_a_plugin_cannot_swap_the_response_file(
    escape_env: Path, tmp_path: Path, mode: str, message: str
) -> None:
    env = {"VW_ESCAPE_MODE": mode, "VW_ESCAPE_TARGET": str(tmp_path / "elsewhere.json")}
    result = _in_varwheel(_query_code(escape_env, 20), tmp_path, limit=40, env=env)
    assert (result["ok"], result["error"]) == (False, message)


def test_killing_varwheel_mid_run_kills_the_provider_and_its_daemon(
    external: tuple[Path, Path], tmp_path: Path
) -> None:
    script, pidfile = external
    code = f"""
        from varwheel.providers.external import query_external
        query_external("tpu", {_external_argv(script, "hang", pidfile)!r}, "get_all_configs",
                       timeout=300)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], start_new_session=True)
    with _reaping(pidfile):
        deadline = time.monotonic() + 30
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        daemon = int(pidfile.read_text())
        proc.kill()  # SIGKILL: varwheel cannot clean up; the reaper must
        proc.wait()
        assert _dead_soon(daemon, within=5), "the daemon outlived a killed varwheel"


@pytest.mark.slow
def test_an_unprintable_plugin_exception_fails_only_its_namespace(
    escape_env: Path, tmp_path: Path
) -> None:
    result = _in_varwheel(
        _query_code(escape_env, 20), tmp_path, limit=40, env={"VW_ESCAPE_MODE": "unprintable"}
    )
    assert (result["ok"], result["error"]) == (False, "ValueError: (unprintable exception)")
