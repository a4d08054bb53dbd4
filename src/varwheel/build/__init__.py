"""Building variant wheels: PEP 517 frontend, post-tagging, provider-informed compiler settings.

Modules: ``settings`` (what each provider contributes to a build), ``request`` (validating a
variant request against ``[variant]`` and the providers), ``make_variant`` (archive rewriting),
``frontend`` (pypa/build driver), ``repair`` (auditwheel/delocate/delvewheel around labels).
See docs/build.md.
"""

from __future__ import annotations
