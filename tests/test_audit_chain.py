"""The audit log's hash chain: sealing in transaction order, the verification command naming the
first broken link, and sealing under writers that really commit from several connections
(PostgreSQL). docs/decisions/0008-audit-chain.md."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from eduplatform.history import audit_chain
from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.history.services import audit_many, record_event
from tests.concurrency import committing, postgres_only, run_concurrently

pytestmark = pytest.mark.django_db


def write(n: int, note: str = "") -> list[int]:
    return [record_event(actor=None, action=AuditAction.LOGIN, object_type="accounts.user", object_id=i,
                         object_label=f"用户{i}", note=note).pk for i in range(n)]


def as_superuser(sql: str, params: list) -> None:
    """Change the table behind every protection: triggers off for this session (superuser only)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")


def verify_output() -> str:
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    assert failed.value.returncode == 1
    return str(failed.value)


@pytest.fixture
def base(monkeypatch) -> int:
    """For the tests in one rolled-back transaction: seal this transaction's own entries too (on
    PostgreSQL they are at the horizon, which the sealer never passes; the tests that commit from
    several connections below use the real horizon). The entries the set-up wrote are chained
    first: the number of them."""
    monkeypatch.setattr(audit_chain, "_horizon", lambda: None)
    audit_chain.seal_entries()
    return AuditEntry.objects.count()


@pytest.fixture
def committed_base() -> int:
    audit_chain.seal_entries()
    return AuditEntry.objects.count()


def test_sealing_chains_every_entry_once_in_transaction_order(base):
    ids = write(5)
    audit_many(actor=None, action=AuditAction.CREATE, object_type="students.student",
               items=[(i, f"学生{i}", {"name": {"label": "姓名", "before": None, "after": f"学生{i}"}}, "", None)
                      for i in range(300)])
    assert audit_chain.seal_entries(batch=100) == 305  # several batches continue one chain
    assert audit_chain.seal_entries() == 0
    chain = list(AuditEntry.objects.filter(chain_seq__gt=base).order_by("chain_seq").values_list("chain_seq", "txid", "id", "prev_hash",
                                                                     "entry_hash"))
    assert [c[0] for c in chain] == list(range(base + 1, base + 306))
    assert [(c[1], c[2]) for c in chain] == sorted((c[1], c[2]) for c in chain)
    assert AuditEntry.objects.get(chain_seq=1).prev_hash == audit_chain.GENESIS
    assert all(chain[i][3] == chain[i - 1][4] for i in range(1, len(chain)))
    assert chain[0][2] == ids[0]
    result = audit_chain.verify_chain()
    assert (result.checked, result.broken) == (base + 305, None)


def test_verify_command_passes_on_an_intact_chain(capsys, base):
    write(3)
    call_command("verify_audit")
    assert f"审计链完好：已校验 {base + 3} 条" in capsys.readouterr().out


def test_changing_one_entry_as_superuser_is_named_by_the_verification(base):
    ids = write(6)
    audit_chain.seal_entries()
    write(2)  # entries written after the tampering was sealed still verify up to the break
    as_superuser("UPDATE history_auditentry SET note = %s WHERE id = %s", ["篡改", ids[3]])
    message = verify_output()
    assert f"条目 id={ids[3]}" in message
    changed = AuditEntry.objects.get(pk=ids[3])
    assert f"时间 {timezone.localtime(changed.occurred_at):%Y-%m-%d %H:%M:%S}" in message
    assert f"链序号 {base + 4}" in message and "有字段被改动" in message
    assert f"此前 {base + 3} 条完好" in message


def test_rehashing_a_changed_entry_breaks_the_link_to_the_next(base):
    ids = write(4)
    audit_chain.seal_entries()
    entry = AuditEntry.objects.filter(pk=ids[1]).values(*audit_chain.HASHED_FIELDS, "prev_hash").get()
    entry["actor_name"] = "别人"
    forged = audit_chain.compute_hash(entry, entry["prev_hash"])
    as_superuser("UPDATE history_auditentry SET actor_name = %s, entry_hash = %s WHERE id = %s",
                 ["别人", forged, ids[1]])
    message = verify_output()
    assert f"条目 id={ids[2]}" in message and f"与链序号 {base + 2} 的哈希" in message


def test_deleting_an_entry_is_named_by_the_verification(base):
    ids = write(5)
    audit_chain.seal_entries()
    as_superuser("DELETE FROM history_auditentry WHERE id = %s", [ids[2]])
    message = verify_output()
    assert f"条目 id={ids[3]}" in message and f"缺少链序号 {base + 3} 的条目" in message


def entry_committed_later_with_a_lower_transaction_id_is_never_chained_past() -> None:
    """T1 writes first (lower txid) but commits last: sealing meanwhile must not chain T2's entry,
    or T1's would have to go after it — out of the well-defined (txid, id) order."""
    t1_wrote, t2_done, t1_may_commit = threading.Event(), threading.Event(), threading.Event()

    def t1() -> int:
        with transaction.atomic():
            pk = write(1, "T1")[0]
            t1_wrote.set()
            t1_may_commit.wait(30)
        return pk

    def t2() -> int:
        t1_wrote.wait(30)
        with transaction.atomic():
            pk = write(1, "T2")[0]
        t2_done.set()
        return pk

    def sealer() -> int:
        t2_done.wait(30)
        sealed = audit_chain.seal_entries()
        t1_may_commit.set()
        return sealed

    first, second, sealed_meanwhile = run_concurrently(t1, t2, sealer)
    assert sealed_meanwhile == 0  # T2 committed, but T1 (lower id) was in flight
    assert audit_chain.seal_entries() == 2
    order = list(AuditEntry.objects.filter(note__in=["T1", "T2"]).order_by("chain_seq").values_list("id", flat=True))
    assert order == [first, second]
    assert audit_chain.verify_chain().broken is None


def concurrent_writers_and_sealers_give_one_unbroken_chain_of_every_committed_entry(base: int) -> None:
    """Eight writers commit and roll back transactions of random length while two sealers run; in
    the end every committed entry is chained exactly once and the chain verifies."""
    import random
    import time

    def writer(w: int):
        def run() -> int:
            rng, kept = random.Random(w), 0
            for t in range(12):
                try:
                    with transaction.atomic():
                        write(rng.randint(1, 4), f"w{w}-{t}")
                        time.sleep(rng.random() * 0.02)
                        if rng.random() < 0.2:
                            raise RuntimeError("rolled back")
                        kept += AuditEntry.objects.filter(note=f"w{w}-{t}").count()
                except RuntimeError:
                    pass
            return kept
        return run

    def sealer() -> int:
        total, deadline = 0, time.monotonic() + 2.5
        while time.monotonic() < deadline:
            total += audit_chain.seal_entries(batch=7)
            time.sleep(0.01)
        return total

    results = run_concurrently(*(writer(w) for w in range(8)), sealer, sealer)
    committed = sum(results[:8])
    audit_chain.seal_entries()
    seqs = list(AuditEntry.objects.order_by("chain_seq").values_list("chain_seq", flat=True))
    assert AuditEntry.objects.count() == base + committed
    assert seqs == list(range(1, base + committed + 1))
    chained = list(AuditEntry.objects.order_by("chain_seq").values_list("txid", "id"))
    assert chained == sorted(chained)
    assert audit_chain.verify_chain().broken is None


@postgres_only
@committing
def test_sealing_under_writers_that_really_commit_from_several_connections(committed_base):
    """Both scenarios in one test: each test that commits costs a full table flush afterwards."""
    entry_committed_later_with_a_lower_transaction_id_is_never_chained_past()
    concurrent_writers_and_sealers_give_one_unbroken_chain_of_every_committed_entry(committed_base + 2)
