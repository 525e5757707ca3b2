from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext, gettext_lazy

from eduplatform.accounts.roles import Role
from eduplatform.core.widgets import RemotePicker
from eduplatform.history.models import AuditAction
from eduplatform.orgs.forms import ServiceErrorsMixin, style_fields, unit_picker_field

POLICY_HELP = (
    gettext_lazy("至少10位，且包含大写字母、小写字母、数字、特殊字符中的至少3类；不能是常用密码，"
    "也不能主要由连续字符或键盘相邻按键组成（如 Qwerty123!、Abcd1234!!）。"))


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": gettext_lazy("用户名或密码错误。连续输错多次后账号将被暂时锁定。"),
        "inactive": gettext_lazy("该账号已停用，请联系系统管理员。"),
        "service_account": gettext_lazy("该账号是接口客户端的服务账号，只能通过开放接口的访问令牌使用，不能登录页面。"),
        "sealed": gettext_lazy("该账号长期未使用，已被封存（长期未使用账号封存）。请联系本单位或上级的安全管理员解封。"),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.sealed_at is not None:
            raise forms.ValidationError(self.error_messages["sealed"], code="sealed")
        if user.service_client is not None:
            raise forms.ValidationError(self.error_messages["service_account"], code="service_account")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = gettext("用户名")
        self.fields["password"].label = gettext("密码")
        style_fields(self)


class PasswordChangeForm(ServiceErrorsMixin, forms.Form):
    old_password = forms.CharField(label=gettext_lazy("原密码"), widget=forms.PasswordInput, required=False)
    password = forms.CharField(label=gettext_lazy("新密码"), widget=forms.PasswordInput, required=False, help_text=POLICY_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class ResetPasswordForm(ServiceErrorsMixin, forms.Form):
    password = forms.CharField(label=gettext_lazy("新的临时密码"), widget=forms.PasswordInput, required=False, help_text=POLICY_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class TokenForm(forms.Form):
    token = forms.CharField(label=gettext_lazy("动态验证码"), max_length=8, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "autofocus": True}),
                            help_text=gettext_lazy("打开手机上的身份验证器应用（如 Microsoft Authenticator、Google 身份验证器、腾讯身份验证器），输入显示的 6 位数字。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class UserCreateForm(ServiceErrorsMixin, forms.Form):
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150, required=False)
    display_name = forms.CharField(label=gettext_lazy("姓名"), max_length=50, required=False)
    password = forms.CharField(label=gettext_lazy("初始密码"), widget=forms.PasswordInput, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        # 所属单位: searched by name among the units of the administrator's jurisdiction (2,000+ in a
        # province), not one select holding all of them.
        self.fields = {"username": self.fields["username"], "display_name": self.fields["display_name"],
                       "organization": unit_picker_field(actor=actor, label=gettext_lazy("所属单位")),
                       "password": self.fields["password"]}
        style_fields(self)


class GrantRoleForm(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("角色"), choices=Role.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class AuditFilterForm(forms.Form):
    actor_name = forms.CharField(label=gettext_lazy("操作人"), required=False, widget=RemotePicker(
        url="accounts:pick_users", kind="person", placeholder=gettext_lazy("输入姓名或用户名"), accept_typed=r"^.+$"))
    action = forms.ChoiceField(label=gettext_lazy("操作"), required=False, choices=[("", gettext_lazy("全部"))] + list(AuditAction.choices))
    object_text = forms.CharField(label=gettext_lazy("对象"), required=False)
    date_from = forms.DateField(label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ip = forms.CharField(label="IP", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)
