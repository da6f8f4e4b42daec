//! What travels between stages: encoded OCSF events in batches, each batch
//! carrying the acknowledgement handle of the input it came from.
//!
//! A source cuts its input into batches (one read chunk of one file), maps
//! and serialises every event of the chunk once, and hands the same
//! [`Batch`] (cheap clone: reference-counted buffers) to every sink the
//! source is routed to. Each clone holds an [`AckHandle`]; when the last
//! clone is dropped the ledger learns the batch's fate. A sink drops its
//! clone only after the far end accepted the events (the file sink: written
//! and flushed), or marks it failed first. See [`crate::acks`].

use bytes::Bytes;

use crate::acks::AckHandle;

/// One OCSF event, serialised to JSON (no trailing newline).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The JSON document.
    pub json: Bytes,
    /// Its `class_uid` (sinks route and name by it).
    pub class_uid: u32,
    /// Its `time`, epoch milliseconds (HEC envelopes need it).
    pub time_ms: i64,
}

/// The events cut from one chunk of input, with their acknowledgement.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Id of the source that produced it (config key).
    pub source: std::sync::Arc<str>,
    /// The events, in input order.
    pub events: Vec<Encoded>,
    /// Dropped by the last holder: tells the ledger the batch was handled.
    pub ack: AckHandle,
}

impl Batch {
    /// Total JSON bytes.
    pub fn byte_len(&self) -> usize {
        self.events.iter().map(|e| e.json.len()).sum()
    }
}
