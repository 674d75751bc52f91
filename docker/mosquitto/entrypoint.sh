#!/bin/sh
# Start mosquitto with the dynamic-security plugin and SST's service accounts.
#
# First the broker runs briefly on a loopback-only port while accounts.sh writes the admin's,
# gateway's and simulator's accounts; then the real broker takes over as PID 1. So no
# client ever sees a half-configured broker. Hub and robot accounts, which the backend
# provisions at run time, are kept in the plugin's file in the data volume.
set -eu

config_dir=${MOSQUITTO_CONFIG_DIR:-/mosquitto/config}
data_dir=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
cert_dir=${MOSQUITTO_CERT_DIR:-/certs}
bootstrap_port=${MOSQUITTO_BOOTSTRAP_PORT:-1880}
config="$config_dir/mosquitto.conf"
admin_user=${MQTT_ADMIN_USERNAME:-sst-admin}

: "${MQTT_ADMIN_PASSWORD:?MQTT_ADMIN_PASSWORD must be set (the broker admin's password, used by the backend)}"
: "${MQTT_GATEWAY_PASSWORD:?MQTT_GATEWAY_PASSWORD must be set (the hub gateway's broker password)}"

setting() { sed -n "s/^$1 //p" "$config" | head -n 1; }
plugin=$(setting plugin)
dynsec=$(setting plugin_opt_config_file)
[ -n "$plugin" ] && [ -n "$dynsec" ] || { echo "$config loads no dynamic-security plugin" >&2; exit 1; }

mkdir -p "$data_dir/tls"
umask 077
if [ ! -f "$dynsec" ]; then
    # A new plugin file holds only the admin; accounts.sh adds the rest below.
    mosquitto_ctrl dynsec init "$dynsec" "$admin_user" "$MQTT_ADMIN_PASSWORD" >/dev/null
fi

# The key on the host belongs to the host's user; the broker reads its own copy.
for pem in fullchain.pem privkey.pem; do
    if [ ! -r "$cert_dir/$pem" ]; then
        echo "missing $cert_dir/$pem: run scripts/gen-dev-cert.sh or mount real certificates" >&2
        exit 1
    fi
    cp "$cert_dir/$pem" "$data_dir/tls/$pem"
done
chmod 0644 "$data_dir/tls/fullchain.pem"
if [ "$(id -u)" = 0 ]; then chown -R mosquitto:mosquitto "$data_dir"; fi

bootstrap="$data_dir/bootstrap.conf"
cat >"$bootstrap" <<EOF
per_listener_settings false
allow_anonymous false
plugin $plugin
plugin_opt_config_file $dynsec
persistence false
log_dest stderr
log_type error
listener $bootstrap_port 127.0.0.1
EOF
mosquitto -c "$bootstrap" &
pid=$!
ready=0
for _ in $(seq 1 50); do
    if mosquitto_sub -h 127.0.0.1 -p "$bootstrap_port" -u "$admin_user" -P "$MQTT_ADMIN_PASSWORD" \
        -t '$SYS/broker/version' -C 1 -W 2 >/dev/null 2>&1; then
        ready=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
if [ "$ready" = 1 ]; then
    status=0
    sh "$config_dir/accounts.sh" 127.0.0.1 "$bootstrap_port" || status=$?
else
    echo "the bootstrap broker did not accept $admin_user: is MQTT_ADMIN_PASSWORD the one" \
        "$dynsec was made with?" >&2
    status=1
fi
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -f "$bootstrap"
[ "$status" = 0 ] || exit "$status"

exec mosquitto -c "$config"
