"""Scans: every rule (or some) over a region, as a background job, school by school.

``start_scan`` records a QualityScan and queues ``tasks.run_quality_scan``; ``run_scan`` walks the
region's schools in id order, a chunk at a time: the rules' findings for the chunk are synced
(``issues.sync_findings`` — short transactions of its own), then the scan's progress and cursor
(the last school id done) are saved. A scan killed half-way is started again by ``run_scan`` and
continues after its cursor; a chunk done twice changes nothing (the sync is idempotent). No lock is
held across chunks, so data entry never waits on a scan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import locks
from eduplatform.core.errors import FieldProblem, NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, path_in_scope
from eduplatform.quality import issues
from eduplatform.quality.models import QualityScan, ScanStatus
from eduplatform.quality.rules import RULES, ScanScope, rules_for

log = logging.getLogger(__name__)

CHUNK_SCHOOLS = 50  # schools per step: one round of rule queries and one progress save
QUALITY_SCAN = 5301  # advisory lock class: one scan start per region at a time
ACTIVE = (ScanStatus.QUEUED, ScanStatus.RUNNING)


def _schools(region_path: str):
    return (Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, region_path__startswith=region_path)
            .order_by("id"))


def _check_codes(codes: Sequence[str] | None) -> list[str]:
    try:
        return [r.code for r in rules_for(list(codes or []))] if codes else []
    except KeyError as exc:
        raise RecordInvalid(gettext("质量扫描"), [FieldProblem(
            "rules", "quality.rule", gettext("未知的规则：%(rule)s") % {"rule": exc.args[0]}, gettext("规则"))]) from exc


def start_scan(*, actor: Actor | None, region_path: str, codes: Sequence[str] | None = None,
               enqueue: bool = True) -> QualityScan:
    """Queue a scan of ``region_path`` (every rule when ``codes`` is empty). While one of the same
    region and rules is queued or running, that one is returned instead of a second. ``actor`` None:
    an operator's command or the system (after an import)."""
    if actor is not None:
        if not actor.can(capabilities.REVIEW_QUALITY):
            raise NotPermitted(gettext("您的角色无权发起质量扫描"))
        if actor.stage_mask:
            raise NotPermitted(gettext("按学段限定的账号不能发起全区质量扫描"))
        if not path_in_scope(actor, region_path):
            raise OutOfScope(gettext("该区域不在您的管辖范围内"))
    wanted = _check_codes(codes)
    with transaction.atomic():
        locks.hold(QUALITY_SCAN, region_path)
        running = QualityScan.objects.filter(region_path=region_path, rules=wanted, status__in=ACTIVE).first()
        if running is not None:
            return running
        scan = QualityScan.objects.create(region_path=region_path, rules=wanted, status=ScanStatus.QUEUED,
                                          total=_schools(region_path).count(),
                                          requested_by_id=getattr(actor, "pk", None))
        region = Region.objects.filter(path=region_path).first()
        record_change(actor=actor, action=AuditAction.CREATE, object_type="quality.qualityscan", object_id=scan.pk,
                      object_label=f"质量扫描 {region.name if region else region_path}", region_path=region_path,
                      note="规则：" + ("、".join(wanted) if wanted else "全部"))
        if enqueue:
            scan_id = scan.pk
            transaction.on_commit(lambda: _enqueue(scan_id))
    return scan


def _enqueue(scan_id: int) -> None:
    from eduplatform.quality.tasks import run_quality_scan

    run_quality_scan.enqueue(scan_id)


def scan_school_after_import(school: Organization) -> QualityScan | None:
    """Queue a scan of one school after its import job finished (the import itself is not rechecked
    row by row). Never raises: the import has succeeded whatever happens here."""
    try:
        return _start_school_scan(school)
    except Exception:
        log.exception("could not queue the quality scan of school %s after its import", school.pk)
        return None


def _start_school_scan(school: Organization) -> QualityScan:
    """A scan whose region is the school's path, narrowed to the school by the cursor's ``only``."""
    with transaction.atomic():
        locks.hold(QUALITY_SCAN, f"school:{school.pk}")
        running = QualityScan.objects.filter(region_path=school.region_path, cursor__only=school.pk,
                                             status__in=ACTIVE).first()
        if running is not None:
            return running
        scan = QualityScan.objects.create(region_path=school.region_path, rules=[], total=1,
                                          cursor={"only": school.pk, "school": 0})
        scan_id = scan.pk
        transaction.on_commit(lambda: _enqueue(scan_id))
    return scan


def run_scan(scan_id: int, *, max_chunks: int | None = None) -> QualityScan:
    """Run (or resume) scan ``scan_id`` after its cursor. ``max_chunks`` stops early (tests, a time
    budget); the scan stays RUNNING and a later call continues it."""
    scan = QualityScan.objects.get(pk=scan_id)
    if scan.status in (ScanStatus.DONE, ScanStatus.FAILED):
        return scan
    now = timezone.now()
    QualityScan.objects.filter(pk=scan.pk).update(status=ScanStatus.RUNNING, started_at=scan.started_at or now)
    codes = list(scan.rules) or list(RULES)
    schools = _schools(scan.region_path)
    only = scan.cursor.get("only")
    if only:
        schools = schools.filter(pk=only)
    chunks = 0
    try:
        while True:
            after = int(scan.cursor.get("school", 0))
            chunk = list(schools.filter(pk__gt=after).values_list("pk", flat=True)[:CHUNK_SCHOOLS])
            if not chunk:
                break
            if max_chunks is not None and chunks >= max_chunks:
                return QualityScan.objects.get(pk=scan.pk)  # stopped early: still RUNNING, resumable
            scope = ScanScope(region_path=scan.region_path, school_ids=tuple(chunk))
            result = issues.sync_findings(scope=scope, codes=codes, findings=issues.scan_findings(scope, codes))
            scan.cursor = {**scan.cursor, "school": chunk[-1]}
            QualityScan.objects.filter(pk=scan.pk).update(
                cursor=scan.cursor, done=F("done") + len(chunk), found=F("found") + result.found,
                opened=F("opened") + result.opened, closed=F("closed") + result.closed)
            chunks += 1
    except Exception as exc:
        log.exception("quality scan %s failed", scan.pk)
        QualityScan.objects.filter(pk=scan.pk).update(status=ScanStatus.FAILED, error=str(exc)[:2000],
                                                      finished_at=timezone.now())
        raise
    QualityScan.objects.filter(pk=scan.pk).update(status=ScanStatus.DONE, finished_at=timezone.now())
    return QualityScan.objects.get(pk=scan.pk)


def resume_unfinished() -> list[int]:
    """Queue again every scan left RUNNING or QUEUED (a worker restarted): each continues at its cursor."""
    ids = list(QualityScan.objects.filter(status__in=ACTIVE).values_list("pk", flat=True))
    for scan_id in ids:
        _enqueue(scan_id)
    return ids
