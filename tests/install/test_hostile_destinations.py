"""Hostile wheels aimed at WHERE files land: varwheel's own state (a forged journal), the
interpreter, pyvenv.cfg, activation scripts, other distributions' files. Each is refused in one
line naming the wheel and the member before the environment changes, and nothing outside the
environment is ever touched, also when the run is killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.envs import make_venv, snapshot_tree
from helpers.wheels import build_wheel
from varwheel.errors import InstallError, StuckTransaction
from varwheel.install import journal
from varwheel.install.environment import TargetEnvironment, find_target_environment
from varwheel.install.installed import installed_distributions
from varwheel.install.transaction import CRASH_ENV, install_wheels, recover_if_needed, uninstall

PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"

CHILD = """
import sys
from pathlib import Path
from varwheel.errors import InstallError
from varwheel.install.environment import find_target_environment
from varwheel.install.transaction import install_wheels
try:
    install_wheels(find_target_environment(sys.argv[1]), [Path(sys.argv[2])])
except InstallError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
"""


def _varwheel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "varwheel", *args], capture_output=True, text=True, check=False
    )


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    (victim / "deep").mkdir(parents=True)
    (victim / "deep" / "precious.txt").write_text("keep me\n")
    return victim


def _forged_journal(victim: Path) -> str:
    return json.dumps(
        {
            "version": 1,
            "op": "install",
            "state": "applying",
            "displace": [],
            "place": [str(victim)],
            "new_dirs": [],
            "prune_dirs": [],
        }
    )


# --- varwheel's own state ---------------------------------------------------------------------


@pytest.mark.parametrize("crash", [None, "1"], ids=["commit-write-fails", "sigkill-mid-placement"])
def test_forged_journal_wheel_cannot_reach_outside(tmp_path: Path, crash: str | None) -> None:
    """The probe's attack: a data-scheme member replaces the journal with one naming a directory
    outside the venv, another makes ``journal.json.tmp`` a directory so the commit write fails
    (or the run is SIGKILLed mid-placement and the next command recovers from the forgery)."""
    victim = _victim(tmp_path)
    venv = make_venv(tmp_path / "venv")
    wheel = build_wheel(
        tmp_path / "wheels",
        "evil",
        "1.0",
        files={
            "evil/__init__.py": "",
            "evil-1.0.data/data/.varwheel/txn/journal.json": _forged_journal(victim),
            "evil-1.0.data/data/.varwheel/txn/journal.json.tmp/x": "x",
        },
    )
    before = snapshot_tree(venv)
    env = dict(os.environ)
    if crash is not None:
        env[CRASH_ENV] = crash
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(venv), str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    listed = _varwheel("list", "--python", str(venv))
    # First what matters most: nothing outside the environment was touched.
    assert (victim / "deep" / "precious.txt").read_text() == "keep me\n"
    assert proc.returncode == 1, proc.stderr  # refused before placement: no SIGKILL either
    assert proc.stderr.strip().splitlines() == [
        f"evil-1.0-py3-none-any.whl: 'evil-1.0.data/data/.varwheel/txn/journal.json' would "
        f"write {venv}/.varwheel/txn/journal.json, varwheel's own state directory; "
        "nothing was installed"
    ]
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert snapshot_tree(venv) == before
    assert not (venv / ".varwheel" / "txn").exists()


def test_unsigned_journal_is_never_acted_on(tmp_path: Path) -> None:
    """A journal varwheel did not write (another tool, an older varwheel, a forgery) is refused
    in one line by every command, and the directory it names survives."""
    victim = _victim(tmp_path)
    venv = make_venv(tmp_path / "venv")
    txn = venv / ".varwheel" / "txn"
    txn.mkdir(parents=True)
    (txn / "journal.json").write_text(_forged_journal(victim))
    for args in (["list"], ["uninstall", "-y", "anything"]):
        proc = _varwheel(*args, "--python", str(venv))
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
        assert f"{txn}/journal.json is not a transaction journal varwheel can trust" in line
        assert f"remove {txn}, then run `varwheel list --python {venv}`" in line
    assert (victim / "deep" / "precious.txt").read_text() == "keep me\n"


def _signed(env: TargetEnvironment, doc: dict[str, object]) -> None:
    """Write a journal signed with the environment's real key (as if the key had leaked)."""
    state = env.prefix / ".varwheel"
    txn = state / "txn"
    txn.mkdir(parents=True)
    key = journal.environment_key(state, create=True)
    assert key is not None
    journal.write(txn, key, doc)


@pytest.mark.parametrize("escape", ["absolute", "dotdot", "symlinked-parent", "root-itself"])
def test_signed_journal_naming_outside_paths_is_refused(
    tmp_path: Path, env: TargetEnvironment, escape: str
) -> None:
    """Even with a valid signature, recovery acts on no path outside the environment (also
    through a symlinked directory inside it) and on no scheme root itself."""
    victim = _victim(tmp_path)
    if escape == "absolute":
        target = str(victim)
    elif escape == "dotdot":
        target = f"{env.purelib}/../../../../victim"
    elif escape == "symlinked-parent":
        (env.purelib / "link").symlink_to(victim)
        target = str(env.purelib / "link" / "deep")
    else:
        target = str(env.purelib)
    _signed(
        env,
        {
            "version": journal.JOURNAL_VERSION,
            "op": "install",
            "state": "applying",
            "displace": [],
            "place": [target],
            "new_dirs": [],
            "prune_dirs": [],
        },
    )
    before = snapshot_tree(env.prefix)
    with pytest.raises(StuckTransaction, match="not a transaction journal varwheel can trust"):
        recover_if_needed(env)
    assert (victim / "deep" / "precious.txt").read_text() == "keep me\n"
    assert snapshot_tree(env.prefix) == before


def test_journal_from_another_environment_does_not_verify(tmp_path: Path) -> None:
    first = find_target_environment(str(make_venv(tmp_path / "one")))
    second = find_target_environment(str(make_venv(tmp_path / "two")))
    doc = {
        "version": journal.JOURNAL_VERSION,
        "op": "uninstall",
        "state": "applying",
        "displace": [],
        "place": [],
        "new_dirs": [],
        "prune_dirs": [],
    }
    _signed(first, doc)
    (second.prefix / ".varwheel").mkdir()
    journal.environment_key(second.prefix / ".varwheel", create=True)
    (first.prefix / ".varwheel" / "txn").rename(second.prefix / ".varwheel" / "txn")
    with pytest.raises(StuckTransaction, match="signature does not match"):
        recover_if_needed(second)


# --- reserved destinations -----------------------------------------------------------------


RESERVED_MEMBERS = [
    ("evil-1.0.data/scripts/python", "bin/python", "the environment's interpreter"),
    ("evil-1.0.data/scripts/python3", "bin/python3", "the environment's interpreter"),
    (f"evil-1.0.data/scripts/{PY}", f"bin/{PY}", "the environment's interpreter"),
    ("evil-1.0.data/data/bin/python", "bin/python", "the environment's interpreter"),
    ("evil-1.0.data/data/bin/Python3", "bin/Python3", "the environment's interpreter"),
    ("evil-1.0.data/data/pyvenv.cfg", "pyvenv.cfg", "the environment's configuration"),
    ("evil-1.0.data/scripts/activate", "bin/activate", "an activation script"),
    ("evil-1.0.data/data/bin/activate.fish", "bin/activate.fish", "an activation script"),
    ("evil-1.0.data/data/bin/Activate.ps1", "bin/Activate.ps1", "an activation script"),
    ("evil-1.0.data/data/.varwheel/lock", ".varwheel/lock", "varwheel's own state directory"),
    ("evil-1.0.data/data/.VarWheel/key", ".VarWheel/key", "varwheel's own state directory"),
]


@pytest.mark.parametrize(("member", "dest", "reason"), RESERVED_MEMBERS)
def test_reserved_destinations_are_refused(
    tmp_path: Path, env: TargetEnvironment, member: str, dest: str, reason: str
) -> None:
    wheel = build_wheel(
        tmp_path, "evil", "1.0", files={"evil/__init__.py": "", member: "#!/bin/sh\necho owned\n"}
    )
    before = snapshot_tree(env.prefix, exclude=())
    with pytest.raises(InstallError) as info:
        install_wheels(env, [wheel])
    assert str(info.value).startswith(
        f"evil-1.0-py3-none-any.whl: {member!r} would write {env.prefix}/{dest}, {reason}"
    )
    assert str(info.value).endswith("; nothing was installed")
    assert "\n" not in str(info.value)
    assert snapshot_tree(env.prefix, exclude=(".varwheel",)) == {
        k: v for k, v in before.items() if not k.startswith(".varwheel")
    }
    assert "evil" not in installed_distributions(env)


@pytest.mark.parametrize(
    ("section", "name"),
    [("console", "python"), ("gui", "python3"), ("console", "activate"), ("console", PY)],
)
def test_entry_points_named_like_the_interpreter_are_refused(
    tmp_path: Path, env: TargetEnvironment, section: str, name: str
) -> None:
    wheel = build_wheel(
        tmp_path,
        "evil",
        "1.0",
        files={"evil/__init__.py": "def main():\n    pass\n"},
        entry_points={f"{section}_scripts": {name: "evil:main"}},
    )
    before = snapshot_tree(env.prefix)
    with pytest.raises(
        InstallError,
        match=rf"^evil-1\.0-py3-none-any\.whl: '{section}_scripts entry point {name}' would "
        rf"write {env.scripts}/{name}, ",
    ):
        install_wheels(env, [wheel])
    assert snapshot_tree(env.prefix) == before
    out = subprocess.run(
        [str(env.scripts / "python"), "-c", "print('still python')"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "still python\n"


def test_cli_refuses_interpreter_replacement_in_one_line(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    wheel = build_wheel(
        tmp_path / "links",
        "evil",
        "1.0",
        files={"evil/__init__.py": "", "evil-1.0.data/scripts/python": "#!/bin/sh\necho owned\n"},
    )
    proc = _varwheel("install", str(wheel), "--no-index", "--python", str(venv))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (
        "evil-1.0-py3-none-any.whl: 'evil-1.0.data/scripts/python' would write"
        in (proc.stderr.strip().splitlines()[-1])
    )
    listed = _varwheel("list", "--python", str(venv))
    assert listed.returncode == 0, listed.stderr


# --- other distributions' files ----------------------------------------------------------------


def test_file_of_another_distribution_is_refused(tmp_path: Path, env: TargetEnvironment) -> None:
    owner = build_wheel(tmp_path, "owner", "1.0", files={"shared/mod.py": "WHO = 'owner'\n"})
    install_wheels(env, [owner])
    before = snapshot_tree(env.prefix)
    intruder = build_wheel(tmp_path, "intruder", "2.0", files={"shared/mod.py": "WHO = 'x'\n"})
    with pytest.raises(
        InstallError,
        match=r"^intruder-2\.0-py3-none-any\.whl: 'shared/mod\.py' would overwrite "
        r".*/shared/mod\.py, a file of owner 1\.0; nothing was installed "
        r"\(uninstall owner first\)$",
    ):
        install_wheels(env, [intruder])
    assert snapshot_tree(env.prefix) == before


def test_two_wheels_of_one_batch_writing_one_file_are_refused(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    first = build_wheel(tmp_path, "first", "1.0", files={"shared/mod.py": "A = 1\n"})
    second = build_wheel(tmp_path, "second", "1.0", files={"shared/mod.py": "B = 1\n"})
    before = snapshot_tree(env.prefix)
    with pytest.raises(
        InstallError,
        match=r"^second-1\.0-py3-none-any\.whl: 'shared/mod\.py' would write .*/shared/mod\.py, "
        r"which first-1\.0-py3-none-any\.whl also writes",
    ):
        install_wheels(env, [first, second])
    assert snapshot_tree(env.prefix) == before


def _claim(env: TargetEnvironment, dist_info: str, rel: str) -> None:
    """Add ``rel`` to a distribution's RECORD, as pip leaves it after overwriting another's
    file (or a hostile RECORD claims it)."""
    record = env.purelib / dist_info / "RECORD"
    record.write_text(record.read_text() + f"{rel},,\n")


def test_uninstall_keeps_files_another_distribution_owns(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    owner = build_wheel(tmp_path, "owner", "1.0", files={"shared/mod.py": "WHO = 'owner'\n"})
    other = build_wheel(tmp_path, "other", "1.0", files={"other/__init__.py": ""})
    install_wheels(env, [owner, other])
    _claim(env, "other-1.0.dist-info", "shared/mod.py")
    uninstall(env, ["other"])
    assert (env.purelib / "shared" / "mod.py").read_text() == "WHO = 'owner'\n"
    assert not (env.purelib / "other").exists()
    assert set(installed_distributions(env)) == {"owner"}
    # an upgrade of the claiming distribution keeps it too
    install_wheels(env, [other])
    _claim(env, "other-1.0.dist-info", "shared/mod.py")
    install_wheels(env, [build_wheel(tmp_path / "v2", "other", "2.0", files={"other/x.py": ""})])
    assert (env.purelib / "shared" / "mod.py").read_text() == "WHO = 'owner'\n"


def test_uninstall_names_each_file_it_keeps_in_one_note(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    """Files a removed RECORD lists but another distribution owns, or reserved paths, stay:
    the CLI says so on stderr, one ``varwheel: note: kept PATH (WHY)`` line each (they used to
    stay silently)."""
    owner = build_wheel(tmp_path, "owner", "1.0", files={"shared/mod.py": "WHO = 'owner'\n"})
    other = build_wheel(tmp_path, "other", "1.0", files={"other/__init__.py": ""})
    install_wheels(env, [owner, other])
    _claim(env, "other-1.0.dist-info", "shared/mod.py")
    _claim(env, "other-1.0.dist-info", "../../../pyvenv.cfg")
    proc = subprocess.run(
        [sys.executable, "-m", "varwheel", "uninstall", "-y", "--python", str(env.prefix), "other"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    notes = sorted(line for line in proc.stderr.splitlines() if line.startswith("varwheel: note:"))
    assert notes == [
        f"varwheel: note: kept {env.purelib / 'shared' / 'mod.py'} (owner 1.0 lists it too)",
        f"varwheel: note: kept {env.prefix / 'pyvenv.cfg'} (the environment's configuration "
        "pyvenv.cfg)",
    ], proc.stderr
    assert (env.purelib / "shared" / "mod.py").exists() and (env.prefix / "pyvenv.cfg").exists()


@pytest.mark.parametrize(
    "rel", ["../../../bin/python", "../../../pyvenv.cfg", "../../../bin/activate"]
)
def test_uninstall_never_removes_reserved_paths_a_record_lists(
    tmp_path: Path, env: TargetEnvironment, rel: str
) -> None:
    install_wheels(env, [build_wheel(tmp_path, "greedy", "1.0")])
    _claim(env, "greedy-1.0.dist-info", rel)
    target = os.path.normpath(env.purelib / rel)
    assert os.path.lexists(target)
    uninstall(env, ["greedy"])
    assert os.path.lexists(target)
    assert "greedy" not in installed_distributions(env)


def test_uninstall_refuses_a_record_escaping_through_a_symlink(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    victim = _victim(tmp_path)
    install_wheels(env, [build_wheel(tmp_path, "sneaky", "1.0")])
    (env.purelib / "sneaky" / "door").symlink_to(victim)
    _claim(env, "sneaky-1.0.dist-info", "sneaky/door/deep/precious.txt")
    with pytest.raises(InstallError, match="outside the environment"):
        uninstall(env, ["sneaky"])
    assert (victim / "deep" / "precious.txt").read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("member", "metadata"),
    [
        ("evil-1.0.data/purelib/owner-1.0.dist-info/variant.json", "owner-1.0.dist-info"),
        ("evil-1.0.data/platlib/fake-9.9.dist-info/METADATA", "fake-9.9.dist-info"),
        (f"evil-1.0.data/data/lib/{PY}/site-packages/Owner-1.0.DIST-INFO/x", "Owner-1.0.DIST-INFO"),
    ],
)
def test_writing_into_another_distributions_metadata_is_refused(
    tmp_path: Path, env: TargetEnvironment, member: str, metadata: str
) -> None:
    """A wheel may not add a file to another distribution's dist-info (a ``variant.json``
    would change what it claims to be) nor make up a distribution of its own."""
    install_wheels(env, [build_wheel(tmp_path, "owner", "1.0")])
    before = snapshot_tree(env.prefix)
    wheel = build_wheel(
        tmp_path / "evil", "evil", "1.0", files={"evil/__init__.py": "", member: "{}"}
    )
    with pytest.raises(
        InstallError,
        match=rf"^evil-1\.0-py3-none-any\.whl: {member!r} would write .*, inside "
        rf"{metadata}, which is not this wheel's metadata directory; nothing was installed$",
    ):
        install_wheels(env, [wheel])
    assert snapshot_tree(env.prefix) == before
    assert set(installed_distributions(env)) == {"owner"}


def test_writing_through_a_symlinked_directory_is_refused(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    """``lib64 -> lib`` in a venv, or any symlink a user made: nothing is written through it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (env.prefix / "share").symlink_to(outside)
    wheel = build_wheel(
        tmp_path / "w",
        "evil",
        "1.0",
        files={"evil/__init__.py": "", "evil-1.0.data/data/share/planted.txt": "x"},
    )
    with pytest.raises(
        InstallError,
        match=r"^evil-1\.0-py3-none-any\.whl: 'evil-1\.0\.data/data/share/planted\.txt' would "
        r"write under .*/share, which is a file or a symlink; nothing was installed$",
    ):
        install_wheels(env, [wheel])
    assert list(outside.iterdir()) == []


def test_identical_shared_file_is_owned_by_both_until_the_last_uninstall(
    tmp_path: Path, env: TargetEnvironment
) -> None:
    """Old-style namespace packages ship the same ``__init__.py`` in several distributions: a
    byte-identical file of another distribution is not a conflict; it stays while either owns
    it. A different one is refused (see above)."""
    before = snapshot_tree(env.prefix)
    init = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    first = build_wheel(tmp_path, "ns-one", "1.0", files={"ns/__init__.py": init, "ns/one.py": ""})
    second = build_wheel(tmp_path, "ns-two", "1.0", files={"ns/__init__.py": init, "ns/two.py": ""})
    install_wheels(env, [first])
    install_wheels(env, [second])
    uninstall(env, ["ns-one"])
    assert (env.purelib / "ns" / "__init__.py").read_text() == init
    assert sorted(p.name for p in (env.purelib / "ns").iterdir()) == ["__init__.py", "two.py"]
    uninstall(env, ["ns-two"])
    assert snapshot_tree(env.prefix) == before
