#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: `scripts/with-postgres.sh CMD...`.
# It installs Debian's `postgresql` package when initdb is missing, makes a cluster under
# _build/postgres, starts it on 127.0.0.1 and a free port, creates a database, exports
# MONGOOSE_USAGE_TEST_POSTGRES=postgres://... for CMD, and afterwards stops and removes the
# cluster whatever CMD did. Its exit status is CMD's.
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user
# and runs as that user; otherwise it runs as the calling user.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: scripts/with-postgres.sh CMD [ARG]..." >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)

find_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_bin=$(find_pg_bin)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  "$(dirname "$0")/install-packages.sh" postgresql
  pg_bin=$(find_pg_bin)
  [ -x "$pg_bin/initdb" ] || { echo "initdb not found after installing postgresql" >&2; exit 1; }
fi

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

base="$root/_build/postgres"
mkdir -p "$base"
cluster=$(mktemp -d "$base/cluster.XXXXXX")
chown "$owner" "$cluster"
chmod 700 "$cluster"

cleanup() {
  as_owner "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_owner "$pg_bin/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 --no-sync >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; exit 1; }

# A port is free when nothing answers on it; pg_ctl fails on a port taken meanwhile, and
# the next one is tried.
started=""
for _ in $(seq 1 20); do
  port=$(( 20000 + RANDOM % 40000 ))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    continue
  fi
  if as_owner "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c fsync=on" start >/dev/null 2>&1; then
    started=yes
    break
  fi
done
if [ -z "$started" ]; then
  echo "could not start PostgreSQL; its log:" >&2
  cat "$cluster/server.log" >&2 || true
  exit 1
fi

as_owner "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres mongoose_usage_test
export MONGOOSE_USAGE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/mongoose_usage_test"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port; MONGOOSE_USAGE_TEST_POSTGRES=$MONGOOSE_USAGE_TEST_POSTGRES" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
