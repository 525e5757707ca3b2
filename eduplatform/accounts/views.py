from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eduplatform.accounts import roles, selectors, services
from eduplatform.accounts.forms import (
    AuditFilterForm,
    GrantRoleForm,
    LoginForm,
    PasswordChangeForm,
    UserCreateForm,
)
from eduplatform.core import paging
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.identity import text_for
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability, service_errors_to_pages
from eduplatform.history.selectors import AUDIT_LOG_ORDER
from eduplatform.history.selectors import audit_log as audit_log_entries


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
            update_session_auth_hash(request, request.user)
            messages.success(request, "密码已修改")
            return redirect("web:dashboard")
    return render(request, "accounts/password_change.html", {"form": form})


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
         "can_create": request.user.can(roles.MANAGE_USERS)},
    )


@login_required
@require_capability(roles.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    organizations = list(selectors.organizations_for_accounts(request.user))
    form = UserCreateForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        org = next((o for o in organizations if str(o.pk) == form.cleaned_data["organization"]), None)
        if org is None:
            form.add_error("organization", "请选择所属单位（只能选择本辖区内的单位）")
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
                messages.success(request, f"已新建账号「{user.username}」，请由安全管理员授予角色")
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
            raise NotPermitted("只有安全管理员可以授予角色")
        if form.is_valid():
            try:
                services.grant_role(actor=request.user, user=target, role=form.cleaned_data["role"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, "已授予角色")
                return redirect("accounts:user", user_id=target.pk)
    return render(
        request,
        "accounts/user_detail.html",
        {"nav_active": "users", "target": target, "form": form, "can_assign": request.user.can(roles.ASSIGN_ROLES)},
    )


@login_required
@require_POST
@require_capability(roles.ASSIGN_ROLES)
def user_revoke_role(request: HttpRequest, user_id: int) -> HttpResponse:
    target = selectors.user_for(request.user, user_id)
    services.revoke_role(actor=request.user, user=target, role=request.POST.get("role", ""))
    messages.success(request, "已撤销角色")
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
        return xlsx_response("审计日志.xlsx", ["时间", "操作人", "单位", "IP", "操作", "对象", "字段变化", "说明"],
                             rows, sheet="审计日志")
    page = paging.keyset_page(request, entries, keys=AUDIT_LOG_ORDER, name="audit-log")
    query = paging.other_params(request.GET)
    return render(request, "accounts/audit_log.html",
                  {"nav_active": "audit", "form": form, "page": page, "query": query.urlencode()})
