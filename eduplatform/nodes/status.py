"""Replication state and lag of city nodes, read from PostgreSQL's own statistics views.

Province side (per city): the replication slot's ``confirmed_flush_lsn`` against the current WAL
position gives the lag in bytes; ``pg_stat_replication`` gives write/flush/replay lag in seconds.
Node side: ``pg_stat_subscription`` (received LSN, last message) and the heartbeat, whose
``received_at - beaten_at`` is the lag in seconds of the last beat, ``now - beaten_at`` its age.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import psycopg
from django.db import connection
from django.utils.translation import gettext

from .models import CityNode, NodeRole


@dataclass
class PublisherState:
    """What the province sees of one city's node."""

    city_code: str
    slot_name: str
    slot_exists: bool = False
    connected: bool = False
    state: str = ""  # pg_stat_replication.state: streaming, catchup, startup …
    lag_bytes: int | None = None
    write_lag_s: float | None = None
    flush_lag_s: float | None = None
    replay_lag_s: float | None = None
    reply_time: dt.datetime | None = None
    last_beat: dt.datetime | None = None


@dataclass
class SubscriberState:
    """What a node sees of its own subscription."""

    city_code: str
    subscription: str
    exists: bool = False
    enabled: bool = False
    worker_running: bool = False
    tables_ready: int = 0
    tables_total: int = 0
    received_lsn: str = ""
    last_message_at: dt.datetime | None = None
    beaten_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    heartbeat_lag_s: float | None = None  # received_at - beaten_at of the last beat
    heartbeat_age_s: float | None = None  # now - beaten_at
    province_reachable: bool | None = None
    lag_bytes: int | None = None  # the province's current LSN minus what this node received
    notes: list[str] = field(default_factory=list)


def _seconds(value: dt.timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def publisher_state(node: CityNode) -> PublisherState:
    state = PublisherState(city_code=node.city_code, slot_name=node.publication)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint, "
            "r.state, r.write_lag, r.flush_lag, r.replay_lag, r.reply_time "
            "FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
            "WHERE s.slot_name = %s", [node.publication])
        row = cursor.fetchone()
        if row is not None:
            state.slot_exists = True
            state.connected = bool(row[0])
            state.lag_bytes = int(row[1]) if row[1] is not None else None
            state.state = row[2] or ""
            state.write_lag_s, state.flush_lag_s, state.replay_lag_s = (_seconds(v) for v in row[3:6])
            state.reply_time = row[6]
        cursor.execute("SELECT beaten_at FROM nodes_nodeheartbeat WHERE city_code = %s", [node.city_code])
        beat = cursor.fetchone()
        state.last_beat = beat[0] if beat else None
    return state


def subscriber_state(node: CityNode, *, ask_province: bool = True) -> SubscriberState:
    state = SubscriberState(city_code=node.city_code, subscription=node.subscription)
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid, subenabled FROM pg_subscription WHERE subname = %s", [node.subscription])
        sub = cursor.fetchone()
        if sub is None:
            state.notes.append(gettext("本库没有该订阅（需运行 node_subscribe）"))
            return state
        state.exists, state.enabled = True, bool(sub[1])
        cursor.execute(
            "SELECT count(*) FILTER (WHERE srsubstate IN ('r', 's')), count(*) FROM pg_subscription_rel "
            "WHERE srsubid = %s", [sub[0]])
        state.tables_ready, state.tables_total = cursor.fetchone()
        cursor.execute(
            "SELECT pid, received_lsn::text, last_msg_receipt_time FROM pg_stat_subscription "
            "WHERE subid = %s AND relid IS NULL", [sub[0]])
        worker = cursor.fetchone()
        if worker is not None and worker[0] is not None:
            state.worker_running = True
            state.received_lsn = worker[1] or ""
            state.last_message_at = worker[2]
        cursor.execute(
            "SELECT beaten_at, received_at, received_at - beaten_at, clock_timestamp() - beaten_at "
            "FROM nodes_nodeheartbeat WHERE city_code = %s", [node.city_code])
        beat = cursor.fetchone()
        if beat is not None:
            state.beaten_at, state.received_at = beat[0], beat[1]
            state.heartbeat_lag_s, state.heartbeat_age_s = _seconds(beat[2]), _seconds(beat[3])
    if ask_province and node.province_dsn and state.received_lsn:
        try:
            # The stored DSN has no password: a node reaches the province with .pgpass or PGPASSWORD.
            with psycopg.connect(node.province_dsn, connect_timeout=2) as province, province.cursor() as cursor:
                cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::bigint", [state.received_lsn])
                state.lag_bytes = max(0, int(cursor.fetchone()[0]))
                state.province_reachable = True
        except psycopg.Error:
            state.province_reachable = False
            state.notes.append(gettext("省级库当前不可达，字节滞后无法计算"))
    return state


def nodes_of(role: str, *, city_code: str | None = None) -> list[CityNode]:
    nodes = CityNode.objects.filter(role=role)
    if city_code is not None:
        nodes = nodes.filter(city_code=city_code)
    return list(nodes.order_by("city_code"))


def all_states(*, city_code: str | None = None, ask_province: bool = True
               ) -> tuple[list[tuple[CityNode, PublisherState]], list[tuple[CityNode, SubscriberState]]]:
    """Both sides this database plays: the cities it publishes and the subscription it runs."""
    if connection.vendor != "postgresql":
        return [], []
    published = [(n, publisher_state(n)) for n in nodes_of(NodeRole.PUBLISHER, city_code=city_code)]
    subscribed = [(n, subscriber_state(n, ask_province=ask_province))
                  for n in nodes_of(NodeRole.SUBSCRIBER, city_code=city_code)]
    return published, subscribed
