#!/usr/bin/env bash
# Run the test suite twice: on SQLite (the demo database) and on PostgreSQL (production).
# Extra arguments go to pytest in both passes, e.g.
#   scripts/run-tests.sh tests/test_validators.py
#   scripts/run-tests.sh -k scope
# Browser tests (@pytest.mark.browser) run in the SQLite pass only.
# Needs: make install, and a PostgreSQL server (scripts/ensure-postgres.sh).
# Exits non-zero if either pass fails, including "no tests collected" (pytest status 5).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
[ -x "$PY" ] || { echo "run-tests: $PY not found; run 'make install' first." >&2; exit 1; }

# pyproject's addopts already has -q; a second -q (-qq) would hide pytest's final
# "N passed in X s" line, so only one -q is ever in effect here.
PYTEST=("$PY" -m pytest -x -p no:randomly)
if ! grep -Eq '^addopts *=.*(^|[" ])-q' pyproject.toml; then
    PYTEST+=(-q)
fi

SQLITE_URL="${TEST_SQLITE_URL:-sqlite:///$PWD/var/test-eduplatform.sqlite3}"
PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/eduplatform}"

mkdir -p var

status_text() {
    case "$1" in
        0) echo "passed" ;;
        1) echo "FAILED (test failures)" ;;
        2) echo "FAILED (interrupted)" ;;
        3) echo "FAILED (internal error)" ;;
        4) echo "FAILED (usage error)" ;;
        5) echo "FAILED (no tests collected)" ;;
        *) echo "FAILED (exit status $1)" ;;
    esac
}

# The two passes run side by side (one per core): the PostgreSQL pass writes to var/test-postgresql.log,
# shown after the SQLite pass, which prints as it goes. TEST_SERIAL=1 runs them one after the other.
run_postgres() {
    DATABASE_URL="$PG_URL" "${PYTEST[@]}" --create-db -m "not browser" "$@"
}

if [ "${TEST_SERIAL:-0}" = "1" ]; then
    echo "== SQLite =="
    DATABASE_URL="$SQLITE_URL" "${PYTEST[@]}" "$@"
    sqlite_rc=$?
    echo
    echo "== PostgreSQL =="
    run_postgres "$@"
    pg_rc=$?
else
    PG_LOG=var/test-postgresql.log
    run_postgres "$@" >"$PG_LOG" 2>&1 &
    pg_pid=$!
    trap 'kill "$pg_pid" 2>/dev/null' EXIT
    echo "== SQLite == (PostgreSQL runs beside it, output in $PG_LOG)"
    DATABASE_URL="$SQLITE_URL" "${PYTEST[@]}" "$@"
    sqlite_rc=$?
    wait "$pg_pid"
    pg_rc=$?
    trap - EXIT
    echo
    echo "== PostgreSQL =="
    cat "$PG_LOG"
fi
echo
echo "== Summary =="
echo "SQLite:     $(status_text "$sqlite_rc")"
echo "PostgreSQL: $(status_text "$pg_rc") (browser tests skipped in this pass)"

if [ "$sqlite_rc" -ne 0 ] || [ "$pg_rc" -ne 0 ]; then
    exit 1
fi
