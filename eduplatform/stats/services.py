"""Writes of the statistics pages' own records: saved analyses (保存的分析). Each write is checked,
done and audited in one transaction (the figures themselves are derived and never written here)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from eduplatform.core.errors import NotPermitted, ProblemCollector
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_change
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.stats.models import SavedAnalysis

TITLE_LIMIT = 100
# The query parameters a saved analysis keeps: the pivot's (stats.pivot_views.STATE_KEYS).
KEPT_PARAMS = ("subject", "rows", "cols", "measure", "stage", "school_type", "urban_rural", "sponsor", "region")


def _clean_params(params: dict) -> dict[str, str]:
    # An empty "cols" is a choice (no column dimension), not a default to fill in when reopened.
    return {k: str(params[k]) for k in KEPT_PARAMS if params.get(k) not in (None, "") or (k == "cols" and k in params)}


@transaction.atomic
def save_analysis(*, actor: Actor, title: str, region: Region, params: dict, shared: bool = False) -> SavedAnalysis:
    """Keep the pivot ``params`` under ``title`` for the actor; ``region`` (where it was made) must
    lie in the actor's jurisdiction, and is what sharing is judged by."""
    title = (title or "").strip()
    problems = ProblemCollector(gettext("分析「%(value)s」") % {"value": title or gettext('未命名')})
    if not title:
        problems.add("title", "required", gettext("请填写分析名称"), gettext("名称"))
    elif len(title) > TITLE_LIMIT:
        problems.add("title", "too_long", gettext("名称最多 %(title_limit)s 个字（现有 %(len)s 个）") % {"title_limit": TITLE_LIMIT, "len": len(title)}, gettext("名称"))
    problems.raise_if_any()
    scope = scope_of(actor)
    if scope.is_empty or not region.path.startswith(scope.region_path or "\0"):
        raise NotPermitted(gettext("只能保存本辖区内的分析"))
    analysis = SavedAnalysis.objects.create(
        owner_id=actor.pk, organization_id=actor.organization_id, title=title, region_path=region.path,
        params={**_clean_params(params), "region": region.code}, shared=shared)
    record_change(actor=actor, action=AuditAction.CREATE, object_type="saved_analysis", object_id=analysis.pk,
                  object_label=title, changes=_described(analysis, before=False), region_path=region.path)
    return analysis


def _described(analysis: SavedAnalysis, *, before: bool) -> dict[str, dict]:
    """The audit log's field changes (label, before, after) of a created or deleted analysis."""
    fields = {"title": ("名称", analysis.title), "params": ("分析条件", analysis.params), "shared": ("共享", analysis.shared)}
    return {name: {"label": label, "before": value if before else None, "after": None if before else value}
            for name, (label, value) in fields.items()}


def _own(actor: Actor, analysis: SavedAnalysis) -> SavedAnalysis:
    """The analysis as it is now, row-locked for this transaction (two tabs toggling sharing at once
    must not both audit the same "before"), if the actor owns it."""
    current = SavedAnalysis.objects.select_for_update().get(pk=analysis.pk)
    if current.owner_id != actor.pk:
        raise NotPermitted(gettext("只有保存人可以修改或删除该分析"))
    return current


@transaction.atomic
def set_sharing(*, actor: Actor, analysis: SavedAnalysis, shared: bool) -> SavedAnalysis:
    """Share the analysis with the users of the jurisdiction, or stop sharing it (its owner only)."""
    analysis = _own(actor, analysis)
    if analysis.shared != shared:
        before = analysis.shared
        analysis.shared = shared
        analysis.save(update_fields=["shared", "updated_at"])
        record_change(actor=actor, action=AuditAction.UPDATE, object_type="saved_analysis", object_id=analysis.pk,
                      object_label=analysis.title,
                      changes={"shared": {"label": "共享", "before": before, "after": shared}},
                      region_path=analysis.region_path)
    return analysis


@transaction.atomic
def delete_analysis(*, actor: Actor, analysis: SavedAnalysis) -> None:
    analysis = _own(actor, analysis)
    record_change(actor=actor, action=AuditAction.DELETE, object_type="saved_analysis", object_id=analysis.pk,
                  object_label=analysis.title, changes=_described(analysis, before=True),
                  region_path=analysis.region_path)
    analysis.delete()
