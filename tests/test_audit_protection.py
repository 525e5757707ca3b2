"""Nobody changes or deletes audit entries: not the application's code (the model and its queryset
refuse), not any database session (a trigger refuses UPDATE and DELETE, except the sealer filling
the chain columns once), and not the application's own database role (no UPDATE/DELETE right at
all), tested with a real second role. docs/audit.md."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from eduplatform.history.models import AuditAction, AuditEntry, AuditEntryImmutable
from eduplatform.history.services import record_event
from tests.concurrency import postgres_only

pytestmark = pytest.mark.django_db
ROLE = "audit_test_app_role"


def entry() -> AuditEntry:
    return record_event(actor=None, action=AuditAction.LOGIN, object_type="accounts.user", object_id=1,
                        object_label="张三")


def refused(sql: str, params: list) -> str:
    """Run ``sql`` in a savepoint; the database's refusal message (fails the test if it ran)."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def test_the_application_cannot_change_or_delete_an_entry():
    item = entry()
    item.note = "改过"
    with pytest.raises(AuditEntryImmutable):
        item.save()
    with pytest.raises(AuditEntryImmutable):
        item.delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=item.pk).update(note="改过")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=item.pk).delete()
    assert AuditEntry.objects.get(pk=item.pk).note == ""


@postgres_only
def test_the_database_refuses_update_and_delete_of_an_entry_from_any_session():
    item = entry()
    assert "拒绝修改条目" in refused("UPDATE history_auditentry SET note = 'x' WHERE id = %s", [item.pk])
    assert "拒绝删除条目" in refused("DELETE FROM history_auditentry WHERE id = %s", [item.pk])
    # Through a partition by name too: the trigger is on every partition.
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM history_auditentry WHERE id = %s", [item.pk])
        partition = cursor.fetchone()[0]
    assert partition.startswith("history_auditentry_y")
    assert "拒绝删除条目" in refused(f"DELETE FROM {partition} WHERE id = %s", [item.pk])  # noqa: S608


@postgres_only
def test_the_chain_columns_can_be_filled_once_and_never_changed():
    item = entry()
    fill = "UPDATE history_auditentry SET chain_seq = 1, prev_hash = %s, entry_hash = %s WHERE id = %s"
    # With another column changed at the same time: refused.
    assert "拒绝修改条目" in refused(
        "UPDATE history_auditentry SET chain_seq = 1, prev_hash = %s, entry_hash = %s, note = 'x' WHERE id = %s",
        ["0" * 64, "a" * 64, item.pk])
    with connection.cursor() as cursor:
        cursor.execute(fill, ["0" * 64, "a" * 64, item.pk])
    assert "拒绝修改条目" in refused(fill, ["0" * 64, "b" * 64, item.pk])
    assert "拒绝修改条目" in refused(
        "UPDATE history_auditentry SET chain_seq = NULL, prev_hash = NULL, entry_hash = NULL WHERE id = %s", [item.pk])
    assert AuditEntry.objects.values_list("entry_hash", flat=True).get(pk=item.pk) == "a" * 64


@postgres_only
def test_the_application_database_role_can_append_but_not_update_or_delete(settings, capsys):
    """A real second role (created in this test's transaction, gone with its rollback) gets its
    rights from ``audit_db_role``; as that role, the trigger switched off, UPDATE and DELETE are
    still refused — by the missing right, not by the trigger."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
    settings.AUDIT_APP_DB_ROLE = ROLE
    call_command("audit_db_role")
    assert ROLE in capsys.readouterr().out
    item = entry()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no trigger: only rights decide
        cursor.execute(f"SET ROLE {ROLE}")
    try:
        for sql in ("UPDATE history_auditentry SET note = 'x' WHERE id = %s",
                    "DELETE FROM history_auditentry WHERE id = %s"):
            assert "permission denied for table history_auditentry" in refused(sql, [item.pk])
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableoid::regclass::text FROM history_auditentry WHERE id = %s", [item.pk])
            partition = cursor.fetchone()[0]
        assert "permission denied" in refused(f"UPDATE {partition} SET note = 'x' WHERE id = %s", [item.pk])  # noqa: S608
        assert "permission denied" in refused("TRUNCATE history_auditentry", [])
        # What the role may do: append, read, and seal (the chain columns only).
        appended = entry()
        assert AuditEntry.objects.filter(pk=appended.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE history_auditentry SET chain_seq = 1, prev_hash = %s, entry_hash = %s"
                           " WHERE id = %s", ["0" * 64, "a" * 64, appended.pk])
            assert cursor.rowcount == 1
            # and its ordinary tables as before
            cursor.execute("UPDATE accounts_user SET last_name = last_name WHERE false")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute("SET session_replication_role = origin")
    assert AuditEntry.objects.get(pk=item.pk).note == ""
