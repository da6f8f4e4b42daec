//! The file source: follow files through rotation ([`tailer`]), cut them into
//! lines ([`framer`]), parse and map each line ([`crate::transforms::parse`]),
//! and checkpoint ([`checkpoint`]) only what every sink acknowledged
//! ([`crate::acks`]).

pub mod checkpoint;
pub mod fingerprint;
pub mod framer;
mod runner;
pub mod tailer;

pub use runner::{run_file_source, SourceContext, SourceHandle};
