"""Province-size demo data written in bulk on PostgreSQL (``generate_demo --scale province``).

The default generator registers every student through ``students.services.register_students``:
right for a demo of a few hundred thousand students, hours for the province's 27 million. This
module writes the same shape of records set-based instead:

* **Classes** are planned per school by the very function the small scales use
  (``students.plan_classes``, the school's own seeded random stream), so schools, grades, class
  counts and sizes follow the same rules; they are written with one COPY.
* **Students and enrolments** are drawn by PostgreSQL itself: one ``INSERT … SELECT`` over
  ``generate_series`` per table, reading a per-class plan (``bulk_class_plan``, a temporary table)
  that carries each class's probabilities — sex 52 % male, age around the grade's typical age with
  the same shares a year older / younger / 3–5 years over age, migrant, left-behind, minority,
  boarding, household and only-child shares by place and stage, the same origins of migrant
  families (a small pool drawn per class by ``_Origins``), names drawn from a pool made by
  ``names.person_name``. The probabilities are those of ``demo/students.py``; what differs is who
  rolls the dice (``random()`` in the server, seeded with ``setseed``).
* **Identity.** As in a real register, nearly every student has a resident ID card: its number is
  built from the student's birthplace (GB/T 2260), birth date and sex with a per-(place, day, sex)
  sequence and the MOD 11-2 check character, sealed as the services seal it (AES-GCM ciphertext,
  blind index, masked form), and the 学籍号 is ``G`` + that number. The server draws the students
  into a staging table a million at a time; Python reads back each chunk's birthplace, birth date
  and sex, seals the numbers and hands them back by COPY, and the chunk moves into the register
  joined with them (no UPDATE, so the table is written once). ``UNDOCUMENTED_SHARE`` of the students
  (0.5 %, chosen by a seeded stream) have no ID number (证件类型 Z, ``NO_DOCUMENT``) and keep a
  temporary L 学籍号 (L + the school's county + birth date + 4 digits). The 4 digits and the day of
  birth come from the student's position in its county, so no two numbers can collide without a
  lookup: position p gives day ``(p × 97) mod 364`` of the birth cohort and digits ``p div 364``
  (97 and 364 are coprime). The same pass gives each student a home address in the school's town
  and a first guardian (father with the child's surname, or mother) with a sealed phone, except
  ``INCOMPLETE_SHARE`` left blank, so the completeness figures have something to find. Names are drawn from a pool of ``NAME_POOL`` draws of
  ``names.person_name`` per sex (generator 2 had 4,000, which made half the undocumented students
  look like someone else's twin to the duplicate check).
* **Indexes.** While the student tables load, their secondary indexes, unique constraints and the
  enrolment → student foreign key are dropped; they are rebuilt afterwards from the definitions
  read from the catalogue before the drop (the foreign key added ``NOT VALID`` and then validated),
  and the catalogue is compared with what it was: the schema ends exactly as the migrations made
  it, or the transaction rolls back.
* **Staff** are built by ``demo/staff.py``'s own per-school function (sealed ID numbers and phones,
  titles, education …) and streamed through COPY; **buildings and land** by ``demo/facilities.py``
  unchanged.

Thinner than the default generator, by design (each would add tens of millions of rows that no
statistic reads): no 入学/聘用 events, audit entries or change-feed entries for the bulk records;
one guardian and no phone of their own on bulk students; no equipment registers or asset summaries;
none of the planted anomalies (over-age pupils excepted: they are part of the age distribution).

PostgreSQL only: on SQLite ``generate_demo`` keeps its normal path.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from eduplatform.core.bulk import insert_rows, is_postgresql, reserve_ids
from eduplatform.core.identity import RESIDENT_ID_CARD, Sealer
from eduplatform.demo import names
from eduplatform.demo import staff as demo_staff
from eduplatform.demo import students as demo
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.stages import Stage
from eduplatform.staff.models import StaffMember
from eduplatform.standards.validators import id_number_check_char
from eduplatform.students.grades import grade_name
from eduplatform.students.models import Enrolment, SchoolClass, Student
from eduplatform.students.services import current_school_year

# Bumped whenever the data ``generate_demo --bulk`` writes changes (2: the colleges' categories; 3: ID
# numbers for 99.5 % of the students, home addresses and a guardian, a name pool 25 times larger): a benchmark database generated by
# an older version is generated again rather than reused.
GENERATOR_VERSION = "3"

NAME_POOL = 100_000  # draws per sex of names.person_name, picked from by the identity pass
UNDOCUMENTED_SHARE = 0.005  # students without an ID number (DOMAIN: about 0.5 % of a register)
INCOMPLETE_SHARE = 0.001  # students whose home address (or, apart, first guardian) is left blank
CHUNK_STUDENTS = 1_000_000  # students drawn, sealed and moved into the register at a time
ORIGIN_POOL = 12  # migrant (or college) origins drawn per class by _Origins
DAYS = 364  # birth days used per cohort: every cohort (2 Sep … 31 Aug) has at least 364
STRIDE = 97  # coprime with DAYS: consecutive students of a county get well-spread birthdays
MAX_PER_COUNTY = DAYS * 10_000  # the 4 digits of an L number run out beyond this

STUDENT_TABLES = ("students_student", "students_enrolment")


class BulkUnavailable(RuntimeError):
    """The bulk path needs PostgreSQL."""


@dataclass
class BulkSummary:
    schools: int = 0
    classes: int = 0
    students: int = 0
    staff: int = 0
    parts: list[tuple[str, float]] = field(default_factory=list)  # (what, seconds)
    skipped: bool = False


# --------------------------------------------------------------------------------------------
# Deferred indexes


def _catalogue(cursor, tables: tuple[str, ...]) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str]]]:
    """(table, constraint, definition, type) of the unique and foreign-key constraints, and
    (table, index, definition) of the indexes that back no constraint, of ``tables``."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype FROM pg_constraint c"
        " WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f') ORDER BY 1, 2", [list(tables)])
    constraints = [tuple(r) for r in cursor.fetchall()]
    cursor.execute(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
        " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid ="
        " (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass AND c.contype IN ('p', 'u', 'x'))"
        " ORDER BY 1, 2", [list(tables)])
    return constraints, [tuple(r) for r in cursor.fetchall()]


@contextmanager
def indexes_built_after(tables: tuple[str, ...], progress: Callable[[str], None]) -> Iterator[None]:
    """Load ``tables`` without their secondary indexes, unique and foreign-key constraints, then
    build them again from their own definitions and check the catalogue is as it was.

    The primary keys stay: rows arrive in key order, which appends to the key's index cheaply.
    Must run inside a transaction, so a failure leaves the tables exactly as they were."""
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction (rows written before, in an
        # enclosing transaction) would forbid altering the tables they involve: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        constraints, indexes = _catalogue(cursor, tables)
        # A dropped index takes its REPLICA IDENTITY USING INDEX with it (city nodes, decision 0007).
        cursor.execute("SELECT i.indrelid::regclass::text, c.relname FROM pg_index i JOIN pg_class c ON"
                       " c.oid = i.indexrelid WHERE i.indisreplident AND i.indrelid = ANY(%s::regclass[])", [list(tables)])
        replica_identities = cursor.fetchall()
        for table, name, _definition, _kind in sorted(constraints, key=lambda c: c[3] != "f"):  # FKs first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _table, name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        for table, name, definition, kind in constraints:
            if kind == "u":
                started = time.perf_counter()
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                progress(f"    约束 {name}：{time.perf_counter() - started:.0f} 秒")
        for _table, name, definition in indexes:
            started = time.perf_counter()
            cursor.execute(definition)
            progress(f"    索引 {name}：{time.perf_counter() - started:.0f} 秒")
        for table, name in replica_identities:
            cursor.execute(f'ALTER TABLE {table} REPLICA IDENTITY USING INDEX "{name}"')
        for table, name, definition, kind in constraints:
            if kind == "f":
                started = time.perf_counter()
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')
                cursor.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
                progress(f"    外键 {name}：{time.perf_counter() - started:.0f} 秒")
        after = _catalogue(cursor, tables)
        if after != (constraints, indexes):
            raise RuntimeError(f"重建后的索引与约束与迁移定义不一致：{after} ≠ {(constraints, indexes)}")
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND NOT convalidated",
                       [list(tables)])
        if cursor.fetchone()[0]:
            raise RuntimeError("有约束未通过验证")


# --------------------------------------------------------------------------------------------
# The class plan


PLAN_COLUMNS = (
    ("class_id", "bigint"), ("school_id", "bigint"), ("region_path", "text"), ("county6", "text"),
    ("first", "bigint"), ("county_first", "bigint"), ("size", "int"), ("stage", "int"), ("grade", "text"),
    ("typical_age", "int"), ("special", "boolean"), ("higher", "boolean"), ("compulsory", "boolean"),
    ("young", "boolean"), ("entered_on", "date"), ("entry_kind", "text"), ("major", "text"),
    ("programme_length", "int"), ("level", "text"), ("rural", "boolean"), ("p_outsider", "float8"),
    ("p_left_behind", "float8"), ("p_boarding", "float8"), ("p_rural_hukou", "float8"),
    ("p_only_child", "float8"), ("p_member", "float8"), ("masses", "boolean"), ("local_area", "text"),
    ("local_minority", "float8"), ("local_codes", "text[]"), ("outsider_areas", "text[]"),
    ("outsider_minority", "float8[]"), ("outsider_codes", "text[]"), ("disabilities", "text[]"),
)


@dataclass
class _PlannedClass:
    school: Organization
    klass: demo._Class
    place: demo._Place
    outsiders: list[tuple[str, float, str]]  # (area, minority share, minority code)
    class_id: int = 0
    first: int = 0
    county_first: int = 0


def _member_share(grade_code: str, stage: Stage) -> float | None:
    """共青团员 share by grade, as ``_StudentFactory.political_status``."""
    if stage == Stage.VOCATIONAL:
        return 0.4
    if stage == Stage.HIGHER:
        return 0.75
    return {"22": 0.05, "23": 0.15, "31": 0.3, "32": 0.45, "33": 0.6}.get(grade_code)


def _plan_row(p: _PlannedClass, year: int) -> tuple:
    """One class's row of ``bulk_class_plan``: where it is and the shares its students are drawn with
    (the rules of ``demo.students._StudentFactory.row``)."""
    grade, place, school = p.klass.grade, p.place, p.school
    stage = grade.stage
    higher = stage == Stage.HIGHER
    compulsory = stage in (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)
    young = stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)
    # Outsiders: migrant families (their own origins and minorities) — or, for a college, every
    # student, whose home is drawn by ``_Origins.student_area``.
    outsider = 1.0 if higher else (demo.MIGRANT_SHARE_PRD if place.prd else demo.MIGRANT_SHARE_ELSEWHERE)
    if stage == Stage.SENIOR:
        outsider /= 2  # 异地中考 rules, as in demo.students
    left_behind = (0.005 if place.prd else (0.03 if place.urban_core else 0.12)) if young else 0.0
    boarding = {Stage.SENIOR: 0.7, Stage.VOCATIONAL: 0.8, Stage.HIGHER: 0.95, Stage.SPECIAL: 0.4}.get(stage, 0.0)
    if place.rural and stage == Stage.JUNIOR:
        boarding = 0.4
    elif place.rural and stage == Stage.PRIMARY and grade.year >= 4:
        boarding = 0.1
    local_share, local_codes = demo._AUTONOMOUS.get(place.county, (demo._LOCAL_MINORITY_SHARE, demo._LOCAL_MINORITIES))
    if stage in (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL):
        entry = "compulsory"
    elif stage in (Stage.SENIOR, Stage.VOCATIONAL, Stage.HIGHER):
        entry = "exam"
    else:
        entry = ""
    member = _member_share(grade.code, stage)
    disabilities = demo._DISABILITY.get(school.school_type_code, demo._DISABILITY["514"]) if stage == Stage.SPECIAL else ()
    return (
        p.class_id, school.pk, school.region_path, school.region.code[:6], p.first, p.county_first, p.klass.size,
        int(stage), grade.code, grade.typical_age, stage == Stage.SPECIAL, higher, compulsory, young,
        dt.date(year - grade.year + 1, 9, 1), entry, p.klass.major, p.klass.programme_length, p.klass.level,
        place.rural, outsider, left_behind, boarding, 0.7 if place.rural else 0.25, 0.1 if place.rural else 0.25,
        member, stage in (Stage.SENIOR, Stage.VOCATIONAL, Stage.HIGHER), place.county, local_share,
        list(local_codes), [a for a, _s, _c in p.outsiders], [s for _a, s, _c in p.outsiders],
        [c for _a, _s, c in p.outsiders], list(disabilities),
    )


def _outsiders(origins: demo._Origins, rng: random.Random, place: demo._Place, higher: bool) -> list[tuple[str, float, str]]:
    pool = []
    for _ in range(ORIGIN_POOL):
        area, share, codes = origins.student_area(rng) if higher else origins.migrant_area(rng, place)
        pool.append((area, share, rng.choice(codes)))
    return pool


def plan(*, scale: float, seed: int) -> list[_PlannedClass]:
    """Every open school's classes (``plan_classes`` with the school's own seed, as the default
    generator), each with the student positions it will take."""
    schools = list(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0)
                   .select_related("region").order_by("school_code"))
    origins = demo._Origins()
    planned: list[_PlannedClass] = []
    for school in schools:
        place = demo._place_of(school)
        classes = demo.plan_classes(school, scale, random.Random(f"{seed}:classes:{school.school_code}"))
        rng = random.Random(f"{seed}:bulk:{school.school_code}")
        pools: dict[bool, list] = {}
        for klass in classes:
            higher = klass.grade.stage == Stage.HIGHER
            if higher not in pools:
                pools[higher] = _outsiders(origins, rng, place, higher)
            planned.append(_PlannedClass(school, klass, place, pools[higher]))
    # Each county's positions start at a random day, so small counties do not all begin on 2 September.
    starts = random.Random(f"{seed}:bulk:positions")
    first = 0
    county_next: dict[str, int] = defaultdict(lambda: starts.randrange(DAYS))
    for p in planned:
        county = p.school.region.code[:6]
        p.first, p.county_first = first, county_next[county]
        first += p.klass.size
        county_next[county] += p.klass.size
    if county_next and max(county_next.values()) > MAX_PER_COUNTY:
        raise RuntimeError(f"一个县的学生超过 {MAX_PER_COUNTY:,} 名：临时学籍号的 4 位序号不够用")
    return planned


# --------------------------------------------------------------------------------------------
# Students


# Only the two constants DAYS and STRIDE are interpolated into the text.
STUDENT_INSERT = f"""
INSERT INTO bulk_students_stage (id, student_number, name, former_name, gender, birth_date, id_type, id_number_cipher,
    id_number_index, id_number_masked, ethnicity, nationality, hk_macao_taiwan, birthplace_code, native_place,
    hukou_place_code, hukou_nature, political_status, health_status, disability_type, migrant_child, left_behind,
    only_child, boarding_mode, home_address, phone_cipher, phone_masked, guardians, school_id, region_path,
    created_at, updated_at)
SELECT %(base)s + s.first + s.i,
       'L' || s.county6 || to_char(s.birth, 'YYYYMMDD') || lpad(((s.county_first + s.i) / {DAYS})::text, 4, '0'),
       '',
       '', CASE WHEN s.male THEN '1' ELSE '2' END, s.birth, 'Z', '', '', '',
       CASE WHEN s.outsider AND s.r_minority < s.outsider_minority[s.k] THEN s.outsider_codes[s.k]
            WHEN NOT s.outsider AND s.r_minority < s.local_minority
                THEN s.local_codes[1 + floor(s.r_code * cardinality(s.local_codes))::int]
            ELSE '01' END,
       'CHN', '00', s.area, '', s.area,
       CASE WHEN s.r_hukou < (CASE WHEN s.outsider AND NOT s.higher THEN 0.7 ELSE s.p_rural_hukou END) THEN '1' ELSE '2' END,
       CASE WHEN s.p_member IS NOT NULL AND s.r_member < s.p_member THEN '03' WHEN s.masses THEN '13' ELSE '' END,
       CASE WHEN s.special THEN '50' ELSE '10' END,
       CASE WHEN s.special THEN s.disabilities[1 + floor(s.r_code * cardinality(s.disabilities))::int] ELSE '' END,
       s.outsider AND s.compulsory AND NOT s.higher,
       CASE WHEN s.young AND NOT s.outsider AND s.r_left < s.p_left_behind
            THEN CASE WHEN s.r_left_kind < 0.6 THEN '2' ELSE '1' END ELSE '0' END,
       s.r_only < s.p_only_child,
       CASE WHEN s.r_board < s.p_boarding THEN '2' ELSE '1' END,
       '', '', '', '[]', s.school_id, s.region_path, %(now)s, %(now)s
FROM (
    SELECT d.*,
           d.higher OR d.r_outsider < d.p_outsider AS outsider,
           1 + floor(d.r_pool * cardinality(d.outsider_areas))::int AS k,
           CASE WHEN d.higher OR d.r_outsider < d.p_outsider
                THEN d.outsider_areas[1 + floor(d.r_pool * cardinality(d.outsider_areas))::int]
                ELSE d.local_area END AS area,
           make_date(%(year)s - d.age - 1, 9, 2) + (((d.county_first + d.i) * {STRIDE}) %% {DAYS})::int AS birth
    FROM (
        SELECT r.*, r.r_sex < %(male_share)s AS male,
               r.typical_age + CASE
                   WHEN r.special THEN (ARRAY[-1, 0, 0, 0, 1, 1, 2, 3])[1 + floor(r.r_age2 * 8)::int]
                   WHEN r.r_age < %(overage)s AND NOT r.higher THEN 3 + floor(r.r_age2 * 3)::int
                   WHEN r.r_age < %(overage)s + 0.06 THEN 1
                   WHEN r.r_age < %(overage)s + 0.08 THEN -1
                   ELSE 0 END AS age
        FROM (
            SELECT p.*, g.i, random() AS r_sex, random() AS r_age, random() AS r_age2, random() AS r_outsider,
                   random() AS r_pool, random() AS r_minority, random() AS r_code, random() AS r_left,
                   random() AS r_left_kind, random() AS r_board, random() AS r_hukou, random() AS r_only,
                   random() AS r_member
            FROM bulk_class_plan p CROSS JOIN LATERAL generate_series(0, p.size - 1) AS g(i)
            WHERE p.first >= %(lo)s AND p.first < %(hi)s
        ) r
    ) d
) s
"""  # noqa: S608

ENROLMENT_INSERT = """
INSERT INTO students_enrolment (id, student_id, school_id, region_path, stage, grade, school_class_id, status, is_active,
    entered_on, entry_mode, left_on, major, programme_length, level, repeat_next_promotion, created_at, updated_at)
SELECT %(enrolment_base)s + p.first + g.i, %(student_base)s + p.first + g.i, p.school_id, p.region_path, p.stage,
       p.grade, p.class_id, '01', true, p.entered_on,
       CASE p.entry_kind WHEN 'compulsory' THEN CASE WHEN random() < 0.95 THEN '11' ELSE '12' END
                         WHEN 'exam' THEN '21' ELSE '' END,
       NULL, p.major, p.programme_length, p.level, false, %(now)s, %(now)s
FROM bulk_class_plan p CROSS JOIN LATERAL generate_series(0, p.size - 1) AS g(i)
"""


# The columns a chunk's students take from ``bulk_identity`` (NULL there: the drawn value stays).
IDENTITY_COLUMNS = {
    "name": "i.name",
    "student_number": "COALESCE(i.student_number, b.student_number)",
    "id_type": "CASE WHEN i.cipher IS NULL THEN b.id_type ELSE '1' END",
    "id_number_cipher": "COALESCE(i.cipher, b.id_number_cipher)",
    "id_number_index": "COALESCE(i.blind_index, b.id_number_index)",
    "id_number_masked": "COALESCE(i.masked, b.id_number_masked)",
    "home_address": "COALESCE(i.home_address, b.home_address)",
    "guardians": "COALESCE(i.guardians, b.guardians)",
}
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


class _IdentityIssuer:
    """What the server does not draw: resident ID numbers, unique by construction (the sequence of
    a (birthplace, birth date, sex) counts up, odd for boys and even for girls, across the whole
    run), the home address in the school's town and a first guardian with a sealed phone."""

    def __init__(self, seed: int, towns: dict[int, str], names_by_sex: dict[str, list[str]]) -> None:
        self.rng = random.Random(f"{seed}:bulk:identity")
        self.next_sequence: dict[str, int] = defaultdict(int)
        self.sealer = Sealer()
        self.towns = towns
        self.names_by_sex = names_by_sex

    def sealed(self, rows: list[tuple[int, str, dt.date, str, int]]) -> Iterator[tuple]:
        """(student id, 学籍号, cipher, index, masked, home address, guardians, name) of each row;
        None where the drawn value stays (no ID card; an address or guardian left blank)."""
        rng, sequences, sealer, towns = self.rng, self.next_sequence, self.sealer, self.towns
        draw = rng.random
        pools = {sex: (pool, len(pool)) for sex, pool in self.names_by_sex.items()}
        for student_id, area, birth, gender, school_id in rows:
            # The name here, not in the server: picking from a 100,000-name array costs the server a
            # walk along the array for every pupil (its text elements have no offsets).
            pool, size = pools[gender]
            name = pool[int(draw() * size)]
            address = None if draw() < INCOMPLETE_SHARE else names.street_address(rng, towns[school_id])
            guardians = None
            if draw() >= INCOMPLETE_SHARE:
                father = draw() < 0.6
                phone = sealer.phone(names.phone_number(rng))
                guardians = _encode_json([{
                    "name": names.person_name(rng, "1", surname=names.surname_of(name)) if father
                    else names.person_name(rng, "2"),
                    "relation": "父亲" if father else "母亲", "phone_cipher": phone.cipher,
                    "phone_masked": phone.masked}])
            if draw() < UNDOCUMENTED_SHARE or len(area) != 6 or not area.isdigit():
                yield student_id, None, None, None, None, address, guardians, name
                continue
            prefix = f"{area}{birth:%Y%m%d}"
            key = prefix + gender
            n = sequences[key]
            if n >= 500:  # the three digits are used up for this place, day and sex: no card
                yield student_id, None, None, None, None, address, guardians, name
                continue
            sequences[key] = n + 1
            body = f"{prefix}{n * 2 + (gender == '1'):03d}"
            number = body + id_number_check_char(body)
            seal = sealer.id_number(RESIDENT_ID_CARD, number)
            yield student_id, "G" + number, seal.cipher, seal.index, seal.masked, address, guardians, name


def _chunks(planned: list[_PlannedClass]) -> Iterator[tuple[int, int]]:
    """[lo, hi) ranges of student positions of about ``CHUNK_STUDENTS``, on class boundaries."""
    lo = hi = 0
    for p in planned:
        if hi - lo >= CHUNK_STUDENTS:
            yield lo, hi
            lo = hi
        hi = p.first + p.klass.size
    if hi > lo:
        yield lo, hi


def _draw_students(cursor, planned: list[_PlannedClass], params: dict, seed: int,
                   names_by_sex: dict[str, list[str]], progress: Callable[[str], None]) -> int:
    """Draw the students chunk by chunk into ``bulk_students_stage``, seal the documented students'
    ID numbers, and move each chunk into ``students_student`` in key order; the number written."""
    cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'students_student'::regclass"
                   " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
    columns = [r[0] for r in cursor.fetchall()]
    move = (f"INSERT INTO students_student ({', '.join(columns)}) SELECT "  # noqa: S608
            + ", ".join(IDENTITY_COLUMNS.get(c, f"b.{c}") for c in columns)
            + " FROM bulk_students_stage b LEFT JOIN bulk_identity i ON i.id = b.id ORDER BY b.id")
    cursor.execute("CREATE UNLOGGED TABLE bulk_students_stage (LIKE students_student INCLUDING DEFAULTS);"
                   " CREATE UNLOGGED TABLE bulk_identity (id bigint PRIMARY KEY, student_number text, cipher text,"
                   " blind_index text, masked text, home_address text, guardians jsonb, name text)")
    issuer = _IdentityIssuer(seed, {p.school.pk: p.place.town_name for p in planned}, names_by_sex)
    total = sum(p.klass.size for p in planned)
    written = 0
    for lo, hi in _chunks(planned):
        cursor.execute(STUDENT_INSERT, {**params, "lo": lo, "hi": hi})
        cursor.execute("SELECT id, birthplace_code, birth_date, gender, school_id FROM bulk_students_stage"
                       " ORDER BY id")
        drawn = cursor.fetchall()
        with cursor.cursor.copy("COPY bulk_identity FROM STDIN") as copy:
            for row in issuer.sealed(drawn):
                copy.write_row(row)
        cursor.execute(move)
        written += cursor.rowcount
        cursor.execute("TRUNCATE bulk_students_stage, bulk_identity")
        progress(f"    学生：{written:,} / {total:,}")
    cursor.execute("DROP TABLE bulk_students_stage, bulk_identity")
    return written


def _name_pool(rng: random.Random, sex: str) -> list[str]:
    return [names.person_name(rng, sex) for _ in range(NAME_POOL)]


def _reserve_block(table: str, count: int) -> int:
    """The first of ``count`` consecutive fresh keys of ``table``'s sequence (nothing else writes
    it meanwhile: the caller holds the table locked)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        base = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, base + max(count, 1) - 1])
    return base


def write_students(planned: list[_PlannedClass], *, seed: int, today: dt.date,
                   progress: Callable[[str], None]) -> tuple[int, int, list[tuple[str, float]]]:
    """Classes, students and enrolments of the plan, in one transaction; (classes, students, timings)."""
    year = current_school_year(today)
    total = sum(p.klass.size for p in planned)
    now = timezone.now()
    parts: list[tuple[str, float]] = []
    rng = random.Random(f"{seed}:bulk:names")
    names_by_sex = {"1": _name_pool(rng, "1"), "2": _name_pool(rng, "2")}
    with transaction.atomic(), connection.cursor() as cursor:
        # This transaction's own settings: sorting memory for the index builds, no wait for the WAL flush.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL work_mem = '256MB';"
                       " SET LOCAL synchronous_commit = off")
        cursor.execute(f"LOCK TABLE {', '.join(STUDENT_TABLES)}, students_schoolclass IN EXCLUSIVE MODE")
        started = time.perf_counter()
        class_ids = reserve_ids(SchoolClass, len(planned))
        for p, pk in zip(planned, class_ids, strict=True):
            p.class_id = pk
        insert_rows(SchoolClass, ("id", "school", "region_path", "school_year", "grade", "number", "name", "class_type",
                                  "head_teacher"),
                    ((p.class_id, p.school.pk, p.school.region_path, year, p.klass.grade.code, p.klass.number,
                      f"{grade_name(p.klass.grade.code)}（{p.klass.number}）班", "10", "") for p in planned))
        cursor.execute("CREATE TEMP TABLE bulk_class_plan (" + ", ".join(f"{n} {t}" for n, t in PLAN_COLUMNS)
                       + ") ON COMMIT DROP")
        with cursor.cursor.copy("COPY bulk_class_plan FROM STDIN") as copy:
            for p in planned:
                copy.write_row(_plan_row(p, year))
        cursor.execute("ANALYZE bulk_class_plan")
        parts.append(("班级与编班计划", time.perf_counter() - started))
        progress(f"  班级 {len(planned):,} 个、计划学生 {total:,} 名：{parts[-1][1]:.0f} 秒")

        with indexes_built_after(STUDENT_TABLES, progress):
            student_base = _reserve_block("students_student", total)
            enrolment_base = _reserve_block("students_enrolment", total)
            # setseed makes the server's draws repeatable for a seed (the INSERT … SELECT runs serially).
            cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
            started = time.perf_counter()
            written = _draw_students(cursor, planned, {
                "base": student_base, "now": now, "year": year, "male_share": demo.MALE_SHARE,
                "overage": demo.OVERAGE_SHARE,
            }, seed, names_by_sex, progress)
            parts.append(("学生（INSERT … SELECT，封存身份证件号）", time.perf_counter() - started))
            progress(f"  学生 {written:,} 名：{parts[-1][1]:.0f} 秒（{written / max(parts[-1][1], 0.001):,.0f} 行/秒）")
            started = time.perf_counter()
            cursor.execute(ENROLMENT_INSERT, {"enrolment_base": enrolment_base, "student_base": student_base, "now": now})
            parts.append(("学籍（INSERT … SELECT）", time.perf_counter() - started))
            progress(f"  学籍 {cursor.rowcount:,} 条：{parts[-1][1]:.0f} 秒")
            started = time.perf_counter()
            progress("  重建索引与约束 …")
        parts.append(("索引与约束", time.perf_counter() - started))
        progress(f"  索引与约束：{parts[-1][1]:.0f} 秒")
        started = time.perf_counter()
        cursor.execute("ANALYZE students_student; ANALYZE students_enrolment; ANALYZE students_schoolclass")
        parts.append(("ANALYZE", time.perf_counter() - started))
    return len(planned), written, parts


# --------------------------------------------------------------------------------------------
# Staff


def write_staff(planned: list[_PlannedClass], *, seed: int, today: dt.date,
                progress: Callable[[str], None]) -> int:
    """Every school's staff by ``demo.staff``'s own per-school rule (teachers from the students by the
    stage's ratio, the other posts from them), and every bureau's, streamed through COPY."""
    if StaffMember.objects.exists():
        return 0
    students: dict[int, int] = defaultdict(int)
    for p in planned:
        students[p.school.pk] += p.klass.size
    people = demo_staff._People(today)
    numbers_for = demo_staff.staff_number_issuer(today)

    units = list(Organization.objects.filter(is_open=True).select_related("region").order_by("region_path", "pk"))
    columns = [f.attname for f in StaffMember._meta.concrete_fields if f.attname != "id"]
    now = timezone.now()
    written = 0

    def rows() -> Iterator[tuple]:
        nonlocal written
        for done, unit in enumerate(units, start=1):
            if unit.kind == OrgKind.SCHOOL:
                if not unit.stage_mask:
                    continue
                posts = demo_staff._school_staff(people, random.Random(f"{seed}:staff:{unit.school_code}"), unit,
                                                 students.get(unit.pk, 0), numbers_for(unit))
            else:
                posts = demo_staff._bureau_staff(people, random.Random(f"{seed}:admin:{unit.pk}"), unit,
                                                 numbers_for(unit))
            for post in posts:
                post.created_at = post.updated_at = now
                written += 1
                yield tuple(getattr(post, c) for c in columns)
            if done % 5000 == 0:
                progress(f"    教职工：{done:,} / {len(units):,} 个单位，{written:,} 人")

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL synchronous_commit = off")
        cursor.execute("LOCK TABLE staff_staffmember IN EXCLUSIVE MODE")
        with indexes_built_after(("staff_staffmember",), progress):
            insert_rows(StaffMember, [c.removesuffix("_id") if c == "unit_id" else c for c in columns], rows())
        cursor.execute("ANALYZE staff_staffmember")
    return written


def require_postgresql() -> None:
    if not is_postgresql():
        raise BulkUnavailable("批量生成（--bulk，--scale province）只能在 PostgreSQL 上运行；SQLite 请用普通方式生成")


def generate(*, scale: float, seed: int, progress: Callable[[str], None], today: dt.date | None = None) -> BulkSummary:
    """Classes, students, enrolments and staff for every open school, unless students exist."""
    require_postgresql()
    if Student.objects.exists() or Enrolment.objects.exists():
        return BulkSummary(skipped=True)
    today = today or timezone.localdate()
    summary = BulkSummary()
    started = time.perf_counter()
    planned = plan(scale=scale, seed=seed)
    summary.schools = len({p.school.pk for p in planned})
    summary.parts.append(("编班计划（Python）", time.perf_counter() - started))
    progress(f"  编班计划：{summary.schools:,} 所学校，{len(planned):,} 个班，{summary.parts[-1][1]:.0f} 秒")
    summary.classes, summary.students, parts = write_students(planned, seed=seed, today=today, progress=progress)
    summary.parts += parts
    started = time.perf_counter()
    summary.staff = write_staff(planned, seed=seed, today=today, progress=progress)
    summary.parts.append(("教职工（COPY）", time.perf_counter() - started))
    progress(f"  教职工 {summary.staff:,} 人：{summary.parts[-1][1]:.0f} 秒")
    return summary
