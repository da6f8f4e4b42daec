//! Record layout of the disk buffer's segment files, and the scanner that
//! reads them back and steps over damage.
//!
//! ```text
//! record  = magic:u32le  len:u32le  crc:u32le  payload[len]
//! payload = source_len:u16le source  count:u32le  event*
//! event   = class_uid:u32le  time_ms:i64le  json_len:u32le  json
//! ```
//!
//! `magic` is `ILB1` and lets the scanner find the next record after a
//! damaged one; `crc` is CRC-32C (Castagnoli) of the payload. One record is
//! one source batch, the unit that is acknowledged.

use std::sync::Arc;

use bytes::Bytes;
use crc::{Crc, Table, CRC_32_ISCSI};

use crate::event::Encoded;

/// Record marker, `b"ILB1"` read as little-endian.
pub const MAGIC: u32 = u32::from_le_bytes(*b"ILB1");
/// Bytes before the payload.
pub const HEADER: usize = 12;
/// Largest payload accepted when reading: a length above it is damage.
pub const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

/// Slice-by-16 tables: several times faster than the bytewise default, and
/// every byte the buffer stores is summed twice (written, read).
const CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// Append the record for `events` of `source` to `out`; returns its size.
pub fn encode(source: &str, events: &[Encoded], out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // len and crc, filled in below
    let src = &source.as_bytes()[..source.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(src.len() as u16).to_le_bytes());
    out.extend_from_slice(src);
    out.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for e in events {
        out.extend_from_slice(&e.class_uid.to_le_bytes());
        out.extend_from_slice(&e.time_ms.to_le_bytes());
        out.extend_from_slice(&(e.json.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.json);
    }
    let payload = start + HEADER;
    let len = (out.len() - payload) as u32;
    let crc = CRC32C.checksum(&out[payload..]);
    out[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    out.len() - start
}

/// A record read back.
#[derive(Debug)]
pub struct Decoded {
    /// Source id.
    pub source: Arc<str>,
    /// The events (slices of one shared buffer).
    pub events: Vec<Encoded>,
}

/// What the scanner found at a position.
#[derive(Debug)]
pub enum Scan {
    /// A whole, valid record.
    Record {
        /// Its size, header included.
        size: usize,
        /// Its payload (checksum verified).
        payload: Bytes,
    },
    /// Not enough bytes yet for the record that starts here (the end of
    /// what was written so far, or a torn tail).
    Incomplete,
    /// Damage.
    Damaged {
        /// Bytes up to the next record marker (or the end of the input).
        skip: usize,
        /// What was wrong at the first of them.
        why: &'static str,
    },
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Look at the bytes `buf` (which start at a supposed record boundary).
pub fn scan(buf: &Bytes) -> Scan {
    if buf.len() < HEADER {
        return Scan::Incomplete;
    }
    let why = if u32_at(buf, 0) != MAGIC {
        "no record marker"
    } else {
        let len = u32_at(buf, 4) as usize;
        if len > MAX_PAYLOAD {
            "record length out of range"
        } else if buf.len() < HEADER + len {
            return Scan::Incomplete;
        } else if CRC32C.checksum(&buf[HEADER..HEADER + len]) != u32_at(buf, 8) {
            "checksum mismatch"
        } else {
            return Scan::Record {
                size: HEADER + len,
                payload: buf.slice(HEADER..HEADER + len),
            };
        }
    };
    Scan::Damaged {
        skip: next_marker(buf, 1).unwrap_or(buf.len()),
        why,
    }
}

/// The next offset at or after `from` where a record marker starts.
fn next_marker(buf: &[u8], from: usize) -> Option<usize> {
    let needle = MAGIC.to_le_bytes();
    memchr::memmem::find(buf.get(from..)?, &needle).map(|i| from + i)
}

/// Decode a payload that passed its checksum. `None` if its inner lengths
/// do not add up (a writer bug or a checksum collision): treated as damage.
pub fn decode(payload: &Bytes, intern: &mut dyn FnMut(&str) -> Arc<str>) -> Option<Decoded> {
    let b = &payload[..];
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Option<std::ops::Range<usize>> {
        let r = *at..at.checked_add(n)?;
        if r.end > b.len() {
            return None;
        }
        *at = r.end;
        Some(r)
    };
    let r = take(&mut at, 2)?;
    let slen = u16::from_le_bytes([b[r.start], b[r.start + 1]]) as usize;
    let r = take(&mut at, slen)?;
    let source = intern(std::str::from_utf8(&b[r]).ok()?);
    let r = take(&mut at, 4)?;
    let count = u32_at(b, r.start) as usize;
    let mut events = Vec::with_capacity(count.min(b.len() / 16));
    for _ in 0..count {
        let r = take(&mut at, 16)?;
        let class_uid = u32_at(b, r.start);
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[r.start + 4..r.start + 12]);
        let time_ms = i64::from_le_bytes(t);
        let jlen = u32_at(b, r.start + 12) as usize;
        let r = take(&mut at, jlen)?;
        events.push(Encoded {
            json: payload.slice(r),
            class_uid,
            time_ms,
        });
    }
    (at == b.len()).then_some(Decoded { source, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str, class: u32) -> Encoded {
        Encoded {
            json: Bytes::copy_from_slice(s.as_bytes()),
            class_uid: class,
            time_ms: -5,
        }
    }

    fn one(buf: &Bytes) -> (usize, Decoded) {
        match scan(buf) {
            Scan::Record { size, payload } => {
                (size, decode(&payload, &mut |s: &str| Arc::from(s)).unwrap())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        let n = encode("mail", &[ev("{\"a\":1}", 4009), ev("{}", 0)], &mut out);
        assert_eq!(n, out.len());
        let (size, d) = one(&Bytes::from(out));
        assert_eq!(size, n);
        assert_eq!(&*d.source, "mail");
        assert_eq!(d.events.len(), 2);
        assert_eq!(&d.events[0].json[..], b"{\"a\":1}");
        assert_eq!((d.events[0].class_uid, d.events[0].time_ms), (4009, -5));
        assert_eq!(&d.events[1].json[..], b"{}");
    }

    #[test]
    fn short_input_is_incomplete() {
        let mut out = Vec::new();
        encode("s", &[ev("{\"x\":true}", 1)], &mut out);
        for cut in [0, 5, HEADER, out.len() - 1] {
            let b = Bytes::copy_from_slice(&out[..cut]);
            assert!(matches!(scan(&b), Scan::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_byte_is_skipped_up_to_the_next_record() {
        let mut out = Vec::new();
        let first = encode("s", &[ev("{\"n\":1}", 1)], &mut out);
        encode("s", &[ev("{\"n\":2}", 1)], &mut out);
        out[HEADER + 3] ^= 0x40;
        let b = Bytes::from(out);
        match scan(&b) {
            Scan::Damaged { skip, why } => {
                assert_eq!(skip, first);
                assert_eq!(why, "checksum mismatch");
            }
            other => panic!("{other:?}"),
        }
        let (_, d) = one(&b.slice(first..));
        assert_eq!(&d.events[0].json[..], b"{\"n\":2}");
    }

    #[test]
    fn garbage_without_a_marker_is_skipped_whole() {
        let b = Bytes::from(vec![0xAB; 100]);
        assert!(matches!(
            scan(&b),
            Scan::Damaged {
                skip: 100,
                why: "no record marker"
            }
        ));
    }
}
