"""Every read of student records for the pages, through ``scoped``.

Persons, registrations, classes and events declare the stages of their school in ``SCOPE``, so
``scoped`` alone keeps a stage-limited officer (e.g. 基础教育处, K-12 only) away from a college's
students. Import jobs and promotion batches have no such lookup (a job stores only a school id; a
region's batch has no school), so their reads narrow by stage here.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from eduplatform.core import search
from eduplatform.core.identity import RESIDENT_ID_CARD, id_index
from eduplatform.core.normalize import normalize_id_number
from eduplatform.core.paging import within_path
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.students import promotion
from eduplatform.students.models import (
    ChangeRequest,
    ChangeRequestStep,
    Enrolment,
    EnrolmentStatus,
    PromotionBatch,
    SchoolClass,
    StepDecision,
    Student,
    StudentEvent,
)

# Class sizes the national standard flags (大班额 56–65, 超大班额 66 and more).
LARGE_CLASS = 56
HUGE_CLASS = 66
FLAGS = {
    "migrant_child": Q(student__migrant_child=True),
    "left_behind": ~Q(student__left_behind__in=["", "0"]),
    "boarding": Q(student__boarding_mode="2"),
    "minority": ~Q(student__ethnicity__in=["01", ""]),  # 01 汉族; blank: not recorded
    "disabled": ~Q(student__disability_type=""),
}


def _first_in_stage() -> Q:
    from eduplatform.stats.definitions import first_in_stage  # the statistics' one definition

    return first_in_stage()


def _school_year_start(today: dt.date) -> dt.date:
    return dt.date(today.year if today.month >= 9 else today.year - 1, 9, 1)


# Flags of "this school year" (the statistics' 招生 and 毕业生), as the roll-ups count them.
YEAR_FLAGS = {
    # 招生: first registration in its stage (stats.definitions.NEW_ENTRANTS), not a transfer in.
    "new_entrant": lambda start: Q(entered_on__gte=start) & _first_in_stage(),
    "graduated": lambda start: Q(status__in=[EnrolmentStatus.GRADUATED, EnrolmentStatus.COMPLETED], left_on__gte=start),
}


def cohort_birth_dates(cohort: int) -> tuple[dt.date, dt.date]:
    """The birth dates of a school-year cohort (see ``stats.models.StudentFigures``): from
    1 September of the year before to 31 August of ``cohort``."""
    return dt.date(cohort - 1, 9, 1), dt.date(cohort, 8, 31)


def _stage_mask(actor: Actor) -> int | None:
    scope = scope_of(actor)
    return scope.stage_mask if scope.school_id is None else None


def _schools_in_stages(mask: int) -> QuerySet[Organization]:
    return Organization.objects.alias(_hit=F("stage_mask").bitand(mask)).filter(_hit__gt=0).values("pk")


# --------------------------------------------------------------------------------------------
# Students and registrations


def enrolments_in_scope(
    actor: Actor,
    *,
    text: str = "",
    grade: str = "",
    status: str = "active",
    gender: str = "",
    ethnicity: str = "",
    flags: tuple[str, ...] | list[str] = (),
    school_code: str = "",
    class_id: int | None = None,
    region_path: str = "",
    stage: int | None = None,
    cohort: int | None = None,
    level: str | None = None,
) -> QuerySet[Enrolment]:
    """Registrations in the actor's jurisdiction, filtered as the student list asks (the region,
    stage and cohort filters are how a statistics figure opens the records behind it)."""
    qs = scoped(Enrolment.objects.all(), actor).select_related("student", "school", "school_class")
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status and status != "all":
        qs = qs.filter(status=status)
    text = text.strip()
    if text:
        match = search.name_contains("student__name", text, Student) | Q(student__student_number=text.upper())
        number = normalize_id_number(text)
        if len(number) == 18:
            # ID numbers are stored only encrypted: the blind index is the one way to find one.
            match |= Q(student__id_number_index=id_index(RESIDENT_ID_CARD, number))
        qs = qs.filter(match)
    if grade:
        qs = qs.filter(grade=grade)
    if gender:
        qs = qs.filter(student__gender=gender)
    if ethnicity:
        qs = qs.filter(student__ethnicity=ethnicity)
    for flag in flags:
        if flag in FLAGS:
            qs = qs.filter(FLAGS[flag])
        elif flag in YEAR_FLAGS:
            qs = qs.filter(YEAR_FLAGS[flag](_school_year_start(timezone.localdate())))
    if region_path:
        qs = qs.filter(region_path__startswith=region_path)
    if stage:
        qs = qs.filter(stage=stage)
    if cohort:
        qs = qs.filter(student__birth_date__range=cohort_birth_dates(cohort))
    if level is not None:
        qs = qs.filter(level=level)
    if school_code:
        qs = qs.filter(school__school_code=school_code.strip())
    if class_id:
        qs = qs.filter(school_class_id=class_id)
    # The list's path range (besides the prefix filters) lets the (region_path, school_id) index seek
    # to the scope and deliver its order (core.paging.within_path).
    qs = within_path(qs, "region_path", scope_of(actor).region_path, region_path)
    return qs.annotate(class_number=Coalesce("school_class__number", Value(0))).order_by(*ENROLMENT_LIST_ORDER)


# The student list's order (a unique key, for keyset paging): by place and school — served by the
# index enrolment_list_order —, then grade, class (unassigned first), name within each school, which
# PostgreSQL sorts school by school (an incremental sort over a few hundred rows at a time).
ENROLMENT_LIST_ORDER = ("region_path", "school_id", "grade", "class_number", "student__name", "pk")


def students_in_scope(actor: Actor) -> QuerySet[Student]:
    return scoped(Student.objects.all(), actor)


def student_for(actor: Actor, public_id: uuid.UUID | str) -> Student:
    """One person by the opaque id page addresses use (``Student.public_id``), or 404 when unknown
    *or* held by a school outside the jurisdiction."""
    student = (
        scoped(Student.objects.filter(public_id=public_id), actor, with_focus=False)
        .select_related("school")
        .first()
    )
    if student is None:
        raise Http404(gettext("学生不存在或不在您的管辖范围内"))
    return student


def _require_visible(actor: Actor, student: Student) -> None:
    if not students_in_scope(actor).filter(pk=student.pk).exists():
        raise Http404(gettext("学生不存在或不在您的管辖范围内"))


def enrolments_of(actor: Actor, student: Student) -> QuerySet[Enrolment]:
    """A visible student's registrations at every school: the history of schools is part of the
    person's record, as the audit trail is (history_of), once the person was scope-checked."""
    _require_visible(actor, student)
    return Enrolment.objects.filter(student=student).select_related("school", "school_class").order_by(
        "-is_active", "-entered_on", "-pk"
    )


def active_enrolment(student: Student) -> Enrolment | None:
    return Enrolment.objects.filter(student=student, is_active=True).select_related("school", "school_class").first()


def events_of(actor: Actor, student: Student) -> QuerySet[StudentEvent]:
    """A visible student's events at every school, newest first (see ``enrolments_of``)."""
    _require_visible(actor, student)
    return StudentEvent.objects.filter(student=student).select_related("school").order_by(
        "-occurred_on", "-recorded_at", "-pk"
    )


def promotions_of(actor: Actor, student: Student) -> list[promotion.PromotionRecord]:
    """The year-end promotions a visible student went through (kept as promotion snapshots, not events)."""
    _require_visible(actor, student)
    return promotion.promotions_of(list(Enrolment.objects.filter(student=student).values_list("pk", flat=True)))


# --------------------------------------------------------------------------------------------
# Classes


def classes_in_scope(actor: Actor, school: Organization | None = None, school_year: int | None = None, *,
                     region_path: str = "", grades: tuple[str, ...] | list[str] = (),
                     size_range: tuple[int, int | None] | None = None, sized: bool = True) -> QuerySet[SchoolClass]:
    """Classes with their size (active registrations), for the class list and its 大班额 flags;
    region, grades and a size range are how a class-size figure opens the classes it counts.

    ``sized=False`` (the class list without a size range): no size, which would count every
    registration in the scope before the first page; the list sizes its page (``size_classes``)."""
    qs = scoped(SchoolClass.objects.all(), actor).select_related("school")
    if school is not None:
        qs = qs.filter(school=school)
    if school_year is not None:
        qs = qs.filter(school_year=school_year)
    if region_path:
        qs = qs.filter(region_path__startswith=region_path)
    if grades:
        qs = qs.filter(grade__in=grades)
    if sized or size_range is not None:
        qs = qs.annotate(size=Count("enrolments", filter=Q(enrolments__is_active=True)))
    if size_range is not None:
        low, high = size_range
        qs = qs.filter(size__gte=low) if high is None else qs.filter(size__gte=low, size__lte=high)
    qs = within_path(qs, "region_path", scope_of(actor).region_path, region_path)
    return qs.order_by(*CLASS_LIST_ORDER)


# The class list's order (a unique key for keyset paging), served whole within a school year and a
# scope by the index class_list_order: place, school, grade, class number.
CLASS_LIST_ORDER = ("school_year", "region_path", "school_id", "grade", "number", "pk")


def size_classes(classes: list[SchoolClass]) -> None:
    """Set ``size`` (active registrations) on a page of classes: one count over their schools'
    active registrations (the enrolment table has no class index, see ``Enrolment.Meta``)."""
    sizes = dict(
        Enrolment.objects.filter(is_active=True, school_id__in={c.school_id for c in classes},
                                 school_class_id__in=[c.pk for c in classes])
        .values("school_class_id").annotate(n=Count("pk")).values_list("school_class_id", "n")
    )
    for klass in classes:
        klass.size = sizes.get(klass.pk, 0)


def students_in(classes: QuerySet[SchoolClass]) -> int:
    """Active registrations in these classes (the sum of their sizes)."""
    return Enrolment.objects.filter(is_active=True, school_class__in=classes.values("pk")).count()


def class_for(actor: Actor, class_id: int) -> SchoolClass:
    klass = scoped(SchoolClass.objects.filter(pk=class_id), actor, with_focus=False).first()
    if klass is None:
        raise Http404(gettext("班级不存在或不在您的管辖范围内"))
    return klass


def size_flag(size: int) -> str:
    # The band's name (gettext_noop: pages show it through {% translate %}, code compares the Chinese).
    if size >= HUGE_CLASS:
        return gettext_noop("超大班额")
    if size >= LARGE_CLASS:
        return gettext_noop("大班额")
    return ""


# --------------------------------------------------------------------------------------------
# Change requests (转学, 退学) and their review steps


def requests_visible_to(actor: Actor) -> QuerySet[ChangeRequest]:
    """Requests leaving or entering the jurisdiction, plus those with a step for the actor's unit.

    ``ChangeRequest`` declares no SCOPE (it belongs to two places at once), so the rule is spelled
    out here: a school sees requests from or to itself; a bureau those whose sending or receiving
    place lies in its region (and, if stage-limited, whose school offers its stages).
    """
    scope = scope_of(actor)
    if scope.is_empty:
        return ChangeRequest.objects.none()
    if scope.school_id is not None:
        visible = Q(from_school_id=scope.school_id) | Q(to_school_id=scope.school_id)
    else:
        from_side = Q(from_path__startswith=scope.region_path)
        to_side = Q(to_school__isnull=False, to_path__startswith=scope.region_path)
        if scope.stage_mask:
            stage_schools = _schools_in_stages(scope.stage_mask)
            from_side &= Q(from_school_id__in=stage_schools)
            to_side &= Q(to_school_id__in=stage_schools)
        visible = from_side | to_side
    own_step = ChangeRequestStep.objects.filter(request=OuterRef("pk"), organization_id=actor.organization_id)
    return (
        ChangeRequest.objects.filter(visible | Q(Exists(own_step)))
        .select_related("student", "from_school", "to_school")
        .order_by(*REQUEST_LIST_ORDER)
    )


REQUEST_LIST_ORDER = ("-requested_at", "-pk")


def request_for(actor: Actor, request_id: int) -> ChangeRequest:
    request = requests_visible_to(actor).filter(pk=request_id).first()
    if request is None:
        raise Http404(gettext("申请不存在或不在您的管辖范围内"))
    return request


def steps_of(request: ChangeRequest) -> QuerySet[ChangeRequestStep]:
    return request.steps.select_related("organization").order_by("order")


def inbox(actor: Actor) -> QuerySet[ChangeRequestStep]:
    """Review steps waiting for the actor's organization (the ones it may decide now)."""
    if actor.organization_id is None:
        return ChangeRequestStep.objects.none()
    return (
        ChangeRequestStep.objects.filter(decision=StepDecision.PENDING, organization_id=actor.organization_id)
        .select_related("request", "request__student", "request__from_school", "request__to_school", "organization")
        .order_by(*INBOX_ORDER)
    )


INBOX_ORDER = ("request__requested_at", "pk")


# --------------------------------------------------------------------------------------------
# Imports and promotions


def promotion_batches(actor: Actor) -> QuerySet[PromotionBatch]:
    qs = scoped(PromotionBatch.objects.all(), actor).select_related("school")
    mask = _stage_mask(actor)
    if mask:
        # A region-wide batch concerns every stage; a school's batch only that school's.
        qs = qs.alias(_school_stage=F("school__stage_mask").bitand(mask)).filter(
            Q(school__isnull=True) | Q(_school_stage__gt=0)
        )
    return qs.order_by("-executed_at", "-pk")


def promotion_batch_for(actor: Actor, batch_id: int) -> PromotionBatch:
    batch = promotion_batches(actor).filter(pk=batch_id).first()
    if batch is None:
        raise Http404(gettext("升级记录不存在或不在您的管辖范围内"))
    return batch



def school_by_pk(actor: Actor, pk: int | None) -> Organization | None:
    if pk is None:
        return None
    return scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, pk=pk), actor, with_focus=False).first()
