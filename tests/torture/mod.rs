//! Torture harness for the delivery guarantee: the real `idlink` binary
//! tails two files (Postfix lines, Okta NDJSON) that a writer keeps
//! appending to and rotating in every way logrotate does, while the agent is
//! `kill -9`ed at random moments and the HTTP receiver goes down or answers
//! 429/503. Every written record carries a sequence token that survives into
//! the OCSF event, so the end compares what was written with what arrived.
//!
//! Used by `tests/torture.rs` (CI), `tests/backpressure.rs` (memory bound)
//! and `tests/torture_soak.rs` (long runs, on request only). The sink's TOML
//! is a parameter ([`SinkToml`]), so a scenario with another buffer is a
//! few lines.
#![allow(dead_code)]

pub mod agent;
pub mod receiver;
pub mod rng;
pub mod scenario;
pub mod writer;

pub use scenario::{run, Plan, SinkToml};
