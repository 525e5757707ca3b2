"""Identity rules: ID numbers that fail their own check, disagree with the record, or name a person
already registered elsewhere (one person in two schools, a pupil who is also on a staff list, a
学籍号 issued twice).

ID numbers are stored encrypted (``core.crypto``): the check digit, the encoded birth date and sex
can only be judged on the clear text, so those rules decrypt the ciphertexts of the scope's active
records in batches, in memory, and report only the masked number. Sameness is judged on the blind
index (``core.identity``: students and staff share it) or, for people without an ID number, on
name + sex + birth date through the ``undocumented_name_birth_sex`` partial index.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from eduplatform.core import crypto
from eduplatform.core.identity import RESIDENT_ID_CARD, Sealer
from eduplatform.core.rows import CleanRow, check_against_resident_id
from eduplatform.orgs.stages import Stage
from eduplatform.quality import rules
from eduplatform.quality.checks.base import (
    CHUNK,
    PUPIL_CLEAR_ID,
    PUPIL_ID,
    PUPIL_NUMBER,
    PUPIL_SCHOOL,
    STAFF,
    STUDENT,
    School,
    all_schools,
    as_date,
    cached,
    chunks,
    clustered_scope_sql,
    fetch,
    finding,
    in_scope,
    scope_pupils,
    sql_scope,
    staff_label,
    stream,
    student_label,
    units,
)
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.staff.models import StaffMember
from eduplatform.standards.validators import (
    IdentifierError,
    is_valid_id_number,
    mask_id_number,
    validate_id_number,
)
from eduplatform.students.models import Enrolment, Student

# A pupil of these stages cannot also hold a post (higher and vocational students may: 助教, 实习).
BASIC_STAGES = (int(Stage.PRESCHOOL), int(Stage.PRIMARY), int(Stage.JUNIOR), int(Stage.SENIOR), int(Stage.SPECIAL))
DECRYPT_BATCH = 2000

# --------------------------------------------------------------------------------------------
# The clear ID numbers of a scope's active people, decrypted in batches


def _students_scan(scope: ScanScope) -> Iterator[tuple]:
    """The scope's pupils holding a resident ID card, from the scan's one read of its pupils
    (``scope_pupils``: the first five members are the ID rules' row)."""
    return (row for row in scope_pupils(scope) if row[PUPIL_CLEAR_ID] is not None)


def _staff_scan(scope: ScanScope) -> list[tuple]:
    return cached(("staff_with_id", scope), lambda: _staff_with_id(scope))


# Rows of the ID rules: (id, unit id, sex, birth date, clear ID number), and for students the 学籍号
# (S_NUMBER_REUSED compares it with the ID number). Only what the checks judge:
# a county's 800,000 pupils are read and decrypted for two rules that find a handful, so the names
# and numbers a finding shows are read afterwards for those few (``_People.labels``).


def _students_with_id(ids: Sequence[int]) -> Iterator[tuple]:
    """Active students among ``ids`` holding a resident ID card (a scan reads ``scope_pupils``)."""
    opened = crypto.Cipher().decrypt
    base = Enrolment.objects.filter(is_active=True, student__id_type=RESIDENT_ID_CARD).exclude(
        student__id_number_cipher="")
    fields = ("student_id", "school_id", "student__gender", "student__birth_date", "student__id_number_cipher",
              "student__student_number")
    for qs in (base.filter(student_id__in=p) for p in chunks(ids)):
        for sid, school_id, sex, birth, cipher, number in qs.values_list(*fields).iterator(chunk_size=DECRYPT_BATCH):
            yield sid, school_id, sex, birth, opened(cipher), number


def _staff_with_id(scope: ScanScope | None, ids: Sequence[int] = ()) -> Iterator[tuple]:
    fields = ("pk", "unit_id", "gender", "birth_date", "id_number_cipher")
    base = StaffMember.objects.filter(is_active=True, id_type=RESIDENT_ID_CARD).exclude(id_number_cipher="")
    parts = [in_scope(base, scope, school="unit_id")] if scope is not None else [
        base.filter(pk__in=p) for p in chunks(ids)]
    opened = crypto.Cipher().decrypt
    for qs in parts:
        for pk, unit_id, sex, birth, cipher in qs.values_list(*fields).iterator(chunk_size=DECRYPT_BATCH):
            yield pk, unit_id, sex, birth, opened(cipher)


@dataclass(frozen=True)
class _People:
    """Who an ID rule is about: the object type, how its findings name a person, and where the
    name, number and masked ID of the few found are read."""

    object_type: str
    who: str
    label: Callable[[str, str], str]
    model: type
    number_field: str

    def labels(self, ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
        """id → (name, label, masked ID number)."""
        out: dict[int, tuple[str, str, str]] = {}
        for part in chunks(sorted(set(ids))):
            for pk, name, number, masked in self.model.objects.filter(pk__in=part).values_list(
                    "pk", "name", self.number_field, "id_number_masked"):
                out[pk] = (name, self.label(name, number), masked)
        return out


PUPILS = _People(STUDENT, "学生", student_label, Student, "student_number")
STAFF_MEMBERS = _People(STAFF, "教职工", staff_label, StaffMember, "staff_number")


def _invalid(code: str, rows: Iterable[tuple], people: _People) -> Iterator[Finding]:
    failed = []
    today = dt.date.today().strftime("%Y%m%d")
    for oid, unit_id, _sex, _birth, clear, *_ in rows:
        if is_valid_id_number(clear, today):
            continue  # nearly every number: a boolean check, the full one only for the few that fail it
        try:
            validate_id_number(clear)
        except IdentifierError as exc:
            failed.append((oid, unit_id, clear, exc))
    if not failed:
        return
    schools, labels = units(r[1] for r in failed), people.labels(r[0] for r in failed)
    for oid, unit_id, clear, exc in failed:
        name, label, masked = labels[oid]
        masked = masked or mask_id_number(clear)
        yield finding(
            code, schools[unit_id], people.object_type, oid, label,
            f"{people.who}{name}的身份证件号「{masked}」不是有效的居民身份证号：{exc.message}。"
            "居民身份证号应为18位：前17位为数字（含有效的地址码和出生日期），第18位为按 GB 11643-1999 "
            "计算的校验码（数字或X）。请对照本人身份证更正。",
            fields=("id_number",), evidence={"id_number": masked, "problem": exc.code})


def _agrees(clear: str, sex: str, day: str | None) -> bool:
    """Whether an 18-character ID number encodes exactly this birth date (``YYYYMMDD``) and sex
    (digits 7–14 and the parity of the 17th, as ``check_against_resident_id`` reads them): a string
    comparison, so the sex and birth rule does not validate 800,000 numbers a second time to find
    the few that disagree. False sends the record through the full check."""
    if len(clear) != 18 or sex not in ("1", "2") or day is None:
        return False
    return clear[6:14] == day and (clear[16] in "13579") == (sex == "1")


def _yyyymmdd(birth) -> str | None:
    if birth is None:
        return None
    return birth[:10].replace("-", "") if isinstance(birth, str) else birth.strftime("%Y%m%d")


def _disagreeing(code: str, rows: Iterable[tuple], people: _People) -> Iterator[Finding]:
    days: dict = {}  # a county's pupils are born on a few thousand days: format each once
    found = []
    for oid, unit_id, sex, birth, clear, *_ in rows:
        day = days.get(birth)
        if day is None:
            day = days[birth] = _yyyymmdd(birth)
        if _agrees(clear, sex, day):
            continue  # nearly every record: no need to validate and compare field by field
        try:
            clear = validate_id_number(clear)
        except IdentifierError:
            continue  # the ID check's finding
        row = CleanRow(values={"birth_date": as_date(birth), "gender": sex})
        check_against_resident_id(row, clear, check_birth=True, check_gender=True)
        if row.problems:
            found.append((oid, unit_id, clear, row.problems))
    if not found:
        return
    schools, labels = units(r[1] for r in found), people.labels(r[0] for r in found)
    for oid, unit_id, clear, problems in found:
        name, label, masked = labels[oid]
        yield finding(
            code, schools[unit_id], people.object_type, oid, label,
            f"{people.who}{name}：" + "；".join(p[2] for p in problems)
            + "。性别与出生日期须与居民身份证号一致，请核对后更正记录或身份证件号。",
            fields=tuple(p[0] for p in problems),
            evidence={"id_number": masked or mask_id_number(clear), **{p[0]: p[1] for p in problems}})


STUDENT_ID_WHAT = (
    gettext_lazy("在读（含休学）学生中证件类型为居民身份证者，解密其身份证件号后按 GB 11643-1999 校验：长度、地址码、"
    "出生日期和第18位校验码。"))

S_ID_INVALID = rules.register(Rule(
    code="S_ID_INVALID", title=gettext_lazy("学生身份证件号校验不通过"),
    description=format_lazy("{}{}", STUDENT_ID_WHAT, gettext_lazy("校验不通过的号码无法用于一人一号查重和学籍号生成，须由学校对照身份证更正。")),
    severity=Severity.ERROR, database=Database.STUDENTS, fields=("id_number",), kind="identity",
    scan=lambda scope: _invalid("S_ID_INVALID", _students_scan(scope), PUPILS),
    record=lambda ids: _invalid("S_ID_INVALID", _students_with_id(ids), PUPILS),
    object_type=STUDENT, work="python",
))

S_ID_SEX_BIRTH = rules.register(Rule(
    code="S_ID_SEX_BIRTH", title=gettext_lazy("学生性别或出生日期与身份证件号不一致"),
    description=format_lazy("{}{}", STUDENT_ID_WHAT, gettext_lazy("对校验通过的号码，比较第7–14位（出生日期）和第17位（奇数为男、偶数为女）"
                "与学籍中登记的出生日期、性别。")),
    severity=Severity.ERROR, database=Database.STUDENTS, fields=("gender", "birth_date"), kind="identity",
    scan=lambda scope: _disagreeing("S_ID_SEX_BIRTH", _students_scan(scope), PUPILS),
    record=lambda ids: _disagreeing("S_ID_SEX_BIRTH", _students_with_id(ids), PUPILS),
    object_type=STUDENT, work="python",
))

STAFF_ID_WHAT = gettext_lazy("在岗教职工中证件类型为居民身份证者，解密其身份证件号后按 GB 11643-1999 校验。")

T_ID_INVALID = rules.register(Rule(
    code="T_ID_INVALID", title=gettext_lazy("教职工身份证件号校验不通过"),
    description=format_lazy("{}{}", STAFF_ID_WHAT, gettext_lazy("长度、地址码、出生日期或第18位校验码不对的号码无法用于一人一岗查重。")),
    severity=Severity.ERROR, database=Database.STAFF, fields=("id_number",), kind="identity",
    scan=lambda scope: _invalid("T_ID_INVALID", _staff_scan(scope), STAFF_MEMBERS),
    record=lambda ids: _invalid("T_ID_INVALID", _staff_with_id(None, ids), STAFF_MEMBERS),
    object_type=STAFF, work="python",
))

T_ID_SEX_BIRTH = rules.register(Rule(
    code="T_ID_SEX_BIRTH", title=gettext_lazy("教职工性别或出生日期与身份证件号不一致"),
    description=format_lazy("{}{}", STAFF_ID_WHAT, gettext_lazy("对校验通过的号码，比较其中的出生日期（第7–14位）和性别（第17位）与登记的是否一致。")),
    severity=Severity.ERROR, database=Database.STAFF, fields=("gender", "birth_date"), kind="identity",
    scan=lambda scope: _disagreeing("T_ID_SEX_BIRTH", _staff_scan(scope), STAFF_MEMBERS),
    record=lambda ids: _disagreeing("T_ID_SEX_BIRTH", _staff_with_id(None, ids), STAFF_MEMBERS),
    object_type=STAFF, work="python",
))


# --------------------------------------------------------------------------------------------
# One person in two schools (students)

_DUP_COLUMNS = ("s.id, e.school_id, s.name, s.gender, s.birth_date, s.guardians, s.student_number, "
                "s.id_number_index, s.id_number_masked")


def _whole(scope: ScanScope) -> bool:
    """The whole province (or more): no record is outside the scope."""
    return scope.school_ids is None and len(scope.region_path.rstrip("/")) <= 2


def _first_guardian(name: str | None) -> str:
    return (name or "").strip()


_GUARDIANS = re.compile(r"\b(\w+)\.guardians\b")


def _sql(text: str) -> str:
    """``x.guardians`` → the first guardian's name, read in the database (not millions of JSON
    documents decoded in Python)."""
    if connection.vendor == "postgresql":
        return _GUARDIANS.sub(r"COALESCE(\1.guardians->0->>'name', '')", text)
    return _GUARDIANS.sub(r"COALESCE(json_extract(\1.guardians, '$[0].name'), '')", text)


def _dup_groups(scope: ScanScope) -> Iterator[list[tuple]]:
    """Active students sharing name, sex and birth date with an active student without an ID number
    at another school, one list per (name, birth date, sex). Each statement on an index:

    A scope smaller than the province: ``_scoped_dup_groups``. The whole province:

    1. the keys: the (name, birth date, sex) groups of undocumented students with more than one
       member (an index-only pass over the partial index);
    2. every active undocumented student with one of those keys (the partial index), in key order,
       streamed;
    3. documented students of the scope and the undocumented students they match (row by row of the
       scope: a documented student has no index on name — see the rule's description for what this
       leaves out), few: kept in memory and added to their key's group."""
    where, params = sql_scope(scope, "s")
    if not _whole(scope):
        yield from _scoped_dup_groups(scope)
        return
    keys_sql = ("SELECT name, birth_date, gender FROM students_student WHERE id_number_index = '' "
                "GROUP BY name, birth_date, gender HAVING count(*) > 1")
    keys_params: list = []
    u_columns = _DUP_COLUMNS.replace("s.", "u.").replace("e.school_id", "ue.school_id")
    documented: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    twins_params = [_documented_twin_ids(where, params)] if connection.vendor == "postgresql" else params
    for row in fetch(_sql(_documented_twins_sql(u_columns, where)), twins_params):
        for side in (row[:9], row[9:]):
            documented[_key(side)][side[0]] = side
    group: dict[int, tuple] = {}
    current = None
    for row in stream(_sql(
            f"SELECT {_DUP_COLUMNS} FROM students_student s "  # noqa: S608
            "JOIN students_enrolment e ON e.student_id = s.id AND e.is_active "
            f"WHERE s.id_number_index = '' AND (s.name, s.birth_date, s.gender) IN ({keys_sql}) "
            "ORDER BY s.name, s.birth_date, s.gender"), keys_params):
        key = _key(row)
        if key != current:
            if group:
                yield list({**group, **documented.pop(current, {})}.values())
            group, current = {}, key
        group[row[0]] = row
    if group:
        yield list({**group, **documented.pop(current, {})}.values())
    for rest in documented.values():
        yield list(rest.values())


def _documented_twin_ids(where: str, params: Sequence) -> list[int]:
    """PostgreSQL: the ids of the documented students (of the scope) whose name, birth date and sex
    an undocumented student has — a few thousand of the register's 27 million.

    The undocumented keys (an index-only scan of the partial index, a small fraction of the
    register) are hashed and the register is read once against them, in parallel. There is no index
    on the documented students' names, on purpose (every registration would pay for it). The
    planner expects the join to keep every row, so it prices sending 27 million rows from the
    workers and reads alone (50 s instead of 17 s beside a test run on two cores):
    ``parallel_tuple_cost`` is set to 0 for this statement only."""
    sql = ("SELECT s.id FROM students_student s WHERE s.id_number_index > '' "  # noqa: S608
           f"AND {where} AND (s.name, s.birth_date, s.gender) IN "
           "(SELECT name, birth_date, gender FROM students_student WHERE id_number_index = '')")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('parallel_tuple_cost')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('parallel_tuple_cost', '0', false)")
        try:
            cursor.execute(sql, list(params))
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.execute("SELECT set_config('parallel_tuple_cost', %s, false)", [before])


def _documented_twins_sql(u_columns: str, where: str) -> str:
    """Documented students of the province sharing name, birth date and sex with an undocumented one
    (each side with its active enrolment).

    On PostgreSQL the documented ones are found first (``_documented_twin_ids``, the statement's one
    parameter); those few are then joined to their enrolments and, through the partial index, to
    their undocumented twins. Written as one join, the planner joined the whole register to its 27
    million enrolments before matching anything, or sorted it for a merge join."""
    if connection.vendor != "postgresql":
        return (f"SELECT {_DUP_COLUMNS}, {u_columns} FROM students_student s "  # noqa: S608
                "JOIN students_enrolment e ON e.student_id = s.id AND e.is_active "
                "JOIN students_student u ON u.id_number_index = '' AND u.name = s.name "
                "AND u.birth_date = s.birth_date AND u.gender = s.gender AND u.id <> s.id "
                "JOIN students_enrolment ue ON ue.student_id = u.id AND ue.is_active "
                f"WHERE s.id_number_index > '' AND {where}")
    return ("WITH documented AS MATERIALIZED (SELECT s.id, s.name, s.birth_date, s.gender "  # noqa: S608
            "FROM students_student s WHERE s.id = ANY(%s)) "
            f"SELECT {_DUP_COLUMNS}, {u_columns} FROM documented d "
            "JOIN students_student s ON s.id = d.id "
            "JOIN students_enrolment e ON e.student_id = s.id AND e.is_active "
            "JOIN students_student u ON u.id_number_index = '' AND u.name = d.name AND u.birth_date = d.birth_date "
            "AND u.gender = d.gender "
            "JOIN students_enrolment ue ON ue.student_id = u.id AND ue.is_active")


def _scoped_dup_groups(scope: ScanScope) -> Iterator[list[tuple]]:
    """The scope's active students (its region-path index) and, for each, the active undocumented
    students of other schools with the same name, birth date and sex (a probe of the partial index
    per student: on PostgreSQL a LATERAL subquery, so the planner cannot turn it into a scan of the
    whole register), grouped by key."""
    where, params = clustered_scope_sql(scope, "s")
    u_columns = _DUP_COLUMNS.replace("s.", "u.").replace("e.school_id", "ue.school_id")
    twin = ("students_student u JOIN students_enrolment ue ON ue.student_id = u.id AND ue.is_active "
            "WHERE u.id_number_index = '' AND u.name = s.name AND u.birth_date = s.birth_date "
            "AND u.gender = s.gender AND u.id <> s.id AND u.school_id <> s.school_id")
    if connection.vendor == "postgresql":
        # First the scope's pupils whose key an undocumented pupil has (a few thousand of a county's
        # 800,000): the scope's schools named one by one, so the planner knows the scope is large and
        # merges it with the partial index instead of probing that index 800,000 times (1.0 s against
        # 1.9 s for 44/4401/440103/); then, for those few, their undocumented twins elsewhere.
        u_out = ", ".join(f"u.c{i}" for i in range(9))
        u_in = ", ".join(f"{c.strip()} AS c{i}" for i, c in enumerate(u_columns.split(",")))
        sql = ("WITH candidate AS MATERIALIZED (SELECT s.id FROM students_student s "  # noqa: S608
               f"WHERE {where} AND (s.name, s.birth_date, s.gender) IN "
               "(SELECT name, birth_date, gender FROM students_student WHERE id_number_index = '')) "
               f"SELECT {_DUP_COLUMNS}, {u_out} FROM candidate c JOIN students_student s ON s.id = c.id "
               "CROSS JOIN LATERAL (SELECT e.school_id FROM students_enrolment e "
               "WHERE e.student_id = s.id AND e.is_active) e "
               f"CROSS JOIN LATERAL (SELECT {u_in} FROM {twin}) u")
    else:
        sql = (f"SELECT {_DUP_COLUMNS}, {u_columns} FROM students_student s "  # noqa: S608
               f"JOIN students_enrolment e ON e.student_id = s.id AND e.is_active JOIN {twin} AND {where}")
    groups: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    for row in fetch(_sql(sql), params):
        for side in (row[:9], row[9:]):
            groups[_key(side)][side[0]] = side
    for members in groups.values():
        yield list(members.values())


def _key(row: tuple) -> tuple:
    return (row[2], str(row[4])[:10], row[3])


def _dup_findings(scope: ScanScope) -> Iterator[Finding]:
    schools: dict[int, School] = {}
    sealer = crypto.Cipher()
    for members in _dup_groups(scope):
        if len(members) < 2:
            continue
        rows = sorted(members)
        pairs: dict[int, list[tuple]] = defaultdict(list)
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if a[1] == b[1] or (a[7] and b[7]):  # same school; or two different ID numbers
                    continue
                ga, gb = _first_guardian(a[5]), _first_guardian(b[5])
                if ga and gb and ga != gb:
                    continue
                pairs[a[0]].append(b)
                pairs[b[0]].append(a)
        if not pairs:
            continue
        if not schools:  # every school at once (tens of thousands of rows), not a query per group
            schools.update(all_schools())
        missing = {r[1] for r in rows if r[1] not in schools}
        if missing:
            schools.update(units(missing))
        by_id = {r[0]: r for r in rows}
        # One group per (name, birth date, sex), the same whatever the scope scanned, so the county
        # resolves them together; a blind index, so the key does not spell the name and birth date.
        group = "S_DUP_PERSON:" + sealer.blind_index("|".join(_key(rows[0])), "quality-duplicate")
        for sid in sorted(pairs):
            me = by_id[sid]
            school = schools[me[1]]
            if not school.region_path.startswith(scope.region_path) or (
                    scope.school_ids is not None and me[1] not in scope.school_ids):
                continue
            others = pairs[sid]
            other_text = "、".join(f"「{schools[o[1]].name}」的{student_label(o[2], o[6])}" for o in others[:3])
            guardian = ("且第一监护人姓名相同" if _first_guardian(me[5]) and any(_first_guardian(o[5]) for o in others)
                        else "")
            yield finding(
                "S_DUP_PERSON", school, STUDENT, sid, student_label(me[2], me[6]),
                f"学生{me[2]}在本校在读，同时{other_text}也在读，姓名、性别、出生日期相同{guardian}，"
                "且至少一方没有身份证件号：疑似同一人在两所学校各有一个在读学籍（一人只能有一个在读学籍）。"
                "请核实：是同一人的，由县级确认保留其中一处学籍、另一处办理转出或删除；不是同一人的，请补录身份证件号或说明。",
                fields=("name", "gender", "birth_date", "id_number"),
                evidence={"birth_date": str(me[4])[:10], "others": [
                    {"school_id": o[1], "school": schools[o[1]].name, "student": student_label(o[2], o[6])}
                    for o in others[:10]]},
                group=group)


S_DUP_PERSON = rules.register(Rule(
    code="S_DUP_PERSON", title=gettext_lazy("疑似同一学生在两校在读"),
    description=(
        gettext_lazy("一人一籍：有身份证件号的学生由唯一索引保证不重复；没有身份证件号的学生（证件类型“其他”等）则可能在两所学校"
        "各登记一次。本规则找出在不同学校在读、姓名、性别、出生日期均相同、且至少一方没有身份证件号的学生"
        "（两人都登记了第一监护人且姓名不同的，视为不同的人）。每所学校各生成一条问题；同一姓名、性别、出生日期的问题为一组（组号为盲索引，不含姓名和日期），由县级一并处理。"
        "按区域扫描时，找得到本区域内无证件号学生与任何学校无证件号学生的重复，以及本区域内有证件号学生与任何学校"
        "无证件号学生的重复；本区域无证件号学生与区域外有证件号学生的重复，由对方所在区域（或全省）扫描发现。")),
    severity=Severity.ERROR, database=Database.STUDENTS, fields=("name", "gender", "birth_date", "id_number"),
    kind="identity", scan=_dup_findings,
))


# --------------------------------------------------------------------------------------------
# One ID number on two active staff lists; one person with and without an ID card


def _staff_dup_findings(scope: ScanScope) -> Iterator[Finding]:
    where_t, params = sql_scope(scope, "t", school="unit_id")
    cols = "t.id, t.unit_id, t.name, t.staff_number, o.id, o.unit_id, o.name, o.staff_number"
    by_id = fetch(
        f"SELECT {cols}, 'id' FROM staff_staffmember t JOIN staff_staffmember o "  # noqa: S608
        "ON o.id_number_index = t.id_number_index AND o.is_active AND o.id <> t.id AND o.unit_id <> t.unit_id "
        f"WHERE t.is_active AND t.id_number_index <> '' AND {where_t}", params)
    # Two resident ID cards are two people: one side at least holds another document (few people),
    # so each statement hashes the few and reads the staff list once.
    same = ("ON o.name = t.name AND o.birth_date = t.birth_date AND o.gender = t.gender AND o.is_active "
            "AND o.id <> t.id AND o.unit_id <> t.unit_id ")
    by_name = fetch(
        f"SELECT {cols}, 'name' FROM staff_staffmember t JOIN staff_staffmember o {same}"  # noqa: S608
        f"WHERE t.is_active AND t.id_type <> '1' AND {where_t}", params)
    by_name += fetch(
        f"SELECT {cols}, 'name' FROM staff_staffmember t JOIN staff_staffmember o {same}"  # noqa: S608
        f"AND o.id_type <> '1' WHERE t.is_active AND t.id_type = '1' AND {where_t}", params)
    pairs: dict[int, list[tuple]] = defaultdict(list)
    for row in by_id + by_name:
        pairs[row[0]].append(row)
    schools = units({r[1] for rows in pairs.values() for r in rows} | {r[5] for rows in pairs.values() for r in rows})
    for sid, rows in sorted(pairs.items()):
        me = rows[0]
        unit = schools[me[1]]
        same_id = any(r[8] == "id" for r in rows)
        ids = sorted({sid, *(r[4] for r in rows)})
        others = "、".join(f"「{schools[r[5]].name}」的{staff_label(r[6], r[7])}" for r in rows[:3])
        how = "身份证件号相同" if same_id else "姓名、性别、出生日期相同且至少一方没有居民身份证号"
        yield finding(
            "T_DUP_PERSON", unit, STAFF, sid, staff_label(me[2], me[3]),
            f"教职工{me[2]}在本单位在岗，同时在{others}在岗，{how}：同一人只能在一个单位在岗（一人一岗）。"
            "请核实：调动的，由调出单位办理调出；不是同一人的，请更正身份证件号。",
            fields=("id_number",) if same_id else ("name", "gender", "birth_date", "id_number"),
            evidence={"others": [{"unit_id": r[5], "unit": schools[r[5]].name, "staff": staff_label(r[6], r[7])}
                                 for r in rows]},
            group="T_DUP_PERSON:" + "-".join(map(str, ids)))


T_DUP_PERSON = rules.register(Rule(
    code="T_DUP_PERSON", title=gettext_lazy("同一教职工在两个单位在岗"),
    description=(
        gettext_lazy("一人一岗：同一身份证件号（按盲索引比较）在两个单位同时在岗；或两个在岗记录姓名、性别、出生日期相同，"
        "且至少一方不是以居民身份证登记（护照、港澳台证件等），疑似同一人。数据库的唯一约束已阻止同一证件号"
        "两处在岗，本规则兜底检查约束建立前导入的数据，并发现证件类型不同的重复。")),
    severity=Severity.ERROR, database=Database.STAFF, fields=("id_number", "name", "birth_date"), kind="identity",
    scan=_staff_dup_findings,
))


# --------------------------------------------------------------------------------------------
# A pupil who is also on a staff list


def _student_staff_rows(scope: ScanScope) -> list[tuple]:
    stages = ", ".join(str(s) for s in BASIC_STAGES)
    cols = ("t.id, t.unit_id, t.name, t.staff_number, s.id, e.school_id, s.name, s.student_number, "
            "t.id_number_masked")
    join = ("FROM staff_staffmember t JOIN students_student s ON s.id_number_index = t.id_number_index "
            f"JOIN students_enrolment e ON e.student_id = s.id AND e.is_active AND e.stage IN ({stages}) "
            "WHERE t.is_active AND t.id_number_index > '' AND s.id_number_index > '' ")
    where_t, params_t = sql_scope(scope, "t", school="unit_id")
    where_e, params_e = sql_scope(scope, "e")
    where_s, params_s = sql_scope(scope, "s")
    # The staff's twins first (a handful of people), then their enrolments by id: in one statement the
    # planner expected millions of twins and hashed all 27 million enrolments for them (a materialised
    # CTE did not help: its estimate stays the join's).
    twins = fetch("SELECT t.id, s.id FROM staff_staffmember t "  # noqa: S608
                  "JOIN students_student s ON s.id_number_index = t.id_number_index "
                  f"WHERE t.is_active AND t.id_number_index > '' AND s.id_number_index > '' AND {where_t}", params_t)
    rows = []
    for start in range(0, len(twins), CHUNK):
        part = twins[start:start + CHUNK]
        staff_ids, student_ids = sorted({t for t, _s in part}), sorted({s_ for _t, s_ in part})
        rows += fetch(
            f"SELECT {cols} {join} AND t.id IN ({', '.join(['%s'] * len(staff_ids))}) "  # noqa: S608
            f"AND s.id IN ({', '.join(['%s'] * len(student_ids))})", [*staff_ids, *student_ids])
    if not _whole(scope):  # the students of the scope whose twin works outside it (both paths: see students_in_scope)
        rows += fetch(f"SELECT {cols} {join} AND {where_e} AND {where_s}", params_e + params_s)  # noqa: S608
    return sorted(set(rows))


def _student_staff_findings(scope: ScanScope) -> Iterator[Finding]:
    rows = _student_staff_rows(scope)
    schools = units({r[1] for r in rows} | {r[5] for r in rows})

    def wanted(unit: School) -> bool:
        return unit.region_path.startswith(scope.region_path) and (
            scope.school_ids is None or unit.id in scope.school_ids)

    for t_id, unit_id, t_name, t_number, s_id, school_id, s_name, s_number, masked in rows:
        group = f"X_STUDENT_IS_STAFF:{s_id}-{t_id}"
        unit, school = schools[unit_id], schools[school_id]
        both = f"身份证件号「{masked}」"
        if wanted(school):
            yield finding(
                "X_STUDENT_IS_STAFF", school, STUDENT, s_id, student_label(s_name, s_number),
                f"学生{s_name}在本校在读（基础教育），其{both}同时是「{unit.name}」在岗教职工{staff_label(t_name, t_number)}"
                "的证件号：在读的中小学、幼儿园学生不可能同时在岗任职。请核实哪一方证件号登记有误并更正。",
                fields=("id_number",), evidence={"id_number": masked, "staff_unit": unit.name,
                                                 "staff": staff_label(t_name, t_number)}, group=group)
        if wanted(unit):
            yield finding(
                "X_STUDENT_IS_STAFF", unit, STAFF, t_id, staff_label(t_name, t_number),
                f"教职工{t_name}在本单位在岗，其{both}同时是「{school.name}」在读学生{student_label(s_name, s_number)}"
                "的证件号：在岗教职工不可能同时是在读的基础教育学生。请核实哪一方证件号登记有误并更正。",
                fields=("id_number",), evidence={"id_number": masked, "school": school.name,
                                                 "student": student_label(s_name, s_number)}, group=group)


X_STUDENT_IS_STAFF = rules.register(Rule(
    code="X_STUDENT_IS_STAFF", title=gettext_lazy("在读学生同时是在岗教职工"),
    description=(
        gettext_lazy("学生库与教职工库交叉核对：同一身份证件号（盲索引）既是学前、小学、初中、高中或特殊教育在读学生，"
        "又是某单位在岗教职工。两方各生成一条问题（同组），由县级一并处理。中职、高校学生兼任助教等不在此列。")),
    severity=Severity.ERROR, database=Database.STUDENTS, fields=("id_number",), kind="identity",
    scan=_student_staff_findings,
))


# --------------------------------------------------------------------------------------------
# A 学籍号 issued twice


def _reused_findings(scope: ScanScope) -> Iterator[Finding]:
    where, params = clustered_scope_sql(scope, "s")
    where_e, params_e = sql_scope(scope, "e")
    # The enrolment is the scope's too (a student's path is his active enrolment's): the planner probes
    # the scope's enrolments instead of hashing every enrolment of the register.
    active = ("EXISTS (SELECT 1 FROM students_enrolment e "  # noqa: S608
              f"WHERE e.student_id = s.id AND e.is_active AND {where_e})")
    # (a) a number retired from one student (L → G, a corrected ID) and held by another.
    retired = fetch(
        "SELECT s.id, s.school_id, s.name, s.student_number, r.student_id FROM students_student s "  # noqa: S608
        "JOIN students_retiredstudentnumber r ON r.number = s.student_number AND r.student_id <> s.id "
        f"WHERE {where} AND {active}", params + params_e)
    # (b) a G number (G + an ID number) whose ID number is another student's: computed only where the
    # number's own blind index differs from the holder's (the holder's ID was corrected, or never his).
    # The scan has read and decrypted its pupils' ID numbers already (``scope_pupils``, cached): a
    # number that is "G" + the holder's own ID is his, with no blind index to compute. The rest —
    # numbers that differ, and G numbers of pupils without a resident ID card — are few.
    candidates: dict[int, tuple] = {}
    for row in scope_pupils(scope):
        number = row[PUPIL_NUMBER]
        if number.startswith("G") and number[1:] != row[PUPIL_CLEAR_ID]:
            candidates[row[PUPIL_ID]] = (row[PUPIL_ID], row[PUPIL_SCHOOL], number)
    sealer = Sealer()
    mismatched: dict[str, tuple] = {}
    for part in chunks(sorted(candidates)):
        for sid, own_index, name in fetch(
                "SELECT id, id_number_index, name FROM students_student "  # noqa: S608
                f"WHERE id IN ({', '.join(['%s'] * len(part))})", part):
            _sid, school_id, number = candidates[sid]
            index = sealer.id_index(RESIDENT_ID_CARD, number[1:])
            if index != own_index:
                mismatched[index] = (sid, school_id, name, number)
    taken: list[tuple] = []
    keys = list(mismatched)
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        for other_id, index in fetch(
                "SELECT id, id_number_index FROM students_student "  # noqa: S608
                f"WHERE id_number_index IN ({', '.join(['%s'] * len(part))})", part):
            row = mismatched[index]
            if other_id != row[0]:
                taken.append((*row[:4], other_id))
    schools = units(r[1] for r in retired + taken)
    seen: set[int] = set()
    for sid, school_id, name, number, other, how in [(*r, "retired") for r in retired] + [(*r, "id") for r in taken]:
        if sid in seen:
            continue
        seen.add(sid)
        why = ("该学籍号曾属于另一名学生，已注销（学籍号终身不变、注销后不得再次使用）" if how == "retired" else
               "该学籍号由另一名学生的身份证件号构成（G字头学籍号 = G + 本人身份证件号）")
        yield finding(
            "S_NUMBER_REUSED", schools[school_id], STUDENT, sid, student_label(name, number),
            f"学生{name}的学籍号「{student_label('', number)[1:-1]}」{why}：一个学籍号只能属于一个人。"
            "请核对该生的身份证件号和学籍号，由县级学籍管理部门为其更正或重新分配学籍号。",
            fields=("student_number",), evidence={"student_number": student_label("", number)[1:-1], "how": how},
            group=f"S_NUMBER_REUSED:{min(sid, other)}-{max(sid, other)}")


S_NUMBER_REUSED = rules.register(Rule(
    code="S_NUMBER_REUSED", title=gettext_lazy("学籍号重复使用"),
    description=(
        gettext_lazy("学籍号一人一号、终身不变：在读学生的学籍号是另一名学生已注销的学籍号（L 字头换发 G 字头等），"
        "或其 G 字头学籍号中的身份证件号属于另一名学生（按盲索引比较，不解密）。")),
    severity=Severity.ERROR, database=Database.STUDENTS, fields=("student_number",), kind="identity",
    scan=_reused_findings, work="python",
))
