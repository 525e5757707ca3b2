"""Refusing malformed input at the door: characters no field may hold, numbers no column can store.

Every query parameter, path segment and form field is checked before a view sees it. Refused (400,
a Chinese page, or RFC 9457 problem+json under ``/api/``):

- NUL and other control characters (C0 except tab, line feed and carriage return; DEL; C1): they
  end C strings, break PostgreSQL (``A string literal cannot contain NUL``) and hide text in logs;
- bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make a name or a
  file name read differently from what it is ("Trojan Source");
- integers that no database column can hold (outside the 64-bit range) written as a whole
  parameter or path segment: ``?cohort=99999999999999999999`` asks nothing a user could mean.

And the last safety net: a ``DataError`` or ``OverflowError`` from the database while serving a
request (a number that fits 64 bits but not the column, a date past year 9999 …) becomes the same
400, never a 500. Views should still validate their own ranges; the net is for what they miss.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def describe_character(char: str) -> str:
    code = ord(char)
    if code == 0:
        name = gettext("空字符")
    elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        name = gettext("文字方向控制符")
    else:
        name = gettext("控制字符")
    return f"{name} U+{code:04X}"


def has_forbidden_character(text: str) -> bool:
    return _FORBIDDEN.search(text) is not None


def forbidden_character(name: str, text: str) -> str | None:
    """The Chinese message for text holding a character no stored value may hold, or None: what the
    middleware refuses at the door, for values that arrive another way (a spreadsheet cell, a JSON
    body of the API)."""
    if found := _FORBIDDEN.search(text):
        return gettext("%(name)s含有不允许的字符（%(character)s），请删除后重试") % {"name": name, "character": describe_character(found[0])}
    return None


def visible(text: str) -> str:
    """``text`` with every forbidden character shown as U+FFFD: for echoing a refused value in a
    report (PostgreSQL's text and jsonb cannot hold NUL at all)."""
    return _FORBIDDEN.sub("\ufffd", text)


def problem_in(name: str, value: str) -> str | None:
    """The Chinese message for a value no parameter may hold, or None."""
    if found := _FORBIDDEN.search(value):
        return gettext("%(name)s含有不允许的字符（%(character)s），请删除后重试") % {"name": name, "character": describe_character(found[0])}
    if _INTEGER.fullmatch(value.strip()) and len(value) > 18:
        try:
            number = int(value)
        except ValueError:  # more digits than Python converts
            number = BIGINT_MAX + 1
        if not BIGINT_MIN <= number <= BIGINT_MAX:
            shown = value if len(value) <= 40 else value[:40] + "…"
            return gettext("%(name)s的数值 %(shown)s 超出允许范围（最多 18 位数字）") % {"name": name, "shown": shown}
    return None


def _pairs(request: HttpRequest) -> Iterable[tuple[str, str]]:
    for segment in request.path.split("/"):
        yield gettext("网址路径"), segment
    for key, values in request.GET.lists():
        yield gettext("查询参数"), key
        for value in values:
            yield gettext("查询参数「%(value)s」") % {"value": key[:40]}, value
    content_type = request.META.get("CONTENT_TYPE", "")
    if request.method == "POST" and content_type.startswith(_FORM_TYPES):
        if request.path.startswith("/api/"):
            # The API parses bodies itself (ninja reads request.body): read it before request.POST
            # consumes the stream, so a form sent to a JSON route gets a 4xx there, not a 500.
            # (Not for pages: their uploads are streamed to files, never held in memory.)
            with contextlib.suppress(Exception):
                request.body  # noqa: B018
        for key, values in request.POST.lists():
            yield gettext("表单字段"), key
            for value in values:
                yield gettext("表单字段「%(value)s」") % {"value": key[:40]}, value
        for key, upload in request.FILES.items():
            yield gettext("上传文件「%(value)s」的文件名") % {"value": key[:40]}, upload.name or ""


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        from eduplatform.core.api import problem

        return problem(request, status=400, title=gettext("请求参数无效"), detail=message, code="request.bad_input")
    html = render_to_string("core/bad_input.html", {"message": message})
    return HttpResponse(html, status=400, content_type="text/html; charset=utf-8")


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:,.1f} MB" if count >= 1024 * 1024 else f"{count / 1024:,.0f} KB"


def _too_large(request: HttpRequest) -> HttpResponse | None:
    """A file upload bigger than any upload path takes is refused before its body is read (413):
    Django streams uploads to temporary files without a size limit of its own."""
    limit = getattr(settings, "UPLOAD_MAX_REQUEST_BYTES", None)
    if not limit or not request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return bad_request(request, gettext("请求头 Content-Length 无效"))
    if length <= limit:
        return None
    message = gettext("上传的内容有 %(size)s，超过上限 %(limit)s，请分成几个文件上传") % {"size": _size(length), "limit": _size(limit)}
    response = bad_request(request, message)
    response.status_code = 413
    return response


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (refused := _too_large(request)) is not None:
            return refused
        try:
            for name, value in _pairs(request):
                if message := problem_in(name, value):
                    return bad_request(request, message)
        except UnicodeDecodeError:
            return bad_request(request, gettext("请求中含有无法识别的编码（应为 UTF-8）"))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (DataError, OverflowError)):
            # Logged: it means a view let an unchecked value reach the database.
            logger.warning("input out of range at %s: %s", request.path, exception)
            return bad_request(request, gettext("请求中的数值或日期超出允许范围，请检查筛选条件或输入内容"))
        return None
