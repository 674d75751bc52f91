#!/bin/sh
# Writes SST's service accounts into a running Mosquitto's dynamic-security plugin.
#
#   accounts.sh HOST PORT
#
# Environment: MQTT_ADMIN_PASSWORD (required; the plugin's admin, MQTT_ADMIN_USERNAME,
# default sst-admin), MQTT_GATEWAY_PASSWORD (required), MQTT_SIM_PASSWORD (optional: the
# demo simulator's account exists only while it is set), MQTT_BACKEND_PASSWORD (optional: the
# backend's video signaling account sst-backend exists only while it is set).
#
# Used by entrypoint.sh (docker compose) and scripts/broker.sh (the local broker). Each run
# adds whatever the service roles below lack. Hub and robot accounts are the backend's
# (sst_backend.broker) and are left alone. POSIX sh and mosquitto_rr only: it runs in the eclipse-mosquitto image.
set -eu

host=${1:?usage: accounts.sh HOST PORT}
port=${2:?usage: accounts.sh HOST PORT}
admin_user=${MQTT_ADMIN_USERNAME:-sst-admin}
: "${MQTT_ADMIN_PASSWORD:?MQTT_ADMIN_PASSWORD must be set (the broker admin's password)}"
: "${MQTT_GATEWAY_PASSWORD:?MQTT_GATEWAY_PASSWORD must be set (the hub gateway's broker password)}"

# JSON string contents: backslashes and quotes escaped.
json() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

# acl TYPE TOPIC: one allowed ACL entry.
acl() { printf '{"acltype":"%s","topic":"%s","allow":true}' "$1" "$2"; }

# Nothing is allowed unless a role grants it; receiving is denied too, so that a
# subscription slipping past its check still delivers nothing.
DEFAULTS='{"command":"setDefaultACLAccess","acls":[
 {"acltype":"publishClientSend","allow":false},{"acltype":"publishClientReceive","allow":false},
 {"acltype":"subscribe","allow":false},{"acltype":"unsubscribe","allow":true}]}'

# The hub gateway reads every hub (and robot) subtree, through shared subscriptions too, and
# publishes commands down into them; it may read $SYS for its health check.
GATEWAY_ACLS=$(
  for tree in sst/v1/hubs/# sst/v1/robots/#; do
    acl publishClientSend "$tree"; printf ','
    acl publishClientReceive "$tree"; printf ','
    acl subscribePattern "$tree"; printf ','
    acl subscribePattern "\$share/+/$tree"; printf ','
  done
  acl publishClientReceive '$SYS/#'; printf ','
  acl subscribePattern '$SYS/#'
)

# The demo simulator plays many hubs over one login: never in production.
SIM_ACLS=$(
  for tree in sst/v1/hubs/# sst/v1/robots/#; do
    acl publishClientSend "$tree"; printf ','
    acl publishClientReceive "$tree"; printf ','
    acl subscribePattern "$tree"; printf ','
  done | sed 's/,$//'
)

# The backend's video signaling (docs/video.md): it talks to the hubs' camera agents only, down
# on video/down, up from video/up (through a shared subscription when several backends run).
BACKEND_ACLS=$(
  acl publishClientSend 'sst/v1/hubs/+/video/down'; printf ','
  acl publishClientReceive 'sst/v1/hubs/+/video/up'; printf ','
  acl subscribePattern 'sst/v1/hubs/+/video/up'; printf ','
  acl subscribePattern '$share/+/sst/v1/hubs/+/video/up'
)

rr() {
  mosquitto_rr -h "$host" -p "$port" -u "$admin_user" -P "$MQTT_ADMIN_PASSWORD" \
    -t '$CONTROL/dynamic-security/v1' -e '$CONTROL/dynamic-security/v1/response' \
    -W 10 -m "{\"commands\":[$1]}"
}

# account USER PASSWORD ROLE ACLS: the role with these grants, the login, and its password.
# Creating a role or login that exists, or adding a grant it has, fails harmlessly. A role is
# never deleted here: Mosquitto 2.0.11 frees a deleted role that a login still holds and
# then crashes on it. So a grant dropped from this file must be removed from a running
# broker by hand (mosquitto_ctrl dynsec removeRoleACL).
account() {
  acls=$(printf '%s' "$4" | sed "s/{\"acltype\"/{\"command\":\"addRoleACL\",\"rolename\":\"$3\",\"acltype\"/g")
  rr "{\"command\":\"createRole\",\"rolename\":\"$3\",\"acls\":[$4]},
      $acls,
      {\"command\":\"createClient\",\"username\":\"$1\",\"password\":\"$(json "$2")\"},
      {\"command\":\"addClientRole\",\"username\":\"$1\",\"rolename\":\"$3\"}" \
    >/dev/null || unreachable
  checked "{\"command\":\"setClientPassword\",\"username\":\"$1\",\"password\":\"$(json "$2")\"},
      {\"command\":\"enableClient\",\"username\":\"$1\"}"
  # addClientRole answers an error when the login has the role already: check the outcome.
  case $(rr "{\"command\":\"getClient\",\"username\":\"$1\"}") in
    *"{\"rolename\":\"$3\"}"*) ;;
    *) echo "accounts: $1 did not get the role $3" >&2; exit 1 ;;
  esac
}

unreachable() {
  echo "accounts: the broker at $host:$port did not answer $admin_user (wrong MQTT_ADMIN_PASSWORD?)" >&2
  exit 1
}

# Commands that must all succeed.
checked() {
  answer=$(rr "$1") || unreachable
  case $answer in
    *'"error"'*) echo "accounts: the broker refused: $answer" >&2; exit 1 ;;
  esac
}

checked "$DEFAULTS"
account sst-gateway "$MQTT_GATEWAY_PASSWORD" sst-gateway "$GATEWAY_ACLS"
if [ -n "${MQTT_SIM_PASSWORD:-}" ]; then
  account sst-sim "$MQTT_SIM_PASSWORD" sst-simulator "$SIM_ACLS"
else
  rr '{"command":"deleteClient","username":"sst-sim"},{"command":"deleteRole","rolename":"sst-simulator"}' \
    >/dev/null || unreachable
fi
if [ -n "${MQTT_BACKEND_PASSWORD:-}" ]; then
  account sst-backend "$MQTT_BACKEND_PASSWORD" sst-backend "$BACKEND_ACLS"
else
  rr '{"command":"deleteClient","username":"sst-backend"}' >/dev/null || unreachable
fi
echo "accounts: sst-gateway${MQTT_SIM_PASSWORD:+, sst-sim}${MQTT_BACKEND_PASSWORD:+, sst-backend} ready on $host:$port"
