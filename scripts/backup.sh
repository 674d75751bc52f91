#!/usr/bin/env bash
# Backs up SST's PostgreSQL database into one custom-format dump (pg_dump -Fc).
#
#   scripts/backup.sh FILE [DATABASE]
#
# DATABASE defaults to the database of SST_DATABASE_URL (.env). Connects as the superuser
# of SST_DATABASE_ADMIN_URL (default postgres@127.0.0.1:5432), so that the extensions
# (pg_partman with its partition configuration, or TimescaleDB) are in the dump too.
# The dump holds every reading partition, the alert history and the audit log: keep it
# encrypted and access-controlled like the database itself (docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: scripts/backup.sh FILE [DATABASE]}
# .env supplies what the environment does not set (as the services read it).
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    case "$key" in SST_DATABASE_URL|SST_DATABASE_ADMIN_URL) [ -n "${!key:-}" ] || export "$key=$value";; esac
  done < <(grep -E '^SST_DATABASE_(ADMIN_)?URL=' .env)
fi
url=${SST_DATABASE_URL:-postgresql://sst@127.0.0.1:5432/sst}
db=${2:-${url##*/}}
db=${db%%\?*}
admin=${SST_DATABASE_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
admin=${admin/+asyncpg/}
target="${admin%/*}/$db"
umask 077
pg_dump --format=custom --compress=6 --no-password --dbname="$target" --file="$file.partial"
mv "$file.partial" "$file"
echo "backup: $db -> $file ($(du -h "$file" | cut -f1))"
