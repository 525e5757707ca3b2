# ruff: noqa: S608 — the SQL below is assembled from module constants only; every value is a parameter.
"""Year-end promotion (学年升级): preview → execute over a school or a region → undo within a window.

A region may hold a million students, so execution is a handful of set-based SQL statements (the same
on SQLite and PostgreSQL), never a Python loop over students:

1. the current state of every enrolment concerned is copied into ``PromotionChange`` (what undo restores);
2. the next year's classes are opened, one per current class (一年级（2）班 → 二年级（2）班);
3. last-year students graduate, the others move up a grade into their class's successor, students
   marked for 留级 stay; suspended (休学) students are not touched;
4. one change-feed entry per student and one audit entry per school; the snapshot rows double as
   each student's record of the promotion (shown in the student's timeline).

Preview and execution share the SQL conditions below, so what the preview counts is what execution does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import locks
from eduplatform.core.bulk import is_postgresql
from eduplatform.core.errors import FieldProblem, NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditAction
from eduplatform.history.services import audit_many, mark_schools_dirty, record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.stages import Stage
from eduplatform.students.grades import BY_CODE, GRADES, GRADUATING_CODES, grade_name
from eduplatform.students.models import ChangeRequest, Enrolment, PromotionBatch, RequestStatus

E = "students_enrolment"
CLS = "students_schoolclass"
PC = "students_promotionchange"


def _quoted(codes: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in codes)  # grade codes are fixed two-digit literals, never user input


def _next_grade_case(column: str) -> str:
    whens = " ".join(f"WHEN '{g.code}' THEN '{g.next_code}'" for g in GRADES if g.next_code)
    return f"CASE {column} {whens} ELSE {column} END"


def _next_name_case(column: str) -> str:
    whens = " ".join(f"WHEN '{g.code}' THEN '{BY_CODE[g.next_code].name}'" for g in GRADES if g.next_code)
    return f"CASE {column} {whens} END"


def _graduates_condition() -> str:
    """Last grade of its stage, or — vocational and higher education — the programme's length reached."""
    parts = [f"grade IN ({_quoted(sorted(GRADUATING_CODES))})"]
    by_length = [g for g in GRADES if g.stage in (Stage.VOCATIONAL, Stage.HIGHER)]
    for length in range(1, 9):
        codes = [g.code for g in by_length if g.year >= length]
        if codes:
            parts.append(f"(programme_length = {length} AND grade IN ({_quoted(codes)}))")
    return "(" + " OR ".join(parts) + ")"


GRADUATES = _graduates_condition()


def _refresh_statistics(cursor) -> None:
    """A promotion changes who is active for a sixth of a region and adds a snapshot the size of the
    region: refresh the planner's statistics now (sampled, about a second), or the next queries —
    undo's checks among them — are planned for the old shape of the data and crawl."""
    if is_postgresql():
        cursor.execute(f"ANALYZE {E}, {PC}")


def _give_memory(cursor) -> None:
    """A region's promotion sorts and hashes a million rows: let this one transaction do it in memory
    rather than in temporary files (PostgreSQL's default work_mem is 4 MB)."""
    if is_postgresql():
        cursor.execute("SET LOCAL work_mem = '256MB'")


def _db_datetime(value: dt.datetime):
    """Raw SQL gets datetimes in the form the ORM stores them (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


@dataclass(frozen=True)
class PromotionScope:
    region_path: str
    school: Organization | None
    label: str
    # Schools of a region that already ran their own promotion for the year: the region's run skips them.
    excluded_school_ids: tuple[int, ...] = ()

    def _schools(self, p: str) -> tuple[str, list]:
        sql, params = "", []
        if self.school is not None:
            sql += f" AND {p}school_id = %s"
            params.append(self.school.pk)
        if self.excluded_school_ids:
            sql += f" AND {p}school_id NOT IN (" + ", ".join(["%s"] * len(self.excluded_school_ids)) + ")"
            params += list(self.excluded_school_ids)
        return sql, params

    def where(self, table: str = "") -> tuple[str, list]:
        """Active, studying (在读) enrolments in the scope; 休学 students wait for their return."""
        p = f"{table}." if table else ""
        extra, extra_params = self._schools(p)
        return (f"{p}is_active = %s AND {p}status = '01' AND {p}region_path LIKE %s" + extra,
                [True, self.region_path + "%", *extra_params])

    def class_where(self, table: str, year: int) -> tuple[str, list]:
        extra, extra_params = self._schools(f"{table}.")
        return (f"{table}.school_year = %s AND {table}.region_path LIKE %s" + extra,
                [year, self.region_path + "%", *extra_params])


def promotion_scope(actor: Actor, *, school: Organization | None = None, region_path: str | None = None
                    ) -> PromotionScope:
    """A school, or a region inside the actor's jurisdiction (a whole county, city or the province)."""
    if not actor.can(capabilities.PROMOTE_STUDENTS):
        raise NotPermitted(gettext("您的角色无权执行学年升级"))
    scope = scope_of(actor, with_focus=False)
    if school is not None:
        if scope.is_empty or (scope.school_id is not None and scope.school_id != school.pk) or \
                not scope.covers_path(school.region_path):
            raise OutOfScope(gettext("该学校不在您的管辖范围内"))
        return PromotionScope(school.region_path, school, school.name)
    if scope.school_id is not None:
        raise NotPermitted(gettext("学校用户只能为本校执行学年升级"))
    path = region_path or scope.region_path or ""
    if not scope.covers_path(path):
        raise OutOfScope(gettext("该区域不在您的管辖范围内"))
    return PromotionScope(path, None, f"区划 {path.strip('/').split('/')[-1]}")


@dataclass
class PreviewLine:
    school_id: int
    school_name: str
    grade: str
    promote: int
    graduate: int
    stay: int

    @property
    def grade_name(self) -> str:
        return grade_name(self.grade)

    @property
    def next_grade_name(self) -> str:
        nxt = BY_CODE[self.grade].next_code if self.grade in BY_CODE else None
        return grade_name(nxt) if nxt else ""


@dataclass
class Preview:
    lines: list[PreviewLine] = field(default_factory=list)
    suspended: int = 0
    without_class: int = 0
    pending_requests: int = 0
    already_promoted: list[str] = field(default_factory=list)  # schools left out: promoted on their own
    exceptions: list[tuple[str, str, str, str]] = field(default_factory=list)  # (学籍号, 姓名, 学校, 说明)

    @property
    def promote(self) -> int:
        return sum(line.promote for line in self.lines)

    @property
    def graduate(self) -> int:
        return sum(line.graduate for line in self.lines)

    @property
    def stay(self) -> int:
        return sum(line.stay for line in self.lines)


def preview_promotion(scope: PromotionScope, *, from_year: int | None = None, exception_limit: int = 200
                      ) -> Preview:
    """What ``execute_promotion`` would do for ``from_year`` (schools that already promoted
    themselves for that year are left out and listed)."""
    if from_year is not None:
        scope = for_year(scope, from_year)
    where, params = scope.where()
    sql = (
        "SELECT school_id, grade,"
        f" SUM(CASE WHEN repeat_next_promotion = %s THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN repeat_next_promotion = %s AND {GRADUATES} THEN 1 ELSE 0 END),"
        " COUNT(*)"
        f" FROM {E} WHERE {where} GROUP BY school_id, grade ORDER BY school_id, grade"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, False, *params])
        rows = cursor.fetchall()
    names = dict(Organization.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "name"))
    preview = Preview()
    preview.already_promoted = list(
        Organization.objects.filter(pk__in=scope.excluded_school_ids).order_by("name").values_list("name", flat=True))
    for school_id, grade, stay, graduate, total in rows:
        preview.lines.append(PreviewLine(school_id, names.get(school_id, ""), grade, total - stay - graduate,
                                         graduate, stay))
    base = Enrolment.objects.filter(is_active=True, region_path__startswith=scope.region_path).exclude(
        school_id__in=scope.excluded_school_ids)
    if scope.school is not None:
        base = base.filter(school=scope.school)
    preview.suspended = base.filter(status="02").count()
    studying = base.filter(status="01")
    preview.without_class = studying.filter(school_class__isnull=True).count()
    pending = ChangeRequest.objects.filter(enrolment__in=studying, status=RequestStatus.PENDING)
    preview.pending_requests = pending.count()
    for e in base.filter(status="02").select_related("student", "school")[:exception_limit]:
        preview.exceptions.append((e.student.student_number, e.student.name, e.school.name, gettext("休学中，不参与升级")))
    for e in studying.filter(repeat_next_promotion=True).select_related("student", "school")[:exception_limit]:
        preview.exceptions.append((e.student.student_number, e.student.name, e.school.name,
                                   gettext("已办理留级，保留在%(grade_name)s") % {"grade_name": grade_name(e.grade)}))
    for r in pending.select_related("student", "from_school")[:exception_limit]:
        preview.exceptions.append((r.student.student_number, r.student.name, r.from_school.name,
                                   gettext("有审核中的%(get_kind_display)s申请，仍按原校升级") % {"get_kind_display": r.get_kind_display()}))
    return preview


def _overlapping_batches(scope: PromotionScope, from_year: int) -> list[PromotionBatch]:
    """Live batches of the year that would promote someone twice: a region run above or below this
    scope, or this very school's own run. (A school's own run inside a region only excludes it.)"""
    live = PromotionBatch.objects.filter(from_year=from_year, undone_at__isnull=True)
    candidates = live.filter(region_path__startswith=scope.region_path) | live.extra(
        where=["%s LIKE region_path || '%%'"], params=[scope.region_path]
    )
    return [b for b in candidates
            if b.school_id is None or (scope.school is not None and b.school_id == scope.school.pk)]


def for_year(scope: PromotionScope, from_year: int) -> PromotionScope:
    """The scope without the schools that already promoted themselves for ``from_year``."""
    if scope.school is not None:
        return scope
    done = PromotionBatch.objects.filter(from_year=from_year, undone_at__isnull=True, school__isnull=False,
                                         region_path__startswith=scope.region_path)
    return replace(scope, excluded_school_ids=tuple(sorted(done.values_list("school_id", flat=True))))


def _lock_scope(region_path: str, school_id: int | None, from_year: int) -> None:
    """Serialise promotions of ``from_year`` that could touch the same students (PostgreSQL).

    Hierarchical locks, as a database does for tables and rows: a run holds shared locks on every
    region above its scope and an exclusive lock on its own scope (its region, or its school). So two
    runs of one scope, a region's run and a run of anything inside it, wait for each other — the
    second then sees the first's batch and is refused — while schools and regions that do not overlap
    run side by side. Locks are taken from the province down, so two runs never wait in a circle."""
    parts = [p for p in region_path.split("/") if p]
    # From the root ("" — a run over everything) down to the scope's parent, or to its own town for a school.
    above = ["", *("/".join(parts[:n]) + "/" for n in range(1, len(parts) + (0 if school_id is None else 1)))]
    if school_id is None and not parts:
        above = []  # the run over everything holds the root itself, exclusively
    for path in above:
        locks.hold(locks.PROMOTION, f"{from_year}:{path}", shared=True)
    locks.hold(locks.PROMOTION, f"{from_year}:school:{school_id}" if school_id is not None else f"{from_year}:{region_path}")


def _already_promoted(scope: PromotionScope, from_year: int, batch: PromotionBatch) -> RecordInvalid:
    at = timezone.localtime(batch.executed_at)
    return RecordInvalid(gettext("学年升级"), [FieldProblem(
        "from_year", "promotion.done",
        gettext("%(scope)s 的 %(year)s 学年升级已由 %(by)s 于 %(when)s 执行（%(batch)s），无需重复操作；如需重做请先撤销") % {
            "scope": scope.label, "year": from_year, "by": batch.executed_by, "when": f"{at:%Y-%m-%d %H:%M}",
            "batch": batch.scope_label}, gettext("学年"))])


@transaction.atomic
def execute_promotion(
    *, actor: Actor, scope: PromotionScope, from_year: int, graduation_date: dt.date, now: dt.datetime | None = None
) -> PromotionBatch:
    """Promote ``scope`` once for ``from_year``: under the scope's locks (``_lock_scope``) the check for
    an earlier run sees every committed run, and a partial unique index on the live batches of a
    school or region refuses an exact repeat even without them."""
    _lock_scope(scope.region_path, scope.school.pk if scope.school is not None else None, from_year)
    now = now or timezone.now()
    overlapping = _overlapping_batches(scope, from_year)
    scope = for_year(scope, from_year)
    if overlapping:
        raise _already_promoted(scope, from_year, overlapping[0])
    days = getattr(settings, "PROMOTION_UNDO_DAYS", 30)
    try:
        with transaction.atomic():
            batch = PromotionBatch.objects.create(
                region_path=scope.region_path, school=scope.school, scope_label=scope.label, from_year=from_year,
                graduation_date=graduation_date, executed_by=actor.audit_name(), executed_at=now,
                undo_until=now + dt.timedelta(days=days),
            )
    except IntegrityError:  # one_live_*_promotion: a run of this very scope committed meanwhile
        earlier = _overlapping_batches(scope, from_year)
        if not earlier:
            raise
        raise _already_promoted(scope, from_year, earlier[0]) from None
    where, params = scope.where()
    stamp = _db_datetime(now)
    with connection.cursor() as cursor:
        _give_memory(cursor)
        cursor.execute(
            f"INSERT INTO {PC} (batch_id, enrolment_id, grade, school_class_id, status, is_active, left_on,"
            " repeat_next_promotion)"
            f" SELECT %s, id, grade, school_class_id, status, is_active, left_on, repeat_next_promotion FROM {E}"
            f" WHERE {where} ORDER BY id",  # in key order: the snapshot's index grows at its right edge
            [batch.pk, *params],
        )
        # Next year's classes, one per current class of a grade that moves up.
        cw, cparams = scope.class_where("o", from_year)
        moving = _quoted([g.code for g in GRADES if g.next_code])
        cursor.execute(
            f"INSERT INTO {CLS} (school_id, region_path, school_year, grade, number, name, class_type, head_teacher,"
            " promotion_id)"
            f" SELECT o.school_id, o.region_path, o.school_year + 1, {_next_grade_case('o.grade')}, o.number,"
            f" {_next_name_case('o.grade')} || '（' || CAST(o.number AS TEXT) || '）班', o.class_type, '', %s"
            f" FROM {CLS} o WHERE {cw} AND o.grade IN ({moving}) AND NOT EXISTS (SELECT 1 FROM {CLS} n"
            f" WHERE n.school_id = o.school_id AND n.school_year = o.school_year + 1 AND n.number = o.number"
            f" AND n.grade = {_next_grade_case('o.grade')})",
            [batch.pk, *cparams],
        )
        cursor.execute(
            f"UPDATE {E} SET status = '07', is_active = %s, left_on = %s, updated_at = %s"
            f" WHERE {where} AND repeat_next_promotion = %s AND {GRADUATES}",
            [False, graduation_date, stamp, *params, False],
        )
        graduated = cursor.rowcount
        # Students whose class has no successor (none, or a class of another year) move up unplaced.
        cursor.execute(
            f"UPDATE {E} SET grade = {_next_grade_case('grade')}, school_class_id = NULL, updated_at = %s"
            f" WHERE {where} AND repeat_next_promotion = %s AND (school_class_id IS NULL OR school_class_id NOT IN"
            f" (SELECT o.id FROM {CLS} o WHERE {cw}))",
            [stamp, *params, False, *cparams],
        )
        promoted = cursor.rowcount
        cursor.execute(
            f"UPDATE {E} SET grade = m.new_grade, school_class_id = m.new_class, updated_at = %s"
            f" FROM (SELECT o.id AS old_id, n.id AS new_class, n.grade AS new_grade FROM {CLS} o JOIN {CLS} n"
            f" ON n.school_id = o.school_id AND n.school_year = o.school_year + 1 AND n.number = o.number"
            f" AND n.grade = {_next_grade_case('o.grade')} WHERE {cw}) m"
            f" WHERE {E}.school_class_id = m.old_id AND {scope.where(E)[0]} AND {E}.repeat_next_promotion = %s",
            [stamp, *cparams, *params, False],
        )
        promoted += cursor.rowcount
        cursor.execute(
            f"UPDATE {E} SET repeat_next_promotion = %s, school_class_id = NULL, updated_at = %s"
            f" WHERE {where} AND repeat_next_promotion = %s",
            [False, stamp, *params, True],
        )
        kept = cursor.rowcount
        _write_trace(cursor, batch, now)
        _refresh_statistics(cursor)
    batch.promoted, batch.graduated, batch.kept = promoted, graduated, kept
    batch.save(update_fields=["promoted", "graduated", "kept"])
    _audit_by_school(actor, batch, "执行学年升级")
    return batch


def _write_trace(cursor, batch: PromotionBatch, now: dt.datetime) -> None:
    """Change feed and dirty marks. Per student, the ``PromotionChange`` row (before) and the
    enrolment (after) already are the record of what happened; a million event rows would only
    repeat them, so the student's timeline reads promotions from there (``promotions_of``)."""
    cursor.execute(
        "INSERT INTO history_changefeedentry (occurred_at, resource, natural_key, operation, region_path, school_id)"
        f" SELECT %s, 'student', s.student_number, 'upsert', e.region_path, e.school_id FROM {PC} pc"
        f" JOIN {E} e ON e.id = pc.enrolment_id JOIN students_student s ON s.id = e.student_id WHERE pc.batch_id = %s"
        " ORDER BY e.region_path, e.id",  # clustered by region: the feed's region index grows in runs
        [_db_datetime(now), batch.pk],
    )
    # One mark per school of the batch, through history (append-only marks; the after-commit
    # refresh knows the schools: inline for a few, the worker for a region).
    cursor.execute(f"SELECT DISTINCT e.school_id FROM {PC} pc JOIN {E} e ON e.id = pc.enrolment_id"
                   " WHERE pc.batch_id = %s", [batch.pk])
    mark_schools_dirty(r[0] for r in cursor.fetchall())


def _audit_by_school(actor: Actor, batch: PromotionBatch, note: str) -> None:
    """One audit entry per school with its counts; per-student detail is in the snapshot rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.school_id, e.region_path, SUM(CASE WHEN e.status <> pc.status THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN e.status = pc.status AND e.grade <> pc.grade THEN 1 ELSE 0 END), COUNT(*)"
            f" FROM {PC} pc JOIN {E} e ON e.id = pc.enrolment_id WHERE pc.batch_id = %s"
            " GROUP BY e.school_id, e.region_path",
            [batch.pk],
        )
        rows = cursor.fetchall()
    names = dict(Organization.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "name"))
    audit_many(actor=actor, action=AuditAction.UPDATE, object_type="students.promotion", note=note, items=[
        (batch.pk, f"{names.get(school_id, '')} {batch.from_year}学年升级",
         {"graduated": {"label": "毕业/状态变化人数", "before": None, "after": int(changed or 0)},
          "promoted": {"label": "年级变化人数", "before": None, "after": int(moved or 0)},
          "total": {"label": "涉及人数", "before": None, "after": int(total)}},
         path, school_id)
        for school_id, path, changed, moved, total in rows
    ])


def undo_blockers(batch: PromotionBatch, now: dt.datetime | None = None) -> list[str]:
    """Why a promotion cannot be undone (empty when it can)."""
    now = now or timezone.now()
    reasons = []
    if batch.undone_at is not None:
        reasons.append(gettext("该次升级已撤销"))
    if now > batch.undo_until:
        reasons.append(gettext("已超过撤销期限（%(until)s）") % {"until": format(timezone.localtime(batch.undo_until), "%Y-%m-%d %H:%M")})
    if reasons:
        return reasons  # settled without counting a million rows
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {PC} pc JOIN {E} e ON e.id = pc.enrolment_id"
            " WHERE pc.batch_id = %s AND e.updated_at > %s",
            [batch.pk, _db_datetime(batch.executed_at)],
        )
        changed = cursor.fetchone()[0]
        cursor.execute(
            # Graduates of the batch who hold a registration elsewhere by now: one probe each into
            # the partial unique index of active registrations.
            f"SELECT COUNT(*) FROM {PC} pc JOIN {E} e ON e.id = pc.enrolment_id"
            " WHERE pc.batch_id = %s AND pc.is_active = %s AND e.is_active = %s"
            f" AND EXISTS (SELECT 1 FROM {E} other WHERE other.student_id = e.student_id AND other.is_active = %s"
            " AND other.id <> e.id)",
            [batch.pk, True, False, True],
        )
        re_enrolled = cursor.fetchone()[0]
    if changed:
        reasons.append(gettext("升级后已有 %(changed)s 名学生的学籍再次变动，无法原样恢复") % {"changed": changed})
    if re_enrolled:
        reasons.append(gettext("%(re_enrolled)s 名毕业生已在其他学校注册新学籍") % {"re_enrolled": re_enrolled})
    return reasons


@transaction.atomic
def undo_promotion(*, actor: Actor, batch: PromotionBatch, now: dt.datetime | None = None) -> PromotionBatch:
    """Put every enrolment of the batch back exactly as it was and remove what the batch created."""
    now = now or timezone.now()
    # The batch's row lock makes a second undo wait and then find it undone; the scope's locks keep a
    # region's run from choosing which schools to leave out while this school's run is being undone.
    _lock_scope(batch.region_path, batch.school_id, batch.from_year)
    batch = PromotionBatch.objects.select_for_update(of=("self",)).select_related("school").get(pk=batch.pk)
    promotion_scope(actor, school=batch.school, region_path=batch.region_path)
    if batch.undone_at is not None:
        raise RecordInvalid(gettext("撤销学年升级"), [FieldProblem(
            "batch", "promotion.undone", gettext("%(batch)s %(year)s学年升级已由 %(by)s 于 %(when)s 撤销，无需重复操作") % {
                "batch": batch.scope_label, "year": batch.from_year, "by": batch.undone_by,
                "when": f"{timezone.localtime(batch.undone_at):%Y-%m-%d %H:%M}"}, gettext("升级批次"))])
    blockers = undo_blockers(batch, now)
    if blockers:
        raise RecordInvalid(gettext("撤销学年升级"), [FieldProblem("batch", "promotion.undo", m, gettext("升级批次"))
                                                 for m in blockers])
    with connection.cursor() as cursor:
        _give_memory(cursor)
        cursor.execute(
            f"UPDATE {E} SET grade = pc.grade, school_class_id = pc.school_class_id, status = pc.status,"
            " is_active = pc.is_active, left_on = pc.left_on, repeat_next_promotion = pc.repeat_next_promotion,"
            f" updated_at = %s FROM {PC} pc WHERE pc.enrolment_id = {E}.id AND pc.batch_id = %s",
            [_db_datetime(now), batch.pk],
        )
        cursor.execute(f"DELETE FROM {CLS} WHERE promotion_id = %s", [batch.pk])
        _write_trace(cursor, batch, now)
    batch.undone_at, batch.undone_by = now, actor.audit_name()
    batch.save(update_fields=["undone_at", "undone_by"])
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="students.promotion", object_id=batch.pk,
                  object_label=f"{batch.scope_label} {batch.from_year}学年升级",
                  changes={"undone": {"label": "撤销", "before": None, "after": "已撤销"}},
                  region_path=batch.region_path, school_id=batch.school_id, note="撤销学年升级")
    return batch


@dataclass(frozen=True)
class PromotionRecord:
    """One promotion as a student's timeline shows it."""

    on: dt.date
    from_year: int
    grade_before: str
    outcome: str  # 升级 / 毕业 / 留级
    undone: bool


def promotions_of(enrolment_ids: list[int]) -> list[PromotionRecord]:
    changes = (PromotionBatch.objects.filter(changes__enrolment_id__in=enrolment_ids)
               .values_list("graduation_date", "from_year", "changes__grade", "changes__repeat_next_promotion",
                            "undone_at", "changes__enrolment_id", "changes__status"))
    records = []
    for on, year, grade, repeat, undone, _enrolment, _status in changes:
        nxt = BY_CODE[grade].next_code if grade in BY_CODE else None
        outcome = gettext("留级") if repeat else (
            gettext("升入%(grade)s") % {"grade": grade_name(nxt)} if nxt else gettext("毕业"))
        records.append(PromotionRecord(on, year, grade_name(grade), outcome, undone is not None))
    return sorted(records, key=lambda r: r.on, reverse=True)
