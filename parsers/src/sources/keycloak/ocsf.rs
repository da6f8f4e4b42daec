//! Keycloak event → OCSF. The table is in `docs/sources/keycloak.md`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::parse::LogLine;
use super::KcEvent;
use crate::common::json::{
    self, endpoint, mark_fallback, other_activity, set_auth_protocol, set_outcome, set_user_type,
    user_type, Obj,
};
use crate::ocsf::{
    caption, severity, Actor, ClassInfo, Event, Group, ManagedEntity, ResourceDetails, Service,
    Session, Str, User, ACCOUNT_CHANGE, AUTHENTICATION, BASE_EVENT, ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT, USER_ACCESS,
};
use crate::Options;

fn base<'a>(class: &ClassInfo, activity: i32, time: i64, raw: Option<&'a str>) -> Event<'a> {
    let mut ev = Event::new(class, activity, time);
    let meta = ev.meta();
    meta.product = Some(json::product("Keycloak", "Keycloak"));
    ev.raw_data = raw.map(Cow::Borrowed);
    ev
}

/// Class, activity and Other label of a user event type (without `_ERROR`).
fn classify(ty: &str) -> Option<(&'static ClassInfo, i32, &'static str)> {
    Some(match ty {
        "LOGIN"
        | "CLIENT_LOGIN"
        | "IDENTITY_PROVIDER_LOGIN"
        | "IDENTITY_PROVIDER_FIRST_LOGIN"
        | "IDENTITY_PROVIDER_POST_LOGIN" => (&AUTHENTICATION, 1, ""),
        "LOGOUT" => (&AUTHENTICATION, 2, ""),
        "CODE_TO_TOKEN" | "TOKEN_EXCHANGE" | "OAUTH2_DEVICE_CODE_TO_TOKEN" => {
            (&AUTHENTICATION, 3, "")
        }
        "REFRESH_TOKEN" => (&AUTHENTICATION, 5, ""),
        "IMPERSONATE" => (&AUTHENTICATION, 7, ""),
        "INTROSPECT_TOKEN" => (&AUTHENTICATION, 99, "Introspect Token"),
        "USER_INFO_REQUEST" => (&AUTHENTICATION, 99, "User Info Request"),
        "UPDATE_PASSWORD" => (&ACCOUNT_CHANGE, 3, ""),
        "RESET_PASSWORD" => (&ACCOUNT_CHANGE, 4, ""),
        "SEND_RESET_PASSWORD" => (&ACCOUNT_CHANGE, 99, "Send Reset Password"),
        "UPDATE_TOTP" | "UPDATE_CREDENTIAL" | "WEBAUTHN_REGISTER" => (&ACCOUNT_CHANGE, 10, ""),
        "REMOVE_TOTP" | "REMOVE_CREDENTIAL" => (&ACCOUNT_CHANGE, 11, ""),
        "REGISTER" => (&ACCOUNT_CHANGE, 1, ""),
        "DELETE_ACCOUNT" => (&ACCOUNT_CHANGE, 6, ""),
        "UPDATE_PROFILE" => (&ACCOUNT_CHANGE, 99, "Update Profile"),
        "UPDATE_EMAIL" => (&ACCOUNT_CHANGE, 99, "Update Email"),
        "VERIFY_EMAIL" => (&ACCOUNT_CHANGE, 99, "Verify Email"),
        "FEDERATED_IDENTITY_LINK" => (&ACCOUNT_CHANGE, 99, "Link Federated Identity"),
        "REMOVE_FEDERATED_IDENTITY" => (&ACCOUNT_CHANGE, 99, "Remove Federated Identity"),
        "USER_DISABLED_BY_PERMANENT_LOCKOUT" | "USER_DISABLED_BY_TEMPORARY_LOCKOUT" => {
            (&ACCOUNT_CHANGE, 9, "")
        }
        "GRANT_CONSENT" | "UPDATE_CONSENT" => (&USER_ACCESS, 1, ""),
        "REVOKE_GRANT" => (&USER_ACCESS, 2, ""),
        _ => return None,
    })
}

pub(super) fn user_event<'a>(mut kc: KcEvent<'a>, raw: Option<&'a str>) -> Event<'a> {
    let ty = kc.ty.clone();
    let (base_ty, failed) = match ty.strip_suffix("_ERROR") {
        Some(b) => (b, true),
        None => (ty.as_ref(), kc.error.is_some()),
    };
    let known = classify(base_ty);
    let (class, mut activity, label) = known.unwrap_or((&AUTHENTICATION, 99, ""));
    // UPDATE_CREDENTIAL / REMOVE_CREDENTIAL name the credential type.
    let cred = kc.detail("credential_type");
    if cred.as_deref() == Some("password") && class.uid == ACCOUNT_CHANGE.uid {
        activity = if activity == 11 { 99 } else { 3 };
    }
    let mut ev = base(class, activity, kc.time, raw);
    if activity == 99 {
        other_activity(
            &mut ev,
            if label.is_empty() {
                Cow::Owned(ty.to_string())
            } else {
                Cow::Borrowed(label)
            },
        );
    }
    if known.is_none() {
        mark_fallback(&mut ev);
    }
    {
        let meta = ev.meta();
        meta.log_name = Some(Cow::Borrowed("events"));
        meta.event_code = Some(ty.clone());
        meta.original_time = kc.original_time.take();
        meta.uid = kc.uid.take();
        meta.tenant_uid = kc.realm_id.take();
        meta.log_level = kc.log_level.take();
        if let (Some(p), Some(v)) = (meta.product.as_mut(), kc.version.take()) {
            p.version = Some(v);
        }
    }

    let mut user = User {
        uid: kc.user_id.take(),
        name: kc.detail("username"),
        ..Default::default()
    };
    if let Some(email) = kc.detail("email").filter(|e| json::is_email(e)) {
        user.email_addr = Some(email);
    }
    if user.name.is_none() && user.uid.is_none() {
        user.name = Some(Cow::Borrowed("unknown"));
    }
    ev.user = Some(Box::new(user));
    if let Some(ip) = kc.ip.take() {
        ev.src_endpoint = Some(Box::new(endpoint(ip)));
    }
    let client = kc.client_id.take();
    if class.uid == AUTHENTICATION.uid {
        ev.service = Some(Box::new(Service {
            name: Some(client.clone().unwrap_or(Cow::Borrowed("Keycloak"))),
            ..Default::default()
        }));
        if let Some(m) = kc.detail("auth_method") {
            let id = match m.as_ref() {
                "openid-connect" => 4,
                "saml" => 5,
                _ => 99,
            };
            set_auth_protocol(&mut ev, id, m);
        }
        let session = kc.session_id.take().or_else(|| kc.detail("code_id"));
        if let Some(s) = session {
            ev.session = Some(Box::new(Session {
                uid: Some(s),
                ..Default::default()
            }));
        }
        if activity == 7 {
            ev.account_switch_type_id = Some(2);
            ev.account_switch_type =
                caption("authentication", "account_switch_type_id", 2).map(Cow::Borrowed);
            ev.set_severity(severity::MEDIUM);
        }
    } else if class.uid == USER_ACCESS.uid {
        let scopes = kc.detail("scope");
        ev.privileges = match scopes {
            Some(s) => s
                .split_whitespace()
                .map(|p| Cow::Owned(p.to_string()))
                .collect(),
            None => vec![Cow::Borrowed("consent")],
        };
        if let Some(c) = client.clone() {
            ev.resources.push(ResourceDetails {
                name: Some(c),
                type_: Some(Cow::Borrowed("Client")),
                ..Default::default()
            });
        }
    } else if let Some(c) = client.clone() {
        ev.unmapped()
            .insert("client_id".into(), Value::String(c.into_owned()));
    }
    if activity == 9 {
        ev.set_severity(severity::MEDIUM);
    }
    set_outcome(&mut ev, Some(!failed));
    if failed {
        if ev.severity_id == Some(severity::INFORMATIONAL) {
            ev.set_severity(severity::LOW);
        }
        ev.status_code = kc.error.clone();
        ev.status_detail = kc.error.take();
    }
    let mut details = Map::new();
    if let Some(c) = cred {
        details.insert("credential_type".into(), Value::String(c.into_owned()));
    }
    for (k, v) in kc.details {
        details.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    if let Some(r) = kc.realm_name {
        ev.unmapped()
            .insert("realm_name".into(), Value::String(r.into_owned()));
    }
    if let Some(h) = kc.host {
        ev.unmapped()
            .insert("host".into(), Value::String(h.into_owned()));
    }
    if !details.is_empty() {
        ev.unmapped()
            .insert("details".into(), Value::Object(details));
    }
    ev
}

/// The id after `kind/` in an admin resource path (`users/<id>/...`).
fn path_id<'p>(path: &'p str, kind: &str) -> Option<&'p str> {
    let mut parts = path.split('/');
    while let Some(p) = parts.next() {
        if p == kind {
            return parts.next().filter(|s| !s.is_empty());
        }
    }
    None
}

pub(super) fn admin_event<'a>(o: &mut Obj<'a>, raw: Option<&'a str>, opts: &Options) -> Event<'a> {
    let time_raw = o.raw("time");
    let time = time_raw
        .and_then(json::raw_i64)
        .or_else(|| {
            time_raw
                .and_then(json::raw_str)
                .and_then(|s| json::time_ms(&s))
        })
        .unwrap_or(opts.reference_time_ms);
    let op = o.str("operationType").unwrap_or(Cow::Borrowed("UNKNOWN"));
    let rt = o.str("resourceType").unwrap_or(Cow::Borrowed("UNKNOWN"));
    let path = o.str("resourcePath").unwrap_or_default();
    let representation = o.str("representation");
    let rep: Option<Value> = representation
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let error = o.str("error");
    let user_id = path_id(&path, "users").map(str::to_string);
    let group_id = path_id(&path, "groups").map(str::to_string);
    let role_names = || -> Vec<Str<'a>> {
        match &rep {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|r| r.get("name").and_then(Value::as_str))
                .map(|s| Cow::Owned(s.to_string()))
                .collect(),
            _ => Vec::new(),
        }
    };
    let rep_str = |k: &str| -> Option<Str<'a>> {
        rep.as_ref()
            .and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .map(|s| Cow::Owned(s.to_string()))
    };
    let target_user = || {
        let mut u = User {
            uid: user_id.clone().map(Cow::Owned),
            name: rep_str("username"),
            ..Default::default()
        };
        if u.uid.is_none() && u.name.is_none() {
            u.name = Some(Cow::Borrowed("unknown"));
        }
        u
    };
    let op_s = op.as_ref();
    let rt_s = rt.as_ref();
    let mut ev = match (rt_s, op_s) {
        ("USER", "CREATE" | "DELETE" | "UPDATE" | "ACTION") => {
            let (activity, label) = match op_s {
                "CREATE" => (1, ""),
                "DELETE" => (6, ""),
                "ACTION" if path.ends_with("reset-password") => (4, ""),
                "ACTION" if path.ends_with("logout") => (99, "Logout Sessions"),
                "ACTION" => (99, "Action"),
                _ => (99, "Update"),
            };
            let mut ev = base(&ACCOUNT_CHANGE, activity, time, raw);
            if activity == 99 {
                other_activity(&mut ev, label);
            }
            ev.user = Some(Box::new(target_user()));
            ev
        }
        ("GROUP_MEMBERSHIP", "CREATE" | "DELETE") => {
            let mut ev = base(
                &GROUP_MANAGEMENT,
                if op_s == "CREATE" { 3 } else { 4 },
                time,
                raw,
            );
            ev.user = Some(Box::new(target_user()));
            ev.group = Some(Box::new(Group {
                uid: group_id.clone().map(Cow::Owned).or_else(|| rep_str("id")),
                name: rep_str("name").or_else(|| rep_str("path")),
                ..Default::default()
            }));
            ev
        }
        ("REALM_ROLE_MAPPING" | "CLIENT_ROLE_MAPPING", "CREATE" | "DELETE") => {
            let grant = op_s == "CREATE";
            let mut privileges = role_names();
            if privileges.is_empty() {
                privileges.push(Cow::Owned(path.to_string()));
            }
            let mut ev = if user_id.is_none() && group_id.is_some() {
                let mut ev = base(&GROUP_MANAGEMENT, if grant { 1 } else { 2 }, time, raw);
                ev.group = Some(Box::new(Group {
                    uid: group_id.clone().map(Cow::Owned),
                    ..Default::default()
                }));
                ev
            } else {
                let mut ev = base(&USER_ACCESS, if grant { 1 } else { 2 }, time, raw);
                ev.user = Some(Box::new(target_user()));
                ev
            };
            ev.privileges = privileges;
            ev.set_severity(severity::MEDIUM);
            ev
        }
        ("GROUP", "CREATE" | "DELETE") => {
            let mut ev = base(
                &GROUP_MANAGEMENT,
                if op_s == "CREATE" { 6 } else { 5 },
                time,
                raw,
            );
            ev.group = Some(Box::new(Group {
                uid: group_id.clone().map(Cow::Owned).or_else(|| rep_str("id")),
                name: rep_str("name").or(Some(Cow::Borrowed("unknown"))),
                ..Default::default()
            }));
            ev
        }
        _ => {
            let activity = match op_s {
                "CREATE" => 1,
                "UPDATE" => 3,
                "DELETE" => 4,
                _ => 99,
            };
            let mut ev = base(&ENTITY_MANAGEMENT, activity, time, raw);
            if activity == 99 {
                other_activity(&mut ev, Cow::Owned(op_s.to_string()));
            }
            ev.entity = Some(Box::new(ManagedEntity {
                uid: Some(if path.is_empty() {
                    Cow::Borrowed("unknown")
                } else {
                    path.clone()
                }),
                name: rep_str("name")
                    .or_else(|| rep_str("clientId"))
                    .or_else(|| rep_str("alias")),
                type_: Some(Cow::Owned(rt_s.to_string())),
                ..Default::default()
            }));
            ev
        }
    };
    let meta = ev.meta();
    meta.log_name = Some(Cow::Borrowed("admin-events"));
    meta.event_code = Some(Cow::Owned(format!("{rt_s}:{op_s}")));
    meta.original_time = time_raw.and_then(json::raw_str);
    meta.uid = o.str("id");
    meta.tenant_uid = o.str("realmId");
    if let Some(mut auth) = o.obj("authDetails") {
        let mut u = User {
            uid: auth.str("userId"),
            ..Default::default()
        };
        set_user_type(&mut u, user_type::ADMIN);
        let app = auth.str("clientId");
        let has_user = u.uid.is_some();
        if has_user || app.is_some() {
            ev.actor = Some(Box::new(Actor {
                user: has_user.then(|| Box::new(u)),
                app_name: app,
                ..Default::default()
            }));
        }
        if let Some(ip) = auth.str("ipAddress") {
            ev.src_endpoint = Some(Box::new(endpoint(ip)));
        }
        auth.skip("realmId");
        auth.keep(&mut ev, "authDetails");
    }
    set_outcome(&mut ev, Some(error.is_none()));
    if let Some(e) = error {
        ev.status_detail = Some(e);
    }
    let um = ev.unmapped();
    um.insert("resource_path".into(), Value::String(path.into_owned()));
    if let Some(r) = rep {
        um.insert("representation".into(), r);
    } else if let Some(r) = representation {
        um.insert("representation".into(), Value::String(r.into_owned()));
    }
    ev
}

/// A server log line that is not an event (start-up, diagnostics).
pub(super) fn server_line<'a>(
    line: &LogLine<'a>,
    time: i64,
    original: Str<'a>,
    raw: Option<&'a str>,
) -> Event<'a> {
    let msg = line.message;
    let (code, text) = match msg.split_once(": ") {
        Some((c, t))
            if !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') =>
        {
            (Some(c), t)
        }
        _ => (None, msg),
    };
    let mut ev = if code == Some("KC-SERVICES0009") {
        // "Added user 'admin' to realm 'master'"
        let mut q = text.split('\'');
        let user = q.nth(1);
        let realm = q.nth(1);
        let mut ev = base(&ACCOUNT_CHANGE, 1, time, raw);
        let mut u = User {
            name: Some(Cow::Borrowed(user.unwrap_or("unknown"))),
            ..Default::default()
        };
        set_user_type(&mut u, user_type::ADMIN);
        ev.user = Some(Box::new(u));
        ev.meta().tenant_uid = realm.map(Cow::Borrowed);
        set_outcome(&mut ev, Some(true));
        ev
    } else {
        let mut ev = base(&BASE_EVENT, 99, time, raw);
        other_activity(&mut ev, "Log");
        ev.set_severity(match line.level {
            "ERROR" | "FATAL" | "SEVERE" => severity::MEDIUM,
            "WARN" | "WARNING" => severity::LOW,
            _ => severity::INFORMATIONAL,
        });
        ev
    };
    ev.message = Some(Cow::Borrowed(msg));
    let meta = ev.meta();
    meta.log_name = Some(Cow::Borrowed("server"));
    meta.log_level = Some(Cow::Borrowed(line.level));
    if !line.logger.is_empty() {
        meta.log_provider = Some(Cow::Borrowed(line.logger));
    }
    meta.event_code = code.map(Cow::Borrowed);
    if !original.is_empty() {
        meta.original_time = Some(original);
    }
    if !line.thread.is_empty() {
        ev.unmapped()
            .insert("thread".into(), Value::String(line.thread.to_string()));
    }
    ev
}
