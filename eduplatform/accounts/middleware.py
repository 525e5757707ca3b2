"""Session rules: log out after a period without requests; remember the region picked in the UI;
the second factor and an imposed password change come before anything else."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

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
                messages.info(request, gettext("您已长时间未操作，为保护数据安全已自动退出，请重新登录。"))
            else:
                # The stamp is refreshed at most once per SESSION_ACTIVITY_INTERVAL: writing it on
                # every request would save the session row on every GET. The price is that the stamp
                # may lag up to one interval, so the logout comes at most that much early, never late.
                if last_seen is None or now - last_seen >= settings.SESSION_ACTIVITY_INTERVAL:
                    request.session[LAST_SEEN_KEY] = now
                # The region picker narrows every page; scope_of ignores it outside the user's scope.
                user.focus_path = request.session.get(FOCUS_KEY)
        return self.get_response(request)


# Pages a signed-in user may reach before passing the code step or changing an imposed password.
_TWO_FACTOR_PAGES = ("accounts:two_factor", "accounts:two_factor_setup", "accounts:logout", "set_language")
_PASSWORD_PAGES = ("accounts:password_change", "accounts:logout", "set_language")


class AccountGateMiddleware:
    """Until the second factor is verified (when the login needs one), a signed-in user reaches only
    the code and enrolment pages; then, until an administrator-set password is replaced, only the
    password page. Costs no query on an ordinary request: the need for a code is decided at login
    and kept in the session (accounts.signals), ``must_change_password`` is on the user row."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _paths(self, names: tuple[str, ...]) -> set[str]:
        return {reverse(name) for name in names}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path_info.startswith(settings.STATIC_URL):
            return self.get_response(request)
        from eduplatform.accounts import twofactor

        required = request.session.get(twofactor.SESSION_REQUIRED_KEY)
        if required is None:  # a session from before 2FA existed: decide once, like at login
            required = request.session[twofactor.SESSION_REQUIRED_KEY] = twofactor.needs_code_step(user)
        if required and not user.is_verified():
            if request.path_info not in self._paths(_TWO_FACTOR_PAGES):
                return redirect_to("accounts:two_factor", request)
        elif user.must_change_password and request.path_info not in self._paths(_PASSWORD_PAGES):
            messages.warning(request, gettext("您的密码由管理员设置（新账号或重置），请先修改密码后再使用平台。"))
            return redirect_to("accounts:password_change", request)
        return self.get_response(request)


def redirect_to(name: str, request: HttpRequest) -> HttpResponse:
    if request.headers.get("HX-Request"):
        # A fragment (the 待办 badge of the page's header) must not receive the code or password
        # page in its place: htmx swaps nothing on a 4xx, and the page itself is already gated.
        return HttpResponse(status=403)
    url = reverse(name)
    if request.method == "GET" and request.path_info != "/":
        url += "?" + urlencode({"next": request.get_full_path()})
    return redirect(url)
