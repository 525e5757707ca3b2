"""Monthly partitions of the audit log (PostgreSQL): created ahead; months past the retention
(at least 6) archived to a verifiable file, then removed — the chain still verifies, the archive
verifies on its own. SQLite keeps a plain table."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from eduplatform.history import audit_chain, partitions
from eduplatform.history.models import AuditAction, AuditArchive, AuditEntry
from eduplatform.history.services import record_event
from tests.concurrency import postgres_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def unsealed_transaction(monkeypatch):
    """Seal this test's own entries (one rolled-back transaction; see test_audit_chain)."""
    monkeypatch.setattr(audit_chain, "_horizon", lambda: None)


def test_retention_is_at_least_six_months(settings):
    settings.AUDIT_RETENTION_MONTHS = 2
    assert partitions.retention_months() == 6
    settings.AUDIT_RETENTION_MONTHS = 24
    assert partitions.retention_months() == 24


@postgres_only
def test_the_audit_table_is_partitioned_by_month_with_partitions_ahead(settings):
    assert partitions.partitioned()
    have = partitions.existing_partitions()
    this_month = partitions.month_of()
    assert all(partitions.add_months(this_month, n) in have for n in range(settings.AUDIT_PARTITIONS_AHEAD + 1))
    created = partitions.ensure_partitions(ahead=settings.AUDIT_PARTITIONS_AHEAD + 2)
    assert created == [partitions.partition_name(partitions.add_months(this_month, n))
                       for n in (settings.AUDIT_PARTITIONS_AHEAD + 1, settings.AUDIT_PARTITIONS_AHEAD + 2)]
    # An entry lands in its month's partition.
    item = record_event(actor=None, action=AuditAction.LOGIN, object_type="accounts.user", object_id=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM history_auditentry WHERE id = %s", [item.pk])
        assert cursor.fetchone()[0] == partitions.partition_name(partitions.month_of(item.occurred_at))


@postgres_only
def test_months_past_the_retention_are_archived_to_a_verifiable_file_not_lost(settings, tmp_path,
                                                                              unsealed_transaction, capsys):
    settings.AUDIT_ARCHIVE_DIR = tmp_path
    settings.AUDIT_RETENTION_MONTHS = 6
    this_month = partitions.month_of()
    old, kept = partitions.add_months(this_month, -8), partitions.add_months(this_month, -6)
    partitions.ensure_partitions(from_month=old)
    for month, n in ((old, 3), (partitions.add_months(old, 1), 2), (kept, 2)):
        for i in range(n):
            AuditEntry.objects.create(occurred_at=partitions.month_start(month) + dt.timedelta(days=1, minutes=i),
                                      action=AuditAction.EXPORT, object_type="students.export", object_id=i,
                                      object_label=f"{month:%Y-%m} 导出 {i}")
    record_event(actor=None, action=AuditAction.LOGIN, object_type="accounts.user", object_id=1)
    total = AuditEntry.objects.count()

    call_command("audit_partitions")
    out = capsys.readouterr().out
    archives = list(AuditArchive.objects.order_by("month"))
    assert [(a.month, a.rows) for a in archives][-2:] == [(old, 3), (partitions.add_months(old, 1), 2)]
    assert f"已归档 {old:%Y-%m}：3 条" in out
    assert old not in partitions.existing_partitions() and kept in partitions.existing_partitions()
    assert AuditEntry.objects.count() == total - 5 - sum(a.rows for a in archives[:-2])
    assert AuditEntry.objects.filter(object_label__startswith=f"{kept:%Y-%m}").count() == 2

    # The file holds every column and the hashes; it verifies on its own, and the chain of what is
    # left still verifies (the archived positions are accounted for).
    path = tmp_path / f"{partitions.partition_name(old)}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert [r["object_label"] for r in records] == [f"{old:%Y-%m} 导出 {i}" for i in range(3)]
    assert all(len(r["entry_hash"]) == 64 for r in records)
    call_command("verify_audit", archive=str(path))
    call_command("verify_audit")
    assert "审计链完好" in capsys.readouterr().out

    # A tampered archive is named.
    records[1]["object_label"] = "改过"
    forged = tmp_path / "forged.jsonl.gz"
    with gzip.open(forged, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit", archive=str(forged))
    assert f"条目 id={records[1]['id']}" in str(failed.value)
    # and a replaced archive file breaks the verification of the log itself
    path.write_bytes(forged.read_bytes())
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    assert "摘要" in str(failed.value) and old.strftime("%Y-%m") in str(failed.value)


def test_sqlite_keeps_a_plain_table(capsys):
    if connection.vendor == "postgresql":
        pytest.skip("the plain table is SQLite's (the demo database)")
    assert not partitions.partitioned()
    call_command("audit_partitions")
    assert "未分区" in capsys.readouterr().out
