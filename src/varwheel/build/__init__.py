"""Building variant wheels: PEP 517 frontend, post-tagging, provider-informed compiler settings.

Modules: ``settings`` (what each provider contributes to a build), ``request`` (validating a
variant request against ``[variant]`` and the providers), ``make_variant`` (archive rewriting),
``frontend`` (pypa/build driver), ``repair`` (auditwheel/delocate/delvewheel around labels),
``matrix`` (``[tool.varwheel.build]``), ``ci`` (the matrix for CI), ``coverage`` (which variant a
machine gets), ``check`` (release and project lint). The public entry points are in
:mod:`varwheel.api.build`. See docs/build.md.
"""

from __future__ import annotations

__all__: list[str] = []
