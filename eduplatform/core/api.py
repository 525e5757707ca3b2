"""The platform API's machinery: authentication, RFC 9457 problem responses, cursor paging.

Apps contribute routers; ``config/api.py`` assembles them. Errors leave the API as
``application/problem+json`` with a stable ``code``, a Chinese ``detail`` and, for invalid
records, one entry per field (``errors[].field``). A refusal says which right or which
jurisdiction is missing (``client.right_missing`` names the right, ``scope.outside`` the
caller's jurisdiction), so an external system's developer need not guess.

Every route accepts an OAuth2 Bearer token of an external system (``exchange.auth.ClientToken``)
or the browser's session (a signed-in user trying the API).
"""

from __future__ import annotations

import base64
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import django_auth

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.exchange.auth import ClientSuspended, ClientToken, TokenInvalid
from eduplatform.exchange.ratelimit import RateLimited
from eduplatform.exchange.rights import RightMissing

PROBLEM_TYPE = "application/problem+json"


def problem(
    request: HttpRequest, *, status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
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
    if extra:
        body.update(extra)
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_TYPE)
    response.problem_code = code  # for the call log (exchange.calllog), without parsing the body
    return response


def jurisdiction_of(request: HttpRequest) -> str:
    """The caller's jurisdiction as a person reads it: “广州市天河区教育局” (a client's bound unit)."""
    client = getattr(request, "api_client", None)
    org = client.organization if client is not None else getattr(getattr(request, "user", None), "organization", None)
    return org.name if org is not None else "无"


class RememberingParser(Parser):
    """ninja's JSON parser, keeping what it parsed on the request (``request.parsed_body``): a batch
    route reads the records as sent — members its model does not know included, to report them —
    without parsing 10,000 records a second time."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        request.parsed_body = data
        return data


def make_api() -> NinjaAPI:
    api = NinjaAPI(
        parser=RememberingParser(),
        title="广东省教育信息平台开放接口",
        version="v1",
        description="按管辖范围读取与提交数据。错误以 RFC 9457 problem+json 返回，`detail` 为中文说明。",
        auth=[ClientToken(), django_auth],
        urls_namespace="api",
    )

    @api.exception_handler(TokenInvalid)
    def token_invalid(request, exc: TokenInvalid):
        response = problem(request, status=401, title="访问令牌无效", detail=exc.message, code="token.invalid")
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @api.exception_handler(ClientSuspended)
    def client_suspended(request, exc: ClientSuspended):
        return problem(request, status=403, title="接口客户端已停用", detail=exc.message, code="client.suspended")

    @api.exception_handler(RateLimited)
    def rate_limited(request, exc: RateLimited):
        response = problem(request, status=429, title="调用过于频繁", detail=exc.message, code="rate_limited",
                           extra={"limit_per_minute": exc.limit, "retry_after": exc.retry_after})
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(RightMissing)
    def right_missing(request, exc: RightMissing):
        return problem(request, status=403, title="缺少接口授权", detail=exc.message, code="client.right_missing",
                       extra={"missing": f"{exc.resource}:{exc.action}"})

    @api.exception_handler(RecordInvalid)
    def record_invalid(request, exc: RecordInvalid):
        errors = [{"field": p.field, "code": p.code, "message": p.message} for p in exc.problems]
        return problem(request, status=422, title="数据校验未通过", detail=str(exc), code="record.invalid", errors=errors)

    @api.exception_handler(OutOfScope)
    def out_of_scope(request, exc: OutOfScope):
        # Unlike the pages (404, existence hidden), the API says the record lies outside the caller's
        # jurisdiction and names that jurisdiction: Ed-Fi's users' first complaint is the bare 403.
        jurisdiction = jurisdiction_of(request)
        return problem(request, status=403, title="超出管辖范围", detail=f"{exc.message}（您的管辖范围：{jurisdiction}）",
                       code="scope.outside", extra={"jurisdiction": jurisdiction})

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return problem(request, status=404, title="未找到", detail=str(exc) or "记录不存在", code="not_found")

    @api.exception_handler(NotPermitted)
    def not_permitted(request, exc: NotPermitted):
        return problem(request, status=403, title="无权操作", detail=exc.message, code="forbidden")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        response = problem(request, status=401, title="未认证", detail="请先登录或提供有效的访问令牌", code="unauthenticated")
        response["WWW-Authenticate"] = "Bearer"
        return response

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
