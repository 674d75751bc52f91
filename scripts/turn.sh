#!/usr/bin/env bash
# Runs SST's own coturn (STUN/TURN for emergency video) for `make run` and `make test`:
# loopback only, on SST_TURN_PORT (3478), TURN REST credentials signed with SST_TURN_SECRET
# (docs/video.md, "TURN"). The machine's own coturn service, if any, is left alone.
#
#   scripts/turn.sh          start it if needed (restart it if .env's secret or port changed)
#   scripts/turn.sh stop     stop it
#
# Idempotent; state (rendered config with the secret, log, pid) lives in var/coturn.
# Fails loudly if coturn cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] || bash scripts/make-env.sh
set -a; . ./.env; set +a

dir="$PWD/var/coturn"
port=${SST_TURN_PORT:-3478}
pid_file="$dir/turnserver.pid"
fail() { echo "turn: $*" >&2; exit 1; }
running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }
stop() {
  if running; then
    kill "$(cat "$pid_file")"
    for _ in $(seq 1 50); do running || break; sleep 0.1; done
    rm -f "$pid_file"
    echo "turn: stopped"
  fi
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi

: "${SST_TURN_SECRET:?turn: set SST_TURN_SECRET in .env (scripts/make-env.sh writes one)}"
command -v turnserver >/dev/null || fail "coturn is not installed (scripts/setup-system.sh installs it)"
case $port in ''|*[!0-9]*) fail "SST_TURN_PORT must be a port number, not '$port'";; esac

mkdir -p "$dir"
chmod 0700 "$dir"
# The relay ports sit right above the listening port's thousand, so that checkouts with
# different SST_TURN_PORTs do not fight over relays.
min_port=${SST_TURN_MIN_PORT:-$((49152 + (port % 100) * 100))}
max_port=${SST_TURN_MAX_PORT:-$((min_port + 99))}
(umask 077; sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|" -e "s|@MIN_PORT@|$min_port|" \
  -e "s|@MAX_PORT@|$max_port|" -e "s|@SECRET@|$SST_TURN_SECRET|" \
  docker/turn/local.conf.in >"$dir/turnserver.conf.new")

# A changed secret or port needs a restart: coturn reads its configuration once.
if running && ! cmp -s "$dir/turnserver.conf.new" "$dir/turnserver.conf"; then stop; fi
mv "$dir/turnserver.conf.new" "$dir/turnserver.conf"
running && exit 0

# coturn speaks UDP and TCP on the port; a TCP connect tells whether someone holds it.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  fail "something else listens on 127.0.0.1:$port; stop it or set SST_TURN_PORT in .env"
fi
rm -f "$pid_file"
turnserver -c "$dir/turnserver.conf" -o
for _ in $(seq 1 50); do
  running && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
running || fail "coturn did not start; see $dir/turnserver.log"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "coturn does not answer on 127.0.0.1:$port; see $dir/turnserver.log"
echo "turn: coturn listening on 127.0.0.1:$port (relays $min_port-$max_port, state in var/coturn)"
