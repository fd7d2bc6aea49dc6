#!/bin/bash
# test/citus/run_citus_tests.sh — flinkml on a real Citus cluster.
#
#     bash test/citus/run_citus_tests.sh     (as root, after make install)
#
# Makes Citus available (test/citus/build_citus.sh: installed, or built once
# from ../shared/vendor), starts a coordinator and two workers on loopback
# ports (test/citus/citus_cluster.sh; FLINKML_CITUS_PORT, default 55410,
# and the two ports after it), with shared_preload_libraries =
# 'citus,flinkml', runs the pg_regress suites in test/citus/sql against the
# coordinator, stops the cluster.  Prints pg_regress's lines, then
# `citus: N passed, N failed`, or `citus: skipped (...)` when Citus cannot
# be had on this machine (exit 3).
set -u -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
REPO=$(pwd -P)
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PORT=${FLINKML_CITUS_PORT:-55410}
TESTS=(citus_aggregates citus_registry citus_attach)

out=$(bash test/citus/build_citus.sh 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -eq 3 ]; then
	exit 3
elif [ "$rc" -ne 0 ]; then
	echo "citus: 0 passed, 1 failed"
	exit 1
fi

# shellcheck source=test/citus/citus_cluster.sh
source test/citus/citus_cluster.sh
WORK=$(mktemp -d /tmp/flinkml-citus-tests.XXXXXX) || exit 2
chmod 755 "$WORK"
trap 'citus_stop; rm -rf "$WORK"' EXIT
if ! citus_start "$PORT" 'citus,flinkml'; then
	echo "citus: cluster start failed"
	echo "citus: 0 passed, 1 failed"
	exit 1
fi
echo "citus: coordinator on 127.0.0.1:$PORT, workers on $((PORT + 1)) and $((PORT + 2))"

PG_REGRESS=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
cp -r test/citus/sql test/citus/expected "$WORK/"
chown -R "$CITUS_USER": "$WORK"
(
	cd "$WORK" &&
		PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres \
			timeout "${FLINKML_TIMEOUT_CITUS:-900}" "$PG_REGRESS" --use-existing --host=127.0.0.1 --port="$PORT" \
			--user=postgres --inputdir=. --outputdir=. --dbname=postgres "${TESTS[@]}"
) 2>&1 | tee "$WORK/regress.log"
p=$(grep -Ec '^(test +|     +)[^ ]+ +\.\.\. +ok( |$)' "$WORK/regress.log")
f=$(grep -Ec '^(test +|     +)[^ ]+ +\.\.\. +FAILED' "$WORK/regress.log")
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
	f=1
fi
if [ -s "$WORK/regression.diffs" ]; then
	echo "---- test/citus regression.diffs ----"
	head -n 800 "$WORK/regression.diffs"
fi
if [ "$f" -ne 0 ] && [ -d "$WORK/results" ]; then
	rm -rf "$REPO/test/citus/results"
	cp -r "$WORK/results" "$REPO/test/citus/results" && echo "citus: results copied to test/citus/results/"
fi
for n in 0 1 2; do
	if grep -Eq 'PANIC|TRAP:|terminated by signal' "$(citus_log "$n")"; then
		echo "---- node $n log: crash ----"
		grep -E -B2 -A8 'PANIC|TRAP:|terminated by signal' "$(citus_log "$n")" | head -n 60
		f=$((f + 1))
	fi
done
echo "citus: $p passed, $f failed"
[ "$f" -eq 0 ]
