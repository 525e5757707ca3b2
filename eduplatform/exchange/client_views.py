"""Pages of 接口客户端: the security administrator registers external systems, grants them resources,
suspends them and rotates their secrets; the security auditor reads them and their traffic."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from eduplatform.core import paging
from eduplatform.core.errors import RecordInvalid
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability, service_errors_to_pages
from eduplatform.exchange import clients as services
from eduplatform.exchange import traffic
from eduplatform.exchange.clients import CLIENT_LIST_ORDER, GrantSpec
from eduplatform.exchange.resources import all_resources
from eduplatform.orgs.capabilities import MANAGE_API_CLIENTS
from eduplatform.orgs.forms import ServiceErrorsMixin, style_fields, unit_picker_field
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import scoped
from eduplatform.orgs.selectors import unit_in_scope

NAV = "api_clients"


class ClientForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("系统名称 *"), max_length=100, required=False,
                           help_text=gettext_lazy("例如：天河区学籍管理系统"))
    vendor = forms.CharField(label=gettext_lazy("开发单位"), max_length=100, required=False)
    contact = forms.CharField(label=gettext_lazy("联系人及电话"), max_length=100, required=False)
    # 所属单位 is a searchable picker (added in __init__); a 学校标识码 posted instead (scripts, older
    # pages) still names a school.
    school_code = forms.CharField(max_length=10, required=False, widget=forms.HiddenInput)
    may_see_personal = forms.BooleanField(label=gettext_lazy("可读取未脱敏个人信息（身份证件号、电话、住址）"), required=False)
    rate_limit_per_minute = forms.IntegerField(label=gettext_lazy("每分钟请求上限"), initial=600, min_value=1,
                                               max_value=services.MAX_RATE_LIMIT)

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        if actor is None:
            for name in ("name", "school_code"):
                del self.fields[name]
        else:
            fields = dict(self.fields)
            self.fields = {"name": fields.pop("name"), "vendor": fields.pop("vendor"), "contact": fields.pop("contact"),
                           "organization": unit_picker_field(actor=actor, label=gettext_lazy("所属单位（管辖范围） *"), required=True,
                                                             help_text=gettext_lazy("客户端只能读写该单位及其下级单位的数据；输入单位名称或学校标识码查找")),
                           **fields}
            self.fields["organization"].required = False  # the view names a missing unit, with the code fallback
        style_fields(self)
        self.fields["may_see_personal"].widget.attrs["class"] = "form-check-input"


def _grant_rows(current: dict[str, GrantSpec]) -> list[dict]:
    return [{"key": r.key, "label": r.label, "writable": r.writable,
             "read": current.get(r.key, GrantSpec(read=False)).read, "write": current.get(r.key, GrantSpec(read=False)).write}
            for r in all_resources()]


def _posted_grants(request: HttpRequest) -> dict[str, GrantSpec]:
    grants: dict[str, GrantSpec] = {}
    for resource in all_resources():
        write = request.POST.get(f"write_{resource.key}") == "on"
        read = write or request.POST.get(f"read_{resource.key}") == "on"
        if read:
            grants[resource.key] = GrantSpec(read=True, write=write)
    return grants


def _secret_page(request: HttpRequest, client, secret: str, *, rotated: bool) -> HttpResponse:
    response = render(request, "exchange/clients/secret.html",
                      {"nav_active": NAV, "client": client, "secret": secret, "rotated": rotated})
    response["Cache-Control"] = "no-store"  # the secret is shown once and kept by no cache
    return response


@login_required
@service_errors_to_pages
def clients(request: HttpRequest) -> HttpResponse:
    rows = services.clients_in_scope(request.user)
    text = request.GET.get("q", "").strip()
    if text:
        rows = rows.filter(name__contains=text)
    if request.GET.get("format") == "xlsx":
        data = ([c.name, c.vendor, c.contact, c.organization.name, c.get_status_display(), c.status_reason,
                 gettext("是") if c.may_see_personal else gettext("否"), c.rate_limit_per_minute,
                 services.describe_grants(services.grants_of(c)), c.application.client_id if c.application else "",
                 c.created_at.strftime("%Y-%m-%d %H:%M")]
                for c in rows.prefetch_related("grants").order_by(*CLIENT_LIST_ORDER))
        return xlsx_response(gettext("接口客户端.xlsx"), [gettext("系统名称"), gettext("开发单位"), gettext("联系人及电话"), gettext("所属单位"), gettext("状态"), gettext("停用原因"),
                                             gettext("可读取个人信息"), gettext("每分钟请求上限"), gettext("授权"), "client_id", gettext("登记时间")],
                             data, sheet=gettext("接口客户端"))
    page = paging.keyset_page(request, rows, keys=CLIENT_LIST_ORDER, name="api-clients")
    return render(request, "exchange/clients/list.html",
                  {"nav_active": NAV, "page": page, "can_manage": request.user.can(MANAGE_API_CLIENTS),
                   "query": paging.other_params(request.GET).urlencode()})


@login_required
@require_capability(MANAGE_API_CLIENTS)
def client_register(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None, actor=request.user)
    grants = _posted_grants(request) if request.method == "POST" else {}
    if request.method == "POST" and form.is_valid():
        org = unit_in_scope(request.user, form.cleaned_data["organization"] or "")
        code = form.cleaned_data["school_code"].strip()
        if org is None and code:
            org = scoped(Organization.objects.filter(is_open=True, kind="school", school_code=code), request.user,
                         with_focus=False).first()
        if org is None:
            form.add_error("organization", gettext("请选择所属单位或填写学校标识码（只能是本辖区内的单位）"))
        else:
            try:
                client, secret = services.register_client(
                    actor=request.user, name=form.cleaned_data["name"], organization=org, grants=grants,
                    vendor=form.cleaned_data["vendor"], contact=form.cleaned_data["contact"],
                    may_see_personal=form.cleaned_data["may_see_personal"],
                    rate_limit=form.cleaned_data["rate_limit_per_minute"] or 600,
                )
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                return _secret_page(request, client, secret, rotated=False)
    return render(request, "exchange/clients/form.html",
                  {"nav_active": NAV, "form": form, "grant_rows": _grant_rows(grants)})


@login_required
@service_errors_to_pages
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = services.client_for(request.user, client_id)
    can_manage = request.user.can(MANAGE_API_CLIENTS)
    grants = services.grants_of(client)
    form = ClientForm(request.POST or None, initial={
        "vendor": client.vendor, "contact": client.contact, "may_see_personal": client.may_see_personal,
        "rate_limit_per_minute": client.rate_limit_per_minute})
    if request.method == "POST":
        if not can_manage:
            from eduplatform.core.errors import NotPermitted

            raise NotPermitted(gettext("只有安全管理员可以修改接口客户端"))
        grants = _posted_grants(request)
        if form.is_valid():
            try:
                services.update_client(actor=request.user, client=client, grants=grants,
                                       may_see_personal=form.cleaned_data["may_see_personal"],
                                       rate_limit=form.cleaned_data["rate_limit_per_minute"] or 600,
                                       vendor=form.cleaned_data["vendor"], contact=form.cleaned_data["contact"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已保存授权，客户端下次调用时生效"))
                return redirect("exchange_clients:detail", client_id=client.pk)
    return render(request, "exchange/clients/detail.html",
                  {"nav_active": NAV, "client": client, "form": form, "grant_rows": _grant_rows(grants),
                   "can_manage": can_manage})


@login_required
@require_POST
@require_capability(MANAGE_API_CLIENTS)
def client_suspend(request: HttpRequest, client_id: int) -> HttpResponse:
    client = services.client_for(request.user, client_id)
    try:
        services.suspend_client(actor=request.user, client=client, reason=request.POST.get("reason", ""))
    except RecordInvalid as err:
        messages.error(request, str(err))
    else:
        messages.success(request, gettext("已停用该接口客户端，其调用将被拒绝"))
    return redirect("exchange_clients:detail", client_id=client.pk)


@login_required
@require_POST
@require_capability(MANAGE_API_CLIENTS)
def client_resume(request: HttpRequest, client_id: int) -> HttpResponse:
    client = services.client_for(request.user, client_id)
    services.resume_client(actor=request.user, client=client)
    messages.success(request, gettext("已恢复该接口客户端"))
    return redirect("exchange_clients:detail", client_id=client.pk)


@login_required
@require_POST
@require_capability(MANAGE_API_CLIENTS)
def client_rotate(request: HttpRequest, client_id: int) -> HttpResponse:
    client = services.client_for(request.user, client_id)
    secret = services.rotate_secret(actor=request.user, client=client)
    client.refresh_from_db()
    return _secret_page(request, client, secret, rotated=True)


@login_required
@service_errors_to_pages
def client_traffic(request: HttpRequest, client_id: int) -> HttpResponse:
    client = services.client_for(request.user, client_id)
    calls = traffic.calls_of(client)
    page = paging.keyset_page(request, calls, keys=traffic.RECENT_CALLS_ORDER, name="api-calls", count=False)
    return render(request, "exchange/clients/traffic.html", {
        "nav_active": NAV, "client": client, "days": traffic.per_day(client), "latency": traffic.latency(client),
        "errors": traffic.errors_by_code(client), "page": page, "window": traffic.TRAFFIC_DAYS,
    })
