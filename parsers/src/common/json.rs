//! Pieces shared by the JSON sources: a borrowed, field-by-field view of one
//! JSON object, timestamp and address checks, and the small event helpers
//! (product, user type, fallback marker) every identity mapping needs.
//!
//! [`Obj`] reads an object's members as raw JSON slices without building a
//! tree: a mapping takes the members it knows (strings come back borrowed
//! from the record when they have no escapes) and whatever it did not take
//! is turned into `serde_json::Value`s only at the end, for `unmapped`. That
//! keeps vendor fields nobody mapped without paying for a full DOM parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ocsf::{caption, AuthFactor, Event, NetworkEndpoint, Product, Str, User};
use crate::{ErrorKind, ParseError};

/// One JSON object, its members kept as raw slices of the input.
#[derive(Debug, Clone, Default)]
pub struct Obj<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    used: Vec<bool>,
}

struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(k) = map.next_key::<BorrowedStr<'de>>()? {
                    let raw: &'de RawValue = map.next_value()?;
                    v.push((k.0, raw));
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// A string that borrows from the input when it has no escapes.
#[derive(Deserialize)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'a> Obj<'a> {
    /// Read `text` as one JSON object.
    pub fn parse(text: &'a str) -> Result<Obj<'a>, serde_json::Error> {
        let Members(fields) = serde_json::from_str(text)?;
        let used = vec![false; fields.len()];
        Ok(Obj { fields, used })
    }

    /// Read a raw member value as an object (`None` if it is not one).
    pub fn from_raw(raw: &'a RawValue) -> Option<Obj<'a>> {
        Obj::parse(raw.get()).ok()
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|(k, _)| k == key)
    }

    /// The raw value of `key`, marking it used; `None` when absent or null.
    pub fn raw(&mut self, key: &str) -> Option<&'a RawValue> {
        let i = self.find(key)?;
        self.used[i] = true;
        let raw = self.fields[i].1;
        (raw.get() != "null").then_some(raw)
    }

    /// True if `key` is present (even as null). Does not mark it used.
    pub fn has(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// The string value of `key` without marking it used.
    pub fn peek_str(&self, key: &str) -> Option<Str<'a>> {
        self.find(key).and_then(|i| raw_str(self.fields[i].1))
    }

    /// Mark `key` used without reading it (the mapping covers it otherwise).
    pub fn skip(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.used[i] = true;
        }
    }

    /// Mark `key` unused again: the mapping could not take all of it, so
    /// it stays in [`Obj::rest`].
    pub fn unuse(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.used[i] = false;
        }
    }

    /// A non-empty string (numbers and booleans are rendered as text).
    pub fn str(&mut self, key: &str) -> Option<Str<'a>> {
        self.raw(key).and_then(raw_str)
    }

    /// An integer (or an integer written as a string).
    pub fn i64(&mut self, key: &str) -> Option<i64> {
        self.raw(key).and_then(raw_i64)
    }

    /// A boolean (or "true"/"false" as a string).
    pub fn bool(&mut self, key: &str) -> Option<bool> {
        self.raw(key).and_then(raw_bool)
    }

    /// A nested object.
    pub fn obj(&mut self, key: &str) -> Option<Obj<'a>> {
        self.raw(key).and_then(Obj::from_raw)
    }

    /// A list of strings (a single string counts as a list of one).
    pub fn strs(&mut self, key: &str) -> Vec<Str<'a>> {
        self.raw(key).map(raw_strs).unwrap_or_default()
    }

    /// The members of an array value, as raw slices.
    pub fn array(&mut self, key: &str) -> Vec<&'a RawValue> {
        self.raw(key).map(raw_array).unwrap_or_default()
    }

    /// The value of `key` as a JSON tree.
    pub fn value(&mut self, key: &str) -> Option<Value> {
        self.raw(key).and_then(raw_value)
    }

    /// The members not used so far (nulls and empty strings left out).
    pub fn rest(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (i, (k, raw)) in self.fields.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let s = raw.get();
            if s == "null" || s == "\"\"" {
                continue;
            }
            if let Some(v) = raw_value(raw) {
                m.insert(k.to_string(), v);
            }
        }
        m
    }

    /// Put the members not used so far under `unmapped[name]` (merged into
    /// the top level of `unmapped` when `name` is empty).
    pub fn keep(&self, ev: &mut Event<'_>, name: &str) {
        let rest = self.rest();
        if rest.is_empty() {
            return;
        }
        let um = ev.unmapped();
        if name.is_empty() {
            for (k, v) in rest {
                um.insert(k, v);
            }
        } else {
            match um.get_mut(name) {
                Some(Value::Object(m)) => m.extend(rest),
                _ => {
                    um.insert(name.to_string(), Value::Object(rest));
                }
            }
        }
    }

    /// Take every member whose value is a string, number or boolean, as
    /// text, marking them used; objects and arrays are left for [`Obj::rest`].
    pub fn take_scalars(&mut self) -> Vec<(Cow<'a, str>, Str<'a>)> {
        let mut out = Vec::new();
        for (i, (k, raw)) in self.fields.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            if let Some(v) = raw_str(raw) {
                self.used[i] = true;
                out.push((k.clone(), v));
            }
        }
        out
    }

    /// Iterate over the members (marking nothing).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

/// A raw value as a non-empty string (numbers and booleans as text).
pub fn raw_str(raw: &RawValue) -> Option<Str<'_>> {
    let s = raw.get();
    match s.as_bytes().first()? {
        b'"' => {
            let BorrowedStr(c) = serde_json::from_str(s).ok()?;
            (!c.is_empty()).then_some(c)
        }
        b'-' | b'0'..=b'9' | b't' | b'f' => Some(Cow::Borrowed(s)),
        _ => None,
    }
}

/// A raw value as an integer (also from a string of digits).
pub fn raw_i64(raw: &RawValue) -> Option<i64> {
    let s = raw.get();
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    s.parse().ok()
}

/// A raw value as a boolean (also from "true"/"false").
pub fn raw_bool(raw: &RawValue) -> Option<bool> {
    match raw.get() {
        "true" | "\"true\"" | "\"True\"" => Some(true),
        "false" | "\"false\"" | "\"False\"" => Some(false),
        _ => None,
    }
}

/// A raw value as a list of non-empty strings.
pub fn raw_strs(raw: &RawValue) -> Vec<Str<'_>> {
    if raw.get().starts_with('[') {
        raw_array(raw).into_iter().filter_map(raw_str).collect()
    } else {
        raw_str(raw).into_iter().collect()
    }
}

/// A raw array's members.
pub fn raw_array(raw: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get()).unwrap_or_default()
}

/// A raw value as a JSON tree.
pub fn raw_value(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// The record as text and as a JSON object, or why it is neither.
pub fn parse_record(record: &[u8]) -> Result<(&str, Obj<'_>), ParseError> {
    let text = crate::common::utf8::text(record).map_err(|e| ParseError {
        kind: ErrorKind::NotUtf8,
        at: e.valid_up_to(),
    })?;
    let start = text.len() - text.trim_start().len();
    if text.trim().is_empty() {
        return Err(ParseError {
            kind: ErrorKind::Empty,
            at: 0,
        });
    }
    match Obj::parse(text) {
        Ok(o) => Ok((text, o)),
        Err(e) => Err(ParseError {
            kind: ErrorKind::Json,
            at: if e.line() <= 1 {
                e.column().saturating_sub(1).max(start)
            } else {
                start
            },
        }),
    }
}

/// Epoch milliseconds of an ISO-8601 / RFC 3339 timestamp; a missing zone
/// means UTC, 1 to 9 fraction digits are accepted.
pub fn time_ms(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// True if `s` is an IPv4 or IPv6 address.
pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// True if `s` looks like a bare e-mail address (`email_t`).
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

/// An endpoint for an address that may not be an IP (AWS writes service
/// names such as `lambda.amazonaws.com` or `AWS Internal` in the IP field):
/// an IP goes to `ip`, a dotted name to `domain`, anything else to `name`.
pub fn endpoint<'a>(addr: Str<'a>) -> NetworkEndpoint<'a> {
    let mut ep = NetworkEndpoint::default();
    if is_ip(&addr) {
        ep.ip = Some(addr);
    } else if addr.contains('.') && !addr.contains(char::is_whitespace) && !addr.contains(':') {
        ep.domain = Some(addr);
    } else {
        ep.name = Some(addr);
    }
    ep
}

/// `metadata.product`.
pub fn product(name: &'static str, vendor: &'static str) -> Box<Product<'static>> {
    Box::new(Product {
        name: Some(Cow::Borrowed(name)),
        vendor_name: Some(Cow::Borrowed(vendor)),
        ..Default::default()
    })
}

/// `user.type_id` values.
pub mod user_type {
    /// A person.
    pub const USER: i32 = 1;
    /// An administrator.
    pub const ADMIN: i32 = 2;
    /// The system itself.
    pub const SYSTEM: i32 = 3;
    /// A service account / principal.
    pub const SERVICE: i32 = 4;
}

/// Set `type_id` and its caption on a user.
pub fn set_user_type(user: &mut User<'_>, id: i32) {
    user.type_id = Some(id);
    user.type_ = caption("user", "type_id", id as i64).map(Cow::Borrowed);
}

/// A user from a login name: an e-mail address also fills `email_addr`.
pub fn user_named(name: Str<'_>) -> User<'_> {
    let mut u = User::default();
    if is_email(&name) {
        u.email_addr = Some(name.clone());
    }
    u.name = Some(name);
    u
}

/// Mark an event as the fallback for an event type no mapping covers yet
/// (`unmapped.idlink.fallback = true`), so conformance reports count it.
pub fn mark_fallback(ev: &mut Event<'_>) {
    let um = ev.unmapped();
    match um.get_mut("idlink") {
        Some(Value::Object(m)) => {
            m.insert("fallback".into(), Value::Bool(true));
        }
        _ => {
            let mut m = Map::new();
            m.insert("fallback".into(), Value::Bool(true));
            um.insert("idlink".into(), Value::Object(m));
        }
    }
}

/// True if the event carries the fallback marker.
pub fn is_fallback(ev: &Event<'_>) -> bool {
    ev.unmapped
        .as_ref()
        .and_then(|u| u.get("idlink"))
        .and_then(|i| i.get("fallback"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `status_id` and caption from a success flag.
pub fn set_outcome(ev: &mut Event<'_>, ok: Option<bool>) {
    use crate::ocsf::status;
    match ok {
        Some(true) => ev.set_status(status::SUCCESS, None),
        Some(false) => ev.set_status(status::FAILURE, None),
        None => ev.set_status(status::UNKNOWN, None),
    }
}

/// One `auth_factors[]` entry; `label` names an Other (99) factor.
pub fn auth_factor<'a>(id: i32, label: Str<'a>, provider: &'static str) -> AuthFactor<'a> {
    AuthFactor {
        factor_type_id: Some(id),
        factor_type: if id == 99 {
            Some(label)
        } else {
            caption("auth_factor", "factor_type_id", id as i64).map(Cow::Borrowed)
        },
        provider: Some(Cow::Borrowed(provider)),
        ..Default::default()
    }
}

/// Set `auth_protocol_id` and `auth_protocol` (the label for Other, 99).
pub fn set_auth_protocol<'a>(ev: &mut Event<'a>, id: i32, label: Str<'a>) {
    ev.auth_protocol_id = Some(id);
    ev.auth_protocol = if id == 99 {
        Some(label)
    } else {
        caption("authentication", "auth_protocol_id", id as i64).map(Cow::Borrowed)
    };
}

/// Set `activity_id` 99 (Other) with the source's own label in
/// `activity_name`; `type_name` keeps the schema caption ("<Class>: Other"),
/// which is what the validator checks against `type_uid`.
pub fn other_activity<'a>(ev: &mut Event<'a>, label: impl Into<Str<'a>>) {
    let class = ev.class_name.clone().unwrap_or_default();
    let label = label.into();
    ev.activity_id = Some(99);
    ev.type_uid = Some(ev.class_uid.unwrap_or(0) as i64 * 100 + 99);
    // For Base Event `type_uid` is 99 itself (Other), so its caption is the
    // source's label too.
    ev.type_name = Some(Cow::Owned(if ev.class_uid == Some(0) {
        format!("{class}: {label}")
    } else {
        format!("{class}: Other")
    }));
    ev.activity_name = Some(label);
}

/// List `profile` in `metadata.profiles` (once).
pub fn add_profile(ev: &mut Event<'_>, profile: &'static str) {
    let meta = ev.meta();
    if !meta.profiles.iter().any(|p| p == profile) {
        meta.profiles.push(Cow::Borrowed(profile));
    }
}

/// Set `logon_type_id` and `logon_type`.
pub fn set_logon_type(ev: &mut Event<'_>, id: i32) {
    ev.logon_type_id = Some(id);
    ev.logon_type = caption("authentication", "logon_type_id", id as i64).map(Cow::Borrowed);
}

/// `activity_id` of a management operation from the verb its name starts
/// with (`CreateUser`, `DELETE_GROUP`, `describe-instances`, ...): 1 Create,
/// 2 Read, 3 Update, 4 Delete, or 99 Other. Valid for API Activity and
/// Web Resources Activity, whose first four activities agree.
pub fn verb_activity(name: &str) -> i32 {
    let lower = name.to_ascii_lowercase();
    let n = lower.trim_start_matches(['_', '-']);
    let starts = |ps: &[&str]| ps.iter().any(|p| n.starts_with(p));
    if starts(&[
        "create", "add", "insert", "put", "run", "register", "import", "upload", "new", "generate",
        "allocate", "issue",
    ]) {
        1
    } else if starts(&[
        "get", "describe", "list", "lookup", "view", "search", "head", "read", "download",
        "export", "batchget", "query", "select", "scan", "check", "preview", "decrypt", "verify",
    ]) || n.ends_with("_view")
        || n.contains("content_access")
    {
        2
    } else if starts(&[
        "update",
        "modify",
        "change",
        "set",
        "edit",
        "rename",
        "move",
        "enable",
        "disable",
        "toggle",
        "reset",
        "suspend",
        "unsuspend",
        "turn",
        "attach",
        "associate",
        "tag",
        "untag",
        "restore",
        "replace",
        "assign",
        "grant",
        "encrypt",
        "start",
        "stop",
        "reboot",
        "apply",
        "upgrade",
        "copy",
    ]) {
        3
    } else if starts(&[
        "delete",
        "remove",
        "revoke",
        "terminate",
        "detach",
        "disassociate",
        "deregister",
        "unassign",
        "release",
        "purge",
        "trash",
        "cancel",
        "destroy",
    ]) {
        4
    } else {
        99
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obj_borrows_and_keeps_the_rest() {
        let text =
            r#"{"a":"x","b":"y\u0026z","n":3,"s":"42","t":true,"o":{"k":1},"z":null,"e":""}"#;
        let mut o = Obj::parse(text).unwrap();
        assert!(matches!(o.str("a"), Some(Cow::Borrowed("x"))));
        assert_eq!(o.str("b").as_deref(), Some("y&z"));
        assert_eq!(o.i64("n"), Some(3));
        assert_eq!(o.i64("s"), Some(42));
        assert_eq!(o.bool("t"), Some(true));
        assert!(o.str("z").is_none());
        let rest = o.rest();
        assert_eq!(rest.len(), 1, "{rest:?}");
        assert_eq!(rest["o"]["k"], 1);
    }

    #[test]
    fn bad_records() {
        assert_eq!(parse_record(b"").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(parse_record(b"[1]").unwrap_err().kind, ErrorKind::Json);
        assert_eq!(parse_record(b"{\"a\":").unwrap_err().kind, ErrorKind::Json);
        assert_eq!(
            parse_record(b"\xff{}").unwrap_err().kind,
            ErrorKind::NotUtf8
        );
        assert!(parse_record(b" {\"a\":1} ").is_ok());
    }

    #[test]
    fn times_and_addresses() {
        assert_eq!(time_ms("2020-10-02T15:00:00Z"), Some(1_601_650_800_000));
        assert_eq!(
            time_ms("2020-10-02T15:00:00.123456789Z"),
            Some(1_601_650_800_123)
        );
        assert_eq!(
            time_ms("2020-10-02T15:00:00+02:00"),
            Some(1_601_643_600_000)
        );
        assert_eq!(
            time_ms("2020-10-02T15:00:00.1234567"),
            Some(1_601_650_800_123)
        );
        assert_eq!(time_ms("yesterday"), None);
        assert!(is_ip("FE80:000:333:1111:7777:5555:6666:ddd"));
        assert!(!is_ip("00.000.000.00"));
        assert!(is_email("a@example.com"));
        assert!(!is_email("redacted"));
        assert!(!is_email("Bob <b@example.com>"));
        assert_eq!(
            endpoint("AWS Internal".into()).name.as_deref(),
            Some("AWS Internal")
        );
        assert_eq!(
            endpoint("lambda.amazonaws.com".into()).domain.as_deref(),
            Some("lambda.amazonaws.com")
        );
    }

    #[test]
    fn fallback_marker() {
        let mut ev = Event::new(&crate::ocsf::BASE_EVENT, 99, 0);
        assert!(!is_fallback(&ev));
        mark_fallback(&mut ev);
        assert!(is_fallback(&ev));
    }
}
