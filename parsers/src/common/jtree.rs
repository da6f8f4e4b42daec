//! Helpers for JSON sources: a borrowing JSON tree, tolerant text fields and
//! vendor timestamps.
//!
//! [`J`] is a JSON value whose strings borrow from the record when they have
//! no escapes (serde_json's `Value` always copies). Vendors are loose with
//! types (Okta's `postalCode` is a string in one event and a number in the
//! next, Microsoft writes `"ResultStatus": "True"`), so mappings read fields
//! through accessors that accept what is there rather than failing the
//! record. Parts of a record a mapping does not turn into OCSF attributes go
//! under `unmapped` with [`J::to_value`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDateTime};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

use crate::ocsf::write::WriteJson;
use crate::ocsf::{Json, Str};

/// A JSON value borrowing its strings from the input where it can.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum J<'a> {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Num(Number),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<J<'a>>),
    /// An object, keys in input order.
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

static NULL: J<'static> = J::Null;

impl<'a> J<'a> {
    /// Parse a record.
    pub fn parse(record: &'a [u8]) -> Result<J<'a>, serde_json::Error> {
        serde_json::from_slice(record)
    }

    /// The member `key` of an object (`Null` when absent or not an object).
    pub fn get(&self, key: &str) -> &J<'a> {
        match self {
            J::Obj(m) => m
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The member `key`, compared without regard to ASCII case.
    pub fn get_ci(&self, key: &str) -> &J<'a> {
        match self {
            J::Obj(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
                .unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Follow a path of object keys.
    pub fn at(&self, path: &[&str]) -> &J<'a> {
        path.iter().fold(self, |v, k| v.get(k))
    }

    /// True for `null` (and absent members).
    pub fn is_null(&self) -> bool {
        matches!(self, J::Null)
    }

    /// A non-empty string (numbers and booleans are not strings here).
    pub fn str(&self) -> Option<&str> {
        match self {
            J::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// A non-empty string, borrowed from the input when it was.
    pub fn text(&self) -> Option<Str<'a>> {
        match self {
            J::Str(s) if !s.is_empty() => Some(s.clone()),
            J::Num(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }

    /// An integer, also from a numeric string.
    pub fn i64(&self) -> Option<i64> {
        match self {
            J::Num(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            J::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A float, also from a numeric string.
    pub fn f64(&self) -> Option<f64> {
        match self {
            J::Num(n) => n.as_f64(),
            J::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean, also from `"true"`/`"false"` (any case).
    pub fn bool(&self) -> Option<bool> {
        match self {
            J::Bool(b) => Some(*b),
            J::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            J::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The elements of an array (empty for anything else).
    pub fn arr(&self) -> &[J<'a>] {
        match self {
            J::Arr(v) => v,
            _ => &[],
        }
    }

    /// The members of an object (empty for anything else).
    pub fn members(&self) -> &[(Cow<'a, str>, J<'a>)] {
        match self {
            J::Obj(m) => m,
            _ => &[],
        }
    }

    /// True for objects.
    pub fn is_obj(&self) -> bool {
        matches!(self, J::Obj(_))
    }

    /// True when there is nothing in it: null, "", [] or {}.
    pub fn is_empty(&self) -> bool {
        match self {
            J::Null => true,
            J::Str(s) => s.is_empty(),
            J::Arr(v) => v.is_empty(),
            J::Obj(m) => m.is_empty(),
            _ => false,
        }
    }

    /// This value, or, when it is a string holding JSON (Log Analytics
    /// writes nested objects that way), the parsed JSON as an owned tree.
    pub fn nested(&self) -> Cow<'_, J<'a>> {
        if let J::Str(s) = self {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                if let Ok(v) = serde_json::from_str::<Value>(t) {
                    return Cow::Owned(J::from_value(v));
                }
            }
        }
        Cow::Borrowed(self)
    }

    /// An owned tree from a `serde_json::Value`.
    pub fn from_value(v: Value) -> J<'static> {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(b),
            Value::Number(n) => J::Num(n),
            Value::String(s) => J::Str(Cow::Owned(s)),
            Value::Array(a) => J::Arr(a.into_iter().map(J::from_value).collect()),
            Value::Object(m) => J::Obj(
                m.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), J::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// An owned `serde_json::Value` copy (for `unmapped`).
    pub fn to_value(&self) -> Value {
        match self {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Num(n) => Value::Number(n.clone()),
            J::Str(s) => Value::String(s.to_string()),
            J::Arr(v) => Value::Array(v.iter().map(J::to_value).collect()),
            J::Obj(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// The value as `json_t` data, written as JSON text once instead of
    /// copied into a tree: the same JSON as [`J::to_value`] gives (keys in
    /// byte order, the last of equal keys winning).
    pub fn to_json(&self) -> Json {
        let mut text = Vec::with_capacity(256);
        // Writing into memory cannot fail, and the writer puts out UTF-8
        // for UTF-8 input; should either ever break, the tree is the way.
        match self.write_json(&mut text).map(|()| String::from_utf8(text)) {
            Ok(Ok(t)) => Json::text(t),
            _ => Json::Value(self.to_value()),
        }
    }

    /// The object without the members named in `skip` and without null or
    /// empty members, still borrowing; `None` when nothing is left. (What
    /// [`J::rest`] copies into a `Value`.)
    pub fn without(&self, skip: &[&str]) -> Option<J<'a>> {
        let m: Vec<(Cow<'a, str>, J<'a>)> = self
            .members()
            .iter()
            .filter(|(k, v)| !v.is_empty() && !skip.contains(&k.as_ref()))
            .cloned()
            .collect();
        (!m.is_empty()).then_some(J::Obj(m))
    }

    /// The same tree, owning all its text.
    pub fn into_owned(self) -> J<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        match self {
            J::Null => J::Null,
            J::Bool(b) => J::Bool(b),
            J::Num(n) => J::Num(n),
            J::Str(s) => J::Str(own(s)),
            J::Arr(v) => J::Arr(v.into_iter().map(J::into_owned).collect()),
            J::Obj(m) => J::Obj(
                m.into_iter()
                    .map(|(k, v)| (own(k), v.into_owned()))
                    .collect(),
            ),
        }
    }

    /// An owned copy of an object without the members named in `skip` and
    /// without null or empty members; `None` when nothing is left.
    pub fn rest(&self, skip: &[&str]) -> Option<Value> {
        let m: Map<String, Value> = self
            .members()
            .iter()
            .filter(|(k, v)| !v.is_empty() && !skip.contains(&k.as_ref()))
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect();
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// Written as the `serde_json::Value` it stands for ([`J::to_value`]):
/// object members in key order, the last of equal keys winning.
impl Serialize for J<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Num(n) => n.serialize(s),
            J::Str(v) => s.serialize_str(v),
            J::Arr(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for e in v {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            J::Obj(m) => serialize_members(m, s),
        }
    }
}

/// Write `members` as a JSON object the way a `serde_json::Map` built from
/// them in this order holds them: keys in byte order, the last of equal
/// keys winning. Members already in strictly ascending key order (what
/// mappings build) are written as they are, without sorting.
pub fn serialize_members<S, K, V>(members: &[(K, V)], s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    K: AsRef<str>,
    V: Serialize,
{
    let key = |i: usize| members[i].0.as_ref();
    if members
        .windows(2)
        .all(|w| w[0].0.as_ref() < w[1].0.as_ref())
    {
        let mut m = s.serialize_map(Some(members.len()))?;
        for (k, v) in members {
            m.serialize_entry(k.as_ref(), v)?;
        }
        return m.end();
    }
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
    let mut m = s.serialize_map(None)?;
    for (n, &i) in order.iter().enumerate() {
        if order.get(n + 1).is_none_or(|&next| key(next) != key(i)) {
            m.serialize_entry(key(i), &members[i].1)?;
        }
    }
    m.end()
}

struct JVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for JVisitor<'a> {
    type Value = J<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<J<'a>, E> {
        Ok(J::Null)
    }
    fn visit_none<E>(self) -> Result<J<'a>, E> {
        Ok(J::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<J<'a>, D::Error> {
        J::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<J<'a>, E> {
        Ok(J::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<J<'a>, E> {
        Ok(J::Num(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<J<'a>, E> {
        Ok(J::Num(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<J<'a>, E> {
        Ok(Number::from_f64(n).map(J::Num).unwrap_or(J::Null))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<J<'a>, E> {
        Ok(J::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<J<'a>, E> {
        Ok(J::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<J<'a>, E> {
        Ok(J::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'a>, A::Error> {
        // serde_json gives no size hint: start with room for a typical
        // vendor array / object instead of growing 0, 4, 8, 16.
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
        while let Some(e) = seq.next_element::<J<'a>>()? {
            v.push(e);
        }
        Ok(J::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'a>, A::Error> {
        let mut m = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(k) = map.next_key::<Text<'a>>()? {
            let v = map.next_value::<J<'a>>()?;
            m.push((k.0, v));
        }
        Ok(J::Obj(m))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for J<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor(PhantomData))
    }
}

/// A text field of a typed record: borrowed when the JSON string has no
/// escapes; numbers and booleans are accepted and written as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    /// The text as `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(s)))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Borrowed(if b { "true" } else { "false" })))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(n.to_string())))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(n.to_string())))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(n.to_string())))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
    }
}

/// Epoch milliseconds of a vendor timestamp: RFC 3339 with any number of
/// fraction digits (Microsoft writes 7), or the same without a zone (taken
/// as UTC), with `T` or a space between date and time.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// Activity 99 (Other) with the vendor's own label in `activity_name`.
///
/// [`Event::set_other_activity`](crate::ocsf::Event::set_other_activity)
/// also writes the label into `type_name`, which the validator rejects
/// (`type_name` must be the caption of `type_uid`, "<Class>: Other"); this
/// keeps the label in `activity_name` only.
pub fn set_other_activity<'a>(ev: &mut crate::ocsf::Event<'a>, label: impl Into<Str<'a>>) {
    ev.set_other_activity(label);
    let class = ev.class_name.as_deref().unwrap_or("Base Event");
    ev.type_name = Some(Cow::Owned(format!("{class}: Other")));
}

/// A plausible IPv4/IPv6 address (what the validator's `ip_t` accepts).
pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// `local@domain` shaped (what the validator's `email_t` accepts, roughly).
pub fn is_email(s: &str) -> bool {
    let b = s.as_bytes();
    match memchr::memchr(b'@', b) {
        Some(at) => {
            let (l, d) = (&b[..at], &b[at + 1..]);
            !l.is_empty()
                && memchr::memchr(b'.', d).is_some()
                && d.first() != Some(&b'.')
                && d.last() != Some(&b'.')
                && memchr::memchr(b'@', d).is_none()
                && !has_email_stop(s)
        }
        None => false,
    }
}

/// Whether `s` holds whitespace, `<`, `>` or `,`. Bytes first: only when
/// one of those ASCII characters or a non-ASCII byte (which may start a
/// Unicode space) is there does the exact `char` test run, so the answer
/// is always that of the `char` test.
fn has_email_stop(s: &str) -> bool {
    let stop = |c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',';
    s.bytes()
        .any(|b| matches!(b, b'\t'..=b'\r' | b' ' | b'<' | b'>' | b',') || b >= 0x80)
        && s.contains(stop)
}

/// An IP address from text that may carry a port (`1.2.3.4:443`,
/// `[2001:db8::1]:443`).
pub fn ip_of(s: &str) -> Option<&str> {
    let s = s.trim();
    if is_ip(s) {
        return Some(s);
    }
    if let Some(rest) = s.strip_prefix('[') {
        let host = rest.split(']').next()?;
        return is_ip(host).then_some(host);
    }
    let (host, port) = s.rsplit_once(':')?;
    (is_ip(host) && port.parse::<u16>().is_ok()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_is_what_the_tree_serialises_to() {
        for rec in [
            r#"{"signOnModeType":"SAML_2_0","b":{"z":1,"a":[true,null,"x"]},"a":-0.5e-7}"#,
            r#"{"k":"first","k":"last","\u00e9t\u00e9":"caf\u00e9 \"q\" \n\t\u0001 /","n":18446744073709551615}"#,
            r#"{"":{},"e":[],"big":1.7976931348623157e308,"i":-9007199254740993}"#,
            r#"["top",{"level":[{"deep":{"deeper":"\ud83d\ude00"}}]}]"#,
            r#""just text""#,
            "12",
        ] {
            let j = J::parse(rec.as_bytes()).unwrap();
            let Json::Text(text) = j.to_json() else {
                panic!("{rec}: not written as text");
            };
            assert_eq!(
                &*text,
                serde_json::to_string(&j.to_value()).unwrap(),
                "{rec}"
            );
        }
    }

    #[test]
    fn borrows_plain_strings_and_copies_escaped_ones() {
        let rec = br#"{"a":"plain","b":"esc\"aped","n":[1,2.5,null,true]}"#;
        let j = J::parse(rec).unwrap();
        assert!(matches!(j.get("a"), J::Str(Cow::Borrowed("plain"))));
        assert!(matches!(j.get("b"), J::Str(Cow::Owned(_))));
        assert_eq!(j.get("n").arr().len(), 4);
        assert_eq!(j.get("n").arr()[0].i64(), Some(1));
        assert!(j.at(&["x", "y"]).is_null());
        assert_eq!(
            j.rest(&["a"]),
            Some(serde_json::json!({"b": "esc\"aped", "n": [1, 2.5, null, true]}))
        );
    }

    #[test]
    fn writes_like_the_value_it_stands_for() {
        let rec = br#"{"b":[1,2.5,-3,null,true,"x"],"a":{"z":"\u00e9\"","y":{}},"a":"last","":[{"d":1,"c":2}]}"#;
        let j = J::parse(rec).unwrap();
        let want = serde_json::to_string(&j.to_value()).unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), want);
        assert_eq!(
            String::from_utf8(crate::ocsf::write::to_vec(&j).unwrap()).unwrap(),
            want
        );
        assert!(
            want.starts_with(r#"{"":[{"c":2,"d":1}],"a":"last","b":"#),
            "{want}"
        );
        let owned = j.clone().into_owned();
        assert_eq!(owned, j);
        assert!(matches!(owned.get("b").arr()[5], J::Str(Cow::Owned(_))));
        assert_eq!(j.without(&["a"]).map(|w| w.to_value()), j.rest(&["a"]));
        assert_eq!(J::parse(b"{\"a\":null}").unwrap().without(&[]), None);
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time_ms("2024-08-13T15:58:20.353Z"),
            Some(1_723_564_700_353)
        );
        assert_eq!(
            parse_time_ms("2022-04-02T08:50:06.9024666Z"),
            Some(1_648_889_406_902)
        );
        assert_eq!(
            parse_time_ms("2020-02-28T07:02:45"),
            Some(1_582_873_365_000)
        );
        assert_eq!(
            parse_time_ms("2020-02-28T07:02:45.5+01:00"),
            Some(1_582_869_765_500)
        );
        assert_eq!(parse_time_ms("yesterday"), None);
    }

    #[test]
    fn email_stops_match_the_char_test() {
        let stop = |c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',';
        let parts = [
            "a", "@", ".", " ", "\t", "\u{b}", "\u{c}", "\r", "\n", "\u{1c}", "\u{1f}", "<", ">",
            ",", "\u{85}", "\u{a0}", "\u{2003}", "\u{3000}", "é", "\u{7f}", "\u{200b}",
        ];
        for x in parts {
            for y in parts {
                for z in ["", "b@example.com", "@x.y"] {
                    let s = format!("{x}{z}{y}");
                    assert_eq!(has_email_stop(&s), s.contains(stop), "{s:?}");
                }
            }
        }
        assert!(is_email("ann@example.com"));
        assert!(!is_email("ann@exa\u{a0}mple.com"));
        assert!(!is_email("ann@exa\u{b}mple.com"));
        assert!(is_email("ánn@example.com"));
        for s in [
            "@a.b", "a@.b", "a@b.", "a@b", "a@b@c.d", "a@b.c", "a@@b.c", "", "@", "a.b@c",
        ] {
            let old = match s.split_once('@') {
                Some((l, d)) => {
                    !l.is_empty()
                        && d.contains('.')
                        && !d.starts_with('.')
                        && !d.ends_with('.')
                        && !d.contains('@')
                }
                None => false,
            };
            assert_eq!(is_email(s), old, "{s}");
        }
    }

    #[test]
    fn addresses() {
        assert!(is_email("a.b@example.com"));
        assert!(!is_email("Bob <b@example.com>"));
        assert!(!is_email("unknown"));
        assert_eq!(ip_of("192.0.2.1:443"), Some("192.0.2.1"));
        assert_eq!(ip_of("[2001:db8::1]:443"), Some("2001:db8::1"));
        assert_eq!(ip_of("2001:db8::1"), Some("2001:db8::1"));
        assert_eq!(ip_of("host"), None);
    }
}
