#!/bin/bash
# test/dump_restore.sh — pg_dump/pg_restore round trip of the flinkml model
# registry.
#
#     PGHOST=... PGPORT=... PGUSER=... bash test/dump_restore.sh
#
# Needs a running PostgreSQL server with the flinkml extension installed and
# a role that may create databases and extensions (a superuser).  Connection
# settings come from the environment (PGHOST, PGPORT, PGUSER, ...).  The
# client programs are taken from $PG_BINDIR, else from `$PG_CONFIG --bindir`
# (PG_CONFIG defaults to pg_config), else from PATH.
#
# What it does: creates a database with tables and registry models — full
# fits, refits, trigger deltas pending and compacted, a pinned older active
# version, a rolled-back model, a weighted no-intercept model over a table
# with quoted odd names — dumps it with pg_dump (custom format), restores it
# with pg_restore into a new database, and checks that
#   - flinkml.models, flinkml.versions and flinkml.deltas hold the same rows
#     (states and fits compared as text), the same active versions;
#   - the model each name predicts with, and the predictions by name over
#     many points, are identical;
#   - the restore fired no trigger, and the delta id sequence goes on after
#     the restored ids;
#   - a table with a dropped column (which the restore renumbers): its
#     attached model comes back stale, folding nothing, and detach + attach
#     make it exact;
#   - the triggers still maintain the restored models (every coefficient
#     within 1e-9 relative of a fresh fit), compact() and activate() work.
# Prints `ok - ...` / `not ok - ...` per check and a last line
# `dump_restore: N passed, N failed`; exits non-zero if anything failed.
# Drops its databases on the way out.
set -u -o pipefail

if [ -n "${PG_BINDIR:-}" ]; then
	BINDIR=$PG_BINDIR
elif BINDIR=$("${PG_CONFIG:-pg_config}" --bindir 2>/dev/null); then
	:
else
	BINDIR=
fi
bin() { if [ -n "$BINDIR" ] && [ -x "$BINDIR/$1" ]; then echo "$BINDIR/$1"; else echo "$1"; fi; }
PSQL=$(bin psql)
PG_DUMP=$(bin pg_dump)
PG_RESTORE=$(bin pg_restore)

SRC=flinkml_dr_src_$$
DST=flinkml_dr_dst_$$
WORK=$(mktemp -d /tmp/flinkml-dump-restore.XXXXXX) || exit 2
PASSED=0
FAILED=0

cleanup() {
	"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC" >/dev/null 2>&1
	"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DST" >/dev/null 2>&1
	"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS ${SRC}_b" -c "DROP DATABASE IF EXISTS ${DST}_b" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
finish() {
	echo "dump_restore: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# q DB SQL: one value (unaligned, tuples only); psql's errors go to stderr
q() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# check NAME EXPECTED GOT
check() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   expected: %s\n#   got:      %s\n' "$(echo "$2" | head -c 400)" "$(echo "$3" | head -c 400)"
	fi
}

# same DB-independent query in both databases: identical output
same_in_both() {
	local name=$1 sql=$2 a b
	a=$(q "$SRC" "$sql" 2>&1)
	b=$(q "$DST" "$sql" 2>&1)
	if [ -n "$a" ] && [ "$a" == "$b" ]; then
		ok "$name"
	else
		not_ok "$name"
		diff <(echo "$a") <(echo "$b") | head -n 20 | sed 's/^/#   /'
	fi
}

# ---------------------------------------------------------------------------
# 1. The source database
# ---------------------------------------------------------------------------
"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" >/dev/null 2>&1
if ! "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $SRC" >"$WORK/setup.log" 2>&1; then
	not_ok "create the source database"
	sed 's/^/#   /' "$WORK/setup.log"
	finish
fi

if "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SRC" >"$WORK/setup.log" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION flinkml;

-- sales: y = 5 + 1.5 a - 2 b + 0.25 c + noise
CREATE TABLE sales (id int PRIMARY KEY, y float8, a float8, b numeric, c int);
CREATE FUNCTION sales_rows(lo int, hi int) RETURNS SETOF sales LANGUAGE sql IMMUTABLE AS $$
    SELECT g, 5 + 1.5 * ((g * 37) % 101) / 10.0 - 2 * ((g * 53) % 97) / 9.0 + 0.25 * (g % 13)
              + ((g * 71) % 23 - 11) / 5.0,
           ((g * 37) % 101) / 10.0, round(((g * 53) % 97) / 9.0, 6), g % 13
    FROM generate_series(lo, hi) AS g
$$;
INSERT INTO sales SELECT * FROM sales_rows(1, 300);

-- dr_price: fit, attach (fit), trigger deltas compacted into a version, then
-- more deltas left pending
SELECT flinkml.create_model('dr_price', 'sales', 'y', ARRAY['a', 'b', 'c']);
SELECT flinkml.attach('dr_price');
INSERT INTO sales SELECT * FROM sales_rows(301, 400);
UPDATE sales SET y = y + 1 WHERE id % 7 = 0;
DELETE FROM sales WHERE id % 11 = 0;
SELECT flinkml.compact('dr_price');
INSERT INTO sales SELECT * FROM sales_rows(401, 450);
INSERT INTO sales VALUES (9001, NULL, 1, 1, 1), (9002, 3, NULL, 2, 2);
UPDATE sales SET a = a * 1.5 WHERE id % 5 = 0;
DELETE FROM sales WHERE id BETWEEN 40 AND 60;

-- dr_pinned: on the same table, a refit, then an older version pinned
SELECT flinkml.create_model('dr_pinned', 'sales', 'y', ARRAY['a', 'c']);
SELECT flinkml.attach('dr_pinned');
UPDATE sales SET c = c + 1 WHERE id % 3 = 0;
SELECT flinkml.refit('dr_pinned');
INSERT INTO sales SELECT * FROM sales_rows(451, 470);
SELECT flinkml.activate('dr_pinned', 2);
INSERT INTO sales SELECT * FROM sales_rows(471, 480);

-- dr_static: not attached; refitted twice, rolled back to version 2
SELECT flinkml.create_model('dr_static', 'sales', 'y', ARRAY['b']);
UPDATE sales SET b = b + 0.5 WHERE id % 2 = 0;
SELECT flinkml.refit('dr_static');
UPDATE sales SET b = b - 0.25 WHERE id % 4 = 0;
SELECT flinkml.refit('dr_static');
SELECT flinkml.rollback('dr_static');

-- dr_odd: quoted schema, table and columns; weighted, no intercept;
-- attached with pending deltas including skipped rows
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Sales Table" (
    "Price ($)" float8, "Age (years)" int, "In""come" numeric, "Weight, %" float8);
INSERT INTO "Odd Schema"."Sales Table"
SELECT 3 * (g % 17) - 0.5 * ((g * 7) % 5) + ((g * 13) % 11) / 4.0, g % 17, (g * 7) % 5, 1 + g % 3
FROM generate_series(1, 200) AS g;
SELECT flinkml.create_model('dr_odd', '"Odd Schema"."Sales Table"', 'Price ($)',
                            ARRAY['Age (years)', 'In"come'], weight => 'Weight, %', intercept => false);
SELECT flinkml.attach('dr_odd');
INSERT INTO "Odd Schema"."Sales Table" VALUES (10, 3, 1, 2), (NULL, 1, 1, 1), (4, 2, 2, NULL), (7, 4, 1, 0);
UPDATE "Odd Schema"."Sales Table" SET "Weight, %" = "Weight, %" * 2 WHERE "Age (years)" = 5;
DELETE FROM "Odd Schema"."Sales Table" WHERE "Age (years)" = 9;

-- dr_window: an event-time window (an hour, in buckets of a minute), with
-- compacted buckets and pending deltas; no row within 30 minutes of the
-- window's start while the test runs, so the window holds the same rows
CREATE TABLE events (id int PRIMARY KEY, ts timestamptz, y float8, a float8);
CREATE INDEX ON events (ts);
INSERT INTO events
SELECT g, CASE WHEN g <= 300 THEN now() - g * interval '5 seconds' ELSE now() - interval '2 hours' - g * interval '1 second' END,
       2 + 3 * ((g * 37) % 101) / 10.0 + ((g * 71) % 23 - 11) / 5.0, ((g * 37) % 101) / 10.0
FROM generate_series(1, 400) AS g;
SELECT flinkml.create_model('dr_window', 'events', 'y', ARRAY['a'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('dr_window');
DELETE FROM events WHERE id % 7 = 0;
SELECT flinkml.compact('dr_window');
INSERT INTO events SELECT g, now() - (g - 1000) * interval '7 seconds', g % 11, g % 5 FROM generate_series(1001, 1100) AS g;

-- the feature vectors to predict at
CREATE TABLE points (id int PRIMARY KEY, x3 float8[], x2 float8[], x1 float8[]);
INSERT INTO points
SELECT g, ARRAY[g % 10, (g * 3) % 7, g % 13], ARRAY[g % 17, (g * 7) % 5], ARRAY[(g * 3) % 7]
FROM generate_series(1, 200) AS g;
SQL
then
	ok "source database: tables, models, versions and pending deltas"
else
	not_ok "source database: tables, models, versions and pending deltas"
	sed 's/^/#   /' "$WORK/setup.log"
	finish
fi

# the source must hold what the round trip is meant to carry
check "source holds pending deltas, a pinned version and a rolled-back model" \
	"dr_odd:2:2:t|dr_pinned:3:2:t|dr_price:3:3:t|dr_static:3:2:f|dr_window:3:3:t" \
	"$(q "$SRC" "SELECT string_agg(format('%s:%s:%s:%s', name, head_version, active_version, attached), '|' ORDER BY name)
	             FROM flinkml.models WHERE name LIKE 'dr\_%'")"
check "source has pending deltas for the attached models" "dr_odd|dr_pinned|dr_price|dr_window" \
	"$(q "$SRC" "SELECT string_agg(DISTINCT model, '|' ORDER BY model) FROM flinkml.deltas")"

# ---------------------------------------------------------------------------
# 2. Dump and restore
# ---------------------------------------------------------------------------
if "$PG_DUMP" -Fc -d "$SRC" -f "$WORK/registry.dump" >"$WORK/dump.log" 2>&1; then
	ok "pg_dump -Fc"
else
	not_ok "pg_dump -Fc"
	sed 's/^/#   /' "$WORK/dump.log"
	finish
fi
if "$PG_RESTORE" -l "$WORK/registry.dump" | grep -q "TABLE DATA flinkml versions"; then
	ok "the dump holds the registry's data (extension configuration tables)"
else
	not_ok "the dump holds the registry's data (extension configuration tables)"
fi
if "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DST" >"$WORK/restore.log" 2>&1 &&
	"$PG_RESTORE" --exit-on-error -d "$DST" "$WORK/registry.dump" >>"$WORK/restore.log" 2>&1; then
	ok "pg_restore into a new database, without errors"
else
	not_ok "pg_restore into a new database, without errors"
	sed 's/^/#   /' "$WORK/restore.log"
	finish
fi

# ---------------------------------------------------------------------------
# 3. The registry is intact
# ---------------------------------------------------------------------------
same_in_both "flinkml.models: the same rows" \
	"SELECT string_agg(m::text, E'\n' ORDER BY m.name) FROM flinkml.models m"
same_in_both "flinkml.versions: the same rows, states, fits and figures" \
	"SELECT string_agg(v::text, E'\n' ORDER BY v.model, v.version) FROM flinkml.versions v"
same_in_both "flinkml.versions: the same state texts" \
	"SELECT string_agg(format('%s/%s: %s', model, version, coalesce(state::text, 'NULL')), E'\n' ORDER BY model, version)
	 FROM flinkml.versions"
same_in_both "flinkml.deltas: the same rows (the restore fired no trigger)" \
	"SELECT count(*) || E'\n' || string_agg(d::text, E'\n' ORDER BY d.id) FROM flinkml.deltas d"
same_in_both "flinkml.window_buckets: the same buckets and states" \
	"SELECT count(*) || E'\n' || string_agg(b::text, E'\n' ORDER BY b.model, b.bucket) FROM flinkml.window_buckets b"
same_in_both "the same active and head versions" \
	"SELECT string_agg(format('%s active %s head %s', name, active_version, head_version), E'\n' ORDER BY name)
	 FROM flinkml.models"
check "the pinned version is still pinned, the rolled-back model still rolled back" "2|2" \
	"$(q "$DST" "SELECT (SELECT active_version FROM flinkml.models WHERE name = 'dr_pinned') || '|' ||
	                    (SELECT active_version FROM flinkml.models WHERE name = 'dr_static')")"
same_in_both "the source tables" \
	"SELECT md5(string_agg(s::text, ',' ORDER BY id)) FROM sales s
	 UNION ALL SELECT md5(string_agg(o::text, ',' ORDER BY o::text)) FROM \"Odd Schema\".\"Sales Table\" o"
same_in_both "the triggers on the source tables" \
	"SELECT string_agg(tgrelid::regclass || ' ' || tgname || ' ' || tgtype, E'\n' ORDER BY tgrelid::regclass::text, tgname)
	 FROM pg_trigger WHERE NOT tgisinternal"

# ---------------------------------------------------------------------------
# 4. Predictions by name are identical
# ---------------------------------------------------------------------------
same_in_both "flinkml.current_model: the same model for every name" \
	"SELECT string_agg(name || ': ' || coalesce(flinkml.current_model(name)::text, 'NULL'), E'\n' ORDER BY name)
	 FROM flinkml.models"
same_in_both "linreg_predict by name: identical predictions" \
	"SELECT count(*) || ' ' || md5(string_agg(concat_ws(' ', linreg_predict('dr_price', x3), linreg_predict('dr_pinned', x2),
	                                                    linreg_predict('dr_static', x1), linreg_predict('dr_odd', x2)), ',' ORDER BY id))
	 FROM points"
check "predictions by the pinned name use the pinned version" "t" \
	"$(q "$DST" "SELECT bool_and(linreg_predict('dr_pinned', x2) = linreg_predict(v.fit, x2))
	             FROM points, flinkml.versions v WHERE v.model = 'dr_pinned' AND v.version = 2")"

# ---------------------------------------------------------------------------
# 5. The restored models are maintained
# ---------------------------------------------------------------------------

# same(a, b): both NULL, or the same rows, skipped rows, rank and every
# coefficient within 1e-9 relative
SAME_FN="CREATE FUNCTION pg_temp.same(a linreg, b linreg) RETURNS boolean LANGUAGE sql IMMUTABLE AS \$\$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL
    ELSE linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
         AND linreg_rank(a) = linreg_rank(b)
         AND cardinality(linreg_coefficients(a)) = cardinality(linreg_coefficients(b))
         AND NOT EXISTS (
             SELECT 1 FROM unnest(linreg_coefficients(a), linreg_coefficients(b)) AS u(ca, cb)
             WHERE NOT ((ca IS NULL AND cb IS NULL) OR abs(ca - cb) <= 1e-9 * greatest(abs(ca), abs(cb))))
    END \$\$;"
EXACT_PRICE="SELECT pg_temp.same(flinkml.current_model('dr_price'), (SELECT linreg_fit(y, ARRAY[a, b, c]) FROM sales))"
EXACT_ODD="SELECT pg_temp.same(flinkml.current_model('dr_odd'),
    (SELECT linreg_fit_noint(\"Price (\$)\", ARRAY[\"Age (years)\", \"In\"\"come\"]::float8[], \"Weight, %\") FROM \"Odd Schema\".\"Sales Table\"))"
EXACT_PINNED="SELECT pg_temp.same(linreg_solve(flinkml.current_state('dr_pinned')), (SELECT linreg_fit(y, ARRAY[a, c]) FROM sales))"

# exact right after the restore: pending deltas included
got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DST" 2>&1 <<SQL
$SAME_FN
$EXACT_PRICE;
$EXACT_ODD;
$EXACT_PINNED;
SQL
)
check "restored models equal fresh fits of the restored tables" "t t t" "$(echo $got)"

EXACT_WINDOW="SELECT pg_temp.same(flinkml.current_model('dr_window'),
    (SELECT linreg_fit(y, ARRAY[a]) FROM events WHERE ts > now() - interval '1 hour'))"
got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DST" 2>&1 <<SQL
$SAME_FN
$EXACT_WINDOW;
INSERT INTO events SELECT g, now() - (g - 2000) * interval '3 seconds', g % 7, g % 3 FROM generate_series(2001, 2050) AS g;
DELETE FROM events WHERE id % 5 = 0;
$EXACT_WINDOW;
SELECT flinkml.compact('dr_window') = 4;
$EXACT_WINDOW;
SQL
)
check "the restored window model equals a fresh fit of its window; its triggers and compact() keep it" "t t t t" "$(echo $got)"

got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DST" 2>&1 <<SQL
$SAME_FN
SELECT max(id) AS max_id, count(*) AS n_before FROM flinkml.deltas \gset
INSERT INTO sales SELECT * FROM sales_rows(1001, 1100);
UPDATE sales SET y = y - 2, b = b + 1 WHERE id % 6 = 0;
DELETE FROM sales WHERE id BETWEEN 200 AND 230;
INSERT INTO sales VALUES (9003, 1, 2, NULL, 3);
INSERT INTO "Odd Schema"."Sales Table" VALUES (12, 4, 2, 1.5), (5, 1, NULL, 1);
UPDATE "Odd Schema"."Sales Table" SET "Price (\$)" = "Price (\$)" + 1 WHERE "Age (years)" < 4;
DELETE FROM "Odd Schema"."Sales Table" WHERE "Age (years)" = 16;
$EXACT_PRICE;
$EXACT_ODD;
$EXACT_PINNED;
-- one delta per statement and attached model (4 x 2 on sales, 3 x 1 on the
-- odd table), each with an id after the restored ones
SELECT count(*) - :n_before, count(*) FILTER (WHERE id > :max_id), count(DISTINCT id) = count(*) FROM flinkml.deltas;
SQL
)
check "triggers maintain the restored models; new delta ids follow the restored ones" "t t t 11|11|t" "$(echo $got)"

got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DST" 2>&1 <<SQL
$SAME_FN
SELECT flinkml.compact('dr_price') = 4, flinkml.compact('dr_odd') = 3;
SELECT count(*) FROM flinkml.deltas WHERE model IN ('dr_price', 'dr_odd');
$EXACT_PRICE;
$EXACT_ODD;
-- the pinned model: still pinned to version 2, then the head again
SELECT flinkml.current_model('dr_pinned')::text = v.fit::text FROM flinkml.versions v WHERE v.model = 'dr_pinned' AND v.version = 2;
SELECT flinkml.activate('dr_pinned', 3);
SELECT pg_temp.same(flinkml.current_model('dr_pinned'), (SELECT linreg_fit(y, ARRAY[a, c]) FROM sales));
SQL
)
check "compact() and activate() on the restored registry" "t|t 0 t t t t" "$(echo $got)"

# ---------------------------------------------------------------------------
# 4. A table with a dropped column: the restore renumbers its columns, and
#    the restored triggers carry the old numbers.  The model must say so
#    (stale) rather than fold other columns; detach and attach repair it.
# ---------------------------------------------------------------------------
SRC2=${SRC}_b
DST2=${DST}_b
"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC2" -c "DROP DATABASE IF EXISTS $DST2" \
	-c "CREATE DATABASE $SRC2" -c "CREATE DATABASE $DST2" >/dev/null 2>&1
got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$SRC2" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION flinkml;
CREATE TABLE dropped (id int, gone float8, y float8, a float8);
INSERT INTO dropped SELECT g, 0, 1 + 2 * g + (g % 5), g FROM generate_series(1, 50) g;
ALTER TABLE dropped DROP COLUMN gone;
SELECT flinkml.create_model('dr_dropped', 'dropped', 'y', ARRAY['a']) > 0;
SELECT flinkml.attach('dr_dropped') > 0;
SELECT attnums FROM flinkml.models;
SQL
)
check "source with a dropped column: an attached model" "t t {3,0,4}" "$(echo $got)"
"$PG_DUMP" -Fc -f "$WORK/dropped.dump" "$SRC2" 2>"$WORK/dump2.log" &&
	"$PG_RESTORE" -d "$DST2" "$WORK/dropped.dump" 2>"$WORK/restore2.log"
got=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DST2" 2>&1 <<'SQL'
SELECT (SELECT attnum FROM pg_attribute WHERE attrelid = 'dropped'::regclass AND attname = 'a'),
       stale LIKE '%renumbered%' FROM flinkml.models;
INSERT INTO dropped VALUES (51, 150, 51);
SELECT count(*) FROM flinkml.deltas;
SELECT flinkml.detach('dr_dropped');
SELECT flinkml.attach('dr_dropped') > 0;
INSERT INTO dropped VALUES (52, 160, 52);
SELECT stale IS NULL, attnums,
       linreg_rows(flinkml.current_model('dr_dropped')) = (SELECT count(*) FROM dropped),
       linreg_coefficients(flinkml.current_model('dr_dropped'))
       = linreg_coefficients((SELECT linreg_fit(y, ARRAY[a]) FROM dropped))
FROM flinkml.models;
SQL
)
check "restored with renumbered columns: stale, no delta folded; detach and attach make it exact" \
	"3|t 0 t t|{2,0,3}|t|t" "$(echo $got)"
"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC2" -c "DROP DATABASE IF EXISTS $DST2" >/dev/null 2>&1

finish
