//! The binary, driven over HTTP as the reporting service and an operator use it: each
//! scenario on SQLite, then on PostgreSQL when `MONGOOSE_USAGE_TEST_POSTGRES` is set.

#[macro_use]
mod support;

mod access;
mod durability;
mod ingest;
mod lifecycle;
mod reads;
mod startup;
