"""Small test rules for the issue workflow and the scans (the real rules are the rules helper's):
each finds exactly what the test tells it to, so every assertion knows what a scan must produce.

``flag_school`` makes Z_SCHOOL find a school; students named with 「错」 are found by Z_NAME (a
record rule, so a write that renames them is rechecked); ``duplicate`` makes Z_DUP find one person
on several schools (one issue per side, one group key)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from eduplatform.orgs.models import Organization
from eduplatform.quality import rules
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.students.models import Student

FLAGGED: dict[int, str] = {}  # school id → message
DUPS: dict[str, list[tuple[int, int]]] = {}  # group → [(school id, student id)]
CODES = ["Z_SCHOOL", "Z_NAME", "Z_DUP"]


def _schools(scope: ScanScope):
    qs = Organization.objects.filter(kind="school", region_path__startswith=scope.region_path)
    if scope.school_ids is not None:
        qs = qs.filter(pk__in=scope.school_ids)
    return qs


def _school_scan(scope: ScanScope) -> Iterator[Finding]:
    for s in _schools(scope).filter(pk__in=list(FLAGGED)):
        yield Finding(rule="Z_SCHOOL", school_id=s.pk, region_path=s.region_path, object_type="orgs.organization",
                      object_id=s.pk, object_label=s.name, message=FLAGGED[s.pk], stage_mask=s.stage_mask,
                      evidence={"message": FLAGGED[s.pk]})


def _name_findings(students) -> Iterator[Finding]:
    for st in students.filter(name__contains="错").select_related("school"):
        yield Finding(rule="Z_NAME", school_id=st.school_id, region_path=st.school.region_path,
                      object_type="students.student", object_id=st.pk, object_label=st.name,
                      message=f"姓名「{st.name}」含错字", fields=("name",), evidence={"name": st.name},
                      stage_mask=st.school.stage_mask)


def _name_scan(scope: ScanScope) -> Iterator[Finding]:
    yield from _name_findings(Student.objects.filter(school__in=_schools(scope)))


def _name_record(ids: Sequence[int]) -> Iterator[Finding]:
    yield from _name_findings(Student.objects.filter(pk__in=ids))


def _dup_scan(scope: ScanScope) -> Iterator[Finding]:
    in_scope = set(_schools(scope).values_list("pk", flat=True))
    for group, sides in DUPS.items():
        for school_id, student_id in sides:
            if school_id in in_scope:
                s = Organization.objects.get(pk=school_id)
                others = [o for o, _ in sides if o != school_id]
                yield Finding(rule="Z_DUP", school_id=school_id, region_path=s.region_path,
                              object_type="students.student", object_id=student_id, object_label=f"同一人#{group}",
                              message=f"同一人在 {len(sides)} 所学校有在籍学籍", group=group,
                              evidence={"other_schools": others}, stage_mask=s.stage_mask)


TEST_RULES = [
    Rule(code="Z_SCHOOL", title="测试：学校被标记", description="测试规则", severity=Severity.WARNING,
         database=Database.SCHOOLS, fields=(), scan=_school_scan, kind="plausibility"),
    Rule(code="Z_NAME", title="测试：姓名含错字", description="测试规则", severity=Severity.ERROR,
         database=Database.STUDENTS, fields=("name",), scan=_name_scan, record=_name_record,
         object_type="students.student"),
    Rule(code="Z_DUP", title="测试：同一人多校在籍", description="测试规则", severity=Severity.ERROR,
         database=Database.STUDENTS, fields=("id_number",), scan=_dup_scan),
]


@pytest.fixture(autouse=True)
def evidence_files(settings, tmp_path):
    """Uploaded evidence goes to a temporary folder, not the working directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(name="test_rules")
def test_rules_fixture():
    """The test rules alone in the registry (the real ones are set aside for the test)."""
    saved = dict(rules.RULES)
    rules.RULES.clear()
    for r in TEST_RULES:
        rules.register(r)
    FLAGGED.clear()
    DUPS.clear()
    yield CODES
    rules.RULES.clear()
    rules.RULES.update(saved)
    FLAGGED.clear()
    DUPS.clear()
