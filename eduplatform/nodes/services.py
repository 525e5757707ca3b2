"""Writes of the city-node machinery: publications at the province, the subscription on a node,
the node's read-only guards and the heartbeat (docs/nodes.md, decision 0007).

These are DDL on PostgreSQL's own logical replication, not record writes: no audit or change feed
(nothing a school or county did), but every step is idempotent so that a deployment script can run
it again after a failure or a release that adds tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext

from .models import CityNode, NodeRole
from .plan import HEARTBEAT, ReplicatedTable, filtered_tables, publication_name, replicated_tables


class NodeSetupError(Exception):
    """A precondition of publishing or subscribing is not met; the message says what to do."""


@dataclass(frozen=True)
class City:
    code: str  # four digits, e.g. "4401"
    name: str
    path: str  # e.g. "44/4401/"


def city_code_of(value: str) -> str:
    """'4401' or '440100000000' → '4401'."""
    value = value.strip()
    if not re.fullmatch(r"\d{4}(\d{8})?", value) or (len(value) == 12 and value[4:] != "0" * 8):
        raise NodeSetupError(gettext("市级区划代码应为 4 位（如 4401）或 12 位（如 440100000000）：%(value)s") % {"value": repr(value)})
    return value[:4]


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise NodeSetupError(gettext("市级节点依赖 PostgreSQL 15 的逻辑复制；当前数据库不是 PostgreSQL"))


def _lookup_city(cursor, code: str) -> City:
    cursor.execute("SELECT code, name, path FROM orgs_region WHERE code = %s AND level = 'city'", [code + "0" * 8])
    row = cursor.fetchone()
    if row is None:
        raise NodeSetupError(gettext("省级库中没有市级区划 %(code)s（请先加载行政区划：manage.py load_reference）") % {"code": code})
    return City(code=code, name=row[1], path=row[2])


def _table_item(table: ReplicatedTable, city: City) -> str:
    where = table.row_filter(city_path=city.path, city_code=city.code)
    return f'"{table.table}"' + (f" WHERE {where}" if where else "")


def ensure_replica_identity() -> list[str]:
    """Every filtered table's replica identity includes its filter columns (migration nodes/0002).

    Repairs what was lost since: a bulk load that dropped and rebuilt indexes, a table added to the
    plan without its migration. A publication whose row filter uses a column outside the replica
    identity makes every UPDATE and DELETE of that table fail at the province. Returns the tables
    repaired."""
    repaired = []
    with connection.cursor() as cursor:
        for table in filtered_tables():
            wanted = {table.pk, *table.filter_columns}
            cursor.execute(
                "SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s::regclass AND i.indisreplident AND i.indisvalid "
                "GROUP BY i.indexrelid", [table.table])
            row = cursor.fetchone()
            if row is not None and set(row[0]) == wanted:
                continue
            name = f"{table.table}_node_ident"[:63]
            cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
            index = cursor.fetchone()
            if index is not None and not index[0]:
                cursor.execute(f'DROP INDEX CONCURRENTLY "{name}"')
            if index is None or not index[0]:
                columns = ", ".join(f'"{c}"' for c in (table.pk, *table.filter_columns))
                cursor.execute(f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON "{table.table}" ({columns})')
            cursor.execute(f'ALTER TABLE "{table.table}" REPLICA IDENTITY USING INDEX "{name}"')
            repaired.append(table.table)
    return repaired


def publish_city(*, city_code: str) -> CityNode:
    """Create or bring up to date the publication of one city (at the province)."""
    _require_postgresql()
    code = city_code_of(city_code)
    tables = replicated_tables()
    ensure_replica_identity()
    name = publication_name(code)
    with connection.cursor() as cursor:
        city = _lookup_city(cursor, code)
        items = ", ".join(_table_item(t, city) for t in tables)
        cursor.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f"ALTER PUBLICATION {name} SET TABLE {items}")
            cursor.execute(f"ALTER PUBLICATION {name} SET (publish = 'insert, update, delete, truncate')")
        else:
            cursor.execute(f"CREATE PUBLICATION {name} FOR TABLE {items} "
                           "WITH (publish = 'insert, update, delete, truncate')")
        # The city's heartbeat row exists from the start, so the node's lag reading has a value.
        cursor.execute(
            "INSERT INTO nodes_nodeheartbeat (city_code, beaten_at) VALUES (%s, clock_timestamp()) "
            "ON CONFLICT (city_code) DO NOTHING", [code])
    node, _ = CityNode.objects.update_or_create(
        city_code=code, role=NodeRole.PUBLISHER,
        defaults={"city_name": city.name, "region_path": city.path, "publication": name, "tables": len(tables)})
    return node


def wal_level() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW wal_level")
        return cursor.fetchone()[0]


def record_heartbeat() -> int:
    """Rewrite every published city's heartbeat row with the province's clock (at the province)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO nodes_nodeheartbeat (city_code, beaten_at) "
            "SELECT city_code, clock_timestamp() FROM nodes_citynode WHERE role = %s "
            "ON CONFLICT (city_code) DO UPDATE SET beaten_at = EXCLUDED.beaten_at", [NodeRole.PUBLISHER])
        return cursor.rowcount


def dsn_without_password(dsn: str) -> str:
    dsn = re.sub(r"(postgres(?:ql)?://[^:/@]+):[^@]*@", r"\1@", dsn)
    return re.sub(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)\s*", "", dsn).strip()


def _province_city(province_dsn: str, code: str) -> City:
    """Check, on the province, that the city's publication exists; read the city's name and path."""
    name = publication_name(code)
    try:
        with psycopg.connect(province_dsn, connect_timeout=10) as province, province.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [name])
            if cursor.fetchone() is None:
                raise NodeSetupError(gettext("省级库没有发布 %(name)s：请先在省级运行 manage.py node_publish --city %(code)s") % {"name": name, "code": code})
            return _lookup_city(cursor, code)
    except psycopg.OperationalError as exc:
        raise NodeSetupError(gettext("无法连接省级库：%(exc)s") % {"exc": exc}) from exc


GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION nodes_replicated_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '表 % 由省级复制而来，在市级节点上只读；本市为数据源的记录请通过开放接口报送省级', TG_TABLE_NAME
        USING ERRCODE = 'read_only_sql_transaction';
END $$;
CREATE OR REPLACE FUNCTION nodes_heartbeat_received() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.received_at := clock_timestamp();
    RETURN NEW;
END $$;
"""


def install_node_guards() -> None:
    """On a node: replicated tables refuse local writes; the heartbeat is stamped on arrival.

    The guard is an ordinary trigger, which PostgreSQL does not fire in the replication apply worker
    (it runs with session_replication_role = replica), so only local writes are refused. The heartbeat
    trigger is ENABLE ALWAYS so that it fires for replicated rows too.
    """
    with connection.cursor() as cursor:
        cursor.execute(GUARD_FUNCTION)
        for table in replicated_tables():
            cursor.execute(
                f'CREATE OR REPLACE TRIGGER nodes_read_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE '
                f'ON "{table.table}" FOR EACH STATEMENT EXECUTE FUNCTION nodes_replicated_read_only()')
        heartbeat = next(t.table for t in replicated_tables() if t.label == HEARTBEAT)
        cursor.execute(
            f'CREATE OR REPLACE TRIGGER nodes_heartbeat_received BEFORE INSERT OR UPDATE ON "{heartbeat}" '
            f'FOR EACH ROW EXECUTE FUNCTION nodes_heartbeat_received()')
        cursor.execute(f'ALTER TABLE "{heartbeat}" ENABLE ALWAYS TRIGGER nodes_heartbeat_received')


def subscribe_to_province(*, province_dsn: str, city_code: str, slot_name: str = "", migrate: bool = True,
                          copy_data: bool = True) -> CityNode:
    """On a node: migrate, then create (or refresh) the subscription to the city's publication.

    Idempotent: an existing subscription gets the new connection string and a REFRESH PUBLICATION
    (which copies tables the province added since), and is enabled.
    """
    _require_postgresql()
    code = city_code_of(city_code)
    city = _province_city(province_dsn, code)
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    name = publication_name(code)
    slot = slot_name or name
    if not re.fullmatch(r"[a-z0-9_]{1,63}", slot):
        raise NodeSetupError(gettext("复制槽名只能由小写字母、数字和下划线组成：%(slot)s") % {"slot": repr(slot)})
    quoted_dsn = province_dsn.replace("'", "''")
    install_node_guards()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f"ALTER SUBSCRIPTION {name} CONNECTION '{quoted_dsn}'")
            cursor.execute(f"ALTER SUBSCRIPTION {name} ENABLE")
            cursor.execute(f"ALTER SUBSCRIPTION {name} REFRESH PUBLICATION WITH (copy_data = {str(copy_data).lower()})")
        else:
            cursor.execute(
                f"CREATE SUBSCRIPTION {name} CONNECTION '{quoted_dsn}' PUBLICATION {name} "
                f"WITH (slot_name = '{slot}', copy_data = {str(copy_data).lower()}, streaming = on)")
    node, _ = CityNode.objects.update_or_create(
        city_code=code, role=NodeRole.SUBSCRIBER,
        defaults={"city_name": city.name, "region_path": city.path, "publication": name, "subscription": name,
                  "province_dsn": dsn_without_password(province_dsn), "tables": len(replicated_tables())})
    return node


def drop_subscription(*, city_code: str) -> None:
    """On a node: drop the subscription and, if the province is reachable, its slot there.

    When the province cannot be reached, the subscription is detached from its slot first (PostgreSQL
    refuses to drop it otherwise); the slot is then left at the province, to drop there by hand."""
    _require_postgresql()
    name = publication_name(city_code_of(city_code))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
        if not cursor.fetchone():
            return
        try:
            with transaction.atomic():
                cursor.execute(f"ALTER SUBSCRIPTION {name} DISABLE")
            cursor.execute(f"DROP SUBSCRIPTION {name}")
        except DatabaseError:
            cursor.execute(f"ALTER SUBSCRIPTION {name} SET (slot_name = NONE)")
            cursor.execute(f"DROP SUBSCRIPTION {name}")


def empty_replicated_tables() -> None:
    """On a node, before a full resync: delete every replicated row.

    As the apply worker does, the session runs with session_replication_role = replica, so the
    read-only guards and foreign keys (users of the node point at replicated organizations) do not
    fire; DELETE rather than TRUNCATE, which would refuse or cascade into the node's own tables."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table in replicated_tables():
            cursor.execute(f'DELETE FROM "{table.table}"')  # noqa: S608 — names from the plan

