"""Every write to student records: registration (one or a whole file), edits, identity changes and
the status events that need no approval. Transfers and dropouts that need approval are in
``approvals``; year-end promotion is in ``promotion``.

Each function validates, changes, audits, feeds and marks the school dirty in one transaction.
Registration is set-based (one query per concern for the whole batch, COPY on PostgreSQL) because a
school's first import holds thousands of students and a county's tens of thousands.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from eduplatform.core import crypto
from eduplatform.core.bulk import insert_rows, is_postgresql, reserve_ids, select_in
from eduplatform.core.errors import (
    BatchInvalid,
    FieldProblem,
    NotPermitted,
    OutOfScope,
    RecordInvalid,
    RowProblem,
)
from eduplatform.core.identity import (  # id_index: part of this module's interface
    Sealer,
    id_index,  # noqa: F401
    seal_id_number,
    seal_phone,
)
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.core.models import WritePolicy
from eduplatform.core.normalize import normalize_id_number
from eduplatform.core.request_context import current_client_ip
from eduplatform.history.models import AuditAction, AuditEntry, ChangeFeedEntry
from eduplatform.history.services import (
    audit_many,
    diff_fields,
    feed_many,
    mark_schools_dirty,
    record_change,
    record_event,
)
from eduplatform.imports.registry import RowAction, RowOutcome, batch_rejected, policy_problem
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.moves import hold_unit
from eduplatform.orgs.scope import Actor, unit_in_reach
from eduplatform.standards import codebook
from eduplatform.standards.validators import (
    IdentifierError,
    mask_id_number,
    mask_student_number,
    validate_id_number,
)
from eduplatform.students.duplicates import undocumented_holders
from eduplatform.students.grades import BY_CODE, grade_name
from eduplatform.students.identity import issue_student_number
from eduplatform.students.models import (
    ACTIVE_STATUSES,
    Enrolment,
    EnrolmentStatus,
    EventKind,
    RetiredStudentNumber,
    SchoolClass,
    Student,
    StudentEvent,
)
from eduplatform.students.schema import (
    FIELD_LABELS,
    SCHEMA,
    STUDENT_COLUMNS,
    CleanStudent,
    check_edit_against_id,
    clean_fields,
    clean_student,
)

VIEW_SENSITIVE = "records.view_sensitive"

PERSON_FIELDS = (
    "name", "former_name", "gender", "birth_date", "id_type", "ethnicity", "nationality", "hk_macao_taiwan",
    "birthplace_code", "native_place", "hukou_place_code", "hukou_nature", "political_status", "health_status",
    "disability_type", "migrant_child", "left_behind", "only_child", "boarding_mode", "home_address",
    "mailing_address", "household_address",
)
AUDIT_LABELS = {**FIELD_LABELS, "school": "学校", "status": "学籍状态", "id_number": "身份证件号",
                "phone": "联系电话", "student_number": "学籍号", "class": "班级"}


# --------------------------------------------------------------------------------------------
# Permissions


def can_write_school(actor: Actor, school: Organization) -> bool:
    """Whether the actor may change student records of ``school`` (its own, or one in its region)."""
    return actor.can(capabilities.EDIT_STUDENTS) and unit_in_reach(actor, school)


def require_school_writer(actor: Actor, school: Organization) -> None:
    if not actor.can(capabilities.EDIT_STUDENTS):
        raise NotPermitted(gettext("您的角色无权修改学生学籍信息"))
    if not can_write_school(actor, school):
        raise OutOfScope(gettext("该学校不在您的管辖范围内"))


def current_school_year(today: dt.date) -> int:
    """The school year a date falls in: 2026-09-01 … 2027-08-31 is 2026."""
    return today.year if today.month >= 9 else today.year - 1


# --------------------------------------------------------------------------------------------
# Registration


@dataclass
class RegistrationResult:
    created: int  # new persons
    re_enrolled: int  # persons already in the register (e.g. from primary school) enrolled again
    enrolment_ids: list[int]
    rejected: list[RowProblem]  # only with accept_valid: the rows left out, with why
    updated: int = 0  # students already enrolled here whose personal fields the import changed
    row_outcomes: list[RowOutcome] = field(default_factory=list)  # each checked row's effect (imports)
    # row → 学籍号 of every row written or matched (issued, kept from the register, or the one the
    # student already had here): what the open API answers, without reading the students again.
    numbers: dict[int, str] = field(default_factory=dict)


@dataclass
class _Existing:
    student_id: int
    student_number: str
    active_school_id: int | None
    active_school_name: str


def _existing_by_index(indexes: Iterable[str]) -> dict[str, _Existing]:
    """Persons already in the register, province-wide, by ID blind index, with where they are active.

    The ``<> ''`` repeats the predicate of the partial unique index (``one_student_per_id_number``):
    PostgreSQL proves a partial index usable from an ``= ANY`` list of at most 100 values only, so
    without it a batch of 50,000 ID numbers read all 27 million students (sequential scan). The
    persons found come first and their active enrolments after: joined in one statement, the planner
    hashed every organization of the province (and started parallel workers) for a file whose
    students are almost all new — 0.7 s against 0.1 s on the province."""
    found = select_in("SELECT id, id_number_index, student_number FROM students_student"
                      " WHERE id_number_index <> '' AND id_number_index IN %s", sorted({i for i in indexes if i}))
    if not found:
        return {}
    active = {student_id: (school_id, name) for student_id, school_id, name in select_in(
        "SELECT e.student_id, e.school_id, o.name FROM students_enrolment e"
        " JOIN orgs_organization o ON o.id = e.school_id WHERE e.is_active AND e.student_id IN %s",
        [sid for sid, _, _ in found])}
    return {index: _Existing(sid, number, *active.get(sid, (None, ""))) for sid, index, number in found}


def _numbers_taken(candidates: Iterable[str]) -> set[str]:
    numbers = sorted({n for n in candidates if n})
    taken = {r[0] for r in select_in("SELECT student_number FROM students_student WHERE student_number IN %s", numbers)}
    taken |= {r[0] for r in select_in("SELECT number FROM students_retiredstudentnumber WHERE number IN %s", numbers)}
    return taken


def holder_message(existing_school_id: int | None, school_name: str, school: Organization, number: str) -> str:
    if existing_school_id == school.pk:
        return gettext("该学生已在本校在籍（学籍号 %(number)s），不能重复注册") % {"number": number}
    return (
        gettext("该学生已在「%(school_name)s」在籍（学籍号 %(number)s），同一学生只能有一个有效学籍；如需转入本校，请发起转学申请") % {"school_name": school_name, "number": number}
    )


def register_students(
    *,
    actor: Actor,
    school: Organization,
    rows: Sequence[tuple[int, CleanStudent]],
    accept_valid: bool,
    dry_run: bool = False,
    source: str = "录入",
    today: dt.date | None = None,
    policy: str | None = None,
) -> RegistrationResult:
    """Enrol a batch of cleaned students at ``school``; all or nothing unless ``accept_valid``
    (``dry_run`` checks everything and writes nothing).

    Every row is checked against the whole province: an ID number active at another school is an
    error naming that school; a person who left another school (e.g. graduated from primary) is
    enrolled again under the same lifelong 学籍号.

    ``policy`` (an import's ``WritePolicy``): a student already enrolled at ``school`` is compared
    field by field (personal fields, filled cells only) and reported as changed or unchanged, and
    updated when the policy allows. Without a policy (a form's registration) such a row is refused.
    """
    require_school_writer(actor, school)
    today = today or timezone.localdate()
    problems: list[RowProblem] = []
    for row, clean in rows:
        problems += SCHEMA.row_problems(row, clean)
    bad_rows = {p.row for p in problems}

    # Within the batch: the same ID number or 学籍号 on several rows is reported on every one of
    # them, whatever else is wrong with those rows (one person typed twice, or a wrong number).
    indexes: dict[int, str] = {}
    sealer = Sealer()
    rows_of: dict[str, list[int]] = {}
    number_rows_of: dict[str, list[int]] = {}
    for row, clean in rows:
        v = clean.values
        if v.get("id_number") and not clean.failed("id_number") and not clean.failed("id_type"):
            index = sealer.id_index(v["id_type"], v["id_number"])
            if index:
                indexes[row] = index
                rows_of.setdefault(index, []).append(row)
        if v.get("student_number") and not clean.failed("student_number"):
            number_rows_of.setdefault(v["student_number"], []).append(row)
    clean_of = dict(rows)
    for where in rows_of.values():
        for row in where if len(where) > 1 else ():
            others = "、".join(str(r) for r in where if r != row)
            problems.append(RowProblem(row, "id_number", gettext("身份证件号"), clean_of[row].values["id_number"],
                                       gettext("与第 %(others)s 行的身份证件号重复，同一学生在文件中只能出现一次") % {"others": others}))
            bad_rows.add(row)
    for number, where in number_rows_of.items():
        for row in where if len(where) > 1 else ():
            others = "、".join(str(r) for r in where if r != row)
            problems.append(RowProblem(row, "student_number", gettext("学籍号"), number, gettext("与第 %(others)s 行的学籍号重复") % {"others": others}))
            bad_rows.add(row)
    for row, _clean in rows:
        indexes.setdefault(row, "")
    existing = _existing_by_index(i for row, i in indexes.items() if row not in bad_rows)
    given_numbers = {row: c.values.get("student_number") for row, c in rows if c.values.get("student_number")}
    taken_given = _numbers_taken(given_numbers.values())
    enrolled_here: dict[int, _Existing] = {}
    holders = undocumented_holders((row, c.values) for row, c in rows if row not in bad_rows and not c.values["id_number"])
    for row, clean in rows:
        if row in bad_rows:
            continue
        v = clean.values
        known = existing.get(indexes[row])
        if known and known.active_school_id == school.pk and policy is not None:
            number = given_numbers.get(row)
            if number and number != known.student_number:
                problems.append(RowProblem(row, "student_number", gettext("学籍号"), number,
                                           gettext("该身份证件号的学生已有学籍号 %(student_number)s，学籍号终身不变") % {"student_number": known.student_number}))
                bad_rows.add(row)
            else:
                enrolled_here[row] = known
            continue
        if known and known.active_school_id is not None:
            problems.append(RowProblem(row, "id_number", gettext("身份证件号"), mask_id_number(v["id_number"]),
                                       holder_message(known.active_school_id, known.active_school_name,
                                                      school, known.student_number)))
            bad_rows.add(row)
            continue
        number = given_numbers.get(row)
        if number:
            if known and number != known.student_number:
                problems.append(RowProblem(row, "student_number", gettext("学籍号"), number,
                                           gettext("该身份证件号的学生已有学籍号 %(student_number)s，学籍号终身不变") % {"student_number": known.student_number}))
                bad_rows.add(row)
            elif not known and number in taken_given:
                problems.append(RowProblem(row, "student_number", gettext("学籍号"), number, gettext("该学籍号已被其他学生使用")))
                bad_rows.add(row)
        if row not in bad_rows and not v["id_number"] and row in holders:
            holder = holders[row]
            problems.append(RowProblem(row, "name", gettext("姓名"), v["name"], holder_message(
                holder.school_id, holder.school_name, school, holder.student_number)
                + gettext("（姓名、性别、出生日期和监护人均相同）")))
            bad_rows.add(row)

    outcomes, updates = _plan_rows(rows, bad_rows, enrolled_here, problems, policy)
    problems.sort(key=lambda p: p.row)
    if problems and not accept_valid:
        if policy is None:
            raise BatchInvalid(problems)
        raise batch_rejected(problems, outcomes)
    good = [(row, clean) for row, clean in rows if row not in bad_rows and row not in enrolled_here]
    updates = [(student, changes) for row, student, changes in updates if row not in bad_rows]
    if dry_run:
        return RegistrationResult(0, 0, [], problems, row_outcomes=outcomes)
    numbers = {row: known.student_number for row, known in enrolled_here.items() if row not in bad_rows}
    if updates:
        _write_updates(actor, school, updates, source)
    if not good:
        return RegistrationResult(0, 0, [], problems, updated=len(updates), row_outcomes=outcomes, numbers=numbers)
    try:
        with transaction.atomic():
            enrolments, created, re_enrolled = _write_registrations(
                actor, school, good, indexes, existing, source, today, numbers
            )
    except IntegrityError as exc:
        # Another session registered one of these persons a moment ago: report who holds them.
        raise _explain_conflict(good, indexes, school) from exc
    return RegistrationResult(created, re_enrolled, enrolments, problems, updated=len(updates), row_outcomes=outcomes,
                              numbers=numbers)


def _plan_rows(rows: Sequence[tuple[int, CleanStudent]], bad_rows: set[int], enrolled_here: Mapping[int, _Existing],
               problems: list[RowProblem], policy: str | None
               ) -> tuple[list[RowOutcome], list[tuple[int, Student, dict[str, Any]]]]:
    """Each checked row's effect for an import's report: a new enrolment, or the student already
    enrolled here changed (which personal fields, masked) or unchanged. One query for the batch."""
    if policy is None:
        return [], []
    students = {s.pk: s for s in Student.objects.select_for_update().filter(
        pk__in=[k.student_id for k in enrolled_here.values()])} if enrolled_here else {}
    outcomes: list[RowOutcome] = []
    updates: list[tuple[int, Student, dict[str, Any]]] = []
    for row, clean in rows:
        if row in bad_rows:
            continue
        v = clean.values
        known = enrolled_here.get(row)
        if known is None:
            # Only a refusal quotes a new row's record (reports list new rows by row number): a
            # 50,000-row file does not build 50,000 labels it never shows.
            shown = (mask_id_number(v["id_number"]) if v.get("id_number") else gettext("无证件号")) \
                if policy == WritePolicy.UPDATE_ONLY else ""
            outcome = RowOutcome(row, RowAction.CREATE, gettext("学生「%(value)s」（%(shown)s）") % {"value": v.get('name') or '', "shown": shown} if shown else "")
        else:
            student = students[known.student_id]
            after, changes = _student_changes(student, v)
            outcome = RowOutcome(row, RowAction.UPDATE if changes else RowAction.UNCHANGED,
                                 gettext("学生「%(name)s」（学籍号 %(number)s）") % {"name": student.name, "number": mask_student_number(student.student_number)}, changes)
            if changes:
                updates.append((row, after, changes))
        # "新增并更新" refuses no row: a 10,000-record API batch skips 10,000 masked labels.
        refused = None if policy == WritePolicy.CREATE_AND_UPDATE else policy_problem(
            policy, outcome, field_name="id_number", label=gettext_noop("身份证件号"),
            value=mask_id_number(v["id_number"]) if v.get("id_number") else "")
        if refused is not None:
            problems.append(refused)
            bad_rows.add(row)
        outcomes.append(outcome)
    return outcomes, updates


def _student_changes(student: Student, values: Mapping[str, Any]) -> tuple[Student, dict[str, Any]]:
    """The student as an import row would leave it — personal fields from filled cells only (an
    empty cell keeps what is recorded) — and the changes, as the history shows them (masked)."""
    after = copy.copy(student)
    for name in PERSON_FIELDS:
        if name == "id_type" or name not in values or values[name] in (None, ""):
            continue
        setattr(after, name, values[name])
    phone = values.get("phone") or ""
    if phone and (not student.phone_cipher or crypto.decrypt(student.phone_cipher) != phone):
        sealed = seal_phone(phone)
        after.phone_cipher, after.phone_masked = sealed.cipher, sealed.masked
    changes = diff_fields(student_snapshot(student), student_snapshot(after), AUDIT_LABELS)
    if after.phone_cipher != student.phone_cipher and "phone" not in changes:
        # A new number that masks like the old one is still a change.
        changes["phone"] = {"label": AUDIT_LABELS["phone"], "before": student.phone_masked, "after": after.phone_masked}
    return after, changes


def _write_updates(actor: Actor, school: Organization, updates: Sequence[tuple[Student, dict[str, Any]]],
                   source: str) -> None:
    """Students already enrolled here, changed by an import: set-based, with audit, feed and mark."""
    now = timezone.now()
    for student, _changes in updates:
        student.updated_at = now
    Student.objects.bulk_update([s for s, _c in updates], [*PERSON_FIELDS, "phone_cipher", "phone_masked", "updated_at"],
                                batch_size=1000)
    audit_many(actor=actor, action=AuditAction.UPDATE, object_type="students.student", note=source, items=[
        (s.pk, f"{s.name}（{s.student_number}）", changes, school.region_path, school.pk) for s, changes in updates])
    feed_many("student", [(s.student_number, school.region_path, school.pk) for s, _c in updates])


def _explain_conflict(rows: Sequence[tuple[int, CleanStudent]], indexes: Mapping[int, str], school: Organization
                      ) -> BatchInvalid:
    existing = _existing_by_index(indexes.values())
    problems = []
    for row, clean in rows:
        known = existing.get(indexes.get(row, ""))
        if known and known.active_school_id is not None:
            problems.append(RowProblem(row, "id_number", gettext("身份证件号"), mask_id_number(clean.values["id_number"]),
                                       holder_message(known.active_school_id, known.active_school_name, school,
                                                      known.student_number)))
    return BatchInvalid(problems or [RowProblem(0, "", "", "", gettext("数据已被他人同时修改，请重新提交"))])


_GUARDIAN_FIELDS = tuple((f"guardian{n}_name", f"guardian{n}_phone", f"guardian{n}_relation") for n in (1, 2))
# json.dumps with non-default options builds a new encoder per call; a batch encodes 50,000 lists.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def _guardians(v: Mapping[str, Any], sealer: Sealer) -> list[dict[str, Any]]:
    out = []
    for name_field, phone_field, relation_field in _GUARDIAN_FIELDS:
        name = v.get(name_field) or ""
        phone = v.get(phone_field) or ""
        if name or phone:
            sealed = sealer.phone(phone)
            out.append({"name": name, "relation": v.get(relation_field) or "",
                        "phone_cipher": sealed.cipher, "phone_masked": sealed.masked})
    return out


def _classes_for(school: Organization, year: int, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Class ids by (grade, number) for the school year, opening the classes a batch names."""
    have = {
        (g, n): pk
        for pk, g, n in SchoolClass.objects.filter(school=school, school_year=year).values_list("id", "grade", "number")
    }
    missing = [
        SchoolClass(school=school, region_path=school.region_path, school_year=year, grade=g, number=n,
                    name=f"{grade_name(g)}（{n}）班")
        for g, n in sorted(wanted - set(have))
    ]
    if missing:
        # Two batches of one school may open the same class at the same moment (two API requests):
        # the second waits for the first to commit and then takes its class, read back below, rather
        # than failing on the unique class number.
        SchoolClass.objects.bulk_create(missing, ignore_conflicts=True)
        have.update({(c.grade, c.number): c.pk for c in SchoolClass.objects.filter(
            school=school, school_year=year, grade__in={g for g, _ in wanted})})
    return have


STUDENT_COLUMNS_WRITTEN = (
    "student_number", "id_number_cipher", "id_number_index", "id_number_masked", "phone_cipher",
    "phone_masked", "guardians", "school", "region_path", "created_at", "updated_at", *PERSON_FIELDS,
)
ENROLMENT_COLUMNS_WRITTEN = (
    "student", "school", "region_path", "stage", "grade", "school_class", "status", "is_active", "entered_on",
    "entry_mode", "left_on", "major", "programme_length", "level", "repeat_next_promotion", "created_at",
    "updated_at",
)


# A registration of more rows than this leaves its school's roll-up refresh to the background
# worker instead of recomputing the school before the request answers: a 10,000-record batch
# (an API request, a file) recomputes a school of thousands of pupils, 0.2–0.5 s the client
# would wait for; the worker does it a moment later, beside the next request. Smaller writes (a
# form, a few rows) refresh right after their commit, so the figures a clerk looks at next are
# current.
REFRESH_INLINE_ROWS = 2_000


def _write_registrations(actor: Actor, school: Organization, rows: Sequence[tuple[int, CleanStudent]],
                         indexes: Mapping[int, str], existing: Mapping[str, _Existing], source: str,
                         today: dt.date, numbers_out: dict[int, str]) -> tuple[list[int], int, int]:
    """Write the registrations of ``rows``; ``numbers_out`` receives each row's 学籍号."""
    hold_unit(school)  # the path copied below stays the school's until commit (a move waits)
    now = timezone.now()
    year = current_school_year(today)
    class_ids = _classes_for(school, year, {
        (c.values["grade"], c.values["class_number"]) for _, c in rows if c.values.get("class_number")
    })
    region6 = school.region_path.strip("/").split("/")[-1][:6].ljust(6, "0")
    g_candidates = {"G" + c.values["id_number"] for _, c in rows if c.values["id_type"] == "1" and c.values["id_number"]}
    taken = _numbers_taken(g_candidates)
    issued: set[str] = set()

    def is_taken(number: str) -> bool:
        if number in issued or number in taken:
            return True
        return number.startswith("L") and bool(_numbers_taken([number]))

    # Persons: reuse those already in the register, create the others.
    new_rows: list[tuple[int, CleanStudent, str]] = []
    known_of_row: dict[int, _Existing] = {}
    for row, clean in rows:
        known = existing.get(indexes[row])
        if known:
            known_of_row[row] = known
            continue
        v = clean.values
        number = v.get("student_number") or issue_student_number(
            id_type=v["id_type"], id_number=v["id_number"], region_code=region6, birth_date=v["birth_date"],
            is_taken=is_taken,
        )
        issued.add(number)
        new_rows.append((row, clean, number))
    sealer = Sealer()
    student_ids = reserve_ids(Student, len(new_rows)) if is_postgresql() else None
    masked_of_row: dict[int, str] = {}  # for the audit entries

    def person_rows() -> Iterator[tuple]:
        # A generator: on PostgreSQL the rows are sealed while COPY sends them, so the server
        # stores one part of the batch while Python encrypts the next.
        school_id, path, person_fields = school.pk, school.region_path, itemgetter(*PERSON_FIELDS)
        for row, clean, number in new_rows:
            v = clean.values
            sealed = sealer.id_number(v["id_type"], v["id_number"], index=indexes[row])
            phone = sealer.phone(v.get("phone") or "")
            masked_of_row[row] = sealed.masked
            yield (
                number, sealed.cipher, sealed.index, sealed.masked, phone.cipher, phone.masked,
                _encode_json(_guardians(v, sealer)), school_id, path, now, now, *person_fields(v),
            )

    numbers = [n for _, _, n in new_rows]
    if known_of_row:
        Student.objects.filter(id__in=[k.student_id for k in known_of_row.values()]).update(
            school=school, region_path=school.region_path, updated_at=now
        )
    number_of_row = {row: number for row, _, number in new_rows}
    numbers_out.update(number_of_row)
    numbers_out.update((row, known.student_number) for row, known in known_of_row.items())
    school_id, path, studying = school.pk, school.region_path, EnrolmentStatus.STUDYING.value

    def enrolments_of(id_of_number: Mapping[str, int]) -> tuple[list[int], list[tuple]]:
        student_of_row: list[int] = []
        enrolment_rows = []
        for row, clean in rows:
            v = clean.values
            known = known_of_row.get(row)
            student_id = known.student_id if known else id_of_number[number_of_row[row]]
            student_of_row.append(student_id)
            grade = BY_CODE[v["grade"]]
            class_number = v.get("class_number")
            class_id = class_ids.get((grade.code, class_number)) if class_number else None
            enrolment_rows.append((
                student_id, school_id, path, int(grade.stage), grade.code, class_id, studying, True, v["entered_on"],
                v.get("entry_mode") or "", None, v.get("major") or "", v.get("programme_length"), v.get("level") or "",
                False, now, now,
            ))
        return student_of_row, enrolment_rows

    trace = _Trace(actor, school, source, now, known_of_row)  # what it reads, read before the COPY
    if student_ids is not None:
        # PostgreSQL: every key is known before the first row is sent, so the enrolments and the
        # trace are laid out while the server is still storing the students (their indexes are the
        # slowest part of the batch); the connection is busy meanwhile, so nothing here queries.
        enrolment_ids = reserve_ids(Enrolment, len(rows))
        prepared: list = []

        def prepare() -> None:
            student_of_row, enrolment_rows = enrolments_of(dict(zip(numbers, student_ids, strict=True)))
            prepared.extend((student_of_row, enrolment_rows, trace.rows(
                rows, enrolment_ids, student_of_row, number_of_row, masked_of_row)))

        _insert_keyed(Student, STUDENT_COLUMNS_WRITTEN, person_rows(), student_ids, meanwhile=prepare)
        student_of_row, enrolment_rows, trace_rows = prepared
        _insert_keyed(Enrolment, ENROLMENT_COLUMNS_WRITTEN, enrolment_rows, enrolment_ids)
    else:  # SQLite: the database assigns the keys; read back by natural key
        _insert_keyed(Student, STUDENT_COLUMNS_WRITTEN, person_rows(), None)
        student_of_row, enrolment_rows = enrolments_of(dict(
            select_in("SELECT student_number, id FROM students_student WHERE student_number IN %s", numbers)))
        _insert_keyed(Enrolment, ENROLMENT_COLUMNS_WRITTEN, enrolment_rows, None)
        # Each new registration is its student's only active one.
        active = dict(select_in("SELECT student_id, id FROM students_enrolment WHERE is_active AND student_id IN %s",
                                 student_of_row))
        enrolment_ids = [active[sid] for sid in student_of_row]
        trace_rows = trace.rows(rows, enrolment_ids, student_of_row, number_of_row, masked_of_row)
    trace.write(trace_rows)
    mark_schools_dirty([school.pk], by_worker=len(rows) > REFRESH_INLINE_ROWS)
    return enrolment_ids, len(new_rows), len(known_of_row)


def _insert_keyed(model: type, columns: Sequence[str], rows: Iterable[tuple], ids: list[int] | None, *,
                  meanwhile: Callable[[], None] | None = None) -> None:
    """Insert rows, with the keys reserved for them on PostgreSQL (so that COPY can write children
    that point at them); on SQLite (``ids`` None) the database assigns them and the caller reads
    them back by a natural key. ``meanwhile``: see ``insert_rows``."""
    if ids is None:
        insert_rows(model, columns, rows, meanwhile=meanwhile)
    else:
        insert_rows(model, ("id", *columns), ((pk, *r) for pk, r in zip(ids, rows, strict=True)), meanwhile=meanwhile)


AUDIT_COLUMNS_WRITTEN = (
    "occurred_at", "actor_id", "actor_name", "actor_org_id", "actor_org_name", "client_ip", "action", "object_type",
    "object_id", "object_label", "changes", "region_path", "school_id", "note",
)
EVENT_COLUMNS_WRITTEN = (
    "student", "enrolment", "kind", "occurred_on", "reason", "attachments", "detail", "school", "region_path",
    "recorded_by", "recorded_at",
)
FEED_COLUMNS_WRITTEN = ("occurred_at", "resource", "natural_key", "operation", "region_path", "school_id")
_CREATED_FIELDS = ("name", "gender", "birth_date", "id_number", "student_number", "ethnicity", "grade", "school",
                   "status")


class _Trace:
    """The 入学 events, audit entries and change-feed entries of a registration batch, one of each
    per enrolment in row order, written like the rows themselves (COPY on PostgreSQL).

    Made in two steps: the constructor reads what the entries need from the database (re-enrolled
    students as the register holds them, the ethnicity names); ``rows`` then lays the entries out
    without a query, so that it can run while a COPY holds the connection.

    A new student's audit entry shows the values just registered; a re-enrolled one's shows the
    record as the register holds it. The ``changes`` document is filled into a template made once
    per batch (its labels and the school are the same in every entry)."""

    def __init__(self, actor: Actor, school: Organization, source: str, now: dt.datetime,
                 known_of_row: Mapping[int, _Existing]) -> None:
        self.actor, self.school, self.source, self.now, self.known_of_row = actor, school, source, now, known_of_row
        self.ethnicities = codebook.codes_of("ethnicity")
        self.persons = {sid: (name, gender, birth, masked, number, ethnicity) for sid, name, gender, birth, masked,
                        number, ethnicity in Student.objects.filter(
                            id__in=[k.student_id for k in known_of_row.values()]).values_list(
                            "id", "name", "gender", "birth_date", "id_number_masked", "student_number", "ethnicity")}
        self.org_id, self.org_name = actor.audit_org()
        self.actor_name, self.ip = actor.audit_name(), current_client_ip()

    def rows(self, rows: Sequence[tuple[int, CleanStudent]], enrolment_ids: Sequence[int],
             student_ids: Sequence[int], number_of_row: Mapping[int, str], masked_of_row: Mapping[int, str]
             ) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """(audit entries, events, feed entries) as rows of their tables' written columns."""
        encode = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (C implementation)
        template = "{" + ", ".join(
            f'"{k}": {{"label": {encode(AUDIT_LABELS.get(k, k)).replace("%", "%%")}, "before": null, "after": %s}}'
            for k in _CREATED_FIELDS
        ) + "}"
        school, now, known_of_row, persons = self.school, self.now, self.known_of_row, self.persons
        school_text, status_text = encode(school.name), encode(str(EnrolmentStatus.STUDYING.label))
        actor_id, actor_name, org_id, org_name, ip = self.actor.pk, self.actor_name, self.org_id, self.org_name, self.ip
        school_id, path, reason, note = school.pk, school.region_path, self.source[:200], self.source[:500]
        enrol, create = EventKind.ENROL.value, AuditAction.CREATE.value
        # The JSON texts of the few values every batch repeats (grades, sexes, ethnicities, birth dates).
        grade_json = {code: ('{"grade": ' + encode(code) + "}", encode(grade.name)) for code, grade in BY_CODE.items()}
        gender_json = {code: encode(name) for code, name in {"1": "男", "2": "女"}.items()}
        ethnicity_json = {code: encode(name) for code, name in self.ethnicities.items()}
        date_json: dict[dt.date, str] = {}
        audit, events, feed = [], [], []
        for (row, clean), enrolment_id, student_id in zip(rows, enrolment_ids, student_ids, strict=True):
            v = clean.values
            grade = v["grade"]
            detail, grade_text = grade_json.get(grade) or ('{"grade": ' + encode(grade) + "}", encode(grade))
            events.append((student_id, enrolment_id, enrol, v["entered_on"], reason, "", detail, school_id, path,
                           actor_name, now))
            if row in known_of_row:
                name, gender, birth, masked, number, ethnicity = persons[student_id]
            else:
                name, gender, birth, masked, number, ethnicity = (
                    v["name"], v["gender"], v["birth_date"], masked_of_row[row], number_of_row[row], v["ethnicity"])
            feed.append((now, "student", number, "upsert", path, school_id))
            birth_text = date_json.get(birth)
            if birth_text is None:
                birth_text = date_json[birth] = encode(birth.isoformat())
            changes = template % (
                encode(name), gender_json.get(gender) or encode(gender), birth_text, encode(masked), encode(number),
                ethnicity_json.get(ethnicity) or encode(ethnicity), grade_text, school_text, status_text,
            )
            audit.append((now, actor_id, actor_name, org_id, org_name, ip, create, "students.student", str(student_id),
                          f"{name}（{number}）", changes, path, school_id, note))
        return audit, events, feed

    @staticmethod
    def write(trace_rows: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
        audit, events, feed = trace_rows
        insert_rows(AuditEntry, AUDIT_COLUMNS_WRITTEN, audit)
        insert_rows(StudentEvent, EVENT_COLUMNS_WRITTEN, events)
        insert_rows(ChangeFeedEntry, FEED_COLUMNS_WRITTEN, feed)


def enrol_student(*, actor: Actor, school: Organization, data: Mapping[str, Any], today: dt.date | None = None
                  ) -> Enrolment:
    """Register one student from a form: the same checks and writes as a one-row import."""
    today = today or timezone.localdate()
    clean = clean_student(data, stage_mask=school.stage_mask, today=today)
    try:
        result = register_students(actor=actor, school=school, rows=[(1, clean)], accept_valid=False,
                                   source="逐条录入", today=today)
    except BatchInvalid as exc:
        raise RecordInvalid(
            gettext("学生「%(value)s」") % {"value": clean.values.get('name') or data.get('name') or ''},
            [FieldProblem(p.field, "student.invalid", p.message, p.label) for p in exc.problems],
        ) from exc
    return Enrolment.objects.select_related("student", "school").get(pk=result.enrolment_ids[0])


# --------------------------------------------------------------------------------------------
# Edits and identity


def student_snapshot(student: Student) -> dict[str, Any]:
    snap = {f: getattr(student, f) for f in PERSON_FIELDS}
    snap["id_number"] = student.id_number_masked
    snap["phone"] = student.phone_masked
    return snap


def _require_student_writer(actor: Actor, student: Student) -> Enrolment | None:
    active = Enrolment.objects.filter(student=student, is_active=True).select_related("school").first()
    school = active.school if active else student.school
    require_school_writer(actor, school)
    return active


@transaction.atomic
def update_student(*, actor: Actor, student: Student, data: Mapping[str, Any], today: dt.date | None = None) -> Student:
    """Edit a student's personal fields (not the 学籍号; an ID number change goes through
    ``correct_id_number`` so that it is recorded as such)."""
    _require_student_writer(actor, student)
    student = Student.objects.select_for_update().get(pk=student.pk)
    editable = [c for c in STUDENT_COLUMNS if c.field in data and (c.field in PERSON_FIELDS or c.field == "phone")
                and c.field != "id_type"]
    clean = clean_fields(data, editable)
    if student.id_number_cipher and ("gender" in clean.values or "birth_date" in clean.values):
        check_edit_against_id(clean, id_type=student.id_type, id_number=crypto.decrypt(student.id_number_cipher))
    problems = [FieldProblem(f, "student.invalid", m, FIELD_LABELS.get(f, f)) for f, _v, m in clean.problems]
    if clean.values.get("birth_date") and not dt.date(1950, 1, 1) <= clean.values["birth_date"] <= (
            today or timezone.localdate()):
        problems.append(FieldProblem("birth_date", "student.birth_date", gettext("出生日期不合理"), gettext("出生日期")))
    if problems:
        raise RecordInvalid(gettext("学生「%(name)s」") % {"name": student.name}, problems)
    before = student_snapshot(student)
    for col in editable:
        if col.field in PERSON_FIELDS:
            setattr(student, col.field, clean.values[col.field])
    if "phone" in data:
        phone = seal_phone(clean.values.get("phone") or "")
        student.phone_cipher, student.phone_masked = phone.cipher, phone.masked
    changes = diff_fields(before, student_snapshot(student), AUDIT_LABELS)
    if not changes:
        return student
    student.updated_at = timezone.now()
    student.save()
    _trace(actor, student, AuditAction.UPDATE, changes)
    _recheck_quality(student)
    return student


def _recheck_quality(student: Student) -> None:
    """After the commit, the record's quality rules run again: a fixed record closes its issue."""
    from eduplatform.quality.issues import schedule_recheck

    schedule_recheck("students.student", [student.pk])


def _trace(actor: Actor, student: Student, action: str, changes: Mapping[str, Any], note: str = "",
           school: Organization | None = None, previous_number: str | None = None) -> None:
    school = school or student.school
    record_change(
        actor=actor, action=action, object_type="students.student", object_id=student.pk,
        object_label=f"{student.name}（{student.student_number}）", changes=changes,
        region_path=school.region_path, school_id=school.pk, feed_resource="student",
        feed_key=student.student_number, feed_previous_key=previous_number, note=note,
    )


@transaction.atomic
def correct_id_number(*, actor: Actor, student: Student, id_type: str, id_number: str, reason: str) -> Student:
    """Correct an ID number (e.g. after a household-registration correction). The 学籍号 stays."""
    _require_student_writer(actor, student)
    student = Student.objects.select_for_update().get(pk=student.pk)
    number = normalize_id_number(id_number)
    problems = []
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", gettext("请填写更正原因"), gettext("原因")))
    if id_type == "1":
        try:
            number = validate_id_number(number)
        except IdentifierError as exc:
            problems.append(FieldProblem("id_number", exc.code, gettext("身份证件号无效：%(message)s") % {"message": exc.message}, gettext("身份证件号")))
    if not number and id_type != "Z":
        problems.append(FieldProblem("id_number", "required", gettext("身份证件号为必填项"), gettext("身份证件号")))
    sealed = seal_id_number(id_type, number)
    other = (Student.objects.filter(id_number_index=sealed.index).exclude(pk=student.pk).select_related("school")
             .first() if sealed.index else None)
    if other is not None:
        problems.append(FieldProblem("id_number", "student.duplicate",
                                     gettext("该身份证件号已属于学生 %(student_number)s（%(name)s）") % {"student_number": other.student_number, "name": other.school.name}, gettext("身份证件号")))
    if problems:
        raise RecordInvalid(gettext("学生「%(name)s」") % {"name": student.name}, problems)
    before = {"id_type": student.id_type, "id_number": student.id_number_masked}
    student.id_type = id_type
    student.id_number_cipher, student.id_number_index, student.id_number_masked = sealed.cipher, sealed.index, sealed.masked
    student.updated_at = timezone.now()
    student.save()
    _trace(actor, student, AuditAction.UPDATE,
           diff_fields(before, {"id_type": id_type, "id_number": sealed.masked}, AUDIT_LABELS), note=reason)
    _recheck_quality(student)
    return student


@transaction.atomic
def replace_temporary_number(*, actor: Actor, student: Student, on: dt.date | None = None) -> Student:
    """L → G: once a temporary-numbered student has a verified resident ID, issue the formal number.
    The old number is retired (never issued again) and the change is an event, not a new person."""
    _require_student_writer(actor, student)
    student = Student.objects.select_for_update().get(pk=student.pk)
    problems = []
    if not student.student_number.startswith("L"):
        problems.append(FieldProblem("student_number", "student.not_temporary", gettext("只有临时学籍号（L开头）可以换发"), gettext("学籍号")))
    elif student.id_type != "1" or not student.id_number_cipher:
        problems.append(FieldProblem("id_number", "student.no_id", gettext("须先登记有效的居民身份证号才能换发正式学籍号"), gettext("身份证件号")))
    if problems:
        raise RecordInvalid(gettext("学生「%(name)s」") % {"name": student.name}, problems)
    new_number = "G" + crypto.decrypt(student.id_number_cipher)
    if _numbers_taken([new_number]):
        raise RecordInvalid(gettext("学生「%(name)s」") % {"name": student.name}, [FieldProblem(
            "student_number", "student.number_taken", gettext("正式学籍号 %(value)s… 已被其他学生使用，请核查身份证件号") % {"value": new_number[:7]}, gettext("学籍号"))])
    old = student.student_number
    RetiredStudentNumber.objects.create(number=old, student=student)
    student.student_number = new_number
    student.updated_at = timezone.now()
    student.save()
    active = Enrolment.objects.filter(student=student, is_active=True).first()
    StudentEvent.objects.create(
        student=student, enrolment=active, kind=EventKind.NUMBER_CHANGE, occurred_on=on or timezone.localdate(),
        reason="临时学籍号换发正式学籍号", detail={"from": old, "to": new_number}, school=student.school,
        region_path=student.region_path, recorded_by=actor.audit_name(),
    )
    # The feed names the retired number on the new one's entry and announces its deletion, so
    # systems keyed on it can follow the change.
    _trace(actor, student, AuditAction.UPDATE,
           {"student_number": {"label": "学籍号", "before": old, "after": new_number}}, note="L → G",
           previous_number=old)
    return student


def reveal_identifiers(*, actor: Actor, student: Student) -> dict[str, str]:
    """The full ID number and phones, for roles allowed to see them; every view is audited."""
    if not actor.can(VIEW_SENSITIVE):
        raise NotPermitted(gettext("您的角色无权查看完整的身份证件号和电话"))
    record_event(actor=actor, action=AuditAction.VIEW_SENSITIVE, object_type="students.student",
                 object_id=student.pk, object_label=f"{student.name}（{student.student_number}）",
                 region_path=student.region_path, note="查看完整身份证件号和联系电话")
    return {
        "id_number": crypto.decrypt(student.id_number_cipher),
        "phone": crypto.decrypt(student.phone_cipher),
        "guardian_phones": "、".join(
            f"{g.get('name', '')} {crypto.decrypt(g.get('phone_cipher', ''))}" for g in student.guardians or []
        ),
    }


# --------------------------------------------------------------------------------------------
# Events without approval


EVENT_RESULT: dict[str, tuple[EnrolmentStatus | None, bool]] = {
    EventKind.SUSPEND: (EnrolmentStatus.SUSPENDED, True),
    EventKind.RESUME: (EnrolmentStatus.STUDYING, True),
    EventKind.DEATH: (EnrolmentStatus.DECEASED, False),
    EventKind.GRADUATE: (EnrolmentStatus.GRADUATED, False),
    EventKind.COMPLETE: (EnrolmentStatus.COMPLETED, False),
    EventKind.DROP_OUT: (EnrolmentStatus.DROPPED_OUT, False),
    EventKind.REPEAT: (None, True),
    EventKind.SKIP: (None, True),
}
ALLOWED_FROM: dict[str, set[str]] = {
    EventKind.SUSPEND: {EnrolmentStatus.STUDYING},
    EventKind.RESUME: {EnrolmentStatus.SUSPENDED},
    EventKind.DEATH: set(ACTIVE_STATUSES),
    EventKind.GRADUATE: {EnrolmentStatus.STUDYING},
    EventKind.COMPLETE: {EnrolmentStatus.STUDYING},
    EventKind.DROP_OUT: set(ACTIVE_STATUSES),
    EventKind.REPEAT: {EnrolmentStatus.STUDYING, EnrolmentStatus.SUSPENDED},
    EventKind.SKIP: {EnrolmentStatus.STUDYING},
}


def apply_event(
    *, actor: Actor, enrolment: Enrolment, kind: str, on: dt.date, reason: str, attachments: str = "",
    request: Any = None, _approved: bool = False,
) -> StudentEvent:
    """Record a status event on an active registration (休学, 复学, 死亡, 毕业, 结业, 留级, 跳级, 退学)."""
    with transaction.atomic():
        if not _approved:
            require_school_writer(actor, enrolment.school)
        enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("student", "school").get(pk=enrolment.pk)
        label = EventKind(kind).label
        problems = []
        if kind not in EVENT_RESULT:
            problems.append(FieldProblem("kind", "event.unknown", gettext("不支持的学籍事件：%(kind)s") % {"kind": kind}, gettext("事件")))
        elif enrolment.status not in ALLOWED_FROM[kind]:
            problems.append(FieldProblem("kind", "event.not_allowed",
                                         gettext("学籍状态为「%(status)s」时不能办理%(label)s") % {"status": enrolment.get_status_display(), "label": label}, gettext("事件")))
        if not reason.strip():
            problems.append(FieldProblem("reason", "required", gettext("请填写%(label)s原因") % {"label": label}, gettext("原因")))
        if on > timezone.localdate() + dt.timedelta(days=366):
            problems.append(FieldProblem("on", "event.date", gettext("日期不能晚于一年以后"), gettext("日期")))
        if kind == EventKind.DROP_OUT and not _approved and needs_county_approval(enrolment, on):
            problems.append(FieldProblem("kind", "event.needs_approval",
                                         gettext("义务教育阶段适龄学生退学须经县级教育行政部门审批（控辍保学），请提交退学申请"), gettext("事件")))
        if kind == EventKind.SKIP and not BY_CODE[enrolment.grade].next_code:
            problems.append(FieldProblem("kind", "event.not_allowed", gettext("最高年级不能跳级"), gettext("事件")))
        if problems:
            raise RecordInvalid(gettext("学生「%(name)s」") % {"name": enrolment.student.name}, problems)
        status, stays_active = EVENT_RESULT[kind]
        before = {"status": enrolment.get_status_display(), "grade": grade_name(enrolment.grade),
                  "repeat_next_promotion": enrolment.repeat_next_promotion}
        detail: dict[str, Any] = {}
        if status is not None:
            detail["status"] = [enrolment.status, str(status.value)]
            enrolment.status = status
        enrolment.is_active = stays_active
        if not stays_active:
            enrolment.left_on = on
        if kind == EventKind.REPEAT:
            enrolment.repeat_next_promotion = True
        if kind == EventKind.SKIP:
            nxt = BY_CODE[enrolment.grade].next_code
            detail["grade"] = [enrolment.grade, nxt]
            enrolment.grade = nxt
            enrolment.school_class = None
        enrolment.updated_at = timezone.now()
        enrolment.save()
        event = StudentEvent.objects.create(
            student=enrolment.student, enrolment=enrolment, kind=kind, occurred_on=on, reason=reason,
            attachments=attachments, detail=detail, school=enrolment.school, region_path=enrolment.region_path,
            request=request, recorded_by=actor.audit_name(),
        )
        after = {"status": enrolment.get_status_display(), "grade": grade_name(enrolment.grade),
                 "repeat_next_promotion": enrolment.repeat_next_promotion}
        _trace(actor, enrolment.student, AuditAction.UPDATE,
               diff_fields(before, after, {**AUDIT_LABELS, "repeat_next_promotion": "下次升级时留级"}),
               note=f"{label}：{reason}", school=enrolment.school)
        return event


COMPULSORY_STAGES = {2, 4, 64}  # 小学, 初中, 特殊教育


def needs_county_approval(enrolment: Enrolment, on: dt.date) -> bool:
    """控辍保学: a compulsory-stage student under 16 may leave school only with county approval."""
    birth = enrolment.student.birth_date
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return enrolment.stage in COMPULSORY_STAGES and age < 16


# --------------------------------------------------------------------------------------------
# Classes


@transaction.atomic
@transaction.atomic
def create_class(*, actor: Actor, school: Organization, school_year: int, grade: str, number: int,
                 head_teacher: str = "", class_type: str = "10") -> SchoolClass:
    require_school_writer(actor, school)
    problems = []
    g = BY_CODE.get(grade)
    if g is None or not school.stage_mask & g.stage:
        problems.append(FieldProblem("grade", "class.grade", gettext("本校不设该年级"), gettext("年级")))
    if not 1 <= number <= 99:
        problems.append(FieldProblem("number", "class.number", gettext("班号应在 1 到 99 之间"), gettext("班号")))
    if SchoolClass.objects.filter(school=school, school_year=school_year, grade=grade, number=number).exists():
        problems.append(FieldProblem("number", "class.duplicate", gettext("%(grade_name)s（%(number)s）班已存在") % {"grade_name": grade_name(grade), "number": number}, gettext("班号")))
    if problems:
        raise RecordInvalid(gettext("班级"), problems)
    hold_unit(school)
    with unique_or_invalid(gettext("班级"), field="number", label=gettext("班号"), code="class.duplicate",
                           message=gettext("%(name)s %(school_year)s学年 %(grade_name)s（%(number)s）班已存在（刚由另一位用户建立）") % {"name": school.name, "school_year": school_year, "grade_name": grade_name(grade), "number": number}):
        klass = SchoolClass.objects.create(school=school, region_path=school.region_path, school_year=school_year,
                                           grade=grade, number=number, name=f"{grade_name(grade)}（{number}）班",
                                           head_teacher=head_teacher, class_type=class_type)
    record_change(actor=actor, action=AuditAction.CREATE, object_type="students.class", object_id=klass.pk,
                  object_label=f"{school.name} {school_year}学年 {klass.name}",
                  changes={"head_teacher": {"label": "班主任", "before": None, "after": head_teacher}},
                  region_path=school.region_path, school_id=school.pk, feed_resource="class",
                  feed_key=f"{school.school_code}-{school_year}-{grade}-{number}")
    return klass


@transaction.atomic
def assign_class(*, actor: Actor, enrolment: Enrolment, school_class: SchoolClass | None) -> Enrolment:
    require_school_writer(actor, enrolment.school)
    enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("student", "school").get(pk=enrolment.pk)
    if school_class is not None and (school_class.school_id != enrolment.school_id or school_class.grade != enrolment.grade):
        raise RecordInvalid(gettext("分班"), [FieldProblem("school_class", "class.mismatch", gettext("只能分到本校同年级的班级"), gettext("班级"))])
    before = str(enrolment.school_class) if enrolment.school_class_id else ""
    enrolment.school_class = school_class
    enrolment.updated_at = timezone.now()
    enrolment.save()
    _trace(actor, enrolment.student, AuditAction.UPDATE,
           {"class": {"label": "班级", "before": before, "after": str(school_class) if school_class else ""}},
           school=enrolment.school)
    return enrolment
