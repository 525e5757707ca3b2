"""The record of every change: audit log, change feed and roll-up dirty marks.

History sits below the domain apps, so it stores who acted as plain ids and names: an audit entry
must survive the deletion or renaming of the user or organization it mentions.
"""

from __future__ import annotations

from django.db import models
from django.db.models.expressions import Func
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    CLOSE = "close", _("撤销/停办")
    REOPEN = "reopen", _("恢复")
    DELETE = "delete", _("删除")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    VIEW_SENSITIVE = "view_sensitive", _("查看敏感信息")
    GRANT_ROLE = "grant_role", _("授予角色")
    REVOKE_ROLE = "revoke_role", _("撤销角色")
    EXPORT = "export", _("导出")


class AuditArchive(models.Model):
    """A month of the audit log exported to a file and removed from the database (retention).

    ``seq_ranges`` lists the chain positions the file holds, so the verifier accepts exactly those
    gaps in the chain still in the database, and ``sha256`` is the file's digest."""

    month = models.DateField(unique=True)
    partition = models.CharField(max_length=63)
    file = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    rows = models.BigIntegerField()
    seq_ranges = models.JSONField(default=list)
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("审计日志归档")


class CurrentTransactionId(Func):
    """The writing transaction's id as a bigint (PostgreSQL ``pg_current_xact_id()``, 64 bits with
    its epoch, never wrapping); 0 on SQLite, where one writer at a time makes ``seq`` itself the
    commit order. The change feed's column default: every way of writing the feed (the ORM, COPY,
    raw SQL) stamps its rows without naming the column."""

    template = "0"
    output_field = models.BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_current_xact_id()::text::bigint)", []


class AuditEntryImmutable(Exception):
    """An attempt to change or delete an audit entry: the log is append-only."""

    def __init__(self) -> None:
        super().__init__(gettext("审计日志只能追加，不能修改或删除"))


class AuditEntryQuerySet(models.QuerySet):
    """No bulk update or delete of audit entries through the ORM either."""

    def update(self, **kwargs):
        raise AuditEntryImmutable

    def delete(self):
        raise AuditEntryImmutable

    def _raw_delete(self, using):
        raise AuditEntryImmutable


class AuditEntry(models.Model):
    """Who did what to which record, when, from where, with every field's before and after.

    Append-only and tamper-evident (docs/audit.md, docs/decisions/0008-audit-chain.md): writers only
    insert; ``history.audit_chain.seal_entries`` later numbers the committed entries in
    transaction-id order (``chain_seq``) and chains each to the previous one by a SHA-256 hash. On
    PostgreSQL the table is partitioned by month of ``occurred_at`` (primary key ``(id,
    occurred_at)``) and a trigger refuses every UPDATE and DELETE except filling the three chain
    columns once."""

    occurred_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True)
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    actor_org_id = models.BigIntegerField(_("操作人单位ID"), null=True, blank=True)
    actor_org_name = models.CharField(_("操作人单位"), max_length=200, blank=True)
    client_ip = models.CharField(_("客户端IP"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    object_label = models.CharField(_("对象"), max_length=255, blank=True)
    # {"field": {"label": "名称", "before": ..., "after": ...}}: values as shown to people.
    changes = models.JSONField(_("字段变化"), default=dict, blank=True)
    # Where the object lives, so an auditor can filter by region.
    region_path = models.CharField(_("区划路径"), max_length=64, blank=True)
    school_id = models.BigIntegerField(null=True, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    # The chain: the writing transaction's id (the sealing order; a column default, so COPY writers
    # stamp it too), then — filled once by the sealer, never by a writer — the entry's place in
    # the chain, the previous entry's hash and this entry's hash.
    txid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    chain_seq = models.BigIntegerField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    entry_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)

    SCOPE = ScopeFields(path="region_path", school="school_id")
    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        ordering = ["-occurred_at", "-id"]
        # Imports write an audit row per student: keep to the indexes the two readers use — a
        # record's history (type + id) and the auditor's region-and-time view.
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="audit_region_path"),
            # The sealer's queue (entries not yet chained, in sealing order) and the verifier's walk.
            models.Index(fields=["txid", "id"], condition=models.Q(chain_seq__isnull=True), name="audit_unsealed"),
            models.Index(fields=["chain_seq"], name="audit_chain_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_label}"

    def save(self, *args, **kwargs) -> None:
        # Append-only: an entry is written once. (The database refuses updates too, docs/audit.md.)
        if not self._state.adding:
            raise AuditEntryImmutable
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryImmutable


class ChangeFeedEntry(models.Model):
    """One changed resource, numbered: clients and city nodes pull everything after a cursor.

    Read in ``(txid, seq)`` order and only below the oldest transaction still in flight
    (``history.selectors.changes_after``): a reader never passes a row that may still commit with a
    lower position (docs/decisions/0005-roll-ups-and-feed-under-concurrency.md)."""

    seq = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    occurred_at = models.DateTimeField(default=timezone.now)
    resource = models.CharField(max_length=32)  # "school", "region", …
    natural_key = models.CharField(max_length=64)  # 学校标识码, region code, …
    # A key change (L → G 学籍号, a renumbered building): the upsert under the new key names the old
    # one, so a client renames its copy instead of guessing; a delete of the old key follows for
    # clients that ignore this column.
    previous_key = models.CharField(max_length=64, null=True, blank=True)
    operation = models.CharField(max_length=8, choices=[("upsert", "upsert"), ("delete", "delete")])
    region_path = models.CharField(max_length=64)
    school_id = models.BigIntegerField(null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("变更流")
        # Readers page by (txid, seq) within a region prefix. No index on the natural key: a
        # promotion appends a million entries, and a random-order key index is what made that slow.
        # (txid, seq) grows at its right edge like seq itself (a transaction's id is fixed).
        indexes = [
            models.Index(fields=["region_path", "seq"], opclasses=["varchar_pattern_ops", "int8_ops"],
                         name="feed_region_seq"),
            models.Index(fields=["txid", "seq"], name="feed_txid_seq"),
            # The API's ?resources= filter: one ordered range per resource, merged by the reader —
            # a rare resource is found without walking the millions of student entries around it.
            # Appended at a dozen right edges (one per resource), not at random places.
            models.Index(fields=["resource", "txid", "seq"], name="feed_resource_txid_seq"),
        ]


class DirtySchool(models.Model):
    """A mark: this school's per-school aggregates must be recomputed (after the commit that made it).

    Append-only: each writer inserts its own mark and never reads, updates or waits for another's,
    so two writers marking one school can neither fail nor block each other. A refresher deletes
    exactly the marks (ids) it read before recomputing; a mark committed meanwhile stays for the
    next round. Several marks of one school are one piece of work."""

    id = models.BigAutoField(primary_key=True)
    school_id = models.BigIntegerField(db_index=True)
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("待重算学校")
