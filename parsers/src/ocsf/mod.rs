//! OCSF 1.8.0 types the mappings fill in, and helpers to build events.
//!
//! The structs in [`generated`] come from the compiled OCSF schema (see
//! `parsers/tools/gen_ocsf.py`): one [`Event`] type holds the union of the
//! attributes of every class idlink emits, and every object it uses is a
//! typed struct whose text fields are [`Str`] (borrowed from the input line
//! when nothing has to change, owned otherwise). Optional attributes are left
//! out of the JSON when unset, so an event serialises to exactly what the
//! mapping filled in. Deprecated attributes are not generated.

mod generated;
mod json;
mod unmapped;
pub mod write;

pub use generated::*;
pub use json::Json;
pub use unmapped::Unmapped;

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Text in an OCSF event: borrowed from the input where possible.
pub type Str<'a> = Cow<'a, str>;

/// The OCSF version every event declares in `metadata.version`.
pub const VERSION: &str = "1.8.0";

/// `severity_id` values.
pub mod severity {
    /// Informational.
    pub const INFORMATIONAL: i32 = 1;
    /// Low.
    pub const LOW: i32 = 2;
    /// Medium.
    pub const MEDIUM: i32 = 3;
    /// High.
    pub const HIGH: i32 = 4;
    /// Critical.
    pub const CRITICAL: i32 = 5;
}

/// `status_id` values shared by most classes.
pub mod status {
    /// Unknown.
    pub const UNKNOWN: i32 = 0;
    /// Success.
    pub const SUCCESS: i32 = 1;
    /// Failure.
    pub const FAILURE: i32 = 2;
    /// Other (the source's own label goes in `status`).
    pub const OTHER: i32 = 99;
}

impl<'a> AutonomousSystem<'a> {
    /// The AS of an endpoint, by number and name; `None` when neither is
    /// known. OCSF's `number` is an `integer_t` (32-bit signed) while
    /// four-octet AS numbers (RFC 6793) reach 4,294,967,295: a number that
    /// does not fit is left out here, and the caller keeps it under
    /// `unmapped` (see [`AutonomousSystem::fits`]).
    pub fn of(number: Option<i64>, name: Option<Str<'a>>) -> Option<Box<Self>> {
        let number = number.and_then(|n| i32::try_from(n).ok());
        if number.is_none() && name.is_none() {
            return None;
        }
        Some(Box::new(AutonomousSystem {
            name,
            number,
            ..Default::default()
        }))
    }

    /// Whether AS number `n` fits `autonomous_system.number`.
    pub fn fits(n: i64) -> bool {
        i32::try_from(n).is_ok()
    }
}

impl<'a> Event<'a> {
    /// A new event of `class` with `activity_id`, `time` in epoch
    /// milliseconds, severity Informational and `metadata.version` set. The
    /// caption siblings (`class_name`, `activity_name`, `type_name`, ...) are
    /// filled from the schema; an activity the schema does not know becomes
    /// 99 Other.
    pub fn new(class: &ClassInfo, activity_id: i32, time: i64) -> Self {
        let mut ev = Event::default();
        ev.init(class, activity_id, time);
        ev
    }

    /// Make an empty event the start of one of `class`, as [`Event::new`]
    /// would: in place, for an event that is filled where it is read.
    pub fn init(&mut self, class: &ClassInfo, activity_id: i32, time: i64) {
        let (activity_id, activity, type_name) = match class
            .activities
            .iter()
            .find(|(id, _, _)| *id == activity_id)
        {
            Some(&(id, name, type_name)) => (id, name, Cow::Borrowed(type_name)),
            None => (99, "Other", Cow::Owned(format!("{}: Other", class.name))),
        };
        self.class_uid = Some(class.uid);
        self.class_name = Some(Cow::Borrowed(class.name));
        self.category_uid = Some(class.category_uid);
        self.category_name = Some(Cow::Borrowed(class.category_name));
        self.activity_id = Some(activity_id);
        self.activity_name = Some(Cow::Borrowed(activity));
        self.type_uid = Some(class.uid as i64 * 100 + activity_id as i64);
        self.type_name = Some(type_name);
        self.severity_id = Some(severity::INFORMATIONAL);
        self.severity = Some(Cow::Borrowed("Informational"));
        self.time = Some(time);
        self.metadata = Some(Box::new(Metadata {
            version: Some(Cow::Borrowed(VERSION)),
            ..Default::default()
        }));
    }

    /// Set `activity_id` 99 (Other) with the source's own label in
    /// `activity_name`. `type_name` is the schema's caption of the
    /// `type_uid` ("<Class>: Other"), as OCSF requires of enum siblings;
    /// Base Event has no such caption, so there it carries the label.
    pub fn set_other_activity(&mut self, label: impl Into<Str<'a>>) {
        let label = label.into();
        let class = self.class_name.clone().unwrap_or_default();
        let class_uid = self.class_uid.unwrap_or(0);
        self.activity_id = Some(99);
        self.type_uid = Some(class_uid as i64 * 100 + 99);
        self.type_name = Some(Cow::Owned(if class_uid == 0 {
            format!("{class}: {label}")
        } else {
            format!("{class}: Other")
        }));
        self.activity_name = Some(label);
    }

    /// Set `severity_id` and its caption.
    pub fn set_severity(&mut self, id: i32) {
        self.severity_id = Some(id);
        self.severity = caption("base_event", "severity_id", id as i64).map(Cow::Borrowed);
    }

    /// Set `status_id` and its caption (`status`). For 99 (Other), `label`
    /// is the source's own word; otherwise it is ignored.
    pub fn set_status(&mut self, id: i32, label: Option<Str<'a>>) {
        self.status_id = Some(id);
        self.status = if id == status::OTHER {
            label.or(Some(Cow::Borrowed("Other")))
        } else {
            caption("base_event", "status_id", id as i64).map(Cow::Borrowed)
        };
    }

    /// The metadata object (always present on events made by [`Event::new`]).
    pub fn meta(&mut self) -> &mut Metadata<'a> {
        self.metadata.get_or_insert_with(Default::default)
    }

    /// The `unmapped` members built as JSON values, created on first use.
    pub fn unmapped(&mut self) -> &mut Map<String, Value> {
        self.unmapped
            .get_or_insert_with(Default::default)
            .values_mut()
    }

    /// Set `unmapped[key]` to a tree borrowed from the record (see
    /// [`Unmapped`]).
    pub fn unmapped_put(&mut self, key: impl Into<Str<'a>>, value: crate::common::jtree::J<'a>) {
        self.unmapped
            .get_or_insert_with(Default::default)
            .put(key, value);
    }

    /// Turn every borrowed string into an owned one, so the event can outlive
    /// its input (used when a stateful parser holds events across lines).
    pub fn into_owned(self) -> Event<'static> {
        // A serde round trip is the simplest exact deep copy of the generated
        // structs; it is only used off the per-line hot path.
        let v = serde_json::to_value(&self).unwrap_or(Value::Null);
        serde_json::from_value(v).unwrap_or_default()
    }
}

/// Set `<attr>_id` and its caption sibling on an object, by schema lookup.
/// Returns the caption, or `label` when `id` is 99 (Other).
pub fn enum_caption<'a>(
    scope: &str,
    attr: &str,
    id: i32,
    label: Option<Str<'a>>,
) -> Option<Str<'a>> {
    if id == 99 {
        return label.or(Some(Cow::Borrowed("Other")));
    }
    caption(scope, attr, id as i64).map(Cow::Borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_event_fills_captions() {
        let e = Event::new(&AUTHENTICATION, 1, 1_700_000_000_000);
        assert_eq!(e.type_uid, Some(300201));
        assert_eq!(e.type_name.as_deref(), Some("Authentication: Logon"));
        assert_eq!(e.category_uid, Some(3));
        let e = Event::new(&EMAIL_ACTIVITY, 42, 0);
        assert_eq!(e.activity_id, Some(99));
        assert_eq!(e.type_uid, Some(400999));
    }

    #[test]
    fn unset_fields_are_omitted() {
        let e = Event::new(&BASE_EVENT, 0, 5);
        let s = serde_json::to_string(&e).unwrap();
        assert!(!s.contains("null"), "{s}");
        assert!(s.contains(r#""metadata":{"version":"1.8.0"}"#), "{s}");
    }

    #[test]
    fn as_numbers_beyond_integer_t_are_left_out() {
        let a = AutonomousSystem::of(Some(16509), Some("amazon".into())).unwrap();
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"name": "amazon", "number": 16509})
        );
        // A private-use four-octet AS number does not fit an integer_t.
        assert!(!AutonomousSystem::fits(4_200_000_001));
        let a = AutonomousSystem::of(Some(4_200_000_001), Some("lab".into())).unwrap();
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"name": "lab"})
        );
        assert!(AutonomousSystem::of(Some(4_200_000_001), None).is_none());
        assert!(AutonomousSystem::of(None, None).is_none());
    }

    #[test]
    fn captions_come_from_the_schema() {
        assert_eq!(caption("base_event", "status_id", 2), Some("Failure"));
        assert_eq!(
            caption("email_activity", "direction_id", 1),
            Some("Inbound")
        );
        assert_eq!(caption("user", "type_id", 3), Some("System"));
    }
}
