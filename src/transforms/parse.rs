//! Records → OCSF events → JSON, once.
//!
//! [`ParseStage`] wraps one parser [`Decoder`] and serialises each event it
//! produces straight into a shared buffer; every event is split off as its
//! own [`Bytes`] (no copy). Used by the file source and by `idlink parse`, so
//! both produce byte-identical output for the same input.
//!
//! With an [`Enricher`] (always, in the agent), each event gets its entity
//! enrichments, labels and risk tags between mapping and serialisation, so
//! it is still serialised once.

use std::collections::BTreeMap;

use std::borrow::Cow;

use idlink_parsers::ocsf::write::{JsonBuf, Out, WriteJson};
use idlink_parsers::ocsf::{severity, Event, Product, BASE_EVENT};
use idlink_parsers::{decoder, Decoder, Options, Outcome, Source};
use serde::Serialize;

use crate::blocks::Blocks;
use crate::enrich::Enricher;
use crate::event::Encoded;

/// Counts for `idlink parse --stats` and the agent's metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ParseStats {
    /// Records fed.
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records not recognised.
    pub unparsed: u64,
    /// Events per `class_uid`.
    pub by_class: BTreeMap<String, u64>,
}

/// One source's parser plus the serialiser.
pub struct ParseStage {
    source: Source,
    decoder: Box<dyn Decoder>,
    out: Output,
    next_pos: u64,
    stats: ParseStats,
    class_counts: BTreeMap<u32, u64>,
    enricher: Option<Enricher>,
}

impl ParseStage {
    /// A stage for `source` with `opts`.
    pub fn new(source: Source, opts: &Options) -> Self {
        ParseStage {
            source,
            decoder: decoder(source, opts),
            out: Output {
                blocks: Blocks::new(BLOCK, SPENT_MAX),
                scratch: JsonBuf::with_capacity(16 * 1024),
            },
            next_pos: 0,
            stats: ParseStats::default(),
            class_counts: BTreeMap::new(),
            enricher: None,
        }
    }

    /// Enrich every event with `e` before it is serialised.
    pub fn with_enricher(mut self, e: Enricher) -> Self {
        self.enricher = Some(e);
        self
    }

    /// Decode one record; its events are appended to `out`.
    pub fn decode(&mut self, record: &[u8], out: &mut Vec<Encoded>) -> Outcome {
        let pos = self.next_pos;
        self.next_pos += 1;
        self.stats.records += 1;
        let buf = &mut self.out;
        let counts = &mut self.class_counts;
        let enr = &mut self.enricher;
        let outcome = self.decoder.decode(record, pos, &mut |ev| {
            if let Some(e) = enr.as_mut() {
                e.enrich(ev);
            }
            encode(ev, buf, counts, out)
        });
        if !outcome.is_parsed() {
            self.stats.unparsed += 1;
        }
        outcome
    }

    /// A stretch of input that did not become a record (JSON framing: too
    /// long, not JSON, cut off): emitted as a Base Event that says where and
    /// why, and counted as an unparsed record.
    pub fn framing_error(
        &mut self,
        path: &std::path::Path,
        offset: u64,
        len: u64,
        reason: &str,
        out: &mut Vec<Encoded>,
    ) {
        self.stats.records += 1;
        self.stats.unparsed += 1;
        let mut ev = Event::new(&BASE_EVENT, 99, now_ms());
        ev.set_other_activity("Unparsed");
        ev.set_severity(severity::LOW);
        ev.message = Some(Cow::Owned(format!(
            "{len} bytes at offset {offset} of {} are not a JSON record: {reason}",
            path.display()
        )));
        ev.meta().product = Some(Box::new(Product {
            name: Some(Cow::Borrowed("idlink")),
            vendor_name: Some(Cow::Borrowed("idlink")),
            ..Default::default()
        }));
        ev.meta().log_name = Some(Cow::Borrowed(self.source.name()));
        ev.unmapped().insert(
            "idlink".into(),
            serde_json::json!({
                "framing_error": reason,
                "file": path.display().to_string(),
                "offset": offset,
                "length": len,
            }),
        );
        encode(&ev, &mut self.out, &mut self.class_counts, out);
    }

    /// Emit everything the decoder holds.
    pub fn flush(&mut self, out: &mut Vec<Encoded>) {
        let buf = &mut self.out;
        let counts = &mut self.class_counts;
        let enr = &mut self.enricher;
        self.decoder.flush(&mut |ev| {
            if let Some(e) = enr.as_mut() {
                e.enrich(ev);
            }
            encode(ev, buf, counts, out)
        });
    }

    /// Smallest position still held by the decoder.
    pub fn oldest_held(&self) -> Option<u64> {
        self.decoder.oldest_held()
    }

    /// Position the next record will get.
    pub fn next_pos(&self) -> u64 {
        self.next_pos
    }

    /// Counts so far.
    pub fn stats(&self) -> ParseStats {
        let mut s = self.stats.clone();
        s.events = self.class_counts.values().sum();
        s.by_class = self
            .class_counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        s
    }
}

/// Where events are serialised: each is written into `scratch` (appending
/// to a [`JsonBuf`] is cheaper per string than to a `Vec` or a `BytesMut`),
/// then copied into the current output block it leaves as a `Bytes` slice
/// of.
struct Output {
    blocks: Blocks,
    scratch: JsonBuf,
}

/// Size of an output block.
const BLOCK: usize = 256 * 1024;

/// Full output blocks kept for reuse: as many as make up the file sink's
/// sync interval ([`crate::sinks::file::SYNC_BYTES`]), so that a source
/// writing at full speed finds a free one among them even while a sink
/// holds several batches; the youngest free one is taken.
const SPENT_MAX: usize = (crate::sinks::file::SYNC_BYTES as usize) / BLOCK + 4;

fn encode(ev: &Event<'_>, o: &mut Output, counts: &mut BTreeMap<u32, u64>, out: &mut Vec<Encoded>) {
    o.scratch.clear();
    // Serialising plain structs of strings and numbers into memory cannot
    // fail; if it ever did, the event would be visible as an empty object
    // rather than lost silently.
    if ev.write_json(&mut o.scratch).is_err() {
        o.scratch.clear();
        o.scratch.put(b"{}");
    }
    let json = o.blocks.cut(o.scratch.as_bytes());
    let class_uid = ev.class_uid.unwrap_or(0).max(0) as u32;
    *counts.entry(class_uid).or_insert(0) += 1;
    out.push(Encoded {
        json,
        class_uid,
        time_ms: ev.time.unwrap_or(0),
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
