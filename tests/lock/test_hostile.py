"""A lock committed in a cloned repository is untrusted input: ``install -r pylock.toml`` must
refuse, in one line and before anything is written, whatever would read the wrong files, block,
never end, leak a local file's digest, or depend on where it runs (docs/lock.md "Hostile locks")."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.cli import isolate_cli
from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel
from lock.project import build_project, write_profiles
from varwheel.cli.main import main
from varwheel.lock.model import InvalidLock
from varwheel.lock.read import parse_lock

CU130 = "gpulib-1.0-py3-none-any-cu130.whl"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "wheels"
    build_project(root)
    # a dependency cycle: cyc-a -> cyc-b -> cyc-a (legal in Python packaging)
    build_wheel(root, "cyc-a", "1.0", requires_dist=["cyc-b"])
    build_wheel(root, "cyc-b", "1.0", requires_dist=["cyc-a>=1"])
    return root


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_cli(tmp_path, monkeypatch, drop_env_prefixes=("NV_VARIANT_PROVIDER_",))


@pytest.fixture
def project(tmp_path: Path, wheels: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``project/pylock.toml`` with its wheels in ``project/wheels`` (relative ``path``s)."""
    root = tmp_path / "project"
    shutil.copytree(wheels, root / "wheels")
    profiles = write_profiles(root / "profiles")
    code, _, err = run(
        capsys, "lock", "gpulib", "-q", "-o", str(root / "pylock.toml"), "--no-index",
        "-f", str(root / "wheels"), *[a for p in profiles.values() for a in ("--profile", str(p))],
    )  # fmt: skip
    assert code == 0, err
    return root


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Turn a hang (the bug: open() on a FIFO, reading /dev/zero) into a test failure."""

    def fail(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def install(capsys, project: Path, venv: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys, "install", "-r", str(project / "pylock.toml"), "--python", str(venv),
        "--profile", str(project / "profiles" / "cuda130.toml"), *extra,
    )  # fmt: skip


def installed_names(venv: Path) -> set[str]:
    site = next((venv / "lib").glob("python*/site-packages"))
    return {
        d.name[: -len(".dist-info")].rsplit("-", 1)[0].replace("_", "-").lower()
        for d in site.glob("*.dist-info")
    }


def edit(project: Path, old: str, new: str) -> None:
    lock = project / "pylock.toml"
    text = lock.read_text()
    assert old in text
    lock.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    "location",
    [
        'path = "/etc/passwd"',
        'path = "../../../../../../../../etc/passwd"',
        'url = "file:///etc/passwd"',
        'url = "FILE:///etc/passwd"',  # schemes are case-insensitive (RFC 3986)
        'path = "wheels/gpulib-1.0-py3-none-any-cu128.whl"',  # another listed wheel
    ],
)
def test_a_local_path_must_end_with_the_wheels_name(capsys, project, venv, location) -> None:
    """PEP 751 allows absolute and ``..`` paths (uv writes both), so they stay allowed; but a
    local file is read before its hash is known to match: it must at least be named as the
    wheel, so a lock cannot point varwheel at /etc/passwd."""
    edit(project, f'path = "wheels/{CU130}"', location)
    before = snapshot_tree(venv)
    code, _, err = install(capsys, project, venv)
    assert code == 2, err
    assert f"is not a file named {CU130}" in err and err.count("\n") == 1, err
    assert snapshot_tree(venv) == before


def test_a_wheel_name_is_a_bare_file_name(capsys, project, venv) -> None:
    edit(project, f'name = "{CU130}"', f'name = "../../{CU130}"')
    code, _, err = install(capsys, project, venv)
    assert code == 2 and "contains a path separator" in err, err


@pytest.mark.parametrize("scheme", ["file", "File"])
def test_a_file_url_on_another_host_is_not_read_locally(capsys, project, venv, scheme) -> None:
    """RFC 8089: ``file://host/path`` names a file on ``host``; the old code read ``/path``."""
    edit(project, f'path = "wheels/{CU130}"', f'url = "{scheme}://evil.example/tmp/{CU130}"')
    code, _, err = install(capsys, project, venv)
    assert code == 2 and "file: URL on host 'evil.example' is not a local file" in err, err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_named_as_the_wheel_is_refused_at_once(
    capsys, project, venv, kind
) -> None:
    """A FIFO blocked open() forever; /dev/zero (behind a symlink with the wheel's name) was
    copied into the temporary directory until the disk was full."""
    victim = project / "wheels" / CU130
    victim.unlink()
    if kind == "fifo":
        os.mkfifo(victim)
    else:
        victim.symlink_to("/dev/zero")
    before = snapshot_tree(venv)
    with deadline(20):
        code, _, err = install(capsys, project, venv)
    assert code == 2 and "is not a regular file; nothing installed" in err, err
    assert snapshot_tree(venv) == before


def test_a_symlinked_file_is_hashed_but_its_digest_not_shown(capsys, project, venv) -> None:
    """Symlinks are followed (a wheel directory may be a link farm), the target's bytes are
    what is checked; a mismatch must not print the digest of whatever file it points at."""
    secret = project.parent / "secret.txt"
    secret.write_text("hunter2\n")
    victim = project / "wheels" / CU130
    victim.unlink()
    victim.symlink_to(secret)
    code, out, err = install(capsys, project, venv)
    assert code == 1 and "tampered" in err, err
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in err
    assert "Installing" not in out, out  # nothing is announced before every file checked out


def test_a_file_larger_than_locked_is_refused_while_reading(capsys, project, venv) -> None:
    text = (project / "pylock.toml").read_text()
    size = (project / "wheels" / CU130).stat().st_size
    block = text[text.index(f'path = "wheels/{CU130}"') :]
    assert block.splitlines()[1] == f"size = {size}"
    edit(project, f'path = "wheels/{CU130}"\nsize = {size}', f'path = "wheels/{CU130}"\nsize = 10')
    code, _, err = install(capsys, project, venv)
    assert code == 1 and "is larger than the 10 bytes the lock says" in err, err


def test_malformed_markers_in_the_lock_are_one_clean_line(capsys, project, venv) -> None:
    good = (project / "pylock.toml").read_text()
    lock = project / "pylock.toml"
    cases = [
        ('"common-dep>=1",', '"common-dep>=1; variant_label ==",', "gpulib: invalid marker"),
        ('environments = [', 'environments = [ "python_version >>",', "environments[0]: Expected"),
        ('requirements = [\n    "gpulib",', 'requirements = [\n    "gpulib; os_name ==",',
         "tool.varwheel.requirements: 'gpulib; os_name =='"),
    ]  # fmt: skip
    for old, new, message in cases:
        assert old in good
        lock.write_text(good.replace(old, new, 1))
        code, _, err = install(capsys, project, venv, "--dry-run")
        assert code == 2 and message in err, err
        line = err.strip().splitlines()[-1]
        assert line.count(str(lock)) == 1 and "\\n" not in line and "^" not in line, line


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('created-by = "varwheel"', 'requires-python = ">=3.{n}"\ncreated-by = "varwheel"'),
        ("environments = [", 'environments = [ "python_version > \\"3.{n}\\"",'),
        ('requirements = [\n    "gpulib",', 'requirements = [\n    "gpulib>=1.{n}",'),
        ('"common-dep>=1",', '"common-dep>=1.{n}",'),
    ],
)
def test_over_long_numbers_anywhere_are_refused_naming_the_lock(project, old, new) -> None:
    """packaging compares versions as ints: 4,301 digits were a bare ValueError (the CLI's
    generic 'the input has an integer...' line, not naming the file) or passed parsing."""
    text = (project / "pylock.toml").read_text()
    assert old in text
    with pytest.raises(InvalidLock) as info:
        parse_lock(text.replace(old, new.replace("{n}", "9" * 5000), 1), source="pylock.toml")
    assert str(info.value).startswith("pylock.toml: holds a number with more than")


def test_a_dependency_cycle_installs_once(capsys, tmp_path, wheels, venv) -> None:
    lock = tmp_path / "pylock.toml"
    code, _, err = run(
        capsys, "lock", "cyc-a", "-q", "-o", str(lock), "--no-index", "-f", str(wheels)
    )
    assert code == 0, err
    code, out, err = run(capsys, "install", "-r", str(lock), "--python", str(venv))
    assert code == 0, err
    assert out.count("Installing cyc-a") == 1 and out.count("Installing cyc-b") == 1


def test_the_lock_does_not_depend_on_the_working_directory(
    capsys, tmp_path, wheels, monkeypatch
) -> None:
    """Profiles and find-links are recorded relative to the lock (as its wheel paths are): the
    old code recorded them as spelled (relative to the cwd), so the bytes changed with the cwd
    and ``lock --check`` from the lock's own directory could not find the profiles."""
    shutil.copytree(wheels, tmp_path / "wheels")
    profiles = write_profiles(tmp_path / "profiles")
    (tmp_path / "sub").mkdir()
    flags = [
        "--no-index",
        "-q",
        "--profile",
        "profiles/cpu.toml",
        "--profile",
        "profiles/cuda130.toml",
    ]
    assert run(capsys, "lock", "gpulib", "-o", "sub/pylock.toml", "-f", "wheels", *flags)[0] == 0
    first = (tmp_path / "sub" / "pylock.toml").read_bytes()
    assert b'profile = "../profiles/cpu.toml"' in first and b'"../wheels"' in first
    monkeypatch.chdir(tmp_path / "sub")
    code, _, err = run(capsys, "lock", "--check")
    assert code == 0, err
    monkeypatch.chdir("/")
    absolute = [str(tmp_path / "sub" / "pylock.toml"), "-f", str(tmp_path / "wheels")]
    flags = [*flags[:2], "--profile", str(profiles["cpu"]), "--profile", str(profiles["cuda130"])]
    assert run(capsys, "lock", "gpulib", "-o", *absolute, *flags)[0] == 0
    assert (tmp_path / "sub" / "pylock.toml").read_bytes() == first


@pytest.mark.skipif(sys.platform == "win32", reason="PYTHONHASHSEED subprocesses, POSIX paths")
def test_the_lock_does_not_depend_on_the_hash_seed(tmp_path, wheels) -> None:
    import subprocess

    shutil.copytree(wheels, tmp_path / "wheels")
    write_profiles(tmp_path / "profiles")
    out = []
    for seed in ("1", "2"):
        name = f"pylock.s{seed}.toml"
        argv = [sys.executable, "-m", "varwheel", "lock", "gpulib", "-q", "-o", name,
                "--no-index", "-f", "wheels", "--profile", "profiles/cpu.toml",
                "--profile", "profiles/cuda128.toml", "--profile", "profiles/cuda130.toml"]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        out.append((tmp_path / name).read_bytes())
    assert out[0] == out[1]


def test_sync_keeps_the_tools_and_what_they_need(capsys, tmp_path, project, venv) -> None:
    """sync removes what the lock does not select, but never pip/setuptools/wheel/varwheel:
    nor what they require as installed (the old code removed ``packaging`` from under an
    installed varwheel, breaking it)."""
    tools = tmp_path / "tools"
    build_wheel(
        tools, "varwheel", "99.0", requires_dist=["vw-needs>=1", 'vw-win; sys_platform == "win32"']
    )
    # a variant marker (PEP 825) packaging cannot parse: kept, to be safe
    build_wheel(
        tools, "vw-needs", "1.0", requires_dist=["vw-deeper", 'vw-gpu; variant_label == "x"']
    )
    build_wheel(tools, "vw-gpu", "1.0")
    build_wheel(tools, "vw-deeper", "1.0")
    build_wheel(tools, "vw-win", "1.0")
    build_wheel(tools, "stray", "1.0")
    names = ["varwheel", "vw-needs", "vw-deeper", "vw-gpu", "vw-win", "stray"]
    code, _, err = run(
        capsys, "install", "--python", str(venv), "--no-index", "-f", str(tools), *names
    )
    assert code == 0, err
    lock = project / "pylock.toml"
    code, _, err = run(
        capsys, "sync", str(lock), "--python", str(venv), "--profile", str(project / "profiles" / "cpu.toml")
    )  # fmt: skip
    assert code == 0, err
    got = installed_names(venv)
    assert {"varwheel", "vw-needs", "vw-deeper", "vw-gpu"} <= got, got
    assert "stray" not in got and "vw-win" not in got, got  # a marker that fails here: not needed


@pytest.mark.parametrize("moves", ["1", "commit"])
def test_ctrl_c_during_sync_exits_130_and_leaves_a_consistent_environment(
    capsys, project, venv, moves
) -> None:
    """SIGINT while sync moves files into place: exit 130, one line; before the commit the
    environment is exactly as it was (nothing installed, nothing removed yet), after it the
    new set is whole and the extraneous packages are still there (removal is a second
    transaction, docs/lock.md); a rerun finishes the job."""
    import subprocess

    from varwheel.install import transaction

    lock = str(project / "pylock.toml")
    profile = ["--profile", str(project / "profiles" / "cuda130.toml")]
    cpu = ["--profile", str(project / "profiles" / "cpu.toml")]
    assert run(capsys, "install", "-r", lock, "--python", str(venv), *cpu)[0] == 0
    before = snapshot_tree(venv)
    env = {**os.environ, transaction.CRASH_ENV: moves, transaction.CRASH_SIGNAL_ENV: "SIGINT"}
    proc = subprocess.run(
        [sys.executable, "-m", "varwheel", "sync", lock, "--python", str(venv), *profile],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.splitlines()[-1] == "varwheel: error: interrupted"
    assert "Traceback" not in proc.stderr
    if moves != "commit":
        assert snapshot_tree(venv) == before
    code, _, err = run(capsys, "sync", lock, "--python", str(venv), *profile)
    assert code == 0, err
    code, out, _ = run(capsys, "sync", lock, "--python", str(venv), *profile)
    assert code == 0 and "Nothing to do" in out


def test_a_package_requires_python_excluding_the_target_is_refused(capsys, project, venv) -> None:
    """PEP 751 ``packages.requires-python``: "an error MUST be raised if it isn't" satisfied
    (the old code ignored it and installed)."""
    edit(
        project,
        'name = "common-dep"\nversion = "1.0"\n',
        'name = "common-dep"\nversion = "1.0"\nrequires-python = ">=3.99"\n',
    )
    before = snapshot_tree(venv)
    code, _, err = install(capsys, project, venv)
    assert code == 1 and "common-dep 1.0 requires Python >=3.99, the target has" in err, err
    assert snapshot_tree(venv) == before


def test_lock_records_requires_python_and_refuses_a_target_it_excludes(capsys, tmp_path) -> None:
    """A find-links directory has no ``data-requires-python``, so the resolver picked
    ``dual 2.0`` (Requires-Python >=3.99) for a 3.11 target too, and the lock installed it
    there; now the wheels' own Requires-Python is recorded and checked per target."""
    links = tmp_path / "links"
    build_wheel(links, "dual", "1.0")
    build_wheel(links, "dual", "2.0", requires_python=">=3.99")
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    base = ["lock", "dual", "-q", "--no-index", "-f", str(links)]
    code, _, err = run(
        capsys,
        *base,
        "-o",
        "pylock.both.toml",
        "--python-version",
        here,
        "--python-version",
        "3.99",
    )
    assert code == 1 and err.count("\n") == 1, err
    # the resolver reads the wheel's own Requires-Python for the 3.11 target and refuses it
    assert "dual-2.0-py3-none-any.whl: requires Python >=3.99" in err
    assert f"the target is Python {here}" in err
    assert not (tmp_path / "pylock.both.toml").exists()
    assert run(capsys, *base, "-o", "pylock.new.toml", "--python-version", "3.99")[0] == 0
    text = (tmp_path / "pylock.new.toml").read_text()
    assert 'name = "dual"\nversion = "2.0"\nrequires-python = ">=3.99"\n' in text


def test_the_verified_bytes_are_the_ones_installed(capsys, project, venv, monkeypatch) -> None:
    """TOCTOU: each local wheel is copied into a private temporary directory while it is
    hashed; the checks and the install read that copy, so swapping the file next to the lock
    after the hash check changes nothing."""
    from varwheel.lock.source import LockSource

    real_download = LockSource.download_many
    source = project / "wheels" / CU130
    swapped: list[bool] = []

    def fetch_then_swap(self, files, dest, progress=None):  # the attacker wins the race
        paths = real_download(self, files, dest, progress)  # right after the hashed copy
        shutil.copy(project / "wheels" / "gpulib-1.0-py3-none-any-cu128.whl", source)
        swapped.append(True)
        return paths

    monkeypatch.setattr(LockSource, "download_many", fetch_then_swap)
    code, _, err = install(capsys, project, venv)
    assert code == 0, err
    assert swapped  # the install went through the lock's source
    site = next((venv / "lib").glob("python*/site-packages"))
    assert '"cu130"' in (site / "gpulib-1.0.dist-info" / "variant.json").read_text()


def test_a_newer_minor_lock_version_warns_naming_the_file(capsys, project, venv) -> None:
    """PEP 751: warn on an unknown minor version (packaging printed a bare, unprefixed log
    line), refuse an unknown major one (test_read: ``lock-version = "2.0"``)."""
    edit(project, 'lock-version = "1.0"', 'lock-version = "1.1"')
    code, _, err = install(capsys, project, venv, "--dry-run")
    assert code == 0, err
    lock = project / "pylock.toml"
    assert err.splitlines()[0] == (
        f"varwheel: warning: {lock}: lock-version 1.1 is newer than 1.0, the version varwheel "
        "reads: keys it added are ignored"
    )
    assert "pylock minor version" not in err


@pytest.mark.parametrize(
    "url",
    ["ftp://evil.example/{name}", "data:application/zip;base64,AAAA/{name}", "gopher://x/{name}"],
)
def test_only_http_https_and_file_urls_are_fetched(capsys, project, venv, url) -> None:
    """Refused while reading the lock (exit 2), not when the download fails (exit 4)."""
    edit(project, f'path = "wheels/{CU130}"', f'url = "{url.format(name=CU130)}"')
    code, _, err = install(capsys, project, venv, "--dry-run")
    assert code == 2 and "only http, https and file URLs are fetched" in err, err


def test_a_remote_url_is_only_planned_by_dry_run(capsys, project, venv) -> None:
    """A lock may point anywhere (PyPI's files are on another host than the index): the URL is
    fetched only when that wheel is chosen, only at install, and must match the locked sha256
    and size. Checked by inspection, never fetched: --dry-run reads no file at all."""
    url = f"https://files.example.invalid/packages/{CU130}"
    edit(project, f'path = "wheels/{CU130}"', f'url = "{url}"')
    before = snapshot_tree(venv)
    code, out, err = install(capsys, project, venv, "--dry-run")
    assert code == 0, err
    assert f"Would install gpulib 1.0 (variant 'cu130') {CU130}" in out
    assert snapshot_tree(venv) == before
    from varwheel.lock.read import read_lock

    wheel = next(
        w
        for w in read_lock(project / "pylock.toml").by_name()["gpulib"].wheels
        if w.label == "cu130"
    )
    assert wheel.url == url and wheel.path is None


@pytest.mark.parametrize("profile", ["/dev/zero", "fifo", "huge"])
def test_lock_check_does_not_read_devices_or_huge_files_a_lock_names(
    capsys, project, profile
) -> None:
    """``lock --check`` (CI, on a pull request's lock) reads the profiles the lock records;
    ``profile = "/dev/zero"`` was read until memory ran out."""
    lock = project / "pylock.toml"
    if profile == "fifo":
        os.mkfifo(project / "fifo.toml")
        profile = "fifo.toml"
    elif profile == "huge":
        (project / "huge.toml").write_text("# padding\n" * 200_000)
        profile = "huge.toml"
    edit(project, 'profile = "profiles/cpu.toml"', f'profile = "{profile}"')
    with deadline(20):
        code, _, err = run(capsys, "lock", "--check", "-o", str(lock))
    assert code == 2 and err.count("\n") == 1, err
    assert "a profile must be a regular file" in err or "a profile is at most" in err, err


def test_a_version_every_target_accepts_is_found_whatever_the_target_order(
    capsys, tmp_path
) -> None:
    """One lock holds one version per package. The first target pinned its best version for
    the others, so ``--python-version 3.99 --python-version X`` failed where the reverse
    order worked ("needs 1.5, ... locked 2.0") although 1.5 fits both."""
    links = tmp_path / "links"
    for version in ("1.5", "2.0"):
        build_wheel(links, "dep", version)
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    reqs = ['dep; python_version == "3.99"', 'dep<2; python_version != "3.99"']
    base = ["lock", *reqs, "-q", "--no-index", "-f", str(links)]
    outputs = []
    for order in (("3.99", here), (here, "3.99")):
        name = f"pylock.o{len(outputs)}.toml"
        flags = [a for v in order for a in ("--python-version", v)]
        code, _, err = run(capsys, *base, "-o", name, *flags)
        assert code == 0, (order, err)
        text = (tmp_path / name).read_text()
        assert 'name = "dep"\nversion = "1.5"\n' in text
        outputs.append(text)


def test_upgrade_package_names_a_package_the_lock_does_not_hold(capsys, project) -> None:
    lock = project / "pylock.toml"
    before = lock.read_bytes()
    code, _, err = run(capsys, "lock", "-o", str(lock), "-P", "common_dep", "-P", "comon-dep", "-q")
    assert code == 0, err
    assert err.splitlines() == [f"varwheel: warning: -P comon-dep: {lock} does not lock it"]
    assert lock.read_bytes() == before  # common-dep has nothing newer: same bytes


@pytest.mark.parametrize(
    ("location", "message"),
    [
        (f'path = "wheels/missing/{CU130}"', "No such file or directory"),
        (f'path = "whe\\u0000els/{CU130}"', "null byte"),
    ],
)
def test_an_unreadable_wheel_path_is_one_line_naming_the_package(
    capsys, project, venv, location, message
) -> None:
    edit(project, f'path = "wheels/{CU130}"', location)
    before = snapshot_tree(venv)
    code, _, err = install(capsys, project, venv)
    assert code == 2 and err.startswith("Using environment"), err
    line = err.splitlines()[-1]
    assert line.startswith("varwheel: error: gpulib: cannot read ") and message in line, err
    assert snapshot_tree(venv) == before


@pytest.mark.parametrize("requires_python", [">=3.x!!", ">=3." + "9" * 5000])
def test_an_invalid_requires_python_in_a_wheel_is_ignored_with_a_note(
    capsys, tmp_path, requires_python
) -> None:
    """As pip ("has an invalid Requires-Python"); it was a traceback once the lock began to
    record Requires-Python."""
    links = tmp_path / "links"
    build_wheel(links, "odd", "1.0", requires_python=requires_python)
    code, _, err = run(capsys, "lock", "odd", "-q", "--no-index", "-f", str(links))
    assert code == 0, err
    assert err.startswith(
        "varwheel: note: odd-1.0-py3-none-any.whl: its Requires-Python is ignored"
    )
    assert err.count("\n") == 1 and "requires-python" not in (tmp_path / "pylock.toml").read_text()


def _evil_sdist(links: Path, marker: Path) -> None:
    """An sdist whose in-tree build backend writes ``marker`` when it is imported."""
    import io
    import tarfile

    files = {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
        'backend-path = ["."]\n[project]\nname = "evil"\nversion = "1.0"\n',
        "backend.py": f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
    }
    links.mkdir(parents=True, exist_ok=True)
    with tarfile.open(links / "evil-1.0.tar.gz", "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"evil-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_lock_check_on_a_cloned_lock_never_runs_a_build_backend(capsys, project) -> None:
    """``lock --check`` re-locks from the requirements and find-links the lock records; an
    sdist there had its build backend run (arbitrary code) just to learn its metadata,
    although a lock lists wheels only. Locking never builds now."""
    marker = project / "PWNED"
    _evil_sdist(project / "evil-links", marker)
    edit(project, 'requirements = [\n    "gpulib",', 'requirements = [\n    "gpulib",\n    "evil",')
    edit(project, "find-links = [\n", f'find-links = [\n    "{project / "evil-links"}",\n')
    code, _, err = run(capsys, "lock", "--check", "-o", str(project / "pylock.toml"))
    assert code == 1, err
    assert "evil 1.0 has no wheel for this target: only a source distribution" in err, err
    assert not marker.exists()


def test_a_varwheel_lock_with_no_requirements_installs_nothing(capsys, project, venv) -> None:
    """Emptied ``tool.varwheel.requirements`` made the lock pass for another tool's: every
    package whose marker holds was installed, with no Requires-Dist walked: the cu130 variant
    next to the CPU runtime, a set no target has."""
    edit(project, 'requirements = [\n    "gpulib",\n]', "requirements = []")
    before = snapshot_tree(venv)
    code, out, err = install(capsys, project, venv)
    assert code == 0, err
    assert "Nothing to do" in out and snapshot_tree(venv) == before
