//! Helpers for the JSON (and key=value) mail-security sources.
//!
//! [`Fields`] reads one record as a flat list of `(key, value)` pairs where
//! each value is left unparsed (a borrowed [`RawValue`], or a borrowed text
//! slice for key=value records). A mapping takes the keys it understands
//! (which marks them used) and parses only those, borrowing strings from
//! the record whenever they have no escapes; whatever it did not take goes
//! to `unmapped` with [`Fields::rest_into`]. So the vendor's unknown fields
//! are kept without a per-field `String` for the known ones.
//!
//! The rest of the module is small pure helpers: timestamps (RFC 3339,
//! Microsoft's 7-digit fractions without a zone, `-0700` offsets,
//! `/Date(ms)/`), bare e-mail addresses (`email_t`), URLs, hashes, the
//! `direction_id` inferred from the local domains, and the fallback event
//! for a known vendor's record of an unknown kind.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::common::fallback;
use crate::ocsf::{
    caption, Actor, Email, Event, Evidences, File, FindingInfo, Fingerprint, HttpRequest, Malware,
    NetworkEndpoint, Product, Url, User, BASE_EVENT, DETECTION_FINDING,
};
use crate::{ErrorKind, Options, Outcome, ParseError};

/// One value of a record: raw JSON, or text from a key=value record.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// Unparsed JSON text (string, number, object, ...).
    Json(&'a RawValue),
    /// A key=value value, as written.
    Text(&'a str),
}

/// The fields of one record, each parsed only when a mapping asks for it.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    items: Vec<(Cow<'a, str>, Val<'a>, bool)>,
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

struct RawMap<'a>(Vec<(Cow<'a, str>, Val<'a>, bool)>);

impl<'de> Deserialize<'de> for RawMap<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(m.size_hint().unwrap_or(32));
                while let Some(k) = m.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = m.next_value()?;
                    items.push((k.0, Val::Json(v), false));
                }
                Ok(RawMap(items))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Fields<'a> {
    /// Read a JSON object. Anything else (invalid JSON, an array, a
    /// string) is an error.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let m: RawMap<'a> = serde_json::from_str(text)?;
        Ok(Fields { items: m.0 })
    }

    /// Read a nested JSON object; `None` if `raw` is not one.
    pub fn of(raw: &'a RawValue) -> Option<Self> {
        if !raw.get().starts_with('{') {
            return None;
        }
        Fields::parse(raw.get()).ok()
    }

    /// Fields from key=value pairs (already split by the caller).
    pub fn from_pairs(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        Fields {
            items: pairs
                .map(|(k, v)| (Cow::Borrowed(k), Val::Text(v), false))
                .collect(),
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|(k, _, _)| k == key)
    }

    /// True if `key` is present and not null/empty.
    pub fn has(&self, key: &str) -> bool {
        self.find(key).is_some_and(|i| !is_blank(self.items[i].1))
    }

    /// The value of `key` without marking it used; `None` if absent, null
    /// or empty.
    pub fn peek(&self, key: &str) -> Option<Val<'a>> {
        let v = self.items[self.find(key)?].1;
        (!is_blank(v)).then_some(v)
    }

    /// A string value of `key` without marking it used.
    pub fn peek_str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.peek(key).and_then(val_str)
    }

    /// Take `key`: mark it used and return its value unless null/empty.
    pub fn take(&mut self, key: &str) -> Option<Val<'a>> {
        let i = self.find(key)?;
        self.items[i].2 = true;
        let v = self.items[i].1;
        (!is_blank(v)).then_some(v)
    }

    /// Mark keys used without reading them (mapped elsewhere, or noise).
    pub fn skip(&mut self, keys: &[&str]) {
        for k in keys {
            if let Some(i) = self.find(k) {
                self.items[i].2 = true;
            }
        }
    }

    /// Take a text value (a JSON string, or a number/bool as written).
    pub fn str(&mut self, key: &str) -> Option<Cow<'a, str>> {
        self.take(key).and_then(val_str)
    }

    /// The first of `keys` that has a text value; all of them are taken.
    pub fn str_any(&mut self, keys: &[&str]) -> Option<Cow<'a, str>> {
        let mut found = None;
        for k in keys {
            let v = self.str(k);
            if found.is_none() {
                found = v;
            }
        }
        found
    }

    /// Take an integer (a JSON number, or a string holding one).
    pub fn i64(&mut self, key: &str) -> Option<i64> {
        let v = self.take(key)?;
        let s = val_str(v)?;
        s.trim().parse::<i64>().ok().or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    }

    /// Take a number (a JSON number, or a string holding one).
    pub fn f64(&mut self, key: &str) -> Option<f64> {
        let s = self.str(key)?;
        s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// Take a boolean (`true`/`false`, as JSON or as a string; `yes`/`no`).
    pub fn bool(&mut self, key: &str) -> Option<bool> {
        let s = self.str(key)?;
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        }
    }

    /// Take a list of strings: a JSON array of strings, or one string.
    pub fn strs(&mut self, key: &str) -> Vec<Cow<'a, str>> {
        match self.take(key) {
            Some(Val::Json(raw)) if raw.get().starts_with('[') => raw_array(raw)
                .into_iter()
                .filter_map(raw_str)
                .filter(|s| !s.is_empty())
                .collect(),
            Some(v) => val_str(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// Take a JSON array; its elements unparsed.
    pub fn array(&mut self, key: &str) -> Vec<&'a RawValue> {
        match self.take(key) {
            Some(Val::Json(raw)) => raw_array(raw),
            _ => Vec::new(),
        }
    }

    /// Take a nested object. A string holding a JSON object (Microsoft's
    /// `AdditionalFields`, Mimecast's `spamProcessingDetail`) is read too,
    /// owned, as a [`Value`].
    pub fn object(&mut self, key: &str) -> Option<Value> {
        let v = self.take(key)?;
        let v = match v {
            Val::Json(raw) if raw.get().starts_with('"') => {
                let s = raw_str(raw)?;
                serde_json::from_str::<Value>(&s).ok()?
            }
            Val::Json(raw) => serde_json::from_str::<Value>(raw.get()).ok()?,
            Val::Text(t) => serde_json::from_str::<Value>(t).ok()?,
        };
        Some(v)
    }

    /// Take a nested JSON object as [`Fields`] (borrowed).
    pub fn fields(&mut self, key: &str) -> Option<Fields<'a>> {
        match self.take(key)? {
            Val::Json(raw) => Fields::of(raw),
            Val::Text(_) => None,
        }
    }

    /// Every field not taken, as JSON, into `map` (nulls and empty strings
    /// are left out: they carry nothing and OCSF forbids `null`).
    pub fn rest_into(&self, map: &mut Map<String, Value>) {
        for (k, v, used) in &self.items {
            if *used || is_blank(*v) {
                continue;
            }
            let value = match v {
                Val::Json(raw) => match serde_json::from_str::<Value>(raw.get()) {
                    Ok(v) => strip_nulls(v),
                    Err(_) => continue,
                },
                Val::Text(t) => Some(Value::String((*t).to_owned())),
            };
            if let Some(value) = value {
                map.insert(k.to_string(), value);
            }
        }
    }

    /// Every field, as a JSON object (for fallback events).
    pub fn all_into(&mut self, map: &mut Map<String, Value>) {
        for it in &mut self.items {
            it.2 = false;
        }
        self.rest_into(map);
    }
}

fn is_blank(v: Val<'_>) -> bool {
    match v {
        Val::Json(raw) => matches!(raw.get(), "null" | "\"\""),
        Val::Text(t) => t.is_empty(),
    }
}

/// Drop `null` members and elements, recursively; `None` if nothing is left
/// of a scalar null.
pub fn strip_nulls(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(strip_nulls).collect(),
        )),
        Value::Object(o) => Some(Value::Object(
            o.into_iter()
                .filter_map(|(k, v)| strip_nulls(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

/// The text of a value: a JSON string (borrowed when it has no escapes),
/// or a number/boolean as written. `None` for null, arrays and objects.
pub fn val_str(v: Val<'_>) -> Option<Cow<'_, str>> {
    match v {
        Val::Json(raw) => raw_str(raw),
        Val::Text(t) => Some(Cow::Borrowed(t)),
    }
}

/// [`val_str`] for raw JSON.
pub fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let s = raw.get();
    match s.as_bytes().first()? {
        b'"' => {
            let inner = s.get(1..s.len().saturating_sub(1))?;
            if inner.contains('\\') {
                serde_json::from_str::<String>(s).ok().map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(inner))
            }
        }
        b'-' | b'0'..=b'9' | b't' | b'f' => Some(Cow::Borrowed(s)),
        _ => None,
    }
}

/// The elements of a JSON array, unparsed; empty if `raw` is not an array.
pub fn raw_array(raw: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get()).unwrap_or_default()
}

/// Epoch milliseconds of a vendor timestamp: RFC 3339 (any fraction
/// length), `+hhmm` offsets, no zone at all (read as `utc_offset_secs`
/// from UTC; Microsoft writes UTC without `Z`), `/Date(ms)/`, or a bare
/// epoch-milliseconds number.
pub fn parse_time(s: &str, utc_offset_secs: i32) -> Option<i64> {
    use chrono::{DateTime, NaiveDateTime};
    let s = s.trim();
    if let Some(ms) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // "/Date(1658751973240)/" or "/Date(1658751973240+0000)/".
        let end = ms
            .get(1..)
            .and_then(|r| r.find(['+', '-']))
            .map_or(ms.len(), |i| i + 1);
        return ms.get(..end)?.parse().ok();
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        // Seconds if it looks like seconds, else milliseconds.
        return Some(if n < 100_000_000_000 { n * 1000 } else { n });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.timestamp_millis());
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis() - utc_offset_secs as i64 * 1000);
        }
    }
    None
}

/// The bare address in `s` ("Name <a@b.example>" → "a@b.example"), if it
/// is one that `email_t` accepts.
pub fn addr(s: &str) -> Option<&str> {
    let s = s.trim();
    let a = match (s.rfind('<'), s.rfind('>')) {
        (Some(i), Some(j)) if i < j => &s[i + 1..j],
        _ => s,
    };
    let a = a.trim();
    is_email(a).then_some(a)
}

/// [`addr`] for a `Cow`, keeping the borrow.
pub fn addr_cow(s: Cow<'_, str>) -> Option<Cow<'_, str>> {
    match s {
        Cow::Borrowed(b) => addr(b).map(Cow::Borrowed),
        Cow::Owned(o) => addr(&o).map(|a| Cow::Owned(a.to_owned())),
    }
}

/// The OCSF `email_t` pattern:
/// `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || b"!#$%&'*=?^_`{|}~.".contains(&b)
                || (b'+'..=b'/').contains(&b)
        });
    let Some((first, tail)) = domain.split_once('.') else {
        return false;
    };
    local_ok
        && !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tail.is_empty()
        && tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The domain part of an address, lower-cased only if needed.
pub fn domain_of(addr: &str) -> Option<&str> {
    addr.rsplit_once('@').map(|(_, d)| d)
}

/// True if `s` is an IPv4 or IPv6 address.
pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn is_local(domain: &str, opts: &Options) -> bool {
    opts.local_domains.iter().any(|d| {
        domain.eq_ignore_ascii_case(d)
            || (domain.len() > d.len()
                && domain.as_bytes()[domain.len() - d.len() - 1] == b'.'
                && domain[domain.len() - d.len()..].eq_ignore_ascii_case(d))
    })
}

/// `direction_id` from the sender's and recipients' domains and
/// `Options::local_domains`: 1 inbound, 2 outbound, 3 internal, 0 unknown.
pub fn direction_from_domains<'s>(
    from: Option<&str>,
    to: impl IntoIterator<Item = &'s str>,
    opts: &Options,
) -> i32 {
    if opts.local_domains.is_empty() {
        return 0;
    }
    let from_local = match from.and_then(domain_of) {
        Some(d) => is_local(d, opts),
        None => return 0,
    };
    let mut any = false;
    let mut to_local = false;
    for t in to {
        if let Some(d) = domain_of(t) {
            any = true;
            to_local |= is_local(d, opts);
        }
    }
    match (from_local, any, to_local) {
        (_, false, _) => 0,
        (true, true, true) => 3,
        (true, true, false) => 2,
        (false, true, true) => 1,
        (false, true, false) => 0,
    }
}

/// A vendor's own direction word to `direction_id`.
pub fn direction_word(w: &str) -> Option<i32> {
    let w = w.trim();
    Some(match () {
        _ if w.eq_ignore_ascii_case("inbound") => 1,
        _ if w.eq_ignore_ascii_case("outbound") => 2,
        _ if w.eq_ignore_ascii_case("internal")
            || w.eq_ignore_ascii_case("intraorg")
            || w.eq_ignore_ascii_case("intra-org") =>
        {
            3
        }
        _ if w.eq_ignore_ascii_case("external") => 99,
        _ => return None,
    })
}

/// Set activity 99 (Other) with the source's own label in
/// `activity_name`. For a class other than Base Event, `type_name` stays
/// "<class>: Other": the validator holds it to the caption of `type_uid`
/// (for Base Event's `type_uid` 99 it wants the source's label).
pub fn set_other(ev: &mut Event<'_>, label: &str) {
    ev.set_other_activity(Cow::Owned(label.to_owned()));
    if ev.class_uid == Some(0) {
        return;
    }
    let class = ev.class_name.as_deref().unwrap_or("Base Event");
    ev.type_name = Some(Cow::Owned(format!("{class}: Other")));
}

/// Set `direction_id` and `direction` on an event.
pub fn set_direction<'a>(ev: &mut Event<'a>, id: i32, label: Option<Cow<'a, str>>) {
    ev.direction_id = Some(id);
    ev.direction = if id == 99 {
        label.or(Some(Cow::Borrowed("Other")))
    } else {
        caption("email_activity", "direction_id", id as i64).map(Cow::Borrowed)
    };
}

/// The parties of a URL click (HTTP Activity): the clicker as `actor.user`,
/// the URL and user agent in `http_request`, the client address (when it
/// is an IP) in `src_endpoint`.
pub fn click_parties<'a>(
    ev: &mut Event<'a>,
    user: Option<&User<'a>>,
    url: Option<&Url<'a>>,
    user_agent: Option<Cow<'a, str>>,
    ip: Option<Cow<'a, str>>,
) {
    ev.actor = user.cloned().map(|u| {
        Box::new(Actor {
            user: Some(Box::new(u)),
            ..Default::default()
        })
    });
    ev.http_request = Some(Box::new(HttpRequest {
        url: url.cloned().map(Box::new),
        user_agent,
        ..Default::default()
    }));
    if let Some(ip) = ip.filter(|ip| is_ip(ip)) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
}

/// A URL object, with scheme, hostname, port, path and query split out
/// when the string is an absolute URL.
pub fn url<'a>(s: Cow<'a, str>) -> Url<'a> {
    let mut u = Url::default();
    let (scheme, rest) = match s.split_once("://") {
        Some((sch, rest))
            if !sch.is_empty()
                && sch
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)) =>
        {
            (Some(sch), rest)
        }
        _ => (None, ""),
    };
    if let Some(scheme) = scheme {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => (host_port, None),
            },
            _ => (host_port, None),
        };
        let tail = &rest[end..];
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q.split('#').next().unwrap_or(q))),
            None => (tail.split('#').next().unwrap_or(tail), None),
        };
        u.scheme = Some(Cow::Owned(scheme.to_ascii_lowercase()));
        if !host.is_empty() {
            u.hostname = Some(Cow::Owned(host.to_owned()));
        }
        u.port = port;
        if !path.is_empty() {
            u.path = Some(Cow::Owned(path.to_owned()));
        }
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            u.query_string = Some(Cow::Owned(q.to_owned()));
        }
    }
    u.url_string = Some(s);
    u
}

/// A hash as a fingerprint; the algorithm from its name.
pub fn hash<'a>(algorithm: &str, value: Cow<'a, str>) -> Fingerprint<'a> {
    let id = match algorithm {
        "md5" | "MD5" => 1,
        "sha1" | "SHA1" | "SHA-1" => 2,
        "sha256" | "SHA256" | "SHA-256" => 3,
        "sha512" | "SHA512" | "SHA-512" => 4,
        _ => 99,
    };
    Fingerprint {
        algorithm_id: Some(id),
        algorithm: if id == 99 {
            Some(Cow::Owned(algorithm.to_owned()))
        } else {
            caption("fingerprint", "algorithm_id", id as i64).map(Cow::Borrowed)
        },
        value: Some(value),
        ..Default::default()
    }
}

/// The product object of a source.
pub fn product(name: &'static str, vendor: &'static str) -> Product<'static> {
    Product {
        name: Some(Cow::Borrowed(name)),
        vendor_name: Some(Cow::Borrowed(vendor)),
        ..Default::default()
    }
}

/// Add `profile` to `metadata.profiles` once.
pub fn add_profile(ev: &mut Event<'_>, profile: &'static str) {
    let m = ev.meta();
    if !m.profiles.iter().any(|p| p == profile) {
        m.profiles.push(Cow::Borrowed(profile));
    }
}

/// Set `disposition_id`/`disposition` and `action_id`/`action`
/// (security_control profile) from a disposition.
pub fn set_disposition<'a>(ev: &mut Event<'a>, disposition_id: i32, label: Option<Cow<'a, str>>) {
    let scope = class_scope(ev);
    add_profile(ev, "security_control");
    ev.disposition_id = Some(disposition_id);
    ev.disposition = if disposition_id == 99 {
        label.or(Some(Cow::Borrowed("Other")))
    } else {
        caption(scope, "disposition_id", disposition_id as i64).map(Cow::Borrowed)
    };
    let action = match disposition_id {
        1 | 8 | 14 | 16 => 1,
        2 | 3 | 4 | 5 | 6 | 24 | 25 | 26 => 2,
        15 | 17 | 19 | 20 => 3,
        9 | 10 | 11 | 12 | 18 | 22 | 23 => 4,
        _ => 0,
    };
    ev.action_id = Some(action);
    ev.action = caption(scope, "action_id", action as i64).map(Cow::Borrowed);
}

/// The schema scope (class name) of an event, for [`caption`].
pub fn class_scope(ev: &Event<'_>) -> &'static str {
    match ev.class_uid {
        Some(4009) => "email_activity",
        Some(2004) => "detection_finding",
        Some(4002) => "http_activity",
        Some(6001) => "web_resources_activity",
        _ => "base_event",
    }
}

/// A known vendor's record of a kind no mapping knows: a Base Event
/// (activity Other, labelled with the vendor's record type) carrying the
/// whole record under `unmapped`, marked `unmapped.idlink.fallback`.
pub fn fallback_event<'a>(
    fields: &mut Fields<'a>,
    kind: Cow<'a, str>,
    time_ms: Option<i64>,
    product: Product<'a>,
    log_name: &'static str,
    opts: &Options,
) -> Event<'a> {
    let mut ev = Event::new(&BASE_EVENT, 99, time_ms.unwrap_or(opts.reference_time_ms));
    set_other(&mut ev, &kind);
    let m = ev.meta();
    m.product = Some(Box::new(product));
    m.log_name = Some(Cow::Borrowed(log_name));
    m.event_code = Some(kind);
    let u = ev.unmapped();
    fields.all_into(u);
    u.insert("idlink".into(), serde_json::json!({ "fallback": true }));
    ev
}

/// The message an e-mail security record is about: what goes into
/// `email` (and into a Detection Finding's evidence).
#[derive(Debug, Clone, Default)]
pub struct Msg<'a> {
    /// The vendor's own per-message key (`email.uid`, `message_trace_uid`,
    /// `metadata.correlation_uid`): the join key across records.
    pub uid: Option<Cow<'a, str>>,
    /// Internet Message-ID.
    pub message_uid: Option<Cow<'a, str>>,
    /// Header From (bare address).
    pub from: Option<Cow<'a, str>>,
    /// Recipients (bare addresses).
    pub to: Vec<Cow<'a, str>>,
    /// Cc (bare addresses).
    pub cc: Vec<Cow<'a, str>>,
    /// Envelope sender (MAIL FROM), as `email.return_path`.
    pub return_path: Option<Cow<'a, str>>,
    /// Subject.
    pub subject: Option<Cow<'a, str>>,
    /// Size in bytes.
    pub size: Option<i64>,
}

impl<'a> Msg<'a> {
    /// Set the From address if `s` is one; otherwise keep it in `unmapped`
    /// under `key`.
    pub fn set_from(&mut self, s: Option<Cow<'a, str>>, key: &str, un: &mut Map<String, Value>) {
        if let Some(s) = s {
            match addr_cow(s.clone()) {
                Some(a) => self.from = Some(a),
                None => {
                    un.insert(key.into(), Value::String(s.into_owned()));
                }
            }
        }
    }

    /// Set the envelope sender (`return_path`) if `s` is an address;
    /// otherwise keep it in `unmapped` as `sender`.
    pub fn set_from_envelope(&mut self, s: Option<Cow<'a, str>>, un: &mut Map<String, Value>) {
        if let Some(s) = s {
            match addr_cow(s.clone()) {
                Some(a) => self.return_path = Some(a),
                None => {
                    un.insert("sender".into(), Value::String(s.into_owned()));
                }
            }
        }
    }

    /// Add recipients that are addresses; the others go to `unmapped`.
    pub fn add_to(&mut self, list: Vec<Cow<'a, str>>, key: &str, un: &mut Map<String, Value>) {
        let mut bad = Vec::new();
        for s in list {
            for part in split_list(s) {
                match addr_cow(part.clone()) {
                    Some(a) if !self.to.contains(&a) => self.to.push(a),
                    Some(_) => {}
                    None => bad.push(Value::String(part.into_owned())),
                }
            }
        }
        if !bad.is_empty() {
            un.insert(key.into(), Value::Array(bad));
        }
    }

    /// True if the message has an address (OCSF's `email` needs one).
    pub fn has_addr(&self) -> bool {
        self.from.is_some() || !self.to.is_empty()
    }

    /// The OCSF `email` object.
    pub fn email(&self) -> Email<'a> {
        Email {
            uid: self.uid.clone(),
            message_uid: self.message_uid.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            cc: self.cc.clone(),
            return_path: self.return_path.clone(),
            subject: self.subject.clone(),
            size: self.size,
            ..Default::default()
        }
    }

    /// Fill an Email Activity event: `email`, `message_trace_uid`,
    /// `metadata.correlation_uid`, and `direction_id` (the vendor's word if
    /// given, else from the local domains).
    pub fn fill(
        &self,
        ev: &mut Event<'a>,
        email: Email<'a>,
        direction: Option<Cow<'a, str>>,
        opts: &Options,
    ) {
        ev.email = Some(Box::new(email));
        ev.message_trace_uid = self.uid.clone();
        if let Some(u) = &self.uid {
            ev.meta().correlation_uid = Some(u.clone());
        }
        let id = direction.as_deref().and_then(direction_word);
        match id {
            Some(id) => set_direction(ev, id, direction),
            None => {
                let id = direction_from_domains(
                    self.from.as_deref().or(self.return_path.as_deref()),
                    self.to.iter().map(|t| t.as_ref()),
                    opts,
                );
                set_direction(ev, id, None);
                if let Some(d) = direction {
                    ev.unmapped()
                        .insert("direction".into(), Value::String(d.into_owned()));
                }
            }
        }
    }
}

/// Split "a@x; b@y" / "a@x,b@y" lists into items (borrowing when possible).
pub fn split_list(s: Cow<'_, str>) -> Vec<Cow<'_, str>> {
    if !s.contains([';', ',']) || s.contains('"') {
        return vec![s];
    }
    match s {
        Cow::Borrowed(b) => b
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Cow::Borrowed)
            .collect(),
        Cow::Owned(o) => o
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Cow::Owned(p.to_owned()))
            .collect(),
    }
}

/// An e-mail attachment as an OCSF file (type Regular File), with the
/// extension taken from its name.
pub fn attachment(name: Cow<'_, str>) -> File<'_> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.len() <= 16 && !e.contains([' ', '/', '\\']))
        .map(|e| Cow::Owned(e.to_ascii_lowercase()));
    File {
        type_id: Some(1),
        type_: caption("file", "type_id", 1).map(Cow::Borrowed),
        ext,
        name: Some(name),
        ..Default::default()
    }
}

/// A malware entry; the classification from words in the vendor's name or
/// type ("Trojan", "Virus", "Ransom", ...), else Other with the vendor's
/// word.
pub fn malware<'a>(name: Option<Cow<'a, str>>, kind: &str, provider: &'static str) -> Malware<'a> {
    const CLASSES: &[(&str, i32, &str)] = &[
        ("adware", 1, "Adware"),
        ("backdoor", 2, "Backdoor"),
        ("bot", 3, "Bot"),
        ("downloader", 6, "Downloader"),
        ("dropper", 7, "Dropper"),
        ("exploit", 8, "Exploit-Kit"),
        ("keylog", 9, "Keylogger"),
        ("ransom", 10, "Ransomware"),
        ("rat", 11, "Remote-Access-Trojan"),
        ("rootkit", 15, "Rootkit"),
        ("spyware", 17, "Spyware"),
        ("trojan", 18, "Trojan"),
        ("virus", 19, "Virus"),
        ("webshell", 20, "Webshell"),
        ("wiper", 21, "Wiper"),
        ("worm", 22, "Worm"),
    ];
    let hay = format!("{} {}", name.as_deref().unwrap_or(""), kind).to_ascii_lowercase();
    let words: Vec<&str> = hay
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let hit = CLASSES
        .iter()
        .find(|(w, _, _)| words.iter().any(|x| x.starts_with(w)));
    let (id, label) = match hit {
        Some(&(_, id, label)) => (id, Cow::Borrowed(label)),
        None => (
            99,
            Cow::Owned(if kind.is_empty() {
                "Malware".to_owned()
            } else {
                kind.to_owned()
            }),
        ),
    };
    Malware {
        classification_ids: vec![id],
        classifications: vec![label],
        name: name
            .or_else(|| Some(Cow::Owned(kind.to_owned())))
            .filter(|n| !n.is_empty()),
        provider: Some(Cow::Borrowed(provider)),
        ..Default::default()
    }
}

/// A Detection Finding (2004, Create) for a vendor's verdict on a message,
/// sharing the source event's product, log name, times, correlation key,
/// tenant and security-control attributes. `evidence` is what the verdict
/// is about.
pub fn finding<'a>(
    src: &Event<'a>,
    uid: Cow<'a, str>,
    title: String,
    types: Vec<Cow<'a, str>>,
    evidence: Evidences<'a>,
) -> Event<'a> {
    let time = src.time.unwrap_or(0);
    let mut f = Event::new(&DETECTION_FINDING, 1, time);
    if let (Some(sm), fm) = (src.metadata.as_deref(), f.meta()) {
        fm.product = sm.product.clone();
        fm.log_name = sm.log_name.clone();
        fm.original_time = sm.original_time.clone();
        fm.correlation_uid = sm.correlation_uid.clone();
        fm.tenant_uid = sm.tenant_uid.clone();
        fm.event_code = sm.event_code.clone();
        fm.logged_time = sm.logged_time;
    }
    if let Some(s) = src.severity_id {
        f.set_severity(s);
    }
    f.finding_info = Some(Box::new(FindingInfo {
        uid: Some(uid),
        title: Some(Cow::Owned(title)),
        types,
        created_time: Some(time),
        ..Default::default()
    }));
    f.status_id = Some(1);
    f.status = caption("detection_finding", "status_id", 1).map(Cow::Borrowed);
    f.is_alert = Some(true);
    add_profile(&mut f, "security_control");
    if let Some(d) = src.disposition_id {
        let label = src.disposition.clone();
        set_disposition(&mut f, d, label);
        f.action_id = src.action_id;
        f.action = src
            .action_id
            .and_then(|a| caption("detection_finding", "action_id", a as i64))
            .map(Cow::Borrowed);
    }
    f.malware = src.malware.clone();
    f.policy = src.policy.clone();
    f.confidence_id = src.confidence_id;
    f.confidence = src.confidence.clone();
    f.risk_score = src.risk_score;
    f.evidences = vec![evidence];
    f
}

/// Severity of a vendor threat word (phish, malware, spam, ...).
pub fn threat_severity(kind: &str) -> i32 {
    let k = kind.to_ascii_lowercase();
    if k.contains("malware") || k.contains("phish") || k.contains("virus") {
        crate::ocsf::severity::HIGH
    } else if k.contains("imperson") || k.contains("spoof") || k.contains("malicious") {
        crate::ocsf::severity::MEDIUM
    } else if k.contains("spam") || k.contains("bulk") {
        crate::ocsf::severity::LOW
    } else {
        crate::ocsf::severity::MEDIUM
    }
}

/// Set `confidence_id`/`confidence` from a vendor word (High/Normal/Low).
pub fn set_confidence(ev: &mut Event<'_>, word: &str) {
    let id = match word.to_ascii_lowercase().as_str() {
        "high" => 3,
        "normal" | "medium" => 2,
        "low" => 1,
        _ => return,
    };
    let scope = class_scope(ev);
    add_profile(ev, "security_control");
    ev.confidence_id = Some(id);
    ev.confidence = caption(scope, "confidence_id", id as i64).map(Cow::Borrowed);
}

/// Put the unused fields and, if asked, the record itself on an event.
pub fn finish<'a>(ev: &mut Event<'a>, fields: &Fields<'a>, record: &'a str, opts: &Options) {
    if fields
        .items
        .iter()
        .any(|(_, v, used)| !used && !is_blank(*v))
    {
        fields.rest_into(ev.unmapped());
    }
    if opts.raw_data {
        ev.raw_data = Some(Cow::Borrowed(record));
    }
}

/// The common decode path of a JSON source: UTF-8 check, JSON object, then
/// `map`. A record that is not a JSON object becomes the unparsed fallback
/// event.
pub fn decode_json<'r>(
    record: &'r [u8],
    product: Product<'static>,
    log_name: &'static str,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
    map: impl FnOnce(Fields<'r>, &'r str, &mut dyn FnMut(&mut Event<'_>)) -> Outcome,
) -> Outcome {
    let text = match crate::common::utf8::text(record) {
        Ok(t) => t,
        Err(e) => {
            return unparsed(
                record,
                ErrorKind::NotUtf8,
                e.valid_up_to(),
                product,
                log_name,
                opts,
                out,
            )
        }
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return unparsed(record, ErrorKind::Empty, 0, product, log_name, opts, out);
    }
    match Fields::parse(trimmed) {
        Ok(f) => map(f, trimmed, out),
        Err(e) => {
            let at = line_col_offset(trimmed, e.line(), e.column());
            unparsed(record, ErrorKind::Json, at, product, log_name, opts, out)
        }
    }
}

fn line_col_offset(s: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in s.split('\n').enumerate() {
        if i + 1 == line {
            return (off + col.saturating_sub(1)).min(s.len());
        }
        off += l.len() + 1;
    }
    0
}

/// Emit the unparsed fallback event for `record` and return its outcome.
pub fn unparsed(
    record: &[u8],
    kind: ErrorKind,
    at: usize,
    product: Product<'static>,
    log_name: &'static str,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
) -> Outcome {
    let err = ParseError { kind, at };
    out(&mut fallback::unparsed(
        record, err, product, log_name, None, opts,
    ));
    Outcome::Unparsed(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_borrow_and_rest() {
        let rec = r#"{"a":"x","b":"y\"z","n":12,"f":1.5,"t":"true","z":null,"o":{"k":[1,null]}}"#;
        let mut f = Fields::parse(rec).unwrap();
        assert!(matches!(f.str("a"), Some(Cow::Borrowed("x"))));
        assert_eq!(f.str("b").as_deref(), Some("y\"z"));
        assert_eq!(f.i64("n"), Some(12));
        assert_eq!(f.bool("t"), Some(true));
        assert_eq!(f.str("z"), None);
        let mut m = Map::new();
        f.rest_into(&mut m);
        assert_eq!(Value::Object(m), serde_json::json!({"f":1.5,"o":{"k":[1]}}));
        assert!(Fields::parse("[1]").is_err());
        assert!(Fields::parse("{").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2024-10-03T11:22:47Z", 0), Some(1727954567000));
        assert_eq!(
            parse_time("2024-10-18T14:54:36.3616847", 0),
            Some(1729263276361)
        );
        assert_eq!(
            parse_time("2022-08-25T17:06:21.935763-0700", 0),
            Some(1661472381935)
        );
        assert_eq!(parse_time("/Date(1658751973240)/", 0), Some(1658751973240));
        assert_eq!(parse_time("1689692409135", 0), Some(1689692409135));
        assert_eq!(parse_time("garbage", 0), None);
        assert_eq!(parse_time("/Date(x)/", 0), None);
        assert_eq!(parse_time("/Date()/", 0), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(addr("\"A. B\" <a.b@evil.zz>"), Some("a.b@evil.zz"));
        assert_eq!(addr("<x@example.com>"), Some("x@example.com"));
        assert_eq!(addr("ANONYMIZED"), None);
        assert_eq!(addr("REDACTED"), None);
        assert_eq!(addr("a@b"), None);
        assert_eq!(addr("a b@example.com"), None);
        assert_eq!(addr("<>"), None);
    }

    #[test]
    fn directions() {
        let opts = Options {
            local_domains: vec!["example.com".into()],
            ..Default::default()
        };
        let d = |f, t| direction_from_domains(Some(f), [t], &opts);
        assert_eq!(d("a@evil.test", "b@example.com"), 1);
        assert_eq!(d("a@mail.example.com", "b@evil.test"), 2);
        assert_eq!(d("a@example.com", "b@EXAMPLE.com"), 3);
        assert_eq!(d("a@notexample.com", "b@evil.test"), 0);
    }

    #[test]
    fn urls() {
        let u = url(Cow::Borrowed("HTTPS://h.example.com:8443/p/a?q=1#f"));
        assert_eq!(u.scheme.as_deref(), Some("https"));
        assert_eq!(u.hostname.as_deref(), Some("h.example.com"));
        assert_eq!(u.port, Some(8443));
        assert_eq!(u.path.as_deref(), Some("/p/a"));
        assert_eq!(u.query_string.as_deref(), Some("q=1"));
        let u = url(Cow::Borrowed("example.com"));
        assert_eq!(u.hostname, None);
        assert_eq!(u.url_string.as_deref(), Some("example.com"));
    }
}
