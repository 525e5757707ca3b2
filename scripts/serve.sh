#!/usr/bin/env bash
# Serve the platform on 127.0.0.1:8000 with its background worker (imports, exports) beside it.
# The worker stops when the server stops (Ctrl-C).
set -euo pipefail
PY=${PY:-.venv/bin/python}
# Restarted if it dies (killed, out of memory): queued imports never wait for a worker that is gone;
# the job it was running is marked failed with a retry (imports/runner.py fail_interrupted_jobs).
(
    trap 'kill "$child" 2>/dev/null; exit 0' TERM
    while true; do
        "$PY" manage.py db_worker --interval 0.5 --no-reload -v0 &
        child=$!
        wait "$child" || echo "后台任务进程已退出，2 秒后重启 / worker exited, restarting" >&2
        sleep 2
    done
) &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true' EXIT INT TERM
"$PY" manage.py runserver 127.0.0.1:8000 --noreload
