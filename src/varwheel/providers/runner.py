"""Third-party provider plugins: install trusted pins into an isolated venv, query them out of
process with a timeout (PEP 817 §"Security": isolated environments; providers.md §1).

One venv per (pins, target interpreter, index options) lives under the cache dir and is reused
across runs; one worker process per venv answers every query of a session through JSON files.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import ProviderError
from varwheel.providers.cache import PLUGIN_ENVS, mark_cache_dir
from varwheel.providers.trust import TrustedPin

WORKER = Path(__file__).with_name("worker.py")
_COMPLETE = ".varwheel-complete"
INSTALL_TIMEOUT = 300.0


@dataclass(frozen=True)
class PluginSource:
    """Where plugin distributions are installed from (pip options)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def pip_args(self) -> list[str]:
        args: list[str] = ["--no-index"] if self.no_index else []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args


@dataclass(frozen=True)
class PluginQuery:
    namespace: str
    plugin_api: str


@dataclass(frozen=True)
class PluginAnswer:
    """What one plugin returned (raw dicts, validated by the caller) or why it failed."""

    namespace: str
    ok: bool
    error: str = ""
    declared_namespace: str | None = None
    aot: bool = False
    all_configs: tuple[Mapping[str, Any], ...] = ()
    supported_configs: tuple[Mapping[str, Any], ...] = ()


def venv_python(env_dir: Path) -> Path:
    if os.name == "nt":  # pragma: no cover
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def env_key(
    pins: Sequence[TrustedPin],
    python: str,
    source: PluginSource,
    allowed: Sequence[TrustedPin] = (),
) -> str:
    payload = {
        "pins": sorted(str(p) for p in pins),
        "allowed": sorted(str(p) for p in allowed),
        "python": os.path.realpath(python),
        "python_version": _python_version(python),
        "source": [source.index_url, source.extra_index_urls, source.find_links, source.no_index],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


_VERSIONS: dict[str, str] = {}


def _python_version(python: str) -> str:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return sys.version
    if python not in _VERSIONS:
        try:
            out = subprocess.run(
                [python, "-I", "-c", "import sys; print(sys.version)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ProviderError(f"target interpreter {python}: cannot run it: {reason}") from None
        _VERSIONS[python] = out.stdout.strip()
    return _VERSIONS[python]


def ensure_plugin_env(
    pins: Sequence[TrustedPin],
    *,
    python: str,
    source: PluginSource,
    cache_root: Path,
    timeout: float = INSTALL_TIMEOUT,
    allowed: Sequence[TrustedPin] = (),
) -> Path:
    """The venv holding exactly ``pins`` for ``python``; created once, then reused.

    Built in a temporary sibling and renamed into place, so a half-built venv is never used.
    Only wheels are installed (``--only-binary :all:``): a trusted plugin must not drag an
    untrusted build backend along. Pins are installed with ``===``: ``==1.2.3`` would also
    admit a ``1.2.3+anything`` local version from the index (PEP 440). Dependencies may only be
    other trusted pins (``allowed``, passed as constraints); any other distribution pip would
    install fails the build before anything in the venv runs.
    """
    if not pins:
        raise ProviderError("no trusted pins to install")
    allowed = tuple(sorted({*pins, *allowed}))
    envs = cache_root / PLUGIN_ENVS
    final = envs / env_key(pins, python, source, allowed)
    if (final / _COMPLETE).is_file():
        if venv_python(final).exists():
            return final
        shutil.rmtree(final, ignore_errors=True)  # its base interpreter is gone: build it again
    names = ", ".join(str(p) for p in pins)
    try:
        envs.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=envs))
    except OSError as exc:
        raise ProviderError(
            f"cannot create a plugin environment for {names} under {envs}: {exc.strerror or exc}"
        ) from None
    mark_cache_dir(cache_root)
    side = Path(tempfile.mkdtemp(prefix="varwheel-pip-"))
    try:
        constraints = side / "constraints.txt"
        constraints.write_text("".join(f"{p.name}==={p.version}\n" for p in allowed))
        report = side / "report.json"
        host_pip = importlib.util.find_spec("pip") is not None
        venv_cmd = [python, "-m", "venv", *(["--without-pip"] if host_pip else []), str(tmp)]
        _run_checked(venv_cmd, f"creating a venv for {names}", timeout)
        pip = (
            [sys.executable, "-m", "pip", "--python", str(venv_python(tmp))]
            if host_pip
            else [str(venv_python(tmp)), "-m", "pip"]
        )
        install = [
            *pip,
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            "--only-binary",
            ":all:",
            "--constraint",
            str(constraints),
            "--report",
            str(report),
            *source.pip_args(),
            *(f"{p.name}==={p.version}" for p in pins),
        ]
        _run_checked(install, f"installing provider plugin {names}", timeout)
        _check_installed(report, allowed, names)
        (tmp / _COMPLETE).write_text("\n".join(str(p) for p in pins) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / _COMPLETE).is_file():  # lost a race to a broken dir: replace it
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
    finally:
        shutil.rmtree(side, ignore_errors=True)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _check_installed(report: Path, allowed: Sequence[TrustedPin], names: str) -> None:
    """Every distribution pip installed must be a trusted pin, exactly (local labels included)."""
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
        got = [(i["metadata"]["name"], i["metadata"]["version"]) for i in doc["install"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProviderError(f"installing provider plugin {names}: no usable pip report") from exc
    exact = {(p.name, str(p.version)) for p in allowed}
    for name, version in got:
        canonical = canonicalize_name(str(name))
        try:
            normal = str(Version(str(version)))
        except InvalidVersion:
            normal = str(version)
        if (canonical, normal) not in exact:
            raise ProviderError(
                f"installing provider plugin {names}: it needs {canonical} {version}, which is "
                f"not trusted; trust it with --trust-provider '{canonical}=={version}'"
            )


def _run_checked(cmd: list[str], what: str, timeout: float) -> None:
    try:
        result = run_isolated(cmd, timeout=timeout, cwd=None, env=None)
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"{what}: timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise ProviderError(f"{what} failed: cannot run {cmd[0]}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        raise ProviderError(f"{what} failed: {last_line(result.stderr)}")


@dataclass(frozen=True)
class Completed:
    returncode: int
    stderr: str


STDERR_TAIL = 64 * 1024  # bytes of a child's stderr kept for the error line
MAX_RESPONSE = 16 * 1024 * 1024  # a plugin answer is a few KiB; refuse absurd ones unread


def run_isolated(
    cmd: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None,
    env: Mapping[str, str] | None,
) -> Completed:
    """Run ``cmd`` in its own process group; on timeout kill the whole group and re-raise.

    stdout is discarded: answers travel through files only. stderr is drained as it comes and
    only its last :data:`STDERR_TAIL` bytes are kept, so a child printing without end costs
    neither memory nor disk. Whatever the child left running in its group is killed when it
    exits (a plugin must not leave daemons behind).
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    tail = bytearray()
    assert proc.stderr is not None
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    reader.start()
    try:
        returncode = proc.wait(timeout=timeout)
    finally:
        _kill_group(proc)
        reader.join(timeout=2.0)  # a child that escaped the group may hold the pipe open
        proc.stderr.close()
    return Completed(returncode, bytes(tail).decode("utf-8", errors="replace"))


def read_bounded(path: Path, limit: int = MAX_RESPONSE) -> bytes | None:
    """At most ``limit`` bytes of ``path``; None when it holds more (a symlink to /dev/zero,
    a runaway writer). Raises OSError like ``open``."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def _drain(stream: IO[bytes], tail: bytearray) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := stream.read1(65536):
            tail += chunk
            if len(tail) > STDERR_TAIL:
                del tail[: len(tail) - STDERR_TAIL]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"


def query_plugins(
    env_dir: Path, queries: Sequence[PluginQuery], *, timeout: float
) -> dict[str, PluginAnswer]:
    """Ask one worker in ``env_dir`` every query; a dead or hung worker fails them all."""
    python = venv_python(env_dir)
    with tempfile.TemporaryDirectory(prefix="varwheel-plugin-") as work:
        request = Path(work, "request.json")
        response = Path(work, "response.json")
        request.write_text(
            json.dumps(
                {
                    "queries": [
                        {"namespace": q.namespace, "plugin_api": q.plugin_api} for q in queries
                    ]
                }
            )
        )
        cmd = [str(python), "-I", str(WORKER), str(request), str(response)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        try:
            done = run_isolated(cmd, timeout=timeout, cwd=work, env=env)
        except subprocess.TimeoutExpired:
            return _all_failed(queries, f"timed out after {timeout:g} s (killed)")
        except OSError as exc:  # e.g. the venv's base interpreter was removed since
            return _all_failed(
                queries,
                f"cannot run {python}: {exc.strerror or exc} (try 'varwheel cache clear')",
            )
        if done.returncode != 0 or not response.is_file():
            return _all_failed(
                queries,
                f"plugin process exited with code {done.returncode}: {last_line(done.stderr)}",
            )
        data = read_bounded(response)
        if data is None:
            return _all_failed(queries, f"plugin response is larger than {MAX_RESPONSE} bytes")
        try:
            results = json.loads(data.decode("utf-8"))["results"]
        except (ValueError, KeyError, TypeError):
            return _all_failed(queries, "plugin process wrote an unreadable response")
        if not isinstance(results, dict):
            return _all_failed(queries, "plugin process wrote an unreadable response")
    answers: dict[str, PluginAnswer] = {}
    for q in queries:
        raw = results.get(q.namespace)
        if not isinstance(raw, dict):
            answers[q.namespace] = PluginAnswer(
                q.namespace, False, "no answer from the plugin process"
            )
        elif raw.get("ok") and not (
            isinstance(raw.get("all"), list) and isinstance(raw.get("supported"), list)
        ):
            answers[q.namespace] = PluginAnswer(
                q.namespace, False, "plugin process wrote an unreadable answer"
            )
        elif not raw.get("ok"):
            answers[q.namespace] = PluginAnswer(q.namespace, False, str(raw.get("error", "")))
        else:
            answers[q.namespace] = PluginAnswer(
                q.namespace,
                True,
                declared_namespace=_str_or_none(raw.get("namespace")),
                aot=raw.get("aot") is True,
                all_configs=tuple(raw["all"]),
                supported_configs=tuple(raw["supported"]),
            )
    return answers


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _all_failed(queries: Sequence[PluginQuery], reason: str) -> dict[str, PluginAnswer]:
    return {q.namespace: PluginAnswer(q.namespace, False, reason) for q in queries}
