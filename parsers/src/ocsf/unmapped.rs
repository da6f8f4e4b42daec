//! `unmapped`: what a record held that no OCSF attribute took.
//!
//! Most sources build it as `serde_json` values ([`Event::unmapped`]
//! hands out that map). A source on a hot path can instead keep members
//! that borrow from the record ([`Unmapped::put`] with a [`J`] tree): no
//! copy of each key and string, no map to build and drop per event. Both
//! kinds are written as one object, exactly as a `serde_json::Map` holding
//! all of them would be: keys in byte order, inner objects too, the last of
//! equal keys winning. So the choice is invisible in the output.
//!
//! [`Event::unmapped`]: crate::ocsf::Event::unmapped

use std::ops::Index;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::write::{Error, Out, WriteJson};
use super::Str;
use crate::common::jtree::J;

/// The `unmapped` object of an event. See the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unmapped<'a> {
    /// Members built as JSON values.
    values: Map<String, Value>,
    /// Members borrowed from the record; keys are unique. One replaces a
    /// value member of the same key.
    borrowed: Vec<(Str<'a>, J<'a>)>,
}

static NULL: Value = Value::Null;

impl<'a> Unmapped<'a> {
    /// The members built as JSON values.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The members built as JSON values, to add to.
    pub fn values_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.values
    }

    /// Set member `key` to a tree borrowed from the record (replacing a
    /// member of that key of either kind).
    pub fn put(&mut self, key: impl Into<Str<'a>>, value: J<'a>) {
        let key = key.into();
        self.values.remove(key.as_ref());
        match self.borrowed.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.borrowed.push((key, value)),
        }
    }

    /// A member built as a JSON value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        if self.borrowed(key).is_some() {
            return None;
        }
        self.values.get(key)
    }

    /// A member kept borrowed.
    pub fn borrowed(&self, key: &str) -> Option<&J<'a>> {
        self.borrowed.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string at `path` (object keys), whichever kind of member holds
    /// it.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let (first, rest) = path.split_first()?;
        if let Some(j) = self.borrowed(first) {
            return match j.at(rest) {
                J::Str(s) => Some(s),
                _ => None,
            };
        }
        let mut v = self.values.get(*first)?;
        for k in rest {
            v = v.get(*k)?;
        }
        v.as_str()
    }

    /// No members.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.borrowed.is_empty()
    }

    /// The whole object as one JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `unmapped["key"]`: a member built as a value, `null` when there is none
/// (as `serde_json::Value` indexes).
impl Index<&str> for Unmapped<'_> {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// One member of the merged object.
enum Member<'m, 'a> {
    Value(&'m Value),
    Borrowed(&'m J<'a>),
}

impl<'a> Unmapped<'a> {
    /// Call `f` with every member of the merged object in key order: value
    /// members, and borrowed ones in their place (a borrowed member
    /// replaces a value member of the same key).
    fn each<'m, E>(
        &'m self,
        mut f: impl FnMut(&'m str, Member<'m, 'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        let b = &self.borrowed;
        let ascending = b.windows(2).all(|w| w[0].0 < w[1].0);
        let order: Vec<usize> = if ascending {
            Vec::new()
        } else {
            let mut o: Vec<usize> = (0..b.len()).collect();
            o.sort_by(|&x, &y| b[x].0.cmp(&b[y].0));
            o
        };
        let mut values = self.values.iter().peekable();
        for n in 0..b.len() {
            let (bk, bv) = &b[if ascending { n } else { order[n] }];
            while let Some((k, v)) = values.next_if(|(k, _)| k.as_str() < bk.as_ref()) {
                f(k, Member::Value(v))?;
            }
            // A value member of the same key is replaced.
            values.next_if(|(k, _)| k.as_str() == bk.as_ref());
            f(bk.as_ref(), Member::Borrowed(bv))?;
        }
        for (k, v) in values {
            f(k, Member::Value(v))?;
        }
        Ok(())
    }
}

impl Serialize for Unmapped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.each(|k, v| match v {
            Member::Value(v) => m.serialize_entry(k, v),
            Member::Borrowed(v) => m.serialize_entry(k, v),
        })?;
        m.end()
    }
}

/// The same bytes as the `Serialize` impl gives through
/// [`write::to_out`](crate::ocsf::write::to_out), written directly.
impl WriteJson for Unmapped<'_> {
    fn write_json<O: Out>(&self, out: &mut O) -> Result<(), Error> {
        out.put_u8(b'{');
        let mut first = true;
        self.each(|k, v| {
            out.put_name(first, k);
            first = false;
            match v {
                Member::Value(v) => v.write_json(out),
                Member::Borrowed(v) => v.write_json(out),
            }
        })?;
        out.put_u8(b'}');
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Unmapped<'_> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Unmapped {
            values: Map::deserialize(d)?,
            borrowed: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_kinds_write_as_one_sorted_object() {
        let rec = br#"{"z":{"b":1,"a":[{"y":2,"x":"s"}]},"dup":{"k":1,"k":2}}"#;
        let j = J::parse(rec).unwrap();
        let mut u = Unmapped::default();
        u.values_mut().insert("m".into(), json!({"q": 1}));
        u.values_mut().insert("a".into(), json!("first"));
        u.values_mut().insert("replaced".into(), json!(0));
        u.put("zz", j.get("z").clone());
        u.put("b", j.get("dup").clone());
        u.put("replaced", J::Bool(true));
        // The same object as serde_json builds from the same members.
        let want = json!({
            "a": "first", "b": {"k": 2}, "m": {"q": 1}, "replaced": true,
            "zz": {"a": [{"x": "s", "y": 2}], "b": 1}
        });
        assert_eq!(
            crate::ocsf::write::to_vec(&u).unwrap(),
            serde_json::to_vec(&want).unwrap()
        );
        assert_eq!(serde_json::to_string(&u).unwrap(), want.to_string());
        let mut buf = crate::ocsf::write::JsonBuf::default();
        u.write_json(&mut buf).unwrap();
        assert_eq!(buf.as_bytes(), &serde_json::to_vec(&want).unwrap()[..]);
        // Borrowed members out of key order, one of them replaced.
        let mut v = Unmapped::default();
        v.values_mut()
            .insert("c".into(), json!([1, {"y": 1, "x": 2}]));
        v.put("d", J::Str("s".into()));
        v.put("b", J::Num(7.into()));
        v.put("d", J::Null);
        let want_v = json!({"b": 7, "c": [1, {"x": 2, "y": 1}], "d": null});
        let mut buf = crate::ocsf::write::JsonBuf::default();
        v.write_json(&mut buf).unwrap();
        assert_eq!(buf.as_bytes(), &serde_json::to_vec(&want_v).unwrap()[..]);
        assert_eq!(serde_json::to_string(&v).unwrap(), want_v.to_string());
        assert_eq!(u.to_value(), want);
        assert_eq!(u.str_at(&["zz", "a"]), None);
        assert_eq!(u.borrowed("zz").unwrap().at(&["b"]).i64(), Some(1));
        assert_eq!(u["m"]["q"], 1);
        assert!(u["replaced"].is_null());
        assert!(u.get("replaced").is_none());
        u.values_mut()
            .insert("s".into(), json!({"t": "v", "e": ""}));
        assert_eq!(u.str_at(&["s", "t"]), Some("v"));
        assert_eq!(u.str_at(&["s", "e"]), Some(""));
        u.put("e", J::parse(br#"{"e":""}"#).unwrap());
        assert_eq!(u.str_at(&["e", "e"]), Some(""));
        // Read back, everything is a value.
        let back: Unmapped<'static> = serde_json::from_value(want.clone()).unwrap();
        assert_eq!(back.values().len(), 5);
        assert_eq!(back.to_value(), want);
    }

    #[test]
    fn empty() {
        let u = Unmapped::default();
        assert!(u.is_empty());
        assert_eq!(serde_json::to_string(&u).unwrap(), "{}");
    }
}
