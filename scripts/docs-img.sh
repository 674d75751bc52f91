#!/usr/bin/env bash
# Refreshes docs/img/ from the screenshots the browser tests saved (tests/e2e/test_dashboard_browser.py,
# tests/e2e/test_dashboard_emergency.py).
set -euo pipefail
cd "$(dirname "$0")/.."
shots=test-artifacts/screenshots
mkdir -p docs/img
for name in overview alert-live alert-resolve resident resident-checks resident-trends resident-phone guardian guardian-checks guardian-ko guardian-refused overview-ko-large connection-lost admin-credentials session-ended emergency-video-live emergency-robot; do
  if [ ! -f "$shots/$name.png" ]; then
    echo "docs-img: $shots/$name.png is missing; run the browser tests first:" >&2
    echo "  uv run pytest tests/e2e/test_dashboard_browser.py tests/e2e/test_dashboard_emergency.py" >&2
    exit 1
  fi
  cp "$shots/$name.png" "docs/img/dashboard-$name.png"
done
echo "docs-img: docs/img/dashboard-*.png refreshed"
