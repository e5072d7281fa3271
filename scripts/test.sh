#!/usr/bin/env bash
# Set up this machine (scripts/setup.sh) and run the whole test suite: rules, loaders, maps in headless
# Chromium, the store and API against SpatiaLite and PostGIS, the web pages and the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The PostGIS tests need the local PostgreSQL (127.0.0.1:5432); start it if this machine has it stopped.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
exec .venv/bin/python -m pytest "$@"
