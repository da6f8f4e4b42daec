//! Auth0 tenant logs, as the Management API `/api/v2/logs` returns them
//! (`{"date", "type", "user_id", ...}`) or wrapped by a log stream
//! (`{"log_id", "data": {...}}`). The event type is the short `type` code
//! (`s`, `f`, `fp`, `slo`, `seacft`, `gd_auth_rejected`, `sapi`, ...).
//! The mapping table is in `docs/sources/auth0.md`.

use std::borrow::Cow;

use serde_json::Value;

use crate::common::fallback;
use crate::common::json::{
    self, auth_factor, endpoint, is_email, mark_fallback, other_activity, set_auth_protocol,
    set_outcome, set_user_type, user_type, Obj,
};
use crate::ocsf::{
    severity, Actor, Api, ClassInfo, Event, Evidences, FindingInfo, HttpRequest, Location,
    NetworkEndpoint, Service, Session, User, ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION,
    BASE_EVENT, DETECTION_FINDING, USER_ACCESS,
};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

const LOG_NAME: &str = "Tenant Logs";

/// Decoder for Auth0 tenant log events.
pub struct Auth0Decoder {
    opts: Options,
}

impl Auth0Decoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        Auth0Decoder { opts }
    }
}

/// A boxed [`Auth0Decoder`] (the registry's constructor).
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(Auth0Decoder::new(opts.clone()))
}

impl Decoder for Auth0Decoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let product = *json::product("Auth0", "Okta");
        let (text, mut outer) = match json::parse_record(record) {
            Ok(x) => x,
            Err(e) => {
                out(&mut fallback::unparsed(
                    record, e, product, LOG_NAME, None, &self.opts,
                ));
                return Outcome::Unparsed(e);
            }
        };
        let outer_id = outer.peek_str("log_id");
        let mut o = match outer.obj("data") {
            Some(d) if d.has("type") => d,
            _ => {
                outer.skip("data");
                outer.clone()
            }
        };
        if !(o.has("type") && o.has("date")) {
            let e = ParseError {
                kind: ErrorKind::NotThisSource,
                at: 0,
            };
            out(&mut fallback::unparsed(
                record, e, product, LOG_NAME, None, &self.opts,
            ));
            return Outcome::Unparsed(e);
        }
        let mut ev = map(&mut o, self.opts.raw_data.then_some(text), &self.opts);
        if ev.meta().uid.is_none() {
            ev.meta().uid = outer_id;
        }
        o.keep(&mut ev, "");
        out(&mut ev);
        Outcome::Parsed
    }
}

/// What a type code means: class, activity, success, Other label.
fn classify(t: &str) -> Option<(&'static ClassInfo, i32, Option<bool>, &'static str)> {
    let auth = &AUTHENTICATION;
    let acct = &ACCOUNT_CHANGE;
    Some(match t {
        "s" | "ssa" | "scoa" | "sepft" | "sepkft" => (auth, 1, Some(true), ""),
        "f" | "fu" | "fp" | "fc" | "fco" | "fcoa" | "fsa" | "fepft" | "fepkft" | "fd" | "fn" => {
            (auth, 1, Some(false), "")
        }
        "slo" => (auth, 2, Some(true), ""),
        "flo" => (auth, 2, Some(false), ""),
        "seacft" | "seccft" | "seoobft" | "seotpft" | "sercft" | "sede" | "sedft" => {
            (auth, 3, Some(true), "")
        }
        "feacft" | "feccft" | "feoobft" | "feotpft" | "fercft" | "fede" | "fedft" => {
            (auth, 3, Some(false), "")
        }
        "sertft" => (auth, 5, Some(true), ""),
        "fertft" => (auth, 5, Some(false), ""),
        "gd_auth_succeed" | "gd_otp_auth_succeed" | "gd_webauthn_auth_succeed" => {
            (auth, 99, Some(true), "MFA Verification")
        }
        "gd_auth_failed"
        | "gd_otp_auth_failed"
        | "gd_webauthn_auth_failed"
        | "gd_auth_rejected"
        | "gd_recovery_failed" => (auth, 99, Some(false), "MFA Verification"),
        "gd_send_pn" | "gd_send_sms" | "gd_send_voice" | "gd_send_email" => {
            (auth, 99, Some(true), "MFA Challenge Sent")
        }
        "gd_send_pn_failure" | "gd_send_sms_failure" | "gd_send_voice_failure" => {
            (auth, 99, Some(false), "MFA Challenge Sent")
        }
        "ss" => (acct, 1, Some(true), ""),
        "fs" => (acct, 1, Some(false), ""),
        "scp" => (acct, 3, Some(true), ""),
        "fcp" => (acct, 3, Some(false), ""),
        "scpr" => (acct, 4, Some(true), ""),
        "fcpr" | "fcpro" => (acct, 4, Some(false), ""),
        "gd_enrollment_complete" | "gd_start_enroll" => (acct, 10, Some(true), ""),
        "gd_start_enroll_failed" => (acct, 10, Some(false), ""),
        "gd_unenroll" => (acct, 11, Some(true), ""),
        "gd_recovery_succeed" => (acct, 99, Some(true), "MFA Recovery"),
        "du" | "sdu" => (acct, 6, Some(true), ""),
        "fdu" => (acct, 6, Some(false), ""),
        "limit_wc" | "limit_sul" | "limit_mu" => (acct, 9, Some(true), ""),
        "ublkdu" | "sublkdu" => (acct, 12, Some(true), ""),
        "sv" | "svr" => (acct, 99, Some(true), "Verify Email"),
        "fv" | "fvr" => (acct, 99, Some(false), "Verify Email"),
        "sce" => (acct, 99, Some(true), "Change Email"),
        "fce" => (acct, 99, Some(false), "Change Email"),
        "scu" => (acct, 99, Some(true), "Change Username"),
        "fcu" => (acct, 99, Some(false), "Change Username"),
        "pwd_leak" | "signup_pwd_leak" | "reset_pwd_leak" => (&DETECTION_FINDING, 1, None, ""),
        "sapi" | "mgmt_api_read" => (&API_ACTIVITY, 0, Some(true), ""),
        "fapi" => (&API_ACTIVITY, 0, Some(false), ""),
        _ => return None,
    })
}

fn factor_id(t: &str) -> Option<i32> {
    Some(match t {
        "gd_send_pn" | "gd_send_pn_failure" | "gd_auth_rejected" => 5,
        "gd_send_sms" | "gd_send_sms_failure" => 1,
        "gd_send_voice" | "gd_send_voice_failure" => 3,
        "gd_send_email" => 8,
        "gd_otp_auth_succeed" | "gd_otp_auth_failed" | "seotpft" | "feotpft" => 7,
        "gd_webauthn_auth_succeed" | "gd_webauthn_auth_failed" => 10,
        "gd_recovery_failed" | "gd_recovery_succeed" => 99,
        "fp" => 11,
        _ => return None,
    })
}

fn map<'a>(o: &mut Obj<'a>, raw: Option<&'a str>, opts: &Options) -> Event<'a> {
    let date = o.str("date");
    let time = date
        .as_deref()
        .and_then(json::time_ms)
        .unwrap_or(opts.reference_time_ms);
    let ty = o.str("type").unwrap_or(Cow::Borrowed(""));
    let known = classify(&ty);
    let (class, mut activity, ok, label) = known.unwrap_or((&BASE_EVENT, 99, None, ""));
    let mut details = o.obj("details");
    let mut request = details.as_mut().and_then(|d| d.obj("request"));
    let method = request.as_mut().and_then(|r| r.str("method"));
    let path = request.as_mut().and_then(|r| r.str("path"));
    let mut class = class;
    if class.uid == API_ACTIVITY.uid {
        activity = match method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("POST") => 1,
            Some("GET") => 2,
            Some("PUT" | "PATCH") => 3,
            Some("DELETE") => 4,
            _ if ty == "mgmt_api_read" => 2,
            _ => 99,
        };
        // Role assignment through the Management API.
        if path
            .as_deref()
            .is_some_and(|p| p.contains("/roles") && p.contains("/users/"))
            && matches!(activity, 1 | 4)
        {
            class = &USER_ACCESS;
            activity = if activity == 1 { 1 } else { 2 };
        }
    }
    let mut ev = Event::new(class, activity, time);
    if activity == 99 {
        let l = if label.is_empty() {
            ty.to_string()
        } else {
            label.to_string()
        };
        other_activity(&mut ev, l);
    }
    if known.is_none() {
        mark_fallback(&mut ev);
    }
    ev.raw_data = raw.map(Cow::Borrowed);
    let tenant = o.str("tenant_name");
    let hostname = o.str("hostname");
    {
        let meta = ev.meta();
        meta.product = Some(json::product("Auth0", "Okta"));
        meta.log_name = Some(Cow::Borrowed(LOG_NAME));
        meta.original_time = date;
        meta.event_code = Some(ty.clone());
        meta.tenant_uid = tenant.or_else(|| hostname.clone());
    }
    ev.meta().uid = o.str("log_id").or_else(|| o.str("_id"));

    // Principals.
    let client_id = o.str("client_id");
    let client_name = o.str("client_name");
    let mut user = User {
        uid: o.str("user_id"),
        name: o.str("user_name"),
        ..Default::default()
    };
    if let Some(n) = user.name.clone().filter(|n| is_email(n)) {
        user.email_addr = Some(n);
    }
    let client_creds = matches!(ty.as_ref(), "seccft" | "feccft");
    if client_creds
        || (user.uid.is_none() && user.name.is_none() && class.uid == AUTHENTICATION.uid)
    {
        // A machine-to-machine token: the client is the principal.
        user.uid = user.uid.or(client_id.clone());
        user.name = user.name.or(client_name.clone());
        if client_creds {
            set_user_type(&mut user, user_type::SERVICE);
        }
    }
    if user.uid.is_none() && user.name.is_none() {
        user.name = Some(Cow::Borrowed("unknown"));
    }

    // Where from.
    let ip = o.str("ip");
    let mut src = ip.map(endpoint);
    if let (Some(s), Some(mut loc)) = (src.as_mut(), o.obj("location_info")) {
        let l = Location {
            city: loc.str("city_name"),
            country: loc.str("country_code").filter(|c| c.len() == 2),
            continent: loc.str("continent_code"),
            lat: loc
                .raw("latitude")
                .and_then(|r| r.get().trim_matches('"').parse().ok()),
            long: loc
                .raw("longitude")
                .and_then(|r| r.get().trim_matches('"').parse().ok()),
            ..Default::default()
        };
        if l.city.is_some() || l.country.is_some() {
            s.location = Some(Box::new(l));
        }
        loc.keep(&mut ev, "location_info");
    }
    let ua = o.str("user_agent").filter(|u| u != "unknown");
    let http = ua.map(|u| {
        Box::new(HttpRequest {
            user_agent: Some(u),
            ..Default::default()
        })
    });
    let description = o.str("description");
    let error = details.as_mut().and_then(|d| d.obj("error"));
    let session = details.as_mut().and_then(|d| d.str("session_id"));

    match class.uid {
        3002 => {
            ev.service = Some(Box::new(Service {
                name: client_name.clone().or(Some(Cow::Borrowed("Auth0"))),
                uid: client_id.clone(),
                ..Default::default()
            }));
            ev.user = Some(Box::new(user));
            if let Some(s) = o.str("strategy") {
                let st = o.str("strategy_type");
                let id = match (s.as_ref(), st.as_deref()) {
                    ("samlp", _) => 5,
                    ("oidc" | "okta", _) => 4,
                    ("ad" | "auth0-adldap", _) => 12,
                    (_, Some("social")) => 6,
                    _ => 99,
                };
                set_auth_protocol(&mut ev, id, s);
                if let Some(st) = st {
                    ev.unmapped()
                        .insert("strategy_type".into(), Value::String(st.into_owned()));
                }
            }
            if let Some(s) = session {
                ev.session = Some(Box::new(Session {
                    uid: Some(s),
                    ..Default::default()
                }));
            }
            if let Some(id) = factor_id(&ty) {
                ev.auth_factors
                    .push(auth_factor(id, ty.clone(), "Auth0 Guardian"));
                if ty.starts_with("gd_") {
                    ev.is_mfa = Some(true);
                }
            }
        }
        3001 => {
            ev.user = Some(Box::new(user));
            if let Some(id) = factor_id(&ty) {
                ev.auth_factors
                    .push(auth_factor(id, ty.clone(), "Auth0 Guardian"));
            }
            if let Some(c) = client_name.clone() {
                ev.unmapped()
                    .insert("client_name".into(), Value::String(c.into_owned()));
            }
        }
        2004 => {
            ev.status_id = Some(1);
            ev.status = Some(Cow::Borrowed("New"));
            ev.set_severity(severity::HIGH);
            ev.finding_info = Some(Box::new(FindingInfo {
                uid: ev
                    .metadata
                    .as_ref()
                    .and_then(|m| m.uid.clone())
                    .or(Some(ty.clone())),
                title: Some(
                    description
                        .clone()
                        .unwrap_or(Cow::Borrowed("Breached password")),
                ),
                types: vec![Cow::Borrowed("Breached Password Detection")],
                ..Default::default()
            }));
            ev.evidences.push(Evidences {
                user: Some(Box::new(user)),
                src_endpoint: src.take().map(Box::new),
                ..Default::default()
            });
        }
        6003 | 3005 => {
            let actor = Actor {
                user: (user.uid.is_some() || user.name.as_deref() != Some("unknown"))
                    .then(|| Box::new(user.clone())),
                app_name: client_name.clone(),
                app_uid: client_id.clone(),
                ..Default::default()
            };
            if class.uid == USER_ACCESS.uid {
                let target = path
                    .as_deref()
                    .and_then(|p| p.split("/users/").nth(1))
                    .and_then(|r| r.split('/').next())
                    .map(|u| Cow::Owned(u.replace("%7C", "|")));
                ev.user = Some(Box::new(User {
                    uid: target.or(Some(Cow::Borrowed("unknown"))),
                    ..Default::default()
                }));
                let roles = request
                    .as_mut()
                    .and_then(|r| r.obj("body"))
                    .map(|mut b| b.strs("roles"))
                    .unwrap_or_default();
                ev.privileges = if roles.is_empty() {
                    vec![Cow::Borrowed("role")]
                } else {
                    roles
                };
                ev.set_severity(severity::MEDIUM);
            } else {
                ev.api = Some(Box::new(Api {
                    operation: Some(match (&method, &path) {
                        (Some(m), Some(p)) => Cow::Owned(format!("{m} {p}")),
                        _ => description.clone().unwrap_or(ty.clone()),
                    }),
                    service: Some(Box::new(Service {
                        name: Some(Cow::Borrowed("Auth0 Management API")),
                        ..Default::default()
                    })),
                    ..Default::default()
                }));
                if src.is_none() {
                    src = Some(NetworkEndpoint {
                        name: Some(Cow::Borrowed("unknown")),
                        ..Default::default()
                    });
                }
            }
            if actor.user.is_some() || actor.app_name.is_some() || actor.app_uid.is_some() {
                ev.actor = Some(Box::new(actor));
            }
        }
        _ => {
            if user.name.as_deref() != Some("unknown") || user.uid.is_some() {
                ev.unmapped().insert(
                    "user".into(),
                    serde_json::json!({"uid": user.uid, "name": user.name}),
                );
            }
        }
    }
    if class.uid != DETECTION_FINDING.uid && class.uid != BASE_EVENT.uid {
        ev.src_endpoint = src.map(Box::new);
        ev.http_request = http;
        set_outcome(&mut ev, ok);
        if ok == Some(false) {
            ev.set_severity(if ty == "gd_auth_rejected" {
                severity::MEDIUM
            } else {
                severity::LOW
            });
        }
        if matches!(ty.as_ref(), "limit_wc" | "limit_sul" | "limit_mu") {
            ev.set_severity(severity::MEDIUM);
        }
    } else if class.uid == BASE_EVENT.uid {
        if let Some(s) = src {
            ev.unmapped()
                .insert("ip".into(), serde_json::json!(s.ip.or(s.name).or(s.domain)));
        }
    }
    if class.uid == DETECTION_FINDING.uid || class.uid == BASE_EVENT.uid {
        ev.message = description.clone();
    } else {
        ev.status_detail = description.clone();
    }
    if let Some(mut e) = error {
        if let Some(t) = e
            .str("type")
            .or_else(|| e.str("oauthError").filter(|s| s.len() < 64))
        {
            ev.status_code = Some(t);
        }
        if ev.status_detail.is_none() {
            ev.status_detail = e.str("message");
        }
        e.keep(&mut ev, "error");
    }
    if let Some(r) = request {
        let mut m = r.rest();
        if let Some(me) = method {
            m.insert("method".into(), Value::String(me.into_owned()));
        }
        if let Some(p) = path {
            m.insert("path".into(), Value::String(p.into_owned()));
        }
        ev.unmapped().insert("request".into(), Value::Object(m));
    }
    if let Some(d) = details {
        d.keep(&mut ev, "details");
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rec: &str) -> Value {
        let mut d = Auth0Decoder::new(Options::default());
        let mut evs = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            evs.push(serde_json::to_value(e).unwrap())
        });
        assert!(o.is_parsed(), "{o:?}");
        evs.remove(0)
    }

    #[test]
    fn wrapped_and_bare_records() {
        let e = one(
            r#"{"log_id":"L1","data":{"date":"2021-11-03T08:25:14.466Z","type":"fp","user_name":"a@example.com","ip":"192.0.2.1","client_name":"App"}}"#,
        );
        assert_eq!(e["class_uid"], 3002);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["metadata"]["uid"], "L1");
        let e = one(
            r#"{"date":"2021-11-03T08:25:14.466Z","type":"gd_auth_rejected","user_id":"auth0|1","log_id":"L2"}"#,
        );
        assert_eq!(e["auth_factors"][0]["factor_type_id"], 5);
        assert_eq!(e["is_mfa"], true);
        let e = one(r#"{"date":"2021-11-03T08:25:14.466Z","type":"zzz","log_id":"L3"}"#);
        assert_eq!(e["class_uid"], 0);
        assert_eq!(e["unmapped"]["idlink"]["fallback"], true);
    }
}
