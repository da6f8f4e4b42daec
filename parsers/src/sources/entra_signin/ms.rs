//! Pieces shared by the Microsoft sources (Entra sign-in and audit logs,
//! the Microsoft 365 unified audit log): record shapes, users, locations,
//! risk levels, metadata.

use std::borrow::Cow;

use serde_json::{json, Value};

use crate::common::jtree::{is_email, is_ip, parse_time_ms, J};
use crate::ocsf::{enum_caption, Event, Location, Product, Str, User};
use crate::{ErrorKind, Options, ParseError};

/// Parse a record that must be a JSON object.
pub(crate) fn parse_record(record: &[u8]) -> Result<J<'_>, ParseError> {
    let start = record.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(ParseError {
            kind: ErrorKind::Empty,
            at: 0,
        });
    };
    let text = crate::common::utf8::text(record).map_err(|e| ParseError {
        kind: ErrorKind::NotUtf8,
        at: e.valid_up_to(),
    })?;
    match serde_json::from_str::<J<'_>>(text) {
        Ok(j) if j.is_obj() => Ok(j),
        Ok(_) => Err(ParseError {
            kind: ErrorKind::Json,
            at: start,
        }),
        Err(e) => Err(ParseError {
            kind: ErrorKind::Json,
            at: e.column().saturating_sub(1),
        }),
    }
}

/// A Microsoft record: the envelope (`top`) and the payload (`p`), which is
/// `properties` for Azure diagnostic records and the record itself for
/// Graph resources and Log Analytics rows.
pub(crate) struct Rec<'r, 'a> {
    pub top: &'r J<'a>,
    pub p: &'r J<'a>,
    /// The payload is the `properties` object of an Azure envelope.
    pub azure: bool,
}

impl<'r, 'a> Rec<'r, 'a> {
    pub(crate) fn new(top: &'r J<'a>) -> Self {
        let props = top.get("properties");
        if props.is_obj() {
            Rec {
                top,
                p: props,
                azure: true,
            }
        } else {
            Rec {
                top,
                p: top,
                azure: false,
            }
        }
    }

    /// A payload field (exact name, then any case), else an envelope one.
    pub(crate) fn get(&self, key: &str) -> &'r J<'a> {
        let v = self.p.get(key);
        if !v.is_null() {
            return v;
        }
        let v = self.p.get_ci(key);
        if !v.is_null() || !self.azure {
            return v;
        }
        self.top.get_ci(key)
    }

    /// A non-empty text field.
    pub(crate) fn text(&self, key: &str) -> Option<Str<'a>> {
        self.get(key).text()
    }

    /// The first of `keys` that has text.
    pub(crate) fn first(&self, keys: &[&str]) -> Option<Str<'a>> {
        keys.iter().find_map(|k| self.text(k))
    }

    /// The envelope's own field (any case).
    pub(crate) fn env(&self, key: &str) -> &'r J<'a> {
        self.top.get_ci(key)
    }
}

/// The event time (epoch ms) and the vendor's string for it.
pub(crate) fn time<'a>(r: &Rec<'_, 'a>, keys: &[&str], opts: &Options) -> (i64, Option<Str<'a>>) {
    for k in keys {
        if let Some(s) = r.text(k) {
            if let Some(t) = parse_time_ms(&s) {
                return (t, Some(s));
            }
        }
    }
    (opts.reference_time_ms, None)
}

/// Fill metadata common to every Microsoft event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn metadata<'a>(
    ev: &mut Event<'a>,
    product: Product<'a>,
    log_name: Str<'a>,
    original_time: Option<Str<'a>>,
    uid: Option<Str<'a>>,
    event_code: Option<Str<'a>>,
    tenant: Option<Str<'a>>,
    correlation: Option<Str<'a>>,
) {
    let m = ev.meta();
    m.product = Some(Box::new(product));
    m.log_name = Some(log_name);
    m.original_time = original_time;
    m.uid = uid;
    m.event_code = event_code;
    m.tenant_uid = tenant;
    m.correlation_uid = correlation;
}

/// A user from Entra's id / UPN / display name.
pub(crate) fn user<'a>(
    uid: Option<Str<'a>>,
    upn: Option<Str<'a>>,
    display: Option<Str<'a>>,
    type_id: Option<i32>,
    type_label: Option<Str<'a>>,
) -> Option<User<'a>> {
    if uid.is_none() && upn.is_none() && display.is_none() {
        return None;
    }
    let name = upn.clone().or_else(|| display.clone());
    Some(User {
        email_addr: upn.filter(|u| is_email(u)),
        name,
        uid,
        display_name: display,
        type_id,
        type_: type_id.and_then(|id| enum_caption("user", "type_id", id, type_label)),
        ..Default::default()
    })
}

/// `user.type_id` of Entra's `userType` (`Member`, `Guest`).
pub(crate) fn user_type(t: Option<&str>) -> (Option<i32>, Option<Str<'static>>) {
    match t {
        Some(t) if t.eq_ignore_ascii_case("member") => (Some(1), None),
        Some(t) if t.eq_ignore_ascii_case("guest") => (Some(99), Some(Cow::Borrowed("Guest"))),
        _ => (None, None),
    }
}

/// Location from Graph's `{city, state, countryOrRegion, geoCoordinates}`.
pub(crate) fn location<'a>(l: &J<'a>) -> Option<Location<'a>> {
    if !l.is_obj() {
        return None;
    }
    let geo = l.get("geoCoordinates");
    let loc = Location {
        city: l.get("city").text(),
        region: l.get("state").text(),
        country: l.get("countryOrRegion").text(),
        lat: geo.get("latitude").f64(),
        long: geo.get("longitude").f64(),
        ..Default::default()
    };
    (loc != Location::default()).then_some(loc)
}

/// OCSF `risk_level_id` of Entra's `low`/`medium`/`high`/`none`.
pub(crate) fn risk_level_id(level: &str) -> Option<i32> {
    match level.to_ascii_lowercase().as_str() {
        "none" => Some(0),
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        _ => None,
    }
}

/// An IP address field, if it is one.
pub(crate) fn ip<'a>(v: Option<Str<'a>>) -> Option<Str<'a>> {
    v.filter(|s| is_ip(s))
}

/// Mark an event as made for a record type that is not mapped yet.
pub(crate) fn mark_fallback(ev: &mut Event<'_>) {
    ev.unmapped()
        .insert("idlink".into(), json!({ "fallback": true }));
}

/// Put `v` under `unmapped.<key>` unless it is empty.
pub(crate) fn keep(ev: &mut Event<'_>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        ev.unmapped().insert(key.into(), v);
    }
}
