"""Monthly partitions of the audit log (PostgreSQL): created ahead, archived after the retention.

The audit table is ``PARTITION BY RANGE (occurred_at)`` with one partition per calendar month in the
platform's time zone (``settings.TIME_ZONE``), named ``history_auditentry_yYYYYmMM``. There is no
default partition: a month without a partition would refuse audit writes, so ``ensure_partitions``
keeps ``AUDIT_PARTITIONS_AHEAD`` months ready (run daily by the scheduler, and by the sealing task).
Partitions whose month ended more than ``AUDIT_RETENTION_MONTHS`` (≥ 6) ago are exported to a gzip
JSON-lines file under ``AUDIT_ARCHIVE_DIR`` — every column, the chain hashes included, so the file
verifies on its own (``verify_audit --archive``) — recorded in ``AuditArchive``, then detached and
dropped: archived, not lost. SQLite (the demo) keeps a plain table and archives nothing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from eduplatform.history.models import AuditArchive, AuditEntry

TABLE = "history_auditentry"
MIN_RETENTION_MONTHS = 6  # 等保2.0 level 3: audit records kept at least six months


def retention_months() -> int:
    return max(MIN_RETENTION_MONTHS, int(getattr(settings, "AUDIT_RETENTION_MONTHS", MIN_RETENTION_MONTHS)))


def archive_dir() -> Path:
    return Path(getattr(settings, "AUDIT_ARCHIVE_DIR", Path(settings.BASE_DIR) / "var" / "audit-archive"))


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_of(moment: dt.datetime | None = None) -> dt.date:
    local = timezone.localtime(moment or timezone.now())
    return dt.date(local.year, local.month, 1)


def month_start(month: dt.date) -> dt.datetime:
    """Midnight of the month's first day in the platform's time zone (the partition bound)."""
    return dt.datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", [TABLE])
        return bool(cursor.fetchone()[0])


def existing_partitions() -> dict[dt.date, str]:
    """The audit table's partitions by month (from their names, which this module alone gives)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = %s::regclass", [TABLE])
        names = [r[0] for r in cursor.fetchall()]
    out = {}
    for name in names:
        suffix = name.removeprefix(TABLE + "_y")
        out[dt.date(int(suffix[:4]), int(suffix[5:7]), 1)] = name
    return out


def create_partition_sql(month: dt.date) -> str:
    lower, upper = month_start(month), month_start(add_months(month, 1))
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE}"
            f" FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')")


def ensure_partitions(*, ahead: int | None = None, from_month: dt.date | None = None) -> list[str]:
    """Create the missing monthly partitions from ``from_month`` (default: this month) up to
    ``ahead`` months after this month; the new ones get the application role's grants."""
    if not partitioned():
        return []
    ahead = int(getattr(settings, "AUDIT_PARTITIONS_AHEAD", 12)) if ahead is None else ahead
    current = month_of()
    month = min(from_month or current, current)
    have = existing_partitions()
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        while month <= add_months(current, ahead):
            if month not in have:
                cursor.execute(create_partition_sql(month))
                created.append(partition_name(month))
            month = add_months(month, 1)
    if created:
        from eduplatform.history.db_role import apply_app_role_grants

        apply_app_role_grants()
    return created


def expired_months(today: dt.date | None = None) -> list[dt.date]:
    """Months whose partitions are past the retention: the month ended at least
    ``retention_months()`` months before the current month began, so every entry in it is older
    than the retention (entries are kept at least that long, at most a month more)."""
    if not partitioned():
        return []
    cutoff = add_months(month_of() if today is None else dt.date(today.year, today.month, 1), -retention_months())
    return sorted(m for m in existing_partitions() if add_months(m, 1) <= cutoff)


def archive_expired(*, today: dt.date | None = None) -> list[AuditArchive]:
    """Export each expired month to a verifiable file, record it, then detach and drop its partition.

    Entries are sealed first: only a fully chained month is archived (one with an entry still
    unsealed — its transaction in flight — waits for the next run)."""
    from eduplatform.history.audit_chain import HASHED_FIELDS, archive_record, seal_entries

    seal_entries()
    done = []
    for month in expired_months(today):
        name = partition_name(month)
        in_month = AuditEntry.objects.filter(occurred_at__gte=month_start(month),
                                             occurred_at__lt=month_start(add_months(month, 1)))
        if in_month.filter(chain_seq__isnull=True).exists():
            continue
        folder = archive_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.jsonl.gz"
        partial = path.with_suffix(".partial")
        digest, rows, seqs = hashlib.sha256(), 0, []
        fields = [*HASHED_FIELDS, "prev_hash", "entry_hash"]
        with open(partial, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                for values in in_month.order_by("chain_seq").values_list(*fields).iterator(chunk_size=5000):
                    line = (json.dumps(archive_record(dict(zip(fields, values, strict=True))), ensure_ascii=False,
                                       sort_keys=True, separators=(",", ":")) + "\n").encode()
                    out.write(line)
                    rows += 1
                    seqs.append(values[fields.index("chain_seq")])
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        digest.update(path.read_bytes())
        with transaction.atomic(), connection.cursor() as cursor:
            archive = AuditArchive.objects.create(
                month=month, partition=name, file=str(path), sha256=digest.hexdigest(), rows=rows,
                seq_ranges=seq_ranges(seqs))
            cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
        done.append(archive)
    return done


def seq_ranges(seqs: list[int]) -> list[list[int]]:
    """Sorted chain positions as [first, last] runs: an archived month is nearly one run (its
    entries interleave with the next month's only around midnight of its last day)."""
    out: list[list[int]] = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out
