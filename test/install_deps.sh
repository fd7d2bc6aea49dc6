#!/bin/bash
# test/install_deps.sh — install the Debian 12 packages needed to build and
# test flinkml.  Only missing packages are installed (one `apt-get update`
# first); when everything is present it only runs dpkg-query and returns.
#
# Run as root (or via sudo).  Safe to run again.
#
# Note: installing postgresql-15 lets postgresql-common create (and maybe
# start) a cluster "15/main" on port 5432.  Nothing here uses it: the tests
# and the demo start their own throwaway clusters (test/cluster.sh) on a unix
# socket only.
set -u -o pipefail

PACKAGES=(
	postgresql-15              # server binaries: initdb, pg_ctl, postgres
	postgresql-client-15       # psql, pg_regress, pg_isolation_regress, TAP modules
	postgresql-server-dev-15   # PGXS, server headers (pulls clang/llvm for .bc)
	liblapack-dev libblas-dev  # reference LAPACK/BLAS (single-threaded)
	r-mathlib                  # standalone Rmath: distribution functions (-lRmath)
	gcc make libc6-dev         # the C toolchain
	perl libipc-run-perl       # prove + IPC::Run for TAP tests
)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install_deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo -E"
	else
		echo "install_deps: need root to install ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# apt may be locked for a moment by another apt process; retry a few times.
try() {
	local i
	for i in 1 2 3 4 5; do
		"$@" </dev/null && return 0
		echo "install_deps: '$*' failed (attempt $i), retrying in 10 s" >&2
		sleep 10
	done
	return 1
}

try $SUDO apt-get update -q -o DPkg::Lock::Timeout=300 || { echo "install_deps: apt-get update failed" >&2; exit 1; }
try $SUDO apt-get install "${apt_opts[@]}" "${missing[@]}" ||
	{ echo "install_deps: apt-get install failed" >&2; exit 1; }

still=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
	echo "install_deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "install_deps: done"
