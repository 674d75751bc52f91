#!/usr/bin/env bash
# Make a self-signed TLS certificate for running SST locally (nginx on 443, MQTT on 8883).
#
#   scripts/gen-dev-cert.sh [OUT_DIR] [EXTRA_NAME_OR_IP...]
#
# OUT_DIR defaults to var/certs (what docker-compose.yml mounts; CERT_DIR in .env points
# elsewhere). It writes fullchain.pem and privkey.pem, valid for localhost,
# 127.0.0.1, ::1 and every extra name or address given. An existing pair is kept unless
# FORCE=1. Never use this certificate in production: mount real ones instead.
set -euo pipefail

out_dir=${1:-var/certs}
shift $(($# > 0 ? 1 : 0))

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
        san+=",IP:$name"
    else
        san+=",DNS:$name"
    fi
done
common_name=${1:-localhost}

if [[ -e $out_dir/privkey.pem && -z ${FORCE:-} ]]; then
    echo "$out_dir/privkey.pem exists; keeping it (FORCE=1 makes a new one)"
    exit 0
fi

mkdir -p "$out_dir"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 \
    -subj "/O=SST development/CN=$common_name" \
    -addext "subjectAltName=$san" \
    -keyout "$out_dir/privkey.pem" -out "$out_dir/fullchain.pem" 2>/dev/null
chmod 0644 "$out_dir/fullchain.pem"
echo "wrote $out_dir/fullchain.pem and $out_dir/privkey.pem for $san"
