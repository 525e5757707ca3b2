"""Issues: findings of the rules turned into work for a school and a county.

``sync_findings`` is the one writer of what the rules found: it opens an issue per new fingerprint,
refreshes the live ones found again and closes (RESOLVED) the live ones of the checked rules and
scope that were not. It is set-based (a province scan hands it hundreds of thousands of findings):
a few queries per batch of findings, never one per finding, and it is safe when two scans of
overlapping scopes run at once (the partial unique index on live fingerprints decides who inserts;
``last_seen_at`` only moves forward, so one scan never closes what a later one found).

The people's actions — a school explains (with evidence) or reports a correction, a county confirms
or reopens, and keeps one side of a duplicate person — each lock the issue, check its status inside
the lock, write a ``QualityIssueAction`` and an audit entry.

``recheck`` runs the record rules of a few records right after they were written (``schedule_recheck``
from the record apps' update services, on commit), so fixing a record closes its issue at once.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core.crypto import seal_file
from eduplatform.core.errors import FieldProblem, NotPermitted, OutOfScope, RecordInvalid
from eduplatform.core.uploads import check_attachment_content
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.scope import Actor, scope_of, unit_in_reach
from eduplatform.quality.engine import record_findings, scan_findings
from eduplatform.quality.models import (
    COUNTY_STATUSES,
    IssueAction,
    IssueStatus,
    QualityIssue,
    QualityIssueAction,
)
from eduplatform.quality.rules import RULES, Finding, ScanScope

log = logging.getLogger(__name__)

BATCH = 2000  # findings per round of queries
SYSTEM_NAME = "系统（规则扫描）"
RESOLVED_NOTE = "问题已消除"

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf": "PDF", ".jpg": "JPG", ".jpeg": "JPG", ".png": "PNG"}
EXPLANATION_MAX = 2000


@dataclass(frozen=True)
class SyncResult:
    found: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0

    def __add__(self, other: SyncResult) -> SyncResult:
        return SyncResult(self.found + other.found, self.opened + other.opened, self.updated + other.updated,
                          self.closed + other.closed)


# --------------------------------------------------------------------------------------------
# Findings → issues


def _batches(items: Iterable[Finding], size: int) -> Iterator[list[Finding]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _live() -> QuerySet[QualityIssue]:
    # Written as the partial unique index's own predicate (NOT status = 'resolved'), so PostgreSQL
    # answers the fingerprint lookups from that index.
    return QualityIssue.objects.exclude(status=IssueStatus.RESOLVED)


def _new_issue(f: Finding, now: Any) -> QualityIssue:
    rule = RULES.get(f.rule)
    # A rule with two cases of different weight says so per finding (T_AGE: under 18 is an error,
    # past retirement age a warning).
    severity = f.evidence.get("severity") or (rule.severity if rule else "warning")
    return QualityIssue(
        rule=f.rule, severity=severity, database=rule.database if rule else "",
        status=IssueStatus.OPEN, school_id=f.school_id, region_path=f.region_path, stage_mask=f.stage_mask,
        object_type=f.object_type, object_id=f.object_id, object_label=f.object_label[:200],
        fingerprint=f.fingerprint, group_key=f.group[:200], message=f.message, fields=list(f.fields),
        evidence=dict(f.evidence), found_at=now, last_seen_at=now, status_changed_at=now,
    )


def _sync_batch(batch: list[Finding], now: Any) -> tuple[int, int]:
    """Open the new fingerprints of one batch and refresh the known ones: (opened, updated)."""
    by_fp: dict[str, Finding] = {}
    for f in batch:
        by_fp[f.fingerprint] = f  # the same finding twice in one batch: one issue
    known = {row["fingerprint"]: row for row in _live().filter(fingerprint__in=list(by_fp))
             .values("id", "fingerprint", "message", "evidence", "object_label", "group_key")}
    new = [_new_issue(f, now) for fp, f in by_fp.items() if fp not in known]
    opened = 0
    seen_before = list(known)  # inserted rows already carry last_seen_at = now
    if new:
        # Another scan of an overlapping scope may insert the same fingerprint at this moment: the
        # partial unique index lets one row in and the other insert is skipped (ON CONFLICT DO NOTHING
        # / INSERT OR IGNORE), so a live issue is never duplicated and neither scan fails.
        inserted = _insert_new(new)
        if inserted is None:  # SQLite: which rows went in is not returned
            opened = _live().filter(fingerprint__in=[i.fingerprint for i in new], found_at=now).count()
            seen_before += [i.fingerprint for i in new]
        else:
            opened = len(inserted)
            seen_before += [i.fingerprint for i in new if i.fingerprint not in inserted]
    # Seen now (never moved backwards: a scan that started earlier must not make this one look stale).
    if seen_before:
        _live().filter(fingerprint__in=seen_before).update(last_seen_at=Greatest(F("last_seen_at"), now))
    changed = []
    for fp, row in known.items():
        f = by_fp[fp]
        label = f.object_label[:200]
        if row["message"] != f.message or row["evidence"] != f.evidence or row["object_label"] != label \
                or row["group_key"] != f.group[:200]:
            changed.append(QualityIssue(id=row["id"], message=f.message, evidence=dict(f.evidence),
                                        object_label=label, group_key=f.group[:200]))
    if changed:
        _update_changed(changed)
    return opened, len(known)


INSERT_COLUMNS = ("rule", "severity", "database", "status", "school_id", "region_path", "stage_mask", "object_type",
                  "object_id", "object_label", "fingerprint", "group_key", "message", "fields", "evidence",
                  "found_at", "last_seen_at", "status_changed_at")
INSERT_TYPES = ("text", "text", "text", "text", "bigint", "text", "integer", "text", "bigint", "text", "text", "text",
                "text", "text", "text", "timestamptz", "timestamptz", "timestamptz")
JSON_COLUMNS = {"fields", "evidence"}


def _insert_new(new: list[QualityIssue]) -> set[str] | None:
    """Insert ``new`` skipping fingerprints already live; the fingerprints inserted (PostgreSQL:
    INSERT … SELECT unnest … ON CONFLICT DO NOTHING RETURNING), or None where that is not returned."""
    if connection.vendor != "postgresql":
        QualityIssue.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        return None
    table = QualityIssue._meta.db_table
    columns = ", ".join(INSERT_COLUMNS)
    arrays = ", ".join(f"%s::{t}[]" for t in INSERT_TYPES)
    values = ", ".join(f"v.{c}::jsonb" if c in JSON_COLUMNS else f"v.{c}" for c in INSERT_COLUMNS)
    params = []
    for c in INSERT_COLUMNS:
        if c in JSON_COLUMNS:
            params.append([json.dumps(getattr(i, c), ensure_ascii=False, cls=DjangoJSONEncoder) for i in new])
        else:
            params.append([getattr(i, c) for i in new])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, explanation, attachment, review_note) "  # noqa: S608 — fixed names
            f"SELECT {values}, '', '', '' FROM unnest({arrays}) AS v({columns}) "
            "ON CONFLICT DO NOTHING RETURNING fingerprint", params)
        return {row[0] for row in cursor.fetchall()}


def _update_changed(changed: list[QualityIssue]) -> None:
    """Write new messages, evidence, labels and group keys: on PostgreSQL one UPDATE … FROM unnest(…)
    per batch (Django's bulk_update writes a CASE per column and row, minutes for 50,000 rows)."""
    if connection.vendor != "postgresql":
        QualityIssue.objects.bulk_update(changed, ["message", "evidence", "object_label", "group_key"], batch_size=500)
        return
    table = QualityIssue._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS q SET message = v.message, evidence = v.evidence::jsonb, "  # noqa: S608 — fixed names
            "object_label = v.label, group_key = v.grp "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) AS v(id, message, evidence, label, grp) "
            "WHERE q.id = v.id",
            [[i.id for i in changed], [i.message for i in changed],
             [json.dumps(i.evidence, ensure_ascii=False, cls=DjangoJSONEncoder) for i in changed],
             [i.object_label for i in changed], [i.group_key for i in changed]])


def _close_unseen(stale: QuerySet[QualityIssue], now: Any) -> int:
    """Resolve the live issues of ``stale`` (their cause is gone), each with its history entry."""
    closed = 0
    while True:
        with transaction.atomic():
            # Locked in small sets, skipping rows a person is acting on right now (they are picked
            # up by the next sync): a scan never waits on data entry.
            ids = list(stale.order_by("id").select_for_update(skip_locked=True).values_list("id", flat=True)[:BATCH])
            if not ids:
                return closed
            QualityIssue.objects.filter(id__in=ids).update(
                status=IssueStatus.RESOLVED, resolved_at=now, status_changed_at=now)
            QualityIssueAction.objects.bulk_create(
                [QualityIssueAction(issue_id=i, action=IssueAction.RESOLVED, actor_name=SYSTEM_NAME, at=now,
                                    note=RESOLVED_NOTE) for i in ids], batch_size=BATCH)
            closed += len(ids)
        if len(ids) < BATCH:
            return closed


def sync_findings(*, scope: ScanScope, codes: list[str], findings: Iterable[Finding],
                  objects: tuple[str, Sequence[int]] | None = None) -> SyncResult:
    """Make the live issues of rules ``codes`` in ``scope`` (or only on ``objects``) what ``findings``
    say: open the new ones, refresh those found again, resolve those not found again. Idempotent."""
    now = timezone.now()
    found = opened = updated = 0
    for batch in _batches(findings, BATCH):
        found += len(batch)
        with transaction.atomic():
            o, u = _sync_batch(batch, now)
        opened += o
        updated += u
    if not codes:
        return SyncResult(found, opened, updated, 0)
    stale = _live().filter(rule__in=list(codes), last_seen_at__lt=now)
    if objects is not None:
        object_type, ids = objects
        stale = stale.filter(object_type=object_type, object_id__in=list(ids))
    else:
        stale = stale.filter(region_path__startswith=scope.region_path)
        if scope.school_ids is not None:
            stale = stale.filter(school_id__in=list(scope.school_ids))
    closed = _close_unseen(stale, now)
    return SyncResult(found, opened, updated, closed)


def recheck(object_type: str, ids: Sequence[int]) -> SyncResult | None:
    """Run the record rules of ``ids`` again and sync (a fixed record closes its issue). Never raises:
    it runs after the record's own commit, which must not fail for it."""
    ids = [int(i) for i in ids if i is not None]
    if not ids:
        return None
    try:
        codes, found = record_findings(object_type, ids)
        if not codes:
            return None
        return sync_findings(scope=ScanScope(region_path=""), codes=codes, findings=found, objects=(object_type, ids))
    except Exception:
        log.exception("quality recheck of %s %s failed; the next scan will catch up", object_type, ids[:10])
        return None


def schedule_recheck(object_type: str, ids: Sequence[int]) -> None:
    """Recheck these records once the current transaction commits (right away outside one)."""
    ids = list(ids)
    transaction.on_commit(lambda: recheck(object_type, ids))


# --------------------------------------------------------------------------------------------
# People's actions


def _require_school_actor(actor: Actor, issue: QualityIssue) -> None:
    if not actor.can(capabilities.RESOLVE_QUALITY):
        raise NotPermitted(gettext("您的角色无权处理数据质量问题"))
    if scope_of(actor, with_focus=False).school_id != issue.school_id:
        raise OutOfScope(gettext("该问题不属于本校"))


def _require_reviewer(actor: Actor, issue: QualityIssue) -> None:
    if not actor.can(capabilities.REVIEW_QUALITY):
        raise NotPermitted(gettext("您的角色无权审核数据质量问题"))
    if scope_of(actor, with_focus=False).school_id is not None or not unit_in_reach(actor, issue.school):
        raise OutOfScope(gettext("该问题不在您的管辖范围内"))


def _refuse(issue: QualityIssue, field: str, code: str, message: str) -> RecordInvalid:
    return RecordInvalid(_issue_record(issue), [FieldProblem(field, code, message)])


def _issue_record(issue: QualityIssue) -> str:
    return gettext("问题「%(issue)s」") % {"issue": issue.object_label or issue.rule}


def _locked(issue: QualityIssue) -> QualityIssue:
    return QualityIssue.objects.select_for_update().select_related("school").get(pk=issue.pk)


def _require_status(issue: QualityIssue, allowed: Sequence[str], what: str) -> None:
    if issue.status not in allowed:
        raise _refuse(issue, "status", "quality.status",
                      gettext("问题当前状态为「%(status)s」，不能%(what)s") % {"status": issue.get_status_display(), "what": what})


def _act(actor: Actor | None, issue: QualityIssue, action: IssueAction, new_status: str | None, note: str,
         extra_changes: dict[str, Any] | None = None) -> QualityIssue:
    """Move ``issue`` (locked) to ``new_status``, with its history entry and audit entry."""
    now = timezone.now()
    before = issue.get_status_display()
    changed = ["review_note", "explanation", "attachment"]
    if new_status is not None and new_status != issue.status:
        issue.status = new_status
        issue.status_changed_at = now
        changed += ["status", "status_changed_at"]
    issue.save(update_fields=changed)
    QualityIssueAction.objects.create(issue=issue, action=action, actor_id=getattr(actor, "pk", None),
                                      actor_name=actor.audit_name() if actor else SYSTEM_NAME, at=now, note=note)
    changes: dict[str, Any] = dict(extra_changes or {})
    if new_status is not None:
        changes["status"] = {"label": "状态", "before": before, "after": issue.get_status_display()}
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="quality.qualityissue", object_id=issue.pk,
                  object_label=f"{issue.rule} {issue.object_label}", changes=changes,
                  region_path=issue.region_path, note=f"{IssueAction(action).label}：{note}"[:500])
    return issue


def check_attachment(attachment: UploadedFile | None) -> list[str]:
    """Chinese problems with an evidence file (type and size)."""
    if attachment is None:
        return []
    problems = []
    ext = os.path.splitext(attachment.name or "")[1].lower()
    if ext not in ATTACHMENT_TYPES:
        problems.append(gettext("佐证材料「%(name)s」的类型不支持，只能上传 PDF、JPG 或 PNG 文件") % {"name": attachment.name})
    if attachment.size is not None and attachment.size > ATTACHMENT_MAX_BYTES:
        problems.append(gettext("佐证材料「%(name)s」大小为 %(size)s MB，不能超过 %(limit)s MB") % {
            "name": attachment.name, "size": f"{attachment.size / 1024 / 1024:.1f}", "limit": ATTACHMENT_MAX_BYTES // 1024 // 1024})
    elif attachment.size == 0:
        problems.append(gettext("佐证材料「%(name)s」是空文件") % {"name": attachment.name})
    elif ext in ATTACHMENT_TYPES:
        # The content must be what the name says (a renamed .exe or .html is not a PDF).
        attachment.seek(0)
        head = attachment.read(16)
        attachment.seek(0)
        if problem := check_attachment_content(head, attachment.name or ""):
            # core.uploads says 文件「…」; in Chinese the evidence is named as such (no-op in other languages).
            problems.append(problem.replace("文件「", "佐证材料「", 1))
    return problems


@transaction.atomic
def explain(*, actor: Actor, issue: QualityIssue, explanation: str,
            attachment: UploadedFile | None = None) -> QualityIssue:
    """The school explains why the record is right as it is (e.g. a real 12-year-old in grade 3)."""
    _require_school_actor(actor, issue)
    issue = _locked(issue)
    _require_status(issue, (IssueStatus.OPEN,), gettext("提交说明"))
    text = (explanation or "").strip()
    problems = []
    if not text:
        problems.append(FieldProblem("explanation", "required", gettext("请填写情况说明"), gettext("情况说明")))
    elif len(text) > EXPLANATION_MAX:
        problems.append(FieldProblem("explanation", "too_long",
                                     gettext("情况说明有 %(length)s 字，不能超过 %(limit)s 字") % {
                                         "length": len(text), "limit": EXPLANATION_MAX}, gettext("情况说明")))
    problems += [FieldProblem("attachment", "quality.attachment", m, gettext("佐证材料")) for m in check_attachment(attachment)]
    if problems:
        raise RecordInvalid(_issue_record(issue), problems)
    issue.explanation = text
    if attachment is not None:
        # Sealed like every uploaded file (core.crypto): evidence often shows a pupil's documents.
        issue.attachment.save(attachment.name, ContentFile(seal_file(attachment.read())), save=False)
    return _act(actor, issue, IssueAction.EXPLAINED, IssueStatus.EXPLAINED, text)


def still_found(issue: QualityIssue) -> Finding | None:
    """The finding behind ``issue`` if its rule still finds it (the record's own check where the rule
    has one, else the rule's scan of the issue's school)."""
    rule = RULES.get(issue.rule)
    if rule is None:
        return None
    if rule.record is not None and issue.object_id is not None and rule.object_type == issue.object_type:
        _codes, found = record_findings(issue.object_type, [issue.object_id])
    else:
        found = scan_findings(ScanScope(region_path=issue.region_path, school_ids=(issue.school_id,)), [issue.rule])
    return next((f for f in found if f.fingerprint == issue.fingerprint), None)


@transaction.atomic
def mark_corrected(*, actor: Actor, issue: QualityIssue, note: str = "") -> QualityIssue:
    """The school reports the record corrected; refused while the rule still finds the cause."""
    _require_school_actor(actor, issue)
    issue = _locked(issue)
    _require_status(issue, (IssueStatus.OPEN,), gettext("标记为已修正"))
    finding = still_found(issue)
    if finding is not None:
        raise _refuse(issue, "status", "quality.still_present",
                      gettext("复核未通过，问题仍然存在：%(finding)s。请先在%(place)s中修改记录后再提交") % {
                          "finding": finding.message, "place": _record_place(issue)})
    return _act(actor, issue, IssueAction.CORRECTED, IssueStatus.CORRECTED, (note or "").strip() or "已修正记录，复核通过")


def _record_place(issue: QualityIssue) -> str:
    places = {"students": gettext("学生管理"), "staff": gettext("教职工管理"), "facilities": gettext("校舍管理"),
              "assets": gettext("资产管理"), "schools": gettext("学校信息")}
    return places.get(issue.database) or gettext("相应模块")


@transaction.atomic
def confirm(*, actor: Actor, issue: QualityIssue, note: str = "") -> QualityIssue:
    """The county accepts the school's explanation or correction."""
    _require_reviewer(actor, issue)
    issue = _locked(issue)
    _require_status(issue, COUNTY_STATUSES, gettext("确认"))
    issue.review_note = (note or "").strip()
    return _act(actor, issue, IssueAction.CONFIRMED, IssueStatus.CONFIRMED, issue.review_note or "确认")


@transaction.atomic
def reopen(*, actor: Actor, issue: QualityIssue, note: str) -> QualityIssue:
    """The county sends the issue back to the school, saying why."""
    _require_reviewer(actor, issue)
    issue = _locked(issue)
    _require_status(issue, (*COUNTY_STATUSES, IssueStatus.CONFIRMED), gettext("退回"))
    text = (note or "").strip()
    if not text:
        raise RecordInvalid(_issue_record(issue),
                            [FieldProblem("note", "required", gettext("退回时请填写审核意见，说明学校还需做什么"), gettext("审核意见"))])
    issue.review_note = text
    return _act(actor, issue, IssueAction.REOPENED, IssueStatus.OPEN, text)


def group_issues(group_key: str) -> QuerySet[QualityIssue]:
    """Every live issue of one duplicate group (all schools): what both sides and their counties see."""
    if not group_key:
        return QualityIssue.objects.none()
    return _live().filter(group_key=group_key).select_related("school").order_by("id")


@transaction.atomic
def keep_person(*, actor: Actor, issue_group: str, keep_issue: QualityIssue, note: str = "") -> list[QualityIssue]:
    """A duplicate person: the county decides the record of ``keep_issue``'s school is the real one.

    The kept side is confirmed (KEPT); every other side stays open for its school, with the decision
    as the review note: that school must end its registration (transfer out or withdraw), after which
    the next write or scan resolves it. The actor must reach the kept school (its county, city or the
    province)."""
    if keep_issue.group_key != issue_group or not issue_group:
        raise _refuse(keep_issue, "group", "quality.group", gettext("所选记录不属于该重复组"))
    _require_reviewer(actor, keep_issue)
    issues = list(group_issues(issue_group).select_for_update(of=("self",)))
    kept = next((i for i in issues if i.pk == keep_issue.pk), None)
    if kept is None:
        raise _refuse(keep_issue, "status", "quality.status", gettext("该问题已消除，无需处理"))
    if len(issues) < 2:
        raise _refuse(keep_issue, "group", "quality.group", gettext("该重复组只剩一条记录，无需选择保留"))
    text = (note or "").strip()
    keep_note = f"县级确认保留本校记录{('：' + text) if text else ''}"
    kept.review_note = keep_note
    _act(actor, kept, IssueAction.KEPT, IssueStatus.CONFIRMED, keep_note)
    for other in issues:
        if other.pk == kept.pk:
            continue
        other_note = (f"县级确认该人员保留在「{kept.school.name}」，请本校核销重复记录（办理转出或退学）"
                      f"{('：' + text) if text else ''}")
        other.review_note = other_note
        _act(actor, other, IssueAction.KEPT, IssueStatus.OPEN, other_note)
    return issues


def reviewable(qs: QuerySet[QualityIssue]) -> QuerySet[QualityIssue]:
    """Issues waiting for a county's confirmation."""
    return qs.filter(status__in=COUNTY_STATUSES)


def open_for_school(qs: QuerySet[QualityIssue]) -> QuerySet[QualityIssue]:
    return qs.filter(status=IssueStatus.OPEN)


__all__ = ["SyncResult", "scan_findings", "record_findings", "sync_findings", "recheck", "schedule_recheck", "explain", "mark_corrected", "confirm",
           "reopen", "keep_person", "group_issues", "still_found", "open_issue_counts"]


def open_issue_counts(actor: Actor) -> dict[str, int]:
    """Live issues in the actor's scope waiting on a school (open) and on a county (to confirm)."""
    from eduplatform.quality.selectors import status_counts

    counts = status_counts(actor)
    return {"open": counts.get(IssueStatus.OPEN, 0),
            "review": sum(counts.get(s, 0) for s in COUNTY_STATUSES)}
