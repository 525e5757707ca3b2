"""The tamper-evident audit log (docs/decisions/0008-audit-chain.md, docs/audit.md).

PostgreSQL: the table is rebuilt as ``PARTITION BY RANGE (occurred_at)`` with monthly partitions
(primary key ``(id, occurred_at)``; ids and rows kept), gets the chain columns and the trigger that
refuses every UPDATE and DELETE except filling the chain columns once. Existing entries get txid 0:
they were committed long ago and are chained first, in id order. Not reversible on PostgreSQL (an
append-only log is not converted back).

SQLite: the columns and indexes are added to the plain table.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import eduplatform.history.models

COLUMNS = ("id, occurred_at, actor_id, actor_name, actor_org_id, actor_org_name, client_ip, action, object_type,"
           " object_id, object_label, changes, region_path, school_id, note")

CREATE = """
CREATE TABLE history_auditentry (
    id bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    actor_id bigint NULL,
    actor_name varchar(150) NOT NULL,
    actor_org_id bigint NULL,
    actor_org_name varchar(200) NOT NULL,
    client_ip varchar(64) NOT NULL,
    action varchar(32) NOT NULL,
    object_type varchar(64) NOT NULL,
    object_id varchar(64) NOT NULL,
    object_label varchar(255) NOT NULL,
    changes jsonb NOT NULL,
    region_path varchar(64) NOT NULL,
    school_id bigint NULL,
    note varchar(500) NOT NULL,
    txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    chain_seq bigint NULL,
    prev_hash varchar(64) NULL,
    entry_hash varchar(64) NULL,
    CONSTRAINT history_auditentry_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at)"""

# Append-only. An UPDATE may only fill the three chain columns, once, leaving every other column as
# it was; a DELETE is always refused. Bypassing it takes a superuser (DISABLE TRIGGER needs the
# owner, session_replication_role a superuser) — and the chain shows what was changed.
TRIGGER = [
    """
CREATE FUNCTION history_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unchained record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '审计日志只能追加：拒绝删除条目 %', OLD.id USING ERRCODE = 'P0001';
    END IF;
    -- The new row with its chain columns emptied must equal the old one, column for column (a
    -- whole-row comparison: a column added later is covered too; to_jsonb cost six times more).
    unchained := NEW;
    unchained.chain_seq := NULL;
    unchained.prev_hash := NULL;
    unchained.entry_hash := NULL;
    IF OLD.chain_seq IS NOT NULL OR OLD.prev_hash IS NOT NULL OR OLD.entry_hash IS NOT NULL
       OR NEW.chain_seq IS NULL OR NEW.prev_hash IS NULL OR NEW.entry_hash IS NULL
       OR unchained IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION '审计日志只能追加：拒绝修改条目 %（只允许封存时填写一次链哈希）', OLD.id
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON history_auditentry"
    " FOR EACH ROW EXECUTE FUNCTION history_audit_append_only()",
]

INDEXES = [
    "CREATE INDEX audit_object ON history_auditentry (object_type, object_id)",
    "CREATE INDEX audit_region_path ON history_auditentry (region_path varchar_pattern_ops)",
    "CREATE INDEX history_auditentry_occurred_at_544b1e85 ON history_auditentry (occurred_at)",
    "CREATE INDEX audit_unsealed ON history_auditentry (txid, id) WHERE chain_seq IS NULL",
    "CREATE INDEX audit_chain_seq ON history_auditentry (chain_seq)",
]
AHEAD = 12


def _months(first: dt.date, last: dt.date):
    month = first
    while month <= last:
        yield month
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _partition(month: dt.date) -> str:
    zone = ZoneInfo(settings.TIME_ZONE)
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    lower = dt.datetime(month.year, month.month, 1, tzinfo=zone).isoformat()
    upper = dt.datetime(nxt.year, nxt.month, 1, tzinfo=zone).isoformat()
    return (f"CREATE TABLE history_auditentry_y{month.year:04d}m{month.month:02d} PARTITION OF history_auditentry"
            f" FOR VALUES FROM ('{lower}') TO ('{upper}')")


def forwards_postgresql(schema_editor) -> None:
    run = schema_editor.execute
    run("ALTER TABLE history_auditentry RENAME TO history_auditentry_unpartitioned")
    run("ALTER TABLE history_auditentry_unpartitioned RENAME CONSTRAINT history_auditentry_pkey"
        " TO history_auditentry_unpartitioned_pkey")
    for index in ("audit_object", "audit_region_path", "history_auditentry_occurred_at_544b1e85"):
        run(f"DROP INDEX IF EXISTS {index}")
    run(CREATE)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(occurred_at), max(occurred_at), max(id) FROM history_auditentry_unpartitioned")
        oldest, newest, top = cursor.fetchone()
    now = timezone.localtime()
    first = timezone.localtime(oldest).date().replace(day=1) if oldest else now.date().replace(day=1)
    last_needed = max(timezone.localtime(newest).date() if newest else now.date(), now.date()).replace(day=1)
    index = last_needed.year * 12 + last_needed.month - 1 + AHEAD
    for month in _months(first, dt.date(index // 12, index % 12 + 1, 1)):
        run(_partition(month))
    run(f"INSERT INTO history_auditentry ({COLUMNS}, txid) SELECT {COLUMNS}, 0 FROM history_auditentry_unpartitioned")  # noqa: S608
    run("DROP TABLE history_auditentry_unpartitioned")
    run("CREATE SEQUENCE history_auditentry_id_seq AS bigint OWNED BY history_auditentry.id")
    run(f"SELECT setval('history_auditentry_id_seq', {int(top or 0) + 1}, false)")
    run("ALTER TABLE history_auditentry ALTER COLUMN id SET DEFAULT nextval('history_auditentry_id_seq')")
    for sql in (*INDEXES, *TRIGGER):
        run(sql, None)  # no parameters: the trigger's messages hold a literal %


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        forwards_postgresql(schema_editor)
        return
    entry = apps.get_model("history", "AuditEntry")
    txid = models.BigIntegerField(db_default=eduplatform.history.models.CurrentTransactionId(), editable=False)
    txid.set_attributes_from_name("txid")
    schema_editor.add_field(entry, txid)
    for name, field in (("chain_seq", models.BigIntegerField(null=True, blank=True, editable=False)),
                        ("prev_hash", models.CharField(max_length=64, null=True, blank=True, editable=False)),
                        ("entry_hash", models.CharField(max_length=64, null=True, blank=True, editable=False))):
        field.set_attributes_from_name(name)
        schema_editor.add_field(entry, field)
    schema_editor.execute("CREATE INDEX audit_unsealed ON history_auditentry (txid, id) WHERE chain_seq IS NULL")
    schema_editor.execute("CREATE INDEX audit_chain_seq ON history_auditentry (chain_seq)")


class Migration(migrations.Migration):

    dependencies = [
        ("history", "0004_feed_previous_key_and_resource_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditArchive",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(unique=True)),
                ("partition", models.CharField(max_length=63)),
                ("file", models.CharField(max_length=500)),
                ("sha256", models.CharField(max_length=64)),
                ("rows", models.BigIntegerField()),
                ("seq_ranges", models.JSONField(default=list)),
                ("archived_at", models.DateTimeField(default=timezone.now)),
            ],
            options={"verbose_name": "审计日志归档"},
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="auditentry",
                    name="txid",
                    field=models.BigIntegerField(db_default=eduplatform.history.models.CurrentTransactionId(),
                                                 editable=False),
                ),
                migrations.AddField(
                    model_name="auditentry",
                    name="chain_seq",
                    field=models.BigIntegerField(blank=True, editable=False, null=True),
                ),
                migrations.AddField(
                    model_name="auditentry",
                    name="prev_hash",
                    field=models.CharField(blank=True, editable=False, max_length=64, null=True),
                ),
                migrations.AddField(
                    model_name="auditentry",
                    name="entry_hash",
                    field=models.CharField(blank=True, editable=False, max_length=64, null=True),
                ),
                migrations.AddIndex(
                    model_name="auditentry",
                    index=models.Index(condition=models.Q(("chain_seq__isnull", True)), fields=["txid", "id"],
                                       name="audit_unsealed"),
                ),
                migrations.AddIndex(
                    model_name="auditentry",
                    index=models.Index(fields=["chain_seq"], name="audit_chain_seq"),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, elidable=False)],
        ),
    ]
