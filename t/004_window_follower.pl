# t/004_window_follower.pl — a followed event-time window model (issue 10).
#
# A window model (one minute, buckets of two seconds) follows a table
# through logical decoding while pgbench inserts rows with times inside and
# outside the window, moves rows' times across it, changes values and
# deletes rows (one transaction in ten rolled back).  Mid-stream the server
# is stopped with an immediate shutdown and started again; the launcher
# restarts the follower.  Once it has caught up, the model must equal a
# fresh fit over WHERE ts > now() - '1 minute' of the committed table (every
# coefficient within 1e-9 relative, the same rows), and again after the
# rows have aged for a few seconds without a write, after a TRUNCATE and
# new rows; unfollow drops the slot.
#
#   make installcheck REGRESS= ISOLATION= TAP_TESTS=1 PROVE_TESTS=t/004_window_follower.pl
#
# FLINKML_TAP_PORT pins the node's port (default: a free one).  About 40 s.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep time);

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

my $node = PostgreSQL::Test::Cluster->new('window',
	defined $ENV{FLINKML_TAP_PORT} ? (port => $ENV{FLINKML_TAP_PORT}) : ());
$node->init(allows_streaming => 'logical');
my $describe = `postgres --describe-config 2>/dev/null`;
$node->append_conf('postgresql.conf', <<"CONF");
shared_preload_libraries = 'flinkml'
max_worker_processes = 16
max_connections = 30
max_replication_slots = 10
shared_buffers = 64MB
log_min_messages = warning
CONF
$node->append_conf('postgresql.conf',
	"output_plugin_libraries = 'pgoutput, test_decoding, flinkml'")
  if $describe =~ /^output_plugin_libraries\t/m;
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION flinkml;
CREATE TABLE ev (id bigserial PRIMARY KEY, ts timestamptz, x1 float8, x2 float8, y float8);
ALTER TABLE ev REPLICA IDENTITY FULL;
CREATE INDEX ON ev (ts);
SELECT setseed(0.7);
INSERT INTO ev (ts, x1, x2, y)
SELECT now() - random() * interval '2 minutes', a, b, 3 + 2 * a - 1.5 * b + (random() - 0.5) * 0.5
FROM (SELECT random() a, random() * 10 b FROM generate_series(1, 5000)) s;
SELECT flinkml.create_model('wm', 'ev', 'y', ARRAY['x1', 'x2'], window_length => '1 minute',
                            time_column => 'ts', bucket => '2 seconds');
});
my $pid = $node->safe_psql('postgres', q{SELECT flinkml.follow('wm')});
like($pid, qr/^[1-9][0-9]*$/, 'follow of a window model returns the follower pid');
is( $node->safe_psql('postgres',
		q{SELECT options @> ARRAY['time', 'bucket'] FROM flinkml.streams WHERE model = 'wm'}),
	't', 'the decoder is asked for time buckets');
is( $node->safe_psql('postgres',
		q{SELECT options[array_position(options, 'binary') + 1] FROM flinkml.streams WHERE model = 'wm'}),
	'true', 'and for the states in their binary form');

my $EXACT = q{
WITH cur AS (SELECT flinkml.current_model('wm') AS m),
     ref AS (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM ev WHERE ts > now() - interval '1 minute')
SELECT CASE WHEN cur.m IS NULL OR ref.m IS NULL THEN (cur.m IS NULL AND ref.m IS NULL)::text
       ELSE linreg_rows(cur.m) || '|' || linreg_rows(ref.m) || '|' ||
            (SELECT max(abs(c - r) / greatest(abs(r), 1e-300))
             FROM unnest(linreg_coefficients(cur.m), linreg_coefficients(ref.m)) u(c, r)) END
FROM cur, ref};

sub exact
{
	my ($node, $what) = @_;
	my $got = $node->safe_psql('postgres', $EXACT);
	my ($rm, $rr, $rel) = split /\|/, $got;
	if (defined $rel)
	{
		ok($rm == $rr && $rel <= 1e-9,
			"$what: model rows $rm, window rows $rr, max relative difference $rel");
	}
	else
	{
		is($got, 'true', "$what: both empty");
	}
}
exact($node, 'right after follow');

my $script = PostgreSQL::Test::Utils::tempdir() . '/load.sql';
open my $fh, '>', $script or die "could not write $script: $!";
print $fh <<'LOAD';
\set r random(1, 100)
\set k random(1, 20)
\set id random(1, 9000)
\set rb random(1, 10)
BEGIN;
\if :r <= 50
INSERT INTO ev (ts, x1, x2, y)
SELECT now() - random() * interval '100 seconds', a, b, 3 + 2 * a - 1.5 * b + (random() - 0.5) * 0.5
FROM (SELECT random() a, random() * 10 b FROM generate_series(1, :k)) s;
\elif :r <= 70
UPDATE ev SET ts = ts + interval '45 seconds' WHERE id BETWEEN :id AND :id + 3;
\elif :r <= 85
UPDATE ev SET y = y + 1, x1 = x1 * 0.5 WHERE id = :id;
\else
DELETE FROM ev WHERE id BETWEEN :id AND :id + 2;
\endif
\if :rb = 1
ROLLBACK;
\else
COMMIT;
\endif
LOAD
close $fh;

sub load
{
	my ($node, $secs, $clients) = @_;
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-h', $node->host, '-p', $node->port, '-c', $clients,
			'-j', $clients, '-T', $secs, '-R', 800, '--max-tries', '5', '-f', $script, 'postgres'
		],
		'>', \$o, '2>', \$e);
	return ($h, \$o, \$e);
}

sub caught_up
{
	my ($node, $what) = @_;
	my $end = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	ok( wait_for(
			$node,
			qq{SELECT greatest(s.last_lsn, r.confirmed_flush_lsn) >= '$end'
			   FROM flinkml.stream_status s JOIN pg_replication_slots r ON r.slot_name = s.slot
			   WHERE s.model = 'wm'},
			40, "the follower to reach $end"),
		"$what: the follower catches up");
}

ok(wait_for($node, q{SELECT running FROM flinkml.stream_status WHERE model = 'wm'}, 20, 'the follower'),
	'the follower runs');
my ($h1) = load($node, 20, 3);
ok( wait_for(
		$node, q{SELECT rows_applied >= 1000 FROM flinkml.stream_status WHERE model = 'wm'},
		20, 'some changes applied'),
	'the follower applies changes under load');
$node->stop('immediate');
$h1->finish;
$node->start;
ok( wait_for(
		$node,
		q{SELECT running AND worker_pid IS NOT NULL FROM flinkml.stream_status WHERE model = 'wm'},
		20, 'the launcher to restart the follower'),
	'after an immediate shutdown the launcher restarts the follower');
my ($h2, $o2, $e2) = load($node, 4, 2);
$h2->finish;
ok(($h2->full_result // 0) == 0, 'load after the restart ran without failures')
  or diag("pgbench stdout:\n$$o2\nstderr:\n$$e2");
caught_up($node, 'after the restart');
exact($node, 'after an immediate shutdown mid-stream and more load');
is( $node->safe_psql('postgres',
		q{SELECT count(*) > 0 FROM flinkml.versions WHERE model = 'wm' AND made_by = 'stream'}),
	't', 'the follower compacted the window into versions');
is($node->safe_psql('postgres', q{SELECT last_error IS NULL FROM flinkml.stream_status WHERE model = 'wm'}),
	't', 'no follower error');

sleep 3;
exact($node, 'after the rows aged three seconds without a write');

$node->safe_psql(
	'postgres', q{
TRUNCATE ev;
INSERT INTO ev (ts, x1, x2, y)
SELECT now() - g * interval '100 milliseconds', g % 7, g % 5, g % 11 FROM generate_series(1, 900) g;
});
caught_up($node, 'after TRUNCATE and new rows');
exact($node, 'after TRUNCATE and new rows');

# a stream whose options ask for JSON states (as streams made before option
# binary do): the follower reads those lines too
$node->safe_psql(
	'postgres', q{
UPDATE flinkml.streams
SET options = options[1:array_position(options, 'binary') - 1] || options[array_position(options, 'binary') + 2:]
WHERE model = 'wm';
});
is($node->safe_psql('postgres', q{SELECT 'binary' = ANY (options) FROM flinkml.streams WHERE model = 'wm'}),
	'f', 'the stream asks for JSON states');
$node->safe_psql(
	'postgres', q{
INSERT INTO ev (ts, x1, x2, y)
SELECT now() - g * interval '50 milliseconds', g % 3, g % 13, g % 17 FROM generate_series(1, 600) g;
UPDATE ev SET ts = ts - interval '30 seconds' WHERE id % 4 = 0;
DELETE FROM ev WHERE id % 9 = 0;
});
caught_up($node, 'with JSON lines');
exact($node, 'with JSON lines');
is($node->safe_psql('postgres', q{SELECT last_error IS NULL FROM flinkml.stream_status WHERE model = 'wm'}),
	't', 'no follower error with JSON lines');

$node->safe_psql('postgres', q{SELECT flinkml.unfollow('wm')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots}),
	'0', 'unfollow drops the slot');
$node->stop;
done_testing();
