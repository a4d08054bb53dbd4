"""Where a wheel may write in a target environment, and where varwheel itself may act.

``EnvironmentLayout.of(env)`` answers two questions about an absolute path:

- ``reserved(path)``: the reason no wheel member (file, data-scheme file, generated entry-point
  script) may be written there and no RECORD may make varwheel remove it, or None. Reserved:
  varwheel's own state directory ``<prefix>/.varwheel`` (journal, key, lock, backups, staging:
  so no wheel can forge or break a transaction), the interpreter and its links in the scripts
  directory or the interpreter's own directory (``python``, ``python3``, ``python3.12``,
  ``pythonw``, ``python.exe``, ``pypy3`` ...: every varwheel command runs the target interpreter,
  so replacing it would run the wheel's file), ``pyvenv.cfg`` and the activation scripts
  (``activate``, ``activate.fish``, ``Activate.ps1``, ``activate_this.py``, ``deactivate.bat``).
  Names are compared case-folded, so a case-insensitive filesystem cannot be used to slip past.
- ``metadata_dir(path)``: the ``*.dist-info``/``*.egg-info`` directory ``path`` falls in; a wheel
  may write only into its own (not add files to, or fake, another distribution's metadata).
- ``contains(path)``: the path is normalised, absolute and strictly inside one of the
  environment's scheme directories (or its prefix), also once the symlinks of its parent
  directories are resolved. Recovery acts only on journal paths that pass, and uninstall only
  removes RECORD paths that pass.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from varwheel.install.environment import TargetEnvironment

__all__ = ["STATE_DIR", "EnvironmentLayout"]

STATE_DIR = ".varwheel"

_INTERPRETER = re.compile(r"(?:python|pythonw|pypy|graalpy)(?:\d+(?:\.\d+)*t?)?w?(?:\.exe)?")
_ACTIVATION = re.compile(r"activate(?:\..*)?|activate_this\.py|deactivate(?:\.bat)?")


def _fold(path: str) -> str:
    return os.path.normpath(path).casefold()


def _parents(path: str) -> Iterator[str]:
    """The directories above ``path`` (not ``path`` itself), up to the filesystem root."""
    head = os.path.dirname(path)
    while head != path:
        yield head
        path, head = head, os.path.dirname(head)


def _under(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class EnvironmentLayout:
    prefix: str
    state_dir: str
    roots: tuple[str, ...]  # the scheme directories and the prefix, normalised
    real_roots: tuple[str, ...]  # the same with symlinks resolved
    protected: frozenset[str]  # prefix, purelib, platlib, scripts, data: never a target
    real_protected: frozenset[str]
    interpreter_dirs: frozenset[str]  # case-folded: the scripts dir and the interpreter's dir
    interpreter: str  # case-folded
    config: str  # case-folded ``<prefix>/pyvenv.cfg``
    site_dirs: tuple[str, ...]  # purelib, platlib
    _ancestors: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    _dirs: dict[str, tuple[bool, str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, env: TargetEnvironment) -> EnvironmentLayout:
        prefix = os.path.normpath(os.path.abspath(env.prefix))
        scheme_dirs = (env.purelib, env.platlib, env.scripts, env.data, env.headers)
        roots = tuple(
            dict.fromkeys(os.path.normpath(os.path.abspath(d)) for d in (prefix, *scheme_dirs))
        )
        protected = frozenset(roots[:1]) | {
            os.path.normpath(os.path.abspath(d))
            for d in (env.purelib, env.platlib, env.scripts, env.data)
        }
        python = os.path.normpath(os.path.abspath(env.python))
        return cls(
            prefix=prefix,
            state_dir=os.path.join(prefix, STATE_DIR),
            roots=roots,
            real_roots=tuple(dict.fromkeys(os.path.realpath(r) for r in roots)),
            protected=protected,
            real_protected=frozenset(os.path.realpath(p) for p in protected),
            _ancestors=frozenset(
                a for p in protected for r in (p, os.path.realpath(p)) for a in _parents(r)
            ),
            interpreter_dirs=frozenset({_fold(str(env.scripts)), _fold(os.path.dirname(python))}),
            interpreter=python.casefold(),
            config=_fold(os.path.join(prefix, "pyvenv.cfg")),
            site_dirs=tuple(
                dict.fromkeys(os.path.normpath(os.path.abspath(d)) for d in env.site_dirs)
            ),
        )

    def reserved(self, path: str) -> str | None:
        """Why ``path`` (absolute) is off limits to wheels, or None."""
        folded = _fold(path)
        if _under(folded, self.state_dir.casefold()):
            return "varwheel's own state directory"
        if folded == self.interpreter:
            return "the environment's interpreter"
        if folded == self.config:
            return "the environment's configuration pyvenv.cfg"
        head, name = os.path.split(folded)
        if head in self.interpreter_dirs:
            if _INTERPRETER.fullmatch(name):
                return "the environment's interpreter"
            if _ACTIVATION.fullmatch(name):
                return "an activation script of the environment"
        return None

    def metadata_dir(self, path: str) -> str | None:
        """The ``*.dist-info`` / ``*.egg-info`` directory of a site directory that ``path`` is
        or lies in (its name as in ``path``), else None. A wheel writes only into its own."""
        for site in self.site_dirs:
            if _under(path.casefold(), site.casefold()) and len(path) > len(site):
                top = path[len(site) + 1 :].split(os.sep, 1)[0]
                if top.casefold().endswith((".dist-info", ".egg-info")):
                    return top
        return None

    def _dir_inside(self, directory: str) -> tuple[bool, str]:
        """Whether ``directory`` is a root or below one, lexically and once resolved, and its
        resolved path (cached: RECORD files list thousands of paths in few directories)."""
        known = self._dirs.get(directory)
        if known is None:
            real = os.path.realpath(directory)
            inside = any(_under(directory, r) for r in self.roots) and any(
                _under(real, r) for r in self.real_roots
            )
            known = self._dirs[directory] = (inside, real)
        return known

    def contains(self, path: str, *, allow_root: bool = False) -> bool:
        """``path`` is a normalised absolute path inside the environment, also after resolving
        symlinks in its parent directories (``path`` itself may be a symlink: varwheel only ever
        moves or unlinks it). Never the prefix or the purelib/platlib/scripts/data directory
        itself (unless ``allow_root``), nor an ancestor of one (``<prefix>/lib`` holds purelib).
        The headers directory is not protected: an install may create it."""
        if not isinstance(path, str) or "\0" in path or not os.path.isabs(path):
            return False
        if os.path.normpath(path) != path:
            return False
        if path in self.protected:
            return allow_root
        if path in self._ancestors:
            return False
        head, name = os.path.split(path)
        inside, real_head = self._dir_inside(head)
        real = os.path.join(real_head, name)
        if real in self.real_protected:
            return allow_root
        return inside and real not in self._ancestors
