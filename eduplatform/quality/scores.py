"""Quality scores (数据质量得分): per school and region and base database, the share of records
without an open error — 100 × (records − records with a live error-severity issue) ÷ records.

``compute_scores(day)`` writes the day's ``QualityScore`` rows set-based: one row per school and
database (``school_id`` the school's id, ``region_path`` its path) and one per region of every level
(province, city, county, town; ``school_id`` 0, ``region_path`` the region's own path) summing its
schools. A second run on the same day replaces that day's rows (idempotent). The rows are also the
daily snapshot the progress pages' timeline reads (records per database over days).

Records are counted as the progress figures count them (``progress``: 在校生, 教职工, standing
buildings, equipment items, the school itself); records with errors are the distinct records
(``object_type``, ``object_id``) of the school with a live error issue of that database, a
school-level issue (no record) counting as the school's one record of the 学校 database — never more
than the records.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django_tasks import task

from eduplatform.core import locks
from eduplatform.quality.models import LIVE_STATUSES, Database, QualityIssue, QualityScore, Severity
from eduplatform.quality.progress import DATABASES
from eduplatform.quality.required import records

HUNDRED = decimal.Decimal(100)


def score_of(records: int, with_errors: int) -> decimal.Decimal:
    """The score in percent, two decimals; 100 for a database without records (nothing wrong)."""
    if not records:
        return HUNDRED
    good = records - min(with_errors, records)
    return (HUNDRED * good / records).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)


def school_records() -> dict[tuple[int, str], int]:
    """(school, database) → records, for every open school (unscoped: the score job is the system's)."""
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.stats.models import BuildingRollup
    from eduplatform.stats.quota_models import SchoolFundingRollup, SchoolQuota

    out: dict[tuple[int, str], int] = {}
    for sid in Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).values_list("pk", flat=True):
        out[(sid, Database.SCHOOLS)] = 1
    for r in SchoolFundingRollup.objects.values("school_id").annotate(n=Sum("enrolled")).order_by():
        out[(r["school_id"], Database.STUDENTS)] = r["n"] or 0
    for sid, n in SchoolQuota.objects.values_list("school_id", "actual"):
        out[(sid, Database.STAFF)] = n
    for sid, n in BuildingRollup.objects.values_list("school_id", "buildings"):
        out[(sid, Database.FACILITIES)] = n
    for r in records(Database.ASSETS).values("school_id").annotate(n=Count("pk")).order_by():
        out[(r["school_id"], Database.ASSETS)] = r["n"]
    return out


def school_errors() -> dict[tuple[int, str], int]:
    """(school, database) → distinct records with a live error issue (a school-level issue counts once)."""
    live = QualityIssue.objects.filter(status__in=LIVE_STATUSES, severity=Severity.ERROR)
    out: dict[tuple[int, str], int] = {}
    for r in (live.filter(object_id__isnull=False).values("school_id", "database")
              .annotate(n=Count("object_id", distinct=True)).order_by()):
        out[(r["school_id"], r["database"])] = r["n"]
    # Issues about the school itself (no record): one record of the school register.
    for r in live.filter(object_id__isnull=True).values("school_id", "database").distinct().order_by():
        key = (r["school_id"], r["database"])
        out[key] = out.get(key, 0) + 1
    return out


def _ancestors(path: str) -> list[str]:
    """'44/4401/440106/440106001/' → ['44/', '44/4401/', '44/4401/440106/', '44/4401/440106/440106001/']."""
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def compute_scores(day: dt.date | None = None) -> int:
    """Write the day's scores (school rows and region rows of every level), replacing any of that day.
    The number of rows written."""

    day = day or timezone.localdate()
    with transaction.atomic():
        # Two runs of one day (the scheduler and a manual rerun) take turns: the second waits, then
        # reads what is current and replaces the first's rows (without the lock its insert would
        # meet the first's uncommitted rows in the unique index and fail).
        locks.hold(locks.QUALITY_SCORES, day.isoformat())
        rows = _score_rows(day)
        QualityScore.objects.filter(day=day).delete()
        QualityScore.objects.bulk_create(rows, batch_size=5000)
        prune_scores(day)
    return len(rows)


def prune_scores(today: dt.date, daily_days: int | None = None) -> int:
    """Keep the daily rows of the last ``QUALITY_SCORE_DAILY_DAYS`` days (the pages' trend reads 90)
    and, before that, one day per month (the month's first day with scores): at province scale a
    day is about 200,000 rows, so a year of dailies would be 70 million rows nobody reads. The
    number of rows deleted."""
    daily_days = settings.QUALITY_SCORE_DAILY_DAYS if daily_days is None else daily_days
    cutoff = today - dt.timedelta(days=daily_days)
    old_days = sorted(set(QualityScore.objects.filter(day__lt=cutoff).values_list("day", flat=True)))
    kept_per_month: dict[tuple[int, int], dt.date] = {}
    for day in old_days:
        kept_per_month.setdefault((day.year, day.month), day)
    dropped = [d for d in old_days if d not in set(kept_per_month.values())]
    if not dropped:
        return 0
    deleted, _ = QualityScore.objects.filter(day__in=dropped).delete()
    return deleted


def _score_rows(day: dt.date) -> list[QualityScore]:
    """The day's rows: each school's per database, and every region level's sums."""
    from eduplatform.orgs.models import Organization, OrgKind, Region

    records, errors = school_records(), school_errors()
    paths = dict(Organization.objects.filter(kind=OrgKind.SCHOOL, pk__in={sid for sid, _d in (*records, *errors)})
                 .values_list("pk", "region_path"))
    regions = set(Region.objects.values_list("path", flat=True))
    school_rows: dict[tuple[int, str], list[int]] = {}
    for (sid, database), n in records.items():
        school_rows.setdefault((sid, database), [0, 0])[0] = n
    for (sid, database), n in errors.items():
        school_rows.setdefault((sid, database), [0, 0])[1] = n
    region_sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    rows = []
    for (sid, database), (n, bad) in sorted(school_rows.items()):
        path = paths.get(sid)
        if path is None or database not in DATABASES:
            continue
        bad = min(bad, n)
        rows.append(QualityScore(day=day, region_path=path, school_id=sid, database=database, records=n,
                                 records_with_errors=bad, score=score_of(n, bad)))
        for ancestor in _ancestors(path):
            if ancestor in regions:
                total = region_sums[(ancestor, database)]
                total[0] += n
                total[1] += bad
    for (path, database), (n, bad) in sorted(region_sums.items()):
        rows.append(QualityScore(day=day, region_path=path, school_id=0, database=database, records=n,
                                 records_with_errors=bad, score=score_of(n, bad)))
    return rows


@task()
def daily_scores(day: str | None = None) -> int:
    """The daily job (a scheduler enqueues it once a day, or runs ``manage.py quality_scores``)."""
    return compute_scores(dt.date.fromisoformat(day) if day else None)
