"""The region a page looks at (``?region=<code>``), always inside the user's jurisdiction, and the
breadcrumb from the top of that jurisdiction down to it — one answer for every app's pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext

from eduplatform.orgs.models import Region
from eduplatform.orgs.selectors import scope_root


def region_in_scope(request: HttpRequest, *, from_post: bool = False) -> Region:
    """The region named by ``?region=`` (or, with ``from_post``, a posted ``region``), or the top of the
    user's jurisdiction when none is named; 404 for a region outside it."""
    root = scope_root(request.user)
    if root is None:
        raise Http404(gettext("您没有可查看的范围"))
    code = request.GET.get("region", "").strip() or (request.POST.get("region", "").strip() if from_post else "")
    if not code:
        return root
    region = Region.objects.filter(code=code, path__startswith=root.path).first()
    if region is None:
        raise Http404(gettext("该区划不存在或不在您的管辖范围内"))
    return region


def trail(region: Region, root: Region) -> list[Region]:
    """From the top of the user's scope down to ``region`` (for breadcrumbs)."""
    chain: list[Region] = []
    node: Region | None = region
    while node is not None and node.path.startswith(root.path):
        chain.append(node)
        node = node.parent
    return list(reversed(chain))
