//! Splitting a byte stream of JSON into records, one JSON object each.
//!
//! Identity providers deliver the same events in several framings: NDJSON
//! (one object a line), a top-level JSON array, Azure diagnostic settings and
//! Event Hub captures (`{"records":[...]}`), Microsoft Graph pages
//! (`{"@odata.context":...,"value":[...],"@odata.nextLink":...}`), and
//! pretty-printed objects written one after the other (with or without
//! commas or newlines between them). [`Splitter`] tells them apart by itself,
//! per stream, from the first bytes, and hands out each record as soon as
//! its last byte has arrived.
//!
//! It never holds more than one record: bytes are fed in chunks of any size
//! (a chunk boundary may fall anywhere, even inside a UTF-8 BOM or an escape
//! sequence), and a state machine that tracks strings, escapes and nesting
//! depth finds where each record ends. It does not validate JSON (the decoder
//! does that, and turns an invalid record into an "unparsed" event); it only
//! has to find the boundaries.
//!
//! Nothing is dropped silently. A record longer than the cap, a line that
//! does not start a JSON value, and an NDJSON line that ends inside an
//! object are reported as [`FramingError`]s with their stream offset and
//! length, and the splitter carries on with the next record.
//!
//! Offsets are absolute stream offsets (starting at the offset given to
//! [`Splitter::resume`], else 0), so the caller can checkpoint after the last
//! complete record with [`Splitter::checkpoint`] and resume there later,
//! inside an array or a `records` wrapper too.
//!
//! ```
//! use idlink_parsers::framing::{Frame, Splitter};
//! let mut s = Splitter::new(1 << 20);
//! let mut got = Vec::new();
//! for chunk in [&b"{\"records\": [{\"a\":1},"[..], &b" {\"a\":2}]}"[..]] {
//!     s.feed(chunk, &mut |f| {
//!         if let Frame::Record { offset, bytes } = f {
//!             got.push((offset, bytes.to_vec()));
//!         }
//!     });
//! }
//! assert_eq!(got, vec![(13, b"{\"a\":1}".to_vec()), (22, b"{\"a\":2}".to_vec())]);
//! assert_eq!(s.checkpoint().offset, 29);
//! ```

use std::collections::VecDeque;

mod ndjson;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Longest wrapper key the splitter needs to recognise (`records`, `value`,
/// `@odata.*`); longer keys are only checked for their first byte.
const KEY_CAP: usize = 16;

/// Where in the framing the splitter is between two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Between top-level values (NDJSON, concatenated objects).
    Stream,
    /// Inside a top-level array, between its elements.
    Array,
    /// Inside the array of a `{"records":[...]}` or `{"value":[...]}`
    /// wrapper, between its elements.
    Wrapped,
}

/// The framing the splitter recognised (the first one, if a stream mixes
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// One single-line object per line.
    Ndjson,
    /// Objects written one after the other, some over several lines.
    Concatenated,
    /// A top-level JSON array of objects.
    Array,
    /// Azure diagnostic / Event Hub `{"records":[...]}`.
    AzureRecords,
    /// Microsoft Graph page `{"value":[...]}`.
    GraphValue,
}

/// A safe place to resume: just after the last record (or error) handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Stream offset to resume reading from.
    pub offset: u64,
    /// The framing context at that offset.
    pub layout: Layout,
    /// Whether the stream was recognised as NDJSON (one record a line).
    pub ndjson: Option<bool>,
}

/// Why a stretch of the stream did not become a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingErrorKind {
    /// The record is longer than the cap; it was skipped.
    Oversize,
    /// Bytes that do not start a JSON object or array where one was expected
    /// (a text line in NDJSON, a scalar in an array, a stray bracket).
    Garbage,
    /// The record is incomplete: an NDJSON line ended inside it, or the
    /// stream ended inside it.
    Truncated,
}

impl FramingErrorKind {
    /// A short, stable, lower-case reason (used in metrics labels).
    pub fn as_str(&self) -> &'static str {
        match self {
            FramingErrorKind::Oversize => "oversize",
            FramingErrorKind::Garbage => "garbage",
            FramingErrorKind::Truncated => "truncated",
        }
    }
}

/// A stretch of the stream that did not become a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingError {
    /// What was wrong.
    pub kind: FramingErrorKind,
    /// Stream offset of its first byte.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} record of {} bytes at offset {}",
            self.kind.as_str(),
            self.len,
            self.offset
        )
    }
}

impl std::error::Error for FramingError {}

/// What [`Splitter::feed`] hands out: a record borrowed from the chunk or
/// the splitter's buffer, or an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'b> {
    /// One complete JSON value (an object, unless the input is odd).
    Record {
        /// Stream offset of its first byte.
        offset: u64,
        /// Its bytes, from `{` to `}` inclusive.
        bytes: &'b [u8],
    },
    /// A stretch that did not become a record.
    Error(FramingError),
}

/// An owned [`Frame`], queued by [`Splitter::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// One complete JSON value.
    Record {
        /// Stream offset of its first byte.
        offset: u64,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A stretch that did not become a record.
    Error(FramingError),
}

/// The record being read.
#[derive(Debug)]
struct Rec {
    start: u64,
    /// A raw newline occurred inside it (so the stream is not NDJSON).
    newline: bool,
    /// Longer than the cap: bytes are no longer kept.
    oversize: bool,
}

/// Looking at the keys of a top-level object to see if it is a wrapper.
#[derive(Debug, Default)]
struct Probe {
    expect_key: bool,
    in_key: bool,
    key: [u8; KEY_CAP],
    key_len: usize,
    after_colon: bool,
}

impl Probe {
    fn key(&self) -> &[u8] {
        &self.key[..self.key_len.min(KEY_CAP)]
    }
}

/// Incremental splitter of a JSON byte stream into records. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct Splitter {
    max_record: usize,
    /// Stream offset of the next byte fed.
    offset: u64,
    layout: Layout,
    /// The rest of a wrapper object after its records array.
    tail: bool,
    depth: u32,
    in_str: bool,
    esc: bool,
    /// BOM bytes matched so far; 3 when done looking.
    bom: u8,
    rec: Option<Rec>,
    probe: Option<Probe>,
    /// Start of a run of garbage bytes being skipped.
    garbage: Option<u64>,
    ndjson: Option<bool>,
    detected: Option<Detected>,
    buf: Vec<u8>,
    checkpoint: Checkpoint,
    queue: VecDeque<Item>,
    /// Take NDJSON lines whole when they are plainly one object (see
    /// [`ndjson`]); off only in tests that compare with the state machine.
    fast: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Splitter {
    /// A splitter for a stream read from its start; records longer than
    /// `max_record` bytes are reported as [`FramingErrorKind::Oversize`].
    pub fn new(max_record: usize) -> Self {
        Splitter::resume(
            max_record,
            Checkpoint {
                offset: 0,
                layout: Layout::Stream,
                ndjson: None,
            },
        )
    }

    /// A splitter for a stream read again from `at` (a [`Checkpoint`] an
    /// earlier splitter gave out): the bytes fed start at `at.offset`.
    pub fn resume(max_record: usize, at: Checkpoint) -> Self {
        let depth = match at.layout {
            Layout::Stream => 0,
            Layout::Array => 1,
            Layout::Wrapped => 2,
        };
        Splitter {
            max_record: max_record.max(2),
            offset: at.offset,
            layout: at.layout,
            tail: false,
            depth,
            in_str: false,
            esc: false,
            bom: if at.offset == 0 { 0 } else { 3 },
            rec: None,
            probe: None,
            garbage: None,
            ndjson: at.ndjson,
            detected: None,
            buf: Vec::new(),
            checkpoint: at,
            queue: VecDeque::new(),
            fast: true,
        }
    }

    /// Where to resume after the last record or error handed out.
    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    /// The framing recognised so far.
    pub fn detected(&self) -> Option<Detected> {
        self.detected
    }

    /// Stream offset of the next byte to be fed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of an incomplete record currently held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feed the next chunk and queue what it completes as owned [`Item`]s
    /// (take them with [`Splitter::next_item`]).
    pub fn push(&mut self, chunk: &[u8]) {
        let mut q = std::mem::take(&mut self.queue);
        self.feed(chunk, &mut |f| q.push_back(Item::from(f)));
        self.queue = q;
    }

    /// End of stream for [`Splitter::push`] users: queue what
    /// [`Splitter::finish`] reports.
    pub fn push_end(&mut self) {
        let mut q = std::mem::take(&mut self.queue);
        self.finish(&mut |f| q.push_back(Item::from(f)));
        self.queue = q;
    }

    /// The oldest queued item.
    pub fn next_item(&mut self) -> Option<Item> {
        self.queue.pop_front()
    }

    /// The stream ended (the file is complete): report a record or garbage
    /// run still open as an error, and start afresh at the top level.
    pub fn finish(&mut self, out: &mut dyn FnMut(Frame<'_>)) {
        let end = self.offset;
        if let Some(rec) = self.rec.take() {
            let kind = if rec.oversize {
                FramingErrorKind::Oversize
            } else {
                FramingErrorKind::Truncated
            };
            self.error(kind, rec.start, end, out);
        }
        if let Some(start) = self.garbage.take() {
            self.error(FramingErrorKind::Garbage, start, end, out);
        }
        self.buf.clear();
        self.probe = None;
        self.layout = Layout::Stream;
        self.tail = false;
        self.depth = 0;
        self.in_str = false;
        self.esc = false;
    }

    fn error(
        &mut self,
        kind: FramingErrorKind,
        start: u64,
        end: u64,
        out: &mut dyn FnMut(Frame<'_>),
    ) {
        out(Frame::Error(FramingError {
            kind,
            offset: start,
            len: end.saturating_sub(start),
        }));
        self.checkpoint = Checkpoint {
            offset: end,
            layout: self.layout,
            ndjson: self.ndjson,
        };
    }

    /// At the top level of a stream known to be NDJSON, outside any
    /// record, string or garbage: where the fast path may take a line.
    fn between_ndjson_records(&self) -> bool {
        self.ndjson == Some(true)
            && self.layout == Layout::Stream
            && self.rec.is_none()
            && self.garbage.is_none()
            && self.probe.is_none()
            && !self.tail
            && !self.in_str
            && !self.esc
            && self.depth == 0
            && self.bom >= 3
    }

    /// The nesting depth at which records start in the current layout.
    fn elem_depth(&self) -> u32 {
        match self.layout {
            Layout::Stream => 0,
            Layout::Array => 1,
            Layout::Wrapped => 2,
        }
    }

    /// Feed the next chunk of the stream; `out` gets every record and error
    /// the chunk completes, in stream order.
    pub fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(Frame<'_>)) {
        let base = self.offset;
        // Index in `chunk` where the bytes of the open record start, when it
        // started in this chunk; else 0 (its earlier bytes are in `buf`).
        let mut from = 0usize;
        let mut i = 0usize;
        // The NDJSON fast path is not tried again before this index (the
        // state machine is reading a line it declined).
        let mut slow_until = 0usize;
        while i < chunk.len() {
            if i >= slow_until && self.fast && self.between_ndjson_records() {
                match ndjson::line(&chunk[i..], self.max_record) {
                    ndjson::Line::Record { start, end, next } => {
                        out(Frame::Record {
                            offset: base + (i + start) as u64,
                            bytes: &chunk[i + start..i + end],
                        });
                        self.checkpoint = Checkpoint {
                            offset: base + (i + end) as u64,
                            layout: self.layout,
                            ndjson: self.ndjson,
                        };
                        i += next;
                        continue;
                    }
                    ndjson::Line::Blank { next } => {
                        i += next;
                        continue;
                    }
                    ndjson::Line::Slow { next } => slow_until = i + next,
                    ndjson::Line::Incomplete => slow_until = chunk.len(),
                }
            }
            // Fast path: inside a string of an open record, nothing matters
            // until the next quote, backslash or newline; skip to it.
            if self.in_str
                && !self.esc
                && self.bom >= 3
                && self.probe.is_none()
                && self.rec.is_some()
            {
                let skip =
                    memchr::memchr3(b'"', b'\\', b'\n', &chunk[i..]).unwrap_or(chunk.len() - i);
                if skip > 0 {
                    i += skip;
                    self.check_size(base + i as u64 - 1);
                    continue;
                }
            }
            let b = chunk[i];
            let p = base + i as u64;
            i += 1;
            if self.bom < 3 {
                if p == self.bom as u64 && b == BOM[self.bom as usize] {
                    self.bom += 1;
                    continue;
                }
                self.bom = 3;
            }
            if self.rec.is_some() {
                self.in_record(chunk, i - 1, p, &mut from, out);
                continue;
            }
            if self.tail || self.in_str {
                self.in_tail(b);
                continue;
            }
            if let Some(start) = self.garbage {
                if self.layout == Layout::Stream {
                    if b == b'\n' {
                        self.garbage = None;
                        self.error(FramingErrorKind::Garbage, start, p, out);
                    }
                    continue;
                }
                match b {
                    b'"' => {
                        self.in_str = true;
                        continue;
                    }
                    b',' => {
                        self.garbage = None;
                        self.error(FramingErrorKind::Garbage, start, p, out);
                        continue;
                    }
                    b']' => {
                        self.garbage = None;
                        self.error(FramingErrorKind::Garbage, start, p, out);
                        // and close the array below
                    }
                    _ => continue,
                }
            }
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {}
                b'[' if self.layout == Layout::Stream => {
                    self.layout = Layout::Array;
                    self.depth = 1;
                    self.detected.get_or_insert(Detected::Array);
                }
                b'{' | b'[' => {
                    self.rec = Some(Rec {
                        start: p,
                        newline: false,
                        oversize: false,
                    });
                    self.buf.clear();
                    from = i - 1;
                    self.depth += 1;
                    if self.layout == Layout::Stream {
                        self.probe = Some(Probe {
                            expect_key: true,
                            ..Default::default()
                        });
                    }
                    self.check_size(p);
                }
                b']' if self.layout != Layout::Stream => {
                    self.depth = self.depth.saturating_sub(1);
                    match self.layout {
                        Layout::Array => self.layout = Layout::Stream,
                        _ => {
                            self.layout = Layout::Stream;
                            self.tail = true;
                        }
                    }
                }
                _ => {
                    self.garbage = Some(p);
                    self.in_str = b == b'"' && self.layout != Layout::Stream;
                }
            }
        }
        if let Some(rec) = &self.rec {
            if !rec.oversize {
                self.buf.extend_from_slice(&chunk[from..]);
            }
        }
        self.offset = base + chunk.len() as u64;
    }

    /// The rest of a wrapper object after its records array, or a string
    /// inside garbage: skipped, tracking strings and depth.
    fn in_tail(&mut self, b: u8) {
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            return;
        }
        match b {
            b'"' => self.in_str = true,
            b'{' | b'[' => self.depth = self.depth.saturating_add(1),
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.tail = false;
                }
            }
            _ => {}
        }
    }

    fn check_size(&mut self, p: u64) {
        if let Some(rec) = &mut self.rec {
            if !rec.oversize && p - rec.start + 1 > self.max_record as u64 {
                rec.oversize = true;
                self.buf = Vec::new();
            }
        }
    }

    /// One byte `chunk[i]` (stream offset `p`) of the open record.
    fn in_record(
        &mut self,
        chunk: &[u8],
        i: usize,
        p: u64,
        from: &mut usize,
        out: &mut dyn FnMut(Frame<'_>),
    ) {
        let b = chunk[i];
        self.check_size(p);
        if b == b'\n' {
            if let Some(rec) = &mut self.rec {
                rec.newline = true;
            }
            if self.layout == Layout::Stream && self.ndjson == Some(true) {
                // An NDJSON line ended inside the record: report it and go on
                // with the next line.
                if let Some(rec) = self.rec.take() {
                    self.reset_value();
                    self.buf.clear();
                    self.error(FramingErrorKind::Truncated, rec.start, p, out);
                }
                return;
            }
        }
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
                if let Some(pr) = &mut self.probe {
                    pr.in_key = false;
                }
            } else if let Some(pr) = &mut self.probe {
                if pr.in_key {
                    if pr.key_len < KEY_CAP {
                        pr.key[pr.key_len] = b;
                    }
                    pr.key_len += 1;
                }
            }
            return;
        }
        if self.depth == 1 && !is_ws(b) {
            if let Some(pr) = &mut self.probe {
                if pr.after_colon {
                    // First byte of the value of a top-level key.
                    pr.after_colon = false;
                    let key = pr.key();
                    let wrapper = key_len_ok(pr) && (key == b"records" || key == b"value");
                    if wrapper && b == b'[' {
                        self.detected.get_or_insert(if key == b"records" {
                            Detected::AzureRecords
                        } else {
                            Detected::GraphValue
                        });
                        self.rec = None;
                        self.probe = None;
                        self.buf.clear();
                        self.layout = Layout::Wrapped;
                        self.depth = 2;
                        return;
                    }
                    if key.first() != Some(&b'@') {
                        self.probe = None;
                    }
                } else if pr.expect_key && b == b'"' {
                    pr.expect_key = false;
                    pr.in_key = true;
                    pr.key_len = 0;
                } else if b == b':' {
                    pr.after_colon = true;
                } else if b == b',' {
                    pr.expect_key = true;
                }
            }
        }
        match b {
            b'"' => self.in_str = true,
            b'{' | b'[' => self.depth = self.depth.saturating_add(1),
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth <= self.elem_depth() {
                    self.depth = self.elem_depth();
                    self.complete(chunk, i, p, from, out);
                }
            }
            _ => {}
        }
    }

    fn reset_value(&mut self) {
        self.depth = self.elem_depth();
        self.in_str = false;
        self.esc = false;
        self.probe = None;
    }

    /// The open record ends with `chunk[i]` (stream offset `p`).
    fn complete(
        &mut self,
        chunk: &[u8],
        i: usize,
        p: u64,
        from: &mut usize,
        out: &mut dyn FnMut(Frame<'_>),
    ) {
        let Some(rec) = self.rec.take() else { return };
        self.probe = None;
        if self.layout == Layout::Stream {
            if self.ndjson.is_none() {
                self.ndjson = Some(!rec.newline);
            }
            self.detected.get_or_insert(if rec.newline {
                Detected::Concatenated
            } else {
                Detected::Ndjson
            });
        }
        if rec.oversize {
            self.buf.clear();
            self.error(FramingErrorKind::Oversize, rec.start, p + 1, out);
            return;
        }
        let bytes: &[u8] = if self.buf.is_empty() {
            &chunk[*from..=i]
        } else {
            self.buf.extend_from_slice(&chunk[*from..=i]);
            &self.buf
        };
        out(Frame::Record {
            offset: rec.start,
            bytes,
        });
        self.buf.clear();
        *from = i + 1;
        self.checkpoint = Checkpoint {
            offset: p + 1,
            layout: self.layout,
            ndjson: self.ndjson,
        };
    }
}

/// The key was short enough to be compared whole.
fn key_len_ok(pr: &Probe) -> bool {
    pr.key_len <= KEY_CAP
}

impl From<Frame<'_>> for Item {
    fn from(f: Frame<'_>) -> Item {
        match f {
            Frame::Record { offset, bytes } => Item::Record {
                offset,
                bytes: bytes.to_vec(),
            },
            Frame::Error(e) => Item::Error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Split `input` fed in chunks of `size` bytes.
    fn split(input: &[u8], size: usize, cap: usize) -> Vec<Item> {
        let mut s = Splitter::new(cap);
        let mut items = Vec::new();
        for c in input.chunks(size.max(1)) {
            s.feed(c, &mut |f| items.push(Item::from(f)));
        }
        s.finish(&mut |f| items.push(Item::from(f)));
        items
    }

    fn values(items: &[Item]) -> Vec<Value> {
        items
            .iter()
            .map(|it| match it {
                Item::Record { bytes, .. } => serde_json::from_slice(bytes).unwrap(),
                Item::Error(e) => panic!("unexpected error {e}"),
            })
            .collect()
    }

    /// Every split point of `input` into two chunks, and one-byte chunks,
    /// give the same items as one chunk.
    fn same_at_every_boundary(input: &[u8], cap: usize) -> Vec<Item> {
        let whole = split(input, input.len(), cap);
        assert_eq!(split(input, 1, cap), whole);
        for k in 0..=input.len() {
            let mut s = Splitter::new(cap);
            let mut items = Vec::new();
            s.feed(&input[..k], &mut |f| items.push(Item::from(f)));
            s.feed(&input[k..], &mut |f| items.push(Item::from(f)));
            s.finish(&mut |f| items.push(Item::from(f)));
            assert_eq!(items, whole, "split at {k}");
        }
        whole
    }

    fn expected() -> Vec<Value> {
        vec![
            serde_json::json!({"a": 1, "s": "x}\"{]", "n": {"b": [1, {"c": null}]}}),
            serde_json::json!({"value": 2, "records": "no"}),
            serde_json::json!({"e": "\u{e9}\\", "arr": []}),
        ]
    }

    fn check(input: &str, detected: Detected) {
        let items = same_at_every_boundary(input.as_bytes(), 1 << 16);
        assert_eq!(values(&items), expected(), "{input}");
        let mut s = Splitter::new(1 << 16);
        s.feed(input.as_bytes(), &mut |_| {});
        assert_eq!(s.detected(), Some(detected), "{input}");
        // Offsets point at the records.
        for it in &items {
            if let Item::Record { offset, bytes } = it {
                let o = *offset as usize;
                assert_eq!(&input.as_bytes()[o..o + bytes.len()], &bytes[..]);
            }
        }
    }

    fn compact() -> Vec<String> {
        expected().iter().map(|v| v.to_string()).collect()
    }

    fn pretty() -> Vec<String> {
        expected()
            .iter()
            .map(|v| serde_json::to_string_pretty(v).unwrap())
            .collect()
    }

    #[test]
    fn ndjson_with_crlf_blank_lines_and_bom() {
        let body = compact().join("\r\n");
        check(&body, Detected::Ndjson);
        check(&format!("\u{feff}{body}\n\n"), Detected::Ndjson);
    }

    #[test]
    fn arrays() {
        check(&format!("[{}]", compact().join(",")), Detected::Array);
        check(
            &format!("\u{feff}[\n  {}\n]\n", pretty().join(",\n  ")),
            Detected::Array,
        );
    }

    #[test]
    fn azure_records() {
        let body = format!("{{\"records\": [{}]}}\n", compact().join(", "));
        check(&body, Detected::AzureRecords);
        // Event Hub capture: several batches, one per line.
        let c = compact();
        let body = format!(
            "{{\"records\":[{},{}]}}\n{{\"records\":[{}]}}",
            c[0], c[1], c[2]
        );
        check(&body, Detected::AzureRecords);
    }

    #[test]
    fn graph_pages() {
        let c = compact();
        let body = format!(
            "{{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\
             \"value\":[{},{}],\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/x?$skiptoken=a]}}\"}}\n\
             {{\"value\":[{}],\"@odata.deltaLink\":{{\"odd\":[1]}}}}",
            c[0], c[1], c[2]
        );
        check(&body, Detected::GraphValue);
    }

    #[test]
    fn pretty_concatenated() {
        check(&pretty().join("\n"), Detected::Concatenated);
        check(&pretty().join(",\n"), Detected::Concatenated);
        check(&pretty().join(""), Detected::Concatenated);
        check(&compact().join(""), Detected::Ndjson);
    }

    #[test]
    fn oversize_records_are_reported_with_offset() {
        let c = compact();
        let big = format!("{{\"big\":\"{}\"}}", "x".repeat(100));
        let body = format!("{}\n{big}\n{}\n", c[0], c[1]);
        let items = same_at_every_boundary(body.as_bytes(), 90);
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1],
            Item::Error(FramingError {
                kind: FramingErrorKind::Oversize,
                offset: c[0].len() as u64 + 1,
                len: big.len() as u64,
            })
        );
        assert!(matches!(items[2], Item::Record { .. }));
        // Oversize inside a wrapper.
        let body = format!("{{\"records\":[{big},{}]}}", c[1]);
        let items = split(body.as_bytes(), 7, 90);
        assert_eq!(items.len(), 2);
        assert!(matches!(
            items[0],
            Item::Error(FramingError { offset: 12, .. })
        ));
    }

    #[test]
    fn garbage_and_truncated_lines_are_reported() {
        let c = compact();
        let body = format!("{}\nnot json\n{{\"a\":[1,\n{}\n{{\"cut\":", c[0], c[1]);
        let items = same_at_every_boundary(body.as_bytes(), 1 << 16);
        let kinds: Vec<_> = items
            .iter()
            .map(|it| match it {
                Item::Record { .. } => None,
                Item::Error(e) => Some((e.kind, e.offset)),
            })
            .collect();
        let l0 = c[0].len() as u64 + 1;
        assert_eq!(
            kinds,
            vec![
                None,
                Some((FramingErrorKind::Garbage, l0)),
                Some((FramingErrorKind::Truncated, l0 + 9)),
                None,
                Some((
                    FramingErrorKind::Truncated,
                    body.rfind("{\"cut").unwrap() as u64
                )),
            ]
        );
        // Scalars inside an array.
        let items = split(format!("[1, \"a,]\", {}]", c[2]).as_bytes(), 3, 1000);
        assert_eq!(items.len(), 3);
        assert!(matches!(
            items[0],
            Item::Error(FramingError {
                kind: FramingErrorKind::Garbage,
                offset: 1,
                len: 1
            })
        ));
        assert!(matches!(
            items[1],
            Item::Error(FramingError {
                offset: 4,
                len: 5,
                ..
            })
        ));
        assert_eq!(values(&items[2..]), vec![expected()[2].clone()]);
    }

    #[test]
    fn resumes_from_a_checkpoint_inside_a_wrapper() {
        let c = compact();
        let body = format!(
            "\u{feff}{{\"records\": [{}, {}, {}]}}\n{}\n",
            c[0], c[1], c[2], c[0]
        );
        let bytes = body.as_bytes();
        let all = split(bytes, bytes.len(), 1000);
        for cut in 0..bytes.len() {
            let mut s = Splitter::new(1000);
            let mut first = Vec::new();
            s.feed(&bytes[..cut], &mut |f| first.push(Item::from(f)));
            let cp = s.checkpoint();
            let mut r = Splitter::resume(1000, cp);
            let mut rest = Vec::new();
            r.feed(&bytes[cp.offset as usize..], &mut |f| {
                rest.push(Item::from(f))
            });
            r.finish(&mut |f| rest.push(Item::from(f)));
            first.extend(rest);
            assert_eq!(first, all, "cut at {cut}");
        }
    }

    #[test]
    fn push_queue_and_borrowed_records() {
        let mut s = Splitter::new(100);
        s.push(b"{\"a\":1}\n{\"b\":");
        assert_eq!(
            s.next_item(),
            Some(Item::Record {
                offset: 0,
                bytes: b"{\"a\":1}".to_vec()
            })
        );
        assert_eq!(s.next_item(), None);
        assert_eq!(s.buffered(), 5);
        s.push(b"2}");
        assert!(matches!(
            s.next_item(),
            Some(Item::Record { offset: 8, .. })
        ));
        s.push_end();
        assert_eq!(s.next_item(), None);
        assert_eq!(s.checkpoint().offset, 15);
    }

    /// Items, and the checkpoint after every chunk, with or without the
    /// NDJSON fast path.
    fn split_traced(input: &[u8], size: usize, cap: usize, fast: bool) -> (Vec<Item>, Vec<u64>) {
        let mut s = Splitter::new(cap);
        s.fast = fast;
        let (mut items, mut checkpoints) = (Vec::new(), Vec::new());
        for c in input.chunks(size.max(1)) {
            s.feed(c, &mut |f| items.push(Item::from(f)));
            checkpoints.push(s.checkpoint().offset);
        }
        s.finish(&mut |f| items.push(Item::from(f)));
        checkpoints.push(s.checkpoint().offset);
        (items, checkpoints)
    }

    #[test]
    fn ndjson_fast_path_splits_like_the_state_machine() {
        // Every line shape the fast path must take or decline.
        let shapes: &[&str] = &[
            r#"{"a":1,"s":"x}\"{]","n":{"b":[1,{"c":null}]}}"#,
            r#"{"e":"\u00e9\\","arr":[],"k":"é"}"#,
            r#"  {"a":1}  "#,
            "{\"a\":1}\r",
            "{}",
            r#"{"a":1}{"b":2}"#,
            r#"{"a":1} trailing"#,
            r#"{"a":1},{"b":2},"#,
            r#", {"a":1}"#,
            r#"{"a":[1,"#,
            r#"{"a":"x\"#,
            r#"{"a":"unterminated}"#,
            "not json",
            "}",
            "]",
            "",
            "   ",
            r#"{"records":[{"a":1},{"b":2}]}"#,
            r#"{"value":[{"a":1}],"@odata.nextLink":"x"}"#,
            r#"{"@odata.context":"c","value":[{"a":2}]}"#,
            r#"{"records":"no","value":2}"#,
            r#"{"k\"ey":1}"#,
            r#"[{"a":1},{"b":2}]"#,
            r#"[{"a":1},"#,
            r#"{"b":2}]"#,
            r#"{"big":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
            "{\n\"pretty\": true\n}",
        ];
        // A small deterministic generator: many mixes, each starting with a
        // plain object (so the stream is NDJSON) or with anything.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..300 {
            let mut lines: Vec<&str> = Vec::new();
            if round % 4 != 0 {
                lines.push(shapes[0]);
            }
            for _ in 0..next(12) {
                // Plain objects most of the time, as in real files.
                let k = if next(3) == 0 {
                    next(shapes.len())
                } else {
                    next(2)
                };
                lines.push(shapes[k]);
            }
            let sep = if next(4) == 0 { "\r\n" } else { "\n" };
            let mut body = lines.join(sep);
            if next(2) == 0 {
                body.push('\n');
            }
            let input = body.as_bytes();
            let cap = if next(3) == 0 { 60 } else { 1 << 16 };
            for size in [1, 2, 7, 64, input.len().max(1)] {
                assert_eq!(
                    split_traced(input, size, cap, true),
                    split_traced(input, size, cap, false),
                    "chunks of {size}, cap {cap}: {body:?}"
                );
            }
        }
    }
}
