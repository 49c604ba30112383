#!/usr/bin/env bash
# Restore a backup into an empty database: deploy/restore.sh FILE
#
# FILE is an archive written by deploy/backup.sh. The services must be stopped and
# DATABASE_URL must name an empty database (createdb). Afterwards, start the services:
# each relay then publishes again the journal from REPLAY_MARGIN_MINUTES before the
# backup, so that every consumer gets back what it applied after the backup (its inbox,
# restored too, lets through exactly those events). What was committed after the backup
# is not in it: see "Backup and restore" in deploy/README.md.
#
#   DATABASE_URL            the database, as pg_restore reaches it
#   PG                      as for backup.sh
#   MOTCUA                  what runs the motcua command (default "motcua"; with Compose,
#                           "docker compose run --rm --no-deps -T queue", whose own
#                           DATABASE_URL is used)
#   REPLAY_MARGIN_MINUTES   how far before the backup to replay (default 15): at least the
#                           longest consumer lag you had
set -euo pipefail

file=${1:?usage: restore.sh FILE}
: "${DATABASE_URL:?set DATABASE_URL to the empty database to restore into}"
PG=${PG:-}
MOTCUA=${MOTCUA:-motcua}
margin=${REPLAY_MARGIN_MINUTES:-15}

stamp=$(basename "$file" .dump)
stamp=${stamp#motcua-}
if [[ ! $stamp =~ ^([0-9]{8})T([0-9]{2})([0-9]{2})([0-9]{2})Z$ ]]; then
    echo "restore.sh: $file is not named motcua-<YYYYMMDDTHHMMSSZ>.dump by backup.sh" >&2
    exit 2
fi
since=$(date -u -d "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}:${BASH_REMATCH[3]}:${BASH_REMATCH[4]} UTC $margin minutes ago" +%Y-%m-%dT%H:%M:%SZ)
# The services whose schemas the archive holds (a schema entry reads
# "<id>; <oid> <oid> SCHEMA - <name> <owner>").
# shellcheck disable=SC2086
services=$($PG pg_restore --list <"$file" | awk '$4 == "SCHEMA" { print $6 }')
[[ -n $services ]] || { echo "restore.sh: no schema in $file" >&2; exit 2; }

# shellcheck disable=SC2086
$PG pg_restore --exit-on-error --single-transaction --no-owner --dbname="$DATABASE_URL" <"$file"
# shellcheck disable=SC2086  # one line, the names separated by spaces
echo "restored" $services "from $file (taken at $stamp)"
# shellcheck disable=SC2046,SC2086
$MOTCUA outbox replay --since "$since" $(printf -- '--service %s ' $services)
