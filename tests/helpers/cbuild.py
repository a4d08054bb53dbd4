"""Build small C shared libraries for tests that load vendor libraries through ``ctypes``
(fake NVML, fake Level Zero): the real loader, symbol lookup and calling convention are exercised.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def build_shared_library(directory: Path, source: str, library_name: str) -> Path:
    """Compile ``source`` into ``directory / library_name``; skip the test without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip(f"no C compiler to build {library_name}")
    source_file = directory / f"{library_name}.c"
    source_file.write_text(source)
    library = directory / library_name
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source_file)],
        check=True,
        capture_output=True,
    )
    return library
