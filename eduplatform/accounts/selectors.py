from __future__ import annotations

from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.accounts.models import User
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.orgs.selectors import unit_in_scope


def users_in_scope(actor: Actor, *, text: str = "") -> QuerySet[User]:
    qs = scoped(User.objects.select_related("organization").prefetch_related("role_assignments"), actor, with_focus=False)
    if text:
        qs = qs.filter(username__contains=text) | qs.filter(display_name__contains=text)
    # A user without an organization sorts first (a key must not be NULL for keyset paging).
    return qs.annotate(org_path=Coalesce("organization__region_path", Value(""))).order_by(*USER_LIST_ORDER)


USER_LIST_ORDER = ("org_path", "username", "pk")


def user_for(actor: Actor, user_id: int) -> User:
    user = scoped(User.objects.filter(pk=user_id), actor, with_focus=False).select_related("organization").first()
    if user is None:
        raise Http404(gettext("账号不存在或不在您的管辖范围内"))
    return user


def organization_for_accounts(actor: Actor, unit_id: object) -> Organization | None:
    """The open unit of the administrator's jurisdiction a new account is to belong to (what the
    所属单位 picker posts), or None."""
    return unit_in_scope(actor, unit_id)
