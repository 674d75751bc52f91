#!/usr/bin/env bash
# Restores a dump made by scripts/backup.sh into a NEW database (never over a live one).
#
#   scripts/restore.sh FILE DATABASE
#
# Creates DATABASE owned by the application role (the user of SST_DATABASE_URL), restores
# as the superuser of SST_DATABASE_ADMIN_URL, and wraps a TimescaleDB restore in
# timescaledb_pre_restore()/post_restore() as TimescaleDB requires. Point SST_DATABASE_URL
# at the new database and run `sst-db setup` afterwards: migrations newer than the dump run.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: scripts/restore.sh FILE DATABASE}
db=${2:?usage: scripts/restore.sh FILE DATABASE}
[ -f "$file" ] || { echo "restore: no such dump: $file" >&2; exit 1; }
# .env supplies what the environment does not set (as the services read it).
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    case "$key" in SST_DATABASE_URL|SST_DATABASE_ADMIN_URL) [ -n "${!key:-}" ] || export "$key=$value";; esac
  done < <(grep -E '^SST_DATABASE_(ADMIN_)?URL=' .env)
fi
url=${SST_DATABASE_URL:-postgresql://sst@127.0.0.1:5432/sst}
role=${url#*://}; role=${role%%[:@]*}
admin=${SST_DATABASE_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
admin=${admin/+asyncpg/}
target="${admin%/*}/$db"
exists=$(psql -XtA --dbname="$admin" -v db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")
if [ "$exists" = 1 ]; then
  echo "restore: database $db exists; restore into a new one (nothing was changed)" >&2
  exit 1
fi
psql -X -q --dbname="$admin" -v ON_ERROR_STOP=1 -v db="$db" -v role="$role" \
  <<<'CREATE DATABASE :"db" OWNER :"role"'
tsdb=0
if pg_restore --list "$file" | grep -q 'EXTENSION - timescaledb'; then tsdb=1; fi
if [ $tsdb = 1 ]; then
  psql -X -q --dbname="$target" -v ON_ERROR_STOP=1 <<<'CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();'
fi
pg_restore --no-password --exit-on-error --dbname="$target" "$file"
if [ $tsdb = 1 ]; then
  psql -X -q --dbname="$target" -v ON_ERROR_STOP=1 <<<'SELECT timescaledb_post_restore();'
fi
echo "restore: $file -> $db"
