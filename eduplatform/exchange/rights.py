"""What the caller of an API route may do: its account's capabilities and, for an external system,
its grants. A refusal says exactly which right or scope is missing (Ed-Fi's users complain of 403s
that do not say why)."""

from __future__ import annotations

from django.http import HttpRequest

from eduplatform.accounts.roles import VIEW_SENSITIVE
from eduplatform.core.errors import NotPermitted
from eduplatform.exchange.resources import ApiResource


class RightMissing(NotPermitted):
    """403 ``client.right_missing``: the client holds no grant for this resource and action."""

    def __init__(self, message: str, *, resource: str, action: str) -> None:
        super().__init__(message)
        self.resource = resource
        self.action = action


ACTION_LABELS = {"read": "读取", "write": "写入"}


def api_client_of(request: HttpRequest):
    """The ``ApiClient`` calling (set by the token authentication), or None for a signed-in user."""
    return getattr(request, "api_client", None)


def require_right(request: HttpRequest, resource: ApiResource, action: str) -> None:
    """Raise unless the caller may ``action`` ("read"/"write") ``resource``."""
    client = api_client_of(request)
    verb = ACTION_LABELS[action]
    if client is not None and not client.allows(resource.key, action):
        raise RightMissing(f"接口客户端“{client.name}”未获授权{verb}“{resource.label}”（{resource.key}:{action}），"
                           "请联系安全管理员在客户端授权中开通", resource=resource.key, action=action)
    capability = resource.read_capability if action == "read" else resource.write_capability
    if action == "write" and not resource.writable:
        raise NotPermitted(f"“{resource.label}”为只读资源，不能通过接口写入")
    if capability and not request.user.can(capability):
        raise NotPermitted(f"账号缺少{verb}“{resource.label}”的权限（{capability}）")


def may_see_personal(request: HttpRequest) -> bool:
    """Unmasked ID numbers, phones and addresses: the account's right and, for a client, its flag."""
    client = api_client_of(request)
    if client is not None and not client.may_see_personal:
        return False
    return request.user.can(VIEW_SENSITIVE)
