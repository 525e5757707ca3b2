"""The demo's deliberate anomalies (demo/anomalies.py ``PLANTED``) are each found by the right rule,
and nothing else in the demo is flagged as an error (issue 16, acceptance).

A small demo province is generated once for the module and rolled back afterwards, as in
tests/test_demo_facilities.py — at scale 0.02 (765 schools), the smallest at which 天河区 has the five
kindergartens the outlier rules need as peers — and the rules scan the whole province
(``ScanScope("44/")``).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from eduplatform.demo import anomalies
from eduplatform.quality.models import Severity

pytestmark = pytest.mark.django_db

# The rule codes fixed in the contract of issue 16 (logs/COMMON.md): the demo plants one of each.
RULE_CODES = {
    "S_ID_INVALID", "S_ID_SEX_BIRTH", "S_DUP_PERSON", "S_NUMBER_REUSED", "S_AGE_GRADE", "S_REQUIRED_MISSING",
    "T_ID_INVALID", "T_ID_SEX_BIRTH", "T_DUP_PERSON", "T_AGE", "T_REQUIRED_MISSING",
    "X_STUDENT_IS_STAFF", "X_CLASS_GRADE", "X_STAFF_LOAD", "X_AREA_STUDENTS",
    "O_NO_TEACHERS", "O_NO_STUDENTS", "O_AREA_OUTLIER", "O_EQUIPMENT_OUTLIER", "C_CLASS_SIZE",
    "F_DANGEROUS_IN_USE", "F_REQUIRED_MISSING", "A_REQUIRED_MISSING",
}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("generate_demo", "--scale", "0.02", "--students", "0.02", "--anomalies", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def findings(demo, django_db_blocker):
    from eduplatform.quality.engine import scan_findings
    from eduplatform.quality.rules import ScanScope

    with django_db_blocker.unblock():
        return list(scan_findings(ScanScope("44/")))


def test_every_rule_code_has_a_planted_anomaly_in_the_demo(demo):
    assert {p.rule for p in anomalies.PLANTED} == RULE_CODES
    assert "数据质量检查样例" in demo
    for planted in anomalies.PLANTED:
        assert planted.find(), (planted.rule, planted.note)  # the anomaly is there after generation
    # Few, and where the demo accounts look: the planted records sit in 天河区 or 福田区 except the
    # generators' own (the school without staff, two of the three 危房, the adult senior student).
    assert len(anomalies.PLANTED) <= 2 * len(RULE_CODES)


def test_each_planted_anomaly_is_found_by_its_rule(findings):
    found = {(f.rule, f.object_type, f.object_id) for f in findings}
    missed = []
    for planted in anomalies.PLANTED:
        expected = planted.find()
        if not any((planted.rule, object_type, object_id) in found for object_type, object_id in expected):
            missed.append(f"{planted.rule} {planted.school}：{planted.note} {sorted(expected)}")
    assert not missed, "\n".join(missed)


def test_every_error_in_the_demo_is_a_planted_one(findings):
    from eduplatform.quality.rules import RULES

    planted: dict[str, set] = {}
    for p in anomalies.PLANTED:
        planted.setdefault(p.rule, set()).update(p.find())
    unexpected = [f"{f.rule} {f.object_type}:{f.object_id} {f.object_label} {f.message}" for f in findings
                  if RULES[f.rule].severity == Severity.ERROR
                  and (f.object_type, f.object_id) not in planted.get(f.rule, set())]
    assert not unexpected, "\n".join(unexpected[:20])
