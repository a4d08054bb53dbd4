"""The target environment: which interpreter we install into, its paths, tags and marker values.

Facts come from running the TARGET interpreter once (``_PROBE``, with ``-I``; not ``-S``: before
3.12 it is ``site`` that sets a venv's ``sys.prefix``); the probe imports only the stdlib, so it
works in a bare ``--without-pip`` venv.
A venv made from the interpreter running varwheel is not started: same binary, same facts but the
scheme paths (``_same_interpreter_venv_facts``). Tags are then computed here
with our own ``packaging`` from those facts, never from varwheel's own process. Results are cached
per interpreter path + mtimes, in memory and on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging import tags as ptags
from packaging.tags import Tag

from varwheel.codes import EnvironmentSource
from varwheel.errors import ExternallyManaged, InstallError, NoTargetEnvironment
from varwheel.install.installed import InstalledDistribution, installed_distributions

__all__ = [
    "InstalledDistribution",
    "TargetEnvironment",
    "externally_managed",
    "find_interpreter",
    "find_target_environment",
    "installed_distributions",
    "parse_version_request",
    "probe_interpreter",
    "refuse_externally_managed",
    "tags_from_facts",
]

_CACHE_VERSION = 1

# Runs inside the target interpreter (stdlib only). Prints one JSON object.
_PROBE = r"""
import json, os, platform, struct, sys, sysconfig
def fmt(v):
    s = "%d.%d.%d" % (v.major, v.minor, v.micro)
    if v.releaselevel != "final":
        s += v.releaselevel[0] + str(v.serial)
    return s
try:
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (AttributeError, OSError, ValueError):
    glibc = ""
cv = sysconfig.get_config_var
print(json.dumps({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "paths": sysconfig.get_paths(),
    "version_info": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "py_version_nodot": cv("py_version_nodot") or "",
    "soabi": cv("SOABI") or "",
    "ext_suffix": cv("EXT_SUFFIX") or "",
    "py_debug": cv("Py_DEBUG"),
    "gil_disabled": cv("Py_GIL_DISABLED"),
    "has_refcount": hasattr(sys, "gettotalrefcount"),
    "platform": sysconfig.get_platform(),
    "pointer_bits": struct.calcsize("P") * 8,
    "glibc": glibc,
    "mac_ver": platform.mac_ver()[0],
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": fmt(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}))
"""


@dataclass(frozen=True)
class TargetEnvironment:
    """Where and for what interpreter wheels get installed.

    ``tags`` are ordered most preferred first. ``marker_env`` is the target interpreter's
    ``packaging.markers.default_environment()`` (or the override's equivalent).
    """

    python: Path
    prefix: Path
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers: Path
    marker_env: Mapping[str, str] = field(compare=False)
    tags: tuple[Tag, ...] = field(compare=False)
    python_version: str = ""
    implementation: str = "cpython"
    is_virtualenv: bool = True
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # how it was found: --python, $VIRTUAL_ENV, ./.venv, --target or the running interpreter
    source: EnvironmentSource = field(default=EnvironmentSource.NONE, compare=False)

    @property
    def python_full_version(self) -> str:
        return str(self.marker_env.get("python_full_version") or self.python_version)

    @property
    def site_dirs(self) -> tuple[Path, ...]:
        """purelib and platlib, de-duplicated (they are the same directory in most venvs)."""
        return (self.purelib,) if self.purelib == self.platlib else (self.purelib, self.platlib)

    def with_overrides(
        self,
        python_version: str | None = None,
        platforms: Sequence[str] = (),
        implementation: str | None = None,
        abis: Sequence[str] = (),
    ) -> TargetEnvironment:
        """Tags and marker values for another target, like pip's ``--python-version``,
        ``--platform``, ``--implementation``, ``--abi``. Paths stay those of this environment."""
        if not (python_version or platforms or implementation or abis):
            return self
        over = override_facts(
            self.facts,
            self.marker_env,
            python_version=python_version,
            platforms=platforms,
            implementation=implementation,
            abis=abis,
        )
        return dataclasses.replace(
            self,
            tags=over.tags,
            marker_env=over.marker_env,
            python_version=over.python_version,
            implementation=over.implementation or self.implementation,
            facts=over.facts,
        )


@dataclass(frozen=True)
class Overridden:
    """Tags, markers and facts of another target (``override_facts``); ``implementation`` is
    None when not overridden."""

    tags: tuple[Tag, ...]
    marker_env: Mapping[str, str]
    python_version: str
    implementation: str | None
    facts: Mapping[str, Any]


def override_facts(
    facts: Mapping[str, Any],
    marker_env: Mapping[str, str],
    *,
    python_version: str | None = None,
    platforms: Sequence[str] = (),
    implementation: str | None = None,
    abis: Sequence[str] = (),
) -> Overridden:
    """pip's ``--python-version``/``--platform``/``--implementation``/``--abi`` applied to an
    interpreter's probe ``facts`` and marker environment (pure)."""
    version = _parse_python_version(python_version) if python_version else None
    facts = dict(facts)
    if version is not None:
        facts["version_info"] = [version[0], version[1], 0]
        facts["py_version_nodot"] = f"{version[0]}{version[1]}"
    impl = _IMPL_FROM_SHORT.get(implementation or "", implementation) if implementation else None
    if impl is not None:
        facts["implementation"] = impl
    tags = tags_from_facts(
        facts,
        platforms=expand_platforms(platforms) or None,
        abis=tuple(abis) or None,
    )
    markers = dict(marker_env)
    if version is not None:
        markers["python_version"] = f"{version[0]}.{version[1]}"
        markers["python_full_version"] = f"{version[0]}.{version[1]}.0"
    if impl is not None:
        markers["implementation_name"] = impl
        markers["platform_python_implementation"] = _PLATFORM_IMPL.get(impl, impl)
    if platforms:
        markers.update(_markers_for_platform(platforms[0]))
    return Overridden(
        tags=tags,
        marker_env=MappingProxyType(markers),
        python_version=markers["python_version"],
        implementation=impl,
        facts=MappingProxyType(facts),
    )


_IMPL_FROM_SHORT = {"cp": "cpython", "pp": "pypy", "ip": "ironpython", "jy": "jython"}
_SHORT_FROM_IMPL = {v: k for k, v in _IMPL_FROM_SHORT.items()}
_PLATFORM_IMPL = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython"}


_MANYLINUX_RE = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")
_MUSLLINUX_RE = re.compile(r"^musllinux_(\d+)_(\d+)_(.+)$")
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_LEGACY_TO_GLIBC = {name: glibc for glibc, name in _LEGACY_MANYLINUX.items()}


def expand_platforms(platforms: Sequence[str]) -> tuple[str, ...]:
    """The platform tags a machine with the given ``--platform`` tags really supports, best first.

    A glibc 2.28 system runs ``manylinux_2_17`` wheels too, so ``manylinux_2_28_x86_64`` implies
    every older ``manylinux_2_N``, the legacy aliases (PEP 600) and, last, ``linux_<arch>`` — the
    order ``packaging.tags.sys_tags()`` gives on such a machine, and what uv's
    ``--python-platform`` does; pip matches the tag exactly and makes users list each one.
    ``musllinux_1_N`` likewise (PEP 656). Other tags are kept as given.
    """
    out: list[str] = []
    for tag in platforms:
        legacy = next((g for n, g in _LEGACY_TO_GLIBC.items() if tag.startswith(n + "_")), None)
        if legacy is not None:
            tag = f"manylinux_{legacy[0]}_{legacy[1]}_{tag.split('_', 1)[1]}"
        if match := _MANYLINUX_RE.match(tag):
            major, minor, arch = int(match[1]), int(match[2]), match[3]
            # glibc ladders start at 2.5 on x86 and at 2.17 elsewhere (as packaging's tags do)
            oldest = 0 if major > 2 else (5 if arch in {"x86_64", "i686"} else 17)
            for m in range(minor, oldest - 1, -1):
                out.append(f"manylinux_{major}_{m}_{arch}")
                if (major, m) in _LEGACY_MANYLINUX:
                    out.append(f"{_LEGACY_MANYLINUX[(major, m)]}_{arch}")
            out.append(f"linux_{arch}")
        elif match := _MUSLLINUX_RE.match(tag):
            major, minor, arch = int(match[1]), int(match[2]), match[3]
            out.extend(f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1))
            out.append(f"linux_{arch}")
        else:
            out.append(tag)
    return tuple(dict.fromkeys(out))


def _parse_python_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d)\.?(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise NoTargetEnvironment(f"--python-version {text!r}: expected a version like 3.12 or 312")
    return int(match.group(1)), int(match.group(2))


def _markers_for_platform(platform_tag: str) -> dict[str, str]:
    if platform_tag.startswith(("manylinux", "musllinux", "linux")):
        machine = re.sub(
            r"^(manylinux_\d+_\d+|musllinux_\d+_\d+|manylinux\d+|linux)_", "", platform_tag
        )
        return {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
            "platform_machine": machine,
        }
    if platform_tag.startswith("macosx"):
        machine = platform_tag.split("_", 3)[-1]
        return {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "os_name": "posix",
            "platform_machine": machine,
        }
    if platform_tag.startswith("win"):
        machine = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}.get(platform_tag, "")
        return {
            "sys_platform": "win32",
            "platform_system": "Windows",
            "os_name": "nt",
            "platform_machine": machine,
        }
    return {}


# --- tags from interpreter facts ------------------------------------------------------------


def _cpython_abis(facts: Mapping[str, Any]) -> list[str]:
    major, minor = facts["version_info"][:2]
    nodot = f"{major}{minor}"
    debug = (
        "d"
        if facts.get("py_debug") or (facts.get("py_debug") is None and facts.get("has_refcount"))
        else ""
    )
    threading = "t" if (major, minor) >= (3, 13) and facts.get("gil_disabled") else ""
    pymalloc = ""
    if (major, minor) < (3, 8):
        pymalloc = "m"
    abis = [f"cp{nodot}{threading}{debug}{pymalloc}"]
    if debug and (major, minor) >= (3, 8):
        abis.append(f"cp{nodot}{threading}")
    return abis


def _generic_abi(facts: Mapping[str, Any]) -> list[str]:
    ext_suffix = facts.get("ext_suffix") or ""
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        soabi = facts.get("soabi") or ""
        return [re.sub(r"[.-]", "_", soabi)] if soabi else []
    soabi = parts[1]
    if soabi.startswith("cpython"):
        return _cpython_abis(facts)
    if soabi.startswith("pypy"):
        return ["_".join(soabi.split("-")[:2]).replace(".", "_")]
    return [re.sub(r"[.-]", "_", soabi)]


def _manylinux(arch: str, glibc: str) -> list[str]:
    match = re.match(r"glibc (\d+)\.(\d+)", glibc)
    if not match or int(match.group(1)) != 2:
        return []
    current = int(match.group(2))
    # PEP 600: every glibc 2.Y from the running one down to 2.17 (2.5 on x86), legacy aliases
    # (PEP 513/571/599) right after the version they stand for.
    oldest = 5 if arch in ("x86_64", "i686") else 17
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    out: list[str] = []
    for minor in range(current, oldest - 1, -1):
        out.append(f"manylinux_2_{minor}_{arch}")
        alias = legacy.get(minor)
        if alias and (alias == "manylinux2014" or arch in ("x86_64", "i686")):
            out.append(f"{alias}_{arch}")
    return out


def _musllinux(arch: str, executable: str) -> list[str]:
    try:
        from packaging._musllinux import _get_musl_version  # musl has no confstr; read the ELF
    except ImportError:  # pragma: no cover - packaging layout change
        return []
    version = _get_musl_version(executable)
    if version is None:
        return []
    return [f"musllinux_{version.major}_{minor}_{arch}" for minor in range(version.minor, -1, -1)]


def _platforms(facts: Mapping[str, Any]) -> list[str]:
    plat = str(facts["platform"])
    if plat.startswith("linux"):
        arch = plat.split("-", 1)[1].replace("-", "_").replace(".", "_")
        if facts.get("pointer_bits") == 32:
            arch = {"x86_64": "i686", "aarch64": "armv8l"}.get(arch, arch)
        archs = [arch, "armv7l"] if arch == "armv8l" else [arch]
        # Same order as packaging >= 25: the native linux tag, then manylinux, then musllinux.
        out = [f"linux_{a}" for a in archs]
        for a in archs:
            out += _manylinux(a, str(facts.get("glibc") or ""))
        if not facts.get("glibc"):
            for a in archs:
                out += _musllinux(a, str(facts["executable"]))
        return out
    if plat.startswith("macosx"):
        _, version, arch = plat.split("-", 2)
        mac = str(facts.get("mac_ver") or version)
        major, minor = (int(p) for p in [*mac.split("."), "0"][:2])
        return list(ptags.mac_platforms((major, minor), arch))
    return [re.sub(r"[.-]", "_", plat)]


def tags_from_facts(
    facts: Mapping[str, Any],
    *,
    platforms: Sequence[str] | None = None,
    abis: Sequence[str] | None = None,
) -> tuple[Tag, ...]:
    """Supported tags, most preferred first, for an interpreter described by probe ``facts``.

    Equals ``packaging.tags.sys_tags()`` run inside that interpreter. ``platforms``/``abis``
    replace the computed ones (pip's ``--platform``/``--abi``); an empty ``abis`` means the
    default ABI of the (possibly overridden) version.
    """
    major, minor = facts["version_info"][:2]
    impl = str(facts["implementation"])
    plats = list(platforms) if platforms is not None else _platforms(facts)
    version = (int(major), int(minor))
    if impl == "cpython":
        abi_list = list(abis) if abis else _cpython_abis(facts)
        interpreter = f"cp{major}{minor}"
        main = list(ptags.cpython_tags(version, abi_list, plats))
    else:
        short = _SHORT_FROM_IMPL.get(impl, impl)
        nodot = str(facts.get("py_version_nodot") or f"{major}{minor}")
        interpreter = f"{short}{nodot}"
        abi_list = list(abis) if abis else _generic_abi(facts)
        main = list(ptags.generic_tags(interpreter, abi_list, plats))
    rest = list(ptags.compatible_tags(version, interpreter, plats))
    seen: set[Tag] = set()
    ordered: list[Tag] = []
    for tag in main + rest:
        if tag not in seen:
            seen.add(tag)
            ordered.append(tag)
    return tuple(ordered)


# --- probing and caching --------------------------------------------------------------------

_MEMO: dict[tuple[str, ...], dict[str, Any]] = {}


def _cache_dir() -> Path:
    from varwheel.providers.cache import cache_root  # $VARWHEEL_CACHE_DIR (with ~), as every cache

    return cache_root() / "interpreters"


def _cache_key(python: Path) -> tuple[str, ...]:
    real = python.resolve()
    st = real.stat()
    parts = [str(python.absolute()), str(real), str(st.st_mtime_ns), str(st.st_size)]
    cfg = python.absolute().parent.parent / "pyvenv.cfg"
    try:
        parts.append(str(cfg.stat().st_mtime_ns))
    except OSError:
        parts.append("-")
    return tuple(parts)


def probe_interpreter(python: Path) -> dict[str, Any]:
    """Run ``python`` once and return its facts (cached per path + mtimes, memory and disk)."""
    try:
        key = _cache_key(python)
    except OSError as exc:
        raise NoTargetEnvironment(
            f"{python}: not a usable Python interpreter ({exc.strerror})"
        ) from exc
    if key in _MEMO:
        return _MEMO[key]
    digest = hashlib.sha256(json.dumps([_CACHE_VERSION, *key]).encode()).hexdigest()[:32]
    cache_file = _cache_dir() / f"{digest}.json"
    try:
        facts = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        facts = _same_interpreter_venv_facts(python) or _run_probe(python)
        _write_cache(cache_file, facts)
    _MEMO[key] = facts
    return facts


def _probe_here() -> dict[str, Any]:
    """The probe's facts for the running interpreter, from the very same code, in-process."""
    out: list[str] = []
    exec(_PROBE, {"print": out.append, "__name__": "varwheel_probe"})
    return dict(json.loads(out[0]))


def _same_interpreter_venv_facts(python: Path) -> dict[str, Any] | None:
    """Facts of a venv made from the interpreter running varwheel, without starting it.

    A fresh venv's interpreter is the same binary as ours (same tags, markers, config vars);
    only prefix and scheme paths differ, and those follow from sysconfig's ``venv`` scheme
    (Python >= 3.11). Anything else is probed by running it.
    """
    import sysconfig

    venv = python.absolute().parent.parent
    if not (venv / "pyvenv.cfg").is_file() or "venv" not in sysconfig.get_scheme_names():
        return None
    try:
        if python.resolve() != Path(sys.executable).resolve():
            return None
    except OSError:
        return None
    facts = _probe_here()
    prefix = str(venv)
    base = {"base": prefix, "platbase": prefix}
    facts.update(
        executable=str(python.absolute()),
        prefix=prefix,
        base_prefix=sys.base_prefix,
        paths=sysconfig.get_paths("venv", vars=base),
    )
    return facts


def _run_probe(python: Path) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [str(python), "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{python}: could not run the interpreter ({exc})") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InstallError(f"{python}: interpreter query failed: {last}")
    try:
        return dict(json.loads(proc.stdout))
    except ValueError as exc:
        raise InstallError(f"{python}: interpreter query printed no JSON") from exc


def _write_cache(path: Path, facts: Mapping[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(facts), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # the cache is an optimisation only


def environment_from_facts(python: Path, facts: Mapping[str, Any]) -> TargetEnvironment:
    paths = facts["paths"]
    prefix = Path(facts["prefix"])
    major, minor = facts["version_info"][:2]
    is_venv = facts["prefix"] != facts["base_prefix"]
    headers = (
        prefix / "include" / "site" / f"python{major}.{minor}"
        if is_venv
        else Path(paths["include"])
    )
    return TargetEnvironment(
        python=python,
        prefix=prefix,
        purelib=Path(paths["purelib"]),
        platlib=Path(paths["platlib"]),
        scripts=Path(paths["scripts"]),
        data=Path(paths["data"]),
        headers=headers,
        marker_env=MappingProxyType(dict(facts["markers"])),
        tags=tags_from_facts(facts),
        python_version=f"{major}.{minor}",
        implementation=str(facts["implementation"]),
        is_virtualenv=is_venv,
        facts=MappingProxyType(dict(facts)),
    )


def _interpreter_in(directory: Path) -> Path | None:
    for candidate in (directory / "bin" / "python", directory / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


# --- `--python 3.12`: interpreters by version, as uv finds them -------------------------------


@dataclass(frozen=True)
class VersionRequest:
    """``--python 3.12`` / ``python3.12`` / ``cpython@3.12`` / ``cp312`` / ``pypy3.10``: an
    implementation (None: any) and a version prefix (``(3,)``, ``(3, 12)``, ``(3, 12, 3)``)."""

    text: str
    implementation: str | None
    version: tuple[int, ...]

    def names(self) -> tuple[str, ...]:
        """Executable names to look for on PATH, most specific first (as uv)."""
        stems = ["pypy"] if self.implementation == "pypy" else ["python"]
        out = []
        for stem in stems:
            if len(self.version) >= 2:
                out.append(f"{stem}{self.version[0]}.{self.version[1]}")
            if self.version:
                out.append(f"{stem}{self.version[0]}")
            out.append(stem)
        return tuple(out)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        if self.implementation and facts.get("implementation") != self.implementation:
            return False
        found = tuple(int(p) for p in facts["version_info"][: len(self.version)])
        return found == self.version


# compiled (and cached by ``re``) on the first ``--python 3.12``-style request
_VERSION_REQUEST = (
    r"(?:(?P<impl>cpython|cp|pypy|pp|python)(?P<at>@)?)?"
    r"(?P<version>\d+(?:\.\d+){0,2})"
)
_IMPL_NAMES = {"cpython": "cpython", "cp": "cpython", "pypy": "pypy", "pp": "pypy", "python": None}


def parse_version_request(text: str) -> VersionRequest | None:
    """The version request ``text`` spells, or None when it is a path or an executable name.

    ``3``, ``3.12``, ``3.12.3``, ``312`` (as uv), ``python3.12``, ``cpython@3.12``,
    ``cpython3.12``, ``cp312``, ``pypy@3.10``, ``pp310``.
    """
    match = re.fullmatch(_VERSION_REQUEST, text.strip(), re.IGNORECASE | re.ASCII)
    if not match:
        return None
    impl_text = (match["impl"] or "").lower()
    digits = match["version"]
    if "." in digits:
        version = tuple(int(p) for p in digits.split("."))
    elif len(digits) == 1:
        version = (int(digits),)
    elif len(digits) <= 3 and digits[0] in "23" and (impl_text != "python" or match["at"]):
        version = (int(digits[0]), int(digits[1:]))  # 312 -> 3.12 (not for "python312")
    else:
        return None
    if impl_text == "python" and match["at"]:
        return None
    return VersionRequest(text, _IMPL_NAMES[impl_text] if impl_text else None, version)


def find_interpreter(request: VersionRequest, environ: Mapping[str, str]) -> Path:
    """The first interpreter on ``PATH`` that satisfies ``request``: per PATH directory (in
    order, so an activated venv's ``bin`` wins) the names of ``request.names()``, each run once
    to check its version (a broken pyenv shim or a wrong version is skipped)."""
    seen: set[Path] = set()
    skipped: list[str] = []
    for directory in (environ.get("PATH") or os.defpath).split(os.pathsep):
        if not directory:
            continue
        for name in request.names():
            candidate = Path(directory) / name
            if candidate in seen or not (candidate.is_file() and os.access(candidate, os.X_OK)):
                continue
            seen.add(candidate)
            try:
                facts = probe_interpreter(candidate.absolute())
            except InstallError:
                skipped.append(f"{candidate} does not run")
                continue
            if request.matches(facts):
                return candidate.absolute()
            found = ".".join(str(p) for p in facts["version_info"][:3])
            skipped.append(f"{candidate} is {facts.get('implementation')} {found}")
    detail = f" ({'; '.join(skipped[:3])})" if skipped else ""
    raise NoTargetEnvironment(
        f"--python {request.text}: no interpreter of this version on PATH{detail}"
    )


def _resolve_python_arg(python: str, cwd: Path, environ: Mapping[str, str]) -> Path:
    request = parse_version_request(python) if os.sep not in python else None
    if request is not None:
        return find_interpreter(request, environ)
    try:
        return _interpreter_at(python, cwd, environ)
    except (OSError, ValueError) as exc:  # over-long name, NUL byte, unreadable directory
        reason = getattr(exc, "strerror", None) or str(exc)
        shown = python if len(python) <= 100 else f"{python[:60]}… ({len(python)} characters)"
        raise NoTargetEnvironment(f"--python {shown}: {reason}") from exc


def _interpreter_at(python: str, cwd: Path, environ: Mapping[str, str]) -> Path:
    path = Path(python).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        found = _interpreter_in(path)
        if found is None:
            raise NoTargetEnvironment(
                f"--python {python}: no bin/python in this directory (not a venv?)"
            )
        return found
    if path.exists():
        return path
    which = shutil.which(python, path=environ.get("PATH"))
    if which:
        return Path(which)
    raise NoTargetEnvironment(f"--python {python}: no such interpreter or environment directory")


def find_target_environment(
    python: str | None,
    cwd: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    project_venv: bool = True,
) -> TargetEnvironment:
    """The environment to act on: ``--python`` (interpreter, venv dir, name on PATH or a version
    request), else ``$VIRTUAL_ENV``, else ``./.venv`` (only with ``project_venv``: running a
    project's own interpreter is for commands that act on it). Never the system interpreter
    implicitly: NoTargetEnvironment when nothing was named or found."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    env = os.environ if environ is None else environ
    if python:
        exe, source = _resolve_python_arg(python, base, env), EnvironmentSource.PYTHON
    elif env.get("VIRTUAL_ENV"):
        venv = Path(env["VIRTUAL_ENV"])
        found = _interpreter_in(venv)
        if found is None:
            raise NoTargetEnvironment(
                f"$VIRTUAL_ENV={venv}: no bin/python there (stale activation?)"
            )
        exe, source = found, EnvironmentSource.VIRTUAL_ENV
    else:
        found = _interpreter_in(base / ".venv") if project_venv else None
        if found is None:
            raise NoTargetEnvironment(
                "no target environment: create one with `python -m venv .venv` or pass --python"
            )
        exe, source = found, EnvironmentSource.PROJECT_VENV
    exe = exe if exe.is_absolute() else exe.absolute()
    return dataclasses.replace(environment_from_facts(exe, probe_interpreter(exe)), source=source)


def target_directory(env: TargetEnvironment, directory: Path) -> TargetEnvironment:
    """``env``'s interpreter (its tags and markers) installing into a plain directory, like
    pip's ``--target``: packages and data in ``directory``, scripts in ``directory/bin``,
    headers in ``directory/include``; what ``directory`` already holds is the environment
    (its own state in ``directory/.varwheel``, as any environment's)."""
    root = directory.absolute()
    return dataclasses.replace(
        env,
        prefix=root,
        purelib=root,
        platlib=root,
        scripts=root / "bin",
        data=root,
        headers=root / "include",
        is_virtualenv=True,  # PEP 668 is about an interpreter's own packages, not a directory
        source=EnvironmentSource.TARGET_DIRECTORY,
    )


def current_environment() -> TargetEnvironment:
    """The environment of the running interpreter (used by tests and tools run in-env)."""
    python = Path(sys.executable)
    return dataclasses.replace(
        environment_from_facts(python, probe_interpreter(python)), source=EnvironmentSource.RUNNING
    )


# --- PEP 668 --------------------------------------------------------------------------------

_MARKER_FILE = "EXTERNALLY-MANAGED"
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
BREAK_SYSTEM_PACKAGES_VARIABLES = ("VARWHEEL_BREAK_SYSTEM_PACKAGES", "PIP_BREAK_SYSTEM_PACKAGES")


def break_system_packages_from_environ(environ: Mapping[str, str] | None = None) -> bool:
    """``VARWHEEL_BREAK_SYSTEM_PACKAGES`` (or pip's ``PIP_BREAK_SYSTEM_PACKAGES``) is set true."""
    env = os.environ if environ is None else environ
    return any(
        env.get(name, "").strip().lower() in _TRUE for name in BREAK_SYSTEM_PACKAGES_VARIABLES
    )


def externally_managed(
    env: TargetEnvironment, environ: Mapping[str, str] | None = None
) -> str | None:
    """The PEP 668 error text when ``env`` is externally managed, else None.

    PEP 668: an ``EXTERNALLY-MANAGED`` file in the target interpreter's ``sysconfig`` ``stdlib``
    directory marks it, and a virtual environment is never externally managed. The text is the
    ``[externally-managed]`` ``Error`` key (``Error-<lang>`` first for the user's locale), or a
    generic sentence when the file has none or cannot be parsed (as pip).
    """
    if env.is_virtualenv:
        return None
    stdlib = (env.facts.get("paths") or {}).get("stdlib")
    if not stdlib:
        return None
    marker = Path(stdlib) / _MARKER_FILE
    if not marker.is_file():
        return None
    generic = (
        f"the Python environment under {env.prefix} is managed externally, and may not be "
        "manipulated by the user"
    )
    import configparser  # only where no venv: the stdlib's EXTERNALLY-MANAGED file (PEP 668)

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(marker, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeError):
        return generic
    if not parser.has_section("externally-managed"):
        return generic
    section = parser["externally-managed"]
    for key in (*_locale_keys(os.environ if environ is None else environ), "Error"):
        text = section.get(key)
        if text and text.strip():
            return " ".join(text.split())
    return generic


def _locale_keys(environ: Mapping[str, str]) -> list[str]:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").split(".", 1)[0]
        if value and value not in ("C", "POSIX"):
            lang = value.split("_", 1)[0]
            return [f"Error-{value}", f"Error-{lang}"] if lang != value else [f"Error-{value}"]
    return []


def refuse_externally_managed(
    env: TargetEnvironment, *, allow: bool, environ: Mapping[str, str] | None = None
) -> None:
    """ExternallyManaged (one line, with the file's own text and a hint) unless ``allow``
    (``--break-system-packages`` or its environment variables)."""
    if allow or break_system_packages_from_environ(environ):
        return
    text = externally_managed(env, environ)
    if text is None:
        return
    raise ExternallyManaged(
        f"{env.python} is externally managed (PEP 668): {text.rstrip('.')}. "
        "Hint: create a virtual environment (`python -m venv .venv`) and install there, "
        "or pass --break-system-packages to install anyway"
    )
