"""Deliberate data-quality anomalies in the demo: at least one of every rule code of ``quality``
(issue 16), each in a named school, for the rules to find and for the pages to show.

``plant(seed=…)`` runs at the end of ``generate_demo --anomalies`` (asked for, because the
generators' own tests check that what they write is valid), before the roll-ups are rebuilt from the
records (so every figure still equals its records); a second run plants nothing again. Most anomalies are records the services would
refuse (an ID number with a wrong check character, a teacher of 17, one person in two schools): they
are written here directly, the way the demo's bulk generators write (``bulk_create`` / ``update``,
personal identifiers sealed with the same ``Sealer``, an audit entry per record). Each one is a
realistic slip of data entry, never a marker a person would not type.

Where they are (the demo accounts ``th_stat`` 天河区 and ``ft_stat`` 福田区 see them; the province and
city accounts see all):

* ``TH_PRIMARY`` = the first primary school of 天河区 by school code (the demo clerk's school at the
  default scale); ``th_kinder(n)`` = the n-th kindergarten of 天河区 — the outlier rules compare a
  school with at least five of the same county and type, which 天河区's kindergartens are from scale
  0.02 on (thirteen at the default 0.05; at 0.002 the second and third do not exist and those two
  anomalies are not planted); ``FT_PRIMARY`` / ``FT_KINDER`` the first of 福田区; ``TH_EMPTY`` = a
  school registered here in 天河区 with staff and no students.
* Records inside a school are picked by primary key among those of a kind (``_nth_student``,
  ``_nth_staff``): planting changes none of what picks them, so ``PLANTED`` finds them again.

Anomalies planted by the generators themselves (not here) are listed in ``PLANTED`` too: the teacher
aged 17 (``demo/staff.py``), the school with students but no staff (``demo/staff.py``), the D级危房
in use (``demo/facilities.py``) and the classes above 66 pupils (``demo/students.py``).

``PLANTED`` is a list of ``Planted(rule, object_type, school, find)``: ``find()`` returns, after
generation, the (object_type, object id) pairs a finding of that rule may name — the record, or for
school-level rules the school — so a test can compare the scan's findings with what was planted.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from eduplatform.core import crypto
from eduplatform.core.identity import Sealer
from eduplatform.demo.province import DEMO_COUNTY, OTHER_COUNTY
from eduplatform.history.models import AuditAction
from eduplatform.history.services import audit_many
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.standards.validators import id_number_check_char, mask_id_number

SOURCE = "演示数据：数据质量检查样例"
EMPTY_SCHOOL_CODE = "2144009901"  # TH_EMPTY, registered here
EMPTY_SCHOOL_NAME = "新塘第二小学"
Pair = tuple[str, int]  # (object_type, object id)

STUDENT = "students.student"
STAFF = "staff.staffmember"
SCHOOL = "orgs.organization"
CLASS = "students.schoolclass"
BUILDING = "facilities.building"
EQUIPMENT = "assets.equipment"
HOLDINGS = "assets.assetholdings"


@dataclass(frozen=True)
class Planted:
    rule: str
    object_type: str  # what the finding is expected to name (``find`` may also allow the school)
    school: str  # where, for people: 「天河区 · 第一所小学」
    find: Callable[[], set[Pair]]
    note: str = ""


# --------------------------------------------------------------------------------------------
# Where: the named schools and the records picked in them


def _schools_of(county_code: str) -> list[Organization]:
    path = Region.objects.get(code=county_code).path
    return list(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0,
                                            region_path__startswith=path)
                .exclude(school_code=EMPTY_SCHOOL_CODE).select_related("region").order_by("school_code"))


def _first(county_code: str, stage: Stage) -> Organization | None:
    return next((s for s in _schools_of(county_code) if s.stage_mask & stage), None)


def th_primary() -> Organization | None:
    return _first(DEMO_COUNTY, Stage.PRIMARY)


def th_kinder(n: int = 0) -> Organization | None:
    """The n-th kindergarten (type 111) of 天河区: peers of one county and type for the outlier rules,
    which compare a school with at least five of its kind (five at scale 0.02, thirteen at 0.05)."""
    kindergartens = [s for s in _schools_of(DEMO_COUNTY) if s.school_type_code == "111"]
    return kindergartens[n] if n < len(kindergartens) else None


def th_kinder_area() -> Organization | None:
    return th_kinder(1)


def th_kinder_equipment() -> Organization | None:
    return th_kinder(2)


def ft_primary() -> Organization | None:
    return _first(OTHER_COUNTY, Stage.PRIMARY)


def ft_kinder() -> Organization | None:
    return _first(OTHER_COUNTY, Stage.PRESCHOOL)


def th_area_short() -> Organization | None:
    """The 天河区 school with the most pupils besides the first primary school and the two
    kindergartens of the outliers (a small school is given 60 pupils' worth of space, so a
    hundredth of it would not look short)."""
    from eduplatform.students.models import Enrolment

    taken = {s.pk for s in (th_primary(), th_kinder_area(), th_kinder_equipment()) if s is not None}
    candidates = [s for s in _schools_of(DEMO_COUNTY) if s.pk not in taken]
    if not candidates:
        return None
    sizes = dict(Enrolment.objects.filter(is_active=True, school__in=candidates).values("school_id")
                 .annotate(n=Count("pk")).values_list("school_id", "n"))
    return max(candidates, key=lambda s: (sizes.get(s.pk, 0), [-ord(c) for c in s.school_code]))


def th_empty() -> Organization | None:
    return Organization.objects.filter(school_code=EMPTY_SCHOOL_CODE).first()


def _students(school: Organization | None):
    """Active students of ``school`` with a resident ID card, by primary key (what picks are made from)."""
    from eduplatform.students.models import Student

    if school is None:
        return Student.objects.none()
    return Student.objects.filter(school=school, id_type="1", enrolments__is_active=True).order_by("pk")


def _nth_student(school: Organization | None, n: int):
    return _students(school)[n:n + 1].first()


def _nth_staff(school: Organization | None, n: int, **filters):
    """The n-th active non-leader staff member of ``school`` (by primary key) with an ID card."""
    from eduplatform.staff.models import StaffMember

    if school is None:
        return None
    return (StaffMember.objects.filter(unit=school, is_active=True, id_type="1", is_school_leader=False, **filters)
            .order_by("pk")[n:n + 1].first())


def _ids(object_type: str, *objects) -> set[Pair]:
    return {(object_type, o.pk) for o in objects if o is not None}


# Which pick each anomaly uses (kept apart so no record carries two anomalies).
S_INVALID, S_SEX, S_REUSED_OWNER, S_REUSED, S_AGE, S_MISSING = 0, 1, 2, 3, 4, 5
T_INVALID, T_SEX, T_RETIRED, T_MISSING, T_DUP = 0, 1, 2, 3, 10  # T_DUP among teachers only
TEACHER = {"post_category": "1"}
WORKER = {"post_category": "4"}


# --------------------------------------------------------------------------------------------
# Finders: what the scan should name, after generation


def _today() -> dt.date:
    return timezone.localdate()


def _find_student(pick: int) -> Callable[[], set[Pair]]:
    return lambda: _ids(STUDENT, _nth_student(th_primary(), pick))


def _find_student_or_school(pick: int) -> Callable[[], set[Pair]]:
    return lambda: _ids(STUDENT, _nth_student(th_primary(), pick)) | _ids(SCHOOL, th_primary())


def _find_reused() -> set[Pair]:
    return _ids(STUDENT, _nth_student(th_primary(), S_REUSED), _nth_student(th_primary(), S_REUSED_OWNER))


def _find_duplicate_pair() -> set[Pair]:
    from eduplatform.students.models import Student

    original = _undocumented(th_primary())
    if original is None:
        return set()
    return _ids(STUDENT, *Student.objects.filter(id_type="Z", name=original.name, gender=original.gender,
                                                 birth_date=original.birth_date, enrolments__is_active=True))


def _find_staff(school: Callable[[], Organization | None], pick: int, **filters) -> Callable[[], set[Pair]]:
    return lambda: _ids(STAFF, _nth_staff(school(), pick, **filters))


def _find_staff_or_school(school: Callable[[], Organization | None], pick: int, **filters) -> Callable[[], set[Pair]]:
    return lambda: _ids(STAFF, _nth_staff(school(), pick, **filters)) | _ids(SCHOOL, school())


def _find_staff_duplicate() -> set[Pair]:
    from eduplatform.staff.models import StaffMember

    original = _nth_staff(th_primary(), T_DUP, **TEACHER)
    if original is None:
        return set()
    return _ids(STAFF, *StaffMember.objects.filter(is_active=True, name=original.name, birth_date=original.birth_date,
                                                   gender=original.gender))


def _find_teenager() -> set[Pair]:
    from eduplatform.staff.models import StaffMember

    limit = _today().replace(year=_today().year - 18)
    return _ids(STAFF, *StaffMember.objects.filter(is_active=True, birth_date__gt=limit))


def _student_staff() -> tuple[object, object] | tuple[None, None]:
    """(the adult senior student, the staff post with the same ID number at TH_PRIMARY)."""
    from eduplatform.staff.models import StaffMember
    from eduplatform.students.models import Student

    student = _adult_student()
    if student is None:
        return None, None
    staff = StaffMember.objects.filter(is_active=True, id_number_index=student.id_number_index).first()
    return Student.objects.get(pk=student.pk), staff


def _find_student_is_staff() -> set[Pair]:
    student, staff = _student_staff()
    return _ids(STUDENT, student) | _ids(STAFF, staff)


def _find_no_teachers() -> set[Pair]:
    from eduplatform.staff.models import StaffMember
    from eduplatform.students.models import Enrolment

    with_students = set(Enrolment.objects.filter(is_active=True).values_list("school_id", flat=True).distinct())
    with_teachers = set(StaffMember.objects.filter(is_active=True, post_category="1", unit_kind=OrgKind.SCHOOL)
                        .values_list("unit_id", flat=True).distinct())
    return {(SCHOOL, pk) for pk in with_students - with_teachers}


def _find_class_size() -> set[Pair]:
    from eduplatform.students.models import SchoolClass

    path = Region.objects.get(code=DEMO_COUNTY).path
    big = (SchoolClass.objects.filter(region_path__startswith=path)
           .annotate(n=Count("enrolments", filter=Q(enrolments__is_active=True))).filter(n__gt=66))
    return _ids(CLASS, *big)


def _find_dangerous() -> set[Pair]:
    from eduplatform.facilities.models import Building

    return _ids(BUILDING, *Building.objects.filter(condition="24", in_use=True, demolished_on__isnull=True))


def _find_building_missing() -> set[Pair]:
    from eduplatform.facilities.models import Building

    return _ids(BUILDING, *Building.objects.filter(school=th_kinder(), structure="")) | _ids(SCHOOL, th_kinder())


def _find_equipment_missing() -> set[Pair]:
    from eduplatform.assets.models import Equipment

    return _ids(EQUIPMENT, *Equipment.objects.filter(school=th_kinder(), funding_source="")) | _ids(SCHOOL, th_kinder())


def _school(finder: Callable[[], Organization | None]) -> Callable[[], set[Pair]]:
    return lambda: _ids(SCHOOL, finder())


PLANTED: list[Planted] = [
    Planted("S_ID_INVALID", STUDENT, "天河区第一所小学", _find_student(S_INVALID), "身份证件号校验位错误"),
    Planted("S_ID_SEX_BIRTH", STUDENT, "天河区第一所小学", _find_student(S_SEX), "性别与身份证件号第 17 位不符"),
    Planted("S_DUP_PERSON", STUDENT, "天河区第一所小学、福田区第一所小学", _find_duplicate_pair,
            "无证件学生在两校同时在籍：姓名、性别、出生日期、监护人均相同"),
    Planted("S_NUMBER_REUSED", STUDENT, "天河区第一所小学", _find_reused,
            "学籍号是另一名学生已停用的临时学籍号（停用的学籍号不得再分配）"),
    Planted("S_AGE_GRADE", STUDENT, "天河区第一所小学", _find_student(S_AGE), "比所在年级典型年龄大 5 岁"),
    Planted("S_REQUIRED_MISSING", STUDENT, "天河区第一所小学", _find_student_or_school(S_MISSING), "民族未填"),
    Planted("T_ID_INVALID", STAFF, "天河区第一所小学", _find_staff(th_primary, T_INVALID), "身份证件号校验位错误"),
    Planted("T_ID_SEX_BIRTH", STAFF, "天河区第一所小学", _find_staff(th_primary, T_SEX), "出生日期与身份证件号不符"),
    Planted("T_DUP_PERSON", STAFF, "天河区第一所小学、天河区第一所幼儿园", _find_staff_duplicate,
            "同一身份证件号在两个单位在岗（另一单位登记为户口簿）"),
    Planted("T_AGE", STAFF, "天河区（demo/staff.py）", _find_teenager, "17 岁的专任教师（错误）"),
    Planted("T_AGE", STAFF, "天河区第一所小学", _find_staff(th_primary, T_RETIRED), "66 岁仍在岗（警告）"),
    Planted("T_REQUIRED_MISSING", STAFF, "天河区第一所小学", _find_staff_or_school(th_primary, T_MISSING), "最高学历未填"),
    Planted("X_STUDENT_IS_STAFF", STUDENT, "全省第一名满 18 岁的高中生；天河区第一所小学的工勤人员",
            _find_student_is_staff, "在籍高中生同时是在岗教职工"),
    Planted("X_CLASS_GRADE", SCHOOL, "天河区第一所小学", _school(th_primary), "一个年级的学生全部编在一个班"),
    Planted("X_STAFF_LOAD", SCHOOL, "天河区第一所幼儿园", _school(th_kinder), "专任教师远多于班级数"),
    Planted("X_AREA_STUDENTS", SCHOOL, "天河区在校生最多的其他学校", _school(th_area_short), "校舍面积只有原来的百分之一"),
    Planted("O_NO_TEACHERS", SCHOOL, "天河区以外（demo/staff.py）", _find_no_teachers, "有在籍学生但没有专任教师"),
    Planted("O_NO_STUDENTS", SCHOOL, EMPTY_SCHOOL_NAME, _school(th_empty), "有教职工但没有在籍学生（空壳学校）"),
    Planted("O_AREA_OUTLIER", SCHOOL, "天河区第二所幼儿园", _school(th_kinder_area), "校舍面积为原来的 15 倍"),
    Planted("O_EQUIPMENT_OUTLIER", SCHOOL, "天河区第三所幼儿园", _school(th_kinder_equipment),
            "教学仪器设备值为原来的 30 倍"),
    Planted("C_CLASS_SIZE", CLASS, "天河区（demo/students.py）", _find_class_size, "超大班额：67–72 人"),
    Planted("F_DANGEROUS_IN_USE", BUILDING, "3 所学校（demo/facilities.py）", _find_dangerous, "D级危房仍在使用"),
    Planted("F_REQUIRED_MISSING", BUILDING, "天河区第一所幼儿园", _find_building_missing, "建筑结构未填"),
    Planted("A_REQUIRED_MISSING", EQUIPMENT, "天河区第一所幼儿园", _find_equipment_missing, "设备经费来源未填"),
]


# --------------------------------------------------------------------------------------------
# Planting


def _audit(object_type: str, rows: list[tuple[object, str, dict, str, int | None]], action=AuditAction.UPDATE) -> None:
    if rows:
        audit_many(actor=None, action=action, object_type=object_type, note=SOURCE,
                   items=[(pk, label, changes, path, school) for pk, label, changes, path, school in rows])


def _change(field: str, label: str, before: object, after: object) -> dict:
    return {field: {"label": label, "before": str(before), "after": str(after)}}


def _valid_id(area: str, birth: dt.date, female: bool, taken: Callable[[str], bool], start: int = 990) -> str:
    """A valid GB 11643 number (sex in the sequence's parity), not taken yet."""
    for seq in range(start, 0, -2):
        seq3 = seq - (seq % 2) + (0 if female else 1)
        body = f"{area}{birth:%Y%m%d}{seq3:03d}"
        number = body + id_number_check_char(body)
        if not taken(number):
            return number
    raise RuntimeError("no free ID number")


def _wrong_check(number: str) -> str:
    right = number[-1]
    return number[:-1] + next(c for c in "0123456789X" if c != right)


def _student_id_taken(sealer: Sealer) -> Callable[[str], bool]:
    from eduplatform.students.models import Student

    return lambda n: Student.objects.filter(id_number_index=sealer.id_index("1", n)).exists()


def _staff_id_taken(sealer: Sealer) -> Callable[[str], bool]:
    from eduplatform.staff.models import StaffMember

    return lambda n: StaffMember.objects.filter(id_number_index=sealer.id_index("1", n)).exists()


def _reseal(record, sealer: Sealer, number: str, *, index: str | None = None) -> None:
    sealed = sealer.id_number("1", number)
    record.id_number_cipher, record.id_number_masked = sealed.cipher, sealed.masked
    record.id_number_index = index if index is not None else sealed.index


def _undocumented(school: Organization | None):
    from eduplatform.students.models import Student

    if school is None:
        return None
    return (Student.objects.filter(school=school, id_type="Z", enrolments__is_active=True)
            .exclude(guardians=[]).order_by("pk").first())


def _adult_student():
    """The first active student of 普通高中 aged 18 or more (by region, then primary key), with an ID card."""
    from eduplatform.students.models import Student

    limit = _today().replace(year=_today().year - 18)
    return (Student.objects.filter(id_type="1", birth_date__lte=limit, enrolments__is_active=True,
                                   enrolments__stage=Stage.SENIOR)
            .order_by("region_path", "pk").first())


def _plant_students(sealer: Sealer, rng: random.Random, lines: list[str]) -> None:
    from eduplatform.students.models import RetiredStudentNumber, Student

    school = th_primary()
    if school is None:
        return
    taken = _student_id_taken(sealer)
    picks = {k: _nth_student(school, k) for k in (S_INVALID, S_SEX, S_REUSED_OWNER, S_REUSED, S_AGE, S_MISSING)}
    if any(p is None for p in picks.values()):
        return
    audit: list = []
    # S_ID_INVALID: the check character mistyped.
    s = picks[S_INVALID]
    number = crypto.decrypt(s.id_number_cipher)
    _reseal(s, sealer, _wrong_check(number))
    Student.objects.filter(pk=s.pk).update(id_number_cipher=s.id_number_cipher, id_number_index=s.id_number_index,
                                           id_number_masked=s.id_number_masked)
    audit.append((s.pk, s.name, _change("id_number", "身份证件号", mask_id_number(number), s.id_number_masked),
                  s.region_path, school.pk))
    # S_ID_SEX_BIRTH: the sex typed wrong (the ID number's 17th digit says otherwise).
    s = picks[S_SEX]
    gender = "2" if s.gender == "1" else "1"
    Student.objects.filter(pk=s.pk).update(gender=gender)
    audit.append((s.pk, s.name, _change("gender", "性别", s.gender, gender), s.region_path, school.pk))
    # S_NUMBER_REUSED: the owner first had a temporary 学籍号 (L…), retired when his G number was issued
    # (students.models.RetiredStudentNumber: never to be issued again); another pupil was given it.
    owner, other = picks[S_REUSED_OWNER], picks[S_REUSED]
    stem = f"L{school.region.code[:6]}{owner.birth_date:%Y%m%d}"
    retired = next(f"{stem}{n:04d}" for n in range(9998, 0, -1)
                   if not Student.objects.filter(student_number=f"{stem}{n:04d}").exists()
                   and not RetiredStudentNumber.objects.filter(number=f"{stem}{n:04d}").exists())
    RetiredStudentNumber.objects.bulk_create([RetiredStudentNumber(number=retired, student=owner)])
    Student.objects.filter(pk=other.pk).update(student_number=retired)
    audit.append((owner.pk, owner.name, _change("student_number", "学籍号", retired, owner.student_number),
                  owner.region_path, school.pk))
    audit.append((other.pk, other.name, _change("student_number", "学籍号", other.student_number, retired),
                  other.region_path, school.pk))
    # S_AGE_GRADE: five years older than the grade's typical age (valid ID for the new birth date).
    s = picks[S_AGE]
    birth = s.birth_date.replace(year=s.birth_date.year - 5) if not (s.birth_date.month == 2 and s.birth_date.day == 29) \
        else dt.date(s.birth_date.year - 5, 2, 28)
    _reseal(s, sealer, _valid_id(school.region.code[:6], birth, s.gender == "2", taken))
    Student.objects.filter(pk=s.pk).update(birth_date=birth, id_number_cipher=s.id_number_cipher,
                                           id_number_index=s.id_number_index, id_number_masked=s.id_number_masked)
    audit.append((s.pk, s.name, _change("birth_date", "出生日期", s.birth_date, birth), s.region_path, school.pk))
    # S_REQUIRED_MISSING: 民族 left empty.
    s = picks[S_MISSING]
    Student.objects.filter(pk=s.pk).update(ethnicity="")
    audit.append((s.pk, s.name, _change("ethnicity", "民族", s.ethnicity, ""), s.region_path, school.pk))
    _audit(STUDENT, audit)
    lines.append(f"{school.name}：学生身份证件号校验位错误、性别与证件号不符、学籍号重复使用、超龄、民族未填各 1 名")
    _plant_duplicate_person(rng, lines)


def _plant_duplicate_person(rng: random.Random, lines: list[str]) -> None:
    """An undocumented pupil of TH_PRIMARY registered again at FT_PRIMARY (same name, sex, birth date
    and guardians): one person in two schools, which the register refuses through its services."""
    from eduplatform.students.models import Enrolment, SchoolClass, Student

    original, school = _undocumented(th_primary()), ft_primary()
    if original is None or school is None:
        return
    enrolment = Enrolment.objects.get(student=original, is_active=True)
    school_class = (SchoolClass.objects.filter(school=school, grade=enrolment.grade).order_by("school_year", "number")
                    .last())
    if school_class is None:
        return
    stem = f"L{school.region.code[:6]}{original.birth_date:%Y%m%d}"
    number = next(f"{stem}{n:04d}" for n in range(9999, 0, -1)
                  if not Student.objects.filter(student_number=f"{stem}{n:04d}").exists())
    copy = Student.objects.get(pk=original.pk)
    copy.pk, copy.student_number, copy.school, copy.region_path = None, number, school, school.region_path
    copy.public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    copy.created_at = copy.updated_at = timezone.now()
    copy._state.adding = True
    Student.objects.bulk_create([copy])
    copy = Student.objects.get(student_number=number)
    twin = Enrolment.objects.get(pk=enrolment.pk)
    twin.pk, twin.student, twin.school, twin.region_path, twin.school_class = (
        None, copy, school, school.region_path, school_class)
    twin.created_at = twin.updated_at = timezone.now()
    twin._state.adding = True
    Enrolment.objects.bulk_create([twin])
    _audit(STUDENT, [(copy.pk, copy.name, {"school": {"label": "学校", "before": None, "after": school.name}},
                      copy.region_path, school.pk)], AuditAction.CREATE)
    lines.append(f"无证件学生 1 名同时在 {original.school.name} 与 {school.name} 在籍")


def _new_staff(posts: list, lines_note: str) -> None:
    from eduplatform.staff.models import StaffEvent, StaffEventKind, StaffMember

    now = timezone.now()
    for p in posts:
        p.created_at = p.updated_at = now
    StaffMember.objects.bulk_create(posts)
    numbers = [p.staff_number for p in posts]
    saved = list(StaffMember.objects.filter(staff_number__in=numbers, is_active=True).select_related("unit"))
    StaffEvent.objects.bulk_create([
        StaffEvent(staff_id=p.pk, kind=StaffEventKind.HIRE, occurred_on=p.joined_on or now.date(), reason=SOURCE,
                   detail={"unit": p.unit.name}, unit_id=p.unit_id, region_path=p.region_path,
                   unit_kind=p.unit_kind, stage_mask=p.stage_mask, recorded_by="系统", recorded_at=now)
        for p in saved])
    _audit(STAFF, [(p.pk, p.name, {"unit": {"label": "单位", "before": None, "after": p.unit.name}}, p.region_path,
                    p.unit_id) for p in saved], AuditAction.CREATE)


class _Numbers:
    """教职工号 for posts added here: county code + year + 9 + a running number (the generator's own
    numbers end far below 90000)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def __call__(self, unit: Organization) -> Callable[[], str]:
        prefix = f"{unit.region.code[:6]}{_today().year}9"

        if prefix not in self.counters:  # numbers issued by an earlier step of this run
            from eduplatform.staff.models import StaffMember

            last = (StaffMember.objects.filter(staff_number__startswith=prefix).order_by("-staff_number")
                    .values_list("staff_number", flat=True).first())
            self.counters[prefix] = int(last[len(prefix):]) if last else 0

        def issue() -> str:
            self.counters[prefix] += 1
            return f"{prefix}{self.counters[prefix]:04d}"
        return issue


class _UniquePeople:
    """demo.staff's people, whose ID numbers also avoid every number already in the register."""

    def __init__(self, sealer: Sealer) -> None:
        from eduplatform.demo.staff import _People

        self.inner, self.taken = _People(_today()), _staff_id_taken(sealer)
        self.today = self.inner.today

    def id_number(self, rng, area, birth, female):
        while True:
            number = self.inner.id_number(rng, area, birth, female)
            if not self.taken(number):
                return number

    def birth(self, rng, youngest: int = 22, oldest: int = 59):
        return self.inner.birth(rng, youngest, oldest)


def _plant_staff(sealer: Sealer, rng: random.Random, lines: list[str]) -> None:
    from eduplatform.demo.staff import _post, _school_staff
    from eduplatform.staff.models import StaffMember

    numbers = _Numbers()
    people = _UniquePeople(sealer)
    ft = th_primary()
    if ft is not None and all(_nth_staff(ft, k) for k in (T_INVALID, T_SEX, T_RETIRED, T_MISSING)):
        audit = []
        m = _nth_staff(ft, T_INVALID)
        number = crypto.decrypt(m.id_number_cipher)
        _reseal(m, sealer, _wrong_check(number))
        StaffMember.objects.filter(pk=m.pk).update(id_number_cipher=m.id_number_cipher, id_number_index=m.id_number_index,
                                                   id_number_masked=m.id_number_masked)
        audit.append((m.pk, m.name, _change("id_number", "身份证件号", mask_id_number(number), m.id_number_masked),
                      m.region_path, ft.pk))
        m = _nth_staff(ft, T_SEX)
        birth = m.birth_date - dt.timedelta(days=400)  # the ID number's date stays: they disagree
        StaffMember.objects.filter(pk=m.pk).update(birth_date=birth)
        audit.append((m.pk, m.name, _change("birth_date", "出生日期", m.birth_date, birth), m.region_path, ft.pk))
        m = _nth_staff(ft, T_RETIRED)
        birth = dt.date(_today().year - 66, 3, 1)
        _reseal(m, sealer, people.id_number(rng, ft.region.code[:6], birth, m.gender == "2"))
        StaffMember.objects.filter(pk=m.pk).update(birth_date=birth, id_number_cipher=m.id_number_cipher,
                                                   id_number_index=m.id_number_index, id_number_masked=m.id_number_masked)
        audit.append((m.pk, m.name, _change("birth_date", "出生日期", m.birth_date, birth), m.region_path, ft.pk))
        m = _nth_staff(ft, T_MISSING)
        StaffMember.objects.filter(pk=m.pk).update(education_level="")
        audit.append((m.pk, m.name, _change("education_level", "最高学历", m.education_level, ""), m.region_path, ft.pk))
        _audit(STAFF, audit)
        lines.append(f"{ft.name}：教职工身份证件号校验位错误、出生日期与证件号不符、66 岁仍在岗、最高学历未填各 1 名")

    th, kinder = th_primary(), th_kinder()
    original = _nth_staff(th, T_DUP, **TEACHER)
    if original is not None and kinder is not None:
        # T_DUP_PERSON: the same teacher also on the kindergarten's books, her ID number typed as a
        # 户口簿 number (the register's one-active-post check compares numbers of the same type).
        number = crypto.decrypt(original.id_number_cipher)
        twin = StaffMember.objects.get(pk=original.pk)
        twin.pk, twin.unit, twin.region_path, twin.stage_mask = None, kinder, kinder.region_path, kinder.stage_mask
        twin.staff_number, twin.id_type = numbers(kinder)(), "B"
        twin.id_number_index = sealer.id_index("B", number)
        twin.is_school_leader = twin.is_administrator = False
        twin.position = twin.duty_category = ""
        twin.post_category, twin.teaching_stage = "1", "1"
        twin._state.adding = True
        _new_staff([twin], "")
        lines.append(f"{original.name}同时在 {th.name} 与 {kinder.name} 在岗")

    student = _adult_student()
    if student is not None and th is not None:
        # X_STUDENT_IS_STAFF: an 18-year-old senior student also on TH_PRIMARY's books as a 工勤 worker.
        number = crypto.decrypt(student.id_number_cipher)
        post = _post(people, random.Random(f"{rng.random()}"), th, numbers(th)(), birth=student.birth_date,
                     post_category="4", education_level="61")
        post.name, post.gender = student.name, student.gender
        _reseal(post, sealer, number)
        post.first_employed_on = post.joined_on = _today() - dt.timedelta(days=60)
        _new_staff([post], "")
        lines.append(f"在籍高中生{student.name}同时是 {th.name} 的在岗工勤人员")

    if kinder is not None:
        # X_STAFF_LOAD: forty more full-time teachers on a kindergarten of a few classes.
        extra = [p for p in _school_staff(people, random.Random(f"{rng.random()}"), kinder, 600, numbers(kinder))
                 if p.post_category == "1" and not p.is_school_leader][:40]
        _new_staff(extra, "")
        lines.append(f"{kinder.name}：另增专任教师 {len(extra)} 名（班级数远少于教师数）")


def _plant_empty_school(sealer: Sealer, rng: random.Random, lines: list[str]) -> None:
    """O_NO_STUDENTS: a primary school registered in 天河区 with staff and no pupil yet (空壳学校)."""
    from eduplatform.demo.staff import _school_staff
    from eduplatform.orgs import services as org_services

    th = th_primary()
    if th is None or th_empty() is not None:
        return
    school = org_services.register_schools(actor=None, rows=[{
        "school_code": EMPTY_SCHOOL_CODE, "name": EMPTY_SCHOOL_NAME, "school_type_code": "211",
        "sponsor_code": "831", "urban_rural_code": th.urban_rural_code, "town_code": th.region.code,
        "address": f"{th.address[:-3]}二号" if th.address else "广州市天河区新塘", "longitude": th.longitude,
        "latitude": th.latitude, "principal_name": "陈志明", "phone": th.phone, "founded_on": f"{_today().year - 1}-09-01",
    }])[0]
    school = Organization.objects.select_related("region").get(pk=school.pk)
    posts = _school_staff(_UniquePeople(sealer), random.Random(f"{rng.random()}"), school, 120, _Numbers()(school))
    _new_staff(posts, "")
    lines.append(f"{school.name}：教职工 {len(posts)} 名，没有在籍学生")


def _plant_classes(lines: list[str]) -> None:
    """X_CLASS_GRADE: one grade of TH_PRIMARY put into a single class (the others deleted, empty), so
    the grade's pupils are far more than its classes hold."""
    from eduplatform.students.models import Enrolment, SchoolClass

    school = th_primary()
    if school is None:
        return
    rows = (Enrolment.objects.filter(school=school, is_active=True, stage=Stage.PRIMARY).values("grade")
            .annotate(n=Count("pk"), classes=Count("school_class", distinct=True)).order_by("-grade"))
    grade = next((r["grade"] for r in rows if r["classes"] >= 2 and r["n"] >= 70), None)
    if grade is None:
        return
    enrolments = Enrolment.objects.filter(school=school, is_active=True, grade=grade)
    keep = SchoolClass.objects.filter(pk__in=enrolments.values("school_class_id")).order_by("number").first()
    others = list(SchoolClass.objects.filter(school=school, school_year=keep.school_year, grade=grade).exclude(pk=keep.pk))
    n = enrolments.update(school_class=keep)
    SchoolClass.objects.filter(pk__in=[c.pk for c in others]).delete()
    lines.append(f"{school.name}：{keep.name}编入全年级 {n} 名学生（删去其余 {len(others)} 个空班）")


def _plant_facilities_and_assets(lines: list[str]) -> None:
    from eduplatform.assets.models import AssetHoldings, Equipment
    from eduplatform.facilities.models import Building

    area_fields = ("total_area", "teaching_area", "admin_area", "living_area", "other_area")
    kinder, area_outlier, equipment_outlier, ft_k = th_kinder(), th_kinder_area(), th_kinder_equipment(), th_area_short()
    if area_outlier is not None:  # O_AREA_OUTLIER: fifteen times its floor area
        Building.objects.filter(school=area_outlier).update(**{f: F(f) * 15 for f in area_fields})
        lines.append(f"{area_outlier.name}：校舍面积为原来的 15 倍")
    if ft_k is not None:  # X_AREA_STUDENTS: a hundredth of its floor area (typed in the wrong unit)
        Building.objects.filter(school=ft_k).update(**{f: F(f) / 100 for f in area_fields})
        lines.append(f"{ft_k.name}：校舍面积只有原来的百分之一")
    if equipment_outlier is not None:  # O_EQUIPMENT_OUTLIER: thirty times its equipment value
        AssetHoldings.objects.filter(school=equipment_outlier).update(
            teaching_equipment_value=F("teaching_equipment_value") * 30)
        Equipment.objects.filter(school=equipment_outlier).update(value=F("value") * 30, unit_price=F("unit_price") * 30)
        lines.append(f"{equipment_outlier.name}：教学仪器设备值为原来的 30 倍")
    if kinder is not None:
        first = Building.objects.filter(school=kinder).order_by("pk").first()
        if first is not None:  # F_REQUIRED_MISSING
            Building.objects.filter(pk=first.pk).update(structure="")
            _audit(BUILDING, [(first.pk, first.name, _change("structure", "建筑结构", first.structure, ""),
                               first.region_path, kinder.pk)])
        line = Equipment.objects.filter(school=kinder).order_by("pk").first()
        if line is not None:  # A_REQUIRED_MISSING
            Equipment.objects.filter(pk=line.pk).update(funding_source="")
            _audit(EQUIPMENT, [(line.pk, line.name, _change("funding_source", "经费来源", line.funding_source, ""),
                                line.region_path, kinder.pk)])
        lines.append(f"{kinder.name}：建筑结构、设备经费来源未填各 1 条")


def plant(*, seed: int) -> str:
    """Plant the anomalies once (a second run finds ``TH_EMPTY`` registered and does nothing)."""
    if th_empty() is not None or th_primary() is None:
        return ""
    rng = random.Random(f"{seed}:anomalies")
    sealer = Sealer()
    lines: list[str] = []
    with transaction.atomic():
        _plant_students(sealer, rng, lines)
        _plant_staff(sealer, rng, lines)
        _plant_empty_school(sealer, rng, lines)
        _plant_classes(lines)
        _plant_facilities_and_assets(lines)
    return "数据质量检查样例（见 eduplatform/demo/anomalies.py）：\n  " + "\n  ".join(lines)


__all__ = ["PLANTED", "Planted", "plant"]
