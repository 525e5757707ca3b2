"""API clients outside each group's reach: a client bound to the group's outside school (named
with the group's marker), with a logged call, so its detail and traffic pages have content to leak.
``county_a_secadmin`` (a security administrator of county A, in the county_a_stat group) walks the
client pages with this client of county B in the database."""

from __future__ import annotations

from tests.scope_records import marker_for, outside_school
from tests.world import World


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.exchange import clients
    from eduplatform.exchange.models import ApiCallLog

    school = outside_school(world, group)
    client, _ = clients.register_client(actor=world.user("secadmin"), name=f"{marker_for(group)}接口系统",
                                        organization=school, grants={})
    ApiCallLog.objects.create(client=client, method="GET", route="/api/v1/schools", path="/api/v1/schools",
                              status=200, latency_ms=3, region_path=client.region_path)
    return {"client_id": str(client.pk)}
