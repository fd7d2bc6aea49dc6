#!/usr/bin/env bash
# bench/window_bench.sh — the trigger figures of issue 10 for an event-time
# window model (create_model(..., window_length => '1 hour', time_column =>
# 'ts'), attached, with test-then-train on every statement):
#   (a) INSERT ... SELECT of 1,000 rows per statement, one client: rows/s into
#       the table with the window model vs the same table without; target >= 0.85x
#   (b) single-row INSERTs from 8 pgbench clients: transactions/s with vs
#       without; target >= 0.7x
#   (c) a follower keeping a window model (flinkml.follow): STREAM_CHANGES
#       (1,000,000) changed rows (60% inserts with times over the last two
#       hours, 20% updates that move rows' times, 20% deletes; 10,000 rows per
#       statement) written while the follower is held back (a session holds
#       LOCK flinkml.streams IN EXCLUSIVE MODE), then released: rows applied
#       per second from the backlog; target >= 300,000 rows/s
# Both tables have the same columns, primary key and index on ts (a window
# model wants that index; the plain table pays for it too).  Rows carry
# ts = now().  Rounds are interleaved (plain, window, window, plain, ...);
# the ratio is the median of the per-round ratios.  Between rounds the
# model is compacted (untimed).  Ends by checking the model against a fresh
# fit of WHERE ts > now() - '1 hour'.
#
#   bash bench/window_bench.sh      # as root or postgres
#
# Knobs: BENCH_PORT (54361), ROUNDS (7), A_BATCHES (200), B_SECS (8),
# STREAM_CHANGES (1000000), BENCH_FSYNC (off), SYNC_COMMIT (off), PARTS
# ("a b c": which figures to measure, e.g. PARTS=b or PARTS="b c").  A
# throwaway cluster of its own (wal_level = logical), removed at exit.
# About 5 minutes.
set -euo pipefail

PORT=${BENCH_PORT:-54361}
ROUNDS=${ROUNDS:-7}
A_BATCHES=${A_BATCHES:-200}
B_SECS=${B_SECS:-8}
BENCH_FSYNC=${BENCH_FSYNC:-off}
SYNC_COMMIT=${SYNC_COMMIT:-off}
STREAM_CHANGES=${STREAM_CHANGES:-1000000}
PARTS=${PARTS:-a b c}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
BINDIR=$( (pg_config --bindir 2>/dev/null) || echo /usr/lib/postgresql/15/bin)
[ -x "$BINDIR/initdb" ] || BINDIR=/usr/lib/postgresql/15/bin
export PATH="$BINDIR:$PATH"

DIR=$(mktemp -d /tmp/flinkml-wbench.XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
cleanup() {
	local rc=$?
	set +e
	as_pg pg_ctl -D "$DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1
	rm -rf "$DIR"
	exit $rc
}
trap cleanup EXIT
as_pg initdb -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 \
	|| { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 50
shared_buffers = 512MB
fsync = $BENCH_FSYNC
max_wal_size = 8GB
checkpoint_timeout = 1h
jit = off
wal_level = logical
max_replication_slots = 10
max_worker_processes = 16
EOF
if postgres --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
	echo "output_plugin_libraries = 'pgoutput, flinkml'" >>"$DIR/data/postgresql.conf"
fi
as_pg pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 120 start >/dev/null || die "could not start the cluster"
export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
calc() { awk "BEGIN { printf \"%.6g\", $* }"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1"; }

q >/dev/null <<'SQL'
CREATE EXTENSION flinkml;
CREATE TABLE t_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now(),
                      y float8, x1 float8, x2 float8, x3 float8);
CREATE INDEX ON t_plain (ts);
CREATE TABLE t_win (LIKE t_plain INCLUDING ALL);
-- a first hour of rows, so the active version has something to be scored with
INSERT INTO t_win (ts, y, x1, x2, x3)
SELECT now() - g * interval '100 milliseconds', 1 + 2 * sin(g) - 3 * cos(g * 1.7) + 0.5 * sin(g * 0.3), sin(g), cos(g * 1.7), sin(g * 0.3)
FROM generate_series(1, 30000) g;
INSERT INTO t_plain (ts, y, x1, x2, x3) SELECT ts, y, x1, x2, x3 FROM t_win;
SELECT flinkml.create_model('win_m', 't_win', 'y', ARRAY['x1', 'x2', 'x3'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('win_m');
VACUUM ANALYZE;
SQL
cat >"$DIR/a_batch.sql" <<'EOF'
\set b random(1, 1000000000)
INSERT INTO :tbl (y, x1, x2, x3) SELECT 1 + 2 * sin(g) - 3 * cos(g * 1.7) + 0.5 * sin(g * 0.3), sin(g), cos(g * 1.7), sin(g * 0.3) FROM generate_series(:b::bigint * 1000, :b::bigint * 1000 + 999) g;
EOF
cat >"$DIR/b_single.sql" <<'EOF'
\set g random(1, 1000000000)
INSERT INTO :tbl (y, x1, x2, x3) VALUES (1 + 2 * sin(:g) - 3 * cos(:g * 1.7), sin(:g), cos(:g * 1.7), sin(:g * 0.3));
EOF
compact() { q -c "SELECT flinkml.compact('win_m')" >/dev/null; }

export PGOPTIONS="-c synchronous_commit=$SYNC_COMMIT"
A_ratio= B_ratio= A_plain= A_win= B_plain= B_win=
for r in $(seq 1 "$ROUNDS"); do
	if ((r % 2)); then ORDER="plain win"; else ORDER="win plain"; fi
	for t in $ORDER; do
		part a || break
		pgbench -n -c 1 -j 1 -t "$A_BATCHES" -D tbl="t_$t" -f "$DIR/a_batch.sql" >"$DIR/a_$t.$r" 2>&1 \
			|| { cat "$DIR/a_$t.$r" >&2; die "pgbench (a) failed"; }
		eval "A_$t=\"\$A_$t $(calc "$(tps "$DIR/a_$t.$r") * 1000")\""
		compact
	done
	for t in $ORDER; do
		part b || break
		pgbench -n -c 8 -j 8 -T "$B_SECS" -D tbl="t_$t" -f "$DIR/b_single.sql" >"$DIR/b_$t.$r" 2>&1 \
			|| { cat "$DIR/b_$t.$r" >&2; die "pgbench (b) failed"; }
		eval "B_$t=\"\$B_$t $(tps "$DIR/b_$t.$r")\""
		compact
	done
	part a && A_ratio="$A_ratio $(calc "${A_win##* } / ${A_plain##* }")"
	part b && B_ratio="$B_ratio $(calc "${B_win##* } / ${B_plain##* }")"
	log "round $r: (a) rows/s plain ${A_plain##* } window ${A_win##* }; (b) tps plain ${B_plain##* } window ${B_win##* }"
	part a || part b || break
done
unset PGOPTIONS
CHECK=$(q -c "WITH cur AS (SELECT flinkml.current_model('win_m') AS m),
                   ref AS (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM t_win WHERE ts > now() - interval '1 hour')
              SELECT 'model rows ' || linreg_rows(cur.m) || ', fresh fit rows ' || linreg_rows(ref.m) ||
                     ', max relative coefficient difference ' ||
                     (SELECT max(abs(c - r) / greatest(abs(r), 1e-300)) FROM unnest(linreg_coefficients(cur.m), linreg_coefficients(ref.m)) u(c, r))
              FROM cur, ref")
C_S= C_N=0 C_CHECK=
if part c; then
# (c) the follower's backlog
q >/dev/null <<'SQL'
CREATE TABLE s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts timestamptz NOT NULL,
                y float8, x1 float8, x2 float8, x3 float8);
ALTER TABLE s REPLICA IDENTITY FULL;
CREATE INDEX ON s (ts);
INSERT INTO s (ts, y, x1, x2, x3)
SELECT now() - random() * interval '2 hours', 1 + 2 * sin(g) - 3 * cos(g * 1.7) + 0.5 * sin(g * 0.3), sin(g), cos(g * 1.7), sin(g * 0.3)
FROM generate_series(1, 100000) g;
VACUUM ANALYZE s;
SELECT flinkml.create_model('sw', 's', 'y', ARRAY['x1', 'x2', 'x3'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.follow('sw');
SQL
for i in $(seq 1 100); do
	[ "$(q -c "SELECT running FROM flinkml.stream_status WHERE model = 'sw'")" = t ] && break
	sleep 0.1
done
applied() { q -c "SELECT rows_applied FROM flinkml.stream_status WHERE model = 'sw'"; }
coproc HOLD { psql -X -q -v ON_ERROR_STOP=1 -At 2>&1; }
echo "BEGIN; LOCK TABLE flinkml.streams IN EXCLUSIVE MODE; SELECT 'held';" >&"${HOLD[1]}"
read -r -t 30 line <&"${HOLD[0]}" && [ "$line" = held ] || die "could not hold the follower back: $line"
a0=$(applied)
per=10000 ins=$((STREAM_CHANGES * 6 / 10 / 10000)) upd=$((STREAM_CHANGES * 2 / 10 / 10000))
del=$((STREAM_CHANGES / 10000 - ins - upd))
lo=$(q -c "SELECT min(id) FROM s")
{
	for ((i = 0; i < ins; i++)); do
		echo "INSERT INTO s (ts, y, x1, x2, x3) SELECT now() - random() * interval '2 hours', 1 + 2 * sin(g) - 3 * cos(g * 1.7) + 0.5 * sin(g * 0.3), sin(g), cos(g * 1.7), sin(g * 0.3) FROM generate_series($((1000000 + i * per)), $((1000000 + i * per + per - 1))) g;"
	done
	for ((i = 0; i < upd; i++)); do
		echo "UPDATE s SET y = y + 0.25, ts = ts + interval '30 minutes' WHERE id BETWEEN $((lo + i * per)) AND $((lo + i * per + per - 1));"
	done
	for ((i = 0; i < del; i++)); do
		echo "DELETE FROM s WHERE id IN (SELECT id FROM s ORDER BY id DESC LIMIT $per);"
	done
} | q
END=$(q -c "SELECT pg_current_wal_insert_lsn()")
echo "COMMIT;" >&"${HOLD[1]}"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null || true
t0=$(date +%s.%N)
while :; do
	r=$(q -c "SELECT last_lsn >= '$END' FROM flinkml.stream_status WHERE model = 'sw'")
	[ "$r" = t ] && break
	awk "BEGIN { exit !($(date +%s.%N) - $t0 > 600) }" && die "(c) the follower did not catch up in 600 s"
	sleep 0.05
done
C_S=$(calc "$(date +%s.%N) - $t0")
C_N=$(( $(applied) - a0 ))
C_CHECK=$(q -c "WITH cur AS (SELECT flinkml.current_model('sw') AS m),
                     ref AS (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM s WHERE ts > now() - interval '1 hour')
                SELECT 'model rows ' || linreg_rows(cur.m) || ', fresh fit rows ' || linreg_rows(ref.m) ||
                       ', max relative coefficient difference ' ||
                       (SELECT max(abs(c - r) / greatest(abs(r), 1e-300)) FROM unnest(linreg_coefficients(cur.m), linreg_coefficients(ref.m)) u(c, r))
                FROM cur, ref")

fi
EVALS=$(q -c "SELECT count(*) || ' evaluations, ' || sum(rows) || ' rows scored' FROM flinkml.evaluations WHERE model = 'win_m'")
echo "window_bench: $(postgres -V), load at start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds, fsync=$BENCH_FSYNC synchronous_commit=$SYNC_COMMIT"
part a && echo "(a) 1,000-row INSERT ... SELECT: window model / plain = $(echo "$A_ratio" | median)x (rounds:$A_ratio); target >= 0.85"
part b && echo "(b) single-row INSERT, 8 clients: window model / plain = $(echo "$B_ratio" | median)x (rounds:$B_ratio); target >= 0.7"
{ part a || part b; } && echo "check: $CHECK; $EVALS"
if part c; then
	echo "(c) follower, window model, backlog of $C_N changed rows: applied in $C_S s = $(calc "$C_N / $C_S") rows/s; target >= 300000"
	echo "check (c): $C_CHECK"
fi
