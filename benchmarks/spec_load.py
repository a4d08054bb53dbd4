#!/usr/bin/env python3
"""Format-core throughput on the real WheelNext index: varwheel against variantlib 0.2.2.

Workloads (perf-anchors.md W5 for the page; the 96 files are ../shared's real index):
  load96     read + load + validate all 96 real ``*-variants.json`` (schema v0.0.3) from bytes
  dump96     load + convert + canonical v0.2.0 bytes (re-validated by our reader) for all 96
  v020       the same 96 documents as v0.2.0 JSON: varwheel ``load_variants_json`` against
             variantlib ``VariantsJson`` (variantlib cannot read v0.0.3; it reads v0.2.0), both
             from the decoded dict
  names      split + validate every wheel filename of the torch page (906 wheels), caches cleared
             first: varwheel ``parse_wheel_filename`` against variantlib's
             ``VALIDATION_WHEEL_NAME_REGEX`` (a match only: no version or tag parsing) and
             packaging's ``parse_wheel_filename`` on the non-variant names it accepts
  names-warm the same with varwheel's parse cache warm (a resolver re-reading the page)
  calib      a fixed pure-Python loop: the machine's speed at that moment
Medians of ``time.perf_counter`` over interleaved repetitions after one warm-up. Exits 0.
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename
from packaging.utils import parse_wheel_filename as packaging_parse
from variantlib.constants import VALIDATION_WHEEL_NAME_REGEX
from variantlib.variants_json import VariantsJson

from varwheel.spec import filenames
from varwheel.spec.metadata import dump_json, load_variants_json

REPO = Path(__file__).resolve().parents[1]
INDEX = REPO.parent / "shared" / "fixtures" / "wheelnext-variants-index-v0.0.3"
REPS = 15
_HREF = re.compile(r'href="[^"]*/([^/"#]+\.whl)')


def _clear_caches() -> None:
    for fn in (filenames._parse_wheel_filename, filenames._parse_version, filenames._expand_tags):
        fn.cache_clear()


def _calib() -> None:
    total = 0
    for i in range(300_000):
        total += i % 7
    assert total > 0


def main() -> int:
    files = sorted(INDEX.glob("*/*-variants.json"))
    raw = [path.read_bytes() for path in files]
    v020 = [json.loads(dump_json(load_variants_json(data))) for data in raw]
    page = (INDEX / "torch" / "index.html").read_text()
    names = sorted(set(_HREF.findall(page)))

    def load96() -> None:
        for data in raw:
            load_variants_json(data)

    def dump96() -> None:
        for data in raw:
            dump_json(load_variants_json(data))

    def ours_v020() -> None:
        for doc in v020:
            load_variants_json(doc)

    def theirs_v020() -> None:
        for doc in v020:
            VariantsJson(doc)

    def names_cold() -> None:
        _clear_caches()
        for name in names:
            filenames.parse_wheel_filename(name)

    def names_warm() -> None:
        for name in names:
            filenames.parse_wheel_filename(name)

    def names_variantlib() -> None:
        for name in names:
            VALIDATION_WHEEL_NAME_REGEX.fullmatch(name)

    def names_packaging() -> None:
        for name in names:
            # packaging rejects variant names (PEP 817 backwards compatibility)
            with contextlib.suppress(InvalidWheelFilename):
                packaging_parse(name)

    steps: dict[str, Callable[[], None]] = {
        "load96": load96,
        "dump96": dump96,
        "v020 varwheel": ours_v020,
        "names varwheel (cold)": names_cold,
        "names varwheel (warm)": names_warm,
        "names packaging": names_packaging,
        "calib": _calib,
        "v020 variantlib": theirs_v020,
        "names variantlib regex": names_variantlib,
    }
    times: dict[str, list[float]] = {key: [] for key in steps}
    for fn in steps.values():
        fn()  # warm-up
    for _ in range(REPS):
        for key, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - start) * 1000)
    labelled = sum(1 for n in names if filenames.parse_wheel_filename(n).label is not None)
    print(f"{len(files)} variants.json files, {len(names)} torch wheels ({labelled} labelled)")
    result: dict[str, Any] = {}
    for key, values in times.items():
        med = statistics.median(values)
        result[key] = med
        print(f"{key:24s} median {med:8.2f} ms  [{min(values):.2f}-{max(values):.2f}]")
    ratio = result["v020 variantlib"] / result["v020 varwheel"]
    print(f"v0.2.0 load: variantlib / varwheel = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
