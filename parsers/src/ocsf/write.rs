//! Compact JSON writer for events: the same bytes as
//! `serde_json::to_writer`, written straight into a growable buffer.
//!
//! An Okta event is ~170 strings (keys and values). serde_json writes each
//! one as three `io::Write::write_all` calls (quote, contents, quote) and
//! checks the contents byte by byte; through a `BytesMut` writer that call
//! overhead was a tenth of the agent's CPU. Here every write is an inline
//! append to a buffer reserved once per string.
//!
//! The agent writes into a [`JsonBuf`], whose memory past the output is
//! kept initialised, so a string is written as: one capacity check, the
//! quote, the contents copied in fixed-size moves (no `memcpy` call for
//! short ones), the check for characters that need escaping made on 16
//! bytes at a time (a form the compiler turns into a few SIMD instructions)
//! and the closing quote. The check is exact: from 16 bytes on, chunks of
//! the string itself are checked, the last one ending at its end; a
//! shorter string is checked as one 16-byte chunk of the output whose bytes
//! past the string were first set to a space. Any string with a character
//! to escape is written again by the plain byte-by-byte escaper. A member
//! key and its string value, and a `"name":` of a JSON tree, are each
//! written in one such step. Any other [`Out`] (a `Vec<u8>`) takes the
//! plain path, checking eight bytes at a time in a `u64`.
//!
//! JSON trees ([`J`], `serde_json::Value`) and `unmapped` are written
//! directly rather than through serde's `Serializer`, in the same order
//! serde would (object members of a `J` in key order, the last of equal
//! keys winning; a `Value` map in its own order).
//!
//! The output is byte-for-byte what serde_json's compact formatter writes
//! (the tests compare both over every JSON shape an event can hold): the
//! same escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control
//! characters as lower-case `\u00XX`, nothing else), integers in decimal,
//! floats through serde_json itself (they are rare: coordinates), non-finite
//! floats as `null`, map keys that are numbers or booleans quoted, and a
//! `serde_json::value::RawValue` copied verbatim.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};
use serde_json::Value;

use crate::common::jtree::J;

/// Where the writer appends bytes.
pub trait Out {
    /// Append `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Append one byte.
    fn put_u8(&mut self, b: u8);
    /// Make room for at least `n` more bytes.
    fn reserve(&mut self, n: usize);
    /// Append `s` as a JSON string, quotes included.
    #[inline]
    fn put_str(&mut self, s: &str) {
        put_str_bytes(self, s.as_bytes());
    }
    /// Append an object member's `"name":` (already quoted and escaped),
    /// after a comma unless it is the object's first member.
    #[inline]
    fn put_key<const N: usize>(&mut self, first: bool, key: &[u8; N]) {
        if !first {
            self.put_u8(b',');
        }
        self.put(key);
    }
    /// Append an object member whose value is a string: `key` as for
    /// [`Out::put_key`], then `s` as a JSON string.
    #[inline]
    fn put_key_str<const N: usize>(&mut self, first: bool, key: &[u8; N], s: &str) {
        self.put_key(first, key);
        self.put_str(s);
    }
    /// Append an object member's name (any text) as `"name":`, after a
    /// comma unless it is the object's first member.
    #[inline]
    fn put_name(&mut self, first: bool, name: &str) {
        if !first {
            self.put_u8(b',');
        }
        self.put_str(name);
        self.put_u8(b':');
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn put_u8(&mut self, b: u8) {
        self.push(b);
    }
    #[inline]
    fn reserve(&mut self, n: usize) {
        Vec::reserve(self, n);
    }
}

/// Why a value could not be written (only map keys that are not strings,
/// numbers or booleans, and errors raised by a `Serialize` impl itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Append `value` as compact JSON to `out`. On error, `out` may hold part
/// of the value.
pub fn to_out<T: Serialize + ?Sized, O: Out>(value: &T, out: &mut O) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut v = Vec::with_capacity(1024);
    to_out(value, &mut v)?;
    Ok(v)
}

/// A value written without going through serde: the generated OCSF types
/// (`generated.rs` implements it for every struct, each `"key":` a literal
/// written in one piece) and what their fields hold. The bytes are the
/// same as [`to_out`] gives; JSON values and `unmapped` go through it.
pub trait WriteJson {
    /// Append `self` as compact JSON.
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error>;

    /// Append `self` as an object member named by `key` (see
    /// [`Out::put_key`]); strings write both in one go.
    #[inline]
    fn write_member<O: Out, const N: usize>(
        &self,
        out: &mut O,
        first: bool,
        key: &[u8; N],
    ) -> Result<(), Error> {
        out.put_key(first, key);
        self.write_json(out)
    }
}

/// The members of an object a generated [`WriteJson`] impl writes.
pub struct Object<'o, O: Out> {
    out: &'o mut O,
    first: bool,
}

impl<'o, O: Out> Object<'o, O> {
    /// `{`.
    #[inline]
    pub fn start(out: &'o mut O) -> Self {
        out.put_u8(b'{');
        Object { out, first: true }
    }

    /// One member: `key` is its `"name":`, already quoted (an array, so
    /// that its length is a constant and it is copied in fixed-size moves).
    #[inline]
    pub fn field<const N: usize, T: WriteJson + ?Sized>(
        &mut self,
        key: &[u8; N],
        v: &T,
    ) -> Result<(), Error> {
        let first = self.first;
        self.first = false;
        v.write_member(self.out, first, key)
    }

    /// `}`.
    #[inline]
    pub fn end(self) {
        self.out.put_u8(b'}');
    }
}

macro_rules! write_int {
    ($($t:ty),*) => {$(
        impl WriteJson for $t {
            #[inline]
            fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
                put_i64(out, i64::from(*self));
                Ok(())
            }
        }
    )*};
}
write_int!(i32, i64, u16);

impl WriteJson for bool {
    #[inline]
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        out.put(if *self { b"true" } else { b"false" });
        Ok(())
    }
}

impl WriteJson for f64 {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        put_float(out, *self)
    }
}

impl WriteJson for std::borrow::Cow<'_, str> {
    #[inline]
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        out.put_str(self);
        Ok(())
    }

    #[inline]
    fn write_member<O: Out, const N: usize>(
        &self,
        out: &mut O,
        first: bool,
        key: &[u8; N],
    ) -> Result<(), Error> {
        out.put_key_str(first, key, self);
        Ok(())
    }
}

impl WriteJson for str {
    #[inline]
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        out.put_str(self);
        Ok(())
    }
}

/// Written as serde_json writes a `Value`: object members in the map's
/// own order.
impl WriteJson for Value {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        match self {
            Value::Null => out.put(b"null"),
            Value::Bool(b) => b.write_json(out)?,
            Value::Number(n) => put_number(out, n)?,
            Value::String(s) => out.put_str(s),
            Value::Array(a) => a.write_json(out)?,
            Value::Object(m) => {
                out.put_u8(b'{');
                for (i, (k, v)) in m.iter().enumerate() {
                    out.put_name(i == 0, k);
                    v.write_json(out)?;
                }
                out.put_u8(b'}');
            }
        }
        Ok(())
    }
}

/// Written as the `serde_json::Value` it stands for (what its `Serialize`
/// impl writes): object members in key order, the last of equal keys
/// winning.
impl WriteJson for J<'_> {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        match self {
            J::Null => out.put(b"null"),
            J::Bool(b) => b.write_json(out)?,
            J::Num(n) => put_number(out, n)?,
            J::Str(s) => out.put_str(s),
            J::Arr(a) => a.write_json(out)?,
            J::Obj(m) => write_members(out, m)?,
        }
        Ok(())
    }
}

/// `a < b`, deciding on the first byte when it differs (most keys of an
/// object do) before comparing the whole strings.
#[inline]
fn key_less(a: &str, b: &str) -> bool {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

/// `members` as a JSON object the way a `serde_json::Map` built from them
/// in this order holds them: keys in byte order, the last of equal keys
/// winning (what `jtree::serialize_members` gives through serde). Members
/// already in strictly ascending key order are written as they are.
pub fn write_members<O: Out, K: AsRef<str>, V: WriteJson>(
    out: &mut O,
    members: &[(K, V)],
) -> Result<(), Error> {
    out.put_u8(b'{');
    if members
        .windows(2)
        .all(|w| key_less(w[0].0.as_ref(), w[1].0.as_ref()))
    {
        for (i, (k, v)) in members.iter().enumerate() {
            out.put_name(i == 0, k.as_ref());
            v.write_json(out)?;
        }
    } else {
        let key = |i: usize| members[i].0.as_ref();
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        let mut first = true;
        for (n, &i) in order.iter().enumerate() {
            if order.get(n + 1).is_none_or(|&next| key(next) != key(i)) {
                out.put_name(first, key(i));
                first = false;
                members[i].1.write_json(out)?;
            }
        }
    }
    out.put_u8(b'}');
    Ok(())
}

impl<T: WriteJson + ?Sized> WriteJson for Box<T> {
    #[inline]
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        (**self).write_json(out)
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        out.put_u8(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            v.write_json(out)?;
        }
        out.put_u8(b']');
        Ok(())
    }
}

/// The serde_json name of its raw-value newtype: such a struct's one field
/// is already JSON and is copied as it is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

struct Writer<'o, O: Out> {
    out: &'o mut O,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Zero exactly when no byte of `w` is `"`, `\` or below 0x20 (the bytes
/// that must be escaped). Otherwise the lowest flagged byte is one of them;
/// bytes above it may be flagged wrongly (borrows run upwards).
#[inline]
pub(crate) fn escape_mask(w: u64) -> u64 {
    escape_bits(w) & HIGH
}

/// [`escape_mask`] before its final `& HIGH`, so that the flags of several
/// words can be OR-ed together and masked once: each term is the classic
/// "has a zero byte" test, `(v - 0x01..) & !v`, of `w` XOR `"`, of `w` XOR
/// `\`, and (with 0x20 subtracted) of "has a byte below 0x20". A byte of
/// 0x80 or more never sets its own high flag (`!v` clears it), and no flag
/// is set at all unless some byte really matches, since only a matching
/// byte starts a borrow.
#[inline(always)]
fn escape_bits(w: u64) -> u64 {
    let q = w ^ (ONES * b'"' as u64);
    let b = w ^ (ONES * b'\\' as u64);
    (q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b) | (w.wrapping_sub(ONES * 0x20) & !w)
}

/// Whether a JSON string cannot hold `b` unescaped: `"`, `\` or a control
/// character.
#[inline]
pub(crate) fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn put_escape<O: Out + ?Sized>(out: &mut O, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.put(b"\\\""),
        b'\\' => out.put(b"\\\\"),
        0x08 => out.put(b"\\b"),
        0x0c => out.put(b"\\f"),
        b'\n' => out.put(b"\\n"),
        b'\r' => out.put(b"\\r"),
        b'\t' => out.put(b"\\t"),
        _ => out.put(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xf) as usize],
        ]),
    }
}

/// Whether `b` holds a byte that must be escaped, eight bytes at a time
/// (the last word overlapping the one before it; short strings read as
/// overlapping halves).
#[inline]
fn has_escape(b: &[u8]) -> bool {
    let word = |i: usize| u64::from_le_bytes(load::<8>(b, i));
    let n = b.len();
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if escape_mask(word(i)) != 0 {
                return true;
            }
            i += 8;
        }
        i < n && escape_mask(word(n - 8)) != 0
    } else if n >= 4 {
        let half = |i: usize| u32::from_le_bytes(load::<4>(b, i)) as u64;
        escape_mask(half(0) | half(n - 4) << 32) != 0
    } else if n > 0 {
        // 1 to 3 bytes: these three positions cover them all.
        let (a, m, z) = (b[0], b[n / 2], b[n - 1]);
        escape_mask(u64::from_le_bytes([a, m, z, b'a', b'a', b'a', b'a', b'a'])) != 0
    } else {
        false
    }
}

/// The `N` bytes of `s` at `i`.
#[inline(always)]
fn load<const N: usize>(s: &[u8], i: usize) -> [u8; N] {
    let mut w = [0u8; N];
    w.copy_from_slice(&s[i..i + N]);
    w
}

/// Store `w` at `d[i..i + N]`.
#[inline(always)]
fn store<const N: usize>(d: &mut [u8], i: usize, w: [u8; N]) {
    d[i..i + N].copy_from_slice(&w);
}

/// Copy `src` into `dst` (of the same length). Up to 32 bytes (object keys,
/// numbers) this is two fixed-size copies that overlap in the middle rather
/// than a call to `memcpy`.
#[inline(always)]
fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    if n >= 16 {
        if n <= 32 {
            store::<16>(dst, 0, load::<16>(src, 0));
            store::<16>(dst, n - 16, load::<16>(src, n - 16));
        } else {
            dst.copy_from_slice(src);
        }
    } else if n >= 8 {
        store::<8>(dst, 0, load::<8>(src, 0));
        store::<8>(dst, n - 8, load::<8>(src, n - 8));
    } else if n >= 4 {
        store::<4>(dst, 0, load::<4>(src, 0));
        store::<4>(dst, n - 4, load::<4>(src, n - 4));
    } else if n > 0 {
        // 1 to 3 bytes: these three positions cover them all.
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// Whether a byte of `chunk` needs escaping. A byte `b` does exactly when
/// `min(b ^ '"', b ^ '\\', b -| 0x1f)` is zero (`-|` saturating): the
/// first two are zero only for `"` and `\\`, the third only below 0x20.
/// Written as one reduction over a fixed-size array of those bytewise
/// operations so that the compiler turns it into a few SIMD instructions
/// (SSE2 on x86_64: a dozen for the 16 bytes, where checking 8-byte words
/// in a `u64` takes three times that).
#[inline(always)]
fn any_escape16(chunk: &[u8; 16]) -> bool {
    let mut bad = false;
    for &b in chunk {
        bad |= (b ^ b'"').min(b ^ b'\\').min(b.saturating_sub(0x1f)) == 0;
    }
    bad
}

/// Copy `src` to the start of `dst` and tell whether none of its bytes
/// needs escaping (when one does, the copy is still made and the caller
/// writes the string again the slow way). `dst` must have room for
/// `src.len() + 16` bytes; the 16 past the copy may be overwritten.
///
/// From 16 bytes on, the string is copied and checked in 16-byte chunks,
/// the last one ending at the end of `src` (overlapping the one before
/// it), so every byte is checked and nothing outside `src` is read. A shorter string is copied over 16
/// bytes of plain filler in `dst` and that whole chunk is checked: its
/// bytes past the string are filler and never need escaping.
#[inline(always)]
fn copy_clean(dst: &mut [u8], src: &[u8]) -> bool {
    let n = src.len();
    if n >= 16 {
        // Every chunk but the last; stopping at the first byte to escape
        // also keeps the loop as it is written (a loop that can leave early
        // is not unrolled into a much larger vector loop).
        let mut i = 0;
        while i + 16 < n {
            let c = load::<16>(src, i);
            if any_escape16(&c) {
                return false;
            }
            store(dst, i, c);
            i += 16;
        }
        let c = load::<16>(src, n - 16);
        store(dst, n - 16, c);
        !any_escape16(&c)
    } else {
        store(dst, 0, [b' '; 16]);
        copy_small(&mut dst[..n], src);
        !any_escape16(&load::<16>(dst, 0))
    }
}

/// `bytes` as a JSON string, quotes included (any output; [`JsonBuf`]
/// has its own quicker way to the same bytes).
#[inline]
fn put_str_bytes<O: Out + ?Sized>(out: &mut O, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.put_u8(b'"');
    if has_escape(bytes) {
        put_escaped(out, bytes);
    } else {
        out.put(bytes);
    }
    out.put_u8(b'"');
}

/// `bytes` as a JSON string, quotes included, with its escapes.
#[cold]
#[inline(never)]
fn put_quoted_escaped<O: Out + ?Sized>(out: &mut O, bytes: &[u8]) {
    out.put_u8(b'"');
    put_escaped(out, bytes);
    out.put_u8(b'"');
}

/// String contents with at least one byte to escape.
#[cold]
fn put_escaped<O: Out + ?Sized>(out: &mut O, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if needs_escape(b) {
            out.put(&bytes[start..i]);
            put_escape(out, b);
            start = i + 1;
        }
    }
    out.put(&bytes[start..]);
}

/// A growable output buffer for events, quicker to append to than a
/// `Vec<u8>`: its bytes past the end of the output are kept initialised
/// (zero when first allocated, later whatever an earlier event left), so
/// a write takes a slice of that room, fills it with fixed-size copies
/// and moves the end, with one capacity check per string or key and no
/// `memcpy` call for short ones. Safe code: the room is a plain slice of
/// an initialised `Vec`.
#[derive(Debug, Clone, Default)]
pub struct JsonBuf {
    /// `mem[..len]` is the output; `mem[len..]` the room to write into.
    mem: Vec<u8>,
    len: usize,
}

impl JsonBuf {
    /// An empty buffer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        JsonBuf {
            mem: vec![0; n],
            len: 0,
        }
    }

    /// The bytes written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.mem[..self.len]
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget what was written (the memory is kept).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// `n` bytes of room just past the output.
    #[inline(always)]
    fn room(&mut self, n: usize) -> &mut [u8] {
        if self.mem.len() - self.len < n {
            self.grow(n);
        }
        &mut self.mem[self.len..self.len + n]
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        let want = (self.len + n).max(self.mem.len() * 2).max(256);
        self.mem.resize(want, 0);
    }
}

impl Out for JsonBuf {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        copy_small(self.room(n), bytes);
        self.len += n;
    }

    #[inline]
    fn put_u8(&mut self, b: u8) {
        self.room(1)[0] = b;
        self.len += 1;
    }

    #[inline]
    fn reserve(&mut self, n: usize) {
        self.room(n);
    }

    #[inline]
    fn put_str(&mut self, s: &str) {
        let src = s.as_bytes();
        let n = src.len();
        // 16 bytes more than the string needs, for `copy_clean`.
        let room = self.room(n + 18);
        room[0] = b'"';
        if copy_clean(&mut room[1..], src) {
            room[n + 1] = b'"';
            self.len += n + 2;
        } else {
            put_quoted_escaped(self, src);
        }
    }

    #[inline]
    fn put_key<const N: usize>(&mut self, first: bool, key: &[u8; N]) {
        // The comma is always stored; the key overwrites it when first.
        let c = usize::from(!first);
        let room = self.room(N + 1);
        room[0] = b',';
        room[c..c + N].copy_from_slice(key);
        self.len += c + N;
    }

    #[inline]
    fn put_key_str<const N: usize>(&mut self, first: bool, key: &[u8; N], s: &str) {
        let src = s.as_bytes();
        let n = src.len();
        let c = usize::from(!first);
        // Comma, key, two quotes, and 16 bytes more for `copy_clean`.
        let room = self.room(N + n + 19);
        room[0] = b',';
        room[c..c + N].copy_from_slice(key);
        let at = c + N;
        room[at] = b'"';
        if copy_clean(&mut room[at + 1..], src) {
            room[at + 1 + n] = b'"';
            self.len += at + n + 2;
        } else {
            self.len += at;
            put_quoted_escaped(self, src);
        }
    }

    #[inline]
    fn put_name(&mut self, first: bool, name: &str) {
        let src = name.as_bytes();
        let n = src.len();
        let c = usize::from(!first);
        // 16 bytes more than the name needs, for `copy_clean`.
        let room = self.room(n + 20);
        room[0] = b',';
        room[c] = b'"';
        if copy_clean(&mut room[c + 1..], src) {
            room[c + 1 + n] = b'"';
            room[c + 2 + n] = b':';
            self.len += c + n + 3;
        } else {
            if !first {
                self.put_u8(b',');
            }
            put_quoted_escaped(self, src);
            self.put_u8(b':');
        }
    }
}

fn put_u128<O: Out + ?Sized>(out: &mut O, mut n: u128) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(&buf[i..]);
}

/// "00" to "99".
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `n` in decimal, two digits at a time.
#[inline]
fn put_u64<O: Out + ?Sized>(out: &mut O, mut n: u64) {
    if n < 10 {
        out.put_u8(b'0' + n as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while n >= 100 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
    }
    if n >= 10 {
        let r = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    out.put(&buf[i..]);
}

#[inline]
fn put_i64<O: Out + ?Sized>(out: &mut O, n: i64) {
    if n < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, n.unsigned_abs());
}

/// A `serde_json::Number` as serde_json writes it: integers in decimal,
/// anything else (a float) through serde_json itself.
#[inline]
fn put_number<O: Out + ?Sized>(out: &mut O, n: &serde_json::Number) -> Result<(), Error> {
    if let Some(u) = n.as_u64() {
        put_u64(out, u);
        Ok(())
    } else if let Some(i) = n.as_i64() {
        put_i64(out, i);
        Ok(())
    } else {
        put_float(out, n)
    }
}

/// A float exactly as serde_json writes it (`null` when not finite).
fn put_float<O: Out + ?Sized, F: Serialize>(out: &mut O, f: F) -> Result<(), Error> {
    // Room for any float serde_json writes (at most 24 bytes).
    let mut buf = [0u8; 64];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    serde_json::to_writer(&mut cur, &f).map_err(|e| Error(e.to_string()))?;
    let n = cur.position() as usize;
    out.put(&buf[..n]);
    Ok(())
}

impl<'a, 'o, O: Out> ser::Serializer for &'a mut Writer<'o, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o, O>;
    type SerializeTuple = Compound<'a, 'o, O>;
    type SerializeTupleStruct = Compound<'a, 'o, O>;
    type SerializeTupleVariant = Compound<'a, 'o, O>;
    type SerializeMap = Compound<'a, 'o, O>;
    type SerializeStruct = Compound<'a, 'o, O>;
    type SerializeStructVariant = Compound<'a, 'o, O>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.put(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        put_i64(self.out, v.into());
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        put_i64(self.out, v.into());
        Ok(())
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        put_i64(self.out, v.into());
        Ok(())
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        put_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if v < 0 {
            self.out.put_u8(b'-');
        }
        put_u128(self.out, v.unsigned_abs());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        put_u64(self.out, v.into());
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        put_u64(self.out, v.into());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        put_u64(self.out, v.into());
        Ok(())
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        put_u64(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        put_u128(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        put_float(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        put_float(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.out.put_str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.out.put_str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.out.put(b"null");
        Ok(())
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.put(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.out.put(b"null");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.out.put_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.out.put_u8(b'{');
        self.out.put_str(variant);
        self.out.put_u8(b':');
        v.serialize(&mut *self)?;
        self.out.put_u8(b'}');
        Ok(())
    }
    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o, O>, Error> {
        self.out.put_u8(b'[');
        Ok(Compound::new(self, b']'))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o, O>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o, O>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o, O>, Error> {
        self.out.put_u8(b'{');
        self.out.put_str(variant);
        self.out.put(b":[");
        Ok(Compound::new(self, b']').then_close_outer())
    }
    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o, O>, Error> {
        self.out.put_u8(b'{');
        Ok(Compound::new(self, b'}'))
    }
    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o, O>, Error> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound::raw(self));
        }
        self.out.put_u8(b'{');
        Ok(Compound::new(self, b'}'))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o, O>, Error> {
        self.out.put_u8(b'{');
        self.out.put_str(variant);
        self.out.put(b":{");
        Ok(Compound::new(self, b'}').then_close_outer())
    }
}

/// An array, object or struct being written.
pub struct Compound<'a, 'o, O: Out> {
    w: &'a mut Writer<'o, O>,
    first: bool,
    close: u8,
    /// A variant wraps the value in one more object.
    outer: bool,
    /// A serde_json `RawValue`: its one field is written verbatim.
    raw: bool,
}

impl<'a, 'o, O: Out> Compound<'a, 'o, O> {
    fn new(w: &'a mut Writer<'o, O>, close: u8) -> Self {
        Compound {
            w,
            first: true,
            close,
            outer: false,
            raw: false,
        }
    }

    fn raw(w: &'a mut Writer<'o, O>) -> Self {
        Compound {
            raw: true,
            ..Compound::new(w, 0)
        }
    }

    fn then_close_outer(mut self) -> Self {
        self.outer = true;
        self
    }

    #[inline]
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.put_u8(b',');
        }
    }

    #[inline]
    fn finish(self) -> Result<(), Error> {
        if !self.raw {
            self.w.out.put_u8(self.close);
        }
        if self.outer {
            self.w.out.put_u8(b'}');
        }
        Ok(())
    }
}

impl<O: Out> ser::SerializeSeq for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.comma();
        v.serialize(&mut *self.w)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeTuple for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeTupleStruct for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeTupleVariant for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeMap for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        self.comma();
        k.serialize(KeyWriter { w: &mut *self.w })
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.w.out.put_u8(b':');
        v.serialize(&mut *self.w)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeStruct for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if self.raw {
            return v.serialize(RawWriter { w: &mut *self.w });
        }
        self.comma();
        self.w.out.put_str(key);
        self.w.out.put_u8(b':');
        v.serialize(&mut *self.w)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<O: Out> ser::SerializeStructVariant for Compound<'_, '_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

/// Writes a map key: a string, or a number or boolean in quotes (as
/// serde_json does).
struct KeyWriter<'a, 'o, O: Out> {
    w: &'a mut Writer<'o, O>,
}

impl<'a, 'o, O: Out> KeyWriter<'a, 'o, O> {
    fn quoted(self, f: impl FnOnce(&mut Writer<'o, O>) -> Result<(), Error>) -> Result<(), Error> {
        self.w.out.put_u8(b'"');
        f(self.w)?;
        self.w.out.put_u8(b'"');
        Ok(())
    }
}

impl<'a, 'o, O: Out> ser::Serializer for KeyWriter<'a, 'o, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.w.out.put_str(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.w.out.put_str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.w.out.put_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_bool(w, v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_i8(w, v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_i16(w, v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_i32(w, v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_i64(w, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_i128(w, v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_u8(w, v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_u16(w, v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_u32(w, v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_u64(w, v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(|w| ser::Serializer::serialize_u128(w, v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|w| ser::Serializer::serialize_f32(w, v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|w| ser::Serializer::serialize_f64(w, v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

/// Writes the text of a serde_json `RawValue` as it is.
struct RawWriter<'a, 'o, O: Out> {
    w: &'a mut Writer<'o, O>,
}

fn not_raw() -> Error {
    Error("a raw JSON value must be a string".into())
}

impl<'a, 'o, O: Out> ser::Serializer for RawWriter<'a, 'o, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.w.out.put(v.as_bytes());
        Ok(())
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_i8(self, _v: i8) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_i16(self, _v: i16) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_i32(self, _v: i32) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_i64(self, _v: i64) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_u8(self, _v: u8) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_u16(self, _v: u16) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_u32(self, _v: u32) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_u64(self, _v: u64) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_char(self, _v: char) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _v: &T,
    ) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<(), Error> {
        Err(not_raw())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_raw())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_raw())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_raw())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_raw())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_raw())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(not_raw())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    /// Same bytes as serde_json, or the same refusal, into a `Vec` and into
    /// a [`JsonBuf`] (empty, and holding leftovers of an earlier value).
    fn same<T: Serialize + ?Sized>(v: &T) {
        let want = serde_json::to_vec(v);
        let got = to_vec(v);
        let mut buf = JsonBuf::default();
        let in_buf = to_out(v, &mut buf).map(|()| buf.as_bytes().to_vec());
        let mut used = JsonBuf::with_capacity(8);
        to_out(&"\"\\\u{1}".repeat(40), &mut used).unwrap();
        used.clear();
        let in_used = to_out(v, &mut used).map(|()| used.as_bytes().to_vec());
        match (want, got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(String::from_utf8_lossy(&g), String::from_utf8_lossy(&w));
                assert_eq!(in_buf, Ok(w.clone()));
                assert_eq!(in_used, Ok(w));
            }
            (Err(_), Err(_)) => assert!(in_buf.is_err() && in_used.is_err()),
            (w, g) => panic!("serde_json {w:?}, here {g:?}"),
        }
    }

    /// What a JSON string of `bytes` is, one byte at a time.
    fn escaped_simply(bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![b'"'];
        for &b in bytes {
            if needs_escape(b) {
                put_escape(&mut v, b);
            } else {
                v.push(b);
            }
        }
        v.push(b'"');
        v
    }

    #[test]
    fn copy_clean_finds_every_byte_to_escape() {
        // Every byte value at every position of strings of 0 to 40 bytes,
        // read from every alignment of the source, into room that holds
        // leftovers which would need escaping.
        let mut src = [b'a'; 64];
        for len in 0..=40usize {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    for off in [0, 1, 3, 7, 8, 13] {
                        let s = &mut src[off..off + len];
                        s.fill(b'a');
                        if len > 0 {
                            s[at] = b;
                        }
                        let s = &src[off..off + len];
                        let mut dst = [b'"'; 64];
                        let clean = copy_clean(&mut dst[off..], s);
                        assert_eq!(clean, !s.iter().any(|&c| needs_escape(c)), "{s:?}");
                        if clean {
                            assert_eq!(&dst[off..off + len], s);
                        }
                        // The old check agrees.
                        assert_eq!(has_escape(s), !clean);
                    }
                }
            }
        }
        // Two bytes to escape, one of them in the last chunk only.
        for len in 16..=40 {
            for at in 0..len {
                let mut s = vec![b'x'; len];
                s[at] = b'\\';
                s[len - 1] = b'\n';
                let mut dst = [0u8; 64];
                assert!(!copy_clean(&mut dst, &s));
            }
        }
    }

    #[test]
    fn json_buf_strings_match_the_plain_writer() {
        let pieces = [
            "a", "\"", "\\", "\n", "\u{0}", "\u{1f}", "\u{7f}", " ", "é", "€", "😀", "\u{2028}",
        ];
        let mut used = JsonBuf::with_capacity(4);
        for len in 0..40 {
            for p in pieces {
                for at in 0..=len {
                    let s = format!("{}{p}{}", "b".repeat(at), "c".repeat(len - at));
                    let mut plain = Vec::new();
                    put_str_bytes(&mut plain, s.as_bytes());
                    assert_eq!(plain, escaped_simply(s.as_bytes()));
                    assert_eq!(plain, serde_json::to_vec(&s).unwrap());
                    let mut buf = JsonBuf::default();
                    buf.put_str(&s);
                    assert_eq!(buf.as_bytes(), &plain[..], "{s:?}");
                    // After other output, in a buffer with leftovers.
                    used.clear();
                    used.put(b"[");
                    used.put_str(&s);
                    used.put_u8(b',');
                    used.put_str(&s);
                    let mut want = b"[".to_vec();
                    want.extend_from_slice(&plain);
                    want.push(b',');
                    want.extend_from_slice(&plain);
                    assert_eq!(used.as_bytes(), &want[..]);
                    // As the value of a member, first and not.
                    for first in [true, false] {
                        let mut buf = JsonBuf::default();
                        buf.put_key_str(first, b"\"k\":", &s);
                        let mut v = Vec::new();
                        v.put_key_str(first, b"\"k\":", &s);
                        let mut want = if first { vec![] } else { vec![b','] };
                        want.extend_from_slice(b"\"k\":");
                        want.extend_from_slice(&plain);
                        assert_eq!(buf.as_bytes(), &want[..]);
                        assert_eq!(v, want);
                    }
                    // As a member name, first and not.
                    for first in [true, false] {
                        let mut buf = JsonBuf::default();
                        buf.put_name(first, &s);
                        let mut v = Vec::new();
                        v.put_name(first, &s);
                        let mut want = if first { vec![] } else { vec![b','] };
                        want.extend_from_slice(&plain);
                        want.push(b':');
                        assert_eq!(buf.as_bytes(), &want[..]);
                        assert_eq!(v, want);
                    }
                }
            }
        }
    }

    #[test]
    fn json_buf_raw_bytes_keys_and_growth() {
        let long: Vec<u8> = (0..200u8).collect();
        for len in 0..long.len() {
            let mut buf = JsonBuf::with_capacity(len / 2);
            buf.put(&long[..len]);
            buf.put(&long[..len]);
            assert_eq!(buf.len(), 2 * len);
            assert_eq!(&buf.as_bytes()[..len], &long[..len]);
            assert_eq!(&buf.as_bytes()[len..], &long[..len]);
        }
        fn key<const N: usize>(k: &[u8; N]) {
            for first in [true, false] {
                let mut buf = JsonBuf::default();
                buf.put_key(first, k);
                let mut v = Vec::new();
                v.put_key(first, k);
                assert_eq!(buf.as_bytes(), &v[..]);
                assert_eq!(v.len(), N + usize::from(!first));
                assert!(v.ends_with(k));
            }
        }
        key(b"");
        key(b"\"a\":");
        key(b"\"class_uid\":");
        key(b"\"a_key_of_exactly_thirty_two\":");
        key(b"\"transformation_info_list_and_more_than_thirty_two\":");
        let mut buf = JsonBuf::default();
        assert!(buf.is_empty());
        let mut obj = Object::start(&mut buf);
        obj.field(b"\"a\":", &1i32).unwrap();
        obj.field(b"\"bb\":", &std::borrow::Cow::Borrowed("x"))
            .unwrap();
        obj.end();
        assert_eq!(buf.as_bytes(), br#"{"a":1,"bb":"x"}"#);
    }

    #[test]
    fn integers_like_serde_json() {
        let mut nums: Vec<u64> = (0..=1000).collect();
        for p in 0..20 {
            let t = 10u64.pow(p);
            nums.extend([t - 1, t, t + 1, t.wrapping_mul(7).wrapping_add(3)]);
        }
        nums.extend([u64::MAX, u64::MAX - 1, i64::MAX as u64, 1_740_787_200_622]);
        for n in nums {
            let mut v = Vec::new();
            put_u64(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
            let mut buf = JsonBuf::default();
            put_u64(&mut buf, n);
            assert_eq!(buf.as_bytes(), &v[..]);
            let i = n as i64;
            let mut v = Vec::new();
            put_i64(&mut v, i);
            assert_eq!(v, i.to_string().into_bytes());
            let mut v = Vec::new();
            put_i64(&mut v, i.wrapping_neg());
            assert_eq!(v, i.wrapping_neg().to_string().into_bytes());
        }
    }

    #[test]
    fn trees_and_values_write_as_serde_json_does() {
        let recs: [&[u8]; 6] = [
            br#"{"b":[1,2.5,-3,null,true,"x"],"a":{"z":"\u00e9\"","y":{}},"a":"last","":[{"d":1,"c":2}]}"#,
            br#"{"k":18446744073709551615,"m":-9223372036854775808,"f":1e300,"g":-0.0,"h":6.4541}"#,
            br#"{"z":1,"y":{"x":{"w":[{"v":"\n\t\\"}],"a":false}},"y":2,"b":"\u0001"}"#,
            br#"[{"a":1,"a":2,"a":3},{},[],"",0,{"ab":1,"aa":2,"a":3,"b":4}]"#,
            br#"{"dtHash":"9c3808f7","factor":"OKTA_VERIFY_PUSH","factorIntent":"AUTHENTICATION"}"#,
            br#""just a string with a \" quote""#,
        ];
        for r in recs {
            let j = J::parse(r).unwrap();
            let want = serde_json::to_vec(&j.to_value()).unwrap();
            assert_eq!(serde_json::to_vec(&j).unwrap(), want);
            let mut v = Vec::new();
            j.write_json(&mut v).unwrap();
            assert_eq!(String::from_utf8_lossy(&v), String::from_utf8_lossy(&want));
            let mut buf = JsonBuf::default();
            j.write_json(&mut buf).unwrap();
            assert_eq!(buf.as_bytes(), &want[..]);
            let val: Value = serde_json::from_slice(r).unwrap();
            let mut buf = JsonBuf::default();
            val.write_json(&mut buf).unwrap();
            assert_eq!(buf.as_bytes(), &serde_json::to_vec(&val).unwrap()[..]);
        }
    }

    #[test]
    fn strings_escape_like_serde_json() {
        let mut all = String::new();
        for c in 0u8..0x80 {
            all.push(c as char);
        }
        all.push_str("é€😀\u{7f}\u{2028}");
        same(&all);
        // Every escape at every position of an 8-byte word, and runs of
        // plain text around them.
        for esc in [
            "\"", "\\", "\n", "\u{1}", "\u{1f}", "\t", "\u{8}", "\u{c}", "\r",
        ] {
            for pre in 0..20 {
                for post in [0, 1, 7, 8, 9] {
                    let s = format!("{}{esc}{}", "a".repeat(pre), "é".repeat(post));
                    same(&s);
                    same(&format!("{s}{s}{esc}{esc}"));
                }
            }
        }
        // Bytes just around the ones that need escaping.
        same("\u{1f} !#[]^_\u{7f}\u{80}\u{ff}");
        same("");
    }

    #[test]
    fn numbers_and_scalars() {
        same(&json!([
            0,
            -1,
            1,
            i64::MIN,
            i64::MAX,
            u64::MAX,
            1.5,
            -0.0,
            1e300,
            6.4541,
            3.3947,
            1e-7,
            123456789.125,
            true,
            false,
            null
        ]));
        same(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        same(&[f32::NAN, 1.1f32]);
        same(&(i128::MIN, u128::MAX, 'x', '"', (), b"ab".as_slice()));
        same(&[Some(1), None]);
    }

    #[test]
    fn nested_values_structs_and_enums() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct New(i32);
        #[derive(Serialize)]
        struct Tup(i32, &'static str);
        #[derive(Serialize)]
        enum E {
            A,
            B(i32),
            C(i32, i32),
            D { x: i32, y: Option<i32> },
        }
        #[derive(Serialize)]
        struct S {
            a: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            b: Option<i32>,
            #[serde(rename = "c\"q")]
            c: Vec<E>,
            d: Unit,
            e: New,
            f: Tup,
            g: std::collections::BTreeMap<i32, bool>,
            h: std::collections::BTreeMap<bool, ()>,
            i: std::collections::BTreeMap<char, Vec<()>>,
        }
        same(&S {
            a: Some("x\ny".into()),
            b: None,
            c: vec![E::A, E::B(1), E::C(2, 3), E::D { x: 4, y: None }],
            d: Unit,
            e: New(5),
            f: Tup(6, "t"),
            g: [(-1, true), (2, false)].into_iter().collect(),
            h: [(true, ())].into_iter().collect(),
            i: [('k', vec![(), ()])].into_iter().collect(),
        });
        same(&json!({"a": {"b": [{}, [], {"c": "d\u{0}"}], "e": 1}, "": ""}));
    }

    #[test]
    fn keys_that_are_not_strings() {
        let floats: Vec<(f64, i32)> = vec![(1.5, 1), (f64::NAN, 2)];
        #[derive(Serialize)]
        struct M(#[serde(with = "pairs")] Vec<(f64, i32)>);
        mod pairs {
            use serde::ser::SerializeMap;
            pub fn serialize<S: serde::Serializer>(
                v: &[(f64, i32)],
                s: S,
            ) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    m.serialize_entry(k, x)?;
                }
                m.end()
            }
        }
        same(&M(floats[..1].to_vec()));
        same(&M(floats));
        let mut by_vec = std::collections::BTreeMap::new();
        by_vec.insert(vec![1], 1);
        same(&by_vec);
    }

    #[test]
    fn raw_values_are_copied() {
        let raw = serde_json::value::RawValue::from_string(r#"{"z": [1, 2],"a":"\u00e9"}"#.into())
            .unwrap();
        same(&json!({"k": 1}));
        let mut m = std::collections::BTreeMap::new();
        m.insert("raw", &*raw);
        same(&m);
    }
}
