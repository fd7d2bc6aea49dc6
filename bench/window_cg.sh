#!/usr/bin/env bash
# bench/window_cg.sh — the writer's cost of a single-row INSERT as
# instructions counted by callgrind (load-independent, unlike the
# wall-clock ratios of bench/window_bench.sh): a single-user backend runs N1
# and then N2 single-row INSERT statements (each its own transaction, as
# pgbench's) into a table without a model, one with an all-history model
# attached, and one with an event-time window model (one hour) attached,
# test-then-train included; the difference of the two runs over N2 - N1 is
# the cost of one statement, the start of the backend left out.  Also the
# same loops timed in the server (a DO block of 20,000 INSERTs, microseconds
# per statement, median of 5; this one is wall clock).
#
#   bash bench/window_cg.sh          # as root or postgres; needs valgrind
#
# Knobs: N1 (100), N2 (1100), LOOP (20000).  A throwaway cluster of its own,
# removed at exit.  About 3 minutes.
set -euo pipefail

N1=${N1:-100}
N2=${N2:-1100}
LOOP=${LOOP:-20000}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
BINDIR=$( (pg_config --bindir 2>/dev/null) || echo /usr/lib/postgresql/15/bin)
[ -x "$BINDIR/initdb" ] || BINDIR=/usr/lib/postgresql/15/bin
command -v valgrind >/dev/null || { echo "window_cg: valgrind is not installed" >&2; exit 1; }

DIR=$(mktemp -d /tmp/flinkml-wcg.XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
cleanup() {
	as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap cleanup EXIT
as_pg "$BINDIR/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOC
listen_addresses = ''
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
jit = off
EOC
as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
psql() { "$BINDIR/psql" -X -q -At -h "$DIR" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql >/dev/null <<'SQL'
CREATE EXTENSION flinkml;
CREATE TABLE t_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now(),
                      y float8, x1 float8, x2 float8, x3 float8);
CREATE INDEX ON t_plain (ts);
CREATE TABLE t_hist (LIKE t_plain INCLUDING ALL);
CREATE TABLE t_win (LIKE t_plain INCLUDING ALL);
INSERT INTO t_win (ts, y, x1, x2, x3)
SELECT now() - g * interval '100 milliseconds', 1 + 2 * sin(g) - 3 * cos(g * 1.7) + 0.5 * sin(g * 0.3), sin(g), cos(g * 1.7), sin(g * 0.3)
FROM generate_series(1, 30000) g;
INSERT INTO t_plain (ts, y, x1, x2, x3) SELECT ts, y, x1, x2, x3 FROM t_win;
INSERT INTO t_hist (ts, y, x1, x2, x3) SELECT ts, y, x1, x2, x3 FROM t_win;
SELECT flinkml.create_model('win_m', 't_win', 'y', ARRAY['x1', 'x2', 'x3'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('win_m');
SELECT flinkml.create_model('hist_m', 't_hist', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT flinkml.attach('hist_m');
VACUUM ANALYZE;
SQL
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A US
for t in t_plain t_hist t_win; do
	us=
	for i in 1 2 3 4 5; do
		us="$us $(psql -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
		          FOR g IN 1..$LOOP LOOP
		              INSERT INTO $t (y, x1, x2, x3) VALUES (1 + 2 * sin(g) - 3 * cos(g * 1.7), sin(g), cos(g * 1.7), sin(g * 0.3));
		          END LOOP;
		          RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - t0) * 1e6 / $LOOP; END \$\$" 2>&1 | sed -n 's/.*NOTICE: *//p')"
		psql -c "SELECT flinkml.compact(name) FROM flinkml.models" >/dev/null
	done
	US[$t]=$(echo "$us" | median)
done
as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
gen() {
	for ((i = 1; i <= $2; i++)); do
		echo "INSERT INTO $1 (y, x1, x2, x3) VALUES (1 + 2 * sin($i) - 3 * cos($i * 1.7), sin($i), cos($i * 1.7), sin($i * 0.3));"
	done
	return 0
}
count() {
	gen "$1" "$2" >"$DIR/in.sql"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" -q "$BINDIR/postgres" --single -D "$DIR/data" \
		-c synchronous_commit=off postgres <"$DIR/in.sql" >/dev/null 2>"$DIR/cg.err"
	callgrind_annotate "$DIR/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ { gsub(",", "", $1); print $1 }'
}
declare -A IR
for t in t_plain t_hist t_win; do
	a=$(count "$t" "$N1")
	b=$(count "$t" "$N2")
	IR[$t]=$(( (b - a) / (N2 - N1) ))
done
echo "window_cg: $("$BINDIR/postgres" -V), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %10s %14s\n' "single-row INSERT into" "instructions" "ratio" "us (DO loop)"
for t in t_plain t_hist t_win; do
	case $t in t_plain) what="a table without a model" ;; t_hist) what="... with an all-history model" ;; t_win) what="... with a window model" ;; esac
	printf '%-34s %12d %10s %14.1f\n' "$what" "${IR[$t]}" "$(awk "BEGIN { printf \"%.3f\", ${IR[t_plain]} / ${IR[$t]} }")" "${US[$t]}"
done
