"""Session rules: log out after a period without requests; remember the region picked in the UI."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LAST_SEEN_KEY = "last_seen"
FOCUS_KEY = "focus_path"


class IdleSessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                messages.info(request, "您已长时间未操作，为保护数据安全已自动退出，请重新登录。")
            else:
                # The stamp is refreshed at most once per SESSION_ACTIVITY_INTERVAL: writing it on
                # every request would save the session row on every GET. The price is that the stamp
                # may lag up to one interval, so the logout comes at most that much early, never late.
                if last_seen is None or now - last_seen >= settings.SESSION_ACTIVITY_INTERVAL:
                    request.session[LAST_SEEN_KEY] = now
                # The region picker narrows every page; scope_of ignores it outside the user's scope.
                user.focus_path = request.session.get(FOCUS_KEY)
        return self.get_response(request)
