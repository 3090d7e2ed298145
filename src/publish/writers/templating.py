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


class _ResolverLoader(jinja2.BaseLoader):
    """Templates read through the resolver: styles/templates/ first, then the
    package's; a name that leads (by .. or a symlink) outside them is not found."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.roots = (resolver.styles_dir / "templates", PACKAGE_TEMPLATES)  # as the resolver sees them

    def get_source(self, environment, template):
        pieces = jinja2.loaders.split_template_path(template)  # refuses ".." segments
        for root in self.roots:
            path = root.joinpath(*pieces)
            real = self.resolver.real(path)
            if (self.resolver.is_file(real) and real.is_relative_to(self.resolver.real(root))
                    and self.resolver.is_allowed(real)):
                text = self.resolver.read_bytes(real).decode("utf-8")
                mtime = self.resolver.mtime(real)
                return text, str(real), lambda: self.resolver.mtime(real) == mtime
        raise jinja2.TemplateNotFound(template)


def environment(resolver: Resolver) -> jinja2.Environment:
    """A sandboxed, autoescaping, strict environment: styles/ first, then the package."""
    loader = _ResolverLoader(resolver)
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["direction"] = text_direction
    return env


# Languages written right to left (BCP 47 primary subtags; Arabic-script ones unless
# a script subtag says otherwise).
_RTL = {"ar", "fa", "he", "iw", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "syr", "arc", "ks", "ku-arab"}


def text_direction(lang: str) -> str:
    """``rtl`` or ``ltr`` for a BCP 47 language tag (``dir`` of the root element)."""
    tag = (lang or "").lower().split("-")
    if len(tag) > 1 and len(tag[1]) == 4:  # a script subtag decides: ar-Latn is ltr, ku-Arab rtl
        return "rtl" if tag[1] in ("arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg") else "ltr"
    return "rtl" if tag[0] in _RTL else "ltr"
