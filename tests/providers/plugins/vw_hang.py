"""Hangs in get_supported_configs, after starting a child that a plain kill would leave behind.

The child's pid goes to $VW_HANG_PIDFILE so the test can check the whole group was killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _configs import Config


def get_all_configs() -> list[Config]:
    return [Config("speed", ["fast", "slow"])]


def get_supported_configs() -> list[Config]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    pidfile = os.environ.get("VW_HANG_PIDFILE")
    if pidfile:
        Path(pidfile).write_text(str(child.pid))
    time.sleep(3600)
    return []
