//! Duo Security Admin API logs: authentication (v2), administrator,
//! telephony and offline-access (Duo Authentication for Windows Logon)
//! records, told apart by `eventtype` (added by most collectors) or by their
//! shape. Administrator and offline records carry a `description` that is a
//! JSON object serialised as a string; it is parsed and kept structured.
//! The mapping table is in `docs/sources/duo.md`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::common::fallback;
use crate::common::json::{
    self, auth_factor, is_email, mark_fallback, other_activity, set_outcome, set_user_type,
    user_named, user_type, Obj,
};
use crate::ocsf::{
    severity, Actor, ClassInfo, Device, Event, Group, Location, ManagedEntity, NetworkEndpoint,
    Service, Str, User, ACCOUNT_CHANGE, AUTHENTICATION, BASE_EVENT, ENTITY_MANAGEMENT,
};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

const LOG_NAMES: [&str; 4] = ["authentication", "administrator", "telephony", "offline"];

/// Decoder for Duo Admin API log records.
pub struct DuoDecoder {
    opts: Options,
}

impl DuoDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        DuoDecoder { opts }
    }
}

/// A boxed [`DuoDecoder`] (the registry's constructor).
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(DuoDecoder::new(opts.clone()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auth,
    Admin,
    Telephony,
    Offline,
}

fn kind(o: &Obj<'_>) -> Option<Kind> {
    match o.peek_str("eventtype").as_deref() {
        Some("authentication" | "auth_log" | "authentication_log") => return Some(Kind::Auth),
        Some("administrator" | "admin_log" | "administrator_log") => return Some(Kind::Admin),
        Some("telephony" | "telephony_log") => return Some(Kind::Telephony),
        Some("offline" | "offline_log" | "offline_enrollment") => return Some(Kind::Offline),
        _ => {}
    }
    if o.has("txid") && (o.has("access_device") || o.has("factor") || o.has("result")) {
        Some(Kind::Auth)
    } else if o.has("telephony_id") || (o.has("credits") && o.has("context")) {
        Some(Kind::Telephony)
    } else if o.has("action") && o.has("username") {
        let offline = o.peek_str("action").is_some_and(|a| a.starts_with("o2fa"));
        Some(if offline { Kind::Offline } else { Kind::Admin })
    } else {
        None
    }
}

impl Decoder for DuoDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let product = *json::product("Duo Security", "Cisco");
        let (text, mut obj) = match json::parse_record(record) {
            Ok(x) => x,
            Err(e) => {
                out(&mut fallback::unparsed(
                    record, e, product, "Duo", None, &self.opts,
                ));
                return Outcome::Unparsed(e);
            }
        };
        let Some(k) = kind(&obj) else {
            let e = ParseError {
                kind: ErrorKind::NotThisSource,
                at: 0,
            };
            out(&mut fallback::unparsed(
                record, e, product, "Duo", None, &self.opts,
            ));
            return Outcome::Unparsed(e);
        };
        obj.skip("eventtype");
        let original_time = obj.str("isotimestamp").or_else(|| obj.str("ts"));
        let epoch = obj.i64("timestamp");
        let time = original_time
            .as_deref()
            .and_then(json::time_ms)
            .or(epoch.map(|s| s * 1000))
            .unwrap_or(self.opts.reference_time_ms);
        let mut ctx = Ctx {
            time,
            original_time,
            raw: self.opts.raw_data.then_some(text),
            kind: k,
        };
        let mut ev = match k {
            Kind::Auth => auth(&mut ctx, &mut obj),
            Kind::Admin => admin(&mut ctx, &mut obj),
            Kind::Telephony => telephony(&mut ctx, &mut obj),
            Kind::Offline => offline(&mut ctx, &mut obj),
        };
        obj.keep(&mut ev, "");
        out(&mut ev);
        Outcome::Parsed
    }
}

struct Ctx<'a> {
    time: i64,
    original_time: Option<Str<'a>>,
    raw: Option<&'a str>,
    kind: Kind,
}

impl<'a> Ctx<'a> {
    fn event(&mut self, class: &ClassInfo, activity: i32) -> Event<'a> {
        let mut ev = Event::new(class, activity, self.time);
        let meta = ev.meta();
        meta.product = Some(json::product("Duo Security", "Cisco"));
        meta.log_name = Some(Cow::Borrowed(LOG_NAMES[self.kind as usize]));
        meta.original_time = self.original_time.take();
        ev.raw_data = self.raw.map(Cow::Borrowed);
        ev
    }
}

/// Duo `factor` → OCSF factor type.
fn factor_id(f: &str) -> i32 {
    match f {
        "duo_push" | "verified_duo_push" | "Duo Push" | "push" => 5,
        "phone_call" | "Phone Call" | "phone" => 3,
        "sms_passcode" | "SMS Passcode" | "sms" | "sms_refresh" => 1,
        "passcode"
        | "duo_mobile_passcode"
        | "duo_otp"
        | "hardware_token"
        | "yubikey_code"
        | "Passcode"
        | "bypass_code" => 7,
        "u2f_token" | "U2F Token" => 9,
        "webauthn_security_key"
        | "webauthn_platform"
        | "WebAuthn Security Key"
        | "WebAuthn Credential"
        | "webauthn_credential" => 10,
        "password" | "Password" => 11,
        _ => 99,
    }
}

fn location<'a>(o: Option<Obj<'a>>, rest: &mut Map<String, Value>) -> Option<Box<Location<'a>>> {
    let mut o = o?;
    let city = o.str("city");
    let region = o.str("state");
    let country = o.str("country");
    let mut loc = Location {
        city,
        region,
        ..Default::default()
    };
    // OCSF wants an ISO 3166 code; Duo writes the country's name.
    match country {
        Some(c) if c.len() == 2 => loc.country = Some(c),
        Some(c) => {
            rest.insert("country".into(), Value::String(c.into_owned()));
        }
        None => {}
    }
    (loc.city.is_some() || loc.region.is_some() || loc.country.is_some()).then(|| Box::new(loc))
}

fn auth<'a>(ctx: &mut Ctx<'a>, o: &mut Obj<'a>) -> Event<'a> {
    let event_type = o.str("event_type");
    let enrollment = event_type.as_deref() == Some("enrollment");
    let mut ev = if enrollment {
        ctx.event(&ACCOUNT_CHANGE, 10)
    } else {
        ctx.event(&AUTHENTICATION, 1)
    };
    ev.meta().uid = o.str("txid");
    ev.meta().event_code = event_type.or(Some(Cow::Borrowed("authentication")));

    // The user.
    let mut user = User::default();
    if let Some(mut u) = o.obj("user") {
        user.name = u.str("name");
        user.uid = u.str("key");
        user.groups = u
            .strs("groups")
            .into_iter()
            .map(|g| Group {
                name: Some(g),
                ..Default::default()
            })
            .collect();
        u.keep(&mut ev, "user");
    }
    if let Some(email) = o.str("email").filter(|e| is_email(e)) {
        user.email_addr = Some(email);
    }
    if user.name.is_none() {
        user.name = user.email_addr.clone().or_else(|| o.str("alias"));
    }
    if user.name.is_none() && user.uid.is_none() {
        user.name = Some(Cow::Borrowed("unknown"));
    }
    set_user_type(&mut user, user_type::USER);
    ev.user = Some(Box::new(user));

    // Where from.
    if let Some(mut a) = o.obj("access_device") {
        let mut rest = Map::new();
        let mut ep = NetworkEndpoint {
            ip: a.str("ip").filter(|ip| json::is_ip(ip)),
            hostname: a.str("hostname"),
            ..Default::default()
        };
        ep.location = location(a.obj("location"), &mut rest);
        if ep.ip.is_some() || ep.hostname.is_some() {
            ev.src_endpoint = Some(Box::new(ep));
        }
        let browser = a.str("browser");
        let version = a.str("browser_version");
        let os = a.str("os");
        let os_version = a.str("os_version");
        if browser.is_some() || os.is_some() {
            // Duo reports the parsed agent, not the header; rebuild a label.
            let ua = [browser, version, os, os_version]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            ev.http_request = Some(Box::new(crate::ocsf::HttpRequest {
                user_agent: Some(Cow::Owned(ua)),
                ..Default::default()
            }));
        }
        let mut m = a.rest();
        m.extend(rest);
        if !m.is_empty() {
            ev.unmapped()
                .insert("access_device".into(), Value::Object(m));
        }
    }

    // The protected application.
    if let Some(mut app) = o.obj("application") {
        ev.service = Some(Box::new(Service {
            name: app.str("name"),
            uid: app.str("key"),
            ..Default::default()
        }));
        app.keep(&mut ev, "application");
    }
    if ev
        .service
        .as_ref()
        .is_none_or(|s| s.name.is_none() && s.uid.is_none())
    {
        ev.service = Some(Box::new(Service {
            name: Some(Cow::Borrowed("Duo")),
            ..Default::default()
        }));
    }
    if enrollment {
        // Account Change has no service; keep the application under unmapped.
        if let Some(s) = ev.service.take() {
            ev.unmapped().insert(
                "application".into(),
                serde_json::json!({ "name": s.name, "key": s.uid }),
            );
        }
    }

    // The second factor and the device it went to.
    let factor = o.str("factor");
    if let Some(f) = factor
        .clone()
        .filter(|f| f != "not_available" && f != "n/a")
    {
        let mut af = auth_factor(factor_id(&f), f.clone(), "Duo");
        if let Some(mut d) = o.obj("auth_device") {
            let mut rest = Map::new();
            let mut dev = Device {
                name: d.str("name"),
                uid: d.str("key"),
                ip: d.str("ip").filter(|ip| json::is_ip(ip)),
                type_id: Some(if af.factor_type_id == Some(5) { 5 } else { 0 }),
                ..Default::default()
            };
            dev.type_ = crate::ocsf::caption("device", "type_id", dev.type_id.unwrap_or(0) as i64)
                .map(Cow::Borrowed);
            dev.location = location(d.obj("location"), &mut rest);
            let mut m = d.rest();
            m.extend(rest);
            if !m.is_empty() {
                ev.unmapped().insert("auth_device".into(), Value::Object(m));
            }
            if dev.name.is_some() || dev.uid.is_some() || dev.ip.is_some() {
                af.device = Some(Box::new(dev));
            }
        }
        ev.auth_factors.push(af);
        if !enrollment {
            ev.is_mfa = Some(!matches!(
                f.as_ref(),
                "remembered_device" | "trusted_network"
            ));
        }
    }

    // Outcome.
    let result = o.str("result");
    let reason = o.str("reason");
    let ok = match result.as_deref() {
        Some("success" | "SUCCESS") => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    set_outcome(&mut ev, ok);
    if ok == Some(false) {
        ev.set_severity(severity::LOW);
    }
    if result.as_deref() == Some("fraud") || reason.as_deref() == Some("user_marked_fraud") {
        ev.set_severity(severity::HIGH);
    }
    ev.status_code = result;
    ev.status_detail = reason;
    ev
}

/// `description`, a JSON object serialised as a string, read as an object.
fn description(o: &mut Obj<'_>) -> Map<String, Value> {
    match o.value("description") {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => m,
            _ => {
                let mut m = Map::new();
                m.insert("text".into(), Value::String(s));
                m
            }
        },
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn desc_str<'a>(d: &mut Map<String, Value>, key: &str) -> Option<Str<'a>> {
    match d.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(Cow::Owned(s)),
        Some(Value::Null) | None => None,
        Some(v) => {
            d.insert(key.to_string(), v);
            None
        }
    }
}

fn admin_user<'a>(o: &mut Obj<'a>) -> User<'a> {
    let mut u = o.str("username").map(user_named).unwrap_or_default();
    if u.name.is_none() {
        u.name = Some(Cow::Borrowed("unknown"));
    }
    set_user_type(&mut u, user_type::ADMIN);
    u
}

fn admin<'a>(ctx: &mut Ctx<'a>, o: &mut Obj<'a>) -> Event<'a> {
    let action = o.str("action").unwrap_or(Cow::Borrowed("unknown"));
    let mut d = description(o);
    let object = o.str("object");
    let host = o.str("host");
    let mut ev = match action.as_ref() {
        "admin_login" | "admin_login_error" | "admin_2fa_error" | "admin_logout" => {
            let mut ev = ctx.event(
                &AUTHENTICATION,
                if action == "admin_logout" { 2 } else { 1 },
            );
            let mut user = admin_user(o);
            if let Some(role) = desc_str(&mut d, "role") {
                user.groups.push(Group {
                    name: Some(role),
                    type_: Some(Cow::Borrowed("Duo admin role")),
                    ..Default::default()
                });
            }
            ev.user = Some(Box::new(user));
            ev.service = Some(Box::new(Service {
                name: Some(Cow::Borrowed("Duo Admin Panel")),
                ..Default::default()
            }));
            if let Some(ip) = desc_str(&mut d, "ip_address").filter(|ip| json::is_ip(ip)) {
                ev.src_endpoint = Some(Box::new(NetworkEndpoint {
                    ip: Some(ip),
                    ..Default::default()
                }));
            }
            if let Some(f) = desc_str(&mut d, "factor") {
                let mut af = auth_factor(factor_id(&f), f, "Duo");
                if let Some(dev) = desc_str(&mut d, "device") {
                    af.phone_number = Some(dev);
                }
                ev.auth_factors.push(af);
                ev.is_mfa = Some(true);
            }
            if let Some(p) = desc_str(&mut d, "primary_auth_method") {
                let id = factor_id(&p);
                ev.auth_factors.insert(0, auth_factor(id, p, "Duo"));
            }
            let ok = action == "admin_login" || action == "admin_logout";
            set_outcome(&mut ev, Some(ok));
            if !ok {
                ev.set_severity(severity::LOW);
                ev.status_detail = desc_str(&mut d, "error");
            }
            ev
        }
        a => {
            let (class, activity, label) = admin_activity(a);
            let mut ev = ctx.event(class, activity);
            if activity == 99 {
                other_activity(&mut ev, label);
            }
            let actor = admin_user(o);
            if class.uid == ACCOUNT_CHANGE.uid {
                let mut target = object.clone().map(user_named).unwrap_or_default();
                if target.name.is_none() {
                    target.name = Some(Cow::Borrowed("unknown"));
                }
                if let Some(real) = desc_str(&mut d, "realname") {
                    target.full_name = Some(real);
                }
                if let Some(email) = desc_str(&mut d, "email").filter(|e| is_email(e)) {
                    target.email_addr = Some(email);
                }
                ev.user = Some(Box::new(target));
                if a.starts_with("phone") || a.contains("token") || a.contains("webauthn") {
                    ev.auth_factors.push(auth_factor(
                        if a.starts_with("phone") {
                            5
                        } else {
                            factor_id(a)
                        },
                        Cow::Owned(a.to_string()),
                        "Duo",
                    ));
                }
            } else {
                ev.entity = Some(Box::new(ManagedEntity {
                    name: object.clone().or(Some(Cow::Borrowed("unknown"))),
                    type_: Some(Cow::Owned(entity_type(a).to_string())),
                    ..Default::default()
                }));
            }
            ev.actor = Some(Box::new(Actor {
                user: Some(Box::new(actor)),
                ..Default::default()
            }));
            set_outcome(&mut ev, Some(true));
            if class.uid == ENTITY_MANAGEMENT.uid && activity == 99 && label == "Other" {
                mark_fallback(&mut ev);
            }
            ev
        }
    };
    ev.meta().event_code = Some(action);
    if let Some(h) = host {
        ev.meta().tenant_uid = Some(h);
    }
    if !d.is_empty() {
        ev.unmapped().insert("description".into(), Value::Object(d));
    }
    if let (Some(obj), true) = (
        object,
        ev.entity.is_none() && ev.class_uid == Some(AUTHENTICATION.uid),
    ) {
        ev.unmapped()
            .insert("object".into(), Value::String(obj.into_owned()));
    }
    ev
}

/// What an administrator action does: class, activity and the Other label.
fn admin_activity(a: &str) -> (&'static ClassInfo, i32, &'static str) {
    match a {
        "user_create" => (&ACCOUNT_CHANGE, 1, ""),
        "user_delete" => (&ACCOUNT_CHANGE, 6, ""),
        "user_update" => (&ACCOUNT_CHANGE, 99, "Update"),
        "user_bulk_activate" | "user_activate" => (&ACCOUNT_CHANGE, 2, ""),
        "user_lockout" | "user_locked_out" => (&ACCOUNT_CHANGE, 9, ""),
        "bypass_create" => (&ACCOUNT_CHANGE, 99, "Bypass Code Create"),
        "bypass_delete" => (&ACCOUNT_CHANGE, 99, "Bypass Code Delete"),
        "phone_associate"
        | "phone_create"
        | "token_create"
        | "u2ftoken_create"
        | "webauthncredential_create"
        | "user_add_phone"
        | "user_add_token" => (&ACCOUNT_CHANGE, 10, ""),
        "phone_disassociate"
        | "phone_delete"
        | "token_delete"
        | "u2ftoken_delete"
        | "webauthncredential_delete"
        | "user_remove_phone"
        | "user_remove_token" => (&ACCOUNT_CHANGE, 11, ""),
        _ => {
            let activity = if a.ends_with("_create") || a.ends_with("_add") {
                1
            } else if a.ends_with("_update") || a.ends_with("_edit") || a.ends_with("_modify") {
                3
            } else if a.ends_with("_delete") || a.ends_with("_remove") {
                4
            } else if a.ends_with("_view") || a.ends_with("_export") {
                2
            } else {
                99
            };
            (
                &ENTITY_MANAGEMENT,
                activity,
                if activity == 99 { "Other" } else { "" },
            )
        }
    }
}

fn entity_type(a: &str) -> &str {
    a.split('_').next().unwrap_or(a)
}

fn telephony<'a>(ctx: &mut Ctx<'a>, o: &mut Obj<'a>) -> Event<'a> {
    // A billing record for an SMS or call Duo placed; it names no user, so
    // it is a Base Event with its fields kept typed under `unmapped`.
    let mut ev = ctx.event(&BASE_EVENT, 99);
    other_activity(&mut ev, "Telephony");
    let ty = o.str("type");
    let context = o.str("context");
    ev.meta().uid = o.str("telephony_id").or_else(|| o.str("txid"));
    ev.meta().event_code = ty.clone().or(Some(Cow::Borrowed("telephony")));
    ev.message = Some(Cow::Owned(format!(
        "{} sent for {}",
        ty.as_deref().unwrap_or("message"),
        context.as_deref().unwrap_or("unknown context")
    )));
    let um = ev.unmapped();
    if let Some(t) = ty {
        um.insert("type".into(), Value::String(t.into_owned()));
    }
    if let Some(c) = context {
        um.insert("context".into(), Value::String(c.into_owned()));
    }
    set_outcome(&mut ev, Some(true));
    ev
}

fn offline<'a>(ctx: &mut Ctx<'a>, o: &mut Obj<'a>) -> Event<'a> {
    let action = o.str("action").unwrap_or(Cow::Borrowed("unknown"));
    let activity = match action.as_ref() {
        "o2fa_user_provisioned" | "o2fa_user_reenrolled" => 10,
        "o2fa_user_deprovisioned" => 11,
        _ => 99,
    };
    let mut ev = ctx.event(&ACCOUNT_CHANGE, activity);
    if activity == 99 {
        other_activity(&mut ev, action.to_string());
        mark_fallback(&mut ev);
    }
    let mut d = description(o);
    let mut user = o.str("username").map(user_named).unwrap_or_default();
    if user.name.is_none() {
        user.name = Some(Cow::Borrowed("unknown"));
    }
    ev.user = Some(Box::new(user));
    if let Some(f) = desc_str(&mut d, "factor") {
        ev.auth_factors.push(auth_factor(factor_id(&f), f, "Duo"));
    }
    let host = desc_str(&mut d, "hostname");
    let ua = desc_str(&mut d, "user_agent");
    if let Some(ua) = ua {
        ev.http_request = Some(Box::new(crate::ocsf::HttpRequest {
            user_agent: Some(ua),
            ..Default::default()
        }));
    }
    if let Some(h) = host {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            hostname: Some(h),
            ..Default::default()
        }));
    }
    if let Some(obj) = o.str("object") {
        ev.unmapped()
            .insert("object".into(), Value::String(obj.into_owned()));
    }
    if !d.is_empty() {
        ev.unmapped().insert("description".into(), Value::Object(d));
    }
    ev.meta().event_code = Some(action);
    set_outcome(&mut ev, Some(true));
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rec: &str) -> (Outcome, Vec<Value>) {
        let mut d = DuoDecoder::new(Options::default());
        let mut evs = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            evs.push(serde_json::to_value(e).unwrap())
        });
        (o, evs)
    }

    #[test]
    fn push_denied_as_fraud_is_a_high_failure() {
        let (o, evs) = one(
            r#"{"txid":"t1","timestamp":1700000000,"factor":"duo_push","result":"fraud","reason":"user_marked_fraud","user":{"name":"ann","key":"DU1"},"application":{"name":"VPN","key":"DI1"},"access_device":{"ip":"192.0.2.4"}}"#,
        );
        assert!(o.is_parsed());
        let e = &evs[0];
        assert_eq!(e["class_uid"], 3002);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["severity_id"], 4);
        assert_eq!(e["auth_factors"][0]["factor_type_id"], 5);
        assert_eq!(e["time"], 1_700_000_000_000i64);
    }

    #[test]
    fn description_is_kept_structured() {
        let (_, evs) = one(
            r#"{"action":"user_update","description":"{\"notes\": \"n\", \"realname\": \"Joe\"}","object":"jsmith","timestamp":1,"username":"admin"}"#,
        );
        assert_eq!(evs[0]["unmapped"]["description"]["notes"], "n");
        assert_eq!(evs[0]["user"]["full_name"], "Joe");
    }

    #[test]
    fn other_json_is_not_duo() {
        let (o, evs) = one(r#"{"hello":"world"}"#);
        assert!(!o.is_parsed());
        assert_eq!(evs.len(), 1);
    }
}
