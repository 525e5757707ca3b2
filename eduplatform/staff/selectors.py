"""Every read of staff and administrator records for the pages, through ``scoped``.

Posts and events carry their unit's kind and stages in ``SCOPE``, so ``scoped`` alone keeps a
stage-limited officer (基础教育处, K-12) away from a college's staff while still showing bureau
staff. Transfers span two units: one is visible where either side is.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import search
from eduplatform.core.identity import RESIDENT_ID_CARD, id_index
from eduplatform.core.normalize import normalize_id_number
from eduplatform.core.paging import within_path
from eduplatform.orgs.models import OrgKind
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.staff.codes import SUBJECT_BEGINNINGS, UNCLASSIFIED_SUBJECT
from eduplatform.staff.models import (
    StaffEvent,
    StaffMember,
    StaffTransfer,
    StaffTransferStep,
    StepDecision,
)

STATUS_ACTIVE = "active"


def main_subject() -> Case:
    """A person's main subject code (staff.codes.TEACHING_SUBJECTS): how the first subject of the
    free-text 任教学科 begins; '' when none is recorded. The staff roll-up groups by it and the list
    filters by it, so a figure and its list cannot classify differently."""
    return Case(When(subjects="", then=Value("")),
                *[When(subjects__startswith=beginning, then=Value(code)) for beginning, code in SUBJECT_BEGINNINGS],
                default=Value(UNCLASSIFIED_SUBJECT), output_field=CharField())


# The staff roll-up's counted flags (stats.rollup), as filters of the list.
FLAGS = {
    "backbone": ~Q(backbone_level__in=["0", ""]),
    "head_teacher": Q(is_head_teacher=True),
    "dual_qualified": Q(is_dual_qualified=True),
    "qualified": ~Q(qualification_type=""),
}
FLAG_LABELS = {"backbone": gettext_lazy("骨干教师"), "head_teacher": gettext_lazy("班主任"),
               "dual_qualified": gettext_lazy("双师型教师"), "qualified": gettext_lazy("具有教师资格")}


def staff_in_scope(
    actor: Actor,
    *,
    administrators: bool = False,
    text: str = "",
    status: str = STATUS_ACTIVE,
    post_category: str = "",
    title: str = "",
    gender: str = "",
    education_level: str = "",
    backbone_level: str = "",
    unit_code: str = "",
    rank: str = "",
    region_path: str = "",
    establishment: str | None = None,
    teaching_stage: str | None = None,
    title_grade: str | None = None,
    born_from: int | None = None,
    born_to: int | None = None,
    flags: tuple[str, ...] | list[str] = (),
    subject: str | None = None,
) -> QuerySet[StaffMember]:
    """School staff (or, with ``administrators``, the administrators) in the actor's jurisdiction.

    The region, establishment, teaching-stage, title-grade, birth-year and flag filters are how a
    statistics figure opens the people it counts; for those, "" means "not recorded" and None "any".
    """
    qs = scoped(StaffMember.objects.all(), actor).select_related("unit")
    qs = qs.filter(is_administrator=True) if administrators else qs.filter(unit_kind=OrgKind.SCHOOL)
    if status == STATUS_ACTIVE:
        qs = qs.filter(is_active=True)
    elif status and status != "all":
        qs = qs.filter(status=status)
    text = text.strip()
    if text:
        match = search.name_contains("name", text, StaffMember) | Q(staff_number=text)
        number = normalize_id_number(text)
        if len(number) == 18:
            # ID numbers are stored only encrypted: the blind index is the one way to find one.
            match |= Q(id_number_index=id_index(RESIDENT_ID_CARD, number))
        qs = qs.filter(match)
    for field_name, value in (("post_category", post_category), ("title", title), ("gender", gender),
                              ("education_level", education_level), ("backbone_level", backbone_level),
                              ("rank", rank)):
        if value:
            qs = qs.filter(**{field_name: value})
    for field_name, value in (("establishment", establishment), ("teaching_stage", teaching_stage),
                              ("title_grade", title_grade)):
        if value is not None:
            qs = qs.filter(**{field_name: value})
    if region_path:
        qs = qs.filter(region_path__startswith=region_path)
    if subject is not None:
        qs = qs.alias(main_subject=main_subject()).filter(main_subject=subject)
    if born_from:
        qs = qs.filter(birth_date__year__gte=born_from)
    if born_to:
        qs = qs.filter(birth_date__year__lte=born_to)
    for flag in flags:
        if flag in FLAGS:
            qs = qs.filter(FLAGS[flag])
    if unit_code:
        code = unit_code.strip()
        qs = qs.filter(Q(unit__school_code=code) | Q(unit__name=code))
    # The list's path range (besides the prefix filters) lets the index staff_list_order seek to the
    # scope and deliver the order (core.paging.within_path).
    qs = within_path(qs, "region_path", scope_of(actor).region_path, region_path)
    return qs.order_by(*STAFF_LIST_ORDER)


# The staff lists' order, a unique key for keyset paging, served whole by the index staff_list_order.
STAFF_LIST_ORDER = ("region_path", "unit_id", "name", "pk")


def staff_for(actor: Actor, staff_id: int) -> StaffMember:
    """One post, or 404 when unknown *or* outside the jurisdiction."""
    staff = scoped(StaffMember.objects.filter(pk=staff_id), actor, with_focus=False).select_related("unit").first()
    if staff is None:
        raise Http404(gettext("人员不存在或不在您的管辖范围内"))
    return staff


def posts_of(staff: StaffMember) -> QuerySet[StaffMember]:
    """A visible person's posts at every unit: where they worked is part of their record, as the
    audit trail is, once the person was scope-checked."""
    return (StaffMember.objects.filter(id_number_index=staff.id_number_index).select_related("unit")
            .order_by("-is_active", "-joined_on", "-pk"))


def events_of(staff: StaffMember) -> QuerySet[StaffEvent]:
    return (StaffEvent.objects.filter(staff__id_number_index=staff.id_number_index).select_related("unit")
            .order_by("-occurred_on", "-pk"))


def transfers_of(staff: StaffMember) -> QuerySet[StaffTransfer]:
    return (StaffTransfer.objects.filter(staff__id_number_index=staff.id_number_index)
            .select_related("from_unit", "to_unit").order_by("-requested_at", "-pk"))


def _side_visible(actor: Actor, side: str) -> Q:
    """Rows whose ``side`` unit (from_unit / to_unit) lies in the actor's jurisdiction."""
    scope = scope_of(actor, with_focus=False)
    if scope.is_empty:
        return Q(pk__in=[])
    if scope.school_id is not None:
        return Q(**{f"{side}_id": scope.school_id})
    visible = Q(**{f"{side}__region_path__startswith": scope.region_path})
    if scope.stage_mask:
        stage_ok = Q(**{f"_{side}_stage__gt": 0}) | ~Q(**{f"{side}__kind": OrgKind.SCHOOL})
        visible &= stage_ok
    return visible


def transfers_visible_to(actor: Actor) -> QuerySet[StaffTransfer]:
    scope = scope_of(actor, with_focus=False)
    qs = StaffTransfer.objects.select_related("staff", "from_unit", "to_unit")
    if scope.stage_mask:
        qs = qs.alias(_from_unit_stage=F("from_unit__stage_mask").bitand(scope.stage_mask),
                      _to_unit_stage=F("to_unit__stage_mask").bitand(scope.stage_mask))
    return qs.filter(_side_visible(actor, "from_unit") | _side_visible(actor, "to_unit")).order_by(*TRANSFER_LIST_ORDER)


TRANSFER_LIST_ORDER = ("-requested_at", "-pk")


def transfer_for(actor: Actor, transfer_id: int) -> StaffTransfer:
    transfer = transfers_visible_to(actor).filter(pk=transfer_id).first()
    if transfer is None:
        raise Http404(gettext("调动申请不存在或不在您的管辖范围内"))
    return transfer


def steps_of(transfer: StaffTransfer) -> QuerySet[StaffTransferStep]:
    return transfer.steps.select_related("organization").order_by("order")


def inbox(actor: Actor) -> QuerySet[StaffTransferStep]:
    """Steps waiting for the actor's organization (the ones it may decide now)."""
    if actor.organization_id is None:
        return StaffTransferStep.objects.none()
    return (StaffTransferStep.objects.filter(decision=StepDecision.PENDING, organization_id=actor.organization_id)
            .select_related("transfer", "transfer__staff", "transfer__from_unit", "transfer__to_unit", "organization")
            .order_by(*INBOX_ORDER))


INBOX_ORDER = ("transfer__requested_at", "pk")
