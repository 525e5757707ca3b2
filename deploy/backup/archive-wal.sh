#!/bin/sh
# WAL archiving for point-in-time recovery (docs/operations-backup.md). In postgresql.conf:
#
#   archive_mode = on
#   archive_command = '/opt/eduplatform/deploy/backup/archive-wal.sh %p %f /srv/pg-archive/wal'
#   archive_timeout = 60        # a quiet hour still archives a segment a minute: at most 60 s lost
#
# Copies one finished WAL segment (%p, named %f) into the archive directory, durably and atomically:
# a temporary name, flushed to disk, then renamed. PostgreSQL retries a segment until this exits 0,
# so a segment archived already (the server crashed after the copy, before it noted success) is
# success if it is the same file — and a failure, loudly, if the archive holds a different file of
# that name (two clusters archiving into one directory: never overwrite).
set -eu

src="${1:?usage: archive-wal.sh %p %f ARCHIVE_DIR}"
name="${2:?usage: archive-wal.sh %p %f ARCHIVE_DIR}"
archive="${3:?usage: archive-wal.sh %p %f ARCHIVE_DIR}"
dest="$archive/$name"

if [ -f "$dest" ]; then
    if cmp -s "$src" "$dest"; then
        exit 0
    fi
    echo "archive-wal: $dest already exists with different content; refusing to overwrite" >&2
    exit 1
fi
tmp="$archive/.$name.partial"
cp "$src" "$tmp"
sync "$tmp"
mv "$tmp" "$dest"
sync "$archive"
