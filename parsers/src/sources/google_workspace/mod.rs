//! Google Workspace Admin SDK Reports API activities (`admin#reports#activity`).
//!
//! One record is one activity: `id` (time, uniqueQualifier, applicationName,
//! customerId), `actor`, `ipAddress`, `networkInfo` and `events`, a list of
//! `{type, name, parameters[]}` (Elastic-style exports flatten it to a
//! single object; both are read). Each entry of `events` becomes one OCSF
//! event; the mapping is in [`ocsf`].

mod ocsf;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::common::fallback;
use crate::common::json::{self, raw_array, raw_i64, raw_str, Obj};
use crate::ocsf::{Event, Str};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

pub(crate) const LOG_NAME: &str = "Reports API";

/// Decoder for Google Workspace Reports API activities.
pub struct GoogleWorkspaceDecoder {
    opts: Options,
}

impl GoogleWorkspaceDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        GoogleWorkspaceDecoder { opts }
    }
}

/// A boxed [`GoogleWorkspaceDecoder`] (the registry's constructor).
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(GoogleWorkspaceDecoder::new(opts.clone()))
}

impl Decoder for GoogleWorkspaceDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let product = *json::product("Google Workspace", "Google");
        let (text, obj) = match json::parse_record(record) {
            Ok(x) => x,
            Err(e) => {
                out(&mut fallback::unparsed(
                    record, e, product, LOG_NAME, None, &self.opts,
                ));
                return Outcome::Unparsed(e);
            }
        };
        if !(obj.has("events") && obj.has("id")) {
            let e = ParseError {
                kind: ErrorKind::NotThisSource,
                at: 0,
            };
            out(&mut fallback::unparsed(
                record, e, product, LOG_NAME, None, &self.opts,
            ));
            return Outcome::Unparsed(e);
        }
        ocsf::map(text, obj, &self.opts, out);
        Outcome::Parsed
    }
}

/// One parameter of an activity event: its name and raw value member.
#[derive(Debug, Clone)]
struct Param<'a> {
    name: Str<'a>,
    /// `value`, `intValue`, `boolValue`, `multiValue`, ...
    kind: &'static str,
    raw: &'a RawValue,
}

/// The `parameters` list of one event, looked up by name.
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    list: Vec<Param<'a>>,
    used: Vec<bool>,
}

const VALUE_KINDS: &[&str] = &[
    "value",
    "intValue",
    "boolValue",
    "multiValue",
    "multiIntValue",
    "multiBoolValue",
    "messageValue",
    "multiMessageValue",
];

impl<'a> Params<'a> {
    fn parse(raw: Option<&'a RawValue>) -> Params<'a> {
        let mut list = Vec::new();
        for item in raw.map(raw_array).unwrap_or_default() {
            let Some(o) = Obj::from_raw(item) else {
                continue;
            };
            let Some(name) = o.peek_str("name") else {
                continue;
            };
            let found = o.iter().find_map(|(k, v)| {
                VALUE_KINDS
                    .iter()
                    .find(|kind| **kind == k)
                    .map(|kind| (*kind, v))
            });
            if let Some((kind, raw)) = found {
                list.push(Param { name, kind, raw });
            }
        }
        let used = vec![false; list.len()];
        Params { list, used }
    }

    fn find(&mut self, name: &str) -> Option<&Param<'a>> {
        let i = self.list.iter().position(|p| p.name == name)?;
        self.used[i] = true;
        Some(&self.list[i])
    }

    /// A single value as text.
    pub(crate) fn str(&mut self, name: &str) -> Option<Str<'a>> {
        let p = self.find(name)?;
        if p.kind.starts_with("multi") {
            return json::raw_strs(p.raw).into_iter().next();
        }
        raw_str(p.raw)
    }

    /// Every value (a single value is a list of one).
    pub(crate) fn strs(&mut self, name: &str) -> Vec<Str<'a>> {
        match self.find(name) {
            Some(p) => json::raw_strs(p.raw),
            None => Vec::new(),
        }
    }

    /// A boolean value.
    pub(crate) fn bool(&mut self, name: &str) -> Option<bool> {
        json::raw_bool(self.find(name)?.raw)
    }

    /// An integer value.
    pub(crate) fn i64(&mut self, name: &str) -> Option<i64> {
        raw_i64(self.find(name)?.raw)
    }

    /// The values of `multiMessageValue` entries whose own parameters
    /// include `field` (e.g. the scope names of `scope_data`).
    pub(crate) fn message_field(&mut self, name: &str, field: &str) -> Vec<Str<'a>> {
        let Some(p) = self.find(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for msg in raw_array(p.raw) {
            let Some(mut m) = Obj::from_raw(msg) else {
                continue;
            };
            let mut inner = Params::parse(m.raw("parameter"));
            out.extend(inner.strs(field));
        }
        out
    }

    /// Parameters not used so far, as `name: value` (typed JSON).
    pub(crate) fn rest(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (i, p) in self.list.iter().enumerate() {
            if !self.used[i] {
                m.insert(p.name.to_string(), param_value(p));
            }
        }
        m
    }
}

fn param_value(p: &Param<'_>) -> Value {
    match p.kind {
        "intValue" => raw_i64(p.raw)
            .map(Value::from)
            .unwrap_or_else(|| json::raw_value(p.raw).unwrap_or(Value::Null)),
        "multiIntValue" => Value::Array(
            raw_array(p.raw)
                .into_iter()
                .map(|r| {
                    raw_i64(r)
                        .map(Value::from)
                        .unwrap_or_else(|| json::raw_value(r).unwrap_or(Value::Null))
                })
                .collect(),
        ),
        "messageValue" => message_value(p.raw),
        "multiMessageValue" => {
            Value::Array(raw_array(p.raw).into_iter().map(message_value).collect())
        }
        _ => json::raw_value(p.raw).unwrap_or(Value::Null),
    }
}

/// `{"parameter":[...]}` as an object of typed values.
fn message_value(raw: &RawValue) -> Value {
    let Some(mut m) = Obj::from_raw(raw) else {
        return json::raw_value(raw).unwrap_or(Value::Null);
    };
    let params = Params::parse(m.raw("parameter"));
    Value::Object(params.rest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_typed() {
        let text = r#"[{"name":"a","value":"x"},{"name":"n","intValue":"42"},{"name":"b","boolValue":true},
            {"name":"m","multiValue":["p","q"]},
            {"name":"s","multiMessageValue":[{"parameter":[{"name":"scope_name","value":"S1"}]},{"parameter":[{"name":"scope_name","value":"S2"}]}]}]"#;
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        let mut p = Params::parse(Some(raw));
        assert_eq!(p.str("a").as_deref(), Some("x"));
        assert_eq!(p.i64("n"), Some(42));
        assert_eq!(p.bool("b"), Some(true));
        assert_eq!(p.strs("m"), vec!["p", "q"]);
        let rest = p.rest();
        assert_eq!(rest["s"][1]["scope_name"], "S2");
        assert_eq!(p.message_field("s", "scope_name"), vec!["S1", "S2"]);
    }

    #[test]
    fn not_a_reports_activity() {
        let mut d = GoogleWorkspaceDecoder::new(Options::default());
        let mut n = 0;
        let o = d.decode(br#"{"foo":1}"#, 0, &mut |_| n += 1);
        assert!(!o.is_parsed());
        assert_eq!(n, 1);
        let o = d.decode(b"not json", 0, &mut |_| n += 1);
        assert!(!o.is_parsed());
        assert_eq!(n, 2);
    }
}
