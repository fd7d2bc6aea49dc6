#!/bin/bash
# test/run_tests.sh — build flinkml and run every test suite.
#
#     bash test/run_tests.sh          (as root, from anywhere; Debian 12)
#
# Steps: install missing Debian packages (test/install_deps.sh); make clean,
# make, make install (PGXS); the core unit tests (make -C test/core check);
# then, on a throwaway PostgreSQL 15 cluster (test/cluster.sh, unix socket
# only, port $FLINKML_TEST_PORT, default 54321):
#   - REGRESS   (pg_regress, run by root as a client connecting as postgres)
#   - ISOLATION (pg_isolation_regress), if the Makefile defines ISOLATION
#   - test/dump_restore.sh: a pg_dump/pg_restore round trip of the registry
#   - TAP_TESTS (prove), if the Makefile defines TAP_TESTS.  The TAP framework
#     runs initdb itself, which PostgreSQL refuses as root, so this part runs
#     as the postgres user in a postgres-owned copy of the work tree; its
#     logs are copied back to ./tmp_check/ when it fails.
#   - test/citus/run_citus_tests.sh: flinkml on a Citus cluster of its own
#     (a coordinator and two workers on loopback ports).  Citus is used
#     when installed, else built once from ../shared/vendor (the pinned
#     source); where neither is possible a `citus: skipped (...)` line says so.
# Each part runs even if an earlier one failed, under a time limit (so a
# hung test cannot eat CI's 90 minutes): FLINKML_TIMEOUT_CORE (default 600 s),
# _REGRESS (2100 s), _ISOLATION (900 s), _TAP (1500 s), _CITUS (1200 s).  The last line printed is
# always `N passed, N failed` (summed over all suites; a step that fails
# without test results, e.g. the build, counts as one failure).  The exit
# status is non-zero if anything failed.
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
REPO=$(pwd -P)
TEST_PORT=${FLINKML_TEST_PORT:-54321}
NPROC=$(nproc 2>/dev/null || echo 2)

TIMEOUT_CORE=${FLINKML_TIMEOUT_CORE:-600}
TIMEOUT_REGRESS=${FLINKML_TIMEOUT_REGRESS:-2100}
TIMEOUT_ISOLATION=${FLINKML_TIMEOUT_ISOLATION:-900}
TIMEOUT_TAP=${FLINKML_TIMEOUT_TAP:-1500}
TIMEOUT_CITUS=${FLINKML_TIMEOUT_CITUS:-1200}

PASSED=0
FAILED=0
SUMMARY=()       # one line per suite, printed at the end
T_START=$SECONDS

banner() { printf '\n==== %s ====\n' "$*"; }
note() { printf 'run_tests: %s\n' "$*"; }

# record SUITE PASSED FAILED SECONDS [REMARK]
record() {
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
	SUMMARY+=("$(printf '%-16s %4d passed, %4d failed  %5ss%s' "$1" "$2" "$3" "$4" "${5:+  ($5)}")")
}

finish() {
	banner "summary ($((SECONDS - T_START)) s)"
	local s
	for s in "${SUMMARY[@]}"; do
		echo "  $s"
	done
	[ "$FAILED" -eq 0 ] || echo "run_tests: FAILED"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && exit 0
	exit 1
}

LOGDIR=$(mktemp -d /tmp/flinkml-tests.XXXXXX) || exit 2
# shellcheck source=test/cluster.sh
source "$REPO/test/cluster.sh"
cluster_at_exit 'rm -rf "$LOGDIR"'

PG_CONFIG=$(cluster_pg_config 2>/dev/null) || PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# ---------------------------------------------------------------------------
# Output parsers.  Each prints "PASSED FAILED" for a log file.
# ---------------------------------------------------------------------------

# pg_regress / pg_isolation_regress.  PostgreSQL 15 prints
#   test name                     ... ok           12 ms
#   test name                     ... FAILED       12 ms
#        name                     ... ok           12 ms     (parallel group)
#   test name                     ... failed (ignored)
# PostgreSQL 16+ prints TAP-like lines instead:
#   ok 1         - name          12 ms
#   not ok 2     + name          12 ms
# Ignored failures are counted in neither column (pg_regress does not fail
# on them either); the count is printed as a note.
parse_regress() {
	awk '
	/^(test +|     +)[^ ]+ +\.\.\. +ok( |$)/             { p++; next }
	/^(test +|     +)[^ ]+ +\.\.\. +FAILED/              { f++; next }
	/^(test +|     +)[^ ]+ +\.\.\. +failed \(ignored\)/  { ig++; next }
	/^ok [0-9]+ +[-+] [^ ]/                                { p++; next }
	/^not ok [0-9]+ +[-+] [^ ]/                            { if ($0 ~ /# \(ignored\)|# ignored/) ig++; else f++; next }
	END {
		if (ig > 0) printf "run_tests: note: %d failure(s) ignored by pg_regress\n", ig > "/dev/stderr"
		printf "%d %d\n", p, f
	}' "$1"
}

# prove (TAP).  Counts subtests: passed = Tests - failed; a test file that
# dies or exits non-zero without a failed subtest counts as one failure.
#   Files=2, Tests=15,  3 wallclock secs (...)
#   t/001_x.pl (Wstat: 256 Tests: 5 Failed: 1)
#   Result: PASS | FAIL
parse_prove() {
	awk '
	/^Files=[0-9]+, Tests=[0-9]+/ {
		s = $0; sub(/.*Tests=/, "", s); sub(/[^0-9].*/, "", s); total = s + 0; seen = 1
	}
	/^[^ ].* \(Wstat: [0-9]+.*Tests: [0-9]+ Failed: [0-9]+\)/ {
		s = $0; sub(/.*Failed: /, "", s); sub(/[^0-9].*/, "", s)
		w = $0; sub(/.*Wstat: /, "", w); sub(/[^0-9].*/, "", w)
		if (s + 0 > 0) f += s; else { f += 1; extra += 1 }
	}
	/^Result: FAIL/ { fail = 1 }
	END {
		if (fail && f == 0) { f = 1; extra = 1 }
		p = total - (f - extra); if (p < 0) p = 0
		if (!seen && !fail) p = 0
		printf "%d %d\n", p, f
	}' "$1"
}

# "core: N passed, N failed" (the last such line).
parse_core() {
	local line
	line=$(grep -Eo 'core: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "- -"
	else
		echo "$line" | awk '{print $2, $4}'
	fi
}

# Value of a make variable as the Makefile defines it (empty if undefined).
make_var() {
	printf 'print-%%:\n\t@echo $($*)\n' >"$LOGDIR/print.mk"
	make -s --no-print-directory -f Makefile -f "$LOGDIR/print.mk" \
		PG_CONFIG="$PG_CONFIG" "print-$1" 2>/dev/null
}

# ---------------------------------------------------------------------------
# 1. Dependencies
# ---------------------------------------------------------------------------
banner "dependencies"
t=$SECONDS
if ! bash "$REPO/test/install_deps.sh"; then
	record deps 0 1 $((SECONDS - t)) "test/install_deps.sh failed"
	finish
fi
PG_CONFIG=$(cluster_pg_config) || { record deps 0 1 0 "no pg_config"; finish; }
note "using $PG_CONFIG ($("$PG_CONFIG" --version))"

# ---------------------------------------------------------------------------
# 2. Build and install
# ---------------------------------------------------------------------------
banner "build: make clean && make && make install"
t=$SECONDS
if ! make PG_CONFIG="$PG_CONFIG" clean >"$LOGDIR/clean.log" 2>&1; then
	cat "$LOGDIR/clean.log"
	record build 0 1 $((SECONDS - t)) "make clean failed"
	finish
fi
if ! make -j"$NPROC" PG_CONFIG="$PG_CONFIG" 2>&1; then
	record build 0 1 $((SECONDS - t)) "make failed"
	finish
fi
if ! make PG_CONFIG="$PG_CONFIG" install 2>&1; then
	record build 0 1 $((SECONDS - t)) "make install failed"
	finish
fi
note "build + install took $((SECONDS - t)) s"

# ---------------------------------------------------------------------------
# 3. Core unit tests (plain C, no server)
# ---------------------------------------------------------------------------
banner "core: make -C test/core check"
t=$SECONDS
if [ -f test/core/Makefile ]; then
	timeout "$TIMEOUT_CORE" make -C test/core check 2>&1 | tee "$LOGDIR/core.log"
	rc=${PIPESTATUS[0]}
	read -r p f < <(parse_core "$LOGDIR/core.log")
	if [ "$rc" -eq 124 ]; then
		record core "${p/-/0}" $(( ${f/-/0} + 1 )) $((SECONDS - t)) "TIMED OUT after $TIMEOUT_CORE s"
	elif [ "$p" = - ]; then
		note "no 'core: N passed, N failed' line in the output (exit $rc)"
		record core 0 1 $((SECONDS - t)) "no summary line, exit $rc"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		record core "$p" 1 $((SECONDS - t)) "exit $rc with 0 failures reported"
	else
		record core "$p" "$f" $((SECONDS - t))
	fi
else
	echo
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	echo "!!! WARNING: test/core/Makefile does not exist: NO core unit tests run !!!"
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	record core 0 0 0 "WARNING: test/core/Makefile missing"
fi

# ---------------------------------------------------------------------------
# 4. Throwaway cluster + make installcheck (REGRESS, ISOLATION, TAP_TESTS)
# ---------------------------------------------------------------------------
banner "cluster: start on port $TEST_PORT"
if ! cluster_start "$TEST_PORT"; then
	record cluster 0 1 0 "cluster_start failed"
	finish
fi

REGRESS_LIST=$(make_var REGRESS)
ISOLATION_LIST=$(make_var ISOLATION)
TAP_LIST=$(make_var TAP_TESTS)

show_diffs() {
	if [ -s "$1" ]; then
		echo "---- $1 ($(wc -l <"$1") lines) ----"
		head -n 1500 "$1"
		[ "$(wc -l <"$1")" -le 1500 ] || echo "[... cut: see $REPO/$1]"
		echo "---- end of $1 ----"
	fi
}

# run_pg_regress_suite NAME DIFFS-FILE TIMEOUT MAKE-ARGS...
run_pg_regress_suite() {
	local name=$1 diffs=$2 limit=$3 rc p f t=$SECONDS
	shift 3
	timeout "$limit" make PG_CONFIG="$PG_CONFIG" installcheck "$@" 2>&1 | tee "$LOGDIR/$name.log"
	rc=${PIPESTATUS[0]}
	read -r p f < <(parse_regress "$LOGDIR/$name.log")
	if [ "$rc" -eq 124 ]; then
		echo
		note "$name: TIMED OUT after $limit s; the test running then is the one after the last line above"
		record "$name" "$p" $((f + 1)) $((SECONDS - t)) "TIMED OUT after $limit s"
		return
	fi
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		record "$name" 0 1 $((SECONDS - t)) "no test ran: is it defined before 'include \$(PGXS)'?"
		return
	fi
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		show_diffs "$diffs"
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			record "$name" "$p" 1 $((SECONDS - t)) "make installcheck exit $rc, no failing test line"
			return
		fi
	fi
	record "$name" "$p" "$f" $((SECONDS - t))
}

# pg_regress aborts the whole run when a test has no expected file, so such
# tests are reported as failed up front and left out of the run.
# runnable SUITE-NAME INPUT-DIR INPUT-EXT LIST... -> prints the runnable tests
runnable() {
	local suite=$1 indir=$2 ext=$3 t out=() missing=()
	shift 3
	for t in "$@"; do
		if [ ! -f "expected/$t.out" ] && [ ! -f "output/$t.source" ]; then
			missing+=("expected/$t.out")
		elif [ ! -f "$indir/$t.$ext" ] && [ ! -f "input/$t.source" ]; then
			missing+=("$indir/$t.$ext")
		else
			out+=("$t")
		fi
	done
	if [ ${#missing[@]} -gt 0 ]; then
		note "$suite: MISSING ${missing[*]}: counted as failed, not run" >&2
		record "$suite-missing" 0 ${#missing[@]} 0 "missing: ${missing[*]}"
	fi
	echo "${out[*]}"
}

banner "regress: ${REGRESS_LIST:-(none)}"
if [ -n "$REGRESS_LIST" ]; then
	# shellcheck disable=SC2086
	runnable regress sql sql $REGRESS_LIST >"$LOGDIR/run.list"
	RUN_LIST=$(cat "$LOGDIR/run.list")
	if [ -n "$RUN_LIST" ]; then
		run_pg_regress_suite regress regression.diffs "$TIMEOUT_REGRESS" REGRESS="$RUN_LIST" ISOLATION= TAP_TESTS=
	fi
else
	note "Makefile defines no REGRESS tests"
	record regress 0 0 0 "none defined"
fi

if [ -n "$ISOLATION_LIST" ]; then
	banner "isolation: $ISOLATION_LIST"
	# shellcheck disable=SC2086
	runnable isolation specs spec $ISOLATION_LIST >"$LOGDIR/run.list"
	RUN_LIST=$(cat "$LOGDIR/run.list")
	if [ -n "$RUN_LIST" ]; then
		run_pg_regress_suite isolation output_iso/regression.diffs "$TIMEOUT_ISOLATION" ISOLATION="$RUN_LIST" REGRESS= TAP_TESTS=
	fi
fi

# pg_dump / pg_restore round trip of the registry, on the same cluster
banner "dump_restore: test/dump_restore.sh"
t=$SECONDS
if [ -f test/dump_restore.sh ]; then
	out=$(timeout 600 bash test/dump_restore.sh 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^dump_restore: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -n "$line" ]; then
		p=$(printf '%s' "$line" | sed -E 's/^dump_restore: ([0-9]+) passed.*/\1/')
		f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
		record dump_restore "$p" "$f" $((SECONDS - t))
	else
		record dump_restore 0 1 $((SECONDS - t)) "no summary line, exit $rc"
	fi
fi

if [ -n "$TAP_LIST" ]; then
	banner "tap: prove (as postgres, in a copy of the tree)"
	t=$SECONDS
	TAPDIR=$(mktemp -d /tmp/flinkml-tap.XXXXXX)
	cluster_at_exit 'rm -rf "$TAPDIR"'
	tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$TAPDIR" -xf -
	chown -R "$CLUSTER_USER": "$TAPDIR"
	(
		# The TAP framework starts its own nodes; ours is not involved.
		unset PGHOST PGPORT PGUSER PGDATABASE
		cd "$TAPDIR" &&
			timeout "$TIMEOUT_TAP" runuser -u "$CLUSTER_USER" -- \
				make PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ISOLATION= </dev/null
	) 2>&1 | tee "$LOGDIR/tap.log"
	rc=${PIPESTATUS[0]}
	read -r p f < <(parse_prove "$LOGDIR/tap.log")
	if [ "$rc" -eq 124 ]; then
		note "tap: TIMED OUT after $TIMEOUT_TAP s"
		record tap "$p" $((f + 1)) $((SECONDS - t)) "TIMED OUT after $TIMEOUT_TAP s"
	elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		record tap 0 1 $((SECONDS - t)) "no test ran: is TAP_TESTS defined before 'include \$(PGXS)'?"
	elif [ "$rc" -ne 0 ] || [ "$f" -gt 0 ]; then
		if [ -d "$TAPDIR/tmp_check" ]; then
			rm -rf "$REPO/tmp_check"
			cp -r "$TAPDIR/tmp_check" "$REPO/tmp_check"
			# the logs of the test files prove lists as failed
			for lf in $(sed -n 's|^t/\([^ ]*\)\.pl  *(Wstat.*|\1|p' "$LOGDIR/tap.log"); do
				lf=$REPO/tmp_check/log/regress_log_$lf
				[ -f "$lf" ] || continue
				echo "---- tail of $lf ----"
				tail -n 40 "$lf"
			done
			note "TAP logs copied to $REPO/tmp_check/"
		fi
		if [ "$f" -eq 0 ]; then
			record tap "$p" 1 $((SECONDS - t)) "make installcheck exit $rc, no failing test parsed"
		else
			record tap "$p" "$f" $((SECONDS - t))
		fi
	else
		record tap "$p" "$f" $((SECONDS - t))
	fi
fi

# Citus: a coordinator and two workers of their own (test/citus/)
banner "citus: test/citus/run_citus_tests.sh"
t=$SECONDS
if [ -f test/citus/run_citus_tests.sh ]; then
	(
		unset PGHOST PGPORT PGUSER PGDATABASE
		PG_CONFIG="$PG_CONFIG" timeout "$TIMEOUT_CITUS" bash test/citus/run_citus_tests.sh </dev/null
	) 2>&1 | tee "$LOGDIR/citus.log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^citus: [0-9]+ passed, [0-9]+ failed$' "$LOGDIR/citus.log" | tail -n 1)
	if [ "$rc" -eq 3 ]; then
		# Citus is neither installed nor buildable here: said, not hidden
		record citus 0 0 $((SECONDS - t)) "$(grep -E '^citus: skipped' "$LOGDIR/citus.log" | tail -n 1)"
	elif [ "$rc" -eq 124 ]; then
		record citus 0 1 $((SECONDS - t)) "TIMED OUT after $TIMEOUT_CITUS s"
	elif [ -n "$line" ]; then
		p=$(echo "$line" | awk '{print $2}')
		f=$(echo "$line" | awk '{print $4}')
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
		record citus "$p" "$f" $((SECONDS - t))
	else
		record citus 0 1 $((SECONDS - t)) "no summary line, exit $rc"
	fi
fi

banner "cluster: stop"
# Crashes and assertion failures show only in the server log.
if [ -n "$(cluster_log)" ] &&
	grep -Eq 'PANIC|TRAP:|terminated by signal (4|6|7|8|11):' "$(cluster_log)"; then
	echo "---- server log: crashes ----"
	grep -E -B2 -A8 'PANIC|TRAP:|terminated by signal (4|6|7|8|11):' "$(cluster_log)" | head -n 200
	record server 0 1 0 "server crash or PANIC, see the log excerpt above"
fi
cluster_stop

finish
