"""How a model tells the scope filter where its jurisdiction lives.

Kept in ``core`` (which imports no app) so that every app's models can declare it; the filter
itself, which needs to know about actors and regions, lives in ``orgs.scope``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeFields:
    """Lookups from a model to its place in the region tree.

    path:   lookup of the region code path, e.g. ``"region_path"`` or ``"school__region_path"``.
    school: lookup of the owning school's id (a school user sees only rows where it equals its own).
    stages: lookup of the owning school's stage bit mask, or ``None`` where stages do not apply.
    kind:   lookup of the organization kind, for models that mix schools and bureaus: only schools
            are narrowed by stage.
    path_length: for rows that sum several schools, keyed by the first ``path_length`` characters of
            their region paths (a county roll-up): only a scope no longer than that can be answered
            from them, so a narrower scope — a town, one school — reads none of them.
    """

    path: str
    school: str
    stages: str | None = None
    kind: str | None = None
    path_length: int | None = None
