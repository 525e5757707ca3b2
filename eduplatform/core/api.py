"""The platform API's machinery: authentication, RFC 9457 problem responses, cursor paging.

Apps contribute routers; ``config/api.py`` assembles them. Errors leave the API as
``application/problem+json`` with a stable ``code``, a Chinese ``detail`` and, for invalid
records, one entry per field (``errors[].field``).
"""

from __future__ import annotations

import base64
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import django_auth

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid

PROBLEM_TYPE = "application/problem+json"


def problem(
    request: HttpRequest, *, status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None
) -> HttpResponse:
    import json

    body: dict[str, Any] = {
        "type": f"https://edu.gd.gov.cn/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_TYPE)


def make_api() -> NinjaAPI:
    api = NinjaAPI(
        title="广东省教育信息平台开放接口",
        version="v1",
        description="按管辖范围读取与提交数据。错误以 RFC 9457 problem+json 返回，`detail` 为中文说明。",
        auth=django_auth,
        urls_namespace="api",
    )

    @api.exception_handler(RecordInvalid)
    def record_invalid(request, exc: RecordInvalid):
        errors = [{"field": p.field, "code": p.code, "message": p.message} for p in exc.problems]
        return problem(request, status=422, title="数据校验未通过", detail=str(exc), code="record.invalid", errors=errors)

    @api.exception_handler(OutOfScope)
    def out_of_scope(request, exc: OutOfScope):
        return problem(request, status=404, title="未找到", detail=exc.message, code="not_found")

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return problem(request, status=404, title="未找到", detail=str(exc) or "记录不存在", code="not_found")

    @api.exception_handler(NotPermitted)
    def not_permitted(request, exc: NotPermitted):
        return problem(request, status=403, title="无权操作", detail=exc.message, code="forbidden")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return problem(request, status=401, title="未认证", detail="请先登录或提供有效的访问令牌", code="unauthenticated")

    @api.exception_handler(NinjaValidationError)
    def invalid_request(request, exc: NinjaValidationError):
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "code": e.get("type", "invalid"), "message": e.get("msg", "")}
            for e in exc.errors
        ]
        return problem(request, status=422, title="请求格式错误", detail="请求参数不符合接口定义", code="request.invalid", errors=errors)

    return api


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Opaque cursor → last seen id (0 for the first page, or for a cursor that is not ours)."""
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        return 0
