"""Record resources on the wire: the pydantic models generated from each ``ApiResource`` (so the
OpenAPI document names every member of every resource), turning a stored record into its JSON
members (masked unless the caller may see personal data), and a JSON record back into the text
cells an import row is made of (so the API and the spreadsheet go through one ``check_row``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, create_model

from eduplatform.core import masking
from eduplatform.exchange.resources import ApiResource, ResourceField

MAX_PAGE = 1000
MAX_BATCH = 10_000

# The JSON type each field is read back as; month fields (入学年月) travel as "YYYY-MM" strings.
_OUT_TYPES: dict[str, Any] = {
    "string": str, "code": str, "integer": int, "number": decimal.Decimal, "date": dt.date, "boolean": bool,
}
# What a batch record may hold in a member: typed JSON or the text a spreadsheet cell would hold.
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class RecordSource:
    """How one record resource is read: its scoped rows, how a natural key finds one, and how a
    stored row becomes the resource's members (hooks for members that are not model attributes)."""

    queryset: Callable[[Any], QuerySet]  # actor → scoped rows (selectors), any order
    key_lookups: Mapping[str, str]  # natural-key member → ORM lookup, e.g. {"school_code": "school__school_code"}
    values: Mapping[str, Callable[[Any, bool], Any]] = field(default_factory=dict)  # member → (row, personal) → value
    prefetch: Callable[[list[Any]], None] | None = None  # attach related rows to one page at a time
    months: frozenset[str] = frozenset()  # members stored as a date, exchanged as "YYYY-MM"
    unit: str = "school"  # where a batch writes: "school" (its school_code member) or "own" (the caller's unit)
    # [(row, clean values)] → {row: natural key} for keys the platform fills in (a new student's 学籍号)
    keys_after_write: Callable[[list[tuple[int, Any]]], dict[int, str]] | None = None
    # ORM lookup of the school's code for a list's ``?school_code=`` when the school is not part of
    # the natural key (a student is keyed by 学籍号 alone); "" = the key's own school_code lookup.
    school_lookup: str = ""

    @property
    def school_filter(self) -> str:
        return self.school_lookup or self.key_lookups.get("school_code", "")


def source_of(resource: ApiResource) -> RecordSource:
    return resource.extra["source"]


# --------------------------------------------------------------------------------------------
# Masking


def sealed(field: masking.PersonalField, cipher: str, masked: str, personal: bool) -> str:
    """A field stored encrypted (ID number, phone) as the caller may read it (``core.masking``)."""
    return masking.show_sealed(field, cipher, masked, sensitive=personal, channel=masking.Channel.API)


def shown(field: masking.PersonalField, value: str, personal: bool) -> str:
    return masking.show(field, value, sensitive=personal, channel=masking.Channel.API)


# --------------------------------------------------------------------------------------------
# Reading


def member_value(resource: ApiResource, row: Any, member: ResourceField, personal: bool) -> Any:
    src = source_of(resource)
    hook = src.values.get(member.name)
    value = hook(row, personal) if hook else getattr(row, member.name, None)
    if member.name in src.months and isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    if isinstance(value, dt.datetime):
        return value.date()
    if member.type in ("string", "code") and value is not None and not isinstance(value, str):
        return str(value)
    if member.type == "string" and member.personal and member.name.endswith("address"):
        return shown(masking.PersonalField.ADDRESS, value or "", personal)
    return value


def serialize(resource: ApiResource, row: Any, personal: bool) -> dict[str, Any]:
    return {f.name: member_value(resource, row, f, personal) for f in resource.fields}


def natural_key_of(resource: ApiResource, data: Mapping[str, Any]) -> str:
    """The record's key as one string: the natural-key members joined by "/" (URL order)."""
    return "/".join(str(data.get(name) if data.get(name) is not None else "") for name in resource.natural_key)


def etag_of(data: Mapping[str, Any]) -> str:
    """A strong validator over the record as the caller reads it: any stored change changes it."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


# --------------------------------------------------------------------------------------------
# Writing: a JSON record → the cells of an import row


def cell_text(value: Any) -> str:
    """A typed JSON member as the text ``check_row`` parses: 3 → "3", true → "是", 1200.5 → "1200.5"."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f")
    return str(value)


# --------------------------------------------------------------------------------------------
# Generated models


def _describe(f: ResourceField) -> str:
    bits = [f.label]
    if f.code_table:
        bits.append(f"代码表 {f.code_table}")
    if f.personal:
        bits.append("个人信息：无权限时脱敏")
    if not f.writable:
        bits.append("只读")
    if f.help:
        bits.append(f.help)
    return "；".join(bits)


_MODELS: dict[tuple[str, str], type[BaseModel]] = {}


class _Input(BaseModel):
    """Plain pydantic, not ninja's Schema: Schema's validator wraps every object for attribute access
    (DjangoGetter), which costs more than the checks themselves on a 10,000-record batch."""

    model_config = ConfigDict(extra="allow")


def _class_name(resource: ApiResource) -> str:
    return "".join(part.capitalize() for part in resource.key.split("_"))


def out_model(resource: ApiResource) -> type[Schema]:
    """The record as read (``StudentsRecord``): each member typed, nullable."""
    if (resource.key, "out") not in _MODELS:
        members: dict[str, Any] = {}
        for f in resource.fields:
            kind = str if f.name in source_of(resource).months else _OUT_TYPES[f.type]
            members[f.name] = (kind | None, Field(None, title=f.label, description=_describe(f)))
        _MODELS[resource.key, "out"] = create_model(f"{_class_name(resource)}Record", __base__=Schema, **members)
    return _MODELS[resource.key, "out"]


def page_model(resource: ApiResource) -> type[Schema]:
    if (resource.key, "page") not in _MODELS:
        _MODELS[resource.key, "page"] = create_model(
            f"{_class_name(resource)}Page", __base__=Schema,
            items=(list[out_model(resource)], ...),
            next_cursor=(str | None, Field(None, description="下一页的游标；为空表示已到最后一页")),
        )
    return _MODELS[resource.key, "page"]


def in_model(resource: ApiResource) -> type[Schema]:
    """A record sent for writing (``StudentsInput``): members as typed JSON or as text; unknown
    members are reported per record, not refused for the whole request."""
    if (resource.key, "in") not in _MODELS:
        members: dict[str, Any] = {}
        for f in resource.fields:
            if not f.writable:
                continue
            example = f.example or None
            members[f.name] = (Scalar, Field(None, title=f.label, description=_describe(f),
                                             json_schema_extra={"examples": [example]} if example else None))
        _MODELS[resource.key, "in"] = create_model(f"{_class_name(resource)}Input", __base__=_Input, **members)
    return _MODELS[resource.key, "in"]


class Problem(Schema):
    field: str = Field(description="出错的字段（JSON 成员名）")
    code: str = Field(description="稳定的错误代码，如 field.invalid、scope.outside")
    message: str = Field(description="中文说明，包括允许的取值")


class RecordResult(Schema):
    index: int = Field(description="记录在请求 records 数组中的位置（从 0 开始）")
    key: str = Field(description="记录的自然键（多个成员以 / 连接）；新生未填学籍号时为平台生成的学籍号")
    result: Literal["created", "updated", "unchanged", "rejected"]
    problems: list[Problem] = Field(default_factory=list)


def batch_in_model(resource: ApiResource) -> type[Schema]:
    if (resource.key, "batch") not in _MODELS:
        _MODELS[resource.key, "batch"] = create_model(
            f"{_class_name(resource)}Batch", __base__=BaseModel,
            mode=(Literal["all_or_nothing", "accept_valid"],
                  Field("all_or_nothing", description="all_or_nothing：任一记录有误则全部不写入；accept_valid：只写入无误的记录")),
            records=(list[in_model(resource)], Field(..., min_length=1, max_length=MAX_BATCH)),
        )
    return _MODELS[resource.key, "batch"]


class BatchResult(Schema):
    applied: bool = Field(description="是否已写入：all_or_nothing 模式下有记录被拒绝时为 false，其余记录的 result 为将产生的结果")
    created: int
    updated: int
    unchanged: int
    rejected: int
    results: list[RecordResult]
