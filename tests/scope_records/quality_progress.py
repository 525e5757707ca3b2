"""Progress pages (/progress/school/<school_id>/): the group's outside school, whose records the
other providers already name with the group's leak marker."""

from __future__ import annotations

from tests.scope_records import outside_school
from tests.world import World


def outside_records(world: World, group: str) -> dict[str, str | None]:
    return {"school_id": str(outside_school(world, group).pk)}
