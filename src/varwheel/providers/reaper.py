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

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SWEEP_LIMIT = 10.0  # seconds; a process stuck in the kernel cannot hold the reaper for ever


class Stop(Exception):
    """varwheel asked the reaper to end the run (deadline, or varwheel went away)."""


def _prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None

    def call(option: int, value: int) -> int:
        return int(func(option, value, 0, 0, 0))

    return call


def _children() -> list[int]:
    """Pids whose parent is this process (Linux /proc; empty elsewhere)."""
    me = os.getpid()
    found: list[int] = []
    with contextlib.suppress(OSError), open(f"/proc/{me}/task/{me}/children") as handle:
        return [int(pid) for pid in handle.read().split()]
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
    with contextlib.suppress(OSError):
        os.killpg(command_pid, signal.SIGKILL)
    deadline = time.monotonic() + _SWEEP_LIMIT
    while time.monotonic() < deadline:
        for pid in _children() if subreaper else ():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child at all: every descendant is gone
        if pid == 0:
            time.sleep(0.005)


def _stop(_signum: int, _frame: object) -> None:
    raise Stop


def _status(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(1, (line + "\n").encode())


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

    def child_setup() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, guarded)
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    proc: subprocess.Popen[bytes] | None = None
    returncode: int | None = None
    try:
        # a stop request while Popen forks would lose the new pid: hold it until ``proc`` is set
        signal.pthread_sigmask(signal.SIG_BLOCK, guarded)
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                preexec_fn=child_setup,  # the reaper is single-threaded: safe
            )
        except OSError as exc:
            _status(f"exec-error {exc.errno or 0}")
            return 127
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, guarded)
        returncode = proc.wait()
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if proc is not None:
            sweep(proc.pid, subreaper)
    if returncode is None:
        return 125
    _status(f"exit {returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
