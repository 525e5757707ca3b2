"""Demo schools stand inside their county's outline (eduplatform/demo/places.py), so the county
level of the map shows each county's schools within it."""

from __future__ import annotations

import itertools

from eduplatform.demo import places


def test_every_point_chosen_for_a_county_lies_inside_its_outline():
    outlines = places._outlines()
    assert len(outlines) == 123  # 121 counties with an outline, 东莞 and 中山 as cities
    for code in ("440106000000", "440304000000", "441900000000", "445281000000"):
        polygons = outlines[code][0]
        for u, v in itertools.product((0.0, 0.3, 0.5, 0.97), repeat=2):
            x, y = places.point_in_county(code, u, v)
            assert places._inside(x, y, polygons), (code, u, v, x, y)


def test_guangming_uses_baoan_s_former_outline_and_an_unknown_code_gives_none():
    x, y = places.point_in_county("440311000000", 0.5, 0.5)  # 光明区, created from 宝安区 in 2018
    assert places._inside(x, y, places._outlines()["440306000000"][0])
    assert places.point_in_county("449999000000", 0.5, 0.5) is None
