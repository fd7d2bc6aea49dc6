#!/bin/bash
# bench/fdw_bench.sh — one model over a table partitioned into postgres_fdw
# foreign tables on two other servers (README "postgres_fdw: one model over
# foreign partitions"), against the same fit over a local table.
#
#     bash bench/fdw_bench.sh               (as root or as postgres; Debian 12)
#     BENCH_ROWS=200000 bash bench/fdw_bench.sh
#
# Starts three throwaway clusters (local + two shards, unix sockets only,
# ports $FDW_BENCH_PORT..+2, default 54391..54393) in one mktemp directory
# and removes them at the end.  Each shard holds half of the rows (id, age
# int, income float8, buy_count int, price float8); local holds all of them
# as a plain table and as the parent `sales` of two foreign partitions
# (servers with extensions 'flinkml', async_capable 'true').  Lines, median
# of 11 interleaved runs after a warm-up, serial plans everywhere
# (max_parallel_workers_per_gather = 0):
#   local       linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales_local
#   naive       the same FROM sales (every row fetched from the shards)
#   partitions  linreg_solve(flinkml.linreg_state_partitions('sales', ...))
#               (one aggregate per shard, run concurrently, states merged)
#   sequential  the same with async_capable 'false' (one shard after the other)
# and checks that all four give the same coefficients.
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BENCH_ROWS:-1000000}
PORT0=${FDW_BENCH_PORT:-54391}
# shellcheck source=../test/cluster.sh
. test/cluster.sh        # for cluster_bindir and _cluster_as_user only
BIN=$(cluster_bindir)
DIR=$(mktemp -d /tmp/flinkml-fdwb.XXXXXX)
[ "$(id -u)" = 0 ] && chown "$CLUSTER_USER": "$DIR"
chmod 700 "$DIR"

stop_all() {
	local n
	for n in 0 1 2; do
		[ -f "$DIR/d$n/postmaster.pid" ] &&
			_cluster_as_user "$BIN/pg_ctl" -D "$DIR/d$n" -m fast -w stop >/dev/null 2>&1
	done
	rm -rf "$DIR"
}
trap stop_all EXIT

for n in 0 1 2; do
	_cluster_as_user "$BIN/initdb" -D "$DIR/d$n" -U postgres --auth=trust --locale=C --no-sync >/dev/null
	cat >>"$DIR/d$n/postgresql.conf" <<EOF
listen_addresses = ''
port = $((PORT0 + n))
unix_socket_directories = '$DIR'
shared_buffers = 256MB
max_parallel_workers_per_gather = 0
fsync = off
synchronous_commit = off
autovacuum = off
lc_messages = 'C'
EOF
	_cluster_as_user "$BIN/pg_ctl" -D "$DIR/d$n" -l "$DIR/log$n" -w start >/dev/null
done
psql_n() { local n=$1; shift; "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p $((PORT0 + n)) -U postgres -d postgres "$@"; }

half=$((ROWS / 2))
gen() {
	cat <<EOF
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 18 + (g * 31) % 60 END AS age,
       20000 + ((g * 7919) % 80000)::float8 / 3 AS income,
       (g * 17) % 13 AS buy_count,
       12.5 + 0.8 * (18 + (g * 31) % 60) + 0.001 * (20000 + (g * 7919) % 80000)
            + 3.0 * ((g * 17) % 13) + ((g * 37) % 11 - 5) * 0.1 AS price
FROM generate_series($1::bigint, $2::bigint) g
EOF
}
COLS='id int, age int, income float8, buy_count int, price float8'
psql_n 1 -c "CREATE EXTENSION flinkml" -c "CREATE TABLE sales_p ($COLS)" -c "INSERT INTO sales_p $(gen 1 $half)" \
	-c "VACUUM (FREEZE, ANALYZE) sales_p"
psql_n 2 -c "CREATE EXTENSION flinkml" -c "CREATE TABLE sales_p ($COLS)" -c "INSERT INTO sales_p $(gen $((half + 1)) "$ROWS")" \
	-c "VACUUM (FREEZE, ANALYZE) sales_p"
psql_n 0 <<EOF
SET client_min_messages = warning;
CREATE EXTENSION flinkml;
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$DIR', port '$((PORT0 + 1))', dbname 'postgres', extensions 'flinkml', async_capable 'true');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$DIR', port '$((PORT0 + 2))', dbname 'postgres', extensions 'flinkml', async_capable 'true');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1;
CREATE USER MAPPING FOR CURRENT_USER SERVER shard2;
CREATE TABLE sales ($COLS) PARTITION BY RANGE (id);
CREATE FOREIGN TABLE sales_1 PARTITION OF sales FOR VALUES FROM (1) TO ($((half + 1)))
	SERVER shard1 OPTIONS (table_name 'sales_p');
CREATE FOREIGN TABLE sales_2 PARTITION OF sales FOR VALUES FROM ($((half + 1))) TO ($((ROWS + 1)))
	SERVER shard2 OPTIONS (table_name 'sales_p');
CREATE TABLE sales_local ($COLS);
INSERT INTO sales_local $(gen 1 "$ROWS") ORDER BY g;
VACUUM (FREEZE, ANALYZE) sales_local;
EOF

echo "fdw_bench: $BIN ($("$BIN/postgres" -V)); $ROWS rows ($half per shard), 3 features (2 integer), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
psql_n 0 <<'SQL'
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.run(q text, OUT ms float8, OUT coef float8[]) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; BEGIN t0 := clock_timestamp(); EXECUTE q INTO coef;
ms := extract(epoch FROM clock_timestamp() - t0) * 1000; END $$;
CREATE TEMP TABLE runs (line text, ms float8, coef float8[]);
DO $$
DECLARE
	q text[] := ARRAY[
		'local|SELECT linreg_coefficients(linreg_fit(price, ARRAY[age, income, buy_count])) FROM sales_local',
		'naive|SELECT linreg_coefficients(linreg_fit(price, ARRAY[age, income, buy_count])) FROM sales',
		'partitions|SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions(''sales'', ''price'', ARRAY[''age'', ''income'', ''buy_count''])))',
		'sequential|SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions(''sales'', ''price'', ARRAY[''age'', ''income'', ''buy_count''])))'];
	l text;
	r record;
BEGIN
	FOREACH l IN ARRAY q LOOP PERFORM pg_temp.run(split_part(l, '|', 2)); END LOOP;  -- warm-up
	FOR k IN 1..11 LOOP
		FOREACH l IN ARRAY q LOOP
			-- async_capable is read when the plan is made; EXECUTE plans afresh
			EXECUTE format('ALTER SERVER shard1 OPTIONS (SET async_capable %L)', CASE WHEN l LIKE 'sequential|%' THEN 'false' ELSE 'true' END);
			EXECUTE format('ALTER SERVER shard2 OPTIONS (SET async_capable %L)', CASE WHEN l LIKE 'sequential|%' THEN 'false' ELSE 'true' END);
			r := pg_temp.run(split_part(l, '|', 2));
			INSERT INTO runs VALUES (split_part(l, '|', 1), r.ms, r.coef);
		END LOOP;
	END LOOP;
END $$;
\pset footer off
WITH med AS (SELECT line, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
                    min(ms) AS lo, max(ms) AS hi FROM runs GROUP BY line)
SELECT m.line, round(m.ms::numeric / 1000, 3) AS median_s,
       round(m.lo::numeric / 1000, 3) || '-' || round(m.hi::numeric / 1000, 3) AS range_s,
       round((m.ms / l.ms)::numeric, 2) AS x_local
FROM med m, med l WHERE l.line = 'local'
ORDER BY array_position(ARRAY['local', 'naive', 'partitions', 'sequential'], m.line);
SELECT CASE WHEN count(DISTINCT coef) = 1 THEN 'fdw_bench: all lines give the same coefficients'
            ELSE 'fdw_bench: COEFFICIENTS DIFFER' END AS check FROM runs;
SQL
