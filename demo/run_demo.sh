#!/bin/bash
# demo/run_demo.sh — the README's demo: build and install flinkml, start a
# throwaway PostgreSQL 15 cluster (test/cluster.sh, unix socket only, port
# $FLINKML_DEMO_PORT, default 54322), run demo/demo.sql (a table scan: fit,
# evaluate, predict) and demo/stream_demo.sql (batches arriving, models that
# learn as they commit, an event-time window model, test-then-train error,
# drift, champion/challenger, rollback; in compressed real time, one batch a
# second, about 35 s) with psql, draw the error over time with gnuplot (to
# demo/out/error_over_time.png), stop the cluster.  Run as root on Debian 12:
#
#     bash demo/run_demo.sh
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
REPO=$(pwd -P)
DEMO_PORT=${FLINKML_DEMO_PORT:-54322}

# shellcheck source=test/cluster.sh
source "$REPO/test/cluster.sh"

echo "== installing dependencies (test/install_deps.sh)"
bash "$REPO/test/install_deps.sh" || { echo "run_demo: dependency installation failed" >&2; exit 1; }
PG_CONFIG=$(cluster_pg_config) || exit 1

echo "== building and installing flinkml (make && make install)"
BUILD_LOG=$(mktemp /tmp/flinkml-demo-build.XXXXXX)
cluster_at_exit 'rm -f "$BUILD_LOG"'
if ! { make -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG" &&
	make PG_CONFIG="$PG_CONFIG" install; } >"$BUILD_LOG" 2>&1; then
	cat "$BUILD_LOG"
	echo "run_demo: build or install failed" >&2
	exit 1
fi

echo "== starting a throwaway cluster"
cluster_start "$DEMO_PORT" || exit 1
PSQL=$(cluster_bindir)/psql

echo "== running demo/demo.sql"
start=$SECONDS
"$PSQL" -X -v ON_ERROR_STOP=1 --echo-queries -d postgres -f "$REPO/demo/demo.sql" </dev/null
rc=$?
OUT=$REPO/demo/out
mkdir -p "$OUT"
if [ "$rc" -eq 0 ]; then
	echo
	echo "== running demo/stream_demo.sql"
	"$PSQL" -X -v ON_ERROR_STOP=1 -v outdir="$OUT" --echo-queries -d postgres -f "$REPO/demo/stream_demo.sql" </dev/null
	rc=$?
fi
if [ "$rc" -eq 0 ] && [ -s "$OUT/error_over_time.dat" ]; then
	command -v gnuplot >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o APT::Install-Recommends=false gnuplot-nox >/dev/null 2>&1 ||
		echo "run_demo: gnuplot-nox could not be installed: no picture" >&2
	if command -v gnuplot >/dev/null 2>&1; then
		# psql's aligned output: rows of "b | all | window | cc" between the header and the footer
		sed -n 's/^ *\([0-9][0-9]*\) *| *\([0-9.]*\) *| *\([0-9.]*\) *| *\([0-9.]*\) *$/\1 \2 \3 \4/p' \
			"$OUT/error_over_time.dat" >"$OUT/error_over_time.txt"
		# the first batch of the changed world, as stream_demo.sql wrote it
		change_at=$(sed -n 's/^# change_at \([0-9][0-9]*\)$/\1/p' "$OUT/error_over_time.dat")
		gnuplot <<GP
set terminal png size 1000,560 noenhanced
set output '$OUT/error_over_time.png'
set title 'Test-then-train error per batch of 2,000 sales (the world changes at batch ${change_at:-?})'
set xlabel 'batch (one a second; each stands for 5 minutes of sales: time runs 300x faster)'
set ylabel 'mean squared error on the batch, before learning it'
set logscale y
set key top left Left reverse
set yrange [50:5000]
set grid
${change_at:+set arrow from $change_at - 0.5, graph 0 to $change_at - 0.5, graph 1 nohead dashtype 2}
plot '$OUT/error_over_time.txt' using 1:2 with linespoints title 'all-history model (price_all)', \
     '' using 1:3 with linespoints title 'one-hour window (price_window: ts > now() - 12 s)', \
     '' using 1:4 with linespoints title 'window champion/challenger (price_cc, if_better)'
GP
		echo
		echo "== the error over time, as a picture: $OUT/error_over_time.png"
		echo "   (the numbers: $OUT/error_over_time.txt)"
	fi
fi
echo
echo "== demo/demo.sql and demo/stream_demo.sql finished in $((SECONDS - start)) s (exit $rc)"

cluster_stop
exit "$rc"
