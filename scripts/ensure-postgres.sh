#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:${PGPORT:-5432} and lets the `postgres`
# role in without a password (the tests and the benchmark connect as
# postgres://postgres@127.0.0.1:5432/...).
#
#   1. Something already answers            -> nothing to do.
#   2. Debian cluster 15/main is configured -> start it (pg_ctlcluster).
#   3. Otherwise (or if 15/main refuses passwordless login) -> create and start a throwaway
#      cluster in /tmp/eduplatform-pg (trust auth, fsync off: test data only).
#
# PostgreSQL refuses to run as root, so initdb/pg_ctl run as the `postgres` OS user.
set -euo pipefail

PORT="${PGPORT:-5432}"
HOST=127.0.0.1
PG_BIN=/usr/lib/postgresql/15/bin
DATA_DIR=/tmp/eduplatform-pg
LOG_FILE=/tmp/eduplatform-pg.log

say() { echo "PostgreSQL: $*"; }
die() { echo "PostgreSQL: $*" >&2; exit 1; }

pick() { # first executable among the arguments
    local c
    for c in "$@"; do
        if [ -x "$c" ]; then echo "$c"; return 0; fi
        if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
    done
    return 1
}
PG_ISREADY="$(pick pg_isready "$PG_BIN/pg_isready")" || die "pg_isready not found; run scripts/install-system-packages.sh"
PSQL="$(pick psql "$PG_BIN/psql" || true)"

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres -- "$@"
    fi
}

answering() { "$PG_ISREADY" -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

# Can the postgres role log in without a password (what the test settings do)?
trust_login() {
    [ -n "$PSQL" ] || return 0 # no client to check with; let the tests tell
    PGPASSWORD='' PGCONNECT_TIMEOUT=5 "$PSQL" -w -X -q -At -h "$HOST" -p "$PORT" -U postgres \
        -d postgres -c 'select 1' </dev/null >/dev/null 2>&1
}

wait_ready() { # seconds
    local i
    for ((i = 0; i < $1; i++)); do
        answering && return 0
        sleep 1
    done
    answering
}

# 1. Already up?
if answering; then
    trust_login || die "a server answers on $HOST:$PORT but user postgres cannot log in without a password (needs trust auth for 127.0.0.1)."
    say "server already answering on $HOST:$PORT; nothing to do."
    exit 0
fi

# 2. The Debian-packaged cluster, if one is configured.
if [ -f /etc/postgresql/15/main/postgresql.conf ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    say "starting Debian cluster 15/main (pg_ctlcluster) ..."
    if pg_ctlcluster --skip-systemctl-redirect 15 main start >/dev/null 2>&1 && wait_ready 10; then
        if trust_login; then
            say "Debian cluster 15/main started; answering on $HOST:$PORT."
            exit 0
        fi
        # A freshly installed Debian cluster uses scram-sha-256 for TCP: of no use to us.
        # We started it, so we stop it again and use a throwaway cluster on the same port.
        say "cluster 15/main does not allow passwordless login for postgres; stopping it again."
        pg_ctlcluster --skip-systemctl-redirect 15 main stop >/dev/null 2>&1 || true
    else
        say "cluster 15/main did not start or does not answer on $HOST:$PORT."
    fi
fi

# 3. A throwaway cluster in /tmp.
[ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found; run scripts/install-system-packages.sh"

if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    say "creating throwaway cluster in $DATA_DIR ..."
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
    chown postgres:postgres "$DATA_DIR" 2>/dev/null || true
    chmod 700 "$DATA_DIR"
    as_postgres "$PG_BIN/initdb" -D "$DATA_DIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
        >"$DATA_DIR.initdb.log" 2>&1 ||
        { cat "$DATA_DIR.initdb.log" >&2; die "initdb failed."; }
else
    say "reusing throwaway cluster in $DATA_DIR."
fi

touch "$LOG_FILE"
chown postgres:postgres "$LOG_FILE" 2>/dev/null || true
say "starting it on $HOST:$PORT (log: $LOG_FILE) ..."
if ! as_postgres "$PG_BIN/pg_ctl" -D "$DATA_DIR" \
    -o "-p $PORT -k /tmp -c listen_addresses=$HOST -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    -l "$LOG_FILE" -t 30 start -w >/dev/null; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "pg_ctl start failed."
fi

wait_ready 30 || { tail -n 20 "$LOG_FILE" >&2 || true; die "server not answering on $HOST:$PORT after 30 s."; }
trust_login || die "throwaway cluster answers but user postgres cannot log in."
say "throwaway cluster running in $DATA_DIR, answering on $HOST:$PORT."
