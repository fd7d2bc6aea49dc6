#!/bin/bash
# demo/run_demo.sh — the README's demo: build and install flinkml, start a
# throwaway PostgreSQL 15 cluster (test/cluster.sh, unix socket only, port
# $FLINKML_DEMO_PORT, default 54322), run demo/demo.sql with psql, stop the
# cluster.  Run as root on Debian 12:
#
#     bash demo/run_demo.sh
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
REPO=$(pwd -P)
DEMO_PORT=${FLINKML_DEMO_PORT:-54322}

# shellcheck source=test/cluster.sh
source "$REPO/test/cluster.sh"

echo "== installing dependencies (test/install_deps.sh)"
bash "$REPO/test/install_deps.sh" || { echo "run_demo: dependency installation failed" >&2; exit 1; }
PG_CONFIG=$(cluster_pg_config) || exit 1

echo "== building and installing flinkml (make && make install)"
BUILD_LOG=$(mktemp /tmp/flinkml-demo-build.XXXXXX)
cluster_at_exit 'rm -f "$BUILD_LOG"'
if ! { make -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG" &&
	make PG_CONFIG="$PG_CONFIG" install; } >"$BUILD_LOG" 2>&1; then
	cat "$BUILD_LOG"
	echo "run_demo: build or install failed" >&2
	exit 1
fi

echo "== starting a throwaway cluster"
cluster_start "$DEMO_PORT" || exit 1

echo "== running demo/demo.sql"
start=$SECONDS
psql -X -v ON_ERROR_STOP=1 --echo-queries -d postgres -f "$REPO/demo/demo.sql" </dev/null
rc=$?
echo
echo "== demo/demo.sql finished in $((SECONDS - start)) s (exit $rc)"

cluster_stop
exit "$rc"
