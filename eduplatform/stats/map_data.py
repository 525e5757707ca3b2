"""What the indicator map (``/statistics/map/``) draws at each level of its drill-down:

- the province: its 21 cities (outlines ``maps/440000000000.json``);
- a city: its counties (``maps/<city code>.json``, from data/reference/gd_counties.geojson);
- a county — or 东莞/中山, whose towns sit directly under the city — its outline and its schools as
  points at their recorded 经度/纬度 (``Organization.longitude``/``latitude``), each with the chosen
  figure; schools without coordinates are counted and named on the page, never placed by guess.

Reads through ``scoped`` like every selector; figures from the measure store (county sums for
regions, per-school rows for the points).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum

from eduplatform.orgs.models import Organization, OrgKind, Region, RegionLevel
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.stats.models import MeasureRollup

PROVINCE_CODE = "440000000000"
# Regions without an outline of their own in the county source (data/reference/SOURCES.md):
# 光明区 was created from 宝安区 in 2018; the map draws 宝安区's former outline for it and says so.
OUTLINE_OF = {"440311000000": "440306000000"}


@dataclass
class MapLevel:
    """Which outline file, which feature of it, and whether the level shows schools as points."""

    outline_file: str  # a file under static maps/
    feature_code: str  # the region's own feature in that file ("" = draw every feature)
    shows_schools: bool
    borrowed_outline: str = ""  # name of the region whose outline stands in (光明区 → 宝安区)


def map_level(region: Region) -> MapLevel | None:
    """None for a level the map does not draw (a town, a school)."""
    if region.level == RegionLevel.PROVINCE:
        return MapLevel(f"{PROVINCE_CODE}.json", "", shows_schools=False)
    if region.level == RegionLevel.CITY:
        has_counties = region.children.filter(level=RegionLevel.COUNTY).exists()
        return MapLevel(f"{region.code}.json", "" if has_counties else region.code, shows_schools=not has_counties)
    if region.level == RegionLevel.COUNTY:
        code = OUTLINE_OF.get(region.code, region.code)
        borrowed = Region.objects.filter(code=code).values_list("name", flat=True).first() if code != region.code else ""
        return MapLevel(f"{region.code[:4]}00000000.json", code, shows_schools=True, borrowed_outline=borrowed or "")
    return None


def school_points(actor: Actor, region: Region, keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The open schools under ``region`` in the actor's scope with their measures ``keys`` (per school,
    from the measure store): (those with coordinates, names of those without)."""
    schools = scoped(Organization.objects.filter(
        kind=OrgKind.SCHOOL, is_open=True, region_path__startswith=region.path), actor).order_by("school_code")
    cells: dict[int, dict[str, float]] = defaultdict(dict)
    measures = scoped(MeasureRollup.objects.filter(region_path__startswith=region.path, key__in=keys), actor)
    for row in measures.values("school_id", "key").annotate(total=Sum("value")):
        cells[row["school_id"]][row["key"]] = float(row["total"] or 0)
    placed, unplaced = [], []
    for school in schools.only("pk", "name", "school_code", "longitude", "latitude"):
        if school.longitude is None or school.latitude is None:
            unplaced.append(school.name)
            continue
        placed.append({"name": school.name, "code": school.school_code, "cells": cells.get(school.pk, {}),
                       "lon": float(school.longitude), "lat": float(school.latitude)})
    return placed, unplaced
