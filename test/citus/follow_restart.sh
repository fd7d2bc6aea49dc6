# test/citus/follow_restart.sh — sourced by run_citus_tests.sh (needs its
# cluster, $WORK and PG_CONFIG): a follower of a distributed table across a
# worker's immediate shutdown and restart in the middle of a stream of
# writes.  Writers go on through the coordinator the whole time (their
# statements that need the stopped worker fail); afterwards the model must
# equal a fresh fit of the table, row for row: every committed change
# applied exactly once, none lost, none twice.  Then unfollow must leave no
# slot on any node.
follow_restart() {
	local i ok=false
	citus_psql 0 <<'SQL' >/dev/null || return 1
SET client_min_messages = warning;
CREATE SEQUENCE fr_ids START 2001;
CREATE TABLE fr (id bigint PRIMARY KEY, x1 float8, x2 float8, y float8);
SELECT create_distributed_table('fr', 'id');
ALTER TABLE fr REPLICA IDENTITY FULL;
INSERT INTO fr SELECT g, g % 17, (g * 7) % 11, 3 + 2 * (g % 17) - (g * 7) % 11 + (g % 5) / 4.0 FROM generate_series(1, 2000) g;
SELECT flinkml.create_model('fr_m', 'fr', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.follow('fr_m');
SQL
	writer() {
		local end=$((SECONDS + 8))
		while [ "$SECONDS" -lt "$end" ]; do
			# (Citus takes no volatile function in a distributed UPDATE's WHERE)
			citus_psql 0 -c "INSERT INTO fr SELECT nextval('fr_ids'), random() * 10, random() * 5, random() * 100 FROM generate_series(1, 20);
			                 UPDATE fr SET y = y + 1 WHERE id = $((RANDOM % 2000 + 1));
			                 DELETE FROM fr WHERE id = $((RANDOM % 2000 + 1));" >/dev/null 2>&1
		done
	}
	writer &
	writer &
	sleep 2.5
	citus_restart_node 1 immediate || { wait; return 1; }
	echo "follow restart: worker 1 stopped (immediate) and started again"
	wait
	for i in $(seq 1 120); do
		if [ "$(citus_psql 0 -At -c "
			SELECT n = linreg_rows(flinkml.current_model('fr_m'))
			   AND (SELECT bool_and(abs(a - b) <= 1e-12 * greatest(abs(a), abs(b)))
			        FROM unnest(linreg_coefficients(flinkml.current_model('fr_m')), linreg_coefficients(f)) u(a, b))
			FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS f, count(*) AS n FROM fr) x")" = t ]; then
			ok=true
			break
		fi
		sleep 0.5
	done
	citus_psql 0 -At <<'SQL'
SELECT 'follow restart: rows ' || (SELECT count(*) FROM fr) || ', model rows ' || linreg_rows(flinkml.current_model('fr_m'))
       || ', transactions applied per node ' || (SELECT string_agg((e ->> 'transactions_applied'), ' ') FROM jsonb_array_elements(nodes) e)
FROM flinkml.stream_status WHERE model = 'fr_m';
SELECT flinkml.unfollow('fr_m');
SELECT 'follow restart: slots left on the nodes ' || (SELECT sum(result::int) FROM run_command_on_all_nodes(
       $$SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'flinkmld_fr_m'$$));
SQL
	echo "follow restart: model equal to a fresh fit: $ok"
}
