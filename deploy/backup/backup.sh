#!/usr/bin/env bash
# Base backup of the platform's PostgreSQL cluster, verified, with retention (docs/operations-backup.md).
#
#   deploy/backup/backup.sh            (run as the postgres OS user, e.g. from cron or a systemd timer)
#
# Environment:
#   BACKUP_DIR    where base backups go, one directory per backup named by its UTC start (required)
#   WAL_ARCHIVE   the archive archive-wal.sh fills; WAL older than the oldest kept backup is removed
#                 from it (optional: without it the archive is left alone)
#   BACKUP_KEEP   base backups kept (default 7: a week of nightly backups, the window of PITR)
#   PGHOST, PGPORT, PGUSER   the server, as for every libpq tool; a role with REPLICATION. A password
#                 comes from ~/.pgpass, never from the command line.
#   PG_BIN        PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
#
# A backup is pg_basebackup in plain format with the WAL it needs streamed into it (-X stream): it
# restores on its own, to the moment it ended, even without the archive. Its backup_manifest holds a
# SHA-256 of every file; pg_verifybackup checks them and that the WAL parses, before the backup is
# given its final name — a directory without ".partial" is a verified backup. Prints its path.
set -euo pipefail

BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
: "${BACKUP_DIR:?set BACKUP_DIR to the directory of base backups}"
KEEP="${BACKUP_KEEP:-7}"
[[ "$KEEP" =~ ^[1-9][0-9]*$ ]] || { echo "backup: BACKUP_KEEP must be a positive number" >&2; exit 2; }
mkdir -p "$BACKUP_DIR"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$BACKUP_DIR/$stamp"
partial="$target.partial"
if [ -e "$target" ] || [ -e "$partial" ]; then
    echo "backup: $target exists already (two backups in one second?)" >&2
    exit 1
fi
trap 'rm -rf "$partial"' ERR

"$BIN/pg_basebackup" --pgdata="$partial" --format=plain --wal-method=stream --checkpoint=fast \
    --manifest-checksums=SHA256 --label="eduplatform $stamp" --no-password
"$BIN/pg_verifybackup" --quiet "$partial"
mv "$partial" "$target"
trap - ERR

# Retention: the newest $KEEP verified backups stay (unverified leftovers of a failed run go too).
rm -rf "$BACKUP_DIR"/*.partial
mapfile -t backups < <(find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '2*Z' -printf '%f\n' | sort)
if [ "${#backups[@]}" -gt "$KEEP" ]; then
    for old in "${backups[@]:0:${#backups[@]}-$KEEP}"; do
        rm -rf "${BACKUP_DIR:?}/$old"
    done
    backups=("${backups[@]: -$KEEP}")
fi

# The archive: a restore starts from a base backup and replays the archive from that backup's first
# segment, so segments older than the oldest kept backup's first are needed by no restore.
if [ -n "${WAL_ARCHIVE:-}" ]; then
    oldest="$BACKUP_DIR/${backups[0]}"
    first_wal="$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\))$/\1/p' "$oldest/backup_label")"
    [ -n "$first_wal" ] || { echo "backup: no START WAL LOCATION in $oldest/backup_label" >&2; exit 1; }
    "$BIN/pg_archivecleanup" "$WAL_ARCHIVE" "$first_wal"
fi
echo "$target"
