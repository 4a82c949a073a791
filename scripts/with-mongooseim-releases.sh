#!/usr/bin/env bash
# with-mongooseim-releases.sh COMMAND...: runs COMMAND with MONGOOSEIM_RELEASE and
# MONGOOSEIM_RELEASE_2 naming two real MongooseIM releases, for the suites that prove the
# service on a real node. Releases the caller names are used as they are. Otherwise, when a
# MongooseIM build with bin/make-release is found (MONGOOSEIM_BUILD, or a shared
# mongooseim-6.3.3 beside this checkout), two fresh releases are made under
# _build/mongooseim/. Without either, COMMAND runs as is and those suites skip, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MONGOOSEIM_RELEASE:-}" ]; then
  build=${MONGOOSEIM_BUILD:-}
  if [ -z "$build" ]; then
    for candidate in ../shared/mongooseim-6.3.3 /work/shared/mongooseim-6.3.3; do
      if [ -x "$candidate/bin/make-release" ]; then build=$candidate; break; fi
    done
  fi
  if [ -n "$build" ]; then
    build=$(cd "$build" && pwd)
    out=$PWD/_build/mongooseim
    # Nodes left running by an interrupted run would hold the ports and names.
    for dir in "$out"/mim1 "$out"/mim2; do
      [ -x "$dir/bin/mongooseim" ] && "$dir/bin/mongooseim" stop >/dev/null 2>&1 || true
    done
    rm -rf "$out"
    mkdir -p "$out"
    "$build/bin/make-release" "$out/mim1" --sname msm_mim1 --c2s-port 15222 --http-port 15280 >/dev/null
    "$build/bin/make-release" "$out/mim2" --sname msm_mim2 --c2s-port 15322 --http-port 15380 >/dev/null
    export MONGOOSEIM_RELEASE=$out/mim1 MONGOOSEIM_RELEASE_2=$out/mim2
    export MONGOOSEIM_TRAFFIC=${MONGOOSEIM_TRAFFIC:-$build/bin/xmpp-traffic} MONGOOSEIM_BUILD=$build
    echo "MongooseIM releases for the real-node suites: $MONGOOSEIM_RELEASE, $MONGOOSEIM_RELEASE_2" >&2
  else
    echo "no MongooseIM release: the real-node suites will skip (set MONGOOSEIM_RELEASE, or MONGOOSEIM_BUILD to a folder with bin/make-release)" >&2
  fi
fi
exec "$@"
