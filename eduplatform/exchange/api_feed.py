"""GET /api/v1/changes: what changed, in commit order, inside the caller's jurisdiction.

A client keeps the cursor of its last page and polls with it; ``has_more`` says whether to read on
at once. The cursor is opaque: it holds the feed position (``history.selectors.changes_after``) and
the resources it was read with, because a position reached through one filter may lie past entries
of another resource not yet delivered — a cursor read with a different ``resources`` is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext_noop
from ninja import Field, Query, Router, Schema

from eduplatform.core.api import problem
from eduplatform.core.errors import NotPermitted
from eduplatform.core.identity import mask_staff_number
from eduplatform.exchange import resources as registry
from eduplatform.exchange.resources import ApiResource
from eduplatform.exchange.rights import RightMissing, may_see_personal, require_right
from eduplatform.history import selectors
from eduplatform.orgs.models import Organization
from eduplatform.standards.validators import mask_student_number

router = Router(tags=["变更流"])

FEED_DEFAULT_LIMIT = 500
# Keys that may hold an ID number (G 学籍号, a 工号 typed as an ID number): masked like the records'
# own fields for a caller who may not see personal data.
KEY_MASKS: dict[str, Callable[[str], str]] = {"student": mask_student_number, "staff": mask_staff_number}


class ProblemOut(Schema):
    """RFC 9457 problem (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str = Field(description="中文说明")
    code: str = Field(description="稳定的错误代码，见 docs/api.md")
    instance: str = ""
    errors: list[dict] | None = None


class ChangeOut(Schema):
    resource: str = Field(description="资源（接口资源标识，如 students）")
    key: str = Field(description="记录的自然键（学籍号、学校标识码 …）")
    operation: Literal["upsert", "delete"] = Field(description="upsert：新增或修改；delete：删除或键已废止")
    previous_key: str | None = Field(None, description="键变更时的原键（如临时学籍号换发正式学籍号）")
    occurred_at: dt.datetime
    school_code: str | None = Field(None, description="记录所属学校的学校标识码")


class ChangePage(Schema):
    items: list[ChangeOut]
    next_cursor: str = Field(description="下次读取时作为 after 传回")
    has_more: bool = Field(description="true：立即继续读取；false：已读到最新，稍后再轮询")


class ChangeFilter(Schema):
    after: str | None = Field(None, description="上一页返回的 next_cursor；不带则从头读取")
    resources: str = Field("", description="以逗号分隔的资源标识，如 students,staff；不带则为全部可读资源")
    limit: int = Field(FEED_DEFAULT_LIMIT, ge=1, le=selectors.FEED_PAGE_LIMIT)


def _staff_or_administrators(keys: set[str]) -> dict[str, str]:
    """Staff and administrators share the feed name "staff" (one table): which resource each key is."""
    from eduplatform.staff.models import StaffMember

    found = dict(StaffMember.objects.filter(staff_number__in=keys).values_list("staff_number", "is_administrator"))
    return {key: "administrators" if found.get(key) else "staff" for key in keys}


# Feed names shared by several API resources, and how to tell an entry's resource by its keys (one
# query per page).
SHARED_FEED_NAMES: dict[str, Callable[[set[str]], dict[str, str]]] = {"staff": _staff_or_administrators}


def feed_resources() -> dict[str, ApiResource]:
    """API resources that appear in the change feed, by key."""
    return {r.key: r for r in registry.all_resources() if r.feed_resources}


def readable(request: HttpRequest, resource: ApiResource) -> bool:
    try:
        require_right(request, resource, "read")
    except NotPermitted:
        return False
    return True


class CursorRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def encode_feed_cursor(position: str, filter_key: str) -> str:
    return base64.urlsafe_b64encode(f"{position}|{filter_key}".encode()).decode().rstrip("=")


def decode_feed_cursor(cursor: str | None, filter_key: str) -> str | None:
    """The feed position of ``cursor``, which must have been handed out for the same filter."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position, given_filter = text.split("|", 1)
        selectors._parse_cursor(position)
    except (ValueError, UnicodeDecodeError, selectors.FeedCursorInvalid) as exc:
        raise CursorRefused("feed.cursor_invalid",
                            "游标无效：请传回上一页返回的 next_cursor，或不带 after 从头读取") from exc
    if given_filter != filter_key:
        raise CursorRefused("feed.cursor_mismatch",
                            f"该游标是按资源“{given_filter or '全部'}”读取时返回的，不能用于“{filter_key or '全部'}”："
                            "请使用同一 resources 参数，或不带 after 从头读取")
    return position


@router.get("/changes", response={200: ChangePage, 403: ProblemOut, 422: ProblemOut},
            summary=gettext_noop("变更流：按提交顺序读取管辖范围内的新增、修改、删除和键变更（游标分页）"))
def list_changes(request: HttpRequest, filters: Query[ChangeFilter]):
    known = feed_resources()
    asked = [k.strip() for k in filters.resources.split(",") if k.strip()]
    unknown = [k for k in asked if k not in known]
    if unknown:
        return problem(request, status=422, title="请求格式错误", code="feed.resource_unknown",
                       detail=f"资源“{'、'.join(unknown)}”不在变更流中；可选：{', '.join(known)}",
                       errors=[{"field": "resources", "code": "feed.resource_unknown", "message": k} for k in unknown])
    if asked:
        chosen = [known[k] for k in dict.fromkeys(asked)]
        for resource in chosen:
            require_right(request, resource, "read")  # 403 naming the missing grant or capability
    else:
        chosen = [r for r in known.values() if readable(request, r)]
        if not chosen:
            raise NotPermitted("没有可读取的资源：账号或接口客户端未获任何资源的读取授权")
    filter_key = ",".join(sorted(r.key for r in chosen)) if asked else ""
    try:
        position = decode_feed_cursor(filters.after, filter_key)
    except CursorRefused as refused:
        return problem(request, status=422, title="游标无效", detail=refused.message, code=refused.code,
                       errors=[{"field": "after", "code": refused.code, "message": refused.message}])
    by_feed_name: dict[str, list[ApiResource]] = {}
    for resource in chosen:
        for name in resource.feed_resources:
            by_feed_name.setdefault(name, []).append(resource)
    page = selectors.changes_after(request.user, position, limit=filters.limit, resources=list(by_feed_name))
    owner_of: dict[tuple[str, str], str] = {}  # (feed name, key) → API resource, where a name is shared
    for name, classify in SHARED_FEED_NAMES.items():
        keys = {e.natural_key for e in page.entries if e.resource == name} | {
            e.previous_key for e in page.entries if e.resource == name and e.previous_key}
        owner_of.update({(name, k): v for k, v in classify(keys).items()} if keys else {})
    wanted = {r.key for r in chosen}

    def resource_of(entry) -> str | None:
        owners = [r.key for r in by_feed_name[entry.resource]]
        key = owner_of.get((entry.resource, entry.natural_key), owners[0])
        return key if key in wanted else None

    school_codes = dict(Organization.objects.filter(pk__in={e.school_id for e in page.entries if e.school_id})
                        .values_list("pk", "school_code"))
    unmasked = may_see_personal(request)

    def shown(feed_name: str, key: str | None) -> str | None:
        mask = KEY_MASKS.get(feed_name)
        return key if key is None or unmasked or mask is None else mask(key)

    # A page may hold fewer items than ``limit`` (entries of a shared feed name that belong to a
    # resource not asked for); has_more and the cursor still tell where to read on.
    items = [
        ChangeOut(resource=key, key=shown(e.resource, e.natural_key),
                  operation=e.operation, previous_key=shown(e.resource, e.previous_key), occurred_at=e.occurred_at,
                  school_code=school_codes.get(e.school_id))
        for e in page.entries if (key := resource_of(e)) is not None
    ]
    request.api_records = len(items)  # the call log's record count (H1's calllog reads it if present)
    return ChangePage(items=items, next_cursor=encode_feed_cursor(page.cursor, filter_key), has_more=page.more)


__all__ = ["router", "ProblemOut", "RightMissing"]
