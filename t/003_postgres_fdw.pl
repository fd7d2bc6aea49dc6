# t/003_postgres_fdw.pl — one model over a table whose partitions are
# postgres_fdw foreign tables on two other servers (issue 9, point 7).
#
# Three nodes: "local" and two shards.  Each shard holds half of a sales
# table (id, age int, income float8, buy_count int, price float8; NULLs in
# age and price) as a plain table sales_p; on local, sales is partitioned by
# range of id into two foreign tables, one per shard, over servers with
# OPTIONS (extensions 'flinkml', async_capable 'true').  Local also holds the
# same rows as a plain table (sales_local) and as local partitions (sales_lp,
# the same bounds).  Asserted:
#
#  1. The plain aggregate over the parent gives the local table's model but
#     fetches every row: PostgreSQL 15's postgres_fdw never ships a partial
#     aggregate (Remote SQL is a SELECT of the columns; the shards' logs show
#     cursors over sales_p and no linreg_state), even with
#     enable_partitionwise_aggregate.
#  2. An aggregate over one foreign partition is shipped; with integer
#     columns only when the array's elements are cast (ARRAY[...]::float8[]):
#     an all-integer ARRAY[age, buy_count] under the aggregate's implicit
#     cast is an ArrayCoerceExpr, which postgres_fdw 15 does not ship.  The
#     planner hook's linreg_state_cols form is shipped too.  The state
#     computed on the shard is, to the bit, the state of the same rows here.
#  3. flinkml.linreg_state_partitions(parent, y, x [, weight, intercept]):
#     its statement's plan is one Async Foreign Scan per partition whose
#     Remote SQL is the linreg_state aggregate, no row is fetched (the shards'
#     logs show the aggregate), and its state equals, to the bit, the same
#     function over the local partitions; its coefficients, rows and skipped
#     counts equal those of one aggregate over the local table — integer
#     features, weighted (an integer weight with zeros), without intercept.
#     The same by hand: UNION ALL of the per-partition states, linreg_merge.
#  4. A server without extensions 'flinkml': still the same result, but that
#     partition's rows are fetched, and a NOTICE says so.
#  5. Errors name the argument (a foreign table is not a partitioned table;
#     an unknown column); statement_timeout cancels a slow remote aggregate
#     (the shard's query is cancelled too, the session keeps working).
#
# Run after `make install`, as a user other than root, in a copy of the tree
# that user may write:
#
#   make installcheck REGRESS= ISOLATION= PROVE_TESTS=t/003_postgres_fdw.pl
#
# FLINKML_TAP_PORT pins the local node's port (the shards take the next
# two).  About 15 s.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $t0 = time;

sub new_node
{
	my ($name, $i) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name,
		defined $ENV{FLINKML_TAP_PORT} ? (port => $ENV{FLINKML_TAP_PORT} + $i) : ());
	$node->init;
	$node->append_conf('postgresql.conf', <<"EOF");
shared_buffers = 32MB
max_parallel_workers_per_gather = 0
autovacuum = off
log_min_messages = warning
EOF
	# the shards log every statement: what postgres_fdw sent them
	$node->append_conf('postgresql.conf', "log_statement = 'all'\n") if $i > 0;
	$node->start;
	return $node;
}

my $local  = new_node('local',  0);
my $shard1 = new_node('shard1', 1);
my $shard2 = new_node('shard2', 2);

# the rows of ids lo..hi: integer and float features, NULLs in age and price
sub rows_sql
{
	my ($lo, $hi) = @_;
	return qq{
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 18 + (g * 31) % 60 END AS age,
       20000 + ((g * 7919) % 80000)::float8 / 3 AS income,
       (g * 17) % 13 AS buy_count,
       CASE WHEN g % 89 = 0 THEN NULL ELSE
            12.5 + 0.8 * (18 + (g * 31) % 60) + 0.001 * (20000 + (g * 7919) % 80000)
            + 3.0 * ((g * 17) % 13) + ((g * 37) % 11 - 5) * 0.1 END AS price
FROM generate_series($lo, $hi) g ORDER BY g};
}
my $cols = 'id int, age int, income float8, buy_count int, price float8';

for my $s ([ $shard1, 1, 2000 ], [ $shard2, 2001, 4000 ])
{
	my ($node, $lo, $hi) = @$s;
	$node->safe_psql('postgres', qq{
CREATE EXTENSION flinkml;
CREATE TABLE sales_p ($cols);
INSERT INTO sales_p } . rows_sql($lo, $hi) . qq{;
-- slow: the same rows at 10 ms each (for the cancel test)
CREATE FUNCTION slow(float8) RETURNS float8 LANGUAGE sql VOLATILE AS 'SELECT \$1 FROM pg_sleep(0.01)';
CREATE VIEW sales_slow AS SELECT id, age, income, buy_count, slow(price) AS price FROM sales_p;
ANALYZE sales_p;});
}

my $i = 0;
my $servers = '';
for my $node ($shard1, $shard2)
{
	$i++;
	my ($host, $port) = ($node->host, $node->port);
	$servers .= qq{
CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'flinkml', async_capable 'true');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i;};
}
$local->safe_psql('postgres', qq{
CREATE EXTENSION flinkml;
CREATE EXTENSION postgres_fdw;
$servers
CREATE TABLE sales ($cols) PARTITION BY RANGE (id);
CREATE FOREIGN TABLE sales_1 PARTITION OF sales FOR VALUES FROM (1) TO (2001)
	SERVER shard1 OPTIONS (table_name 'sales_p');
CREATE FOREIGN TABLE sales_2 PARTITION OF sales FOR VALUES FROM (2001) TO (4001)
	SERVER shard2 OPTIONS (table_name 'sales_p');
CREATE TABLE sales_local AS } . rows_sql(1, 4000) . qq{;
CREATE TABLE sales_lp ($cols) PARTITION BY RANGE (id);
CREATE TABLE sales_lp1 PARTITION OF sales_lp FOR VALUES FROM (1) TO (2001);
CREATE TABLE sales_lp2 PARTITION OF sales_lp FOR VALUES FROM (2001) TO (4001);
INSERT INTO sales_lp SELECT * FROM sales_local ORDER BY id;
-- slow: a parent whose one partition is the shard's slow view
CREATE TABLE slow ($cols) PARTITION BY RANGE (id);
CREATE FOREIGN TABLE slow_1 PARTITION OF slow FOR VALUES FROM (1) TO (2001)
	SERVER shard1 OPTIONS (table_name 'sales_slow');});

is($local->safe_psql('postgres', 'SELECT count(*), count(age), count(price) FROM sales'),
	'4000|3959|3956', 'the foreign partitions hold the rows, with NULLs');

# Every query below runs in a session where the library is loaded (the
# planner hook applies), unless it sets flinkml.rewrite_array_args.
sub lq
{
	my ($sql) = @_;
	return $local->safe_psql('postgres', "LOAD 'flinkml';\n$sql");
}

# EXPLAIN VERBOSE of $sql, after the settings $pre
sub lexplain
{
	my ($sql, $pre) = @_;
	return lq(($pre // '') . "\nEXPLAIN (VERBOSE, COSTS OFF) $sql");
}

# the shards' log lines written while $code runs
sub shard_log_during
{
	my ($code) = @_;
	my @off = map { -s $_->logfile } ($shard1, $shard2);
	$code->();
	my $log = '';
	for my $k (0, 1)
	{
		my $node = ($shard1, $shard2)[$k];
		$log .= substr(slurp_file($node->logfile), $off[$k]);
	}
	return $log;
}

my $x3 = 'ARRAY[age, income, buy_count]';
my $coef_local = lq("SELECT linreg_coefficients(linreg_fit(price, $x3)) FROM sales_local");
my $counts_local = lq("SELECT linreg_rows(s), linreg_skipped(s), linreg_weight_sum(s) FROM (SELECT linreg_state(price, $x3) s FROM sales_local) t");
like($counts_local, qr/^3915\|85\|3915$/, 'the local table: 3915 rows used, 85 skipped for NULLs');

# ---------------------------------------------------------------------------
# 1. The plain aggregate over the parent: same model, every row fetched
# ---------------------------------------------------------------------------
my $plan = lexplain("SELECT linreg_fit(price, $x3) FROM sales");
like($plan, qr/Remote SQL: SELECT age, income, buy_count, price FROM public\.sales_p/,
	'naive fit over the parent: Remote SQL fetches the columns');
unlike($plan, qr/Remote SQL:[^\n]*linreg/, 'naive fit over the parent: no aggregate in Remote SQL');
my $plan_pw = lexplain("SELECT linreg_fit(price, $x3) FROM sales",
	'SET enable_partitionwise_aggregate = on;');
like($plan_pw, qr/Partial Aggregate/, 'partitionwise: a local Partial Aggregate per partition');
unlike($plan_pw, qr/Remote SQL:[^\n]*linreg/, 'partitionwise: still no aggregate in Remote SQL (no partial push-down in 15)');
my $coef_naive;
my $log = shard_log_during(sub {
	$coef_naive = lq("SELECT linreg_coefficients(linreg_fit(price, $x3)) FROM sales");
});
is($coef_naive, $coef_local, 'naive fit over the parent: the local table\'s coefficients, to the bit');
like($log, qr/DECLARE c\d+ CURSOR FOR\s+SELECT age, income, buy_count, price FROM public\.sales_p/,
	'naive fit: the shards were asked for the rows');
unlike($log, qr/linreg_state/, 'naive fit: the shards ran no flinkml aggregate');

# ---------------------------------------------------------------------------
# 2. One foreign partition: what postgres_fdw ships
# ---------------------------------------------------------------------------
my $ints = 'ARRAY[age, buy_count]';
my $norw = 'SET flinkml.rewrite_array_args = off;';
$plan = lexplain("SELECT linreg_state(price, $ints) FROM sales_1", $norw);
like($plan, qr/\(ARRAY\[age, buy_count\]\)::double precision\[\]/,
	'all-integer ARRAY[...] as written: an array coercion (int4[] to float8[])');
unlike($plan, qr/Remote SQL:[^\n]*linreg/, '... which postgres_fdw does not ship: rows fetched');
$plan = lexplain("SELECT linreg_state(price, $ints\::float8[]) FROM sales_1", $norw);
like($plan,
	qr/Remote SQL: SELECT public\.linreg_state\(price, ARRAY\[age::double precision, buy_count::double precision\]\) FROM public\.sales_p/,
	'ARRAY[...]::float8[] casts each element: shipped');
$plan = lexplain("SELECT linreg_state(price, $x3) FROM sales_1", $norw);
like($plan, qr/Remote SQL: SELECT public\.linreg_state\(price, ARRAY\[age, income, buy_count\]\)/,
	'a float8 element makes the array float8[] element by element: shipped');
$plan = lexplain("SELECT linreg_state(price, $ints) FROM sales_1");
like($plan, qr/Remote SQL: SELECT public\.linreg_state_cols\(price, age, buy_count\) FROM public\.sales_p/,
	'the planner hook\'s column form is shipped');
$plan = lexplain("SELECT linreg_state(price, $ints\::float8[], buy_count::float8) FROM sales_1");
like($plan, qr/Remote SQL: SELECT public\.linreg_state\(price, ARRAY\[age::double precision, buy_count::double precision\], buy_count::double precision\)/,
	'weighted, elements cast: shipped');
for my $form ("linreg_state(price, $ints)", "linreg_state(price, $ints\::float8[])",
	"linreg_state(price, $x3, buy_count)")
{
	for my $rw ('on', 'off')
	{
		is(lq("SET flinkml.rewrite_array_args = $rw;\nSELECT $form\::text FROM sales_1"),
			lq("SELECT $form\::text FROM sales_lp1"),
			"$form (rewrite $rw) on the shard: the local partition's state, to the bit");
	}
}

# ---------------------------------------------------------------------------
# 3. The documented way: flinkml.linreg_state_partitions
# ---------------------------------------------------------------------------
my $fx3 = q{ARRAY['age', 'income', 'buy_count']};
my $stmt = lq("SELECT flinkml.linreg_state_partitions_query('sales', 'price', $fx3)");
$plan = lexplain($stmt);
my @async = ($plan =~ /Async Foreign Scan/g);
is(scalar @async, 2, 'linreg_state_partitions: one Async Foreign Scan per partition');
my @shipped = ($plan =~ /Remote SQL: SELECT public\.linreg_state(?:_cols)?\([^\n]* FROM public\.sales_p/g);
is(scalar @shipped, 2, 'linreg_state_partitions: each Remote SQL is the aggregate') or diag($plan);
unlike($plan, qr/Remote SQL: SELECT (?!public\.linreg)/, 'linreg_state_partitions: no row fetched');
my $state_fdw;
$log = shard_log_during(sub {
	$state_fdw = lq("SELECT flinkml.linreg_state_partitions('sales', 'price', $fx3)");
});
my @ran = ($log =~ /(?:statement|execute <unnamed>): (?:DECLARE c\d+ CURSOR FOR\s+)?SELECT public\.linreg_state/g);
is(scalar @ran, 2, 'linreg_state_partitions: both shards ran the aggregate') or diag($log);
unlike($log, qr/SELECT age, income, buy_count, price FROM/, 'linreg_state_partitions: the shards sent no rows');
is($state_fdw, lq("SELECT flinkml.linreg_state_partitions('sales_lp', 'price', $fx3)"),
	'the state equals, to the bit, the same function over local partitions');
is(lq("SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('sales', 'price', $fx3)))"),
	$coef_local, 'integer features: the local table\'s coefficients, to the bit');
is(lq("SELECT linreg_rows(s), linreg_skipped(s), linreg_weight_sum(s) FROM flinkml.linreg_state_partitions('sales', 'price', $fx3) s"),
	$counts_local, 'rows, skipped for NULLs, weight sum: the local table\'s');

# weighted by an integer column with zeros; without intercept; integers only
for my $c (
	[ "ARRAY['age', 'income'], 'buy_count'", 'linreg_fit(price, ARRAY[age, income], buy_count)', 'weighted' ],
	[ "ARRAY['age', 'buy_count'], intercept => false", 'linreg_fit_noint(price, ARRAY[age, buy_count])', 'no intercept, integer features only' ],
	[ "ARRAY['age', 'buy_count']", 'linreg_fit(price, ARRAY[age, buy_count])', 'integer features only' ])
{
	my ($args, $fit, $what) = @$c;
	my $stateq = "flinkml.linreg_state_partitions('sales', 'price', $args)";
	unlike(lexplain(lq("SELECT flinkml.linreg_state_partitions_query('sales', 'price', $args)")),
		qr/Remote SQL: SELECT (?!public\.linreg)/, "$what: shipped");
	is(lq("SELECT linreg_coefficients(linreg_solve($stateq)), linreg_rows($stateq), linreg_skipped($stateq), linreg_weight_sum($stateq)"),
		lq("SELECT linreg_coefficients(m), linreg_rows(m), linreg_skipped(m), linreg_weight_sum(linreg_state(m)) FROM (SELECT $fit m FROM sales_local) t"),
		"$what: the local table's coefficients and counts, to the bit");
}

# by hand: the README's SQL pattern
my $by_hand = qq{SELECT linreg_coefficients(linreg_solve(linreg_merge(s ORDER BY i))) FROM (
  SELECT linreg_state(price, ARRAY[age, income, buy_count]::float8[]) AS s, 1 AS i FROM sales_1
  UNION ALL
  SELECT linreg_state(price, ARRAY[age, income, buy_count]::float8[]), 2 FROM sales_2) p};
unlike(lexplain($by_hand), qr/Remote SQL: SELECT (?!public\.linreg)/, 'by hand: shipped');
is(lq($by_hand), $coef_local, 'by hand: the local table\'s coefficients, to the bit');

# ---------------------------------------------------------------------------
# 4. A server without extensions 'flinkml': correct, but rows fetched
# ---------------------------------------------------------------------------
$local->safe_psql('postgres', q{ALTER SERVER shard2 OPTIONS (DROP extensions)});
$plan = lexplain($stmt);
like($plan, qr/Remote SQL: SELECT age, income, buy_count, price FROM public\.sales_p/,
	'without extensions \'flinkml\': that partition\'s rows are fetched');
my ($ret, $out, $err) = $local->psql('postgres',
	"SELECT flinkml.linreg_state_partitions('sales', 'price', $fx3)");
is($out, $state_fdw, 'without extensions \'flinkml\': the same state');
like($err, qr/NOTICE:  flinkml: the server shard2 of partition public\.sales_2 does not list extensions 'flinkml': its rows are fetched/,
	'without extensions \'flinkml\': a NOTICE names the server and the partition');
$local->safe_psql('postgres', q{ALTER SERVER shard2 OPTIONS (ADD extensions 'flinkml')});

# ---------------------------------------------------------------------------
# 5. Errors and cancel
# ---------------------------------------------------------------------------
($ret, $out, $err) = $local->psql('postgres',
	"SELECT flinkml.linreg_state_partitions('sales_1', 'price', $fx3)");
like($err, qr/ERROR:  flinkml: parent public\.sales_1 is not a partitioned table/,
	'a foreign table as parent: an error naming it');
($ret, $out, $err) = $local->psql('postgres',
	"SELECT flinkml.linreg_state_partitions('sales', 'price', ARRAY['age', 'incme'])");
like($err, qr/ERROR:  flinkml: x\[2\]: column "incme" does not exist in public\.sales/,
	'an unknown column: an error naming the argument');

my $t = time;
$log = shard_log_during(sub {
	($ret, $out, $err) = $local->psql('postgres',
		"SET statement_timeout = '500ms';\n"
		  . "SELECT flinkml.linreg_state_partitions('slow', 'price', $fx3)");
});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout cancels it');
cmp_ok(time - $t, '<', 15, 'cancelled in well under the 20 s the remote aggregate takes');
like($log, qr/SELECT public\.linreg_state[^\n]* FROM public\.sales_slow.*ERROR:  canceling statement due to user request/s,
	'the shard ran the aggregate and postgres_fdw cancelled it');
ok( $shard1->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%sales_slow%' AND pid <> pg_backend_pid()}),
	'the shard\'s aggregate was cancelled too');
is(lq("SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('sales', 'price', $fx3)))"),
	$coef_local, 'after the cancel the next call works');

note(sprintf('t/003_postgres_fdw.pl took %.1f s', time - $t0));
done_testing(47);
