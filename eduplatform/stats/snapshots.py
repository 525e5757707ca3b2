"""Official census snapshots: the roll-ups frozen at the census date (统计时点), versioned.

Published figures and the base tables come from a snapshot; dashboards read the live roll-ups. A
snapshot copies every roll-up table as it stands (after refreshing any school still marked dirty, or
still counting an earlier school year),
so it holds exactly what the live figures said at that moment — and nothing changes it afterwards.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import IntegerField, Max, QuerySet, Sum, Value
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import locks
from eduplatform.core.errors import FieldProblem, NotPermitted, RecordInvalid
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.stats import definitions
from eduplatform.stats.basetables import stored as stored_base_tables
from eduplatform.stats.models import (
    FROZEN,
    SNAPSHOT_OF,
    Snapshot,
    SnapshotBuilding,
    SnapshotMeasure,
    SnapshotRegionMeasure,
)
from eduplatform.stats.rollup import (
    insert_select,
    process_dirty,
    refresh_stale_years,
    school_year_of,
)

PROVINCE_PATH = "44/"


def can_take_snapshots(actor: Actor) -> bool:
    """Only the province's statistics office, over the whole province and every stage."""
    scope = scope_of(actor, with_focus=False)
    return actor.can(capabilities.TAKE_SNAPSHOTS) and scope.region_path == PROVINCE_PATH and not scope.stage_mask


class SnapshotExists(RecordInvalid):
    """``take_snapshot(if_absent=True)`` found a snapshot of the census date already taken."""

    def __init__(self, existing: Snapshot) -> None:
        self.existing = existing
        super().__init__(gettext("统计快照"), [FieldProblem(
            "census_date", "snapshot.exists",
            gettext("统计时点 %(date)s 已有%(snapshot)s（%(by)s 于 %(when)s 生成），未重复生成") % {
                "date": f"{existing.census_date:%Y-%m-%d}", "snapshot": existing, "by": existing.taken_by,
                "when": f"{timezone.localtime(existing.taken_at):%Y-%m-%d %H:%M}"}, gettext("统计时点"))])


@transaction.atomic
def take_snapshot(*, actor: Actor, census_date: dt.date | None, title: str = "", note: str = "",
                  today: dt.date | None = None, if_absent: bool = False) -> Snapshot:
    """Freeze the roll-ups as a new version of the census date's snapshot.

    Takes are serialised (one transaction-long lock), so two at once never compute the same version
    number and each sees every version committed before it. ``if_absent`` makes a take once per
    census date — what the scheduler asks for: run twice, or on two machines at once, it yields one
    snapshot, the second run finding the first's inside the lock (``SnapshotExists``). A person
    asking for another version says so by submitting the form again (a double click of one form
    is stopped by its one-time token, ``core/once.py``)."""
    if not can_take_snapshots(actor):
        raise NotPermitted(gettext("只有省级统计部门可以生成统计快照"))
    today = today or timezone.localdate()
    if census_date is None:
        raise RecordInvalid(gettext("统计快照"), [FieldProblem("census_date", "required", gettext("请填写统计时点"),
                                                          gettext("统计时点"))])
    if census_date > today:
        raise RecordInvalid(gettext("统计快照"), [FieldProblem(
            "census_date", "date.future",
            gettext("统计时点 %(date)s 尚未到来：快照只能在统计时点当天或之后生成") % {"date": f"{census_date:%Y-%m-%d}"},
            gettext("统计时点"))])
    locks.hold(locks.SNAPSHOT, "take")
    if if_absent:
        existing = Snapshot.objects.filter(census_date=census_date).order_by("version").first()
        if existing is not None:
            raise SnapshotExists(existing)
    process_dirty()  # the figures as they stand, with no change still waiting for its refresh
    refresh_stale_years(today)  # and no school still counting last school year's entrants or classes
    version = (Snapshot.objects.filter(census_date=census_date).aggregate(v=Max("version"))["v"] or 0) + 1
    snapshot = Snapshot.objects.create(
        census_date=census_date, version=version, school_year=school_year_of(census_date),
        title=(title.strip() or f"{school_year_of(census_date)}学年教育统计")[:100], note=note.strip()[:300],
        taken_at=timezone.now(), taken_by=actor.audit_name())
    for live, frozen in FROZEN:
        fields = [f.name for f in live._meta.fields if f.name != "id"]
        # One INSERT … SELECT per table; the snapshot's id rides along as the last column.
        rows = live.objects.values(*fields).annotate(frozen_in=Value(snapshot.pk, output_field=IntegerField())).order_by()
        insert_select(frozen._meta.db_table, [*fields, "snapshot_id"], rows)
    freeze_region_measures(snapshot)
    snapshot.totals = province_totals(snapshot)
    snapshot.save(update_fields=["totals"])
    record_change(actor=actor, action=AuditAction.CREATE, object_type="stats.snapshot", object_id=snapshot.pk,
                  object_label=str(snapshot), region_path=PROVINCE_PATH,
                  note=f"生成统计快照：在校生 {snapshot.totals['students']}，教职工 {snapshot.totals['staff']}")
    stored_base_tables.schedule(snapshot)  # every region's and school's 基表, by the worker after the commit
    return snapshot


def freeze_region_measures(snapshot: Snapshot) -> None:
    """Sum the snapshot's frozen measures (``SnapshotMeasure``) for every region — province, city,
    county, town — set-based, and keep 优质均衡 of every county and stage: a snapshot page then reads
    the rows of a region and its children, never its schools'.

    A region's path is a prefix of its schools' paths ending in "/", so the regions of one level
    (paths of one length L) are found by equality on the first L characters: one grouped
    ``INSERT … SELECT`` per path length over the schools' measures summed per region path."""
    from eduplatform.stats.indicators import freeze_balances

    measure, region = SnapshotMeasure._meta.db_table, Region._meta.db_table
    lengths = sorted(set(Region.objects.annotate(n=Length("path")).values_list("n", flat=True)))
    levels = " UNION ALL ".join(
        f"SELECT r.path, m.key, m.stages, m.value FROM m JOIN {region} r ON r.path = substr(m.region_path, 1, {n})"  # noqa: S608
        f" WHERE length(r.path) = {n}" for n in lengths)
    with connection.cursor() as cursor:
        # The schools' measures summed per school path once (m), then added into each level's regions.
        cursor.execute(
            f"WITH m AS (SELECT region_path, key, stages, SUM(value) AS value FROM {measure} WHERE snapshot_id = %s"  # noqa: S608
            f" GROUP BY region_path, key, stages)"
            f" INSERT INTO {SnapshotRegionMeasure._meta.db_table} (snapshot_id, region_path, key, stages, value)"
            f" SELECT %s, path, key, stages, SUM(value) FROM ({levels}) u GROUP BY path, key, stages",
            [snapshot.pk, snapshot.pk])
    freeze_balances(snapshot, PROVINCE_PATH)


def province_totals(snapshot: Snapshot) -> dict[str, object]:
    """The headline figures kept on the snapshot itself (for its list, without summing again)."""
    def frozen(model: type) -> QuerySet:
        return SNAPSHOT_OF[model].objects.filter(snapshot=snapshot)

    # 在校生 and 教职工 by their one definition (stats.definitions): 教职工 without 代课 and 兼任.
    totals: dict[str, object] = {f.key: f.total(frozen) for f in (definitions.STUDENTS, *definitions.STAFF_FIGURES)}
    area = SnapshotBuilding.objects.filter(snapshot=snapshot).aggregate(n=Sum("total_area"))["n"] or 0
    return {**totals, "floor_area": str(area)}


@transaction.atomic
def publish_snapshot(*, actor: Actor, snapshot: Snapshot) -> Snapshot:
    """Put a snapshot's city-level figures on the public portal. The latest published version of a
    census year is the one shown; publication changes no figure.

    Only a snapshot the province signed off may be published: its census sign-off task in reporting
    (each school confirms, county → city → province approve) ended with the province's approval,
    which called ``record_census_signoff``. Checked inside the row lock, so a withdrawal committed
    first is seen."""
    if not can_take_snapshots(actor):
        raise NotPermitted(gettext("只有省级统计部门可以公布统计数据"))
    # Locked, then read again: of two publications sent at once, the second waits and finds it done.
    snapshot = Snapshot.objects.select_for_update().get(pk=snapshot.pk)
    if snapshot.published_at is not None:
        raise RecordInvalid(str(snapshot), [FieldProblem(
            "snapshot", "snapshot.published",
            gettext("该快照已由 %(by)s 于 %(when)s 公布，无需重复操作") % {
                "by": snapshot.published_by, "when": f"{timezone.localtime(snapshot.published_at):%Y-%m-%d %H:%M}"},
            gettext("快照"))])
    if snapshot.signed_off_at is None:
        raise RecordInvalid(str(snapshot), [FieldProblem(
            "snapshot", "snapshot.not_signed_off",
            gettext("%(snapshot)s尚未通过省级审核，不能公布：统计时点数据须经学校确认、县级、地市级、省级逐级审核通过后才能公布。"
                    "请先在“报表与审核”中对该快照发起逐级审核") % {"snapshot": snapshot}, gettext("快照"))])
    snapshot.published_at, snapshot.published_by = timezone.now(), actor.audit_name()
    snapshot.save(update_fields=["published_at", "published_by"])
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="stats.snapshot", object_id=snapshot.pk,
                  object_label=str(snapshot), region_path=PROVINCE_PATH, note="公布统计数据（公开门户）")
    return snapshot


@transaction.atomic
def record_census_signoff(*, actor: Actor, snapshot: Snapshot) -> Snapshot:
    """The province approved the snapshot's census sign-off (called by reporting's review chain, in
    its transaction): from now on the snapshot may be published."""
    snapshot = Snapshot.objects.select_for_update().get(pk=snapshot.pk)
    snapshot.signed_off_at, snapshot.signed_off_by = timezone.now(), actor.audit_name()
    snapshot.save(update_fields=["signed_off_at", "signed_off_by"])
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="stats.snapshot", object_id=snapshot.pk,
                  object_label=str(snapshot), region_path=PROVINCE_PATH, note="统计时点数据省级审核通过")
    return snapshot


@transaction.atomic
def withdraw_census_signoff(*, actor: Actor, snapshot: Snapshot, reason: str) -> Snapshot:
    """The province withdrew its approval: the snapshot can no longer be published (a published one
    stays published; withdrawing publication is a separate decision)."""
    snapshot = Snapshot.objects.select_for_update().get(pk=snapshot.pk)
    snapshot.signed_off_at, snapshot.signed_off_by = None, ""
    snapshot.save(update_fields=["signed_off_at", "signed_off_by"])
    record_change(actor=actor, action=AuditAction.UPDATE, object_type="stats.snapshot", object_id=snapshot.pk,
                  object_label=str(snapshot), region_path=PROVINCE_PATH, note=f"撤销统计时点数据省级审核：{reason}")
    return snapshot
