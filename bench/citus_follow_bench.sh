#!/bin/bash
# bench/citus_follow_bench.sh — issue 9's follower figure: a model following
# a Citus distributed table (flinkml.follow: a slot on each worker, the
# follower on the coordinator) while writers insert 10,000 rows/s through
# the coordinator (pgbench, rate-limited: 10 transactions/s of 1,000 rows;
# asked for 100 transactions/s of 100 rows, the writers reached only 2,339
# rows/s through Citus on this 2-core machine, follower running).
# Every second a probe notes the time, reads each worker's WAL insert
# position and waits until the stream has applied every node up to it
# (flinkml.stream_nodes.last_lsn): every transaction committed before the
# probe began is then in the model.  That wait is the commit-to-model
# latency; the figure is its median and maximum (target: within 1 s).
# Ends by checking the model against a fresh fit (coefficients within
# 1e-12 relative, rows equal).
#
#   bash bench/citus_follow_bench.sh     # as root, Citus installed (test/citus/build_citus.sh)
#
# Knobs: BENCH_CITUS_PORT (55460, and the two after it), SECS (30),
# RATE (transactions/s, 10), ROWS (rows per transaction, 1000).
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT=${BENCH_CITUS_PORT:-55460}
SECS=${SECS:-30}
RATE=${RATE:-10}
ROWS=${ROWS:-1000}
# shellcheck source=../test/citus/citus_cluster.sh
. test/citus/citus_cluster.sh
trap citus_stop EXIT
citus_start "$PORT" 'citus,flinkml'
BIN=$(citus_bindir)
citus_psql 0 -c "ALTER SYSTEM SET citus.max_cached_conns_per_worker = 32" -c "SELECT pg_reload_conf()" >/dev/null
citus_psql 0 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION flinkml;
CREATE SEQUENCE ids;
CREATE TABLE fb (id bigint PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8, x5 float8,
                 x6 float8, x7 float8, x8 float8, x9 float8, x10 float8, y float8);
SELECT create_distributed_table('fb', 'id');
ALTER TABLE fb REPLICA IDENTITY FULL;
INSERT INTO fb SELECT nextval('ids'), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random(), random() FROM generate_series(1, 10000) g;
SELECT flinkml.create_model('fb_m', 'fb', 'y', ARRAY['x1','x2','x3','x4','x5','x6','x7','x8','x9','x10']);
SELECT flinkml.follow('fb_m');
CREATE TABLE probes (at timestamptz, seconds float8);
-- wait until every node's changes committed before now are in the model
CREATE PROCEDURE probe() LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	w record;
BEGIN
	SELECT array_agg(n.node_name) AS names, array_agg(n.node_port) AS ports, array_agg(r.result::pg_lsn) AS lsns INTO w
	FROM flinkml.stream_nodes n
	JOIN pg_catalog.master_run_on_worker(ARRAY(SELECT node_name FROM flinkml.stream_nodes ORDER BY node_name, node_port),
	                                     ARRAY(SELECT node_port FROM flinkml.stream_nodes ORDER BY node_name, node_port),
	                                     ARRAY(SELECT 'SELECT pg_current_wal_insert_lsn()' FROM flinkml.stream_nodes),
	                                     true) r
	  ON r.node_name = n.node_name AND r.node_port = n.node_port;
	COMMIT;
	FOR i IN 1..2000 LOOP
		EXIT WHEN NOT EXISTS (SELECT 1 FROM flinkml.stream_nodes n
		                      JOIN unnest(w.names, w.ports, w.lsns) l(node_name, node_port, lsn)
		                        ON l.node_name = n.node_name AND l.node_port = n.node_port
		                      WHERE n.last_lsn < l.lsn);
		PERFORM pg_sleep(0.005);
		COMMIT;
	END LOOP;
	INSERT INTO probes VALUES (t0, extract(epoch FROM clock_timestamp() - t0));
	COMMIT;
END $$;
SQL
cat >"$CITUS_DIR/load.sql" <<PGB
INSERT INTO fb SELECT nextval('ids'), random(), random(), random(), random(), random(), random(), random(), random(), random(), random(), random() FROM generate_series(1, $ROWS);
PGB
chmod 644 "$CITUS_DIR/load.sql"
echo "== load $(cut -d' ' -f1-3 /proc/loadavg): $RATE transactions/s of $ROWS rows for $SECS s"
_citus_as_user "$BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -R "$RATE" -T "$SECS" \
	-f "$CITUS_DIR/load.sql" postgres >"$CITUS_DIR/pgbench.log" 2>&1 &
LOAD=$!
sleep 2
for ((i = 0; i < SECS - 4; i++)); do
	citus_psql 0 -c "CALL probe()"
	sleep 0.5
done
wait "$LOAD"
grep -E '^(number of transactions actually processed|tps|latency average)' "$CITUS_DIR/pgbench.log"
citus_psql 0 -At <<'SQL'
SELECT format('achieved load: %s rows/s', round((SELECT count(*) - 10000 FROM fb) / extract(epoch FROM max(at) - min(at) + interval '4 s'))) FROM probes;
SELECT format('commit to model: %s probes, median %s s, 90th percentile %s s, max %s s',
              count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric, 3),
              round(percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds)::numeric, 3), round(max(seconds)::numeric, 3))
FROM probes;
SELECT pg_sleep(2);
SELECT format('model equals a fresh fit: %s (rows %s, model rows %s)',
              n = linreg_rows(flinkml.current_model('fb_m'))
              AND (SELECT bool_and(abs(a - b) <= 1e-12 * greatest(abs(a), abs(b)))
                   FROM unnest(linreg_coefficients(flinkml.current_model('fb_m')), linreg_coefficients(f)) u(a, b)),
              n, linreg_rows(flinkml.current_model('fb_m')))
FROM (SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS f, count(*) AS n FROM fb) x;
SQL
