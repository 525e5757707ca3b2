"""Routes of the record resources, generated from the registry (``record_resources``): per resource

    GET  /{key}                      keyset-paged list (opaque cursor, ``school_code`` filter)
    GET  /{key}/{natural key…}       one record, with its ETag
    PUT  /{key}/{natural key…}       create or update one record (``If-Match`` optional)
    POST /{key}/batch                batch upsert, per-record results (``Idempotency-Key``)

Each route has its resource's own generated models, so the OpenAPI document shows every member.
Reads go through the resource's scoped selector; personal members are masked unless
``may_see_personal``; writes go through ``upsert`` (the import's checks and services).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_noop
from ninja import Field, Query, Router, Schema

from eduplatform.core.api import decode_cursor, encode_cursor, jurisdiction_of, problem
from eduplatform.exchange import idempotency, upsert
from eduplatform.exchange.api_feed import ProblemOut  # one problem schema in the OpenAPI document
from eduplatform.exchange.resources import ApiResource, all_resources
from eduplatform.exchange.rights import may_see_personal, require_right
from eduplatform.exchange.serializers import (
    MAX_PAGE,
    BatchResult,
    batch_in_model,
    etag_of,
    in_model,
    out_model,
    page_model,
    serialize,
    source_of,
)
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import unit_in_reach

router = Router()


class ListFilter(Schema):
    school_code: str = Field("", description="只列出该学校（学校标识码）的记录")
    cursor: str | None = Field(None, description="上一页返回的 next_cursor；首页不填")
    limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"每页条数，最多 {MAX_PAGE}")


def _json(body: Any, *, status: int = 200, etag: str = "") -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False, default=str), status=status,
                            content_type="application/json")
    if etag:
        response["ETag"] = etag
    return response


def school_out_of_reach(request: HttpRequest, school_code: str, field_path: str) -> HttpResponse | None:
    """403 ``scope.outside`` when a school the caller names lies outside its jurisdiction.
    Schools are public (the school list names them all), so saying so leaks nothing and says why
    better than a 404 would."""
    school = Organization.objects.filter(kind=OrgKind.SCHOOL, school_code=school_code).first()
    if school is None or unit_in_reach(request.user, school):
        return None
    message = f"学校「{school.name}」（{school_code}）不在{upsert.jurisdiction(request.user)}内，不能读写该学校的记录"
    return problem(request, status=403, title="超出管辖范围", code="scope.outside", detail=message,
                   errors=[{"field": field_path, "code": "scope.outside", "message": message}],
                   extra={"jurisdiction": jurisdiction_of(request)})


def _page(resource: ApiResource, request: HttpRequest, filters: ListFilter) -> HttpResponse | dict[str, Any]:
    require_right(request, resource, "read")
    src = source_of(resource)
    qs = src.queryset(request.user)
    if filters.school_code:
        if not src.school_filter:  # never ignored silently: the caller would take all rows for one school's
            message = f"“{resource.label}”不属于某一学校，不能按学校标识码筛选；请去掉 school_code"
            return problem(request, status=422, title="请求参数错误", code="request.invalid", detail=message,
                           errors=[{"field": "query.school_code", "code": "filter.unsupported", "message": message}])
        if refused := school_out_of_reach(request, filters.school_code.strip(), "query.school_code"):
            return refused
        qs = qs.filter(**{src.school_filter: filters.school_code.strip()})
    rows = list(qs.filter(pk__gt=decode_cursor(filters.cursor)).order_by("pk")[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    if src.prefetch and rows:
        src.prefetch(rows)
    personal = may_see_personal(request)
    request.api_records = len(rows)  # for the call log
    return {"items": [serialize(resource, r, personal) for r in rows],
            "next_cursor": encode_cursor(rows[-1].pk) if more else None}


def _find(resource: ApiResource, request: HttpRequest, key: dict[str, str]) -> Any:
    src = source_of(resource)
    row = src.queryset(request.user).filter(**{src.key_lookups[k]: v for k, v in key.items()}).order_by("-pk").first()
    if row is not None and src.prefetch:
        src.prefetch([row])
    return row


def _etag(resource: ApiResource, row: Any, data: dict[str, Any]) -> str:
    # updated_at too: a change to a masked member (a new phone masking like the old one) is a change.
    stamps = [str(getattr(row, "updated_at", "")), str(getattr(getattr(row, "api_enrolment", None), "updated_at", ""))]
    return etag_of({**data, "_stamps": stamps})


def _not_found(request: HttpRequest, resource: ApiResource, key: dict[str, str]) -> HttpResponse:
    shown = "、".join(f"{k}={v}" for k, v in key.items())
    return problem(request, status=404, title="未找到", code="not_found",
                   detail=f"“{resource.label}”中没有 {shown} 的记录，或该记录不在您的管辖范围内",
                   errors=[{"field": f"path.{k}", "code": "not_found", "message": f"{k}「{v}」未找到"}
                           for k, v in key.items()])


def _get(resource: ApiResource, request: HttpRequest, key: dict[str, str]) -> HttpResponse:
    require_right(request, resource, "read")
    if "school_code" in key and (refused := school_out_of_reach(request, key["school_code"], "path.school_code")):
        return refused
    row = _find(resource, request, key)
    if row is None:
        return _not_found(request, resource, key)
    data = serialize(resource, row, may_see_personal(request))
    etag = _etag(resource, row, data)
    request.api_records = 1
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    return _json(data, etag=etag)


def _put(resource: ApiResource, request: HttpRequest, key: dict[str, str], payload: Schema) -> HttpResponse:
    require_right(request, resource, "write")
    if "school_code" in key and (refused := school_out_of_reach(request, key["school_code"], "path.school_code")):
        return refused
    record = json.loads(request.body)  # as sent, extra members included (the model checked the shape)
    for name, value in key.items():
        given = record.get(name)
        if given not in (None, "") and str(given).strip() != value:
            return problem(request, status=422, title="数据校验未通过", code="record.invalid",
                           detail=f"请求体中的 {name}「{given}」与地址中的「{value}」不一致",
                           errors=[{"field": f"body.{name}", "code": "key.mismatch",
                                    "message": f"应与地址中的「{value}」一致，或不填"}])
        record[name] = value

    def work() -> HttpResponse:
        current = _find(resource, request, key)
        wanted = request.headers.get("If-Match", "").strip()
        if wanted:
            etag = _etag(resource, current, serialize(resource, current, may_see_personal(request))) if current else ""
            if wanted != "*" and wanted != etag or (wanted == "*" and not current):
                response = problem(
                    request, status=412, title="记录已被修改", code="precondition.failed",
                    detail="If-Match 与记录当前的 ETag 不一致：记录已被他人修改（或尚不存在）。请重新读取后再提交"
                           + (f"；当前 ETag 为 {etag}" if etag else ""),
                    errors=[{"field": "header.If-Match", "code": "precondition.failed",
                             "message": f"当前 ETag：{etag}" if etag else "记录不存在"}])
                if etag:
                    response["ETag"] = etag
                return response
        outcome = upsert.upsert(actor=request.user, resource=resource, records=[record], mode="all_or_nothing")
        request.api_records = 1
        result = outcome.records[0]
        if any(p["code"] == "scope.outside" for p in result.problems):
            return problem(request, status=403, title="超出管辖范围", code="scope.outside",
                           detail=result.problems[0]["message"], extra={"jurisdiction": jurisdiction_of(request)},
                           errors=[{**p, "field": f"body.{p['field']}"} for p in result.problems])
        if result.result == "rejected":
            return problem(request, status=422, title="数据校验未通过", code="record.invalid",
                           detail="；".join(p["message"] for p in result.problems),
                           errors=[{**p, "field": f"body.{p['field']}" if p["field"] else "body"}
                                   for p in result.problems])
        row = _find(resource, request, key)
        if row is None:  # written, but outside what the caller may read (e.g. a masked key)
            return _json({"key": result.key, "result": result.result}, status=201 if result.result == "created" else 200)
        data = serialize(resource, row, may_see_personal(request))
        return _json(data, status=201 if result.result == "created" else 200, etag=_etag(resource, row, data))

    return idempotency.run_once(request, work)


def _batch(resource: ApiResource, request: HttpRequest, payload: Schema) -> HttpResponse:
    require_right(request, resource, "write")

    def work() -> HttpResponse:
        # The records as sent (the model checked their shape): extra members are reported per record.
        body = getattr(request, "parsed_body", None)
        records = (body if body is not None else json.loads(request.body))["records"]
        outcome = upsert.upsert(actor=request.user, resource=resource, records=records, mode=payload.mode)
        request.api_records = len(records)
        return _json(outcome.as_dict(), status=200 if outcome.applied else 422)

    return idempotency.run_once(request, work)


# --------------------------------------------------------------------------------------------
# Route generation


def _with_signature(fn: Any, params: list[inspect.Parameter]) -> Any:
    fn.__signature__ = inspect.Signature([inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                            annotation=HttpRequest), *params])
    return fn


def _path_params(resource: ApiResource) -> list[inspect.Parameter]:
    """The natural key's members as path parameters: integers typed (a 统计年度 "abc" is a 422, not a
    query that cannot run)."""
    types = {f.name: int if f.type == "integer" else str for f in resource.fields}
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=types.get(name, str))
            for name in resource.natural_key]


def _add_routes(resource: ApiResource) -> None:
    base = f"/{resource.key}"
    item = base + "".join(f"/{{{name}}}" for name in resource.natural_key)
    tags = [resource.label]
    # Every route may also answer 400 (input guard), 401 (no or bad token) and 429 (rate limit).
    errors = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 422: ProblemOut, 429: ProblemOut}

    def list_records(request: HttpRequest, filters: Query[ListFilter]) -> dict[str, Any]:
        return _page(resource, request, filters)

    router.get(base, response={200: page_model(resource), **errors}, tags=tags, operation_id=f"list_{resource.key}",
               summary=LIST_SUMMARY % {"resource": resource.label})(list_records)

    if resource.writable:
        _add_write_routes(resource, base, item, tags, errors)

    # After /batch: "/students/batch" must not resolve to the record "batch".
    def get_record(request: HttpRequest, **key: Any) -> HttpResponse:
        return _get(resource, request, {k: str(v) for k, v in key.items()})

    router.get(item, response={200: out_model(resource), 304: None, **errors}, tags=tags,
               operation_id=f"get_{resource.key}", summary=GET_SUMMARY % {"resource": resource.label})(
        _with_signature(get_record, _path_params(resource)))


def _add_write_routes(resource: ApiResource, base: str, item: str, tags: list[str], errors: dict) -> None:
    body_model = in_model(resource)

    def batch_records(request: HttpRequest, payload: Any) -> HttpResponse:
        return _batch(resource, request, payload)

    router.post(f"{base}/batch", response={**errors, 200: BatchResult, 409: ProblemOut,
                                          422: BatchResult | ProblemOut},
                tags=tags, operation_id=f"batch_{resource.key}",
                summary=BATCH_SUMMARY % {"resource": resource.label})(
        _with_signature(batch_records, [inspect.Parameter("payload", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          annotation=batch_in_model(resource))]))

    def put_record(request: HttpRequest, payload: Any, **key: Any) -> HttpResponse:
        return _put(resource, request, {k: str(v) for k, v in key.items()}, payload)

    router.put(item, response={200: out_model(resource), 201: out_model(resource), 409: ProblemOut,
                               412: ProblemOut, **errors},
               tags=tags, operation_id=f"put_{resource.key}",
               summary=PUT_SUMMARY % {"resource": resource.label})(
        _with_signature(put_record, [inspect.Parameter("payload", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                       annotation=body_model), *_path_params(resource)]))

# The record routes' summaries (OpenAPI, in Chinese: the standard's language); marked so that the data
# standard's page shows them translated (``exchange.templatetags.standard_text``).
LIST_SUMMARY = gettext_noop("列出管辖范围内的%(resource)s（游标分页）")
GET_SUMMARY = gettext_noop("按自然键读取一条%(resource)s（带 ETag）")
BATCH_SUMMARY = gettext_noop("批量新增或更新%(resource)s（每次最多 10000 条，逐条返回结果）")
PUT_SUMMARY = gettext_noop("新增或修改一条%(resource)s（If-Match 可选，Idempotency-Key 可选）")
SUMMARIES = (LIST_SUMMARY, GET_SUMMARY, BATCH_SUMMARY, PUT_SUMMARY)

ROUTED: list[str] = []
for _resource in all_resources():
    if "source" in _resource.extra:
        _add_routes(_resource)
        ROUTED.append(_resource.key)

