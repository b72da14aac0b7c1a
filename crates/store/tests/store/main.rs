//! Integration tests of the store's public API (one test binary, split by topic).

// Helpers outside #[test] fns panic on failure on purpose, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
mod concurrency;
mod copy;
mod diskfull;
mod migration;
mod pg;
mod query;
mod retention;
mod rollup;
mod size;
mod tls;
mod write;
