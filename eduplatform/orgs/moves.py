"""A unit that moves in the region tree takes its records with it.

Every record carries the ``region_path`` of the unit it belongs to (students, classes, enrolments,
events, staff, land, buildings, equipment, holdings, API clients): that copy is what scope filters,
county roll-ups and the city nodes' row filters read. When a school moves to another town — by an
edit of its 所在乡镇 or by a merge of its county — the copies must change in the same transaction,
or the old county keeps seeing the school's pupils and the new one never does.

Models opt in with ``MOVES_WITH_SCHOOL = True`` beside their ``SCOPE`` (whose ``school`` names the
unit's id field), so this module knows no app above it. History is not rewritten: audit entries,
change-feed entries, import jobs and census snapshots keep the path they were written with.
"""

from __future__ import annotations

from collections.abc import Collection

from django.apps import apps
from django.db import models
from django.db.models import OuterRef, Subquery

from eduplatform.orgs.models import Organization

CHUNK = 500


def records_following_units() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if getattr(m, "MOVES_WITH_SCHOOL", False)]


def move_unit_records(unit_ids: Collection[int]) -> int:
    """Give every record of these units (schools or bureaus) its unit's current ``region_path``;
    the units' own rows are already saved with their new paths. Returns the rows changed. Schools'
    roll-ups are marked for a refresh after the commit: it takes them out of the old county's sums
    and into the new one's (``stats.rollup.recompute_schools``)."""
    from eduplatform.history.services import mark_schools_dirty

    ids = sorted({int(i) for i in unit_ids})
    changed = 0
    for model in records_following_units():
        unit_field = model.SCOPE.school
        new_path = Subquery(Organization.objects.filter(pk=OuterRef(unit_field)).values("region_path")[:1])
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            changed += model.objects.filter(**{f"{unit_field}__in": chunk}).update(region_path=new_path)
    mark_schools_dirty(Organization.objects.filter(pk__in=ids, kind="school").values_list("pk", flat=True))
    return changed


def hold_unit(unit: Organization) -> Organization:
    """Hold ``unit`` against a move until the caller's transaction ends, and give it its current path.

    A service that writes records carrying the unit's ``region_path`` calls this inside its write
    transaction, before it copies the path. ``FOR KEY SHARE`` conflicts only with the ``FOR UPDATE``
    lock that a move takes (``update_school``, and the unique (id, region_path) index that makes a path
    change a key update), so writers to the same school never wait for each other: either the move
    committed first and the path read here is the new one, or the move waits for this transaction
    and then re-paths what it wrote (``move_unit_records``). The foreign keys alone do not give this:
    Django's are checked at commit, after the stale path was written. SQLite runs one writer at a time.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT region_path FROM orgs_organization WHERE id = %s FOR KEY SHARE", [unit.pk])
            row = cursor.fetchone()
    else:
        row = Organization.objects.filter(pk=unit.pk).values_list("region_path").first()
    if row is not None:
        unit.region_path = row[0]
    return unit
