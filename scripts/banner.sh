#!/usr/bin/env bash
# Prints where the dashboard is and the demo logins, before the services start.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then set -a; . ./.env; set +a; fi
host=${SST_HOST:-127.0.0.1}; port=${SST_PORT:-8000}
cat <<MSG

  SST is starting: backend, hub gateway, inference and the home simulator.

  Dashboard:  http://${host}:${port}/
  API docs:   http://${host}:${port}/docs
  Logins (password: sst-demo-2026):
    admin@sst.demo     admin of the demo facility
    nurse@sst.demo     care staff, assigned to all three residents
    daughter@sst.demo  guardian of Kim Young-ja

  Inject a fall:  make fall   (as the simulator's broker account, sst-sim)
  E-mail it sends: var/mail/ (a local mailbox, sst-mailbox; nothing leaves this machine)
  Ctrl-C stops everything.

MSG
