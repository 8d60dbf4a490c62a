#!/usr/bin/env bash
# A local Prefect server with branchkpi's deployments and one worker: `make server`.
# The server (`branchkpi server run`) keeps its home under var/prefect, the home of `branchkpi server
# start` and of every command, its log in var/prefect/server.log, and its state in a PostgreSQL of its
# own (var/prefect/postgres), or in the PostgreSQL that PREFECT_SERVER_DATABASE_CONNECTION_URL names
# (postgresql+asyncpg://…; for several workers on several machines), or in SQLite with
# BRANCHKPI_SERVER_STATE=sqlite. Ctrl-C stops the worker and the server.
#   BRANCHKPI_SERVER_PORT   port of the API and UI (default 4200)
#   BRANCHKPI_WORKER_LIMIT  flow runs the worker runs at once (default 4; each is a Python process)
#   --no-worker             only the server and the deployments (start workers and the watcher yourself)
#   BRANCHKPI_WATCHER=0     no landing sensor beside the worker (default: `branchkpi watch`, log
#                           $PREFECT_HOME/watcher.log: a send dropped into the landing folder starts its run)
# `prefect deploy --all` makes the schedules from the reporting calendar (prefect.yaml's build step), so
# this script also re-applies them after an edit of branchkpi/domain/reporting_calendar.toml.
# The test suite starts its one Prefect server with this script (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${BRANCHKPI_SERVER_PORT:-4200}
export BRANCHKPI_SERVER_PORT=$PORT
export PREFECT_HOME=${PREFECT_HOME:-${BRANCHKPI_HOME:-$PWD/var}/prefect}
export PREFECT_SERVER_ANALYTICS_ENABLED=false
# the scheduler creates runs up to this far ahead (Prefect's default, 100 days, leaves the annual
# evaluation of 30 June without a visible next run for most of the year)
export PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME=${PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME:-P400D}
# and keeps at least this far ahead in the API (Prefect's default, 1 hour, shows only the next 3 runs):
# the calendar's runs of the next three months are in the UI's Upcoming tab and `branchkpi schedules`
export PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME=${PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME:-P120D}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_UI_API_URL=$PREFECT_API_URL   # the UI must call this port, not 4200
export PREFECT_UI_URL=http://127.0.0.1:$PORT
export BRANCHKPI_PROJECT_DIR=$PWD
mkdir -p "$PREFECT_HOME" var
LOG=$PREFECT_HOME/server.log
answers() {
  "$BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$PREFECT_API_URL/health" >/dev/null 2>&1
}
if answers; then
  # the server `make demo` or `branchkpi server start` left running: use it, and leave it running
  echo "using the Prefect server already running on port $PORT"
  server=""
else
  # branchkpi's supervisor: the server's output to $LOG (never a pipe), its state in PostgreSQL
  "$BIN/branchkpi" server run &
  server=$!
  trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
  for _ in $(seq 120); do
    answers && break
    kill -0 $server 2>/dev/null || { tail -n 40 "$LOG"; exit 1; }
    sleep 1
  done
fi
"$BIN/prefect" --no-prompt work-pool create branchkpi --type process >/dev/null 2>&1 || true
"$BIN/prefect" --no-prompt deploy --all
# the schedules are alive only if the scheduler has created their runs: print the next ones in JST
"$BIN/branchkpi" schedules --wait 60 || { echo "the server's services are failing; see $LOG"; exit 1; }
echo "Prefect UI: $PREFECT_UI_URL   (API $PREFECT_API_URL; log $LOG)"
if [ "${1:-}" != "--no-worker" ] && [ "${BRANCHKPI_WATCHER:-1}" != "0" ]; then
  # the landing sensor beside the worker, in the background; it stops with the script's process group
  # (Ctrl-C, or SIGTERM to the group)
  env -u PREFECT_SERVER_DATABASE_CONNECTION_URL -u PREFECT_API_DATABASE_CONNECTION_URL \
    "$BIN/branchkpi" watch >> "$PREFECT_HOME/watcher.log" 2>&1 &
  echo "landing sensor: watching ${BRANCHKPI_HOME:-$PWD/var}/landing (log $PREFECT_HOME/watcher.log)"
fi
if [ "${1:-}" = "--no-worker" ]; then
  if [ -n "$server" ]; then wait $server; else while answers; do sleep 5; done; fi
else
  # the worker and its flow runs have no business with the server's database password
  env -u PREFECT_SERVER_DATABASE_CONNECTION_URL -u PREFECT_API_DATABASE_CONNECTION_URL \
    "$BIN/branchkpi" worker start --pool branchkpi --limit "${BRANCHKPI_WORKER_LIMIT:-4}"
fi
