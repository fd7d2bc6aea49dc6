#!/usr/bin/env bash
# bench/run_bench.sh — the flinkml benchmark.
#
#   bench/run_bench.sh            # throwaway cluster on port 54330 (needs initdb/pg_ctl)
#   PGHOST=... PGPORT=... bench/run_bench.sh   # an existing server instead
#
# Connection settings come from the standard PG* variables.  When neither
# PGHOST nor PGPORT is set, the script starts its own throwaway cluster
# (test/cluster.sh) and removes it at exit; set BENCH_DATADIR=/some/dir to
# keep that cluster, and the generated tables, between runs instead.
#
# It uses (creating when missing) the database flinkml_bench with
#   bench_10   5,000,000 rows: y, x1..x10   float8   (~600 MB)
#   bench_100  1,000,000 rows: y, x1..x100  float8   (~900 MB)
# deterministic pseudo-random data, y linear in the x's plus noise.
#
# Every query is timed BENCH_REPS (5) times after one warm-up run, serial and
# with 2 parallel workers; the table reports the median and its ratio to the
# baseline of the same run, same table, same mode.  Results go to stdout and
# bench/results.txt.
#
# Timing method: clock_timestamp() around a dynamic EXECUTE inside a plpgsql
# function on the server.  No client round trip or result transfer, and no
# per-node instrumentation (EXPLAIN ANALYZE, even with TIMING OFF, still
# counts rows at every node, which adds a per-row cost to both sides of a
# ratio).  The warm-up run is an EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)
# instead, which is how the script checks the plan shape (Gather + Partial
# Aggregate) and the number of workers actually launched for every line.
# Runs are interleaved (rep 1 of every query of a group, then rep 2, ...) so
# that drift in the machine's load hits baseline and candidate alike.
#
# Environment knobs:
#   BENCH_REPS=5          timed runs per query (median reported)
#   BENCH_ROWS10=5000000  rows of bench_10
#   BENCH_ROWS100=1000000 rows of bench_100
#   BENCH_DATADIR=dir     keep the own cluster in dir (reused next time)
#   BENCH_PORT=54330      port of the own cluster
#   BENCH_ONLY=serial|parallel   run one mode only
#   BENCH_SKIP100=1       skip the bench_100 lines
#   BENCH_PERF=1          also record a perf profile of the 10-feature fits
#                         (needs perf; written to bench/perf-*.txt)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REPS=${BENCH_REPS:-5}
ROWS10=${BENCH_ROWS10:-5000000}
ROWS100=${BENCH_ROWS100:-1000000}
PORT=${BENCH_PORT:-54330}
OUT=${BENCH_RESULTS:-$HERE/results.txt}
DB=flinkml_bench

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------
# The server: given by PG* variables, or a throwaway cluster of our own:
# test/cluster.sh's (fresh each run) or, with BENCH_DATADIR, one kept in that
# directory so the generated tables are reused by the next run.
# ---------------------------------------------------------------------------
OWN_CLUSTER=0
EXIT_CMDS=()
at_exit() { # run a command at exit, last registered first
	if declare -F cluster_at_exit >/dev/null; then
		cluster_at_exit "$*"
	else
		EXIT_CMDS+=("$*")
		trap 'for ((i = ${#EXIT_CMDS[@]} - 1; i >= 0; i--)); do eval "${EXIT_CMDS[$i]}" || true; done' EXIT
	fi
}
# Appended to the cluster's postgresql.conf (later lines win).
BENCH_CONF="shared_buffers = 1GB
max_parallel_workers_per_gather = 2
max_worker_processes = 16
max_parallel_workers = 8
max_wal_size = 8GB
checkpoint_timeout = 1h
autovacuum = off
jit = off"

as_pg() {
	# initdb/postgres refuse to run as root: run them as postgres then.
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The BENCH_DATADIR cluster (kept), or the fallback when test/cluster.sh is absent.
own_cluster_start() {
	local dir bindir
	bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
	PATH="$bindir:$PATH"
	command -v initdb >/dev/null || die "initdb not found (install postgresql-15, or set PGHOST/PGPORT)"
	if [ -n "${BENCH_DATADIR:-}" ]; then
		dir=$BENCH_DATADIR
		mkdir -p "$dir"
	else
		dir=$(mktemp -d /tmp/flinkml_bench.XXXXXX)
		at_exit "rm -rf '$dir'"
	fi
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		log "initdb $dir/data"
		as_pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
			|| { cat "$dir/initdb.log" >&2; die "initdb failed"; }
		printf "listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n%s\n" \
			"$dir" "$BENCH_CONF" >>"$dir/data/postgresql.conf"
	fi
	if as_pg pg_ctl -D "$dir/data" status >/dev/null 2>&1; then
		as_pg pg_ctl -D "$dir/data" -m fast -w stop >/dev/null
	fi
	log "starting a cluster on port $PORT in $dir"
	at_exit "as_pg pg_ctl -D '$dir/data' -m fast -w stop >/dev/null 2>&1"
	as_pg pg_ctl -D "$dir/data" -o "-p $PORT" -l "$dir/server.log" -w start >/dev/null \
		|| { tail -20 "$dir/server.log" >&2; die "could not start the cluster"; }
	export PGHOST=$dir PGPORT=$PORT PGUSER=postgres
}

if [ -z "${PGHOST:-}" ] && [ -z "${PGPORT:-}" ]; then
	OWN_CLUSTER=1
	if [ -z "${BENCH_DATADIR:-}" ] && [ -f "$ROOT/test/cluster.sh" ]; then
		# shellcheck source=../test/cluster.sh
		. "$ROOT/test/cluster.sh"
		export CLUSTER_EXTRA_CONF=$BENCH_CONF
		log "starting a throwaway cluster on port $PORT (test/cluster.sh)"
		cluster_start "$PORT" >&2 || die "could not start the cluster"
	else
		own_cluster_start
	fi
fi

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P pager=off)
q() { "${PSQL[@]}" -At -d "$DB" "$@"; }

# The database and the extension.
if [ "$("${PSQL[@]}" -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
	log "creating database $DB"
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
q -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS flinkml"

# ---------------------------------------------------------------------------
# Data.  One INSERT ... SELECT from generate_series after setseed (serial, so
# deterministic), in the same transaction as CREATE TABLE and a COMMENT that
# marks the table complete.  UNLOGGED: scans read it exactly as a logged
# table, and filling it writes no WAL.  Then VACUUM (FREEZE, ANALYZE) sets the
# visibility map and hint bits, and a count(*) warms the caches.
# ---------------------------------------------------------------------------
cols() { # cols PREFIX N [SEP] -> x1, x2, ..., xN
	local i s=
	for ((i = 1; i <= $2; i++)); do s+="${s:+${3:-, }}$1$i"; done
	printf '%s' "$s"
}

make_table() { # make_table NAME NFEAT NROWS
	local name=$1 p=$2 n=$3 mark="flinkml bench: $2 features, $3 rows, v1"
	local have
	have=$(q -c "SELECT obj_description(to_regclass('$name'), 'pg_class') = '$mark'
	                    AND EXISTS (SELECT FROM $name)" 2>/dev/null || true)
	if [ "$have" = t ]; then
		log "$name present ($n rows)"
		return
	fi
	log "creating $name: $n rows, $p features"
	local defs='' draws='' yexpr="1.5" i
	for ((i = 1; i <= p; i++)); do
		defs+=", x$i float8"
		# x_i spread over different scales and offsets; y = 1.5 + sum c_i x_i + noise
		draws+=", $i + (random() - 0.5) * $((i % 7 + 1)) AS x$i"
		yexpr+=" + $(((i * 37) % 19 - 9)).25 * x$i"
	done
	local t0=$SECONDS
	q <<-EOF
		SET max_parallel_workers_per_gather = 0;
		SET client_min_messages = warning;
		BEGIN;
		DROP TABLE IF EXISTS $name;
		CREATE UNLOGGED TABLE $name (y float8$defs);
		SELECT setseed(0.25);
		INSERT INTO $name
		SELECT $yexpr + (random() - 0.5) * 0.1, $(cols x "$p")
		FROM (SELECT ${draws#, } FROM generate_series(1, $n) OFFSET 0) s;
		COMMENT ON TABLE $name IS '$mark';
		COMMIT;
		VACUUM (FREEZE, ANALYZE) $name;
		SELECT count(*) FROM $name;
	EOF
	log "$name built in $((SECONDS - t0)) s"
}

make_table bench_10 10 "$ROWS10" >/dev/null
[ "${BENCH_SKIP100:-0}" = 1 ] || make_table bench_100 100 "$ROWS100" >/dev/null

# The model used by the predict lines: fit once, stored in a one-row table,
# read through a scalar subquery (an InitPlan, evaluated once per query).
X10=$(cols x 10)
X100=$(cols x 100)
# An aggregate takes at most 99 arguments (FUNC_MAX_ARGS = 100, less one for
# the transition state): linreg_fit_cols(y, x1, ..., x100) cannot be written,
# so the wide "cols" line uses 98 features, against a baseline of the same 98
# columns.
X98=$(cols x 98)
q <<-EOF
	SET client_min_messages = warning;
	DROP TABLE IF EXISTS bench_model;
	CREATE TABLE bench_model AS
	  SELECT linreg_fit(y, ARRAY[$X10]) AS m FROM (SELECT * FROM bench_10 LIMIT 200000) s;
EOF
# The same linear expression written by hand, coefficients as float8 literals.
HAND=$(q -c "SELECT linreg_intercept(m)::text || '::float8'
             || (SELECT string_agg(' + ' || c::text || '::float8 * x' || (i - k), '' ORDER BY i)
                 FROM unnest(linreg_coefficients(m)) WITH ORDINALITY AS u(c, i)
                 WHERE i > k)  -- the intercept comes first when the array has it
             FROM (SELECT m, cardinality(linreg_coefficients(m)) - linreg_features(m) AS k
                   FROM bench_model) b")
[ -n "$HAND" ] || die "could not read the model's coefficients"

# ---------------------------------------------------------------------------
# The lines: name | group | baseline | target | SQL
# ---------------------------------------------------------------------------
MODEL="(SELECT m FROM bench_model)"
LINES=$(
	cat <<-EOF
		count_10|10|||SELECT count(*) FROM bench_10
		regr_slope|10|||SELECT regr_slope(y, x1) FROM bench_10
		fit_array_1|10|regr_slope|1.3|SELECT linreg_fit(y, ARRAY[x1]) FROM bench_10
		fit_cols_1|10|regr_slope|1.3|SELECT linreg_fit_cols(y, x1) FROM bench_10
		fit_array_10|10|regr_slope|2.0|SELECT linreg_fit(y, ARRAY[$X10]) FROM bench_10
		fit_cols_10|10|regr_slope|2.0|SELECT linreg_fit_cols(y, $X10) FROM bench_10
		predict_sql_10|10|||SELECT sum($HAND) FROM bench_10
		predict_array_10|10|predict_sql_10|1.3|SELECT sum(linreg_predict($MODEL, ARRAY[$X10])) FROM bench_10
		predict_cols_10|10|predict_sql_10|1.3|SELECT sum(linreg_predict_cols($MODEL, $X10)) FROM bench_10
		count_array_100|100|||SELECT count(ARRAY[$X100]) FROM bench_100
		fit_array_100|100|count_array_100|4.0|SELECT linreg_fit(y, ARRAY[$X100]) FROM bench_100
		count_array_98|100|||SELECT count(ARRAY[$X98]) FROM bench_100
		fit_cols_98|100|count_array_98|4.0|SELECT linreg_fit_cols(y, $X98) FROM bench_100
	EOF
)
if [ "${BENCH_SKIP100:-0}" = 1 ]; then LINES=$(grep -v '^[^|]*|100|' <<<"$LINES"); fi

case "${BENCH_ONLY:-}" in
serial) MODES="serial" ;;
parallel) MODES="parallel" ;;
*) MODES="serial parallel" ;;
esac

SET_SERIAL="SET max_parallel_workers_per_gather = 0;"
SET_PARALLEL="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = on;"


# ---------------------------------------------------------------------------
# The timing session: one psql session runs every line; the runs land in
# bench_runs and the lines in bench_lines (plain tables of the bench database,
# replaced every run, left behind for inspection).
# ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/flinkml_bench_work.XXXXXX)
chmod 755 "$WORK"
at_exit "rm -rf '$WORK'"

{
	cat <<-'EOF'
		SET client_min_messages = warning;
		SET jit = off;  -- JIT compile time is noise here, and not what is measured
		-- Load the flinkml library now, as its first function call would: its
		-- planner hook plans linreg_fit(y, ARRAY[...]) as the column form, and
		-- the first query of a session is planned before that call.
		SELECT linreg_rows(linreg_fit(1, ARRAY[1]));
		DROP TABLE IF EXISTS bench_lines, bench_runs;
		CREATE TABLE bench_lines (ord int, name text, grp text, baseline text, target float8, sql text);
		CREATE TABLE bench_runs (mode text, name text, rep int, ms float8, workers int, plan text);

		-- A timed run: no instrumentation, nothing sent to the client.
		CREATE FUNCTION pg_temp.bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS $f$
		DECLARE t0 timestamptz;
		BEGIN
		  t0 := clock_timestamp();
		  EXECUTE q;
		  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
		END $f$;

		-- Rep 0, the warm-up, is an EXPLAIN ANALYZE that records the plan shape and
		-- the workers launched.  Reps 1..n follow, interleaved across the group.
		CREATE FUNCTION pg_temp.bench_group(p_mode text, p_grp text, p_reps int) RETURNS void
		LANGUAGE plpgsql AS $f$
		DECLARE l record; j text; ms float8; nw int; plan text;
		BEGIN
		  FOR rep IN 0 .. p_reps LOOP
		    FOR l IN SELECT * FROM bench_lines WHERE grp = p_grp ORDER BY ord LOOP
		      IF rep = 0 THEN
		        EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ' || l.sql INTO j;
		        ms := (regexp_match(j, '"Execution Time": ([0-9.]+)'))[1]::float8;
		        nw := coalesce((regexp_match(j, '"Workers Launched": ([0-9]+)'))[1]::int, 0);
		        plan := CASE WHEN j ~ '"Node Type": "Gather"' AND j ~ '"Partial Mode": "Partial"'
		                     THEN 'Gather+Partial Agg'
		                     WHEN j ~ '"Node Type": "Gather"' THEN 'Gather'
		                     ELSE 'serial' END;
		        INSERT INTO bench_runs VALUES (p_mode, l.name, 0, ms, nw, plan);
		        RAISE NOTICE '% % warm-up % ms (%, % workers launched)', p_mode, rpad(l.name, 18),
		          round(ms::numeric), plan, nw;
		      ELSE
		        ms := pg_temp.bench_time(l.sql);
		        INSERT INTO bench_runs VALUES (p_mode, l.name, rep, ms, NULL, NULL);
		        RAISE NOTICE '% % rep %/% % ms', p_mode, rpad(l.name, 18), rep, p_reps, round(ms::numeric);
		      END IF;
		    END LOOP;
		  END LOOP;
		END $f$;
	EOF
	i=0
	while IFS='|' read -r name grp base target sql; do
		i=$((i + 1))
		if [ -n "$base" ]; then base="'$base'"; else base=NULL; fi
		printf "INSERT INTO bench_lines VALUES (%d, '%s', '%s', %s, %s, \$q\$%s\$q\$);\n" \
			"$i" "$name" "$grp" "$base" "${target:-NULL}" "$sql"
	done <<<"$LINES"
	echo "SET client_min_messages = notice;"
	for mode in $MODES; do
		if [ "$mode" = serial ]; then echo "$SET_SERIAL"; else echo "$SET_PARALLEL"; fi
		for grp in $(cut -d'|' -f2 <<<"$LINES" | uniq); do
			echo "SELECT pg_temp.bench_group('$mode', '$grp', $REPS);"
		done
	done
} >"$WORK/timing.sql"

# What is measured, taken before the timing starts (the timing session loads
# the library once; a later `make install` does not change what it runs).
SO=$(q -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'" 2>/dev/null || true)/flinkml.so
BUILD="server: $(q -c 'SHOW server_version'); flinkml $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'flinkml'");"
BUILD+=" repo $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
BUILD+="$(git -C "$ROOT" diff --quiet HEAD -- src sql 2>/dev/null || echo ' + uncommitted changes in src/ or sql/')"
if [ -r "$SO" ]; then
	BUILD+=$'\n'"flinkml.so: installed $(stat -c '%y' "$SO" | cut -d. -f1), md5 $(md5sum <"$SO" | cut -c1-12)"
fi

log "timing: $REPS runs + 1 warm-up per line; modes: $MODES"
q -f "$WORK/timing.sql" >/dev/null 2> >(sed -u 's/^psql:[^ ]* NOTICE:  //' >&2)

# ---------------------------------------------------------------------------
# The plan of a parallel fit and a parallel predict, shown once.
# ---------------------------------------------------------------------------
PLANS=$(
	q <<-EOF
		$SET_PARALLEL
		SET jit = off;
		\echo '--- EXPLAIN (COSTS OFF) SELECT linreg_fit_cols(y, x1, ..., x10) FROM bench_10  [2 workers]'
		EXPLAIN (COSTS OFF) SELECT linreg_fit_cols(y, $X10) FROM bench_10;
		\echo '--- EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[x1, ..., x10]) FROM bench_10  [2 workers; planned as the column form]'
		SELECT linreg_rows(linreg_fit(1, ARRAY[1])) \g /dev/null
		EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[$X10]) FROM bench_10;
		\echo '--- EXPLAIN (COSTS OFF) SELECT sum(linreg_predict((SELECT m FROM bench_model), ARRAY[x1, ..., x10])) FROM bench_10  [2 workers]'
		EXPLAIN (COSTS OFF) SELECT sum(linreg_predict($MODEL, ARRAY[$X10])) FROM bench_10;
	EOF
)
PLANS=$(sed "s/$X10/x1, ..., x10/g" <<<"$PLANS")

# ---------------------------------------------------------------------------
# Backend memory of a fit: over ROWS10/10 rows and over ROWS10 rows, each in
# a fresh connection (so VmHWM, the peak RSS, is this measurement's), serial
# so the backend does all the work.  The backend reads its own
# /proc/self/status with pg_read_file (needs superuser; otherwise the section
# is skipped).  In that connection the same rows are counted first and a fit
# of one row loads the library, so "VmHWM before" is everything but the fit.
# Peak RSS also counts every shared buffer the backend has touched, which
# grows with the rows read whatever the query, so the private memory is
# shown too: RssAnon sampled every 5 ms from /proc/<pid>/status while the
# session runs (when this script can read it: same machine, root or the
# server's user), and RssAnon at the end.  A state that grew with the rows,
# or a per-row leak into the aggregate context, would show as a peak RssAnon
# that grows ten-fold with the rows.
# ---------------------------------------------------------------------------
mem_measure() { # mem_measure LABEL ROWS AGGCALL -> "label|rows|hwm0|hwm1|shmem1|anon1|anon_peak"
	local label=$1 n=$2 call=$3 app="flinkml_bench_mem_$$" pid='' peak='' i k v bg
	local sub="(SELECT * FROM bench_10 LIMIT $n) s"
	PGAPPNAME=$app q -F '|' >"$WORK/mem.out" <<-EOF &
		SET max_parallel_workers_per_gather = 0;
		SET jit = off;
		SELECT count(*) FROM $sub \g /dev/null
		SELECT linreg_rows($call) FROM (SELECT * FROM bench_10 LIMIT 1) s \g /dev/null
		SELECT pg_sleep(0.5) \g /dev/null
		SELECT pg_read_file('/proc/self/status') AS s0 \gset
		SELECT linreg_rows($call) FROM $sub \g /dev/null
		SELECT pg_read_file('/proc/self/status') AS s1 \gset
		SELECT '$label', $n,
		  (regexp_match(:'s0', 'VmHWM:\s+(\d+)'))[1]::bigint,
		  (regexp_match(:'s1', 'VmHWM:\s+(\d+)'))[1]::bigint,
		  (regexp_match(:'s1', 'RssShmem:\s+(\d+)'))[1]::bigint,
		  (regexp_match(:'s1', 'RssAnon:\s+(\d+)'))[1]::bigint;
	EOF
	bg=$!
	for ((i = 0; i < 100; i++)); do
		pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
		[ -n "$pid" ] && break
		sleep 0.02
	done
	if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
		peak=0
		while kill -0 "$bg" 2>/dev/null; do
			while read -r k v _; do
				if [ "$k" = RssAnon: ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
			done <"/proc/$pid/status" 2>/dev/null || break
			sleep 0.005
		done
	fi
	wait "$bg"
	echo "$(cat "$WORK/mem.out")|$peak"
}
MEM=
if q -c "SELECT pg_read_file('/proc/self/status') IS NOT NULL" >/dev/null 2>&1; then
	log "memory: linreg_fit over $((ROWS10 / 10)) and $ROWS10 rows"
	for form in array cols; do
		if [ $form = array ]; then call="linreg_fit(y, ARRAY[$X10])"; else call="linreg_fit_cols(y, $X10)"; fi
		MEM+=$(mem_measure "fit_${form}_10" $((ROWS10 / 10)) "$call")$'\n'
		MEM+=$(mem_measure "fit_${form}_10" "$ROWS10" "$call")$'\n'
	done
else
	log "memory: skipped (pg_read_file of /proc/self/status not allowed: not a local superuser?)"
fi

# ---------------------------------------------------------------------------
# Optional: where the time goes (perf record on the backend of serial fits).
# ---------------------------------------------------------------------------
perf_profile() { # perf_profile NAME SQL
	local name=$1 sql=$2 pid i
	PGAPPNAME=flinkml_bench_perf q -c "SET max_parallel_workers_per_gather = 0; SET jit = off;
		SELECT pg_sleep(1); $sql; $sql" >/dev/null &
	local bg=$!
	for ((i = 0; i < 50; i++)); do
		pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'flinkml_bench_perf'")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || { wait $bg; return; }
	perf record -F 999 -p "$pid" -o "$WORK/perf.data" -- sleep 600 >/dev/null 2>&1 &
	local perfpid=$!
	wait $bg
	kill -INT $perfpid 2>/dev/null || true
	wait $perfpid 2>/dev/null || true
	{
		echo "# perf record -F 999 -p <backend> during two serial runs of:"
		echo "# $sql" | sed "s/$X98/x1, ..., x98/g; s/$X10/x1, ..., x10/g"
		perf report -i "$WORK/perf.data" --no-children --percent-limit 0.5 --stdio --sort dso,symbol \
			2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/[ -]*$//'
	} >"$HERE/perf-$name.txt" || true
	log "perf profile of $name: bench/perf-$name.txt"
}
if [ "${BENCH_PERF:-0}" = 1 ]; then
	if command -v perf >/dev/null; then
		perf_profile fit_cols_10 "SELECT linreg_fit_cols(y, $X10) FROM bench_10"
		perf_profile fit_array_10 "SELECT linreg_fit(y, ARRAY[$X10]) FROM bench_10"
		perf_profile predict_cols_10 "SELECT sum(linreg_predict_cols($MODEL, $X10)) FROM bench_10"
		[ "${BENCH_SKIP100:-0}" = 1 ] || perf_profile fit_cols_98 "SELECT linreg_fit_cols(y, $X98) FROM bench_100"
	else
		log "BENCH_PERF=1 but perf is not installed"
	fi
fi

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
TABLE=$(
	"${PSQL[@]}" -d "$DB" <<-'EOF'
		WITH m AS (
		  SELECT mode, name, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med,
		         min(ms) AS lo, max(ms) AS hi
		  FROM bench_runs WHERE rep > 0 GROUP BY mode, name),
		w AS (SELECT mode, name, plan, workers FROM bench_runs WHERE rep = 0)
		SELECT m.mode, l.name AS line, round(m.med::numeric) AS "median ms",
		       round(m.lo::numeric) || '-' || round(m.hi::numeric) AS "min-max",
		       w.plan || CASE WHEN w.workers > 0 THEN ' (' || w.workers || 'w)' ELSE '' END AS plan,
		       coalesce(l.baseline, '') AS baseline, round(b.med::numeric) AS "base ms",
		       round((m.med / b.med)::numeric, 2) AS ratio,
		       coalesce('<= ' || l.target || 'x', '') AS target,
		       CASE WHEN l.target IS NULL THEN ''
		            WHEN m.med / b.med <= l.target THEN 'yes' ELSE 'NO' END AS met
		FROM bench_lines l
		JOIN m ON m.name = l.name
		JOIN w ON w.mode = m.mode AND w.name = l.name
		LEFT JOIN m b ON b.mode = m.mode AND b.name = l.baseline
		ORDER BY m.mode DESC, l.ord;
	EOF
)

MEMTABLE=
if [ -n "$MEM" ]; then
	MEMTABLE=$(awk -F'|' '
		function mb(k) { return k == "" ? "n/a" : sprintf("%.1f MB", k / 1024) }
		NF >= 7 {
			n++; lab[n] = $1; rows[n] = $2; h0[n] = $3; h1[n] = $4; sh[n] = $5; an[n] = $6; pk[n] = $7
		}
		END {
			printf "%-14s %9s %13s %13s %11s %18s %12s\n", "fit", "rows", "VmHWM before", "VmHWM (peak)",
				"RssShmem", "RssAnon peak (5ms)", "RssAnon end"
			for (i = 1; i <= n; i++)
				printf "%-14s %9d %13s %13s %11s %18s %12s\n", lab[i], rows[i], mb(h0[i]), mb(h1[i]),
					mb(sh[i]), mb(pk[i]), mb(an[i])
			for (i = 2; i <= n; i += 2)
				printf "%s, %d rows / %d rows: peak RSS ratio %.2f (includes shared buffers touched), peak RssAnon ratio %s\n",
					lab[i], rows[i], rows[i-1], h1[i] / h1[i-1], (pk[i] == "" || pk[i-1] == "") ? "n/a" : sprintf("%.2f", pk[i] / pk[i-1])
		}' <<<"$MEM")
fi

{
	echo "flinkml benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "$BUILD"
	echo "machine: $(nproc) CPUs, $(uname -m); $([ $OWN_CLUSTER = 1 ] && echo "own throwaway cluster, shared_buffers=1GB" || echo "server from PG* settings")"
	echo "tables: bench_10 = $ROWS10 rows x (y, x1..x10); bench_100 = $ROWS100 rows x (y, x1..x100); float8"
	echo "method: median of $REPS runs after 1 warm-up, runs interleaved; clock_timestamp() around EXECUTE in plpgsql; jit = off"
	echo "ratio = median / median of the baseline line, same mode, same run"
	echo
	echo "$TABLE"
	echo
	echo "$PLANS"
	if [ -n "$MEMTABLE" ]; then
		echo
		echo "--- backend memory during linreg_fit (serial; fresh connection per line; kB from /proc/self/status)"
		echo "$MEMTABLE"
	fi
} | tee "$OUT"
log "written to $OUT"
