from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from eduplatform.accounts import roles, selectors, services, twofactor
from eduplatform.accounts.forms import (
    AuditFilterForm,
    GrantRoleForm,
    LoginForm,
    PasswordChangeForm,
    ResetPasswordForm,
    TokenForm,
    UserCreateForm,
)
from eduplatform.accounts.models import User, UserSession
from eduplatform.core import paging
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.identity import text_for
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability, service_errors_to_pages
from eduplatform.history.models import AuditAction
from eduplatform.history.selectors import AUDIT_LOG_ORDER
from eduplatform.history.selectors import audit_log as audit_log_entries
from eduplatform.history.services import record_event


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["password"],
            )
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            old_key = request.session.session_key
            update_session_auth_hash(request, request.user)  # cycles the session key
            UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
            messages.success(request, gettext("密码已修改"))
            return redirect(_next_url(request))
    return render(request, "accounts/password_change.html", {"form": form, "next": _next_url(request),
                                                            "forced": request.user.must_change_password})


def _can_see_users(user) -> bool:
    return user.can(roles.MANAGE_USERS) or user.can(roles.ASSIGN_ROLES)


@login_required
@service_errors_to_pages
def users(request: HttpRequest) -> HttpResponse:
    if not _can_see_users(request.user):
        raise NotPermitted()
    page = paging.keyset_page(request, selectors.users_in_scope(request.user, text=request.GET.get("q", "")),
                              keys=selectors.USER_LIST_ORDER, name="users")
    return render(
        request,
        "accounts/users.html",
        {"nav_active": "users", "page": page, "query": f"q={request.GET.get('q', '')}",
         "can_create": request.user.can(roles.MANAGE_USERS), "can_unlock": request.user.can(roles.ASSIGN_ROLES)},
    )


@login_required
@require_capability(roles.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        org = selectors.organization_for_accounts(request.user, form.cleaned_data["organization"])
        if org is None:
            form.add_error("organization", gettext("请选择所属单位（只能选择本辖区内的单位）"))
        else:
            try:
                user = services.create_user(
                    actor=request.user,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    organization=org,
                    display_name=form.cleaned_data["display_name"],
                )
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已新建账号「%(username)s」，请由安全管理员授予角色") % {"username": user.username})
                return redirect("accounts:user", user_id=user.pk)
    return render(request, "accounts/user_form.html", {"nav_active": "users", "form": form})


@login_required
@service_errors_to_pages
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    if not _can_see_users(request.user):
        raise NotPermitted()
    target = selectors.user_for(request.user, user_id)
    form = GrantRoleForm(request.POST or None)
    if request.method == "POST":
        if not request.user.can(roles.ASSIGN_ROLES):
            raise NotPermitted(gettext("只有安全管理员可以授予角色"))
        if form.is_valid():
            try:
                services.grant_role(actor=request.user, user=target, role=form.cleaned_data["role"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已授予角色"))
                return redirect("accounts:user", user_id=target.pk)
    return render(
        request,
        "accounts/user_detail.html",
        {"nav_active": "users", "target": target, "form": form, "can_assign": request.user.can(roles.ASSIGN_ROLES),
         "can_manage": request.user.can(roles.MANAGE_USERS),
         "two_factor": twofactor.confirmed_device(target) is not None,
         "sessions": _session_rows(list(target.sessions.all()), None)
         if request.user.can(roles.ASSIGN_ROLES) else []},
    )


@login_required
@require_POST
@require_capability(roles.ASSIGN_ROLES)
def user_revoke_role(request: HttpRequest, user_id: int) -> HttpResponse:
    target = selectors.user_for(request.user, user_id)
    services.revoke_role(actor=request.user, user=target, role=request.POST.get("role", ""))
    messages.success(request, gettext("已撤销角色"))
    return redirect("accounts:user", user_id=target.pk)


@login_required
@require_capability(roles.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, readable only by the security auditor (三员分立)."""
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_log_entries(request.user, **{k: v for k, v in filters.items() if v})
    if request.GET.get("format") == "xlsx":
        # Labels, changes and notes may quote an ID number or a G 学籍号: masked for an auditor
        # without the sensitive-view right, as on the page (core.identity.text_for).
        shown = functools.partial(text_for, request.user)
        rows = (
            [e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.actor_org_name, e.client_ip,
             e.get_action_display(), shown(e.object_label),
             shown("；".join(f"{c.get('label')}：{c.get('before')} → {c.get('after')}" for c in e.changes.values())),
             shown(e.note)]
            for e in entries.iterator(chunk_size=2000)
        )
        return xlsx_response(gettext("审计日志.xlsx"), [gettext("时间"), gettext("操作人"), gettext("单位"), "IP", gettext("操作"), gettext("对象"), gettext("字段变化"), gettext("说明")],
                             rows, sheet=gettext("审计日志"))
    page = paging.keyset_page(request, entries, keys=AUDIT_LOG_ORDER, name="audit-log")
    query = paging.other_params(request.GET)
    return render(request, "accounts/audit_log.html",
                  {"nav_active": "audit", "form": form, "page": page, "query": query.urlencode()})


# --- second factor, sessions, account recovery (issue 17) ------------------------------------------


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only (redirect() would read anything else as a view name).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("web:dashboard")


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """The code step of the login: a 6-digit TOTP code from the user's authenticator."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    device = twofactor.confirmed_device(user)
    if device is None:
        setup = reverse("accounts:two_factor_setup")
        return redirect(f"{setup}?{request.GET.urlencode()}" if request.GET else setup)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", gettext("验证码错误次数过多，请稍候再试。"))
        elif device.verify_token(form.cleaned_data["token"].strip()):
            otp_login(request, device)
            return redirect(_next_url(request))
        else:
            record_event(actor=None, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                         object_id=user.pk, object_label=user.username,
                         region_path=user.organization.region_path if user.organization_id else "",
                         note=gettext("动态验证码错误"))
            form.add_error("token", gettext("动态验证码不正确或已过期，请输入验证器当前显示的 6 位数字。"))
    return render(request, "accounts/two_factor.html", {"form": form, "next": _next_url(request)})


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: QR code and secret, confirmed with a first code."""
    user = request.user
    if twofactor.confirmed_device(user) is not None and not user.is_verified():
        # Replacing the device needs the current one: a stolen password alone must not enrol a phone.
        return redirect("accounts:two_factor")
    device = twofactor.pending_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.confirm_two_factor(user=user, device=device, token=form.cleaned_data["token"]):
            otp_login(request, device)
            request.session[twofactor.SESSION_REQUIRED_KEY] = True
            messages.success(request, gettext("已绑定身份验证器，今后登录时需输入动态验证码。"))
            return redirect(_next_url(request))
        form.add_error("token", gettext("动态验证码不正确，请确认手机时间准确后，输入验证器当前显示的 6 位数字。"))
    return render(request, "accounts/two_factor_setup.html", {
        "form": form, "next": _next_url(request), "qr": twofactor.qr_data_uri(device),
        "secret": twofactor.secret_base32(device), "required": twofactor.requires_two_factor(user),
        "replacing": twofactor.confirmed_device(user) is not None,
    })


def _session_rows(sessions, current_key: str | None) -> list[dict]:
    """Each open session with its last activity, read from the session's idle-clock stamp."""
    from django.contrib.sessions.models import Session

    from eduplatform.accounts.middleware import LAST_SEEN_KEY

    alive = {s.session_key: s for s in Session.objects.filter(
        session_key__in=[s.session_key for s in sessions], expire_date__gt=timezone.now())}
    rows = []
    for s in sessions:
        stored = alive.get(s.session_key)
        if stored is None:
            continue
        seen = stored.get_decoded().get(LAST_SEEN_KEY)
        rows.append({"session": s, "current": s.session_key == current_key,
                     "last_seen": dt.datetime.fromtimestamp(seen, tz=dt.UTC) if seen else s.created_at})
    return rows


@login_required
@service_errors_to_pages
def security(request: HttpRequest) -> HttpResponse:
    """账号安全: the user's second factor and open sessions, each of which they can end."""
    user = request.user
    sessions = _session_rows(list(user.sessions.all()), request.session.session_key)
    return render(request, "accounts/security.html", {
        "sessions": sessions, "device": twofactor.confirmed_device(user),
        "required": twofactor.requires_two_factor(user),
    })


@login_required
@require_POST
@service_errors_to_pages
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = UserSession.objects.select_related("user__organization").filter(pk=session_id).first()
    if session is None or (session.user_id != request.user.pk and not request.user.can(roles.ASSIGN_ROLES)):
        raise Http404(gettext("会话不存在"))
    if session.user_id != request.user.pk:
        selectors.user_for(request.user, session.user_id)  # in the administrator's scope
    if session.session_key == request.session.session_key:
        messages.info(request, gettext("这是当前会话，请使用「退出」结束"))
        return redirect("accounts:security")
    services.end_session(actor=request.user, session=session)
    messages.success(request, gettext("已结束该会话"))
    if session.user_id == request.user.pk:
        return redirect("accounts:security")
    return redirect("accounts:user", user_id=session.user_id)


@login_required
@require_POST
@service_errors_to_pages
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    count = services.end_all_sessions(actor=request.user, user=request.user, keep=request.session.session_key)
    messages.success(request, gettext("已结束其他 %(count)s 个会话") % {"count": count})
    return redirect("accounts:security")


@login_required
@require_POST
@require_capability(roles.ASSIGN_ROLES)
def user_security_action(request: HttpRequest, user_id: int) -> HttpResponse:
    """The security administrator's recovery actions on an account (each audited by its service)."""
    target = selectors.user_for(request.user, user_id)
    action = request.POST.get("action", "")
    if action == "reset_two_factor":
        services.reset_two_factor(actor=request.user, user=target)
        messages.success(request, gettext("已重置双因素认证，该账号下次登录时须重新绑定身份验证器"))
    elif action == "unseal":
        services.unseal_account(actor=request.user, user=target)
        messages.success(request, gettext("已解封该账号"))
    elif action == "end_sessions":
        count = services.end_all_sessions(actor=request.user, user=target, keep=request.session.session_key)
        messages.success(request, gettext("已结束该账号的 %(count)s 个会话") % {"count": count})
    else:
        raise Http404(gettext("未知操作"))
    return redirect("accounts:user", user_id=target.pk)


@login_required
@require_capability(roles.MANAGE_USERS)
def user_reset_password(request: HttpRequest, user_id: int) -> HttpResponse:
    target = selectors.user_for(request.user, user_id)
    form = ResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(actor=request.user, user=target, password=form.cleaned_data["password"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已重置密码，请将临时密码告知本人；其下次登录时须修改密码"))
            return redirect("accounts:user", user_id=target.pk)
    return render(request, "accounts/password_reset.html", {"nav_active": "users", "form": form, "target": target})


def _lockouts(actor) -> list:
    """Failure records of (account, source) pairs that are locked now, in the actor's scope."""
    from axes.models import AccessAttempt

    cooloff = dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    attempts = list(AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gt=timezone.now() - cooloff,
    ).order_by("-attempt_time")[:500])
    in_scope = set(selectors.users_in_scope(actor).filter(
        username__in=[a.username for a in attempts]).values_list("username", flat=True))
    known = set(User.objects.filter(username__in=[a.username for a in attempts]).values_list("username", flat=True))
    # Unknown names (someone guessing) are shown too: they lock nobody but tell of an attack.
    return [a for a in attempts if a.username in in_scope or a.username not in known]


@login_required
@require_capability(roles.ASSIGN_ROLES)
def lockouts(request: HttpRequest) -> HttpResponse:
    """Locked (account, source) pairs, with an unlock button (security administrator)."""
    if request.method == "POST":
        username = request.POST.get("username", "")
        if username not in {a.username for a in _lockouts(request.user)}:
            raise Http404(gettext("没有该锁定记录"))
        services.unlock(actor=request.user, username=username, ip_address=request.POST.get("ip_address") or None)
        messages.success(request, gettext("已解除账号「%(username)s」的登录锁定") % {"username": username})
        return redirect("accounts:lockouts")
    return render(request, "accounts/lockouts.html", {
        "nav_active": "users", "attempts": _lockouts(request.user),
        "limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": int(settings.AXES_COOLOFF_TIME * 60),
    })


@login_required
@service_errors_to_pages
def pick_users(request: HttpRequest) -> JsonResponse:
    """People (accounts) by name or user name, for the searchable pickers (issue 18): the accounts of
    the reader's jurisdiction only (``users_in_scope``), for those who administer or audit them."""
    if not any(request.user.can(c) for c in (roles.MANAGE_USERS, roles.ASSIGN_ROLES, roles.VIEW_AUDIT)):
        raise NotPermitted()
    people = selectors.users_in_scope(request.user, text=request.GET.get("q", "").strip())[:20]
    response = JsonResponse({"results": [
        {"value": u.username, "text": f"{u.display_name}（{u.username}）" if u.display_name else u.username,
         "hint": u.organization.name if u.organization_id else ""} for u in people]})
    response["Cache-Control"] = "private, no-store"
    return response
