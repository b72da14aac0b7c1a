//! The cluster crate against real Redis: the shared server at 127.0.0.1:6379 (a fresh key prefix
//! per test) and private `redis-server` instances the tests stop, start and put behind TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus;
mod cache;
mod common;
mod dedup;
mod lease;
mod outage;
mod quota;
mod ratelimit;
mod tls;
