#!/usr/bin/env bash
# Runs SST's own Mosquitto for `make run` and `make test`: loopback only, on SST_MQTT_PORT
# (1884), no anonymous access, accounts in the dynamic-security plugin (docs/mqtt.md,
# "Security"). The machine's Mosquitto on 1883 is left alone.
#
#   scripts/broker.sh          start it if needed and make the service accounts match .env
#   scripts/broker.sh stop     stop it (its accounts and queued messages stay in var/mosquitto)
#
# Idempotent and restart-safe: state lives in var/mosquitto (persistence on), the accounts
# are rewritten only when .env's passwords changed. Fails loudly if the broker cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] || bash scripts/make-env.sh
set -a; . ./.env; set +a

dir="$PWD/var/mosquitto"
port=${SST_MQTT_PORT:-1884}
admin_user=${SST_MQTT_ADMIN_USERNAME:-sst-admin}
pid_file="$dir/mosquitto.pid"
fail() { echo "broker: $*" >&2; exit 1; }

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  if running; then kill "$(cat "$pid_file")"; echo "broker: stopped"; fi
  exit 0
fi

: "${SST_MQTT_ADMIN_PASSWORD:?broker: set SST_MQTT_ADMIN_PASSWORD in .env (scripts/make-env.sh writes one)}"
: "${SST_MQTT_PASSWORD:?broker: set SST_MQTT_PASSWORD (the gateway account sst-gateway) in .env}"
[ "${SST_MQTT_USERNAME:-sst-gateway}" = sst-gateway ] ||
  fail "SST_MQTT_USERNAME in .env must be sst-gateway (the gateway's account on the local broker)"
command -v mosquitto >/dev/null || fail "mosquitto is not installed (scripts/setup-system.sh installs it)"
plugin=$(ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
  2>/dev/null | head -n 1) || true
[ -n "$plugin" ] || fail "mosquitto's dynamic-security plugin is not installed"

mkdir -p "$dir"
chmod 0700 "$dir"
sed -e "s|@PLUGIN@|$plugin|" -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|" \
  docker/mosquitto/local.conf.in >"$dir/mosquitto.conf"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
started=0
if ! running; then
  if up; then
    fail "something else listens on 127.0.0.1:$port; stop it or set SST_MQTT_PORT in .env"
  fi
  if [ ! -f "$dir/dynsec.json" ]; then
    (umask 077; mosquitto_ctrl dynsec init "$dir/dynsec.json" "$admin_user" \
      "$SST_MQTT_ADMIN_PASSWORD" >/dev/null)
  fi
  # Started as root, mosquitto becomes the `mosquitto` user: it must own its state.
  if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto: "$dir"; fi
  rm -f "$pid_file"
  mosquitto -c "$dir/mosquitto.conf" -d
  for _ in $(seq 1 50); do up && break; sleep 0.1; done
  running && up || fail "mosquitto did not start; see $dir/mosquitto.log"
  started=1
  echo "broker: mosquitto listening on 127.0.0.1:$port (state in var/mosquitto)"
fi

# Rewriting a password disconnects whoever uses it, so only do it when something changed.
stamp="$dir/accounts.sha256"
wanted=$(printf '%s\n' "$admin_user" "$SST_MQTT_ADMIN_PASSWORD" "$SST_MQTT_PASSWORD" \
  "${MQTT_SIM_PASSWORD:-}" "${SST_VIDEO_MQTT_PASSWORD:-}" | cat - docker/mosquitto/accounts.sh | sha256sum | cut -d' ' -f1)
if [ $started = 1 ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  MQTT_ADMIN_USERNAME=$admin_user MQTT_ADMIN_PASSWORD=$SST_MQTT_ADMIN_PASSWORD \
    MQTT_GATEWAY_PASSWORD=$SST_MQTT_PASSWORD MQTT_SIM_PASSWORD=${MQTT_SIM_PASSWORD:-} \
    MQTT_BACKEND_PASSWORD=${SST_VIDEO_MQTT_PASSWORD:-} \
    sh docker/mosquitto/accounts.sh 127.0.0.1 "$port" >/dev/null ||
    fail "could not write the service accounts. If .env's SST_MQTT_ADMIN_PASSWORD changed, \
remove var/mosquitto (this forgets every hub account) and run again"
  echo "$wanted" >"$stamp"
  echo "broker: accounts sst-gateway, sst-sim, sst-backend and $admin_user match .env"
fi
