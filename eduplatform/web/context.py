from __future__ import annotations

from django.http import HttpRequest

from eduplatform.accounts.roles import ASSIGN_ROLES, MANAGE_USERS, VIEW_AUDIT
from eduplatform.nodes.selectors import may_see_nodes
from eduplatform.orgs.capabilities import MANAGE_API_CLIENTS, VIEW_RECORDS
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import region_ancestors, scope_root
from eduplatform.web.navigation import AREAS


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_areas": AREAS,
        "nav_admin": {
            "users": user.can(MANAGE_USERS) or user.can(ASSIGN_ROLES),
            "audit": user.can(VIEW_AUDIT),
            "api_clients": user.can(MANAGE_API_CLIENTS) or user.can(VIEW_AUDIT),
            "nodes": may_see_nodes(user),
        },
        "nav_inbox": user.can(VIEW_RECORDS),  # the 待办 badge (web/inbox.py): users who read records
        "scope_root": scope_root(user),
        "focus_options": focus_options(user),
    }


def focus_options(user) -> list[dict[str, object]]:
    """Choices of the region picker: the chain from the user's root to the current focus, then
    the focus's children, so each pick goes one level deeper (or back up the chain)."""
    base = scope_of(user, with_focus=False)
    if base.is_empty or base.school_id is not None:
        return []
    current = scope_root(user)
    if current is None:
        return []
    chain = [r for r in region_ancestors(current) if r.path.startswith(base.region_path)]
    options = [
        {"code": r.code, "name": r.name, "indent": "\u3000" * i, "selected": r.pk == current.pk}
        for i, r in enumerate(chain)
    ]
    children = Region.objects.filter(parent=current, abolished_on__isnull=True).order_by("code")
    options += [{"code": c.code, "name": c.name, "indent": "\u3000" * len(chain), "selected": False} for c in children]
    return options
