#!/usr/bin/env bash
# Installs what SST needs on a Debian 12 machine and makes sure the local services run.
# Idempotent: a second run changes nothing. Needs root (or sudo) for apt and services.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + fonts-noto-cjk: the dashboard's browser tests (Playwright drives Debian's chromium;
# the CJK fonts draw the Korean screens); coturn: TURN for emergency video (scripts/turn.sh).
APT_PACKAGES=(postgresql-15-partman mosquitto nginx-light docker-compose openssl chromium fonts-noto-cjk coturn)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet uv
fi

bash scripts/make-env.sh   # the local broker's accounts come from .env
scripts/services.sh
