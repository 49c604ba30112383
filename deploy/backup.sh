#!/usr/bin/env bash
# Back up the services' schemas: deploy/backup.sh DIR
#
# Writes DIR/motcua-<UTC time>.dump, a pg_dump archive in the custom format of the four
# services' schemas, taken in one snapshot. The time in its name is taken just before the
# snapshot: deploy/restore.sh replays the outbox journal from a little before it.
#
#   DATABASE_URL  the database, as pg_dump reaches it
#   PG            what runs the PostgreSQL client programs (empty: the ones on PATH; with
#                 Compose, "docker compose exec -T postgres", the server's own version)
set -euo pipefail

dir=${1:?usage: backup.sh DIR}
: "${DATABASE_URL:?set DATABASE_URL to the database of the services}"
PG=${PG:-}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
file="$dir/motcua-$stamp.dump"
mkdir -p "$dir"
# To stdout, so that a client inside a container writes to this host's file.
# shellcheck disable=SC2086  # PG is a command and its arguments
$PG pg_dump --format=custom --no-owner \
    --schema=queue --schema=intake --schema=deadlines --schema=notify \
    "$DATABASE_URL" >"$file.partial"
mv "$file.partial" "$file"  # a dump cut short never looks complete
echo "$file"
