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
# coordinator, then two checks of its own (concurrent writers on an attached
# table; a follower across a worker's immediate shutdown,
# test/citus/follow_restart.sh), stops the cluster.  Prints pg_regress's lines, then
# `citus: N passed, N failed`, or `citus: skipped (...)` when Citus cannot
# be had on this machine (exit 3).
set -u -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
REPO=$(pwd -P)
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PORT=${FLINKML_CITUS_PORT:-55410}
TESTS=(citus_aggregates citus_registry citus_attach citus_follow)

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

# Concurrent writers on an attached distributed table (pgbench: 6 clients
# inserting, updating and deleting for 4 s, through the coordinator): the
# model must then equal a fresh fit of the table, row for row.
concurrent_writers() {
	local bin script
	bin=$("$PG_CONFIG" --bindir)
	script="$WORK/writers.sql"
	cat >"$script" <<'PGB'
\set a random(1, 3000)
\set b random(1, 3000)
INSERT INTO conc SELECT nextval('conc_ids'), random() * 10, random() * 5, 1 + random(), random() * 100 FROM generate_series(1, 3);
UPDATE conc SET y = y + 1, x1 = x1 * 0.5 WHERE id = :a;
DELETE FROM conc WHERE id = :b;
PGB
	citus_psql 0 <<'SQL' >/dev/null || return 1
SET client_min_messages = warning;
CREATE SEQUENCE conc_ids START 3001;
CREATE TABLE conc (id bigint PRIMARY KEY, x1 float8, x2 float8, w float8, y float8);
SELECT create_distributed_table('conc', 'id');
INSERT INTO conc SELECT g, random() * 10, random() * 5, 1 + random(), random() * 100 FROM generate_series(1, 3000) g;
SELECT flinkml.create_model('conc_m', 'conc', 'y', ARRAY['x1', 'x2'], weight => 'w');
SELECT flinkml.attach('conc_m');
SQL
	_citus_as_user "$bin/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c 6 -j 2 -T 4 -f "$script" postgres \
		>"$WORK/pgbench.log" 2>&1 || { cat "$WORK/pgbench.log"; return 1; }
	grep -E '^number of (transactions actually processed|failed)' "$WORK/pgbench.log"
	citus_psql 0 -At <<'SQL'
CREATE TABLE conc_fresh AS SELECT linreg_fit(y, ARRAY[x1, x2], w) AS f, count(*) AS n FROM conc;
SELECT 'concurrent writers: rows ' || n || ', model rows ' || linreg_rows(flinkml.current_model('conc_m'))
       || ', equal ' || ((SELECT bool_and(abs(a - b) <= 1e-12 * greatest(abs(a), abs(b)))
                          FROM unnest(linreg_coefficients(flinkml.current_model('conc_m')), linreg_coefficients(f)) u(a, b))
                         AND n = linreg_rows(flinkml.current_model('conc_m')))
FROM conc_fresh;
SQL
}
conc_out=$(concurrent_writers 2>&1)
printf '%s\n' "$conc_out"
if printf '%s\n' "$conc_out" | grep -q '^concurrent writers: .*, equal true$'; then
	echo "test concurrent_writers           ... ok"
	p=$((p + 1))
else
	echo "test concurrent_writers           ... FAILED"
	f=$((f + 1))
fi
# A follower across a worker's immediate shutdown and restart.
# shellcheck source=test/citus/follow_restart.sh
source test/citus/follow_restart.sh
restart_out=$(follow_restart 2>&1)
printf '%s\n' "$restart_out"
if printf '%s\n' "$restart_out" | grep -q '^follow restart: model equal to a fresh fit: true$' &&
	printf '%s\n' "$restart_out" | grep -q '^follow restart: slots left on the nodes 0$'; then
	echo "test follow_restart               ... ok"
	p=$((p + 1))
else
	echo "test follow_restart               ... FAILED"
	f=$((f + 1))
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
