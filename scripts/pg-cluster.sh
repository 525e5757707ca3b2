#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster with wal_level=logical, for the city-node test and benchmark
# (docs/nodes.md). Never for production: fsync and synchronous_commit are off.
#   scripts/pg-cluster.sh start DIR PORT   initdb (if DIR has no cluster yet) and start on 127.0.0.1:PORT
#   scripts/pg-cluster.sh stop DIR         fast shutdown (the cluster stays on disk, start resumes it)
#   scripts/pg-cluster.sh destroy DIR      stop if running, then delete DIR
# PG_CLUSTER_OPTIONS adds server options (later -c win), e.g. "-c synchronous_commit=on".
# PostgreSQL refuses to run as root: as root, every command runs as the postgres OS user, which
# must own DIR (it is created and handed over here).
set -euo pipefail

BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
action="${1:?usage: pg-cluster.sh start|stop|destroy DIR [PORT]}"
dir="${2:?usage: pg-cluster.sh start|stop|destroy DIR [PORT]}"

as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$action" in
start)
    port="${3:?pg-cluster.sh start needs a PORT}"
    [ -x "$BIN/initdb" ] || { echo "pg-cluster: $BIN/initdb not found" >&2; exit 3; }
    if [ ! -f "$dir/PG_VERSION" ]; then
        mkdir -p "$dir"
        [ "$(id -u)" = "0" ] && chown postgres: "$dir"
        as_postgres "$BIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
            || { cat "$dir.initdb.log" >&2; exit 1; }
    fi
    as_postgres "$BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start -o "\
 -p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir\
 -c wal_level=logical -c fsync=off -c synchronous_commit=off -c full_page_writes=off\
 -c max_wal_senders=20 -c max_replication_slots=20 -c max_worker_processes=16\
 -c max_logical_replication_workers=12 -c max_sync_workers_per_subscription=4\
 -c shared_buffers=64MB -c max_connections=60 -c wal_receiver_status_interval=1 ${PG_CLUSTER_OPTIONS:-}" >/dev/null
    ;;
stop)
    if [ -f "$dir/postmaster.pid" ]; then
        as_postgres "$BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
destroy)
    if [ -f "$dir/postmaster.pid" ]; then
        as_postgres "$BIN/pg_ctl" -D "$dir" -m immediate -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$dir" "$dir.initdb.log"
    ;;
*)
    echo "usage: pg-cluster.sh start|stop|destroy DIR [PORT]" >&2
    exit 2
    ;;
esac
