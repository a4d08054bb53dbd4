"""Ctrl-C while per-wheel variant.json reads stall: exit 130 at once, not after the read timeout
(the index layer's worker threads are daemon threads, varwheel.threads)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.stall_server import stalling_server
from helpers.wheels import build_wheel, variant_json
from varwheel.cli import exitcodes
from varwheel.index.static import write_static_index
from varwheel.threads import DaemonExecutor

pytestmark = pytest.mark.slow


def test_sigint_during_per_wheel_variant_reads_exits_at_once(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    providers = {"x86_64": {"requires": ["provider-variant-x86-64>=0.0.3"]}}
    for level in ("v2", "v3"):
        doc = variant_json(f"x86_64_{level}", [f"x86_64 :: level :: {level}"], providers=providers)
        build_wheel(dist, "gamma", "1.0", variant=doc)
    root = write_static_index(sorted(dist.iterdir()), tmp_path / "index")  # no variants.json
    with stalling_server(root, stall_on=".whl") as stall:
        proc = subprocess.Popen(
            [sys.executable, "-m", "varwheel", "explain", "--index-url", stall.url, "gamma"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert stall.stalled.wait(20), proc.communicate(timeout=5)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        _, err = proc.communicate(timeout=40)
        elapsed = time.monotonic() - start
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert elapsed < 5


def test_daemon_executor_is_a_thread_pool() -> None:
    with DaemonExecutor(3) as pool:
        assert list(pool.map(lambda x: x * x, range(10))) == [x * x for x in range(10)]
        failing = pool.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failing.result()
