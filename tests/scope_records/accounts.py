"""A signed-in session of an account outside each group's reach, for the session-ending route
(accounts:session_end): only its owner and a security administrator over the owner may end it."""

from __future__ import annotations

from tests.world import World

# The account whose session lies outside the group's reach; None: every account is in reach.
OUTSIDE_OWNER = {"county_a_stat": "county_b_stat", "clerk_a1": "county_a_stat", "k12_officer": None,
                 "higher_officer": None, "city_stat": "county_c_stat"}


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.accounts.models import UserSession

    owner = OUTSIDE_OWNER[group]
    if owner is None:
        return {"session_id": None}
    session, _ = UserSession.objects.get_or_create(session_key=f"scope-matrix-{owner}",
                                                   defaults={"user": world.users[owner], "ip_address": "10.9.9.9"})
    return {"session_id": str(session.pk)}
