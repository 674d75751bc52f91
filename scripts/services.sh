#!/usr/bin/env bash
# Starts PostgreSQL, Redis, SST's Mosquitto and SST's coturn on this machine if they are
# installed but stopped, then fails loudly if any of them still does not answer. Other
# servers: set .env instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Hosts come from .env when it exists; only local ones are started and checked here.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
is_local() { case "$1" in ""|*127.0.0.1*|*localhost*) return 0;; *) return 1;; esac; }
DB_LOCAL=0; REDIS_LOCAL=0; MQTT_LOCAL=0
if is_local "${SST_DATABASE_URL:-}"; then DB_LOCAL=1; fi
if is_local "${SST_REDIS_URL:-}"; then REDIS_LOCAL=1; fi
if is_local "${SST_MQTT_HOST:-}"; then MQTT_LOCAL=1; fi

up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_up() { for _ in $(seq 1 50); do up "$1" "$2" && return 0; sleep 0.2; done; return 1; }

if [ $DB_LOCAL = 1 ] && ! up 127.0.0.1 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
fi
if [ $REDIS_LOCAL = 1 ] && ! up 127.0.0.1 6379 && command -v redis-server >/dev/null; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/sst-redis.log
fi
# SST's own broker, with authentication (the machine's Mosquitto on 1883 allows anonymous
# clients and is not ours to reconfigure).
if [ $MQTT_LOCAL = 1 ] && ! bash scripts/broker.sh; then
  echo "services: SST's Mosquitto (scripts/broker.sh) could not be started" >&2
  exit 1
fi

# SST's own coturn for emergency video (loopback only; the machine's coturn is left alone).
if ! bash scripts/turn.sh; then
  echo "services: SST's coturn (scripts/turn.sh) could not be started" >&2
  exit 1
fi

failed=0
checks=()
if [ $DB_LOCAL = 1 ]; then checks+=("PostgreSQL 127.0.0.1 5432"); fi
if [ $REDIS_LOCAL = 1 ]; then checks+=("Redis 127.0.0.1 6379"); fi
if [ $MQTT_LOCAL = 1 ]; then checks+=("Mosquitto 127.0.0.1 ${SST_MQTT_PORT:-1884}"); fi
for svc in "${checks[@]}"; do
  set -- $svc
  if ! wait_up "$2" "$3"; then
    echo "services: $1 is not answering on $2:$3 and could not be started" >&2
    failed=1
  fi
done
exit $failed
