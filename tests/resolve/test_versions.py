"""Version choice before any wheel is looked at: pre-releases, yanked files, requires-python."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from varwheel.index.models import IndexFile
from varwheel.resolve.candidates import group_releases
from varwheel.resolve.finder import select_versions, usable_files

PY312 = Version("3.12.1")


def files(*specs: tuple[str, dict]) -> list[IndexFile]:
    return [IndexFile(name, f"http://127.0.0.1/{name}", **kw) for name, kw in specs]


def versions(page: list[IndexFile], spec: str = "", **kw) -> list[str]:
    releases = group_releases("demo", page)
    opts = {"pinned": False, "allow_prereleases": False, "python_version": PY312} | kw
    return [str(v) for v in select_versions(releases, SpecifierSet(spec), **opts)]


def test_newest_first_and_prereleases_only_when_needed_or_asked() -> None:
    page = files(
        ("demo-1.0-py3-none-any.whl", {}),
        ("demo-2.0b1-py3-none-any.whl", {}),
        ("demo-1.5-py3-none-any.whl", {}),
    )
    assert versions(page) == ["1.5", "1.0"]
    assert versions(page, allow_prereleases=True) == ["2.0b1", "1.5", "1.0"]
    assert versions(page, ">=2.0b1") == ["2.0b1"]  # nothing final matches: pre-release used
    assert versions(page, ">1.9") == ["2.0b1"]


def test_yanked_only_when_pinned() -> None:
    page = files(
        ("demo-1.0-py3-none-any.whl", {}),
        ("demo-2.0-py3-none-any.whl", {"yanked": True}),
    )
    assert versions(page) == ["1.0"]
    assert versions(page, "==2.0", pinned=True) == ["2.0"]


def test_partially_yanked_release_stays() -> None:
    page = files(
        ("demo-2.0-py3-none-any.whl", {"yanked": True}),
        ("demo-2.0.tar.gz", {}),
    )
    assert versions(page) == ["2.0"]


def test_requires_python_respected_per_file() -> None:
    page = files(
        ("demo-1.0-py3-none-any.whl", {"requires_python": ">=3.8"}),
        ("demo-2.0-py3-none-any.whl", {"requires_python": ">=3.13"}),
        ("demo-3.0-py3-none-any.whl", {"requires_python": "not a specifier"}),
    )
    assert versions(page) == ["3.0", "1.0"]


def test_other_projects_and_junk_links_ignored() -> None:
    page = files(
        ("demo-1.0-py3-none-any.whl", {}),
        ("other-9.0-py3-none-any.whl", {}),
        ("demo-notaversion.tar.gz", {}),
        ("README.txt", {}),
        ("demo-1.0-variants.json", {}),
    )
    releases = group_releases("Demo", page)
    assert list(releases) == [Version("1.0")]
    assert releases[Version("1.0")].variants_json is not None


def test_usable_files_drop_yanked_and_other_pythons() -> None:
    page = files(
        ("demo-2.0-py3-none-any.whl", {"yanked": True}),
        ("demo-2.0-cp313-cp313-any.whl", {"requires_python": ">=3.13"}),
        ("demo-2.0.tar.gz", {}),
    )
    release = usable_files(group_releases("demo", page)[Version("2.0")], PY312)
    assert release.wheels == () and [f.filename for f in release.sdists] == ["demo-2.0.tar.gz"]
    # a fully yanked release (pinned) keeps its files
    yanked = files(("demo-3.0-py3-none-any.whl", {"yanked": True}))
    release = usable_files(group_releases("demo", yanked)[Version("3.0")], PY312)
    assert [f.filename for f, _ in release.wheels] == ["demo-3.0-py3-none-any.whl"]


@settings(max_examples=150)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.from_regex(
                r"(demo|Demo|other)-[0-9a-z.!+]{1,8}(-[0-9]+)?-(py3|cp312)-(none|abi3)-any"
                r"(-[a-z0-9_.]{1,6})?\.whl",
                fullmatch=True,
            ),
            st.from_regex(
                r"(demo|other)-[0-9.a-z]{1,6}(\.tar\.gz|-variants\.json)", fullmatch=True
            ),
        ),
        max_size=12,
    )
)
def test_group_releases_never_fails_and_keeps_only_the_project(names: list[str]) -> None:
    page = [IndexFile(n, "http://127.0.0.1/x") for n in names]
    for version, release in group_releases("demo", page).items():
        assert release.version == version
        assert all(wf.project == "demo" and wf.version == version for _, wf in release.wheels)
        assert release.wheels or release.sdists
