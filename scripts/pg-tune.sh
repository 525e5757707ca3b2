#!/usr/bin/env bash
# Apply deploy/postgres/eduplatform.conf to a local Debian PostgreSQL cluster with ALTER SYSTEM and
# restart it, so that benchmarks measure the server as production configures it.
# Usage: sudo-capable shell, PGURL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
url="${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}"
grep -Ev '^\s*(#|$)' "$here/deploy/postgres/eduplatform.conf" | sed 's/#.*//' | while IFS='=' read -r name value; do
  name="$(echo "$name" | xargs)"; value="$(echo "$value" | xargs)"; value="${value//\'/}"
  [ "$name" = listen_addresses ] && continue
  psql "$url" -qAtc "ALTER SYSTEM SET $name = '$value'"
done
if command -v pg_ctlcluster >/dev/null; then
  version="$(psql "$url" -Atc "SHOW server_version_num" | cut -c1-2)"
  pg_ctlcluster "$version" main restart
else
  echo "Restart the PostgreSQL server to apply shared_buffers." >&2
fi
for _ in $(seq 30); do psql "$url" -qAtc "select 1" >/dev/null 2>&1 && break; sleep 1; done
psql "$url" -Atc "SELECT name || ' = ' || current_setting(name) FROM pg_settings WHERE source = 'configuration file' AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY name"
