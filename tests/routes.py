"""Every route of the platform, discovered from the URL configuration: what the scope matrix, the
privacy walk and the input fuzzing each visit, so that a route added later is covered by all three
without editing any of them."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Django's ``<int:name>`` and ninja's ``{name}`` path parameters.
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\{(\w+)\}")


def url_routes() -> list[tuple[str, tuple[str, ...]]]:
    """(route without ^ and $, its parameter names) for every URL pattern, in configuration order."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = (prefix + str(entry.pattern)).lstrip("^").rstrip("$")
                found.append((route, tuple(a or b for a, b in PARAMETER.findall(route))))

    walk(get_resolver().url_patterns, "")
    return found
