# test/cluster.sh — start and stop a throwaway PostgreSQL 15 cluster.
#
# Source this file (bash), then:
#
#     cluster_start [PORT]      # default 54321; exports PGHOST PGPORT PGUSER
#     psql -d postgres ...      # connect as postgres over the unix socket
#     cluster_stop              # pg_ctl -m fast, then remove the directory
#
# The cluster lives in a fresh `mktemp -d` directory owned by the `postgres`
# user (PostgreSQL refuses to run as root): data in $CLUSTER_DIR/data, the
# unix socket in $CLUSTER_DIR, the server log in $CLUSTER_DIR/server.log.
# No TCP (listen_addresses = ''), so the port only names the socket file and
# never collides with another server, e.g. a Debian "15/main" on 5432.
#
# An EXIT trap stops the cluster and removes its directory however the
# caller ends (normal exit, error, Ctrl-C, SIGTERM).  Callers that need their
# own exit-time cleanup register it with `cluster_at_exit 'command'` instead
# of setting their own EXIT trap (which would replace this one).
#
# Environment knobs (optional):
#   CLUSTER_EXTRA_CONF   extra postgresql.conf lines appended after ours
#   CLUSTER_USER         OS user that runs the server (default postgres)
#   PG_CONFIG            pg_config to use (default: pg_config in PATH, else
#                        /usr/lib/postgresql/15/bin/pg_config)
#
# Only one cluster per shell at a time.

CLUSTER_DIR=${CLUSTER_DIR:-}
CLUSTER_USER=${CLUSTER_USER:-postgres}
_CLUSTER_EXIT_CMDS=()
_CLUSTER_TRAP_SET=

# Path of pg_config (PGXS and the binaries come from the same installation).
cluster_pg_config() {
	if [ -n "${PG_CONFIG:-}" ] && command -v "$PG_CONFIG" >/dev/null 2>&1; then
		command -v "$PG_CONFIG"
	elif [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		echo /usr/lib/postgresql/15/bin/pg_config
	elif command -v pg_config >/dev/null 2>&1; then
		command -v pg_config
	else
		echo "cluster.sh: pg_config not found (install postgresql-server-dev-15)" >&2
		return 1
	fi
}

cluster_bindir() {
	local pgc
	pgc=$(cluster_pg_config) || return 1
	"$pgc" --bindir
}

# Run a command as the cluster user (PostgreSQL's server tools refuse root).
_cluster_as_user() {
	if [ "$(id -u)" = 0 ]; then
		if command -v runuser >/dev/null 2>&1; then
			runuser -u "$CLUSTER_USER" -- "$@"
		else
			su -s /bin/sh "$CLUSTER_USER" -c "$(printf '%q ' "$@")"
		fi
	else
		"$@"
	fi
}

# Register a command to run at exit (before the cluster is stopped).
cluster_at_exit() {
	_CLUSTER_EXIT_CMDS+=("$*")
	_cluster_install_trap
}

_cluster_on_exit() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#_CLUSTER_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${_CLUSTER_EXIT_CMDS[$i]}" || true
	done
	cluster_stop || true
	exit "$rc"
}

_cluster_install_trap() {
	[ -n "$_CLUSTER_TRAP_SET" ] && return 0
	trap _cluster_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	_CLUSTER_TRAP_SET=1
}

# cluster_start [PORT]: initdb a fresh cluster and start it; waits until it
# accepts connections.  Returns non-zero (printing the server log) on failure.
cluster_start() {
	local port=${1:-54321} bindir dir data
	if [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ]; then
		echo "cluster.sh: a cluster is already running in $CLUSTER_DIR" >&2
		return 1
	fi
	bindir=$(cluster_bindir) || return 1
	if [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
		echo "cluster.sh: $bindir/initdb or pg_ctl missing (install postgresql-15)" >&2
		return 1
	fi
	if ! id -u "$CLUSTER_USER" >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ]; then
			echo "cluster.sh: creating system user $CLUSTER_USER" >&2
			useradd --system --user-group --home-dir /var/lib/postgresql \
				--shell /bin/bash "$CLUSTER_USER" || return 1
		else
			echo "cluster.sh: user $CLUSTER_USER does not exist" >&2
			return 1
		fi
	fi

	_cluster_install_trap
	# A short path: unix socket paths are limited to ~107 bytes.
	dir=$(mktemp -d /tmp/flinkml-pg.XXXXXX) || return 1
	CLUSTER_DIR=$dir
	data=$dir/data
	if [ "$(id -u)" = 0 ]; then
		chown "$CLUSTER_USER": "$dir" || return 1
	fi
	chmod 700 "$dir"

	if ! _cluster_as_user "$bindir/initdb" -D "$data" -U postgres \
		--auth=trust --encoding=UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1; then
		echo "cluster.sh: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		cluster_stop
		return 1
	fi

	cat >>"$data/postgresql.conf" <<EOF

# ---- throwaway test cluster (test/cluster.sh) ----
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 256MB
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 16
max_parallel_workers = 8
max_parallel_workers_per_gather = 2
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
EOF
	if [ -n "${CLUSTER_EXTRA_CONF:-}" ]; then
		printf '%s\n' "$CLUSTER_EXTRA_CONF" >>"$data/postgresql.conf"
	fi

	if ! _cluster_as_user "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" \
		-w -t 120 start >"$dir/pg_ctl.log" 2>&1; then
		echo "cluster.sh: pg_ctl start failed:" >&2
		cat "$dir/pg_ctl.log" >&2
		tail -n 50 "$dir/server.log" >&2 2>/dev/null
		cluster_stop
		return 1
	fi

	export PGHOST=$dir PGPORT=$port PGUSER=postgres
	unset PGDATABASE PGPASSWORD PGSERVICE PGHOSTADDR PGOPTIONS
	echo "cluster.sh: $("$bindir/postgres" -V) running in $dir (port $port, socket only)"
}

# cluster_stop: stop the cluster (fast shutdown) and remove its directory.
# Safe to call when nothing is running, and more than once.
cluster_stop() {
	local bindir dir=$CLUSTER_DIR
	[ -n "$dir" ] || return 0
	CLUSTER_DIR=
	if [ -f "$dir/data/postmaster.pid" ]; then
		bindir=$(cluster_bindir)
		if ! _cluster_as_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 \
			stop >/dev/null 2>&1; then
			echo "cluster.sh: pg_ctl stop failed; killing the postmaster" >&2
			local pid
			pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
			[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
			sleep 1
		fi
	fi
	rm -rf "$dir"
	if [ "${PGHOST:-}" = "$dir" ]; then
		unset PGHOST PGPORT
	fi
	return 0
}

# cluster_log: path of the running cluster's server log.
cluster_log() {
	[ -n "$CLUSTER_DIR" ] && echo "$CLUSTER_DIR/server.log"
}
