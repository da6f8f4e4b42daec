//! Compact JSON writer for events: the same bytes as
//! `serde_json::to_writer`, written straight into a growable buffer.
//!
//! An Okta event is ~150 strings (keys and values). serde_json writes each
//! one as three `io::Write::write_all` calls (quote, contents, quote) and
//! checks the contents byte by byte; through a `BytesMut` writer that call
//! overhead was a tenth of the agent's CPU. Here every write is an inline
//! append to a buffer reserved once per string, and string contents are
//! checked for characters that need escaping eight bytes at a time.
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

/// Where the writer appends bytes.
pub trait Out {
    /// Append `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Append one byte.
    fn put_u8(&mut self, b: u8);
    /// Make room for at least `n` more bytes.
    fn reserve(&mut self, n: usize);
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

    /// One member: `key` is its `"name":`, already quoted.
    #[inline]
    pub fn field<T: WriteJson + ?Sized>(&mut self, key: &[u8], v: &T) -> Result<(), Error> {
        if self.first {
            self.first = false;
        } else {
            self.out.put_u8(b',');
        }
        self.out.put(key);
        v.write_json(self.out)
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
        put_str(out, self);
        Ok(())
    }
}

impl WriteJson for serde_json::Value {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        to_out(self, out)
    }
}

impl WriteJson for super::Unmapped<'_> {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        to_out(self, out)
    }
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
fn escape_mask(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero(w ^ (ONES * b'"' as u64))
        | zero(w ^ (ONES * b'\\' as u64))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn put_escape<O: Out>(out: &mut O, b: u8) {
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
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(w)
    };
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
        let half = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
        escape_mask(half(0) | half(n - 4) << 32) != 0
    } else if n > 0 {
        // 1 to 3 bytes: these three positions cover them all.
        let (a, m, z) = (b[0], b[n / 2], b[n - 1]);
        escape_mask(u64::from_le_bytes([a, m, z, b'a', b'a', b'a', b'a', b'a'])) != 0
    } else {
        false
    }
}

/// `s` as a JSON string, quotes included.
#[inline]
fn put_str<O: Out>(out: &mut O, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.put_u8(b'"');
    if has_escape(bytes) {
        put_escaped(out, bytes);
    } else {
        out.put(bytes);
    }
    out.put_u8(b'"');
}

/// String contents with at least one byte to escape.
#[cold]
fn put_escaped<O: Out>(out: &mut O, bytes: &[u8]) {
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

fn put_u128<O: Out>(out: &mut O, mut n: u128) {
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

#[inline]
fn put_u64<O: Out>(out: &mut O, mut n: u64) {
    let mut buf = [0u8; 20];
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

#[inline]
fn put_i64<O: Out>(out: &mut O, n: i64) {
    if n < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, n.unsigned_abs());
}

/// A float exactly as serde_json writes it (`null` when not finite).
fn put_float<O: Out, F: Serialize>(out: &mut O, f: F) -> Result<(), Error> {
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
        put_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        put_str(self.out, v);
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
        put_str(self.out, variant);
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
        put_str(self.out, variant);
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
        put_str(self.out, variant);
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
        put_str(self.out, variant);
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
        put_str(self.w.out, key);
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
        put_str(self.w.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        put_str(self.w.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        put_str(self.w.out, variant);
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

    /// Same bytes as serde_json, or the same refusal.
    fn same<T: Serialize + ?Sized>(v: &T) {
        let want = serde_json::to_vec(v);
        let got = to_vec(v);
        match (want, got) {
            (Ok(w), Ok(g)) => assert_eq!(String::from_utf8_lossy(&g), String::from_utf8_lossy(&w)),
            (Err(_), Err(_)) => {}
            (w, g) => panic!("serde_json {w:?}, here {g:?}"),
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
