//! The value of a `json_t` attribute (`enrichments[].data`,
//! `evidences[].data`, ...): any JSON value, held either as a tree or as
//! JSON text written beforehand.
//!
//! Text is for data built on a hot path: the enricher writes each entity's
//! `data` object straight into one string instead of building a
//! `serde_json::Map` (an allocation per key and per value, a tree walk to
//! write it and another to drop it) for every entity of every event. Both
//! forms serialise to the same JSON, compare by what they hold, and
//! deserialise as a tree.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use super::write::{Error, Out, WriteJson};

/// A `json_t` value.
#[derive(Debug, Clone)]
pub enum Json {
    /// A tree.
    Value(Value),
    /// One complete JSON value as text; see [`Json::text`].
    Text(Box<str>),
}

impl Json {
    /// `text`, which must be one complete JSON value: it is written into
    /// events as it is. Debug builds check that it parses.
    pub fn text(text: String) -> Self {
        debug_assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok(),
            "not one JSON value: {text}"
        );
        Json::Text(text.into_boxed_str())
    }

    /// The value as a tree (parsed, for text).
    pub fn to_value(&self) -> Cow<'_, Value> {
        match self {
            Json::Value(v) => Cow::Borrowed(v),
            Json::Text(t) => Cow::Owned(serde_json::from_str(t).unwrap_or(Value::Null)),
        }
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Self {
        Json::Value(v)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Json::Text(a), Json::Text(b)) if a == b => true,
            _ => self.to_value() == other.to_value(),
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Value(v) => v.serialize(s),
            Json::Text(t) => match serde_json::from_str::<&RawValue>(t) {
                Ok(raw) => raw.serialize(s),
                Err(e) => Err(serde::ser::Error::custom(e)),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Json::Value)
    }
}

impl WriteJson for Json {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        match self {
            Json::Value(v) => v.write_json(out),
            Json::Text(t) => {
                out.put(t.as_bytes());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_and_tree_write_serialise_and_compare_alike() {
        let tree = Json::from(json!({"a": [1, "x\"y"], "b": {"c": null}}));
        let text = Json::text(r#"{"a":[1,"x\"y"],"b":{"c":null}}"#.to_string());
        assert_eq!(tree, text);
        let mut w1 = Vec::new();
        let mut w2 = Vec::new();
        tree.write_json(&mut w1).unwrap();
        text.write_json(&mut w2).unwrap();
        assert_eq!(w1, w2);
        assert_eq!(serde_json::to_vec(&tree).unwrap(), w1);
        assert_eq!(serde_json::to_vec(&text).unwrap(), w1);
        assert_eq!(serde_json::to_value(&text).unwrap(), *tree.to_value());
        let back: Json = serde_json::from_slice(&w2).unwrap();
        assert_eq!(back, text);
        assert_ne!(text, Json::text(r#"{"a":[1]}"#.to_string()));
    }
}
