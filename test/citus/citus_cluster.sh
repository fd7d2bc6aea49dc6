# test/citus/citus_cluster.sh — a throwaway Citus cluster: a coordinator and
# two workers on loopback TCP ports, for the Citus suite and bench/.
#
# Source this file (bash), then:
#
#     citus_start BASEPORT [PRELOAD]   # coordinator BASEPORT, workers +1, +2;
#                                      # PRELOAD: shared_preload_libraries
#                                      # (default 'citus'; Citus must be first)
#     psql -h 127.0.0.1 -p BASEPORT -U postgres ...
#     citus_restart_node N [MODE]      # N = 0 coordinator, 1, 2 workers;
#                                      # MODE immediate|fast (default fast)
#     citus_stop                       # stop all three, remove the directory
#
# Every node: listen on 127.0.0.1 only, trust authentication for loopback
# (a throwaway cluster; nothing else can reach it), wal_level = logical.
# Needs Citus installed in the PostgreSQL that PG_CONFIG names
# (test/citus/build_citus.sh).  Runs the servers as CITUS_USER (postgres),
# since PostgreSQL refuses to run as root.

CITUS_DIR=
CITUS_BASEPORT=
CITUS_USER=${CITUS_USER:-postgres}
CITUS_PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

_citus_as_user() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$CITUS_USER" -- "$@"
	else
		"$@"
	fi
}

citus_bindir() { "$CITUS_PG_CONFIG" --bindir; }
citus_port() { echo $((CITUS_BASEPORT + $1)); }
citus_log() { echo "$CITUS_DIR/node$1.log"; }

# citus_psql N ARGS...: psql on node N as postgres, database postgres
citus_psql() {
	local n=$1
	shift
	"$(citus_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(citus_port "$n")" -U postgres -d postgres "$@"
}

citus_start() {
	local base=$1 preload=${2:-citus} bindir n port
	bindir=$(citus_bindir) || return 1
	CITUS_BASEPORT=$base
	CITUS_DIR=$(mktemp -d /tmp/flinkml-citus.XXXXXX) || return 1
	chmod 755 "$CITUS_DIR"
	chown "$CITUS_USER": "$CITUS_DIR"
	for n in 0 1 2; do
		port=$(citus_port "$n")
		_citus_as_user "$bindir/initdb" -D "$CITUS_DIR/node$n" -U postgres -A trust --no-sync \
			>"$CITUS_DIR/initdb$n.log" 2>&1 || { cat "$CITUS_DIR/initdb$n.log"; return 1; }
		cat >>"$CITUS_DIR/node$n/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CITUS_DIR'
shared_preload_libraries = '$preload'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_worker_processes = 32
max_connections = 200
fsync = off
synchronous_commit = on
CONF
		# PostgreSQL 15.20 lets non-superusers decode only with the plugins
		# listed here (a follower runs as its model's owner)
		# (grep -c reads everything: grep -q would stop the pipe, and pipefail fail it)
		if [ "$(_citus_as_user "$bindir/postgres" --describe-config 2>/dev/null | grep -c '^output_plugin_libraries')" -gt 0 ]; then
			echo "output_plugin_libraries = 'pgoutput, test_decoding, flinkml'" >>"$CITUS_DIR/node$n/postgresql.conf"
		fi
		printf 'host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n' \
			>>"$CITUS_DIR/node$n/pg_hba.conf"
		_citus_as_user "$bindir/pg_ctl" -D "$CITUS_DIR/node$n" -l "$CITUS_DIR/node$n.log" -w -t 60 start \
			>/dev/null || { tail -n 30 "$CITUS_DIR/node$n.log"; return 1; }
	done
	for n in 0 1 2; do
		citus_psql "$n" -c 'CREATE EXTENSION citus' || return 1
	done
	citus_psql 0 -c "SELECT citus_set_coordinator_host('127.0.0.1', $(citus_port 0))" >/dev/null &&
		citus_psql 0 -c "SELECT citus_add_node('127.0.0.1', $(citus_port 1))" >/dev/null &&
		citus_psql 0 -c "SELECT citus_add_node('127.0.0.1', $(citus_port 2))" >/dev/null
}

citus_restart_node() {
	local n=$1 mode=${2:-fast} bindir
	bindir=$(citus_bindir)
	_citus_as_user "$bindir/pg_ctl" -D "$CITUS_DIR/node$n" -m "$mode" -w stop >/dev/null 2>&1
	_citus_as_user "$bindir/pg_ctl" -D "$CITUS_DIR/node$n" -l "$CITUS_DIR/node$n.log" -w -t 60 start >/dev/null
}

citus_stop() {
	local n bindir
	[ -n "$CITUS_DIR" ] && [ -d "$CITUS_DIR" ] || return 0
	bindir=$(citus_bindir)
	for n in 0 1 2; do
		[ -f "$CITUS_DIR/node$n/postmaster.pid" ] &&
			_citus_as_user "$bindir/pg_ctl" -D "$CITUS_DIR/node$n" -m fast -w stop >/dev/null 2>&1
	done
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}
