"""Jurisdiction: what an actor may see, and the one filter every selector applies.

An actor's data scope is its organization's subtree in the region tree (a prefix of the region
code path), narrowed to its own school for school users and, for province officers limited to
some stages (e.g. 基础教育处 → K-12), to schools offering those stages. The region picker can narrow
the scope further to a subtree, never widen it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext

M = TypeVar("M", bound=models.Model)


class Actor(Protocol):
    """A user or an API client acting on the platform."""

    pk: Any
    organization_id: int | None
    stage_mask: int | None

    @property
    def organization(self) -> Any: ...

    def can(self, capability: str) -> bool: ...

    def audit_name(self) -> str: ...

    def audit_org(self) -> tuple[int | None, str]: ...


@dataclass(frozen=True)
class DataScope:
    region_path: str | None  # None: the actor sees nothing
    school_id: int | None = None
    stage_mask: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.region_path is None

    def covers_path(self, path: str) -> bool:
        return self.region_path is not None and path.startswith(self.region_path)


NOTHING = DataScope(region_path=None)


def scope_of(actor: Actor | None, *, with_focus: bool = True) -> DataScope:
    """The actor's jurisdiction, narrowed to the region picked in the UI when there is one."""
    if actor is None or not getattr(actor, "is_authenticated", True) or actor.organization_id is None:
        return NOTHING
    org = actor.organization
    if org is None:
        return NOTHING
    if org.is_school:
        return DataScope(region_path=org.region_path, school_id=org.pk, stage_mask=None)
    path = org.region_path
    focus = getattr(actor, "focus_path", None) if with_focus else None
    if focus and focus.startswith(path):
        path = focus
    return DataScope(region_path=path, school_id=None, stage_mask=actor.stage_mask or None)


def scoped(queryset: QuerySet[M], actor: Actor | None, *, with_focus: bool = True) -> QuerySet[M]:
    """Only the rows of ``queryset`` inside the actor's jurisdiction. Every selector calls this."""
    spec = getattr(queryset.model, "SCOPE", None)
    if spec is None:
        raise TypeError(f"{queryset.model.__name__} declares no SCOPE: it cannot be read through a selector")
    scope = scope_of(actor, with_focus=with_focus)
    return apply_scope(queryset, scope)


def apply_scope(queryset: QuerySet[M], scope: DataScope) -> QuerySet[M]:
    spec = queryset.model.SCOPE
    if scope.is_empty:
        return queryset.none()
    if spec.path_length is not None and (scope.school_id is not None or len(scope.region_path) > spec.path_length):
        return queryset.none()  # sums over schools cannot be narrowed to one school or a town
    queryset = queryset.filter(**{f"{spec.path}__startswith": scope.region_path})
    if scope.school_id is not None and spec.school:
        queryset = queryset.filter(**{spec.school: scope.school_id})
    if scope.stage_mask and spec.stages:
        queryset = queryset.alias(_stage_hit=F(spec.stages).bitand(scope.stage_mask))
        stage_ok = Q(_stage_hit__gt=0)
        if spec.kind:
            # Bureaus and departments are not narrowed by stage; only schools are.
            stage_ok |= ~Q(**{spec.kind: "school"})
        queryset = queryset.filter(stage_ok)
    return queryset


def path_in_scope(actor: Actor, path: str) -> bool:
    scope = scope_of(actor, with_focus=False)
    return scope.school_id is None and scope.covers_path(path)


def unit_in_reach(actor: Actor, unit: Any) -> bool:
    """Whether ``unit`` (an Organization) is the actor's own school or lies in the actor's region
    (and, for a school, teaches one of the stages the actor's scope is limited to).

    Write services combine it with a capability check: a school's clerk writes only into its own
    school; a bureau writes into any unit of its region (a focus picked in the UI does not narrow it).
    """
    scope = scope_of(actor, with_focus=False)
    if scope.is_empty:
        return False
    if scope.school_id is not None:
        return scope.school_id == unit.pk
    if scope.stage_mask and getattr(unit, "kind", "") == "school" and not (unit.stage_mask & scope.stage_mask):
        # A stage-limited officer (基础教育处: K-12) reaches no school outside its stages, as in reads.
        return False
    return scope.covers_path(unit.region_path)


def require_unit_writer(actor: Actor, unit: Any, capability: str, what: str) -> None:
    """Raise unless the actor holds ``capability`` and ``unit`` is within reach; ``what`` names the data."""
    from eduplatform.core.errors import NotPermitted, OutOfScope

    if not actor.can(capability):
        raise NotPermitted(gettext("您的角色无权修改%(what)s") % {"what": what})
    if not unit_in_reach(actor, unit):
        raise OutOfScope(gettext("该单位不在您的管辖范围内"))
