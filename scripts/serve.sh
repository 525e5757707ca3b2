#!/usr/bin/env bash
# Serve the platform on 127.0.0.1:8000 with its background worker (imports, exports) beside it.
# The worker stops when the server stops (Ctrl-C).
set -euo pipefail
PY=${PY:-.venv/bin/python}
"$PY" manage.py db_worker --interval 0.5 --no-reload -v0 &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true' EXIT INT TERM
"$PY" manage.py runserver 127.0.0.1:8000 --noreload
