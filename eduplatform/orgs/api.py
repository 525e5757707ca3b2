from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_noop
from ninja import Query, Router, Schema

from eduplatform.core.api import decode_cursor, encode_cursor
from eduplatform.core.errors import NotPermitted, OutOfScope
from eduplatform.orgs import capabilities, selectors
from eduplatform.orgs.models import Organization
from eduplatform.orgs.schemas import RegionOut, SchoolOut, SchoolPage


def _may_read_records(request: HttpRequest) -> None:
    if not request.user.can(capabilities.VIEW_RECORDS):
        raise NotPermitted("您的角色无权读取业务数据")


router = Router(tags=[gettext_noop("学校与区划")])


def school_out(school: Organization) -> SchoolOut:
    return SchoolOut(
        school_code=school.school_code,
        name=school.name,
        school_type_code=school.school_type_code,
        sponsor_code=school.sponsor_code,
        urban_rural_code=school.urban_rural_code,
        town_code=school.region.code,
        address=school.address,
        longitude=school.longitude,
        latitude=school.latitude,
        principal_name=school.principal_name,
        phone=school.phone,
        founded_on=school.founded_on,
        is_open=school.is_open,
        closed_on=school.closed_on,
    )


class SchoolFilter(Schema):
    q: str = ""
    cursor: str | None = None
    limit: int = 100


@router.get("/schools", response=SchoolPage, summary=gettext_noop("列出管辖范围内的学校（游标分页）"))
def list_schools(request: HttpRequest, filters: Query[SchoolFilter]):
    _may_read_records(request)
    limit = max(1, min(filters.limit, 1000))
    after = decode_cursor(filters.cursor)
    qs = selectors.search_schools(request.user, text=filters.q, status="all").filter(pk__gt=after).order_by("pk")
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return SchoolPage(items=[school_out(s) for s in rows], next_cursor=encode_cursor(rows[-1].pk) if more else None)


@router.get("/schools/{school_code}", response=SchoolOut, summary=gettext_noop("按学校标识码读取一所学校"))
def get_school(request: HttpRequest, school_code: str):
    _may_read_records(request)
    try:
        return school_out(selectors.school_for(request.user, school_code))
    except Http404:
        # The API says why (403 scope.outside, naming the caller's jurisdiction) where a page hides
        # existence: an external system must tell "not ours" from "mistyped code".
        if Organization.objects.filter(kind="school", school_code=school_code).exists():
            raise OutOfScope(f"学校“{school_code}”不在您的管辖范围内") from None
        raise


@router.get("/regions/{region_code}/children", response=list[RegionOut], summary=gettext_noop("下级区划及学校数"))
def region_children(request: HttpRequest, region_code: str):
    _may_read_records(request)
    region = selectors.region_for(request.user, region_code)
    return [
        RegionOut(code=r.region.code, name=r.name, level=r.region.level, parent_code=region.code, schools=r.schools)
        for r in selectors.region_children_with_counts(request.user, region)
    ]
