"""Batch upsert of a record resource: the API's way in, through the very checks and services of the
spreadsheet import (``ImportKind.check_row`` then ``ImportKind.write``), so a record the API accepts
is one the import would have accepted, audited and fed to the change feed the same way.

Records are grouped by the school they name (``school_code``); a school outside the caller's reach
is a problem of each record naming it (never of the whole request). *All or nothing* runs in one
transaction and rolls it back if any record is rejected; *accept valid* stores exactly the valid
records. Each record gets its result: created, updated, unchanged or rejected with its problems.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from eduplatform.core.errors import BatchInvalid, RowProblem
from eduplatform.core.models import WritePolicy
from eduplatform.exchange.resources import ApiResource
from eduplatform.exchange.serializers import cell_text, natural_key_of, source_of
from eduplatform.imports import registry as imports
from eduplatform.imports.registry import ImportContext, ImportOutcome, RowAction
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import unit_in_reach

SOURCE = "api"
RESULT_OF = {RowAction.CREATE: "created", RowAction.UPDATE: "updated", RowAction.UNCHANGED: "unchanged"}


@dataclass
class RecordOutcome:
    index: int
    key: str
    result: str = "rejected"
    problems: list[dict[str, str]] = field(default_factory=list)


@dataclass
class BatchOutcome:
    applied: bool
    records: list[RecordOutcome]

    def count(self, result: str) -> int:
        return sum(1 for r in self.records if r.result == result)

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            **{name: self.count(name) for name in ("created", "updated", "unchanged", "rejected")},
            "results": [{"index": r.index, "key": r.key, "result": r.result, "problems": r.problems}
                        for r in self.records],
        }


class _RollBack(Exception):
    """Leaves the all-or-nothing transaction without keeping anything."""


def problem(field_name: str, code: str, message: str) -> dict[str, str]:
    return {"field": field_name, "code": code, "message": message}


def _code_of(p: RowProblem, code_fields: frozenset[str]) -> str:
    """A stable code for a service's problem (the services speak Chinese sentences, not codes)."""
    text = p.message
    if "必填" in text or "须填写" in text:
        return "field.required"
    if "重复" in text or "出现了多次" in text:
        return "record.duplicate"
    if "在籍" in text or "已被" in text or "已有学籍号" in text or "在岗" in text or "已存在" in text:
        return "record.conflict"
    if p.field in code_fields:
        return "field.code"
    return "field.invalid" if p.field else "record.invalid"


def jurisdiction(actor: Any) -> str:
    client = getattr(actor, "service_client", None)  # the service account's client (no query for a person)
    org = getattr(actor, "organization", None)
    where = org.name if org is not None else "未设置单位"
    return f"接口客户端“{client.name}”的管辖范围（{where}）" if client is not None else f"您的管辖范围（{where}）"


def _units(resource: ApiResource, actor: Any, records: Sequence[Mapping[str, Any]],
           outcomes: list[RecordOutcome]) -> dict[int, Organization]:
    """The unit each record writes into; a record whose school is unknown or out of reach gets its problem."""
    if source_of(resource).unit == "own":
        unit = actor.organization
        return {i: unit for i in range(len(records))}
    codes = {i: cell_text(r.get("school_code")).strip() for i, r in enumerate(records)}
    schools = {s.school_code: s for s in Organization.objects.filter(
        kind=OrgKind.SCHOOL, school_code__in={c for c in codes.values() if c}).select_related("region")}
    in_reach = {code: unit_in_reach(actor, school) for code, school in schools.items()}  # once a school
    where = jurisdiction(actor) if not all(in_reach.get(c, False) for c in codes.values() if c) else ""
    units: dict[int, Organization] = {}
    for i, code in codes.items():
        school = schools.get(code)
        if not code:
            outcomes[i].problems.append(problem("school_code", "field.required", "学校标识码（school_code）为必填项，用于确定记录所属学校"))
        elif school is None or not in_reach[code]:
            outcomes[i].problems.append(problem(
                "school_code", "scope.outside",
                f"学校标识码「{code}」不在{where}内（或不存在），不能写入该学校的记录"))
        else:
            units[i] = school
    return units


def upsert(*, actor: Any, resource: ApiResource, records: Sequence[Mapping[str, Any]], mode: str,
           today: dt.date | None = None) -> BatchOutcome:
    """Create or update ``records`` of ``resource`` as ``actor`` (the client's service account)."""
    kind = imports.get(resource.import_kind)
    assert kind is not None, resource.import_kind
    today = today or timezone.localdate()
    accept_valid = mode == "accept_valid"
    writable = {f.name for f in resource.fields if f.writable}
    code_fields = frozenset(f.name for f in resource.fields if f.type == "code")
    key_members = resource.natural_key
    outcomes = [RecordOutcome(i, natural_key_of(resource, {k: cell_text(r.get(k)) for k in key_members}))
                for i, r in enumerate(records)]
    for i, record in enumerate(records):
        for name in record:
            if name not in writable:
                outcomes[i].problems.append(problem(name, "field.unknown",
                                                    f"“{resource.label}”没有可写入的字段「{name}」"))
    units = _units(resource, actor, records, outcomes)
    by_unit: dict[int, list[int]] = {}
    for i, unit in units.items():
        if not outcomes[i].problems:
            by_unit.setdefault(unit.pk, []).append(i)
    unit_of = {u.pk: u for u in units.values()}
    failed = any(o.problems for o in outcomes)
    try:
        with transaction.atomic():
            for unit_pk, indexes in by_unit.items():
                failed = _write_unit(kind, resource, actor, unit_of[unit_pk], records, indexes, outcomes,
                                     accept_valid=accept_valid, dry_run=failed and not accept_valid, today=today,
                                     code_fields=code_fields) or failed
            if failed and not accept_valid:
                raise _RollBack
    except _RollBack:
        pass
    applied = accept_valid or not failed
    for o in outcomes:
        if o.problems:
            o.result = "rejected"
    return BatchOutcome(applied=applied, records=outcomes)


def _write_unit(kind: imports.ImportKind, resource: ApiResource, actor: Any, unit: Organization,
                records: Sequence[Mapping[str, Any]], indexes: list[int], outcomes: list[RecordOutcome], *,
                accept_valid: bool, dry_run: bool, today: dt.date, code_fields: frozenset[str]) -> bool:
    """Check and write one unit's records; True when any of them was rejected."""
    context = ImportContext(unit=unit, today=today)
    checked = []
    if kind.file_checker is not None:
        # The kind's per-file checker: exactly check_row's values and problems, faster for a batch
        # (it parses each repeated code, date and grade once). Records are laid out as file rows.
        members = sorted({name for i in indexes for name in records[i]})
        check = kind.file_checker({name: at for at, name in enumerate(members)}, context)
        for i in indexes:
            cells = list(map(records[i].get, members))  # most members arrive as text already
            checked.append((i + 1, check([v if type(v) is str else cell_text(v) for v in cells])))
    else:
        for i in indexes:
            raw = {name: cell_text(value) for name, value in records[i].items()}
            checked.append((i + 1, kind.check_row(raw, context)))
    try:
        outcome: ImportOutcome = kind.write(actor=actor, unit=unit, rows=checked, accept_valid=accept_valid or dry_run,
                                            dry_run=dry_run, source=SOURCE, today=today,
                                            policy=WritePolicy.CREATE_AND_UPDATE)
        rejected = outcome.rejected
    except BatchInvalid as exc:
        outcome = getattr(exc, "outcome", None) or ImportOutcome(written=0, rows=[])
        rejected = exc.problems
    for p in rejected:
        if 1 <= p.row <= len(records):
            outcomes[p.row - 1].problems.append(problem(p.field, _code_of(p, code_fields), p.message))
        else:  # a problem of the whole unit's batch (a race lost): every record of the unit carries it
            for i in indexes:
                outcomes[i].problems.append(problem(p.field, "record.conflict", p.message))
    for row in outcome.rows:
        outcomes[row.row - 1].result = RESULT_OF.get(row.action, "unchanged")
    accepted = [(row, clean) for row, clean in checked if not outcomes[row - 1].problems]
    school_code = unit.school_code

    def values_of(clean: Any) -> dict[str, Any]:  # a record's values as its natural key reads them
        return clean.values | {"school_code": school_code}

    src = source_of(resource)
    filled = dict(outcome.keys) if not dry_run else {}  # what the write knows (学籍号 it issued) …
    unknown = [(row, values_of(clean)) for row, clean in accepted if row not in filled]
    if unknown and src.keys_after_write and not dry_run:  # … and the rest read back
        filled.update(src.keys_after_write(unknown))
    for row, clean in accepted:
        # Only a record the write gave no key copies its values (10,000 dict copies a batch otherwise).
        key = filled.get(row) or natural_key_of(resource, values_of(clean))
        outcomes[row - 1].key = key or outcomes[row - 1].key
    return any(outcomes[i].problems for i in indexes)
