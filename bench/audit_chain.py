"""Sealing throughput of the audit chain: 100,000 committed entries chained by ``seal_entries``.

    DATABASE_URL=postgres://… .venv/bin/python bench/audit_chain.py     (run by bench/run.py)

On the migrated benchmark database (DATABASE_URL): writes 100,000 audit entries the way an import
does (COPY through ``core.bulk.insert_rows``, one transaction, committed), then measures

(a) sealing them (``history.audit_chain.seal_entries``: read in (txid, id) order, SHA-256 chain,
    UPDATE of the chain columns through the append-only trigger), in entries/s;
(b) verifying the whole chain (``verify_chain(seal=False)``);
baseline: writing the same entries (the COPY), in entries/s, in the same run.
The entries are removed afterwards (as the superuser, with the trigger switched off for that session).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ENTRIES = int(os.environ.get("AUDIT_BENCH_ENTRIES", "100000"))
NOTE = "bench/audit_chain.py"


def main() -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from eduplatform.core.bulk import insert_rows
    from eduplatform.history import audit_chain
    from eduplatform.history.models import AuditEntry

    if connection.vendor != "postgresql":
        sys.exit("bench/audit_chain.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    audit_chain.seal_entries()  # what earlier steps wrote, not measured
    before = AuditEntry.objects.count()
    now = timezone.now()
    columns = ("occurred_at", "actor_id", "actor_name", "actor_org_id", "actor_org_name", "client_ip", "action",
               "object_type", "object_id", "object_label", "changes", "region_path", "school_id", "note")
    changes = ('{"name": {"label": "姓名", "before": null, "after": "测试学生"}, "grade": {"label": "年级", '
               '"before": null, "after": "一年级"}, "id_number": {"label": "身份证件号", "before": null, '
               '"after": "440106********1234"}}')
    rows = [(now, 1, "天河测试小学管理员（clerk）", 2, "天河测试小学", "10.0.0.1", "create", "students.student",
             str(i), f"测试学生{i}（G440106201809010032）", changes, "440100/440106/", 3, NOTE)
            for i in range(ENTRIES)]
    start = time.perf_counter()
    with transaction.atomic():
        insert_rows(AuditEntry, columns, rows)
    write_s = time.perf_counter() - start

    start = time.perf_counter()
    sealed = audit_chain.seal_entries()
    seal_s = time.perf_counter() - start
    start = time.perf_counter()
    result = audit_chain.verify_chain(seal=False)
    verify_s = time.perf_counter() - start
    assert sealed >= ENTRIES, (sealed, ENTRIES)
    assert result.broken is None, str(result.broken)

    def line(name: str, per_s: float, base: float, note: str) -> None:
        print(f"{name:<46} {per_s:>12,.0f} entries/s   baseline {base:>12,.0f} entries/s   "
              f"ratio {per_s / base:8.3g}  {note}")

    line("audit chain: seal (hash + UPDATE)", sealed / seal_s, ENTRIES / write_s,
         f"COPY baseline; {sealed:,} entries sealed in {seal_s:.1f} s")
    line("audit chain: verify whole chain", result.checked / verify_s, ENTRIES / write_s,
         f"{result.checked:,} entries (incl. {before:,} earlier) in {verify_s:.1f} s")

    with connection.cursor() as cursor:  # leave the database as found (the superuser, trigger off)
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM history_auditentry WHERE note = %s", [NOTE])
        cursor.execute("SET session_replication_role = origin")


if __name__ == "__main__":
    main()
