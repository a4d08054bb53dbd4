"""Provider-informed build settings: what a variant's properties mean to a compiler.

The published plugins expose ``get_compiler_flags`` (providers.md §2, §4: the numpy fork's
``meson_cpu`` calls it); varwheel's native providers answer detection only, so the build side
lives here, one small hook per namespace (``HOOKS``). A hook turns one property into a
:class:`Contribution`; :func:`settings_for` combines the contributions of a whole variant into
the :class:`BuildSettings` handed to a PEP 517 backend:

- the environment every C/C++ toolchain reads (``CFLAGS``/``CXXFLAGS`` additions; ``CUDAARCHS``
  and ``HIPARCHS`` initialise CMake's ``CMAKE_{CUDA,HIP}_ARCHITECTURES``; ``NVCC_APPEND_FLAGS`` is
  read by nvcc itself whatever drives it);
- the backend's own knobs where it has them: scikit-build-core ``cmake.define.*``.

meson-python gets the environment only: meson initialises ``c_args``/``cpp_args`` from
``CFLAGS``/``CXXFLAGS``, and a ``setup-args=-Dc_args=...`` would replace the user's own flags
instead of adding to them. A project adds or overrides anything per variant (``overrides``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from varwheel.spec.properties import VariantProperty, canonical_properties

__all__ = [
    "APPENDED_ENV",
    "HOOKS",
    "BuildSettings",
    "Contribution",
    "apply_env",
    "compiler_settings",
    "settings_for",
]

ConfigValue = str | tuple[str, ...]

SCIKIT_BUILD_CORE = "scikit_build_core.build"
MESON_PYTHON = "mesonpy"

# Flag variables whose value is added to the user's own (space separated), never replacing it.
APPENDED_ENV = frozenset({"CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "NVCC_APPEND_FLAGS"})


def _frozen(mapping: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class BuildSettings:
    """What one variant build passes to the backend.

    ``env``: variables set for the backend process; those in ``APPENDED_ENV`` are appended to
    the caller's value (see :func:`apply_env`). ``config_settings``: PEP 517 config settings; a
    tuple value is a repeated key (``-Csetup-args=a -Csetup-args=b``).
    """

    env: Mapping[str, str] = field(default_factory=dict)
    config_settings: Mapping[str, ConfigValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", _frozen(self.env))
        object.__setattr__(self, "config_settings", _frozen(self.config_settings))

    def __bool__(self) -> bool:
        return bool(self.env or self.config_settings)

    def overridden_by(self, other: BuildSettings | None) -> BuildSettings:
        """``other``'s keys replace ours one by one (a project's per-variant settings)."""
        if not other:
            return self
        return BuildSettings(
            env={**self.env, **other.env},
            config_settings={**self.config_settings, **other.config_settings},
        )

    def as_lines(self) -> tuple[str, ...]:
        """Human/shell form for ``--show-settings``: ``NAME='value'`` and ``-Ckey=value``."""
        lines = [f"{name}={shlex.quote(value)}" for name, value in sorted(self.env.items())]
        for key, value in sorted(self.config_settings.items()):
            for item in (value,) if isinstance(value, str) else value:
                lines.append(shlex.quote(f"-C{key}={item}"))
        return tuple(lines)


@dataclass(frozen=True)
class Contribution:
    """What one property asks of the toolchain (combined over a variant by ``settings_for``)."""

    cflags: tuple[str, ...] = ()  # C and C++ compiler flags
    march_extensions: tuple[str, ...] = ()  # AArch64 ``-march=...+ext`` suffixes
    cuda_architectures: tuple[str, ...] = ()  # CMake spelling: ``86-real``, ``80-virtual``
    nvcc_flags: tuple[str, ...] = ()
    hip_architectures: tuple[str, ...] = ()  # ``gfx90a``


# --------------------------------------------------------------------------- x86_64

# provider-variant-x86-64 feature name -> GCC/Clang ``-m`` option, where one exists.
_X86_FLAGS = {
    "avx_vnni": "avxvnni", "avx512_bf16": "avx512bf16", "avx512_bitalg": "avx512bitalg",
    "avx512_vbmi2": "avx512vbmi2", "avx512_vnni": "avx512vnni",
    "avx512_vp2intersect": "avx512vp2intersect", "avx512_vpopcntdq": "avx512vpopcntdq",
    "avx512ifma": "avx512ifma", "avx512vbmi": "avx512vbmi", "rdpid": "rdpid", "sha_ni": "sha",
    "vaes": "vaes", "vpclmulqdq": "vpclmulqdq", "clwb": "clwb", "clzero": "clzero",
    "movdir64b": "movdir64b", "movdiri": "movdiri",
    "avx512bw": "avx512bw", "avx512cd": "avx512cd", "avx512dq": "avx512dq",
    "avx512f": "avx512f", "avx512vl": "avx512vl", "clflushopt": "clflushopt", "gfni": "gfni",
    "rdseed": "rdseed", "xsavec": "xsavec", "xsaveopt": "xsaveopt", "adx": "adx",
    "avx2": "avx2", "avx": "avx", "bmi2": "bmi2", "bmi1": "bmi", "abm": "abm", "f16c": "f16c",
    "fma": "fma", "movbe": "movbe", "xsave": "xsave", "rdrand": "rdrnd", "aes": "aes",
    "pclmulqdq": "pclmul", "sse4a": "sse4a", "fsgsbase": "fsgsbase", "sse4_2": "sse4.2",
    "sse4_1": "sse4.1", "ssse3": "ssse3", "sse3": "sse3", "cx16": "cx16", "lahf_lm": "sahf",
    "popcnt": "popcnt", "sse2": "sse2", "sse": "sse", "mmx": "mmx",
}  # fmt: skip


def _x86_64(prop: VariantProperty) -> Contribution:
    if prop.feature == "level":
        # The psABI micro-architecture levels; v1 is the baseline GCC calls plain ``x86-64``.
        level = prop.value.removeprefix("v")
        if level in ("1", "2", "3", "4"):
            march = "x86-64" if level == "1" else f"x86-64-v{level}"
            return Contribution(cflags=(f"-march={march}",))
        return Contribution()
    flag = _X86_FLAGS.get(prop.feature)
    return Contribution(cflags=(f"-m{flag}",)) if flag and prop.value == "on" else Contribution()


# --------------------------------------------------------------------------- aarch64

# provider-variant-aarch64 feature (a /proc/cpuinfo name) -> GCC ``-march`` extension.
_AARCH64_EXTENSIONS = {
    "sve2": "sve2", "sb": "sb", "ssbs": "ssbs", "asimdfhm": "fp16fml", "bf16": "bf16",
    "flagm": "flagm", "i8mm": "i8mm", "rng": "rng", "sha3": "sha3", "asimddp": "dotprod",
    "lrcpc": "rcpc", "fphp": "fp16", "sve": "sve", "asimdrdmatomics": "rdma", "aes": "aes",
    "crc32": "crc", "sha2": "sha2",
}  # fmt: skip


def _aarch64(prop: VariantProperty) -> Contribution:
    if prop.feature == "version":
        # provider value ``8.1a`` is GCC's ``armv8.1-a``; ``8a`` is ``armv8-a``, ``9.0a`` ``armv9-a``.
        number = prop.value.removesuffix("a").removesuffix(".0")
        return Contribution(cflags=(f"-march=armv{number}-a",))
    ext = _AARCH64_EXTENSIONS.get(prop.feature)
    return Contribution(march_extensions=(ext,)) if ext and prop.value == "on" else Contribution()


# --------------------------------------------------------------------------- nvidia, amd


def _nvidia(prop: VariantProperty) -> Contribution:
    if prop.feature != "sm_arch":
        return Contribution()  # CUDA version bounds select a toolkit, not a flag
    arch, _, kind = prop.value.partition("_")
    if not arch.isdigit() or kind not in ("real", "virtual"):
        return Contribution()
    # nvcc: a real architecture embeds SASS for sm_XY, a virtual one PTX for compute_XY.
    code = f"sm_{arch}" if kind == "real" else f"compute_{arch}"
    return Contribution(
        cuda_architectures=(f"{arch}-{kind}",),
        nvcc_flags=("-gencode", f"arch=compute_{arch},code={code}"),
    )


def _amd(prop: VariantProperty) -> Contribution:
    if prop.feature == "gfx_arch":
        return Contribution(hip_architectures=(prop.value,))
    return Contribution()


HOOKS: Mapping[str, Callable[[VariantProperty], Contribution]] = MappingProxyType(
    {"x86_64": _x86_64, "aarch64": _aarch64, "nvidia": _nvidia, "amd": _amd}
)


def compiler_settings(prop: VariantProperty) -> Contribution:
    """What the provider of ``prop.namespace`` contributes for it (nothing when it has no hook)."""
    hook = HOOKS.get(prop.namespace)
    return hook(prop) if hook is not None else Contribution()


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def settings_for(
    properties: Iterable[VariantProperty],
    *,
    backend: str | None = None,
    overrides: BuildSettings | None = None,
) -> BuildSettings:
    """The settings for a variant with ``properties``, built by ``backend`` (the
    ``build-backend`` object reference of the project, when known), then ``overrides``."""
    parts = [compiler_settings(p) for p in canonical_properties(properties)]
    cflags = _unique(f for c in parts for f in c.cflags)
    extensions = _unique(e for c in parts for e in c.march_extensions)
    if extensions:
        marches = [f for f in cflags if f.startswith("-march=armv")]
        base = marches[-1] if marches else "-march=armv8-a"
        cflags = [f for f in cflags if f not in marches]
        cflags.append(base + "".join(f"+{e}" for e in extensions))
    cuda = _unique(a for c in parts for a in c.cuda_architectures)
    nvcc = [f for c in parts for f in c.nvcc_flags]
    hip = _unique(a for c in parts for a in c.hip_architectures)

    env: dict[str, str] = {}
    config: dict[str, ConfigValue] = {}
    if cflags:
        env["CFLAGS"] = env["CXXFLAGS"] = " ".join(cflags)
    if cuda:
        env["CUDAARCHS"] = ";".join(cuda)
        env["NVCC_APPEND_FLAGS"] = " ".join(nvcc)
    if hip:
        env["HIPARCHS"] = ";".join(hip)
    if backend == SCIKIT_BUILD_CORE:
        if cuda:
            config["cmake.define.CMAKE_CUDA_ARCHITECTURES"] = ";".join(cuda)
        if hip:
            config["cmake.define.CMAKE_HIP_ARCHITECTURES"] = ";".join(hip)
    return BuildSettings(env=env, config_settings=config).overridden_by(overrides)


def apply_env(settings: BuildSettings, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (usually ``os.environ``) with ``settings.env`` applied: flag variables in
    ``APPENDED_ENV`` are appended to the user's value (ours come last, so our ``-march`` wins
    over an earlier one), the others replace it."""
    env = dict(base)
    for name, value in settings.env.items():
        current = env.get(name, "").strip()
        env[name] = f"{current} {value}" if name in APPENDED_ENV and current else value
    return env
