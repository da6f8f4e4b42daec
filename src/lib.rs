//! idlink: an edge agent that tails mail-gateway and identity-provider logs,
//! maps them to OCSF 1.8.0, and forwards them to SIEMs without losing any.
//!
//! Crate map (the parsers themselves live in the `idlink-parsers` crate):
//!
//! | module | role |
//! |---|---|
//! | [`config`] | TOML files → checked [`config::Config`] |
//! | [`sources::file`] | tail files through rotation; checkpoint after delivery |
//! | [`transforms::parse`] | records → OCSF events → JSON, once |
//! | [`enrich`] | entity ids, risk tags, cross-source correlation |
//! | [`buffers`] | per-sink queue in memory or on disk; when full: block or drop |
//! | [`sinks`] | file, stdout, Splunk HEC, Elasticsearch, Sentinel, HTTP |
//! | [`acks`] | which input positions are delivered everywhere |
//! | [`event`] | what travels between stages |
//! | [`blocks`] | reused memory that events and records are cut from |
//! | [`topology`] | start, wire and stop the pieces in order |
//! | [`replay`] | send dead letters again once their cause is fixed |
//! | [`telemetry`] | metric names and the events that log and count |
//! | [`cli`] | the `idlink` commands |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod acks;
pub mod blocks;
pub mod buffers;
pub mod cli;
pub mod config;
pub mod enrich;
pub mod event;
pub mod replay;
pub mod sinks;
pub mod sources;
pub mod telemetry;
pub mod topology;
pub mod transforms;
