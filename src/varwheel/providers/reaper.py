"""Provider reaper: a tiny intermediate between varwheel and a provider process (stdlib only).

Usage: ``python -I -S reaper.py PARENT_PID COMMAND...``. ``runner.run_isolated`` starts it in a
new session; it runs COMMAND in a process group of its own and, when COMMAND exits or the reaper
is told to stop (SIGTERM from varwheel at the deadline, or varwheel itself dying), kills every
descendant and only then exits.

``setsid`` lets a grandchild leave every process group, so ``killpg`` alone cannot reach it. On
Linux the reaper is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): whatever its
descendants do, an orphan is re-parented to the reaper, which kills its children until it has
none left. The reaper gets SIGTERM when varwheel dies (``PR_SET_PDEATHSIG``) and COMMAND gets
SIGKILL when the reaper dies. Elsewhere it degrades to killing COMMAND's process group.

The reaper's stdout is a status pipe to varwheel: one line ``exit <returncode>`` or
``exec-error <errno>``. COMMAND's stdin and stdout are /dev/null; stderr is the reaper's.
"""

from __future__ import annotations

import os
import sys
import time

try:  # the C module: ``signal`` imports enum, which doubles the reaper's start-up time
    import _signal as signal
except ImportError:  # pragma: no cover - an interpreter without it
    import signal  # type: ignore[no-redef]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SWEEP_LIMIT = 10.0  # seconds; a process stuck in the kernel cannot hold the reaper for ever


class Stop(Exception):
    """varwheel asked the reaper to end the run (deadline, or varwheel went away)."""


class _Prctl:
    """``prctl(option, value)`` through libc (Linux only)."""

    def __init__(self, func: object) -> None:
        self._func = func

    def __call__(self, option: int, value: int) -> int:
        return int(self._func(option, value, 0, 0, 0))  # type: ignore[operator]


def _prctl() -> _Prctl | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return _Prctl(ctypes.CDLL(None, use_errno=True).prctl)
    except (ImportError, OSError, AttributeError):  # pragma: no cover - no usable libc prctl
        return None


def _children() -> list[int]:
    """Pids whose parent is this process (Linux /proc; empty elsewhere)."""
    me = os.getpid()
    found: list[int] = []
    try:
        with open(f"/proc/{me}/task/{me}/children") as handle:
            return [int(pid) for pid in handle.read().split()]
    except OSError:
        pass
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(me):
            found.append(int(entry))
    return found


def sweep(command_pid: int, subreaper: bool) -> None:
    """Kill COMMAND's process group, then every process re-parented to us, until none is left."""
    try:  # noqa: SIM105 - contextlib costs start-up time
        os.killpg(command_pid, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.monotonic() + _SWEEP_LIMIT
    while time.monotonic() < deadline:
        for pid in _children() if subreaper else ():
            try:  # noqa: SIM105 - contextlib costs start-up time
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child at all: every descendant is gone
        if pid == 0:
            time.sleep(0.005)


def _stop(_signum: int, _frame: object) -> None:
    raise Stop


def _status(line: str) -> None:
    try:  # noqa: SIM105 - contextlib costs start-up time
        os.write(1, (line + "\n").encode())
    except OSError:
        pass


def main(argv: list[str]) -> int:
    parent = int(argv[1])
    command = argv[2:]
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # varwheel decides; Ctrl-C reaches it, not us
    prctl = _prctl()
    subreaper = False
    if prctl is not None:
        subreaper = prctl(_PR_SET_CHILD_SUBREAPER, 1) == 0
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # varwheel died before the death signal was armed
        return 1

    guarded = {signal.SIGTERM, signal.SIGHUP}
    pid: int | None = None
    returncode: int | None = None
    try:
        # a stop request during the fork would lose the new pid: hold it until ``pid`` is set
        signal.pthread_sigmask(signal.SIG_BLOCK, guarded)
        try:
            pid, errno = _spawn(command, prctl, guarded)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, guarded)
        if errno is not None:
            pid = None  # already collected by _spawn: nothing to sweep
            _status(f"exec-error {errno}")
            return 127
        _pid, status = os.waitpid(pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if pid is not None:
            sweep(pid, subreaper)
    if returncode is None:
        return 125
    _status(f"exit {returncode}")
    return 0


def _spawn(command: list[str], prctl: _Prctl | None, guarded: set[int]) -> tuple[int, int | None]:
    """fork + exec COMMAND (the reaper is single-threaded, so a plain fork is safe and cheaper
    than importing subprocess); returns its pid and the errno when exec failed."""
    me = os.getpid()
    read_end, write_end = os.pipe()  # close-on-exec: EOF without data means exec succeeded
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, until exec
        try:
            os.close(read_end)
            for signum in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(signum, signal.SIG_DFL)  # as subprocess's restore_signals
            # an empty mask, not just ``guarded`` unblocked: a mask inherited from the thread of
            # varwheel that started the reaper must not reach the provider either
            signal.pthread_sigmask(signal.SIG_SETMASK, ())
            os.setpgid(0, 0)
            if prctl is not None:
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != me:
                os._exit(126)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.execvp(command[0], command)
        except OSError as exc:
            try:  # noqa: SIM105 - contextlib costs start-up time
                os.write(write_end, str(exc.errno or 0).encode())
            except OSError:
                pass
        finally:
            os._exit(127)
    os.close(write_end)
    try:
        data = os.read(read_end, 32)
    finally:
        os.close(read_end)
    if data:
        os.waitpid(pid, 0)
        return pid, int(data) if data.isdigit() else 0
    return pid, None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
