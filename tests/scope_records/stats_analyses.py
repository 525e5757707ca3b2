"""Saved analyses (/statistics/analyses/<analysis_id>/): one each group must not open — shared by a
user of a jurisdiction beside the group's (another county, another city), or kept private by a
user above it — titled with the group's leak marker."""

from __future__ import annotations

from eduplatform.orgs.models import Region
from tests.scope_records import marker_for
from tests.world import World

PIVOT = {"subject": "students", "rows": "area", "cols": "stage", "measure": "enrolled"}
# group → (owner, region code, shared)
OWNERS = {
    "county_a_stat": ("county_b_stat", "440104000000", True),  # 越秀区's, shared in 越秀区 and above
    "clerk_a1": ("county_b_stat", "440104000000", True),
    "k12_officer": ("province", "440000000000", False),  # the province's own, not shared
    "higher_officer": ("province", "440000000000", False),
    "city_stat": ("county_c_stat", "440304000000", True),  # 福田区's (深圳), shared
}


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.stats import services
    from eduplatform.stats.models import SavedAnalysis

    owner, code, shared = OWNERS[group]
    title = marker_for(group)
    found = SavedAnalysis.objects.filter(title=title, owner=world.user(owner)).first()
    if found is None:
        found = services.save_analysis(actor=world.user(owner), title=title, region=Region.objects.get(code=code),
                                       params=PIVOT, shared=shared)
    return {"analysis_id": str(found.pk)}
