# One task file: `make demo` runs the service against the local collector, `make test`
# runs every check CI runs. Both install what is missing first.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
export REBAR_OFFLINE := 1
export REBAR_COLOR := none

.PHONY: all deps build demo test test-rust test-erlang lint fmt bench clean

all: build

deps:
	@scripts/ensure-deps.sh

build: deps
	rebar3 compile
	cargo build --release --locked -p mongoose_usage_server

demo: build
	escript scripts/demo.escript

test: deps lint test-rust test-erlang

# The usage server's tests run on SQLite, and again on a throwaway PostgreSQL.
test-rust:
	scripts/with-postgres.sh cargo test --release --locked --workspace

# The real-node suites run against two fresh MongooseIM releases when a MongooseIM build
# is at hand, or the releases named by MONGOOSEIM_RELEASE(_2); else they skip, saying why.
test-erlang: build
	rebar3 eunit
	scripts/with-mongooseim-releases.sh scripts/with-postgres.sh rebar3 ct

lint: deps
	cargo fmt --all -- --check
	cargo clippy --release --locked --workspace --all-targets -- -D warnings
	rebar3 xref
	rebar3 dialyzer

fmt:
	cargo fmt --all

# Benchmarks print numbers; they are not tests. Writes BENCHMARKS.md; fails when a ratio
# to MongooseIM's own service is missed. The usage server is measured on SQLite and on a
# throwaway PostgreSQL.
bench: build
	set -o pipefail; { cargo bench --locked -q -p mongoose_system_metrics_core --bench cycle \
	  && scripts/with-postgres.sh cargo bench --locked -q -p mongoose_usage_server --bench ingest; } \
	  | grep '^|' | escript bench/bench.escript

clean:
	cargo clean
	rm -rf _build erlang/priv/*.so
