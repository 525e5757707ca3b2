"""Province-wide duplicate look-ups for a whole batch of registrations at once.

A student without an ID number (证件类型 Z) is the same person as an active student without one who
has the same name, sex and birth date — and, when the row names a first guardian, a guardian of that
name. Looked up one row at a time, a file of 50,000 such rows made 50,000 queries against a register
of 27 million; here the distinct (name, sex, birth date) keys of the batch go in a few statements,
each served by the ``undocumented_name_birth_sex`` partial index.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection

KEYS_PER_QUERY = 300  # (name, sex, birth date) triples per statement: 900 parameters, under SQLite's limit


@dataclass(frozen=True)
class ActiveHolder:
    """The active enrolment that makes a row a duplicate: where the person studies, under which number."""

    school_id: int
    school_name: str
    student_number: str


def undocumented_holders(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[int, ActiveHolder]:
    """For each row (row number, cleaned values) without an ID number, the active student without one
    who is the same person, if any: same name, sex and birth date, and a guardian of the row's first
    guardian's name when it gives one. The first such enrolment (lowest id) answers."""
    wanted: dict[tuple[str, str, dt.date], list[tuple[int, str]]] = {}
    for row, v in rows:
        wanted.setdefault((v["name"], v["gender"], v["birth_date"]), []).append((row, v.get("guardian1_name") or ""))
    if not wanted:
        return {}
    found: dict[tuple[str, str, dt.date], list[tuple[list[dict], ActiveHolder]]] = {}
    keys = list(wanted)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), KEYS_PER_QUERY):
            part = keys[start:start + KEYS_PER_QUERY]
            values = ", ".join(["(%s, %s, %s)"] * len(part))  # placeholders only: the keys go as parameters
            cursor.execute(
                "SELECT s.name, s.gender, s.birth_date, s.guardians, s.student_number, e.school_id, o.name"  # noqa: S608
                " FROM students_student s"
                " JOIN students_enrolment e ON e.student_id = s.id AND e.is_active"
                " JOIN orgs_organization o ON o.id = e.school_id"
                f" WHERE s.id_number_index = '' AND (s.name, s.gender, s.birth_date) IN (VALUES {values})"
                " ORDER BY e.id",
                [value for key in part for value in key],
            )
            for name, gender, birth, guardians, number, school_id, school_name in cursor.fetchall():
                if isinstance(birth, str):  # SQLite
                    birth = dt.date.fromisoformat(birth)
                if isinstance(guardians, str):  # SQLite returns the JSON text
                    guardians = json.loads(guardians)
                found.setdefault((name, gender, birth), []).append(
                    (guardians or [], ActiveHolder(school_id, school_name, number)))
    holders: dict[int, ActiveHolder] = {}
    for key, candidates in found.items():
        for row, guardian in wanted[key]:
            for guardians, holder in candidates:
                if not guardian or any(g.get("name") == guardian for g in guardians):
                    holders[row] = holder
                    break
    return holders
