"""The exchange standard for schools and regions (API payloads; later spreadsheet rows too)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_noop
from ninja import Schema
from pydantic import Field


class SchoolOut(Schema):
    school_code: str = Field(description=gettext_noop("学校标识码（10位）"))
    name: str = Field(description=gettext_noop("学校名称"))
    school_type_code: str = Field(description=gettext_noop("办学类型代码（JY/T 1001）"))
    sponsor_code: str = Field(description=gettext_noop("举办者代码"))
    urban_rural_code: str = Field(description=gettext_noop("城乡分类代码"))
    town_code: str = Field(description=gettext_noop("所在乡镇（街道）12位统计用区划代码"))
    address: str
    longitude: Decimal | None
    latitude: Decimal | None
    principal_name: str
    phone: str
    founded_on: dt.date | None
    is_open: bool
    closed_on: dt.date | None


class SchoolPage(Schema):
    items: list[SchoolOut]
    next_cursor: str | None = Field(description=gettext_noop("下一页游标；为空表示已到最后一页"))


class RegionOut(Schema):
    code: str = Field(description=gettext_noop("12位统计用区划代码"))
    name: str
    level: str
    parent_code: str | None
    schools: int = Field(description=gettext_noop("在办学校数（本辖区可见部分）"))
