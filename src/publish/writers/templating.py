"""The one Jinja2 environment for the HTML-based writers (PDF, EPUB).

Autoescape is on for every template, undefined names are errors, and templates
run in an immutable sandbox: they can format the fragments they are given but
cannot call into Python or change anything. ``styles/templates/`` overrides
the package defaults in ``publish/templates/``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..resources import PACKAGE_DIR, Resolver

PACKAGE_TEMPLATES: Path = PACKAGE_DIR / "templates"


def environment(resolver: Resolver) -> jinja2.Environment:
    """A sandboxed, autoescaping, strict environment: styles/ first, then the package."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(resolver.styles_dir / "templates")),
            jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)),
        ]
    )
    return ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
