"""Assets records outside each group's reach: an equipment line and a summary holdings
record at the group's outside school, named with the group's leak marker."""

from __future__ import annotations

from tests.scope_records import marker_for, outside_school, writer_for
from tests.world import World


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from django.utils import timezone

    from eduplatform.assets import codes, services

    school = outside_school(world, group)
    writer = writer_for(world, school)
    marker = marker_for(group)
    item = services.create_equipment(actor=writer, school=school, data={
        "asset_number": f"SCOPE-{group}", "category": "01", "name": f"{marker}计算机", "quantity": "2",
        "unit_price": "3000", "purchased_on": "2020-03-01", "location": f"{marker}机房",
    })
    holdings = services.type_holdings(actor=writer, school=school, data={
        "year": str(codes.statistical_year(timezone.localdate()) - 1), "books_volumes": "1000",
        "teaching_equipment_value": "1000", "fixed_asset_value": "5000",
    })
    return {"equipment_id": str(item.pk), "holdings_id": str(holdings.pk), "asset_number": item.asset_number}
