"""Every file a signed-in user downloads is audited (issue 17: "every export and download").

A download is any response sent as an attachment (``Content-Disposition: attachment``): list
exports, statistics and pivot workbooks, report PDFs, form definitions, evidence files, finished
background exports. Views whose service already wrote a more specific EXPORT entry (with the
filters and the row count) are not audited twice: ``record_change`` marks the request.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse

from eduplatform.history.models import AuditAction

export_audited: ContextVar[bool] = ContextVar("export_audited", default=False)


def _filename(disposition: str) -> str:
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "filename*":
            return unquote(value.split("''", 1)[-1])
        if name == "filename":
            return value.strip('"')
    return ""


class DownloadAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = export_audited.set(False)
        try:
            response = self.get_response(request)
            disposition = response.get("Content-Disposition", "") if response.status_code == 200 else ""
            user = getattr(request, "user", None)
            if disposition.startswith("attachment") and user is not None and user.is_authenticated \
                    and not export_audited.get():
                self._audit(request, user, _filename(disposition))
            return response
        finally:
            export_audited.reset(token)

    @staticmethod
    def _audit(request: HttpRequest, user, filename: str) -> None:
        from eduplatform.history.services import record_event

        match = getattr(request, "resolver_match", None)
        org = getattr(user, "organization", None)
        record_event(actor=user, action=AuditAction.EXPORT, object_type="download",
                     object_id=(match.view_name if match else "")[:64], object_label=filename or request.path,
                     region_path=getattr(org, "region_path", "") or "", note=f"下载 {request.get_full_path()}")
