//! Queue-ID assembly: the lines of one message, joined.
//!
//! Each open message is an [`OpenMsg`] keyed by (syslog host, queue ID). It
//! owns what it keeps in one `String` arena per message (fields are byte
//! spans into it), so holding a message costs one growing allocation plus
//! the recipient vector, not one allocation per field.
//!
//! Bounds (see the module doc of `postfix` for when a message is emitted):
//! at most `max_open` messages are open; opening one more emits the oldest.
//! A message first seen more than `open_ttl_ms` (event time) before the
//! current line is emitted with what it has. Per message at most
//! [`MAX_RCPTS`] recipients and [`MAX_NOTES`] notes/actions are kept (the
//! rest is counted), and the arena stops growing past [`MAX_ARENA`] bytes.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::hash::Hash;

/// Most recipients kept per message (more are counted in `rcpts_dropped`).
pub const MAX_RCPTS: usize = 1000;
/// Most actions / notes / notifications kept per message.
pub const MAX_NOTES: usize = 16;
/// Longest text kept for one note.
pub const MAX_NOTE_LEN: usize = 512;
/// Largest arena per message; past it new text is not kept.
pub const MAX_ARENA: usize = 256 * 1024;

/// A byte range in an [`OpenMsg`]'s arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span(u32, u32);

/// Why a message was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitReason {
    /// qmgr `removed`: the message left the queue.
    Removed,
    /// cleanup / milter rejected or discarded it: it never got queued.
    Rejected,
    /// Open longer than `open_ttl_ms`.
    Ttl,
    /// `max_open` reached and it was the oldest.
    Capacity,
    /// [`Decoder::flush`](crate::Decoder::flush).
    Flush,
}

impl EmitReason {
    /// Lower-case name for `unmapped`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmitReason::Removed => "removed",
            EmitReason::Rejected => "rejected",
            EmitReason::Ttl => "ttl",
            EmitReason::Capacity => "capacity",
            EmitReason::Flush => "flush",
        }
    }
}

/// Where the message entered Postfix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// Not seen.
    #[default]
    Unknown,
    /// smtpd `client=`.
    Smtpd,
    /// pickup (local submission, `sendmail` command).
    Pickup,
}

/// One recipient's latest outcome.
#[derive(Debug, Clone, Default)]
pub struct Rcpt {
    /// `to=`.
    pub to: Span,
    /// `orig_to=`.
    pub orig_to: Option<Span>,
    /// `relay=`.
    pub relay: Option<Span>,
    /// `delay=` seconds.
    pub delay: Option<f64>,
    /// `delays=` a/b/c/d.
    pub delays: Option<[f64; 4]>,
    /// `dsn=`.
    pub dsn: Option<Span>,
    /// `status=`.
    pub status: Span,
    /// Response text.
    pub response: Option<Span>,
    /// Delivery agent (`smtp`, `lmtp`, `local`, ...).
    pub agent: Span,
    /// Status lines seen for this recipient (retries).
    pub attempts: u32,
}

/// A policy action logged against the message (cleanup checks, milters).
#[derive(Debug, Clone, Copy, Default)]
pub struct ActionRec {
    /// `reject`, `hold`, `warning`, `milter-reject`, ...
    pub action: Span,
    /// `header`, `body`, `END-OF-MESSAGE`, `RCPT`.
    pub stage: Span,
    /// Checked header / reason text.
    pub text: Span,
}

/// Everything known about one open message.
#[derive(Debug, Clone, Default)]
pub struct OpenMsg {
    gen: u64,
    buf: String,
    /// `pos` of the first line folded in.
    pub first_pos: u64,
    /// Event time of the first and last line.
    pub first_ms: i64,
    /// Event time of the last line.
    pub last_ms: i64,
    /// Lines folded in.
    pub lines: u32,
    /// Queue ID.
    pub qid: Span,
    /// Syslog host.
    pub host: Option<Span>,
    /// Timestamp text of the first line.
    pub original_time: Option<Span>,
    /// How it entered.
    pub origin: Origin,
    /// smtpd client hostname / IP / port.
    pub client_host: Option<Span>,
    /// Client IP.
    pub client_ip: Option<Span>,
    /// Client port.
    pub client_port: Option<u16>,
    /// HELO (from a check line).
    pub helo: Option<Span>,
    /// SASL method / user of the submitting client.
    pub sasl_method: Option<Span>,
    /// SASL user.
    pub sasl_username: Option<Span>,
    /// pickup `uid=`.
    pub uid: Option<Span>,
    /// Message-ID without brackets.
    pub message_id: Option<Span>,
    /// Envelope sender (`Some(empty)` for the null sender).
    pub from: Option<Span>,
    /// qmgr `size=`.
    pub size: Option<i64>,
    /// qmgr `nrcpt=`.
    pub nrcpt: Option<i64>,
    /// Recipients, in first-seen order.
    pub rcpts: Vec<Rcpt>,
    /// Recipients not kept (over [`MAX_RCPTS`]).
    pub rcpts_dropped: u32,
    /// Policy actions.
    pub actions: Vec<ActionRec>,
    /// (kind, text) notes.
    pub notes: Vec<(&'static str, Span)>,
    /// (kind, new queue ID) bounce/delay notifications.
    pub notifications: Vec<(Span, Span)>,
    /// Notes/actions not kept.
    pub notes_dropped: u32,
    /// qmgr expired it.
    pub expired: bool,
    /// qmgr removed it.
    pub removed: bool,
    /// DKIM result / signing domain (OpenDKIM).
    pub dkim: Option<Span>,
    /// DKIM domain.
    pub dkim_domain: Option<Span>,
    /// DMARC result (OpenDMARC).
    pub dmarc: Option<Span>,
    /// DMARC domain.
    pub dmarc_domain: Option<Span>,
}

impl OpenMsg {
    /// The text of a span.
    pub fn get(&self, s: Span) -> &str {
        self.buf.get(s.0 as usize..s.1 as usize).unwrap_or("")
    }

    /// The text of an optional span.
    pub fn opt(&self, s: Option<Span>) -> Option<&str> {
        s.map(|s| self.get(s))
    }

    /// Copy `s` into the arena.
    pub fn put(&mut self, s: &str) -> Span {
        if self.buf.len() + s.len() > MAX_ARENA {
            return Span::default();
        }
        let start = self.buf.len() as u32;
        self.buf.push_str(s);
        Span(start, self.buf.len() as u32)
    }

    /// Copy `s` into the arena unless an equal text is already in `cur`.
    pub fn set(&mut self, cur: Option<Span>, s: &str) -> Option<Span> {
        if let Some(c) = cur {
            if self.get(c) == s {
                return Some(c);
            }
        }
        Some(self.put(s))
    }

    /// Add a note, bounded.
    pub fn note(&mut self, kind: &'static str, text: &str) {
        if self.notes.len() >= MAX_NOTES {
            self.notes_dropped += 1;
            return;
        }
        let text = truncate(text, MAX_NOTE_LEN);
        let s = self.put(text);
        self.notes.push((kind, s));
    }

    /// Add a policy action, bounded.
    pub fn action(&mut self, action: &str, stage: &str, text: &str) {
        if self.actions.len() >= MAX_NOTES {
            self.notes_dropped += 1;
            return;
        }
        let rec = ActionRec {
            action: self.put(action),
            stage: self.put(stage),
            text: self.put(truncate(text, MAX_NOTE_LEN)),
        };
        self.actions.push(rec);
    }

    /// The recipient entry for (`to`, `orig_to`), created if new (`None`
    /// when over [`MAX_RCPTS`]).
    pub fn rcpt(&mut self, to: &str, orig_to: Option<&str>) -> Option<usize> {
        let found = self
            .rcpts
            .iter()
            .position(|r| self.get(r.to) == to && self.opt(r.orig_to) == orig_to);
        if found.is_some() {
            return found;
        }
        if self.rcpts.len() >= MAX_RCPTS {
            self.rcpts_dropped += 1;
            return None;
        }
        let to = self.put(to);
        let orig_to = orig_to.map(|o| self.put(o));
        self.rcpts.push(Rcpt {
            to,
            orig_to,
            ..Default::default()
        });
        Some(self.rcpts.len() - 1)
    }
}

/// Cut `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut k = max;
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    &s[..k]
}

/// Hashes the syslog host into [`Key`]: fixed seed, so keys are stable for
/// the life of the process; foldhash because this runs once per line.
const FIXED: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x001d_114b);

/// Hash-map key: (hash of the syslog host, queue ID inline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    host: u64,
    len: u8,
    qid: [u8; 24],
}

impl Key {
    fn new(host: Option<&str>, qid: &str) -> Key {
        let mut k = Key {
            host: FIXED.hash_one(host),
            len: 0,
            qid: [0; 24],
        };
        let b = qid.as_bytes();
        let n = b.len().min(24);
        k.qid[..n].copy_from_slice(&b[..n]);
        k.len = n as u8;
        k
    }
}

/// The open messages, with their bounds.
#[derive(Debug)]
pub struct Assembler {
    open: HashMap<Key, OpenMsg, foldhash::fast::RandomState>,
    /// Open order: (key, generation). Entries whose message was emitted
    /// are skipped lazily.
    order: VecDeque<(Key, u64)>,
    next_gen: u64,
    max_open: usize,
    ttl_ms: i64,
}

impl Assembler {
    /// An empty assembler with the given bounds (`max_open` at least 1).
    pub fn new(max_open: usize, ttl_ms: i64) -> Self {
        Assembler {
            open: HashMap::default(),
            order: VecDeque::new(),
            next_gen: 0,
            max_open: max_open.max(1),
            ttl_ms,
        }
    }

    /// Messages open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// True if nothing is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Smallest `pos` still held.
    pub fn oldest_held(&self) -> Option<u64> {
        // `order` is purged so its front is live; first_pos grows with it.
        self.order
            .front()
            .and_then(|(k, _)| self.open.get(k))
            .map(|m| m.first_pos)
    }

    fn purge_front(&mut self) {
        while let Some((k, g)) = self.order.front() {
            match self.open.get(k) {
                Some(m) if m.gen == *g => break,
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Emit (through `out`) messages open for longer than the TTL at event
    /// time `now_ms`.
    pub fn expire(&mut self, now_ms: i64, out: &mut dyn FnMut(OpenMsg, EmitReason)) {
        self.purge_front();
        while let Some((k, _)) = self.order.front().copied() {
            let stale = self
                .open
                .get(&k)
                .is_some_and(|m| m.first_ms.saturating_add(self.ttl_ms) < now_ms);
            if !stale {
                break;
            }
            self.order.pop_front();
            if let Some(m) = self.open.remove(&k) {
                out(m, EmitReason::Ttl);
            }
            self.purge_front();
        }
    }

    /// The open message for (`host`, `qid`), opened (and the oldest emitted
    /// if over capacity) when new.
    pub fn entry(
        &mut self,
        host: Option<&str>,
        qid: &str,
        pos: u64,
        time_ms: i64,
        original_time: Option<&str>,
        out: &mut dyn FnMut(OpenMsg, EmitReason),
    ) -> &mut OpenMsg {
        let key = Key::new(host, qid);
        if !self.open.contains_key(&key) && self.open.len() >= self.max_open {
            self.purge_front();
            if let Some((k, _)) = self.order.pop_front() {
                if let Some(m) = self.open.remove(&k) {
                    out(m, EmitReason::Capacity);
                }
            }
            self.purge_front();
        }
        let gen = self.next_gen;
        let m = match self.open.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                self.next_gen += 1;
                self.order.push_back((key, gen));
                let mut m = OpenMsg {
                    gen,
                    first_pos: pos,
                    first_ms: time_ms,
                    last_ms: time_ms,
                    ..Default::default()
                };
                m.buf.reserve(256);
                m.qid = m.put(qid);
                m.host = host.map(|h| m.put(h));
                m.original_time = original_time.map(|t| m.put(t));
                e.insert(m)
            }
        };
        m.lines += 1;
        m.last_ms = m.last_ms.max(time_ms);
        m
    }

    /// Take (`host`, `qid`) out, to emit it.
    pub fn take(&mut self, host: Option<&str>, qid: &str) -> Option<OpenMsg> {
        let m = self.open.remove(&Key::new(host, qid));
        self.purge_front();
        m
    }

    /// Emit everything, oldest first.
    pub fn drain(&mut self, out: &mut dyn FnMut(OpenMsg, EmitReason)) {
        while let Some((k, g)) = self.order.pop_front() {
            if self.open.get(&k).is_some_and(|m| m.gen == g) {
                if let Some(m) = self.open.remove(&k) {
                    out(m, EmitReason::Flush);
                }
            }
        }
        // Anything left (cannot happen: every open key is in `order`).
        for (_, m) in self.open.drain() {
            out(m, EmitReason::Flush);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ordered() {
        let mut a = Assembler::new(2, 1000);
        let mut out = Vec::new();
        let mut sink = |m: OpenMsg, r: EmitReason| out.push((m.get(m.qid).to_string(), r));
        a.entry(None, "AAAAA1", 1, 0, None, &mut sink);
        a.entry(None, "AAAAA2", 2, 10, None, &mut sink);
        assert_eq!(a.oldest_held(), Some(1));
        a.entry(None, "AAAAA1", 3, 20, None, &mut sink); // existing: no eviction
        a.entry(None, "AAAAA3", 4, 30, None, &mut sink); // evicts AAAAA1
        assert_eq!(a.oldest_held(), Some(2));
        let t = a.take(None, "AAAAA2").unwrap();
        assert_eq!(t.first_pos, 2);
        assert_eq!(a.oldest_held(), Some(4));
        a.entry(Some("mx2"), "AAAAA3", 5, 40, None, &mut sink); // other host: separate
        assert_eq!(a.len(), 2);
        a.expire(1035, &mut sink); // AAAAA3@none first seen at 30
        a.drain(&mut sink);
        assert!(a.is_empty());
        assert_eq!(a.oldest_held(), None);
        assert_eq!(
            out,
            vec![
                ("AAAAA1".to_string(), EmitReason::Capacity),
                ("AAAAA3".to_string(), EmitReason::Ttl),
                ("AAAAA3".to_string(), EmitReason::Flush)
            ]
        );
    }

    #[test]
    fn arena_and_bounds() {
        let mut m = OpenMsg::default();
        let s = m.put("abc");
        assert_eq!(m.get(s), "abc");
        let s2 = m.set(Some(s), "abc");
        assert_eq!(s2, Some(s));
        for k in 0..(MAX_NOTES + 3) {
            m.note("x", &k.to_string());
        }
        assert_eq!(m.notes.len(), MAX_NOTES);
        assert_eq!(m.notes_dropped, 3);
        assert_eq!(truncate("héllo", 2), "h");
        let r = m.rcpt("a@b.c", None);
        assert_eq!(m.rcpt("a@b.c", None), r);
        assert_ne!(m.rcpt("a@b.c", Some("x")), r);
    }
}
