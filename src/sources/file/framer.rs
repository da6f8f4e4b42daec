//! Cuts a byte stream into records: lines ([`LineFramer`], no copy) or JSON
//! objects ([`JsonFramer`], any framing a JSON source delivers), behind one
//! [`Framer`] so the tailer and `idlink parse` do not care which.
//!
//! ## Lines
//!
//! Bytes are appended to one reused buffer; each complete line is split off
//! as a [`Bytes`] (a reference into the buffer, no copy). A line longer than
//! the cap keeps its first `max` bytes, the rest is skipped up to its newline
//! and counted, and the line is still delivered as one (cut) record, so its
//! neighbours are untouched. A last line without its newline waits for more
//! input. Offsets are positions in the stream: a line's `end` is just after
//! its newline, the only kind of position a checkpoint may point at.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use idlink_parsers::framing::{Checkpoint, Frame as SplitFrame, Layout, Splitter};
use idlink_parsers::sources::Framing;

use crate::blocks::Blocks;

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The line, without `\n` (and without a `\r` before it).
    pub data: Bytes,
    /// Stream offset of its first byte.
    pub start: u64,
    /// Stream offset just after its newline.
    pub end: u64,
    /// Bytes cut off because the line was over the cap.
    pub cut: u64,
    /// Set when this stretch of input did not become a record (JSON framing:
    /// oversize, garbage, truncated); `data` is then empty.
    pub error: Option<&'static str>,
}

/// Line framer for one stream.
#[derive(Debug)]
pub struct LineFramer {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    base: u64,
    max: usize,
    /// Inside an over-long line: its kept head and the bytes skipped so far.
    oversize: Option<(Bytes, u64, u64)>,
    /// The input ended: hand out the rest without waiting for a newline.
    finished: bool,
}

impl LineFramer {
    /// A framer whose next byte is at stream offset `start`, with lines cut
    /// to `max` bytes.
    pub fn new(start: u64, max: usize) -> Self {
        LineFramer {
            buf: BytesMut::with_capacity(64 * 1024),
            base: start,
            max,
            oversize: None,
            finished: false,
        }
    }

    /// The buffer to read into: call [`LineFramer::commit`] with the number
    /// of bytes read.
    pub fn spare(&mut self, want: usize) -> &mut [u8] {
        let len = self.buf.len();
        self.buf.resize(len + want, 0);
        &mut self.buf[len..]
    }

    /// Keep `n` of the bytes read into [`LineFramer::spare`].
    pub fn commit(&mut self, want: usize, n: usize) {
        let len = self.buf.len();
        self.buf.truncate(len - want + n);
    }

    /// Append bytes (tests and non-file inputs).
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Stream offset after the last byte received.
    pub fn received(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Bytes received but not yet part of a complete line.
    pub fn pending(&self) -> usize {
        let start = match &self.oversize {
            Some((_, start, _)) => *start,
            None => self.base,
        };
        (self.received() - start) as usize
    }

    /// The input ended for good: what follows the last newline becomes a
    /// last line (ending where the input ended) once the complete lines
    /// before it have been taken.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// The remainder after the last newline, as a last line.
    fn take_rest(&mut self) -> Option<Frame> {
        let end = self.received();
        let last = match self.oversize.take() {
            Some((head, start, skipped)) => Frame {
                data: head,
                start,
                end,
                cut: skipped + self.buf.len() as u64,
                error: None,
            },
            None if !self.buf.is_empty() => {
                let keep = self.buf.len().min(self.max);
                let cut = (self.buf.len() - keep) as u64;
                let mut line = self.buf.split_to(keep);
                if line.last() == Some(&b'\r') {
                    line.truncate(keep - 1);
                }
                Frame {
                    data: line.freeze(),
                    start: self.base,
                    end,
                    cut,
                    error: None,
                }
            }
            None => return None,
        };
        self.buf.clear();
        self.base = end;
        Some(last)
    }

    /// The next complete line, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let f = self.next_complete();
        if f.is_none() && self.finished {
            self.finished = false;
            return self.take_rest();
        }
        f
    }

    fn next_complete(&mut self) -> Option<Frame> {
        loop {
            if let Some((head, start, skipped)) = self.oversize.take() {
                match memchr(&self.buf) {
                    Some(i) => {
                        let skipped = skipped + i as u64;
                        let _ = self.buf.split_to(i + 1);
                        self.base += i as u64 + 1;
                        return Some(Frame {
                            data: head,
                            start,
                            end: self.base,
                            cut: skipped,
                            error: None,
                        });
                    }
                    None => {
                        let n = self.buf.len();
                        self.buf.clear();
                        self.base += n as u64;
                        self.oversize = Some((head, start, skipped + n as u64));
                        return None;
                    }
                }
            }
            match memchr(&self.buf) {
                Some(i) if i <= self.max => {
                    let start = self.base;
                    let mut line = self.buf.split_to(i + 1);
                    self.base += i as u64 + 1;
                    line.truncate(i);
                    if line.last() == Some(&b'\r') {
                        line.truncate(i - 1);
                    }
                    return Some(Frame {
                        data: line.freeze(),
                        start,
                        end: self.base,
                        cut: 0,
                        error: None,
                    });
                }
                found => {
                    if found.is_none() && self.buf.len() <= self.max {
                        return None;
                    }
                    // Over the cap: keep the head, skip the rest of the line.
                    let start = self.base;
                    let head = self.buf.split_to(self.max).freeze();
                    self.base += self.max as u64;
                    self.oversize = Some((head, start, 0));
                }
            }
        }
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

/// JSON records from any framing (NDJSON, arrays, `{"records":[...]}`,
/// `{"value":[...]}`, pretty-printed objects), found by the parsers crate's
/// streaming [`Splitter`]. A record that lies wholly in one read is handed
/// out as a reference into that read's buffer (no copy); one that the
/// splitter assembled across reads is copied once into a block.
#[derive(Debug)]
pub struct JsonFramer {
    splitter: Splitter,
    /// The buffer of the last read. The next read goes into it again when
    /// none of its records is alive any more (they are dropped as soon as
    /// their chunk is parsed), else into a new one.
    read: Bytes,
    queue: VecDeque<Frame>,
    /// Where records that span reads are copied to.
    blocks: Blocks,
}

/// Records that span reads are copied into blocks of this size...
const RECORD_BLOCK: usize = 64 * 1024;
/// ...and a few full ones are kept for reuse.
const RECORD_SPENT: usize = 8;

impl JsonFramer {
    /// A framer whose next byte is at `start`, in the framing context
    /// `state` (from [`JsonFramer::state`]; 0 = unknown / start of stream).
    pub fn new(start: u64, state: u8, max: usize) -> Self {
        let at = decode_state(start, state);
        JsonFramer {
            splitter: Splitter::resume(max, at),
            read: Bytes::new(),
            queue: VecDeque::new(),
            blocks: Blocks::new(RECORD_BLOCK, RECORD_SPENT),
        }
    }

    /// A buffer of `want` initialised bytes to read into: the last read's,
    /// if nothing cut from it is alive, else a new one.
    fn read_buffer(&mut self, want: usize) -> BytesMut {
        let mut buf = match std::mem::take(&mut self.read).try_into_mut() {
            Ok(b) if b.capacity() >= want => b,
            _ => BytesMut::with_capacity(want),
        };
        // Only bytes past the last read's length are zeroed: a full read
        // leaves nothing to do.
        buf.resize(want, 0);
        buf
    }

    /// Frame the bytes of a read.
    fn feed_read(&mut self, read: Bytes) {
        let (queue, blocks) = (&mut self.queue, &mut self.blocks);
        self.splitter.feed(&read, &mut |f| {
            queue.push_back(owned(f, Some(&read), blocks))
        });
        self.read = read;
    }

    /// Append bytes.
    pub fn push(&mut self, data: &[u8]) {
        let (queue, blocks) = (&mut self.queue, &mut self.blocks);
        self.splitter
            .feed(data, &mut |f| queue.push_back(owned(f, None, blocks)));
    }

    /// The input ended for good: an open record is reported as truncated.
    pub fn finish(&mut self) {
        let (queue, blocks) = (&mut self.queue, &mut self.blocks);
        self.splitter
            .finish(&mut |f| queue.push_back(owned(f, None, blocks)));
    }

    /// The framing context at the resume point, for the checkpoint.
    pub fn state(&self) -> u8 {
        encode_state(self.splitter.checkpoint())
    }
}

/// A frame that owns its record: a reference into `read` (the buffer the
/// splitter was fed) when the record lies in it, else a copy.
fn owned(f: SplitFrame<'_>, read: Option<&Bytes>, blocks: &mut Blocks) -> Frame {
    match f {
        SplitFrame::Record { offset, bytes } => Frame {
            data: match read {
                Some(r) if contains(r, bytes) => r.slice_ref(bytes),
                _ => blocks.cut(bytes),
            },
            start: offset,
            end: offset + bytes.len() as u64,
            cut: 0,
            error: None,
        },
        SplitFrame::Error(e) => Frame {
            data: Bytes::new(),
            start: e.offset,
            end: e.offset + e.len,
            cut: 0,
            error: Some(e.kind.as_str()),
        },
    }
}

/// Whether `part` is a piece of `whole`'s memory.
fn contains(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr_range(), part.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// The splitter's resume context as one byte (0: start of stream / lines).
fn encode_state(c: Checkpoint) -> u8 {
    let layout = match c.layout {
        Layout::Stream => 0,
        Layout::Array => 1,
        Layout::Wrapped => 2,
    };
    let nd = match c.ndjson {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    };
    1 + layout * 3 + nd
}

fn decode_state(offset: u64, state: u8) -> Checkpoint {
    let s = state.saturating_sub(1);
    let layout = match s / 3 {
        1 => Layout::Array,
        2 => Layout::Wrapped,
        _ => Layout::Stream,
    };
    let ndjson = match s % 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    };
    if state == 0 {
        return Checkpoint {
            offset,
            layout: Layout::Stream,
            ndjson: None,
        };
    }
    Checkpoint {
        offset,
        layout,
        ndjson,
    }
}

/// A line or JSON framer.
#[derive(Debug)]
pub enum Framer {
    /// One record per line.
    Lines(LineFramer),
    /// JSON records (boxed: the splitter's state is several times the
    /// size of a line framer).
    Json(Box<JsonFramer>),
}

impl Framer {
    /// A framer of `kind` whose next byte is at `start` (`state`: the
    /// framing context saved with the checkpoint).
    pub fn new(kind: Framing, start: u64, state: u8, max: usize) -> Self {
        match kind {
            Framing::Lines => Framer::Lines(LineFramer::new(start, max)),
            Framing::Json => Framer::Json(Box::new(JsonFramer::new(start, state, max))),
        }
    }

    /// Read once from `read` (which fills the buffer it is given) and frame
    /// what came. Returns the bytes read.
    pub fn fill(
        &mut self,
        want: usize,
        read: &mut dyn FnMut(&mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        match self {
            Framer::Lines(l) => {
                let r = read(l.spare(want));
                l.commit(want, *r.as_ref().unwrap_or(&0));
                r
            }
            Framer::Json(j) => {
                let mut buf = j.read_buffer(want);
                let n = read(&mut buf)?;
                buf.truncate(n);
                j.feed_read(buf.freeze());
                Ok(n)
            }
        }
    }

    /// The next record (or framing error).
    pub fn next_frame(&mut self) -> Option<Frame> {
        match self {
            Framer::Lines(l) => l.next_frame(),
            Framer::Json(j) => j.queue.pop_front(),
        }
    }

    /// Stream offset after the last byte received.
    pub fn received(&self) -> u64 {
        match self {
            Framer::Lines(l) => l.received(),
            Framer::Json(j) => j.splitter.offset(),
        }
    }

    /// Bytes received that are not part of a handed-out record yet.
    pub fn pending(&self) -> usize {
        match self {
            Framer::Lines(l) => l.pending(),
            Framer::Json(j) => (j.splitter.offset() - j.splitter.checkpoint().offset) as usize,
        }
    }

    /// Where a restart may resume: after the last complete record.
    pub fn resume_point(&self) -> u64 {
        self.received() - self.pending() as u64
    }

    /// The framing context at [`Framer::resume_point`].
    pub fn state(&self) -> u8 {
        match self {
            Framer::Lines(_) => 0,
            Framer::Json(j) => j.state(),
        }
    }

    /// The input will not grow any more: its last record needs no
    /// terminator (a last line without newline still counts).
    pub fn end_of_input(&mut self) {
        match self {
            Framer::Lines(l) => {
                l.finish();
            }
            Framer::Json(j) => j.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(f: &mut LineFramer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn partial_line_waits() {
        let mut f = LineFramer::new(100, 1024);
        f.push(b"one\r\ntw");
        let got = drain(&mut f);
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].data[..], b"one");
        assert_eq!((got[0].start, got[0].end), (100, 105));
        f.push(b"o\n");
        let got = drain(&mut f);
        assert_eq!(&got[0].data[..], b"two");
        assert_eq!((got[0].start, got[0].end), (105, 109));
        assert_eq!(f.received(), 109);
    }

    #[test]
    fn oversize_line_is_cut_and_neighbours_survive() {
        let mut f = LineFramer::new(0, 8);
        f.push(b"short\n0123456789abcdef");
        let got = drain(&mut f);
        assert_eq!(got.len(), 1);
        f.push(b"XYZ\nnext\n");
        let got = drain(&mut f);
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].data[..], b"01234567");
        assert_eq!(got[0].cut, 11);
        assert_eq!((got[0].start, got[0].end), (6, 26));
        assert_eq!(&got[1].data[..], b"next");
        assert_eq!(got[1].start, 26);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let input = b"a\nbb\n\nccccccccccccccc\nd\n";
        let mut whole = LineFramer::new(0, 4);
        whole.push(input);
        let want = drain(&mut whole);
        let mut one = LineFramer::new(0, 4);
        let mut got = Vec::new();
        for b in input {
            one.push(&[*b]);
            got.extend(drain(&mut one));
        }
        assert_eq!(got, want);
        assert_eq!(want.len(), 5);
    }

    #[test]
    fn finish_hands_out_complete_lines_then_the_rest() {
        let mut f = LineFramer::new(0, 1024);
        f.push(b"one\ntwo\nthr");
        f.finish();
        let got = drain(&mut f);
        let lines: Vec<&[u8]> = got.iter().map(|f| &f.data[..]).collect();
        assert_eq!(lines, vec![&b"one"[..], b"two", b"thr"]);
        assert_eq!(got[2].end, 11);
        assert_eq!(f.pending(), 0);
    }

    /// One read of `data` into `f`, through [`Framer::fill`].
    fn read_in(f: &mut Framer, data: &[u8]) {
        let n = f
            .fill(256, &mut |buf| {
                buf[..data.len()].copy_from_slice(data);
                Ok(data.len())
            })
            .unwrap();
        assert_eq!(n, data.len());
    }

    fn last_read(f: &Framer) -> &Bytes {
        match f {
            Framer::Json(j) => &j.read,
            Framer::Lines(_) => panic!("a JSON framer"),
        }
    }

    #[test]
    fn json_records_of_one_read_are_references_into_it() {
        let mut f = Framer::new(Framing::Json, 0, 0, 1024);
        read_in(&mut f, b"{\"a\":1}\n{\"b\":2}\n{\"c\":");
        let (a, b) = (f.next_frame().unwrap(), f.next_frame().unwrap());
        assert!(f.next_frame().is_none());
        assert_eq!(
            (&a.data[..], &b.data[..]),
            (&b"{\"a\":1}"[..], &b"{\"b\":2}"[..])
        );
        assert_eq!((a.start, a.end, b.start, b.end), (0, 7, 8, 15));
        let first = last_read(&f).as_ptr();
        assert!(contains(last_read(&f), &a.data) && contains(last_read(&f), &b.data));
        drop((a, b));

        // Nothing cut from the first read is alive: the next read goes into
        // the same buffer. The record that spans both reads is a copy.
        read_in(&mut f, b"3}\n{\"d\":4}\n");
        assert_eq!(last_read(&f).as_ptr(), first);
        let (c, d) = (f.next_frame().unwrap(), f.next_frame().unwrap());
        assert_eq!(
            (&c.data[..], &d.data[..]),
            (&b"{\"c\":3}"[..], &b"{\"d\":4}"[..])
        );
        assert_eq!((c.start, c.end, d.start, d.end), (16, 23, 24, 31));
        assert!(!contains(last_read(&f), &c.data));
        assert!(contains(last_read(&f), &d.data));

        // `d` is alive: the next read gets a new buffer and `d` stays intact.
        read_in(&mut f, b"{\"e\":5}\n");
        assert_ne!(last_read(&f).as_ptr(), first);
        let e = f.next_frame().unwrap();
        assert_eq!(
            (&d.data[..], &e.data[..]),
            (&b"{\"d\":4}"[..], &b"{\"e\":5}"[..])
        );
    }

    #[test]
    fn json_framer_resumes_inside_an_array() {
        let input = br#"[{"a":1},
 {"a":2}, {"a":3}]"#;
        let mut whole = Framer::new(Framing::Json, 0, 0, 1024);
        whole
            .fill(64, &mut |buf| {
                buf[..input.len()].copy_from_slice(input);
                Ok(input.len())
            })
            .unwrap();
        let first = whole.next_frame().unwrap();
        assert_eq!(&first.data[..], br#"{"a":1}"#);
        // Resume right after the first record, in the state saved with it.
        let mut resumed = JsonFramer::new(first.end, whole.state(), 1024);
        resumed.push(&input[first.end as usize..]);
        let rest: Vec<Bytes> = std::iter::from_fn(|| resumed.queue.pop_front())
            .map(|f| f.data)
            .collect();
        assert_eq!(
            rest,
            vec![
                Bytes::from_static(br#"{"a":2}"#),
                Bytes::from_static(br#"{"a":3}"#)
            ]
        );
    }
}
