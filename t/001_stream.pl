# t/001_stream.pl — the stream test of issue 4.
#
# A model follows a table through logical decoding while pgbench changes
# rows (inserts, updates, deletes, multi-statement and rolled-back
# transactions).  Mid-stream the server is stopped with an immediate
# shutdown (no checkpoint: the slot's position and the follower's last
# poll may both be lost), started again, and the launcher must restart the
# follower.  After a little more load the follower must catch up, and the
# model must equal a fresh fit over the committed table (relative
# difference <= 1e-9 in every coefficient, the same row count), with
# rows_applied equal to the number of row changes an independent
# test_decoding slot saw: nothing lost, nothing counted twice.  Also:
# follow refuses a table without REPLICA IDENTITY FULL, naming the fix;
# stream_status shows its columns; unfollow drops the slot.
#
# Run after `make install`, as a user other than root (initdb refuses root)
# in a copy of the tree that user may write (prove writes tmp_check/):
#
#   make installcheck REGRESS= ISOLATION= TAP_TESTS=1 PROVE_TESTS=t/001_stream.pl
#
# (PGXS runs prove with -I .../pgxs/src/test/perl and PG_REGRESS set; the
# node is a throwaway cluster of its own under tmp_check/, on a unix socket.)
# FLINKML_TAP_PORT pins the node's port (default: a free one).  About 10 s.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep time);

my $t0 = time;

# Poll $sql until it returns 't', at most $secs seconds.  Returns 1 on
# success, 0 (with a diagnostic) on timeout.
sub wait_for
{
	my ($node, $sql, $secs, $what) = @_;
	my $deadline = time + $secs;
	my ($out, $err);
	while (time < $deadline)
	{
		my $ret = $node->psql('postgres', $sql, stdout => \$out, stderr => \$err);
		return 1 if $ret == 0 && defined $out && $out eq 't';
		usleep(100_000);
	}
	diag("timed out after ${secs}s waiting for $what\nquery: $sql\n"
		  . "last output: " . ($out // '') . "\nlast error: " . ($err // ''));
	return 0;
}

# ---------------------------------------------------------------------------
# The node
# ---------------------------------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('stream',
	defined $ENV{FLINKML_TAP_PORT} ? (port => $ENV{FLINKML_TAP_PORT}) : ());
$node->init(allows_streaming => 'logical');

# PostgreSQL 15.20 has output_plugin_libraries (a decoding plugin must be
# listed there); older minor releases do not know the parameter.
my $describe = `postgres --describe-config 2>/dev/null`;
my $has_opl  = ($describe =~ /^output_plugin_libraries\t/m);
$node->append_conf('postgresql.conf', <<"EOF");
shared_preload_libraries = 'flinkml'
max_worker_processes = 16
max_connections = 30
max_replication_slots = 10
shared_buffers = 64MB
max_wal_size = 1GB
log_statement = none
log_min_messages = warning
EOF
$node->append_conf('postgresql.conf',
	"output_plugin_libraries = 'pgoutput, test_decoding, flinkml'")
  if $has_opl;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION flinkml');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'flinkml launcher'"),
	'1',
	'the launcher runs (flinkml in shared_preload_libraries)');

# ---------------------------------------------------------------------------
# A table without REPLICA IDENTITY FULL is refused, with the fix in the hint
# ---------------------------------------------------------------------------
$node->safe_psql(
	'postgres', q{
CREATE TABLE plain (id int PRIMARY KEY, x float8, y float8);
INSERT INTO plain SELECT i, i, 2 * i + 1 + (i % 3) FROM generate_series(1, 100) i;
SELECT flinkml.create_model('plain_m', 'plain', target => 'y', features => ARRAY['x']);
});
my ($ret, $out, $err) =
  $node->psql('postgres', q{SELECT flinkml.follow('plain_m')});
isnt($ret, 0, 'follow without REPLICA IDENTITY FULL fails');
like($err, qr/ERROR:.*REPLICA IDENTITY FULL/,
	'... with an error that names REPLICA IDENTITY FULL');
like($err, qr/HINT:.*ALTER TABLE public\.plain REPLICA IDENTITY FULL/,
	'... and a hint with the ALTER TABLE that fixes it');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_replication_slots}) . '/'
	  . $node->safe_psql('postgres', q{SELECT count(*) FROM flinkml.streams}),
	'0/0',
	'... leaving no slot and no stream behind');

# ---------------------------------------------------------------------------
# The followed table: ~10k rows, y linear in x1..x3 plus noise
# ---------------------------------------------------------------------------
$node->safe_psql(
	'postgres', q{
CREATE TABLE t (id bigserial PRIMARY KEY, x1 float8, x2 float8, x3 float8, y float8);
ALTER TABLE t REPLICA IDENTITY FULL;
SELECT setseed(0.42);
INSERT INTO t (x1, x2, x3, y)
SELECT a, b, c, 3 + 2 * a - 1.5 * b + 0.75 * c + (random() - 0.5) * 0.5
FROM (SELECT random() a, random() * 10 b, (random() - 0.5) * 4 c
      FROM generate_series(1, 10000)) s;
SELECT flinkml.create_model('m', 't', target => 'y', features => ARRAY['x1', 'x2', 'x3']);
});
my $pid = $node->safe_psql('postgres', q{SELECT flinkml.follow('m')});
like($pid, qr/^[1-9][0-9]*$/, 'follow returns the follower pid');

# An independent witness: a test_decoding slot that starts (with no writer
# running) right after the follower's slot, so both see the same commits.
$node->safe_psql('postgres',
	q{SELECT pg_create_logical_replication_slot('audit', 'test_decoding')});

ok( wait_for(
		$node,
		q{SELECT running AND slot = 'flinkml_m' AND last_lsn IS NOT NULL
		   FROM flinkml.stream_status WHERE model = 'm'},
		20,
		'the follower to run'),
	'stream_status: the follower runs on slot flinkml_m');

# ---------------------------------------------------------------------------
# Load: pgbench, each transaction 1-2 statements in ascending id order (no
# deadlocks), inserts of 1-3 rows, updates of 1 or a few rows, deletes, and
# one transaction in ten rolled back.  With async = 1 (phase 2) every
# transaction commits with synchronous_commit = off: commit records then
# sit in WAL that is written but not yet flushed when the follower polls
# (logical decoding reads only flushed WAL), which the follower must
# neither skip nor count twice.
# ---------------------------------------------------------------------------
my $script = PostgreSQL::Test::Utils::tempdir() . '/load.sql';
open my $fh, '>', $script or die "could not write $script: $!";
print $fh <<'EOF';
\set r random(1, 100)
\set k random(1, 3)
\set id random(1, 14000)
\set rb random(1, 10)
BEGIN;
\if :async = 1
SET LOCAL synchronous_commit = off;
\endif
\if :r <= 40
INSERT INTO t (x1, x2, x3, y)
SELECT a, b, c, 3 + 2 * a - 1.5 * b + 0.75 * c + (random() - 0.5) * 0.5
FROM (SELECT random() a, random() * 10 b, (random() - 0.5) * 4 c FROM generate_series(1, :k)) s;
\elif :r <= 70
UPDATE t SET x1 = random(), y = y + random() - 0.5 WHERE id = :id;
UPDATE t SET x2 = x2 + 0.125 WHERE id = :id + 7;
\elif :r <= 80
UPDATE t SET y = y * 1.01 WHERE id BETWEEN :id AND :id + 4;
\else
DELETE FROM t WHERE id = :id;
\endif
\if :rb = 1
ROLLBACK;
\else
COMMIT;
\endif
EOF
close $fh;

sub start_load
{
	my ($clients, $secs, $rate, $async) = @_;
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-h', $node->host, '-p', $node->port,
			'-c', $clients, '-j', $clients, '-T', $secs, '-R', $rate, '--max-tries', '5',
			'-D', "async=$async", '-f', $script, 'postgres'
		],
		'>', \$o, '2>', \$e);
	return ($h, \$o, \$e);
}

# Phase 1: load, and an immediate shutdown while it runs and the follower
# is applying.
my ($h1, $o1, $e1) = start_load(4, 30, 1500, 0);
ok( wait_for(
		$node,
		q{SELECT rows_applied >= 2000 FROM flinkml.stream_status WHERE model = 'm'},
		20,
		'the follower to apply some changes'),
	'the follower applies changes under load');
usleep(700_000);
ok($h1->pumpable, 'pgbench is still running when the server is stopped');
my $before = $node->safe_psql('postgres',
	q{SELECT rows_applied FROM flinkml.stream_status WHERE model = 'm'});
$node->stop('immediate');
$h1->finish;    # pgbench fails: the server went away under it
note("phase 1 pgbench: " . ($$o1 =~ /(number of transactions actually processed: \S+)/ ? $1 : '?'));

# ---------------------------------------------------------------------------
# Restart: the launcher restarts the follower, which resumes from what it
# stored (redelivered transactions skipped, none lost)
# ---------------------------------------------------------------------------
$node->start;
ok( wait_for(
		$node,
		q{SELECT running AND worker_pid IS NOT NULL FROM flinkml.stream_status WHERE model = 'm'},
		20,
		'the launcher to restart the follower'),
	'after the restart the launcher restarts the follower');

# Phase 2: more load, to its end, committing asynchronously.
my ($h2, $o2, $e2) = start_load(3, 3, 1000, 1);
$h2->finish;
ok(($h2->full_result // 0) == 0, 'phase 2 pgbench ran without failures')
  or diag("pgbench stdout:\n$$o2\nstderr:\n$$e2");

# The insert position, not pg_current_wal_lsn() (the write position): the
# last asynchronous commits may not be written yet.  The follower has read
# up to a position when its stored LSN (moved by transactions it applied)
# or its slot (moved by every poll, also those that found nothing for the
# model and wrote nothing) is there.
my $end_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
ok( wait_for(
		$node,
		qq{SELECT greatest(s.last_lsn, r.confirmed_flush_lsn) >= '$end_lsn'
		   FROM flinkml.stream_status s JOIN pg_replication_slots r ON r.slot_name = s.slot
		   WHERE s.model = 'm'},
		30,
		"the follower to reach $end_lsn"),
	'the follower catches up with the end of the writes');

# ---------------------------------------------------------------------------
# The model equals a fresh fit over the committed table
# ---------------------------------------------------------------------------
my $cmp = $node->safe_psql(
	'postgres', q{
WITH cur AS (SELECT flinkml.current_model('m') AS m),
     ref AS (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m, count(*) AS n FROM t)
SELECT linreg_rows(cur.m) || '|' || ref.n || '|' ||
       cardinality(linreg_coefficients(cur.m)) || '|' ||
       (SELECT max(abs(c - r) / greatest(abs(r), 1e-300))
        FROM unnest(linreg_coefficients(cur.m), linreg_coefficients(ref.m)) u(c, r))
FROM cur, ref});
my ($rows_model, $rows_table, $ncoef, $maxrel) = split /\|/, $cmp;
note("model rows $rows_model, table rows $rows_table, max relative difference $maxrel");
is($rows_model, $rows_table,
	'the model holds exactly the committed rows (none lost, none twice)');
is($ncoef, 4, 'the model has intercept + 3 coefficients');
ok(defined $maxrel && $maxrel ne '' && $maxrel <= 1e-9,
	"every coefficient within 1e-9 (relative) of a fresh fit (got $maxrel)");

# rows_applied = the row changes to t the test_decoding witness saw
my $witness = $node->safe_psql(
	'postgres', q{
SELECT count(*) FROM pg_logical_slot_peek_changes('audit', NULL, NULL, 'skip-empty-xacts', '1')
WHERE data ~ '^table public\.t: (INSERT|UPDATE|DELETE):'});
my $status = $node->safe_psql(
	'postgres', q{
SELECT rows_applied || '|' || transactions_applied || '|' || coalesce(last_error, '') || '|' ||
       lag_bytes || '|' || CASE WHEN lag_seconds >= 0 AND lag_seconds < 60 THEN 't' ELSE 'f' END || '|' ||
       slot || '|' || last_lsn
FROM flinkml.stream_status WHERE model = 'm'});
my ($applied, $txns, $last_error, $lag_bytes, $lag_ok, $slot, $last_lsn) =
  split /\|/, $status, -1;
note("rows_applied $applied (before the stop: $before), transactions $txns, witness $witness, "
	  . "lag $lag_bytes bytes");
cmp_ok($witness, '>', 5000, 'the load changed thousands of rows');
is($applied, $witness,
	'rows_applied equals the row changes test_decoding saw');
cmp_ok($applied, '>', $before, 'rows were applied after the restart');
is($last_error, '', 'stream_status: no last error');
like($lag_bytes, qr/^[0-9]+$/, 'stream_status: lag in bytes');
is($lag_ok, 't', 'stream_status: lag in seconds');
is($slot, 'flinkml_m', 'stream_status: the slot');
like($last_lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, 'stream_status: the last applied LSN');

# The follower's log: no error, no retry.
# (Lines of the test's own sessions, application name 001_stream.pl, and of
# pgbench are left out: the refused follow above is one of them.)
my $log = slurp_file($node->logfile);
my @bad = grep {
	!/ (001_stream\.pl|pgbench) /
	  && (/flinkml.*(ERROR|FATAL|PANIC|retrying)/
		|| /background worker "flinkml[^"]*" \(PID \d+\) exited with exit code [^0]/)
} split /\n/, $log;
is(scalar(@bad), 0, 'the follower logged no error')
  or diag(join("\n", @bad));
unlike($log, qr/PANIC|server process .* was terminated by signal/,
	'no backend crashed');
# It polls ten times a second, and every peek or advance of a slot logs
# "starting logical decoding for slot ...": the follower keeps those out.
my @decoding = grep { /starting logical decoding for slot "flinkml_/ } split /\n/, $log;
is(scalar(@decoding), 0, 'the follower does not log every peek of its slot')
  or diag(scalar(@decoding) . ' lines, the first: ' . $decoding[0]);

# ---------------------------------------------------------------------------
# unfollow stops the follower and drops its slot
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('audit')});
my $log_before_unfollow = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT flinkml.unfollow('m')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots}),
	'0', 'unfollow drops the slot: pg_replication_slots is empty');
is($node->safe_psql('postgres', q{SELECT count(*) FROM flinkml.stream_status}),
	'0', 'the model no longer appears in stream_status');
# the launcher must not start a follower again
usleep(1_500_000);
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'flinkml follower'}) . '/'
	  . $node->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots}),
	'0/0',
	'no follower and no slot a moment later');
# While unfollow runs (the worker terminated, the streams row not yet
# deleted) the launcher must not start a new follower, which would take
# the slot unfollow is about to drop.  (This follower was started by the
# launcher, which is notified when it exits and so looks again at once.)
my @restarted = grep { /flinkml launcher: starting the follower of model "m"|follower of model "m" (started|stopped)/ }
  split /\n/, substr(slurp_file($node->logfile), $log_before_unfollow);
ok(!grep({ /flinkml launcher: starting/ } @restarted),
	'the launcher started no follower during or after unfollow')
  or diag(join("\n", @restarted));
# the model is still there and usable, with the streamed rows
is( $node->safe_psql('postgres',
		q{SELECT linreg_rows(flinkml.current_model('m')) = (SELECT count(*) FROM t)}),
	't', 'the model keeps its rows after unfollow');

$node->stop;
note(sprintf('elapsed %.1f s', time - $t0));
done_testing();
