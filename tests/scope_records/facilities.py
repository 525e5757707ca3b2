"""Land and building records outside each group's reach: a building and a parcel at the
group's outside school, named with the group's leak marker."""

from __future__ import annotations

from tests.facilities_support import building_row, land_row
from tests.scope_records import marker_for, outside_school, writer_for
from tests.world import World


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.facilities import services

    school = outside_school(world, group)
    writer, marker = writer_for(world, school), marker_for(group)
    building = services.create_building(actor=writer, school=school,
                                        data=building_row(901, name=f"{marker}教学楼", condition="24"))
    parcel = services.create_parcel(actor=writer, school=school, data=land_row(901, name=f"{marker}地块"))
    # The API's natural keys: /api/v1/land/{school_code}/{name}. ``number`` is shared by buildings
    # and classes (an integer there): the students provider gives the class number, and a building
    # route with the outside school's code is refused whatever the number.
    return {"building_id": str(building.pk), "parcel_id": str(parcel.pk), "name": parcel.name}
