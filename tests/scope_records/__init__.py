"""Records outside each checked user's jurisdiction, for the scope matrix (tests/test_scope_matrix.py).

Every module in this package defines ``outside_records(world, actor) -> dict[str, str | None]``:
for each URL parameter its app's routes use (``staff_id``, ``building_id`` …), a value naming a
record that ``actor`` must not reach. ``None`` means "no such record is outside this actor's
reach" (e.g. bureau records for a stage-limited province officer) and skips those routes.
A new app adds a module here; the matrix itself needs no edit.

The helpers below say where "outside" is for each checked actor, and which text must never show
in that actor's pages (put it in a name or label of the records you create).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from eduplatform.orgs.models import Organization
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, World

CHECKED_ACTORS = ("county_a_stat", "clerk_a1", "k12_officer")

# Names only: codes typed into a URL or a search box are echoed back in the page, which is not a leak.
LEAK_MARKERS = {
    "county_a_stat": [LEAK_MARKER_B, "福田测试小学", "county_b_stat"],
    "clerk_a1": [LEAK_MARKER_B, "天河测试幼儿园", LEAK_MARKER_HIGHER],
    "k12_officer": [LEAK_MARKER_HIGHER],
}


def outside_school(world: World, actor: str) -> Organization:
    """A school the actor must not reach: another county's, another school in the same town, a college."""
    return {"county_a_stat": world.school_b1, "clerk_a1": world.school_a2, "k12_officer": world.college_a}[actor]


def outside_bureau(world: World, actor: str) -> Organization | None:
    """A bureau the actor must not reach; None for the stage-limited officer (bureaus have no stage)."""
    return {"county_a_stat": world.county_b, "clerk_a1": world.county_a, "k12_officer": None}[actor]


def writer_for(world: World, unit: Organization):
    """A user who may write records into ``unit`` (its county's statistician)."""
    by_unit = {world.school_b1.pk: "county_b_stat", world.county_b.pk: "county_b_stat",
               world.school_a2.pk: "county_a_stat", world.college_a.pk: "county_a_stat",
               world.county_a.pk: "county_a_stat", world.school_a1.pk: "county_a_stat"}
    return world.user(by_unit[unit.pk])


def marker_for(actor: str) -> str:
    """A text that must never appear in ``actor``'s pages: give it to the records you create."""
    return LEAK_MARKERS[actor][0]


def providers() -> list[Callable[[World, str], dict[str, str | None]]]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(module.outside_records)
    return found


def outside_records(world: World, actor: str) -> dict[str, str | None]:
    """Every provider's records for ``actor``, built once per world."""
    cache = world.__dict__.setdefault("_outside_records", {})
    if actor not in cache:
        merged: dict[str, str | None] = {}
        for provide in providers():
            merged.update(provide(world, actor))
        cache[actor] = merged
    return cache[actor]
