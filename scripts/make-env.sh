#!/usr/bin/env bash
# Writes .env from .env.example once, replacing the example secrets with random ones.
# An older .env without the broker's accounts gets them appended (and the local broker's port).
set -euo pipefail
cd "$(dirname "$0")/.."
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
if [ -f .env ]; then
  if ! grep -q '^SST_MQTT_ADMIN_PASSWORD=' .env; then
    cat >>.env <<MORE

# Added by scripts/make-env.sh: SST's own broker, which refuses anonymous clients (docs/mqtt.md).
SST_MQTT_PORT=1884
SST_MQTT_USERNAME=sst-gateway
SST_MQTT_PASSWORD=$(secret)
SST_MQTT_ADMIN_PASSWORD=$(secret)
MQTT_SIM_PASSWORD=$(secret)
MORE
    echo "env: added the local broker's accounts to .env"
  fi
  if ! grep -q '^SST_VIDEO_MQTT_PASSWORD=' .env; then
    cat >>.env <<MORE

# Added by scripts/make-env.sh: the backend's broker account for video signaling (docs/video.md).
SST_VIDEO_MQTT_PASSWORD=$(secret)
MORE
    echo "env: added the backend's video broker account to .env"
  fi
  exit 0
fi
sed -e "s|^SST_JWT_SECRET=.*|SST_JWT_SECRET=$(secret)|" \
    -e "s|^SST_TURN_SECRET=.*|SST_TURN_SECRET=$(secret)|" \
    -e "s|^SST_MQTT_PASSWORD=.*|SST_MQTT_PASSWORD=$(secret)|" \
    -e "s|^SST_MQTT_ADMIN_PASSWORD=.*|SST_MQTT_ADMIN_PASSWORD=$(secret)|" \
    -e "s|^SST_VIDEO_MQTT_PASSWORD=.*|SST_VIDEO_MQTT_PASSWORD=$(secret)|" \
    -e "s|^MQTT_SIM_PASSWORD=.*|MQTT_SIM_PASSWORD=$(secret)|" .env.example > .env
chmod 0600 .env
echo "env: wrote .env (local defaults, fresh secrets)"
