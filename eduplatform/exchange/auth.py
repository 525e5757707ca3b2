"""Authenticating external systems on the API: an OAuth2 Bearer token (client-credentials grant,
issued by ``/oauth/token/``) names the ``ApiClient``; the request then acts as the client's
service account (``request.user``) with ``request.api_client`` set for the grants checks.

A token that is unknown or expired is a 401 ``token.invalid``; a suspended client a 403
``client.suspended`` that says why; a client over its rate a 429 (``exchange.ratelimit``).
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer
from oauth2_provider.models import AccessToken

from eduplatform.exchange.models import ApiClient
from eduplatform.exchange.ratelimit import check_rate


class TokenInvalid(Exception):
    """401 ``token.invalid``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientSuspended(Exception):
    """403 ``client.suspended``."""

    def __init__(self, client: ApiClient) -> None:
        reason = client.status_reason or "未说明原因"
        self.message = f"接口客户端“{client.name}”已被安全管理员停用：{reason}。请联系安全管理员恢复后再调用"
        super().__init__(self.message)


class ClientToken(HttpBearer):
    """``Authorization: Bearer <token>``. No header: None, so the session authentication is tried."""

    openapi_description = "先以 client_credentials 方式向 /oauth/token/ 申请访问令牌，再以 Bearer 令牌调用接口"

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        if not token:
            return None
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = (
            AccessToken.objects.filter(token_checksum=checksum)
            .select_related("application__api_client__user", "application__api_client__organization")
            .prefetch_related("application__api_client__grants")  # the grants checks read them, once
            .first()
        )
        if access is None or access.expires <= timezone.now():
            raise TokenInvalid("访问令牌无效或已过期，请重新申请令牌")
        client = getattr(access.application, "api_client", None) if access.application_id else None
        if client is None:
            raise TokenInvalid("访问令牌不属于任何接口客户端")
        request.api_client = client
        if not client.is_active:
            raise ClientSuspended(client)
        check_rate(client.pk, client.rate_limit_per_minute)
        user = client.user
        user.__dict__["service_client"] = client  # User.can reads the grants without another query
        if user.organization_id == client.organization_id:
            user.organization = client.organization  # the scope reads it: no second query
        client.user = user
        request.user = user
        return client
