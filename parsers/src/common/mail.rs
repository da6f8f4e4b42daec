//! Event-building helpers shared by the text mail sources (Cisco ESA,
//! FortiMail, Exim, Sendmail, SpamAssassin): metadata from the line,
//! security-control attributes, mail direction, `unmapped.<vendor>` maps,
//! address clean-up and the Detection Finding that goes with a threat
//! verdict.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::common::addr::{domain_is_local, email_domain, is_email, is_ip};
use crate::common::fallback;
use crate::ocsf::{
    caption, ClassInfo, Email, Event, Evidences, FindingInfo, Malware, NetworkEndpoint, Product,
    Reporter, Str, DETECTION_FINDING,
};
use crate::{ErrorKind, Options, Outcome, ParseError};

/// `security_control` profile name.
pub const PROFILE_SECURITY: &str = "security_control";

/// `action_id` values.
pub mod action {
    /// Allowed.
    pub const ALLOWED: i32 = 1;
    /// Denied.
    pub const DENIED: i32 = 2;
    /// Observed.
    pub const OBSERVED: i32 = 3;
    /// Modified.
    pub const MODIFIED: i32 = 4;
}

/// `disposition_id` values.
pub mod disposition {
    /// Allowed.
    pub const ALLOWED: i32 = 1;
    /// Blocked.
    pub const BLOCKED: i32 = 2;
    /// Quarantined.
    pub const QUARANTINED: i32 = 3;
    /// Deleted.
    pub const DELETED: i32 = 5;
    /// Dropped.
    pub const DROPPED: i32 = 6;
    /// Custom Action.
    pub const CUSTOM: i32 = 7;
    /// Delayed.
    pub const DELAYED: i32 = 14;
    /// Detected.
    pub const DETECTED: i32 = 15;
    /// No Action.
    pub const NO_ACTION: i32 = 16;
    /// Logged.
    pub const LOGGED: i32 = 17;
    /// Tagged.
    pub const TAGGED: i32 = 18;
    /// Rejected.
    pub const REJECTED: i32 = 25;
    /// Error.
    pub const ERROR: i32 = 27;
}

/// `direction_id` values of Email Activity.
pub mod direction {
    /// Unknown.
    pub const UNKNOWN: i32 = 0;
    /// Inbound.
    pub const INBOUND: i32 = 1;
    /// Outbound.
    pub const OUTBOUND: i32 = 2;
    /// Internal.
    pub const INTERNAL: i32 = 3;
}

/// What every event of one line shares.
#[derive(Debug, Clone, Copy)]
pub struct LineCtx<'a> {
    /// Event time, epoch ms.
    pub time_ms: i64,
    /// The timestamp as written.
    pub original_time: Option<&'a str>,
    /// The reporting host (syslog HOSTNAME, device id).
    pub host: Option<&'a str>,
    /// The whole record.
    pub raw: &'a str,
    /// `metadata.product` (name, vendor).
    pub product: (&'static str, &'static str),
    /// `metadata.log_name`.
    pub log_name: &'a str,
    /// Decoder options.
    pub opts: &'a Options,
}

/// Borrow.
pub fn b(s: &str) -> Str<'_> {
    Cow::Borrowed(s)
}

/// A new event of `class`/`activity` with metadata from `ctx`.
pub fn new_event<'a>(ctx: &LineCtx<'a>, class: &ClassInfo, activity: i32) -> Event<'a> {
    let mut ev = Event::new(class, activity, ctx.time_ms);
    let meta = ev.meta();
    meta.product = Some(Box::new(Product {
        name: Some(b(ctx.product.0)),
        vendor_name: Some(b(ctx.product.1)),
        ..Default::default()
    }));
    meta.log_name = Some(b(ctx.log_name));
    meta.original_time = ctx.original_time.map(b);
    if let Some(h) = ctx.host {
        meta.reporter = Some(Box::new(Reporter {
            hostname: Some(b(h)),
            ..Default::default()
        }));
    }
    if ctx.opts.raw_data {
        ev.raw_data = Some(b(ctx.raw));
    }
    ev
}

/// Activity 99 (Other) with the source's label; `type_name` keeps the
/// schema caption ("<Class>: Other"), Base Event takes the label.
pub fn other_activity<'a>(ev: &mut Event<'a>, label: &'static str) {
    let class = ev.class_uid.unwrap_or(0);
    ev.activity_id = Some(99);
    ev.activity_name = Some(b(label));
    ev.type_uid = Some(i64::from(class) * 100 + 99);
    ev.type_name = Some(match class {
        4001 => b("Network Activity: Other"),
        4009 => b("Email Activity: Other"),
        3002 => b("Authentication: Other"),
        2004 => b("Detection Finding: Other"),
        _ => Cow::Owned(format!("Base Event: {label}")),
    });
}

/// Set `action_id`/`disposition_id` (and captions), listing the
/// `security_control` profile.
pub fn security(ev: &mut Event<'_>, action_id: i32, disposition_id: i32) {
    ev.action_id = Some(action_id);
    ev.action = caption("base_event", "action_id", i64::from(action_id)).map(Cow::Borrowed);
    ev.disposition_id = Some(disposition_id);
    ev.disposition =
        caption("base_event", "disposition_id", i64::from(disposition_id)).map(Cow::Borrowed);
    add_security_profile(ev);
}

/// List `security_control` in `metadata.profiles` (once).
pub fn add_security_profile(ev: &mut Event<'_>) {
    let meta = ev.meta();
    if !meta.profiles.iter().any(|p| p == PROFILE_SECURITY) {
        meta.profiles.push(b(PROFILE_SECURITY));
    }
}

/// Set `direction_id` and its caption.
pub fn set_direction(ev: &mut Event<'_>, id: i32) {
    ev.direction_id = Some(id);
    ev.direction = caption("email_activity", "direction_id", i64::from(id)).map(Cow::Borrowed);
}

/// `direction_id` from sender and recipients against the local domains:
/// inbound (external sender, a local recipient), outbound (local sender, an
/// external recipient), internal (local only), else unknown. With only
/// recipients known, a local recipient means inbound and an external one
/// outbound (the gateway accepted it, so it relays for us).
pub fn direction<'x>(
    from: Option<&str>,
    to: impl Iterator<Item = &'x str>,
    locals: &[String],
) -> i32 {
    if locals.is_empty() {
        return direction::UNKNOWN;
    }
    let sender_local = from
        .and_then(email_domain)
        .map(|d| domain_is_local(d, locals));
    let (mut any_local, mut any_ext) = (false, false);
    for t in to {
        match email_domain(t).map(|d| domain_is_local(d, locals)) {
            Some(true) => any_local = true,
            Some(false) => any_ext = true,
            None => {}
        }
    }
    match sender_local {
        Some(false) if any_local => direction::INBOUND,
        Some(true) if any_ext => direction::OUTBOUND,
        Some(true) if any_local => direction::INTERNAL,
        Some(false) => direction::INBOUND,
        Some(true) => direction::OUTBOUND,
        None if any_local && !any_ext => direction::INBOUND,
        None if any_ext && !any_local => direction::OUTBOUND,
        None => direction::UNKNOWN,
    }
}

/// `unmapped.<key>` as an object, created on first use.
pub fn vendor<'e>(ev: &'e mut Event<'_>, key: &str) -> &'e mut Map<String, Value> {
    let u = ev.unmapped();
    let v = u
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// Insert `k: v`.
pub fn put(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_string(), v.into());
}

/// Insert `k: v` when `v` is some.
pub fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
}

/// An address as logs write it (`<a@b>`, `Name <a@b>`, `"Name" <a@b>`,
/// `a@b`) reduced to the bare address, if it is a real one (`email_t`).
pub fn bare_addr(s: &str) -> Option<&str> {
    let s = s.trim().trim_matches('\'');
    let inner = match (s.rfind('<'), s.rfind('>')) {
        (Some(o), Some(c)) if c > o => &s[o + 1..c],
        _ => s,
    };
    let inner = inner.trim();
    is_email(inner).then_some(inner)
}

/// An endpoint from an optional host name and IP (IP checked); `None` when
/// neither is usable.
pub fn endpoint<'a>(
    hostname: Option<&'a str>,
    ip: Option<&'a str>,
    port: Option<u16>,
) -> Option<Box<NetworkEndpoint<'a>>> {
    let ip = ip.filter(|i| is_ip(i));
    let hostname = hostname.filter(|h| {
        !h.is_empty() && *h != "unknown" && !h.contains(char::is_whitespace) && h.contains('.')
    });
    if ip.is_none() && hostname.is_none() {
        return None;
    }
    Some(Box::new(NetworkEndpoint {
        hostname: hostname.map(b),
        ip: ip.map(b),
        port,
        ..Default::default()
    }))
}

/// An `email` object from a sender and recipients, keeping only real
/// addresses; `None` when none is left (OCSF needs `from` or `to`).
pub fn email_of<'a>(
    from: Option<&'a str>,
    to: impl IntoIterator<Item = &'a str>,
) -> Option<Email<'a>> {
    let from = from.and_then(bare_addr);
    let mut tos: Vec<Str<'a>> = Vec::new();
    for t in to {
        if let Some(t) = bare_addr(t) {
            if !tos.iter().any(|x| x == t) {
                tos.push(b(t));
            }
        }
    }
    if from.is_none() && tos.is_empty() {
        return None;
    }
    Some(Email {
        from: from.map(b),
        to: tos,
        ..Default::default()
    })
}

/// What a Detection Finding says about one detection.
#[derive(Debug, Clone)]
pub struct Detection<'a> {
    /// `finding_info.uid` (stable: vendor message id + what was detected).
    pub uid: String,
    /// `finding_info.title`.
    pub title: String,
    /// `finding_info.types` (e.g. "Malware", "Phishing", "Spam").
    pub kind: &'static str,
    /// Severity id.
    pub severity_id: i32,
    /// Malware found, if any.
    pub malware: Vec<Malware<'a>>,
}

/// A Detection Finding (2004 Create) for a verdict on the message `email`
/// (which carries `uid` / `message_uid`, the link to the Email Activity).
/// `message_ids` is (`email.uid`, `email.message_uid`): the vendor's own
/// message id and the Message-ID header. `email` must have `from` or `to`;
/// without it the evidence is those ids under `evidences[].data`
/// (`email_uid`, `message_uid`).
pub fn finding<'a>(
    ctx: &LineCtx<'a>,
    det: Detection<'a>,
    email: Option<Email<'a>>,
    message_ids: (Option<Str<'a>>, Option<Str<'a>>),
    action_id: i32,
    disposition_id: i32,
) -> Event<'a> {
    let mut ev = new_event(ctx, &DETECTION_FINDING, 1);
    ev.set_severity(det.severity_id);
    ev.finding_info = Some(Box::new(FindingInfo {
        uid: Some(Cow::Owned(det.uid)),
        title: Some(Cow::Owned(det.title)),
        types: vec![b(det.kind)],
        ..Default::default()
    }));
    ev.is_alert = Some(true);
    let evidence = match email {
        Some(mut e) => {
            e.uid = message_ids.0;
            e.message_uid = message_ids.1;
            Evidences {
                email: Some(Box::new(e)),
                ..Default::default()
            }
        }
        None => {
            let mut d = Map::new();
            if let Some(u) = message_ids.0 {
                put(&mut d, "email_uid", u.into_owned());
            }
            if let Some(u) = message_ids.1 {
                put(&mut d, "message_uid", u.into_owned());
            }
            Evidences {
                data: Some(Value::Object(d).into()),
                ..Default::default()
            }
        }
    };
    ev.evidences = vec![evidence];
    ev.malware = det.malware;
    security(&mut ev, action_id, disposition_id);
    ev.set_status(1, None);
    // Detection Finding's status_id 1 is "New".
    ev.status = caption("detection_finding", "status_id", 1).map(Cow::Borrowed);
    ev
}

/// A `malware[]` entry named `name` (classification from the name's usual
/// prefixes, else Unknown), found by `provider`.
pub fn malware<'a>(name: Str<'a>, provider: &'static str) -> Malware<'a> {
    let lower = name.to_ascii_lowercase();
    let id = if lower.contains("troj") {
        18
    } else if lower.contains("ransom") {
        10
    } else if lower.contains("worm") {
        22
    } else if lower.contains("backdoor") {
        2
    } else if lower.contains("virus") || lower.contains("w97m") || lower.contains("macro") {
        19
    } else if lower.contains("downloader") || lower.contains("dldr") {
        6
    } else {
        0
    };
    Malware {
        name: Some(name),
        classification_ids: vec![id],
        classifications: caption("malware", "classification_ids", i64::from(id))
            .map(|c| vec![b(c)])
            .unwrap_or_default(),
        provider: Some(b(provider)),
        ..Default::default()
    }
}

/// Base Event (class 0) has no endpoints, protocol or TLS: a mapping that
/// built them for a richer class and then fell back to Base Event (no real
/// address for `email`) keeps them under `unmapped` with the same names.
pub fn fit_base(ev: &mut Event<'_>) {
    if ev.class_uid != Some(0) {
        return;
    }
    let src = ev
        .src_endpoint
        .take()
        .and_then(|e| serde_json::to_value(e).ok());
    let dst = ev
        .dst_endpoint
        .take()
        .and_then(|e| serde_json::to_value(e).ok());
    let proto = ev.protocol_name.take();
    let tls = ev.tls.take();
    let u = ev.unmapped();
    if let Some(v) = src {
        u.insert("src_endpoint".into(), v);
    }
    if let Some(v) = dst {
        u.insert("dst_endpoint".into(), v);
    }
    if let Some(p) = proto {
        u.insert("protocol_name".into(), Value::String(p.into_owned()));
    }
    if let Some(t) = tls {
        u.insert("tls".into(), t);
    }
}

/// The record as text: borrowed when it is UTF-8, repaired otherwise; the
/// line end is trimmed.
pub fn record_text(record: &[u8]) -> Cow<'_, str> {
    match crate::common::utf8::text(record) {
        Ok(s) => Cow::Borrowed(s.trim_end_matches(['\r', '\n'])),
        Err(_) => Cow::Owned(
            String::from_utf8_lossy(record)
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
    }
}

/// Emit the fallback event for a record no parser recognised and return
/// the [`Outcome`] to report.
#[allow(clippy::too_many_arguments)]
pub fn reject(
    record: &[u8],
    kind: ErrorKind,
    at: usize,
    product: (&'static str, &'static str),
    log_name: &'static str,
    time_ms: Option<i64>,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
) -> Outcome {
    let err = ParseError { kind, at };
    let product = Product {
        name: Some(b(product.0)),
        vendor_name: Some(b(product.1)),
        ..Default::default()
    };
    out(&mut fallback::unparsed(
        record, err, product, log_name, time_ms, opts,
    ));
    Outcome::Unparsed(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses() {
        assert_eq!(bare_addr("<a@b.test>"), Some("a@b.test"));
        assert_eq!(bare_addr("John Doe <j@x.test>"), Some("j@x.test"));
        assert_eq!(bare_addr("'j@x.test'"), Some("j@x.test"));
        assert_eq!(bare_addr("<example.com>"), None);
        assert_eq!(bare_addr("postmaster"), None);
        assert_eq!(bare_addr(""), None);
    }

    #[test]
    fn directions() {
        let l = vec!["example.test".to_string()];
        let d = |f, t: &[&str]| direction(f, t.iter().copied(), &l);
        assert_eq!(d(Some("a@ext.test"), &["b@example.test"]), 1);
        assert_eq!(d(Some("a@example.test"), &["b@ext.test"]), 2);
        assert_eq!(d(Some("a@example.test"), &["b@example.test"]), 3);
        assert_eq!(d(None, &["b@example.test"]), 1);
        assert_eq!(d(None, &[]), 0);
        assert_eq!(direction(Some("a@x.test"), [].into_iter(), &[]), 0);
    }
}
