"""The application's own database role: every right it needs, except changing the audit log.

Production runs the web processes and the worker as a role that owns nothing
(``settings.AUDIT_APP_DB_ROLE``); migrations and the audit maintenance (partitions, archiving) run as
the owner. ``manage.py audit_db_role`` (run after every ``migrate``) grants the role the ordinary
rights on every table and sequence, then takes back, on the audit log, everything but SELECT and
INSERT — and UPDATE of the three chain columns alone, so the worker can seal (the trigger still
lets those go from empty to set only). It gets no right at all on the partitions themselves: through
the parent table only the parent's rights count. docs/audit.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from eduplatform.history.partitions import TABLE, existing_partitions, partitioned

CHAIN_COLUMNS = ("chain_seq", "prev_hash", "entry_hash")


def app_role() -> str:
    return getattr(settings, "AUDIT_APP_DB_ROLE", "") or ""


def apply_app_role_grants(role: str | None = None) -> bool:
    """Grant ``role`` (default: ``AUDIT_APP_DB_ROLE``) its rights; False when there is nothing to do."""
    role = role if role is not None else app_role()
    if connection.vendor != "postgresql" or not role:
        return False
    name = connection.ops.quote_name(role)
    audit_tables = [TABLE, *(existing_partitions().values() if partitioned() else [])]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
        for sql in (
            f"GRANT USAGE ON SCHEMA {schema} TO {name}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {name}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {name}",
            *(f"REVOKE ALL ON {t} FROM {name}" for t in audit_tables),
            f"GRANT SELECT, INSERT ON {TABLE} TO {name}",
            f"GRANT UPDATE ({', '.join(CHAIN_COLUMNS)}) ON {TABLE} TO {name}",
            # The archive register is written by the owner's maintenance only.
            f"REVOKE ALL ON history_auditarchive FROM {name}",
            f"GRANT SELECT ON history_auditarchive TO {name}",
        ):
            cursor.execute(sql)
    return True
