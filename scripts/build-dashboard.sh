#!/usr/bin/env bash
# Builds dashboard/dist with the locked npm dependencies; skips work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../dashboard"
stamp=node_modules/.sst-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
npm run build --silent
