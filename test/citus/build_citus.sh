#!/bin/bash
# test/citus/build_citus.sh — make Citus available to the PostgreSQL that
# flinkml is built against, for the Citus test suite.
#
#     bash test/citus/build_citus.sh      (as root; prints one status line)
#
# 1. If `citus.so` and `citus.control` are already installed in that
#    PostgreSQL, nothing is done.
# 2. Otherwise Citus is built once from the pinned source
#    ../shared/vendor/citus-13.2.2.tar.gz (beside the repository; see
#    SOURCES.md there), with the Debian packages its configure needs, and
#    installed into the PostgreSQL installation.  PostgreSQL 15.20 exports
#    have_createdb_privilege(), which Citus 13.2.2's compatibility header
#    also defines as a static function for PostgreSQL < 16: that copy is
#    removed before building (the one fix SOURCES.md describes).
# Exit status 0: Citus is installed.  3: it cannot be (no source, no root);
# the last line then says why, as `citus: skipped (...)`.  Other: build error.
set -u -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
REPO=$(pwd -P)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PKGLIB=$("$PG_CONFIG" --pkglibdir)
SHARE=$("$PG_CONFIG" --sharedir)
VERSION=13.2.2
TARBALL=${CITUS_TARBALL:-$REPO/../shared/vendor/citus-$VERSION.tar.gz}

if [ -f "$PKGLIB/citus.so" ] && [ -f "$SHARE/extension/citus.control" ]; then
	echo "citus: installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SHARE/extension/citus.control") in $PKGLIB)"
	exit 0
fi
if [ ! -f "$TARBALL" ]; then
	echo "citus: skipped (not installed in $PKGLIB and no source at $TARBALL)"
	exit 3
fi
if [ "$(id -u)" != 0 ] && [ ! -w "$PKGLIB" ]; then
	echo "citus: skipped (not installed, and installing into $PKGLIB needs root)"
	exit 3
fi

INCSERVER=$("$PG_CONFIG" --includedir-server)
if [ ! -f "$INCSERVER/postgres.h" ]; then
	echo "citus: skipped (no PostgreSQL server headers in $INCSERVER: install postgresql-server-dev-15 first)"
	exit 3
fi

DEPS=(libpq-dev liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev libssl-dev)
missing=()
for p in "${DEPS[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "citus: installing build dependencies ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q -o APT::Install-Recommends=false -o DPkg::Lock::Timeout=300 "${missing[@]}" </dev/null >/tmp/citus-apt.log 2>&1; then
		apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >>/tmp/citus-apt.log 2>&1
		apt-get install -y -q -o APT::Install-Recommends=false -o DPkg::Lock::Timeout=300 "${missing[@]}" </dev/null >>/tmp/citus-apt.log 2>&1 ||
			{ tail -n 20 /tmp/citus-apt.log; echo "citus: build dependencies could not be installed"; exit 1; }
	fi
fi

BUILD=$(mktemp -d /tmp/citus-build.XXXXXX) || exit 2
trap 'rm -rf "$BUILD"' EXIT
tar -C "$BUILD" -xzf "$TARBALL" || exit 1
SRC=$(find "$BUILD" -mindepth 1 -maxdepth 1 -type d | head -n 1)
COMPAT=$SRC/src/include/pg_version_compat.h
# Drop the static have_createdb_privilege() copy (PostgreSQL 15.20 exports it).
if grep -q 'have_createdb_privilege' "$COMPAT" &&
	grep -q 'have_createdb_privilege' "$INCSERVER/commands/dbcommands.h"; then
	perl -0pi -e 's/static inline bool\s*\nhave_createdb_privilege\(void\)\s*\{.*?\n\}\n//s' "$COMPAT"
fi
echo "citus: building $VERSION from $TARBALL (about 2-4 minutes)"
(
	cd "$SRC" &&
		./configure --without-libcurl PG_CONFIG="$PG_CONFIG" >"$BUILD/configure.log" 2>&1 &&
		make -j"$(nproc)" >"$BUILD/make.log" 2>&1 &&
		make install >"$BUILD/install.log" 2>&1
) || {
	for f in configure make install; do
		[ -f "$BUILD/$f.log" ] && { echo "---- $f.log (tail) ----"; tail -n 30 "$BUILD/$f.log"; }
	done
	echo "citus: build failed"
	exit 1
}
echo "citus: built and installed $VERSION into $PKGLIB"
