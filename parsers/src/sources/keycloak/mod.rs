//! Keycloak events, in every form Keycloak writes them:
//!
//! - server log lines (`HH:MM:SS,mmm LEVEL [logger] (thread) message`, with
//!   an optional date), parsed with nom; lines of the `org.keycloak.events`
//!   logger carry the event as `key=value` pairs;
//! - JSON log records (Quarkus JSON / ECS logging: `message` holds the same
//!   `key="value"` pairs);
//! - event records as the event store and the admin REST API return them
//!   (`{"time", "type", "realmId", ..., "details":{...}}`) and admin events
//!   (`{"time", "operationType", "resourceType", "resourcePath", "authDetails"}`).
//!
//! A record starting with `{` is JSON; anything else is a text line.
//! The mapping table is in `docs/sources/keycloak.md`.

mod ocsf;
mod parse;

use std::borrow::Cow;

use crate::common::fallback;
use crate::common::json::{self, Obj};
use crate::ocsf::{Event, Str};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// Decoder for Keycloak events and server log lines.
pub struct KeycloakDecoder {
    opts: Options,
}

impl KeycloakDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        KeycloakDecoder { opts }
    }
}

/// A boxed [`KeycloakDecoder`] (the registry's constructor).
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(KeycloakDecoder::new(opts.clone()))
}

/// A user event, whatever form it came in.
#[derive(Debug, Default)]
pub(crate) struct KcEvent<'a> {
    pub time: i64,
    pub original_time: Option<Str<'a>>,
    pub ty: Str<'a>,
    pub realm_id: Option<Str<'a>>,
    pub realm_name: Option<Str<'a>>,
    pub client_id: Option<Str<'a>>,
    pub user_id: Option<Str<'a>>,
    pub session_id: Option<Str<'a>>,
    pub ip: Option<Str<'a>>,
    pub error: Option<Str<'a>>,
    pub uid: Option<Str<'a>>,
    /// `details` and any other pair, in order.
    pub details: Vec<(Str<'a>, Str<'a>)>,
    pub log_level: Option<Str<'a>>,
    pub host: Option<Str<'a>>,
    pub version: Option<Str<'a>>,
}

impl<'a> KcEvent<'a> {
    fn set(&mut self, k: Str<'a>, v: Str<'a>) {
        // Keycloak writes absent ids as the string "null".
        let v = (v != "null" && !v.is_empty()).then_some(v);
        let Some(v) = v else {
            return;
        };
        match k.as_ref() {
            "type" => self.ty = v,
            "realmId" => self.realm_id = Some(v),
            "realmName" => self.realm_name = Some(v),
            "clientId" => self.client_id = Some(v),
            "userId" => self.user_id = Some(v),
            "sessionId" => self.session_id = Some(v),
            "ipAddress" => self.ip = Some(v),
            "error" => self.error = Some(v),
            "id" => self.uid = Some(v),
            _ => self.details.push((k, v)),
        }
    }

    /// Take a detail by name.
    pub(crate) fn detail(&mut self, name: &str) -> Option<Str<'a>> {
        let i = self.details.iter().position(|(k, _)| k == name)?;
        Some(self.details.remove(i).1)
    }
}

impl Decoder for KeycloakDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let product = *json::product("Keycloak", "Keycloak");
        let unparsed = |e: ParseError, out: &mut dyn FnMut(&mut Event<'_>)| {
            out(&mut fallback::unparsed(
                record,
                e,
                product.clone(),
                "Keycloak",
                None,
                &self.opts,
            ));
            Outcome::Unparsed(e)
        };
        let text = match crate::common::utf8::text(record) {
            Ok(t) => t,
            Err(e) => {
                return unparsed(
                    ParseError {
                        kind: ErrorKind::NotUtf8,
                        at: e.valid_up_to(),
                    },
                    out,
                )
            }
        };
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return unparsed(
                ParseError {
                    kind: ErrorKind::Empty,
                    at: 0,
                },
                out,
            );
        }
        let raw = self.opts.raw_data.then_some(text);
        if trimmed.starts_with('{') {
            let obj = match json::parse_record(record) {
                Ok((_, o)) => o,
                Err(e) => return unparsed(e, out),
            };
            return match decode_json(obj, raw, &self.opts, out) {
                Ok(()) => Outcome::Parsed,
                Err(e) => unparsed(e, out),
            };
        }
        let Some(line) = parse::log_line(text) else {
            return unparsed(
                ParseError {
                    kind: ErrorKind::Header,
                    at: 0,
                },
                out,
            );
        };
        let time = line_time(line.date, line.time, &self.opts);
        let original = match line.date {
            Some(d) => Cow::Owned(format!("{d} {}", line.time)),
            None => Cow::Borrowed(line.time),
        };
        if line.logger == "org.keycloak.events" {
            if let Some(pairs) = parse::pairs(line.message) {
                let mut ev = KcEvent {
                    time,
                    original_time: Some(original),
                    log_level: Some(Cow::Borrowed(line.level)),
                    ..Default::default()
                };
                for (k, v) in pairs {
                    ev.set(Cow::Borrowed(k), v);
                }
                let mut e = ocsf::user_event(ev, raw);
                e.unmapped().insert("thread".into(), line.thread.into());
                out(&mut e);
                return Outcome::Parsed;
            }
        }
        out(&mut ocsf::server_line(&line, time, original, raw));
        Outcome::Parsed
    }
}

fn decode_json<'a>(
    mut o: Obj<'a>,
    raw: Option<&'a str>,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'a>),
) -> Result<(), ParseError> {
    let not_this = ParseError {
        kind: ErrorKind::NotThisSource,
        at: 0,
    };
    // Admin event.
    if o.has("operationType") && o.has("resourceType") {
        let mut e = ocsf::admin_event(&mut o, raw, opts);
        o.keep(&mut e, "");
        out(&mut e);
        return Ok(());
    }
    // Event-store / REST representation of a user event.
    if o.has("type") && o.has("realmId") && !o.has("message") {
        let time_raw = o.raw("time");
        let ms = time_raw.and_then(json::raw_i64);
        let original = time_raw.and_then(json::raw_str);
        let time = ms
            .or_else(|| original.as_deref().and_then(json::time_ms))
            .unwrap_or(opts.reference_time_ms);
        let mut ev = KcEvent {
            time,
            original_time: original,
            ..Default::default()
        };
        for k in [
            "type",
            "realmId",
            "realmName",
            "clientId",
            "userId",
            "sessionId",
            "ipAddress",
            "error",
            "id",
        ] {
            if let Some(v) = o.str(k) {
                ev.set(Cow::Borrowed(k), v);
            }
        }
        let mut details = o.obj("details");
        if let Some(d) = details.as_mut() {
            ev.details = d.take_scalars();
        }
        let mut e = ocsf::user_event(ev, raw);
        if let Some(d) = details {
            d.keep(&mut e, "details");
        }
        o.keep(&mut e, "");
        out(&mut e);
        return Ok(());
    }
    // JSON log record (Quarkus JSON or ECS).
    let message = o.peek_str("message").ok_or(not_this)?;
    o.skip("message");
    let logger = o.str("log.logger").or_else(|| o.str("loggerName"));
    let level = o.str("log.level").or_else(|| o.str("level"));
    let original = o.str("@timestamp").or_else(|| o.str("timestamp"));
    let time = original
        .as_deref()
        .and_then(json::time_ms)
        .unwrap_or(opts.reference_time_ms);
    let host = o.str("host.hostname").or_else(|| o.str("hostName"));
    let version = o.str("service.version");
    let pairs = if logger.as_deref().is_none_or(|l| l == "org.keycloak.events") {
        parse::pairs(&message)
    } else {
        None
    };
    let mut e = match pairs {
        Some(pairs) if pairs.iter().any(|(k, _)| *k == "type") => {
            let mut ev = KcEvent {
                time,
                original_time: original,
                log_level: level,
                host,
                version,
                ..Default::default()
            };
            for (k, v) in pairs {
                ev.set(Cow::Owned(k.to_string()), Cow::Owned(v.into_owned()));
            }
            ocsf::user_event(ev, raw)
        }
        _ => {
            let line = parse::LogLine {
                date: None,
                time: "",
                level: level.as_deref().unwrap_or("INFO"),
                logger: logger.as_deref().unwrap_or(""),
                thread: "",
                message: &message,
            };
            let mut e =
                ocsf::server_line(&line, time, original.unwrap_or_default(), raw).into_owned();
            if let Some(h) = host {
                e.unmapped().insert("host".into(), h.as_ref().into());
            }
            e
        }
    };
    o.keep(&mut e, "");
    out(&mut e);
    Ok(())
}

/// Epoch ms of a server log time. Lines without a date get the date of
/// the caller's reference time, or the day before when that would put them
/// more than a minute after it.
fn line_time(date: Option<&str>, time: &str, opts: &Options) -> i64 {
    let t = time.replace(',', ".");
    let offset = opts.utc_offset_secs as i64 * 1000;
    let parse = |d: &str| {
        chrono::NaiveDateTime::parse_from_str(&format!("{d} {t}"), "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|dt| dt.and_utc().timestamp_millis() - offset)
    };
    if let Some(d) = date {
        return parse(d).unwrap_or(opts.reference_time_ms);
    }
    let local_ref = opts.reference_time_ms + offset;
    let Some(day) = chrono::DateTime::from_timestamp_millis(local_ref) else {
        return opts.reference_time_ms;
    };
    let d = day.format("%Y-%m-%d").to_string();
    match parse(&d) {
        Some(ms) if ms > opts.reference_time_ms + 60_000 => ms - 86_400_000,
        Some(ms) => ms,
        None => opts.reference_time_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn run(rec: &str) -> (Outcome, Vec<Value>) {
        let opts = Options {
            reference_time_ms: 1_700_000_000_000, // 2023-11-14T22:13:20Z
            ..Options::default()
        };
        let mut d = KeycloakDecoder::new(opts);
        let mut evs = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            evs.push(serde_json::to_value(e).unwrap())
        });
        (o, evs)
    }

    #[test]
    fn text_event_line() {
        let (o, evs) = run("21:20:42,120 WARN  [org.keycloak.events] (default task-2) type=LOGIN_ERROR, realmId=test, clientId=test, userId=cc74, ipAddress=192.0.2.1, error=invalid_user_credentials, auth_method=openid-connect, username=admin");
        assert!(o.is_parsed());
        let e = &evs[0];
        assert_eq!(e["class_uid"], 3002);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["user"]["name"], "admin");
        assert_eq!(e["time"], 1_699_996_842_120i64);
        assert_eq!(e["auth_protocol_id"], 4);
    }

    #[test]
    fn time_before_reference_stays_on_its_day() {
        let opts = Options {
            reference_time_ms: 1_700_000_000_000,
            ..Options::default()
        };
        assert_eq!(line_time(None, "23:59:00,000", &opts), 1_699_919_940_000);
        assert_eq!(
            line_time(Some("2024-01-01"), "00:00:00.5", &opts),
            1_704_067_200_500
        );
    }

    #[test]
    fn garbage_is_unparsed() {
        let (o, evs) = run("garbage");
        assert!(!o.is_parsed());
        assert_eq!(evs.len(), 1);
        let (o, _) = run("{not json");
        assert!(!o.is_parsed());
        let (o, _) = run(r#"{"foo":1}"#);
        assert!(!o.is_parsed());
    }
}
