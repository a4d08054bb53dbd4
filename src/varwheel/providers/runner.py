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
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from varwheel.errors import ProviderError
from varwheel.providers.cache import PLUGIN_ENVS, hold_cache, mark_cache_dir
from varwheel.providers.pinlock import InstalledWheel, check_and_record
from varwheel.providers.plugin_source import PluginSource  # re-exported
from varwheel.providers.trust import TrustedPin

WORKER = Path(__file__).with_name("worker.py")
_COMPLETE = ".varwheel-complete"
INSTALL_TIMEOUT = 300.0


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
    hold_cache(cache_root)  # `cache clear` elsewhere waits until this process ends
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
        _run_checked(venv_cmd, f"creating a venv for {names}", timeout, cwd=side)
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
        # cwd: a private dir, so nothing of the directory varwheel runs in (a project) is read
        _run_checked(install, f"installing provider plugin {names}", timeout, cwd=side)
        wheels = _check_installed(report, allowed, names)
        check_and_record(wheels, cache_root)  # the same pin never silently becomes other code
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


def _check_installed(
    report: Path, allowed: Sequence[TrustedPin], names: str
) -> list[InstalledWheel]:
    """Every distribution pip installed must be a trusted pin, exactly (local labels included),
    installed from a wheel whose sha256 pip reports (verified or computed by pip)."""
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
        items = [(i["metadata"]["name"], i["metadata"]["version"], i) for i in doc["install"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ProviderError(f"installing provider plugin {names}: no usable pip report") from exc
    exact = {(p.name, str(p.version)) for p in allowed}
    wheels: list[InstalledWheel] = []
    for name, version, item in items:
        canonical = canonicalize_name(str(name))
        try:
            normal = str(Version(str(version)))
        except (InvalidVersion, ValueError):
            normal = str(version)
        if (canonical, normal) not in exact:
            raise ProviderError(
                f"installing provider plugin {names}: it needs {canonical} {version:.80}, "
                f"which is not trusted; trust it with --trust-provider '{canonical}=={version:.80}'"
            )
        wheels.append(_installed_wheel(canonical, normal, item, names))
    return wheels


def _installed_wheel(name: str, version: str, item: Any, names: str) -> InstalledWheel:
    """The wheel file and its sha256 from one ``install`` entry of pip's report."""
    info = item.get("download_info") if isinstance(item, dict) else None
    url = info.get("url") if isinstance(info, dict) else None
    archive = info.get("archive_info") if isinstance(info, dict) else None
    digest = None
    if isinstance(archive, dict):
        hashes = archive.get("hashes")
        if isinstance(hashes, dict):
            digest = hashes.get("sha256")
        legacy = archive.get("hash")
        if digest is None and isinstance(legacy, str) and legacy.startswith("sha256="):
            digest = legacy[len("sha256=") :]
    if not isinstance(url, str) or not isinstance(digest, str) or len(digest) != 64:
        raise ProviderError(
            f"installing provider plugin {names}: pip did not report the sha256 of the {name} "
            f"wheel it installed (a pip older than 23.1?), so it cannot be checked"
        )
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return InstalledWheel(name, version, filename, digest.lower())


def _run_checked(cmd: list[str], what: str, timeout: float, *, cwd: Path) -> None:
    try:
        result = run_isolated(cmd, timeout=timeout, cwd=cwd, env=None)
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
REAPER = Path(__file__).with_name("reaper.py")
STOP_GRACE = 3.0  # seconds the reaper gets to sweep after the deadline before it is killed
DRAIN_GRACE = 0.5  # seconds to read what is left on stderr once the run is over


def run_isolated(
    cmd: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None,
    env: Mapping[str, str] | None,
) -> Completed:
    """Run ``cmd`` under the reaper (``reaper.py``); raise ``TimeoutExpired`` at the deadline.

    The run ends at ``timeout`` whatever the child does: its pipes are read with a deadline
    (never until EOF, which a grandchild holding stderr could delay for ever), and at the end
    the reaper kills every descendant, including ones that left the process group with
    ``setsid``. stdout is discarded: answers travel through files only. stderr is drained as
    it comes and only its last :data:`STDERR_TAIL` bytes are kept, so a child printing without
    end costs neither memory nor disk.
    """
    if os.name != "posix":  # pragma: no cover - the reaper needs POSIX process groups
        return _run_plain(cmd, timeout=timeout, cwd=cwd, env=env)
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(REAPER), str(os.getpid()), *cmd],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    pipes = _Pipes(proc.stdout.fileno(), proc.stderr.fileno())
    timed_out = False
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if pipes.open:
                pipes.read_until(min(deadline, now + 0.2))
            else:  # both pipes at EOF: only the exit is left to wait for
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(deadline - now, 0.2))
        if not timed_out:
            pipes.read_until(time.monotonic() + DRAIN_GRACE, until_eof=True)
    finally:
        _stop_reaper(proc)  # deadline, Ctrl-C, any error: the reaper sweeps, or dies
        pipes.close()
        proc.stdout.close()
        proc.stderr.close()
    if timed_out:
        raise subprocess.TimeoutExpired(list(cmd), timeout)
    status = bytes(pipes.status).decode("ascii", errors="replace").split()
    stderr = bytes(pipes.tail).decode("utf-8", errors="replace")
    if len(status) == 2 and status[0] == "exec-error" and status[1].isdigit():
        errno = int(status[1])
        raise OSError(errno, os.strerror(errno), cmd[0])
    if len(status) == 2 and status[0] == "exit" and status[1].lstrip("-").isdigit():
        return Completed(int(status[1]), stderr)
    return Completed(proc.returncode if proc.returncode else 1, stderr)  # the reaper failed


class _Pipes:
    """The reaper's status pipe and the child's stderr, read without blocking past a deadline."""

    def __init__(self, status_fd: int, stderr_fd: int) -> None:
        self.status = bytearray()
        self.tail = bytearray()
        self._open = {status_fd: self.status, stderr_fd: self.tail}
        self._selector = selectors.DefaultSelector()
        for fd in self._open:
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)

    def read_until(self, deadline: float, *, until_eof: bool = False) -> None:
        while self._open:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            ready = self._selector.select(remaining)
            for key, _events in ready:
                self._read(key.fd)
            if ready and not until_eof:
                return

    @property
    def open(self) -> bool:
        return bool(self._open)

    def close(self) -> None:
        self._selector.close()

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._selector.unregister(fd)
            del self._open[fd]
            return
        buffer = self._open[fd]
        buffer += chunk
        if len(buffer) > STDERR_TAIL:
            del buffer[: len(buffer) - STDERR_TAIL]


def _run_plain(  # pragma: no cover - non-POSIX fallback: kill the child, nothing else to sweep
    cmd: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None,
    env: Mapping[str, str] | None,
) -> Completed:
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return Completed(proc.returncode, err[-STDERR_TAIL:].decode("utf-8", errors="replace"))


class ResponseRefused(Exception):
    """The response path is not a readable regular file; ``str()`` is one line for the user."""


def read_bounded(path: Path, limit: int = MAX_RESPONSE) -> bytes | None:
    """At most ``limit`` bytes of the regular file ``path``; None when it holds more.

    The path is written by a provider, so it may be anything: it is opened without following
    a symlink and without blocking (a FIFO would otherwise wait for a writer for ever), and
    only a regular file is read. Raises :class:`ResponseRefused` for anything else and
    ``FileNotFoundError`` when it is missing.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if os.path.islink(path):
            raise ResponseRefused("response path is a symlink, not a regular file") from None
        raise ResponseRefused(f"cannot open the response: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResponseRefused(f"response path is {_kind(info.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ResponseRefused(f"cannot read the response: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks) if size <= limit else None


MAX_INT_DIGITS = 4300  # Python's own int-parsing limit (sys.int_info.default_max_str_digits)


class BadAnswer(ValueError):
    """A provider answer is not acceptable JSON; ``str()`` completes "response ..."."""


def _parse_int(text: str) -> int:
    # checked before int(): on an interpreter without the limit, int() of megabytes of digits
    # takes minutes (quadratic)
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadAnswer(f"holds an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def parse_answer(data: bytes) -> Any:
    """Decode a provider's UTF-8 JSON answer; :class:`BadAnswer` for anything unusable
    (invalid UTF-8 or JSON, huge integers, nesting deeper than the interpreter recurses)."""
    try:
        return json.loads(data.decode("utf-8"), parse_int=_parse_int)
    except BadAnswer:
        raise
    except UnicodeDecodeError:
        raise BadAnswer("is not UTF-8") from None
    except RecursionError:
        raise BadAnswer("is nested too deeply") from None
    except ValueError as exc:
        raise BadAnswer(f"is not JSON: {exc}") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _stop_reaper(proc: subprocess.Popen[bytes]) -> None:
    """Ask a running reaper to sweep and exit; kill its process group if it does not."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_GRACE)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"


def query_plugins(
    env_dir: Path, queries: Sequence[PluginQuery], *, timeout: float
) -> dict[str, PluginAnswer]:
    """Ask one worker in ``env_dir`` every query; a dead or hung worker fails them all."""
    python = venv_python(env_dir)
    with tempfile.TemporaryDirectory(prefix="varwheel-plugin-", ignore_cleanup_errors=True) as work:
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
        if done.returncode != 0:
            return _all_failed(
                queries,
                f"plugin process exited with code {done.returncode}: {last_line(done.stderr)}",
            )
        try:
            data = read_bounded(response)
        except FileNotFoundError:
            return _all_failed(queries, "plugin process wrote no response")
        except ResponseRefused as exc:
            return _all_failed(queries, f"plugin process: {exc}")
        if data is None:
            return _all_failed(queries, f"plugin response is larger than {MAX_RESPONSE} bytes")
        try:
            results = parse_answer(data)["results"]
        except (BadAnswer, KeyError, TypeError):
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
