//! Pure log parsers and OCSF 1.8.0 mappings for idlink.
//!
//! Every log source idlink reads has one module under [`sources`]: a parser
//! (nom for text, serde for JSON) and the mapping of what it parsed to OCSF
//! [`ocsf::Event`]s. Nothing here touches the file system, the network or the
//! clock: the caller hands in records (a line, or one JSON object) and
//! [`Options`] (the reference time used to complete year-less timestamps,
//! the local domains, ...), and gets events back through a callback. That
//! keeps every mapping golden-testable and fuzzable.
//!
//! A record that matches nothing still becomes an event (Base Event with
//! `raw_data` and the reason under `unmapped`), and the [`Outcome`] says it
//! was not recognised so the caller can count it. Nothing is dropped.
//!
//! The crate is safe Rust with one exception, allowed by name: the SSE2
//! loads that build the NDJSON splitter's 64-byte character masks
//! (`framing::ndjson`, with its safety argument and a portable twin that
//! the tests compare it with on every byte value and position).
//!
//! ```
//! use idlink_parsers::{decoder, Options, Source};
//! let mut dec = decoder(Source::Postfix, &Options::default());
//! let mut classes = Vec::new();
//! let line = b"Nov 22 12:31:52 mx postfix/smtpd[19576]: warning: unknown[192.0.2.7]: \
//! SASL LOGIN authentication failed: authentication failure, sasl_username=bob@example.test";
//! let outcome = dec.decode(line, 0, &mut |ev| classes.push(ev.class_uid));
//! dec.flush(&mut |ev| classes.push(ev.class_uid));
//! assert!(outcome.is_parsed());
//! assert_eq!(classes, vec![Some(3002)]);
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod common;
pub mod framing;
pub mod ocsf;
pub mod sources;

pub use sources::{decoder, Source};

/// What the caller tells a decoder about the world it cannot see.
#[derive(Debug, Clone)]
pub struct Options {
    /// "Now" in epoch milliseconds, from the caller's clock. Used to give a
    /// year to timestamps that have none (RFC 3164): the year that puts the
    /// timestamp closest to, and not more than a day after, this instant.
    /// Also the `time` of events whose record carries no timestamp at all.
    pub reference_time_ms: i64,
    /// A fixed year for year-less timestamps (backfill of old logs); wins
    /// over the inference from `reference_time_ms`.
    pub year: Option<i32>,
    /// Offset from UTC, in seconds, of timestamps written without a zone.
    pub utc_offset_secs: i32,
    /// Domains that belong to the organisation (lower case). Decides
    /// `direction_id` of mail: inbound, outbound, internal.
    pub local_domains: Vec<String>,
    /// Put the original record in `raw_data`.
    pub raw_data: bool,
    /// Most messages a stateful decoder (Postfix queue-ID assembly) keeps open
    /// at once; past it the oldest is emitted with what it has.
    pub max_open: usize,
    /// Event-time span after which an open message is emitted with what it has.
    pub open_ttl_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reference_time_ms: 0,
            year: None,
            utc_offset_secs: 0,
            local_domains: Vec::new(),
            raw_data: false,
            max_open: 50_000,
            open_ttl_ms: 10 * 60 * 1000,
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Recognised; it produced zero or more events now, or its content is
    /// held by a stateful decoder and will come out later.
    Parsed,
    /// Not recognised: a fallback event with `raw_data` was emitted.
    Unparsed(ParseError),
}

impl Outcome {
    /// True for [`Outcome::Parsed`].
    pub fn is_parsed(&self) -> bool {
        matches!(self, Outcome::Parsed)
    }
}

/// Why a record was not recognised. Small and `Copy`: it is data, not a
/// failure of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset in the record where parsing stopped.
    pub at: usize,
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The record is not valid UTF-8 text.
    NotUtf8,
    /// No syslog or vendor header could be read.
    Header,
    /// The timestamp could not be read.
    Timestamp,
    /// The header was read but the message is of no known kind.
    UnknownMessage,
    /// The record is not valid JSON, or not an object.
    Json,
    /// The JSON object is not an event of this source.
    NotThisSource,
    /// The record is empty.
    Empty,
}

impl ErrorKind {
    /// A short, stable, lower-case reason (used in metrics labels).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::NotUtf8 => "not_utf8",
            ErrorKind::Header => "header",
            ErrorKind::Timestamp => "timestamp",
            ErrorKind::UnknownMessage => "unknown_message",
            ErrorKind::Json => "json",
            ErrorKind::NotThisSource => "not_this_source",
            ErrorKind::Empty => "empty",
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.at)
    }
}

impl std::error::Error for ParseError {}

/// Turns records of one source into OCSF events.
///
/// `pos` is an opaque position the caller gives each record, increasing in
/// the order records are fed. A stateful decoder that holds part of a record
/// (Postfix assembles one message from many lines) reports the smallest `pos`
/// it still holds through [`Decoder::oldest_held`], so the caller does not
/// checkpoint past data that has not been emitted yet.
pub trait Decoder: Send {
    /// Decode one record (a line without its newline, or one JSON object),
    /// passing each event it completes to `out`. The event is lent, not
    /// given: it stays where the decoder built it, and `out` can add to it
    /// (enrichment) and write it without moving its ~2.4 KB again.
    fn decode(
        &mut self,
        record: &[u8],
        pos: u64,
        out: &mut dyn FnMut(&mut ocsf::Event<'_>),
    ) -> Outcome;

    /// Emit everything held (end of input, shutdown, or the input went idle).
    fn flush(&mut self, out: &mut dyn FnMut(&mut ocsf::Event<'_>)) {
        let _ = out;
    }

    /// The smallest `pos` of a record whose content is held, if any.
    fn oldest_held(&self) -> Option<u64> {
        None
    }
}
