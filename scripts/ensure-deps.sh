#!/usr/bin/env bash
# Installs what building and testing need when it is missing, so a fresh Debian machine
# can run `make demo` and `make test` as they are: Erlang/OTP with common_test, eunit
# and dialyzer, PropEr, rebar3 (all from Debian's packages; hex.pm is never used), and a
# C compiler for the TLS crate. Rust itself must already be installed (rustup).
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust 1.91 or newer (https://rustup.rs) and try again" >&2
  exit 1
fi

have_otp_apps() {
  erl -noshell -eval 'halt(case lists:all(fun(A) -> is_list(code:lib_dir(A)) end, [common_test, eunit, dialyzer, tools]) of true -> 0; false -> 1 end).' >/dev/null 2>&1
}

packages=()
if ! command -v erl >/dev/null 2>&1 || ! command -v rebar3 >/dev/null 2>&1 || ! have_otp_apps; then
  packages+=(erlang-nox erlang-dev rebar3 erlang-common-test erlang-eunit erlang-dialyzer erlang-tools)
fi
# PropEr and its header, for the privacy property of the MongooseIM suite.
ls /usr/lib/erlang/lib/proper-*/include/proper.hrl >/dev/null 2>&1 || packages+=(erlang-proper erlang-proper-dev)
command -v cc >/dev/null 2>&1 || packages+=(gcc)
command -v make >/dev/null 2>&1 || packages+=(make)
[ -d /etc/ssl/certs ] || packages+=(ca-certificates)

"$(dirname "$0")/install-packages.sh" ${packages[@]+"${packages[@]}"}
