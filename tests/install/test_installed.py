from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from varwheel.install.environment import TargetEnvironment
from varwheel.install.installed import installed_distributions, read_distribution

NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}(\.post[0-9])?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    name=NAMES,
    version=VERSIONS,
    extra=st.lists(
        st.sampled_from(["Summary: x", "Requires-Dist: a>=1", "License: MIT"]), max_size=3
    ),
)
def test_metadata_header_round_trip(name: str, version: str, extra: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dist_info = Path(tmp) / f"whatever-{version}.dist-info"
        dist_info.mkdir()
        headers = ["Metadata-Version: 2.1", *extra, f"Name: {name}", f"Version: {version}"]
        (dist_info / "METADATA").write_text("\n".join(headers) + "\n\nName: not-this\n")
        dist = read_distribution(dist_info)
    assert dist is not None
    assert (dist.name, dist.display_name, dist.version) == (canonicalize_name(name), name, version)
    assert dist.variant_label is None and dist.installer == "" and not dist.requested


def test_unreadable_variant_json_still_marks_a_variant(env: TargetEnvironment) -> None:
    dist_info = env.purelib / "odd-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: odd\nVersion: 1.0\n\n")
    (dist_info / "variant.json").write_text("{not json")
    (env.purelib / "nometa-2.0.dist-info").mkdir()
    (env.purelib / "good-3.0.dist-info").mkdir()
    (env.purelib / "good-3.0.dist-info" / "METADATA").write_text("Name: good\nVersion: 3.0\n\n")
    (env.purelib / "good-3.0.dist-info" / "variant.json").write_text(
        json.dumps({"variants": {"cu128": {"nvidia": {"cuda_version_lower_bound": ["12.8"]}}}})
    )
    dists = installed_distributions(env)
    assert dists["odd"].variant_label == "?"
    assert dists["nometa"].version == "2.0"  # from the directory name
    assert dists["good"].variant_properties == ("nvidia :: cuda_version_lower_bound :: 12.8",)


def test_an_installed_version_past_the_digit_limit_is_left_out(env: TargetEnvironment) -> None:
    """Before: ``installed_from_env`` raised int()'s 4,300-digit ValueError, so every install
    and uninstall in that environment failed."""
    from varwheel.install.installed import installed_from_env

    huge = env.purelib / "huge-1.0.dist-info"
    huge.mkdir()
    (huge / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: huge\nVersion: 1.{'9' * 5000}\n\n"
    )
    good = env.purelib / "good-3.0.dist-info"
    good.mkdir()
    (good / "METADATA").write_text("Metadata-Version: 2.1\nName: good\nVersion: 3.0\n\n")
    assert sorted(installed_from_env(env)) == ["good"]
