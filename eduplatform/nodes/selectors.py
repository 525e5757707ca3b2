"""Who sees which city node: the province every node, a city's data centre its own."""

from __future__ import annotations

from django.utils.translation import gettext

from eduplatform.accounts.roles import MANAGE_USERS
from eduplatform.core.errors import NotPermitted
from eduplatform.orgs import capabilities as orgcap

from . import status


def visible_city_code(user) -> str | None:
    """None: every city (a province user); a four-digit code: that city only. Others are refused."""
    org = getattr(user, "organization", None)
    if org is None or not (user.can(orgcap.VIEW_RECORDS) or user.can(MANAGE_USERS)):
        raise NotPermitted(gettext("仅省级和市级数据中心人员可查看市级节点状态"))
    level = org.region.level
    if level == "province":
        return None
    if level == "city":
        return org.region.code[:4]
    raise NotPermitted(gettext("仅省级和市级数据中心人员可查看市级节点状态"))


def may_see_nodes(user) -> bool:
    """For the navigation: whether /nodes/ opens for ``user``."""
    try:
        visible_city_code(user)
    except NotPermitted:
        return False
    return True


def node_states_for(user):
    """The states of the nodes ``user`` may see, on both sides this database plays."""
    return status.all_states(city_code=visible_city_code(user))
