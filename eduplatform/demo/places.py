"""Where a demo school stands: a point inside its county's outline (data/reference/gd_counties.geojson),
so that the county map (``/statistics/map/?region=<county>``) shows each county's schools within it.

Real schools carry their own 经度/纬度 (``Organization.longitude``/``latitude``, typed or imported); the
demo has none to copy, so it places each school by a rule: the two random offsets the generator draws
anyway pick a spot in the county's bounding box; a spot outside the outline moves halfway towards an
interior point of the county until it is inside. 光明区 (created from 宝安区 in 2018) has no outline of
its own and uses 宝安区's former one.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings

Ring = list[tuple[float, float]]
OUTLINE_OF = {"440311000000": "440306000000"}  # 光明区 → 宝安区's outline (see the module docstring)


def _inside(x: float, y: float, polygons: list[list[Ring]]) -> bool:
    """Even-odd rule over every ring (holes included)."""
    inside = False
    for polygon in polygons:
        for ring in polygon:
            j = len(ring) - 1
            for i in range(len(ring)):
                (xi, yi), (xj, yj) = ring[i], ring[j]
                if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                    inside = not inside
                j = i
    return inside


@functools.cache
def _outlines() -> dict[str, tuple[list[list[Ring]], tuple[float, float, float, float], tuple[float, float]]]:
    """code → (polygons, bounding box, an interior point)."""
    path = Path(settings.DATA_DIR) / "reference" / "gd_counties.geojson"
    found = {}
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        polygons = [[[(float(x), float(y)) for x, y in ring] for ring in polygon] for polygon in polygons]
        xs = [x for polygon in polygons for x, _y in polygon[0]]
        ys = [y for polygon in polygons for _x, y in polygon[0]]
        box = (min(xs), min(ys), max(xs), max(ys))
        # An interior point: the grid point inside the outline nearest the box's centre.
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        grid = [(box[0] + (box[2] - box[0]) * i / 20, box[1] + (box[3] - box[1]) * j / 20)
                for i in range(1, 20) for j in range(1, 20)]
        inner = [p for p in grid if _inside(*p, polygons)]
        anchor = min(inner, key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2) if inner else polygons[0][0][0]
        found[feature["properties"]["code"]] = (polygons, box, anchor)
    return found


def point_in_county(county_code: str, u: float, v: float) -> tuple[float, float] | None:
    """A point inside the county's outline chosen by ``u``, ``v`` in [0, 1]; None without an outline."""
    outline = _outlines().get(OUTLINE_OF.get(county_code, county_code))
    if outline is None:
        return None
    polygons, (x0, y0, x1, y1), (ax, ay) = outline
    x, y = x0 + (x1 - x0) * u, y0 + (y1 - y0) * v
    for _step in range(30):
        if _inside(x, y, polygons):
            return round(x, 6), round(y, 6)
        x, y = (x + ax) / 2, (y + ay) / 2
    return round(ax, 6), round(ay, 6)
