# t/004_categorical_follow.pl — a follower of a model with categorical
# features (text and boolean columns, dummy-coded by the decoder with the
# levels the model learned when it was created).
#
#  1. The same changes as sql/categorical.sql makes through triggers (the
#     rows of batch.csv inserted, rows 2, 5, 9 deleted, two rows updated),
#     committed and decoded from the WAL: the model equals R's fit B of
#     test/data/categorical/make_reference.R (every coefficient and
#     standard error within 1e-10, relative).
#  2. A row with a NULL price and a level the model has not seen is skipped
#     and counted, as any row with a NULL: the model stays fresh.
#  3. A committed row with a level the model has not seen cannot be refused
#     from the WAL: the model becomes stale, naming the value and the
#     column, nothing of that transaction is applied, and the follower
#     drops its slot.
#
#   make installcheck REGRESS= ISOLATION= PROVE_TESTS=t/004_categorical_follow.pl

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $node = PostgreSQL::Test::Cluster->new('categorical');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', <<"EOF");
max_worker_processes = 12
max_replication_slots = 4
autovacuum = off
log_min_messages = warning
EOF
$node->start;

my $dir = 'test/data/categorical';

# A CSV of ours (no quotes in the data, empty fields NULL) as rows of fields.
sub read_csv
{
	my ($file) = @_;
	open my $fh, '<', "$dir/$file" or die "$dir/$file: $!";
	my @rows;
	my $header = <$fh>;
	while (my $line = <$fh>)
	{
		chomp $line;
		push @rows, [ map { s/^"(.*)"$/$1/r } split /,/, $line, -1 ];
	}
	close $fh;
	return @rows;
}

sub sql_value
{
	my ($v) = @_;
	return 'NULL' if $v eq '';
	return $v if $v =~ /^-?[0-9.]+$/;
	return "'$v'";
}

sub insert_rows
{
	my ($file) = @_;
	return 'INSERT INTO cat_sales VALUES '
	  . join(', ', map { '(' . join(', ', map { sql_value($_) } @$_) . ')' } read_csv($file)) . ';';
}

sub wait_for
{
	my ($sql, $secs, $what) = @_;
	my $deadline = time + $secs;
	my $out;
	while (1)
	{
		$out = $node->safe_psql('postgres', $sql);
		return 1 if $out eq 't';
		last if time >= $deadline;
		usleep(50_000);
	}
	diag("timed out after ${secs}s waiting for $what\nquery: $sql\nlast output: $out");
	return 0;
}

sub wait_caught_up
{
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	return wait_for(qq{
SELECT greatest(s.last_lsn, r.confirmed_flush_lsn) >= '$lsn'
FROM flinkml.stream_status s JOIN pg_replication_slots r ON r.slot_name = s.slot
WHERE s.model = 'cat_price'}, 30, "the follower to reach $lsn");
}

$node->safe_psql('postgres', qq{
CREATE EXTENSION flinkml;
CREATE TABLE cat_sales (id integer PRIMARY KEY, region text, promo boolean, age integer, price float8);
ALTER TABLE cat_sales REPLICA IDENTITY FULL;
} . insert_rows('sales.csv') . qq{
SELECT flinkml.create_model('cat_price', 'cat_sales', 'price', ARRAY['age', 'region', 'promo']);
});
my $pid = $node->safe_psql('postgres', q{SELECT flinkml.follow('cat_price')});
ok($pid =~ /^[0-9]+$/, "follow() of a model with categorical features started a follower ($pid)");

# 1. the changes of fit B, each statement its own transaction
$node->safe_psql('postgres', insert_rows('batch.csv'));
$node->safe_psql('postgres', 'DELETE FROM cat_sales WHERE id IN (2, 5, 9)');
$node->safe_psql('postgres', q{UPDATE cat_sales SET region = 'west' WHERE id = 12});
$node->safe_psql('postgres', 'UPDATE cat_sales SET age = 61 WHERE id = 20');
ok(wait_caught_up(), 'the follower applied the changes');

my %ref;
for my $r (read_csv('ref_coef.csv'))
{
	$ref{ $r->[1] } = [ $r->[2], $r->[3] ] if $r->[0] eq 'B';
}
my @summary = split /\n/, $node->safe_psql('postgres', q{
SELECT term || '|' || estimate || '|' || std_error FROM linreg_summary(flinkml.current_model('cat_price'))});
is(scalar(@summary), 6, 'six terms: intercept, age, region=east/south/west, promo=true');
for my $line (@summary)
{
	my ($term, $est, $se) = split /\|/, $line;
	my $r = $ref{$term};
	ok( defined $r
		  && abs($est - $r->[0]) <= 1e-10 * abs($r->[0])
		  && abs($se - $r->[1]) <= 1e-10 * abs($r->[1]),
		"fit B from the WAL: $term equals R's within 1e-10 (flinkml $est, R "
		  . (defined $r ? $r->[0] : 'no such term') . ')');
}
is($node->safe_psql('postgres', q{SELECT linreg_rows(flinkml.current_model('cat_price'))}),
	'34', "the model holds R's 34 rows");

# 2. a NULL elsewhere: skipped before the level is looked at
$node->safe_psql('postgres', q{INSERT INTO cat_sales VALUES (50, 'mid2', true, 30, NULL)});
ok(wait_caught_up(), 'the follower read the row with a NULL');
is( $node->safe_psql('postgres',
		q{SELECT (stale IS NULL)::text || '|' || linreg_skipped(flinkml.current_state('cat_price')) FROM flinkml.models WHERE name = 'cat_price'}),
	'true|4', 'a row with a NULL price and an unknown level is skipped and counted; the model stays fresh');

# 3. a level the model has not seen: stale, naming it; the slot goes
$node->safe_psql('postgres', q{INSERT INTO cat_sales VALUES (51, 'central', false, 44, 50), (52, 'east', true, 40, 48)});
ok(wait_for(q{SELECT stale IS NOT NULL FROM flinkml.models WHERE name = 'cat_price'}, 30, 'the model to become stale'),
	'a committed row with an unseen level makes the model stale');
my $stale = $node->safe_psql('postgres', q{SELECT stale FROM flinkml.models WHERE name = 'cat_price'});
like($stale, qr/'central' in column region/, "the reason names the value and the column: $stale");
is( $node->safe_psql('postgres', q{
SELECT linreg_rows(flinkml._apply(v.state,
	(SELECT linreg_merge(d.added) FROM flinkml.deltas d WHERE d.model = 'cat_price'),
	(SELECT linreg_merge(d.removed) FROM flinkml.deltas d WHERE d.model = 'cat_price')))
FROM flinkml.versions v JOIN flinkml.models m ON m.name = v.model AND v.version = m.head_version
WHERE m.name = 'cat_price'}),
	'34', 'nothing of that transaction was applied: the versions and deltas hold 34 rows');
ok( wait_for(q{SELECT NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'flinkml_cat_price')}, 30,
		'the slot to be dropped'),
	'the follower dropped its slot');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT linreg_predict('cat_price', ARRAY[30, 0, 0, 0, 0])});
like($err, qr/is stale: a row committed with value 'central'/, 'predictions by name refuse the stale model, saying why');

$node->stop;
done_testing();
