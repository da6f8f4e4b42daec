//! Cuts a byte stream into lines without copying them.
//!
//! Bytes are appended to one reused buffer; each complete line is split off
//! as a [`Bytes`] (a reference into the buffer, no copy). A line longer than
//! the cap keeps its first `max` bytes, the rest is skipped up to its newline
//! and counted, and the line is still delivered as one (cut) record, so its
//! neighbours are untouched. A last line without its newline waits for more
//! input. Offsets are positions in the stream: a line's `end` is just after
//! its newline, the only kind of position a checkpoint may point at.

use bytes::{Bytes, BytesMut};

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
        self.buf.len() + self.oversize.as_ref().map_or(0, |(h, _, _)| h.len())
    }

    /// The next complete line, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
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
    b.iter().position(|&c| c == b'\n')
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
}
