#!/usr/bin/env bash
# The production stack on this machine, without docker (`make serve`): static files collected
# (hashed, gzip + brotli), migrations applied, gunicorn on 127.0.0.1:8000 with WEB_WORKERS workers,
# the background worker and the scheduler, each restarted if it dies. Ctrl-C stops all of them.
#
# Database: the SQLite demo database (var/eduplatform.sqlite3, made by `make demo`) unless
# DATABASE_URL says otherwise. SERVE_MIGRATE=0 skips `migrate` (bench/load.py: a database it must
# not change); WEB_BIND, WEB_WORKERS and the variables of docs/operations.md apply.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export STATIC_MANIFEST=1
export LOG_FORMAT=${LOG_FORMAT:-json}
export EDU_VAR_DIR=${EDU_VAR_DIR:-$PWD/var}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$EDU_VAR_DIR/prometheus}
export WEB_BIND=${WEB_BIND:-127.0.0.1:8000}

# collectstatic hashes and compresses every file (brotli at its best level: a minute or two the first
# time); it runs again only when a source file is newer than the manifest.
manifest=${STATIC_ROOT:-$EDU_VAR_DIR/static}/staticfiles.json
changed() {  # a static source (ours, the npm assets, an upgraded package) newer than the manifest
    find var/vendor eduplatform/*/static .venv/.installed -newer "$manifest" -type f -print -quit 2>/dev/null || true
}
if [ ! -f "$manifest" ] || [ -n "$(changed)" ]; then
    echo "收集静态文件（带哈希的文件名，gzip 与 brotli 预压缩）/ collectstatic ..." >&2
    "$PY" manage.py collectstatic --noinput -v0
fi
if [ "${SERVE_MIGRATE:-1}" = 1 ]; then
    "$PY" manage.py migrate --noinput -v0
fi

pids=()
stop() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# $1 = name, rest = command: restarted 2 s after it exits, until this script stops.
supervise() {
    local name=$1; shift
    (
        trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM
        while true; do
            "$@" &
            child=$!
            wait "$child" || echo "{\"level\": \"ERROR\", \"logger\": \"serve\", \"msg\": \"$name exited, restarting in 2 s\"}" >&2
            sleep 2
        done
    ) &
    pids+=($!)
}

# SERVE_WORKER=0 / SERVE_SCHEDULER=0: the web tier alone (bench/load.py).
if [ "${SERVE_WORKER:-1}" = 1 ]; then
    supervise worker "$PY" manage.py db_worker --interval 0.5 --no-reload -v0
fi
if [ "${SERVE_SCHEDULER:-1}" = 1 ]; then
    supervise scheduler "$PY" manage.py run_scheduler
fi
"$PY" -m gunicorn -c deploy/gunicorn.conf.py &
pids+=($!)
echo "平台地址 / serving: http://$WEB_BIND  (healthz /healthz, readyz /readyz, metrics /metrics)" >&2
wait "${pids[-1]}"
