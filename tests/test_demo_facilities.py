"""Demo land and buildings: every open school gets plausible, valid records with the planted anomalies.

One small province (as in test_demo_students: scale 0.002) is generated once for the module through the
command and rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from eduplatform.demo import facilities as demo_facilities
from eduplatform.facilities import selectors
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.facilities.schema import BUILDING_COLUMNS, LAND_COLUMNS, check_building, check_land
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.students.models import Enrolment

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def test_every_open_school_has_land_and_buildings(demo):
    schools = set(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).values_list("pk", flat=True))
    assert set(Building.objects.values_list("school_id", flat=True)) == schools
    assert set(LandParcel.objects.values_list("school_id", flat=True)) == schools
    assert f"{Building.objects.count():,} 栋建筑物" in demo


def test_demo_records_pass_the_import_rules(demo):
    today = dt.date.today()
    for building in Building.objects.all()[:400]:
        raw = {c.field: _text(getattr(building, c.field)) for c in BUILDING_COLUMNS}
        assert check_building(raw, today=today).ok, (building, check_building(raw, today=today).problems)
    for parcel in LandParcel.objects.all()[:200]:
        raw = {c.field: _text(getattr(parcel, c.field)) for c in LAND_COLUMNS}
        assert check_land(raw, today=today).ok, parcel


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def test_floor_area_grows_with_enrolment_and_type(demo):
    for school in Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True)[:60]:
        students = Enrolment.objects.filter(school=school, is_active=True).count()
        total = selectors.totals_of(Building.objects.filter(school=school)).total
        assert total >= 60 * 7, school  # at least a small teaching point's worth
        if students >= 60:
            assert 7 <= total / students <= 40, (school, students, total)


def test_planted_anomalies(demo):
    assert set(demo_facilities.ANOMALIES) == {"d_grade_in_use", "teaching_space_below_standard", "no_sports_ground"}
    assert Building.objects.filter(condition="24", in_use=True, demolished_on__isnull=True).count() == 3
    county = Region.objects.get(code="440106000000").path
    in_county = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, region_path__startswith=county)
    compulsory = sum(1 for s in in_county if s.stage_mask & (Stage.PRIMARY | Stage.JUNIOR))
    primary = sum(1 for s in in_county if s.stage_mask & Stage.PRIMARY)
    assert compulsory >= 1  # the small demo province keeps at least one per county
    assert len(set(LandParcel.objects.filter(region_path__startswith=county, sports_area=0, name="主校区")
                   .values_list("school_id", flat=True))) == min(2, compulsory)
    low = 0
    for school in in_county:
        students = max(Enrolment.objects.filter(school=school, is_active=True).count(), 60)
        teaching = selectors.totals_of(Building.objects.filter(school=school)).teaching
        low += teaching / students < 4.5
    assert low >= min(2, primary)


def test_generator_skips_when_data_exists(demo):
    before = Building.objects.count()
    assert demo_facilities.generate(seed=1) == ""
    assert Building.objects.count() == before
    assert Building.objects.values("school", "number").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
