"""Demo equipment registers and summaries: every open school has its summary, register schools'
summaries equal their registers, figures meet the stage standards, the planted anomalies are there."""

from __future__ import annotations

import decimal
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from eduplatform.assets import codes
from eduplatform.assets.models import AssetHoldings, Equipment, HoldingsSource
from eduplatform.demo import assets as demo_assets
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.stages import Stage
from eduplatform.students.models import Enrolment
from tests.assets_support import census_now, expected_figures

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def test_every_open_school_has_this_years_summary(demo):
    assert "已生成仪器设备台账" in demo
    year = codes.statistical_year(timezone.localdate())
    schools = set(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).values_list("pk", flat=True))
    assert schools == set(AssetHoldings.objects.filter(year=year).values_list("school_id", flat=True))
    sources = set(AssetHoldings.objects.values_list("source", flat=True))
    assert sources == {HoldingsSource.REGISTER, HoldingsSource.TYPED}


def test_register_schools_summaries_equal_their_registers(demo):
    census = census_now(timezone.localdate())
    derived = AssetHoldings.objects.filter(source=HoldingsSource.REGISTER, year=census.year)
    assert derived.count() >= 10
    for holdings in derived:
        expected = expected_figures(Equipment.objects.filter(school_id=holdings.school_id), census)
        assert holdings.teaching_equipment_value == expected["teaching_equipment_value"]
        assert holdings.computers_for_teaching == expected["computers_for_teaching"]
        assert holdings.books_volumes == expected["books_volumes"]
        assert holdings.fixed_asset_value == expected["register_value"] + holdings.other_fixed_assets_value


def test_compulsory_schools_meet_the_equipment_standard_except_the_planted_ones(demo):
    year = codes.statistical_year(timezone.localdate())
    students = dict(Enrolment.objects.filter(is_active=True).values("school_id").annotate(n=Count("id"))
                    .values_list("school_id", "n"))
    below = []
    for h in AssetHoldings.objects.filter(year=year).select_related("school"):
        mask = h.school.stage_mask
        if not students.get(h.school_id) or mask != Stage.PRIMARY:
            continue
        per_student = h.teaching_equipment_value / students[h.school_id]
        if per_student < decimal.Decimal(2000 * 0.85):
            below.append(h)
    assert 1 <= len(below) <= 5
    assert all(h.source == HoldingsSource.TYPED for h in below)


def test_planted_anomalies_are_present(demo):
    assert set(demo_assets.ANOMALIES) == {"value_differs", "equipment_below_standard", "no_books"}
    differs = [e for e in Equipment.objects.all() if e.value != (e.unit_price * e.quantity).quantize(decimal.Decimal("0.01"))]
    assert len({e.school_id for e in differs}) == 5
    year = codes.statistical_year(timezone.localdate())
    assert AssetHoldings.objects.filter(year=year, source=HoldingsSource.TYPED, books_volumes=0).count() == 3


def test_a_second_run_adds_nothing(demo):
    before = Equipment.objects.count(), AssetHoldings.objects.count()
    assert "已存在" in demo_assets.generate(seed=1)
    assert (Equipment.objects.count(), AssetHoldings.objects.count()) == before
