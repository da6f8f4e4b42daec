//! A direct reader of the LogEvent JSON into the borrowed structs of the
//! mapping, taken before the serde path.
//!
//! serde_json reaches each field through several layers of visitors and
//! scans every string twice (for the end, then for escapes); this reader
//! walks the record once, borrows every string without escapes, matches the
//! keys the mapping reads and skips the rest after checking that they are
//! well-formed JSON.
//!
//! It is exact because it gives up rather than guess: it returns `None` on
//! anything it does not treat exactly as serde would (an array where a
//! struct is expected, a duplicate field, a string with a control
//! character, a number in a place it does not expect, deep nesting,
//! trailing text, ...), and the caller then runs the serde path, which
//! decides the record as before. What it does accept, serde accepts too and
//! reads into the same values: strings with escapes and numbers are handed
//! to serde_json itself, one token at a time, so their values and text
//! (`Text` of a number, `J` numbers, `f64` rounding) come out of the same
//! code.

use std::borrow::Cow;

use super::{
    AuthContext, Client, DebugContext, EventOutcome, Geo, GeoPoint, IpChainEntry, LogEvent,
    Principal, Request, SecurityContext, Transaction, UserAgent,
};
use crate::common::jtree::{Text, J};
// The bytes that end a plain run of string text are the ones a JSON string
// cannot hold unescaped: the writer's test for them serves the reader too.
use crate::ocsf::write::{escape_mask, needs_escape};

/// Nesting deeper than this is left to serde (whose own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Read a whole record (leading and trailing JSON whitespace allowed) into
/// `ev`, a default one (it is large: filled in place, not moved). False
/// when the serde path has to decide the record; `ev` then holds whatever
/// was read before the reader gave up.
pub(super) fn read_log_event<'a>(text: &'a str, ev: &mut LogEvent<'a>) -> bool {
    let mut p = P {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.log_event(ev).is_none() {
        return false;
    }
    p.ws();
    p.i == p.b.len()
}

/// [`read_log_event`] into a new event, or `None`.
#[cfg(test)]
fn log_event(text: &str) -> Option<LogEvent<'_>> {
    let mut ev = LogEvent::default();
    read_log_event(text, &mut ev).then_some(ev)
}

/// Index of the first `"`, `\` or control character in `b` at or after
/// `i`, else `b.len()`.
fn scan(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let m = escape_mask(x);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !needs_escape(b[i]) {
        i += 1;
    }
    i
}

/// An `i64` field's value, as serde_json reads it: a token with a
/// fraction or an exponent is a float there, and so is `-0`, which an
/// `i64` refuses, as it does a value out of range. `t` is a number token
/// in JSON grammar.
fn int(t: &str) -> Option<i64> {
    if t == "-0" || t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return None;
    }
    t.parse().ok()
}

/// An `f64` field's value, as serde_json reads it (`t` is a number token
/// in JSON grammar). serde_json multiplies or divides the integer of the
/// digits by a power of ten; when both are exact in an `f64` (at most 15
/// digits, a power of at most 10^22) that one operation rounds correctly,
/// as `str::parse` does, so the two agree. Other tokens go to serde_json
/// itself, whose result can differ from the correctly rounded one.
fn float(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    let mut digits = 0u32;
    let mut fraction = 0i32;
    let mut i = usize::from(b.first() == Some(&b'-'));
    let mut in_fraction = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                fraction += i32::from(in_fraction);
            }
            b'.' => in_fraction = true,
            _ => break,
        }
        i += 1;
    }
    let mut exp = 0i32;
    if i < b.len() {
        // An exponent: `e`/`E`, a sign, digits (short ones only).
        let e = &t[i + 1..];
        if e.len() > 4 {
            return serde_json::from_str(t).ok();
        }
        exp = e.parse().ok()?;
    }
    if digits > 15 {
        return serde_json::from_str(t).ok();
    }
    if (-22..=22).contains(&(exp - fraction)) {
        t.parse().ok()
    } else {
        serde_json::from_str(t).ok()
    }
}

/// The reader: `s` is the record, `i` the next byte to read.
struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

/// Whether a field of a struct was seen already (serde rejects a second
/// one, so this reader leaves such a record to serde).
fn first(seen: &mut u32, bit: u32) -> Option<()> {
    let m = 1u32 << bit;
    if *seen & m != 0 {
        return None;
    }
    *seen |= m;
    Some(())
}

/// A new default element at the end of `v`, to read into.
fn push_default<T: Default>(v: &mut Vec<T>) -> &mut T {
    v.push(T::default());
    let last = v.len() - 1;
    &mut v[last]
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, w: &[u8]) -> Option<()> {
        if self.b[self.i..].starts_with(w) {
            self.i += w.len();
            Some(())
        } else {
            None
        }
    }

    /// A string (at its opening quote): borrowed when it has no escapes;
    /// with escapes, the string token is read by serde_json (same unescaping,
    /// same errors). Inline: it runs for every key and most values, and the
    /// escaped case, which needs far more registers, is kept out of line.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        let end = scan(self.b, start);
        if *self.b.get(end)? == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.s.get(start..end)?));
        }
        self.escaped_string(start, end)
    }

    /// The rest of a string that starts at `start` and holds an escape or a
    /// control character at `end`.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, end: usize) -> Option<Cow<'a, str>> {
        if self.b[end] != b'\\' {
            return None;
        }
        // Find the closing quote, stepping over escaped characters, then let
        // serde_json read the whole token.
        let mut j = end;
        loop {
            j = scan(self.b, j);
            match self.b.get(j)? {
                b'"' => break,
                b'\\' => j += 2,
                _ => return None,
            }
        }
        let token = self.s.get(start - 1..j + 1)?;
        let v: String = serde_json::from_str(token).ok()?;
        self.i = j + 1;
        Some(Cow::Owned(v))
    }

    /// A number token in strict JSON grammar (its value is left to
    /// serde_json).
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some(&self.s[start..self.i])
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// `null` (consumed) or not (nothing consumed).
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.lit(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// The members of an object: `f` reads the value of each key.
    fn object(&mut self, mut f: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if !self.eat(b'}') {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                let key = self.string()?;
                // Compact JSON (the usual delivery) has no blanks around
                // the colon: it is tried first.
                if !self.eat(b':') {
                    self.ws();
                    if !self.eat(b':') {
                        return None;
                    }
                }
                self.ws();
                f(self, key)?;
                if self.after_item(b'}')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// What follows a member of an object or an element of an array:
    /// `Some(true)` at the `close` bracket, `Some(false)` after a comma
    /// (and the blanks after it), both consumed; `None` for anything else.
    /// Compact JSON has no blanks before either: they are tried first.
    #[inline]
    fn after_item(&mut self, close: u8) -> Option<bool> {
        match self.peek() {
            Some(b',') => self.i += 1,
            Some(c) if c == close => {
                self.i += 1;
                return Some(true);
            }
            _ => {
                self.ws();
                if self.eat(close) {
                    return Some(true);
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        self.ws();
        Some(false)
    }

    /// The elements of an array: `f` reads each.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if !self.eat(b']') {
            loop {
                f(self)?;
                if self.after_item(b']')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Any value, checked and dropped.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let start = self.i + 1;
                let end = scan(self.b, start);
                if self.b.get(end) == Some(&b'"') {
                    self.i = end + 1;
                } else {
                    self.string()?;
                }
            }
            b'{' => self.object(|p, _| p.skip())?,
            b'[' => self.array(|p| p.skip())?,
            b'n' => self.lit(b"null")?,
            b't' => self.lit(b"true")?,
            b'f' => self.lit(b"false")?,
            _ => {
                self.number()?;
            }
        }
        Some(())
    }

    /// Any value as a [`J`] tree.
    fn j(&mut self) -> Option<J<'a>> {
        Some(match self.peek()? {
            b'"' => J::Str(self.string()?),
            b'{' => {
                let mut m = Vec::with_capacity(8);
                self.object(|p, k| {
                    m.push((k, p.j()?));
                    Some(())
                })?;
                J::Obj(m)
            }
            b'[' => {
                let mut v = Vec::with_capacity(8);
                self.array(|p| {
                    v.push(p.j()?);
                    Some(())
                })?;
                J::Arr(v)
            }
            b'n' => {
                self.lit(b"null")?;
                J::Null
            }
            b't' => {
                self.lit(b"true")?;
                J::Bool(true)
            }
            b'f' => {
                self.lit(b"false")?;
                J::Bool(false)
            }
            _ => serde_json::from_str(self.number()?).ok()?,
        })
    }

    /// An `Option<Text>` field.
    fn text(&mut self) -> Option<Option<Text<'a>>> {
        Some(match self.peek()? {
            b'"' => Some(Text(self.string()?)),
            b'n' => {
                self.lit(b"null")?;
                None
            }
            b't' => {
                self.lit(b"true")?;
                Some(Text(Cow::Borrowed("true")))
            }
            b'f' => {
                self.lit(b"false")?;
                Some(Text(Cow::Borrowed("false")))
            }
            _ => Some(serde_json::from_str(self.number()?).ok()?),
        })
    }

    fn opt_i64(&mut self) -> Option<Option<i64>> {
        if self.null()? {
            return Some(None);
        }
        Some(Some(int(self.number()?)?))
    }

    fn opt_f64(&mut self) -> Option<Option<f64>> {
        if self.null()? {
            return Some(None);
        }
        Some(Some(float(self.number()?)?))
    }

    fn opt_bool(&mut self) -> Option<Option<bool>> {
        Some(match self.peek()? {
            b'n' => {
                self.lit(b"null")?;
                None
            }
            b't' => {
                self.lit(b"true")?;
                Some(true)
            }
            b'f' => {
                self.lit(b"false")?;
                Some(false)
            }
            _ => return None,
        })
    }

    /// An `Option<T>` field holding a struct `f` reads into `slot`.
    fn opt<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        f: impl FnOnce(&mut Self, &mut T) -> Option<()>,
    ) -> Option<()> {
        if self.null()? {
            *slot = None;
            return Some(());
        }
        f(self, slot.insert(T::default()))
    }

    fn log_event(&mut self, e: &mut LogEvent<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "uuid" => {
                    first(&mut seen, 0)?;
                    e.uuid = p.text()?;
                }
                "published" => {
                    first(&mut seen, 1)?;
                    e.published = p.text()?;
                }
                "eventType" => {
                    first(&mut seen, 2)?;
                    e.event_type = p.text()?;
                }
                "legacyEventType" => {
                    first(&mut seen, 3)?;
                    e.legacy_event_type = p.text()?;
                }
                "displayMessage" => {
                    first(&mut seen, 4)?;
                    e.display_message = p.text()?;
                }
                "severity" => {
                    first(&mut seen, 5)?;
                    e.severity = p.text()?;
                }
                "actor" => {
                    first(&mut seen, 6)?;
                    p.opt(&mut e.actor, P::principal)?;
                }
                "client" => {
                    first(&mut seen, 7)?;
                    p.opt(&mut e.client, P::client)?;
                }
                "device" => {
                    first(&mut seen, 8)?;
                    e.device = p.j()?;
                }
                "authenticationContext" => {
                    first(&mut seen, 9)?;
                    p.opt(&mut e.authentication_context, P::auth_context)?;
                }
                "outcome" => {
                    first(&mut seen, 10)?;
                    p.opt(&mut e.outcome, P::outcome)?;
                }
                "securityContext" => {
                    first(&mut seen, 11)?;
                    p.opt(&mut e.security_context, P::security_context)?;
                }
                "debugContext" => {
                    first(&mut seen, 12)?;
                    p.opt(&mut e.debug_context, P::debug_context)?;
                }
                "transaction" => {
                    first(&mut seen, 13)?;
                    p.opt(&mut e.transaction, P::transaction)?;
                }
                "request" => {
                    first(&mut seen, 14)?;
                    p.opt(&mut e.request, P::request)?;
                }
                "target" => {
                    first(&mut seen, 15)?;
                    p.opt(&mut e.target, |p, v: &mut Vec<Principal<'a>>| {
                        p.array(|p| p.principal(push_default(v)))
                    })?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn principal(&mut self, v: &mut Principal<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "id" => {
                    first(&mut seen, 0)?;
                    v.id = p.text()?;
                }
                "type" => {
                    first(&mut seen, 1)?;
                    v.type_ = p.text()?;
                }
                "alternateId" => {
                    first(&mut seen, 2)?;
                    v.alternate_id = p.text()?;
                }
                "displayName" => {
                    first(&mut seen, 3)?;
                    v.display_name = p.text()?;
                }
                "detailEntry" => {
                    first(&mut seen, 4)?;
                    v.detail_entry = p.j()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn client(&mut self, v: &mut Client<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "userAgent" => {
                    first(&mut seen, 0)?;
                    p.opt(&mut v.user_agent, P::user_agent)?;
                }
                "zone" => {
                    first(&mut seen, 1)?;
                    v.zone = p.text()?;
                }
                "device" => {
                    first(&mut seen, 2)?;
                    v.device = p.text()?;
                }
                "id" => {
                    first(&mut seen, 3)?;
                    v.id = p.text()?;
                }
                "ipAddress" => {
                    first(&mut seen, 4)?;
                    v.ip_address = p.text()?;
                }
                "geographicalContext" => {
                    first(&mut seen, 5)?;
                    p.opt(&mut v.geographical_context, P::geo)?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn user_agent(&mut self, v: &mut UserAgent<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "rawUserAgent" => {
                    first(&mut seen, 0)?;
                    v.raw_user_agent = p.text()?;
                }
                "os" => {
                    first(&mut seen, 1)?;
                    v.os = p.text()?;
                }
                "browser" => {
                    first(&mut seen, 2)?;
                    v.browser = p.text()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn geo(&mut self, v: &mut Geo<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "city" => {
                    first(&mut seen, 0)?;
                    v.city = p.text()?;
                }
                "state" => {
                    first(&mut seen, 1)?;
                    v.state = p.text()?;
                }
                "country" => {
                    first(&mut seen, 2)?;
                    v.country = p.text()?;
                }
                "postalCode" => {
                    first(&mut seen, 3)?;
                    v.postal_code = p.text()?;
                }
                "geolocation" => {
                    first(&mut seen, 4)?;
                    p.opt(&mut v.geolocation, P::geo_point)?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn geo_point(&mut self, v: &mut GeoPoint) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "lat" => {
                    first(&mut seen, 0)?;
                    v.lat = p.opt_f64()?;
                }
                "lon" => {
                    first(&mut seen, 1)?;
                    v.lon = p.opt_f64()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn auth_context(&mut self, v: &mut AuthContext<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "authenticationProvider" => {
                    first(&mut seen, 0)?;
                    v.authentication_provider = p.text()?;
                }
                "credentialProvider" => {
                    first(&mut seen, 1)?;
                    v.credential_provider = p.text()?;
                }
                "credentialType" => {
                    first(&mut seen, 2)?;
                    v.credential_type = p.text()?;
                }
                "issuer" => {
                    first(&mut seen, 3)?;
                    v.issuer = p.j()?;
                }
                "interface" => {
                    first(&mut seen, 4)?;
                    v.interface = p.text()?;
                }
                "authenticationStep" => {
                    first(&mut seen, 5)?;
                    v.authentication_step = p.opt_i64()?;
                }
                "rootSessionId" => {
                    first(&mut seen, 6)?;
                    v.root_session_id = p.text()?;
                }
                "externalSessionId" => {
                    first(&mut seen, 7)?;
                    v.external_session_id = p.text()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn outcome(&mut self, v: &mut EventOutcome<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "result" => {
                    first(&mut seen, 0)?;
                    v.result = p.text()?;
                }
                "reason" => {
                    first(&mut seen, 1)?;
                    v.reason = p.text()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn security_context(&mut self, v: &mut SecurityContext<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "asNumber" => {
                    first(&mut seen, 0)?;
                    v.as_number = p.opt_i64()?;
                }
                "asOrg" => {
                    first(&mut seen, 1)?;
                    v.as_org = p.text()?;
                }
                "isp" => {
                    first(&mut seen, 2)?;
                    v.isp = p.text()?;
                }
                "domain" => {
                    first(&mut seen, 3)?;
                    v.domain = p.text()?;
                }
                "isProxy" => {
                    first(&mut seen, 4)?;
                    v.is_proxy = p.opt_bool()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn debug_context(&mut self, v: &mut DebugContext<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "debugData" => {
                    first(&mut seen, 0)?;
                    v.debug_data = p.j()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn transaction(&mut self, v: &mut Transaction<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "type" => {
                    first(&mut seen, 0)?;
                    v.type_ = p.text()?;
                }
                "id" => {
                    first(&mut seen, 1)?;
                    v.id = p.text()?;
                }
                "detail" => {
                    first(&mut seen, 2)?;
                    v.detail = p.j()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn request(&mut self, v: &mut Request<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "ipChain" => {
                    first(&mut seen, 0)?;
                    p.opt(&mut v.ip_chain, |p, chain: &mut Vec<IpChainEntry<'a>>| {
                        p.array(|p| p.ip_chain_entry(push_default(chain)))
                    })?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }

    fn ip_chain_entry(&mut self, v: &mut IpChainEntry<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, k| {
            match k.as_ref() {
                "ip" => {
                    first(&mut seen, 0)?;
                    v.ip = p.text()?;
                }
                _ => p.skip()?,
            }
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        // A fixed pseudo-random walk over number tokens of every shape the
        // JSON grammar allows, near and past the edges of the quick paths.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut tokens: Vec<String> = [
            "0",
            "-0",
            "-0.0",
            "0.0",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "123456789012345",
            "1234567890123456",
            "-9007199254740993",
            "9223372036854775807",
            "9223372036854775808",
            "1.7976931348623157e308",
            "5e-324",
            "2.2250738585072014e-308",
            "0.1",
            "0.30000000000000004",
            "6.4541",
            "-122.4194",
            "1E+2",
            "1e-0",
            "1.5E+300",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for _ in 0..100_000 {
            let mut t = String::new();
            if next(2) == 0 {
                t.push('-');
            }
            let int_digits = 1 + next(12);
            t.push(char::from(b'1' + next(9) as u8));
            for _ in 1..int_digits {
                t.push(char::from(b'0' + next(10) as u8));
            }
            if next(3) > 0 {
                t.push('.');
                for _ in 0..1 + next(10) {
                    t.push(char::from(b'0' + next(10) as u8));
                }
            }
            if next(4) == 0 {
                t.push(['e', 'E'][next(2) as usize]);
                match next(3) {
                    0 => t.push('-'),
                    1 => t.push('+'),
                    _ => {}
                }
                t.push_str(&next(40).to_string());
            }
            tokens.push(t);
        }
        for t in &tokens {
            let want: Option<f64> = serde_json::from_str(t).ok();
            let got = float(t);
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{t}");
            let want: Option<i64> = serde_json::from_str(t).ok();
            assert_eq!(int(t), want, "{t}");
        }
    }

    /// A record as the System Log API writes it.
    const REAL: &str = r#"{"actor":{"id":"00ujlTqxQjV3BxPioq0F","type":"User","alternateId":"olga.garcia902@example.com","displayName":"Olga Garcia","detail":null},"client":{"userAgent":{"rawUserAgent":"Okta Verify/9.12.0 (iPhone; iOS 17.4.1; Scale/3.00)","os":"iOS","browser":"UNKNOWN"},"zone":"null","device":"Mobile","id":null,"ipAddress":"91.16.17.61","geographicalContext":{"city":"Lagos","state":"Lagos","country":"Nigeria","postalCode":null,"geolocation":{"lat":6.4541,"lon":3.3947}}},"device":null,"authenticationContext":{"authenticationProvider":"OKTA_AUTHENTICATION_PROVIDER","credentialProvider":null,"credentialType":"OKTA_VERIFY","issuer":null,"interface":null,"authenticationStep":1,"rootSessionId":"idxngMvpYXIrGNN9MJGzHhpFt","externalSessionId":"102NDMBX0c27B9onYuwKsvejk"},"displayMessage":"Authentication of user via MFA","eventType":"user.authentication.auth_via_mfa","outcome":{"result":"SUCCESS","reason":null},"published":"2025-03-01T00:00:00.622Z","securityContext":{"asNumber":16509,"asOrg":"amazon","isp":"Amazon.com, Inc.","domain":"amazonaws.com","isProxy":false},"severity":"INFO","debugContext":{"debugData":{"requestId":"0qxbZoNyuHDjXx1mrmwp-aDUqOM","requestUri":"/idp/idx/challenge/answer","url":"/idp/idx/challenge/answer?","dtHash":"9c3808f76565dc3eca0aa181d1426d19594b5d90b2b4cb29e4650851e637c640","threatSuspected":"false","behaviors":"{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}","risk":"{reasons=None, level=LOW}","factor":"OKTA_VERIFY_PUSH","factorIntent":"AUTHENTICATION"}},"legacyEventType":"core.user.factor.attempt_success","transaction":{"type":"WEB","id":"0qxbZoNyuHDjXx1mrmwp-aDUqOM","detail":{}},"uuid":"bd22f052-680d-4d2b-864c-b1972d4a39e8","version":"0","request":{"ipChain":[{"ip":"91.16.17.61","geographicalContext":{"city":"Lagos","state":"Lagos","country":"Nigeria","postalCode":null,"geolocation":{"lat":6.4541,"lon":3.3947}},"version":"V4","source":null}]},"target":[{"id":"mfe06gEnZ2uL1K3qhSa6","type":"AuthenticatorEnrollment","alternateId":"unknown","displayName":"Okta Verify","detailEntry":{"methodTypeUsed":"Okta Verify","methodUsedVerifiedProperties":"[POSSESSION, USER_PRESENCE]"}}]}"#;

    /// Every part the reader handles, with nulls, numbers where text is
    /// expected, escapes, nested trees and skipped members of every kind.
    const RICH: &str = r#" {"uuid":"u-1","published":"2024-08-13T15:58:20.353Z","eventType":"user.session.start",
 "version":"0","skipped":{"a":[1,-2.5e+3,0.5E-1,true,false,null,"s\"q",{"b":[]}],"c":{}},
 "actor":{"id":"00u1","type":"User","alternateId":"Ann@Example.com","displayName":"A\u00e9n","detail":null},
 "client":{"userAgent":{"rawUserAgent":"UA \"x\"","os":"Mac OS X","browser":null},"zone":"null","device":"Computer",
  "id":7,"ipAddress":"192.0.2.4","geographicalContext":{"city":"X","state":null,"country":"Y","postalCode":12345,
  "geolocation":{"lat":6.4541,"lon":-3}}},
 "device":{"id":"d1","name":"n","os_platform":"WINDOWS","managed":true,"n":[1.5,{"x":null}]},
 "authenticationContext":{"authenticationProvider":"P","credentialProvider":null,"credentialType":"PASSWORD",
  "issuer":{"id":"iss","type":"T"},"interface":null,"authenticationStep":-1,"rootSessionId":"r","externalSessionId":"s"},
 "outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"severity":"WARN","displayMessage":true,
 "securityContext":{"asNumber":16509,"asOrg":"amazon","isp":"Amazon.com, Inc.","domain":".","isProxy":true},
 "debugContext":{"debugData":{"risk":"{reasons=Anomalous Device, level=HIGH}","n":12,"f":-0.0,"big":18446744073709551616,
  "behaviors":"{New IP=POSITIVE}","threatSuspected":"false","dtHash":"h","nested":{"k":["v",2]}}},
 "legacyEventType":false,"transaction":{"type":"WEB","id":"t1","detail":{"requestApiTokenId":"x","k":[]}},
 "request":{"ipChain":[{"ip":"192.0.2.4","geographicalContext":{"geolocation":{"lat":1,"lon":2}},"version":"V4","source":null},
  {"ip":null},{}]},
 "target":[{"id":"0oa1","type":"AppInstance","alternateId":"App","displayName":"App","detailEntry":{"signOnModeType":"SAML_2_0"}},
  {"id":"r1","type":"Rule","detailEntry":null},{}]
 }
"#;

    fn serde(text: &str) -> Option<LogEvent<'_>> {
        serde_json::from_str(text).ok()
    }

    /// When the reader takes a record, serde reads it into the same values.
    fn check(text: &str) -> bool {
        match log_event(text) {
            Some(fast) => {
                assert_eq!(Some(&fast), serde(text).as_ref(), "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn scan_finds_the_first_stop_at_every_alignment() {
        let naive = |b: &[u8], i: usize| {
            (i..b.len())
                .find(|&j| needs_escape(b[j]))
                .unwrap_or(b.len())
        };
        for stop in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
            for len in 0..40 {
                for at in 0..=len {
                    // Bytes around the borders of the SWAR tests: 0x20, 0x21,
                    // 0x5b, 0x5d, 0x7f, 0x80 and up, UTF-8 continuation bytes.
                    let mut b: Vec<u8> = (0..len)
                        .map(|k| {
                            [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xff, b'a'][k % 10]
                        })
                        .collect();
                    if at < len {
                        b[at] = stop;
                        if at + 1 < len {
                            b[at + 1] = 0x01;
                        }
                    }
                    for from in 0..=len {
                        assert_eq!(scan(&b, from), naive(&b, from), "{b:?} {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn reads_records_as_serde_does() {
        assert!(check(REAL));
        assert!(check(RICH));
        let ev = log_event(RICH).unwrap();
        assert!(matches!(
            ev.actor.as_ref().unwrap().display_name,
            Some(Text(Cow::Owned(_)))
        ));
        assert!(matches!(ev.uuid, Some(Text(Cow::Borrowed("u-1")))));
        assert_eq!(ev.target.as_ref().map(Vec::len), Some(3));
        assert_eq!(ev.request.unwrap().ip_chain.map(|c| c.len()), Some(3));
        for text in [
            "{}",
            " \t\r\n{ }\n ",
            r#"{"actor":null,"target":null,"device":null,"client":{"userAgent":null}}"#,
            r#"{"target":[],"request":{"ipChain":[]},"debugContext":{}}"#,
            r#"{"uuid":"","eventType":"\ud83d\ude00"}"#,
            r#"{"u\u0075id":"a","eventT\u0079pe":"b"}"#,
            r#"{"uuid":1e300,"published":-12,"severity":0.1}"#,
            r#"{"x":{"x":{"x":[[[[{"eventType":1}]]]]}}}"#,
        ] {
            assert!(check(text), "{text}");
        }
    }

    #[test]
    fn leaves_to_serde_what_it_does_not_read_the_same_way() {
        for text in [
            r#"{"uuid":"a","uuid":"b"}"#,
            r#"{"actor":{"id":"1","id":"2"}}"#,
            r#"{"actor":["1","User"]}"#,
            r#"{"outcome":"x"}"#,
            r#"{"uuid":{"a":1}}"#,
            r#"{"securityContext":{"asNumber":1.5}}"#,
            r#"{"securityContext":{"isProxy":"true"}}"#,
            "{\"uuid\":\"a\u{1}b\"}",
            r#"{"uuid":"\x"}"#,
            r#"{"uuid":"\ud800"}"#,
            r#"{"uuid":01}"#,
            r#"{"uuid":1.}"#,
            r#"{"uuid":"a",}"#,
            r#"{"uuid":"a"} x"#,
            r#"{"uuid":nul}"#,
            "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        ] {
            assert!(log_event(text).is_none(), "{text}");
        }
    }

    /// Every cut, every single-byte change and every inserted byte: what the
    /// reader takes, serde reads into the same values.
    #[test]
    fn every_variant_of_a_record_reads_as_serde_reads_it() {
        let bytes: &[u8] = b"\"\\,:}]{[ \x01\x7f0-.eEnt9a";
        for base in [RICH, REAL] {
            let (mut taken, mut total) = (0, 0);
            let mut try_one = |v: Vec<u8>| {
                if let Ok(text) = String::from_utf8(v) {
                    total += 1;
                    if check(&text) {
                        taken += 1;
                    }
                }
            };
            let b = base.as_bytes();
            let step = if base.len() > 1500 { 3 } else { 1 };
            for at in (0..=b.len()).step_by(step) {
                try_one(b[..at].to_vec());
                for &c in bytes {
                    if at < b.len() {
                        let mut v = b.to_vec();
                        v[at] = c;
                        try_one(v);
                    }
                    let mut v = b.to_vec();
                    v.insert(at, c);
                    try_one(v);
                }
            }
            // Most changes inside strings keep the record readable, so the
            // reader must have taken a good share of them.
            assert!(taken * 4 > total, "{taken} of {total}");
        }
    }
}
