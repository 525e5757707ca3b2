#!/usr/bin/env bash
# Restore a base backup into a fresh data directory, replaying the WAL archive up to a point in time
# (docs/operations-backup.md). Prepares the directory; you start the server on it.
#
#   deploy/backup/restore.sh --backup DIR --pgdata NEW_DIR [--archive WAL_DIR]
#                            [--target-time '2026-12-06 20:15:00+08' | --target-name NAME] [--port N]
#
#   --backup       a verified base backup made by backup.sh (a directory without ".partial")
#   --pgdata       the new data directory: must not exist or be empty (this never writes over a cluster)
#   --archive      the WAL archive of archive-wal.sh; without it the backup restores to its own end
#   --target-time  stop replaying before the first transaction that committed after this moment
#                  (give the time zone); without a target: replay the whole archive (the latest state)
#   --target-name  stop at a restore point made by SELECT pg_create_restore_point('NAME')
#   --port         the restored server's port (default: the backup's, i.e. the original server's)
#
# The restored server promotes itself when it reaches the target (recovery_target_action = promote),
# on a new timeline: it never writes into the original's WAL history. Archiving is switched off in it,
# so a rehearsal restore cannot fill the production archive; re-enable it (ALTER SYSTEM RESET
# archive_mode, restart) once the restored server becomes the new primary.
# Run as the postgres OS user; as root, the new directory is handed to PG_OS_USER (default postgres).
set -euo pipefail

BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
backup="" pgdata="" archive="" target_time="" target_name="" port=""
usage() { sed -n '5,6p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --backup) backup="${2:?}"; shift 2 ;;
        --pgdata) pgdata="${2:?}"; shift 2 ;;
        --archive) archive="${2:?}"; shift 2 ;;
        --target-time) target_time="${2:?}"; shift 2 ;;
        --target-name) target_name="${2:?}"; shift 2 ;;
        --port) port="${2:?}"; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "$backup" ] && [ -n "$pgdata" ] || usage
[ -z "$target_time" ] || [ -z "$target_name" ] || { echo "restore: give --target-time or --target-name, not both" >&2; exit 2; }
[ -n "$archive" ] || [ -z "$target_time$target_name" ] || { echo "restore: a target needs --archive" >&2; exit 2; }
case "$backup" in *.partial) echo "restore: $backup is an unfinished backup" >&2; exit 1 ;; esac
[ -f "$backup/backup_label" ] || { echo "restore: $backup is not a base backup (no backup_label)" >&2; exit 1; }
if [ -e "$pgdata" ] && [ -n "$(ls -A "$pgdata")" ]; then
    echo "restore: $pgdata is not empty; restore into a fresh directory" >&2
    exit 1
fi
[ -z "$archive" ] || [ -d "$archive" ] || { echo "restore: no archive directory $archive" >&2; exit 1; }

# The backup is checked again before use: a backup is only as good as its last verification.
"$BIN/pg_verifybackup" --quiet "$backup"

mkdir -p "$pgdata"
cp -a "$backup/." "$pgdata/"
rm -f "$pgdata/backup_manifest"  # describes the backup, not the running cluster
chmod 700 "$pgdata"

{
    echo ""
    echo "# --- restored by deploy/backup/restore.sh from $backup at $(date -u +%Y-%m-%dT%H:%M:%SZ) ---"
    echo "archive_mode = 'off'"
    [ -z "$port" ] || echo "port = $port"
    if [ -n "$archive" ]; then
        echo "restore_command = 'cp \"$archive/%f\" \"%p\"'"
        [ -z "$target_time" ] || echo "recovery_target_time = '$target_time'"
        [ -z "$target_name" ] || echo "recovery_target_name = '$target_name'"
        echo "recovery_target_action = 'promote'"
    fi
} >>"$pgdata/postgresql.auto.conf"
# Archive recovery (recovery.signal) replays the archive; without one, the server recovers from the
# WAL inside the backup alone, to the backup's end.
[ -z "$archive" ] || touch "$pgdata/recovery.signal"

if [ "$(id -u)" = "0" ]; then
    chown -R "${PG_OS_USER:-postgres}:" "$pgdata"
fi
echo "restore: $pgdata is ready. Start the server on it (pg_ctl -D $pgdata start, or its systemd unit);"
echo "it replays the WAL, then promotes. Check: SELECT pg_is_in_recovery();  -- false once done"
