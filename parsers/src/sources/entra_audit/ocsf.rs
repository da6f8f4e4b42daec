//! Entra directory audits and Graph activity → OCSF 1.8.0.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::product;
use crate::common::jtree::J;
use crate::ocsf::{
    status, Actor, Api, ClassInfo, Device, Event, Group, HttpRequest, HttpResponse, ManagedEntity,
    NetworkEndpoint, ResourceDetails, Str, Url, User, ACCOUNT_CHANGE, API_ACTIVITY,
    ENTITY_MANAGEMENT, GROUP_MANAGEMENT, USER_ACCESS,
};
use crate::sources::entra_signin::ms::{self, Rec};
use crate::Options;

const TIME_KEYS: &[&str] = &["activityDateTime", "time", "TimeGenerated", "timeGenerated"];

/// What an audit activity becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Account(i32),
    Group(i32),
    /// Directory role / app role / permission grant.
    Access(i32),
    Entity(i32),
}

/// The class of an `activityDisplayName`; `None` when not even the verb is
/// known (mapped as Entity Management Other, flagged fallback).
pub(super) fn classify(name: &str) -> Option<Kind> {
    use Kind::*;
    let n = name.trim();
    let l = n.to_ascii_lowercase();
    let k = match l.as_str() {
        "add member to group" => Group(3),
        "remove member from group" => Group(4),
        "add group" => Group(6),
        "delete group" | "hard delete group" => Group(5),
        "change user password" | "change password (self-service)" => Account(3),
        "reset user password"
        | "reset password (self-service)"
        | "reset password (by admin)"
        | "set force change user password" => Account(4),
        "add user" | "invite external user" => Account(1),
        "delete user" | "hard delete user" => Account(6),
        "disable account" => Account(5),
        "enable account" | "restore user" => Account(2),
        "user registered security info"
        | "user registered all required security info"
        | "admin registered security info"
        | "user changed default security info" => Account(10),
        "user deleted security info" | "admin deleted security info" => Account(11),
        "update user" | "update stsrefreshtokenvalidfrom timestamp" => Account(99),
        "consent to application" | "consent to application." => Access(1),
        _ if l.contains("member to role")
            || l.contains("app role assignment")
            || l.contains("permission grant") =>
        {
            if l.starts_with("remove") || l.starts_with("delete") {
                Access(2)
            } else {
                Access(1)
            }
        }
        _ => Entity(verb_activity(&l)?),
    };
    Some(k)
}

fn verb_activity(l: &str) -> Option<i32> {
    let verb = l.split_whitespace().next().unwrap_or("");
    Some(match verb {
        "add" | "create" | "register" | "invite" => 1,
        "get" | "list" | "read" | "recover" | "export" => 2,
        "update" | "set" | "change" | "verify" | "reset" | "assign" => 3,
        "delete" | "remove" | "hard" | "unregister" => 4,
        "restore" | "enable" => 8,
        "disable" => 9,
        _ => return None,
    })
}

fn unquote<'a>(v: &J<'a>) -> Option<Str<'a>> {
    let s = v.text()?;
    let t = s.trim();
    if t.starts_with('"') && t.ends_with('"') && t.len() >= 2 {
        if let Ok(inner) = serde_json::from_str::<String>(t) {
            return Some(Cow::Owned(inner));
        }
    }
    Some(s)
}

/// `newValue` of the modified property `name` of a target.
fn modified<'a>(t: &J<'a>, name: &str) -> Option<Str<'a>> {
    t.get("modifiedProperties")
        .arr()
        .iter()
        .find(|m| m.get("displayName").str() == Some(name))
        .and_then(|m| unquote(m.get("newValue")))
}

fn target_user<'a>(t: &J<'a>) -> Option<User<'a>> {
    ms::user(
        t.get("id").text(),
        t.get("userPrincipalName").text(),
        t.get("displayName").text(),
        Some(1),
        None,
    )
}

fn is_type(t: &J<'_>, ty: &str) -> bool {
    t.get("type")
        .str()
        .is_some_and(|x| x.eq_ignore_ascii_case(ty))
}

fn unknown_user<'a>() -> User<'a> {
    User {
        name: Some(Cow::Borrowed("unknown")),
        ..Default::default()
    }
}

pub(super) fn map<'a>(j: &J<'a>, record: &'a [u8], opts: &Options) -> Option<Event<'a>> {
    let r = Rec::new(j);
    let category = r
        .env("category")
        .text()
        .or_else(|| r.env("Category").text());
    if category.as_deref() == Some("MicrosoftGraphActivityLogs")
        || r.text("requestMethod").is_some()
    {
        let mut ev = graph_activity(&r, opts);
        ms::keep(
            &mut ev,
            "azure",
            r.azure.then(|| r.top.rest(&["properties"])).flatten(),
        );
        if opts.raw_data {
            ev.raw_data = Some(String::from_utf8_lossy(record));
        }
        return Some(ev);
    }
    let name = r.first(&["activityDisplayName", "operationName"])?;
    let kind = classify(&name);
    let (class, activity): (&ClassInfo, i32) = match kind {
        Some(Kind::Account(a)) => (&ACCOUNT_CHANGE, a),
        Some(Kind::Group(a)) => (&GROUP_MANAGEMENT, a),
        Some(Kind::Access(a)) => (&USER_ACCESS, a),
        Some(Kind::Entity(a)) => (&ENTITY_MANAGEMENT, a),
        None => (&ENTITY_MANAGEMENT, 99),
    };
    let (time, original) = ms::time(&r, TIME_KEYS, opts);
    let mut ev = Event::new(class, activity, time);
    if activity == 99 {
        crate::common::jtree::set_other_activity(&mut ev, Cow::Owned(name.trim().to_string()));
    }
    let tenant = r
        .env("tenantId")
        .text()
        .or_else(|| r.first(&["tenantId", "AADTenantId"]));
    ms::metadata(
        &mut ev,
        product(),
        Cow::Borrowed("AuditLogs"),
        original,
        r.text("id"),
        Some(Cow::Owned(name.trim().to_string())),
        tenant,
        r.text("correlationId"),
    );
    match r
        .get("result")
        .str()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("success") => ev.set_status(status::SUCCESS, None),
        Some("failure") => ev.set_status(status::FAILURE, None),
        Some("timeout") => ev.set_status(status::OTHER, Some(Cow::Borrowed("timeout"))),
        _ => {}
    }
    ev.status_detail = r.text("resultReason");
    ev.message = Some(Cow::Owned(name.trim().to_string()));

    // Who did it.
    let by = r.get("initiatedBy").nested().into_owned();
    let by_user = by.get("user");
    let by_app = by.get("app");
    let mut actor = Actor {
        user: ms::user(
            by_user.get("id").text(),
            by_user.get("userPrincipalName").text(),
            by_user.get("displayName").text(),
            None,
            None,
        )
        .map(Box::new),
        app_name: by_app
            .get("displayName")
            .text()
            .or_else(|| by_app.get("servicePrincipalName").text()),
        app_uid: by_app
            .get("appId")
            .text()
            .or_else(|| by_app.get("servicePrincipalId").text()),
        ..Default::default()
    };
    if actor.user.is_none() && actor.app_name.is_none() && actor.app_uid.is_none() {
        actor.app_name = r.text("loggedByService");
    }
    let ip = ms::ip(by_user.get("ipAddress").text())
        .or_else(|| ms::ip(by_app.get("ipAddress").text()))
        .or_else(|| ms::ip(r.env("callerIpAddress").text()))
        .or_else(|| {
            // PIM puts the requester's address in additionalDetails.
            r.get("additionalDetails")
                .nested()
                .arr()
                .iter()
                .find(|d| {
                    d.get("key")
                        .str()
                        .is_some_and(|k| k.eq_ignore_ascii_case("ipaddress"))
                })
                .and_then(|d| ms::ip(d.get("value").text()))
                .map(|s| Cow::Owned(s.into_owned()))
        });
    if let Some(ip) = ip {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    let ua = r.text("userAgent").or_else(|| {
        r.get("additionalDetails")
            .nested()
            .arr()
            .iter()
            .find(|d| d.get("key").str() == Some("User-Agent"))
            .and_then(|d| d.get("value").text())
            .map(|s| Cow::Owned(s.into_owned()))
    });
    if let Some(ua) = ua {
        ev.http_request = Some(Box::new(HttpRequest {
            user_agent: Some(ua),
            ..Default::default()
        }));
    }

    let mut consent = Map::new();
    let targets_j = r.get("targetResources").nested().into_owned();
    let targets = targets_j.arr();
    match kind {
        Some(Kind::Account(a)) => {
            let t = targets
                .iter()
                .find(|t| is_type(t, "User"))
                .or(targets.first());
            ev.user = Some(Box::new(
                t.and_then(target_user).unwrap_or_else(unknown_user),
            ));
            if a == 10 || a == 11 {
                let method = r
                    .get("additionalDetails")
                    .nested()
                    .arr()
                    .iter()
                    .find(|d| d.get("key").str().is_some_and(|k| k.contains("Method")))
                    .and_then(|d| d.get("value").text())
                    .map(|s| s.into_owned())
                    // Authentication Methods audits name the method only in
                    // resultReason ("User registered Mobile Phone SMS").
                    .or_else(|| {
                        let why = r.text("resultReason")?;
                        ["registered ", "deleted "]
                            .iter()
                            .find_map(|k| why.split_once(k).map(|(_, m)| m.trim().to_string()))
                            .filter(|m| !m.is_empty())
                    });
                let id = method.as_deref().map(factor_id).unwrap_or(0);
                ev.auth_factors.push(crate::ocsf::AuthFactor {
                    factor_type_id: Some(id),
                    factor_type: crate::ocsf::enum_caption(
                        "auth_factor",
                        "factor_type_id",
                        id,
                        method.map(Cow::Owned),
                    ),
                    ..Default::default()
                });
            }
        }
        Some(Kind::Group(a)) => {
            let g = targets.iter().find(|t| is_type(t, "Group"));
            let member = targets.iter().find(|t| !is_type(t, "Group"));
            let mut group = Group {
                uid: g.and_then(|g| g.get("id").text()),
                name: g.and_then(|g| g.get("displayName").text()),
                ..Default::default()
            };
            if let Some(m) = member {
                group.uid = group.uid.or_else(|| modified(m, "Group.ObjectID"));
                group.name = group.name.or_else(|| modified(m, "Group.DisplayName"));
            }
            if group.uid.is_none() && group.name.is_none() {
                group.name = Some(Cow::Borrowed("unknown"));
            }
            ev.group = Some(Box::new(group));
            if let Some(m) = member {
                if is_type(m, "User") || m.get("userPrincipalName").text().is_some() {
                    ev.user = target_user(m).map(Box::new);
                } else if a == 3 || a == 4 {
                    crate::common::jtree::set_other_activity(
                        &mut ev,
                        if a == 3 {
                            "Add Member"
                        } else {
                            "Remove Member"
                        },
                    );
                    ev.resource = Some(Box::new(resource(m)));
                }
            }
        }
        Some(Kind::Access(_)) => {
            let mut privs: Vec<Str<'a>> = Vec::new();
            let mut user: Option<User<'a>> = None;
            for t in targets {
                if is_type(t, "Role") {
                    privs.extend(
                        t.get("displayName")
                            .text()
                            .map(|s| Cow::Owned(s.into_owned())),
                    );
                }
                if is_type(t, "User") && user.is_none() {
                    user = target_user(t);
                }
                // Role and app-role names are one privilege each ("Global
                // Administrator"); a grant's scope is a space-separated list.
                for key in ["Role.DisplayName", "AppRole.Value"] {
                    if let Some(v) = modified(t, key).filter(|v| !v.trim().is_empty()) {
                        privs.push(Cow::Owned(v.trim().to_string()));
                    }
                }
                if let Some(v) = modified(t, "DelegatedPermissionGrant.Scope") {
                    privs.extend(
                        v.split(' ')
                            .filter(|x| !x.is_empty())
                            .map(|x| Cow::Owned(x.to_string())),
                    );
                }
                if let Some(perms) = modified(t, "ConsentAction.Permissions") {
                    privs.extend(consent_scopes(&perms));
                }
                // The principal given the app role / grant.
                if user.is_none() {
                    if let Some(name) = modified(t, "ServicePrincipal.DisplayName") {
                        user = Some(User {
                            name: Some(Cow::Owned(name.into_owned())),
                            uid: modified(t, "ServicePrincipal.ObjectID")
                                .map(|s| Cow::Owned(s.into_owned())),
                            type_id: Some(4),
                            type_: Some(Cow::Borrowed("Service")),
                            ..Default::default()
                        });
                    }
                }
                if is_type(t, "ServicePrincipal") || is_type(t, "Application") {
                    ev.resources.push(resource(t));
                }
            }
            let mut seen = std::collections::HashSet::new();
            privs.retain(|p| seen.insert(p.clone()));
            if privs.is_empty() {
                privs.push(Cow::Owned(name.trim().to_string()));
            }
            ev.privileges = privs;
            ev.resources.retain(|x| x.name.is_some() || x.uid.is_some());
            // Consent: the consenting user is the actor.
            let user = user.or_else(|| actor.user.as_deref().cloned());
            ev.user = Some(Box::new(user.unwrap_or_else(unknown_user)));
            // Whether the consent was an admin's for the whole tenant: the
            // flags m365-audit lifts too, here under unmapped.entra.consent.
            for t in targets {
                for (key, out) in [
                    ("ConsentContext.IsAdminConsent", "is_admin_consent"),
                    ("ConsentContext.OnBehalfOfAll", "on_behalf_of_all"),
                    ("ConsentContext.IsAppOnly", "is_app_only"),
                ] {
                    if let Some(v) = modified(t, key) {
                        consent.insert(out.into(), Value::Bool(v.eq_ignore_ascii_case("true")));
                    }
                }
            }
        }
        Some(Kind::Entity(_)) | None => {
            let t = targets.first();
            let mut entity = ManagedEntity {
                uid: t.and_then(|t| t.get("id").text()),
                name: t.and_then(|t| {
                    t.get("displayName")
                        .text()
                        .or_else(|| t.get("userPrincipalName").text())
                }),
                type_: t.and_then(|t| t.get("type").text()),
                ..Default::default()
            };
            if let Some(t) = t {
                if let Some(mp) = t.get("modifiedProperties").arr().first() {
                    let _ = mp;
                    entity.data = Some(Value::Object(modified_map(t)).into());
                }
                if is_type(t, "Device") {
                    entity.device = Some(Box::new(Device {
                        uid: t.get("id").text(),
                        name: t.get("displayName").text(),
                        type_id: Some(0),
                        type_: Some(Cow::Borrowed("Unknown")),
                        ..Default::default()
                    }));
                } else if is_type(t, "User") {
                    entity.user = target_user(t).map(Box::new);
                } else if is_type(t, "Group") {
                    entity.group = Some(Box::new(Group {
                        uid: t.get("id").text(),
                        name: t.get("displayName").text(),
                        ..Default::default()
                    }));
                }
                if entity.name.is_none() && entity.uid.is_none() {
                    entity.name = modified(t, "Name");
                }
            }
            if entity.name.is_none() && entity.uid.is_none() {
                entity.name = Some(Cow::Owned(name.trim().to_string()));
            }
            ev.entity = Some(Box::new(entity));
            if kind.is_none() {
                ms::mark_fallback(&mut ev);
            }
        }
    }
    ev.actor = Some(Box::new(actor));

    // Everything else, structured: additional details as a map, the
    // targets with their modified properties, the rest of the payload.
    let mut rest = Map::new();
    if !consent.is_empty() {
        rest.insert("consent".into(), Value::Object(consent));
    }
    let details = r.get("additionalDetails").nested().into_owned();
    let mut dm = Map::new();
    for d in details.arr() {
        if let (Some(k), v) = (d.get("key").str(), d.get("value")) {
            dm.insert(k.to_string(), v.to_value());
        }
    }
    if !dm.is_empty() {
        rest.insert("additional_details".into(), Value::Object(dm));
    }
    if !targets.is_empty() {
        rest.insert("target_resources".into(), targets_j.to_value());
    }
    if !by.is_empty() {
        rest.insert("initiated_by".into(), by.to_value());
    }
    let skip = [
        "id",
        "activityDateTime",
        "activityDisplayName",
        "correlationId",
        "result",
        "resultReason",
        "initiatedBy",
        "targetResources",
        "additionalDetails",
        "tenantId",
        "userAgent",
        "Id",
        "ActivityDateTime",
        "ActivityDisplayName",
        "CorrelationId",
        "Result",
        "ResultReason",
        "InitiatedBy",
        "TargetResources",
        "AdditionalDetails",
        "TenantId",
        "UserAgent",
        "AADTenantId",
        "TimeGenerated",
    ];
    if let Some(Value::Object(m)) = r.p.rest(&skip) {
        rest.extend(m);
    }
    if !rest.is_empty() {
        ev.unmapped().insert("entra".into(), Value::Object(rest));
    }
    if r.azure {
        ms::keep(
            &mut ev,
            "azure",
            r.top.rest(&[
                "properties",
                "time",
                "tenantId",
                "correlationId",
                "callerIpAddress",
            ]),
        );
    }
    if opts.raw_data {
        ev.raw_data = Some(String::from_utf8_lossy(record));
    }
    Some(ev)
}

fn factor_id(m: &str) -> i32 {
    let m = m.to_ascii_lowercase();
    if m.contains("phone") && m.contains("sms") || m.contains("text") {
        1
    } else if m.contains("authenticator") || m.contains("push") {
        5
    } else if m.contains("fido") || m.contains("passkey") {
        10
    } else if m.contains("email") {
        8
    } else if m.contains("oath") || m.contains("totp") {
        7
    } else if m.contains("phone") {
        3
    } else if m.contains("password") {
        11
    } else {
        99
    }
}

/// Scopes in `ConsentAction.Permissions`
/// (`[] => [[Id: …, ConsentType: …, Scope: openid User.Read, …]]`).
fn consent_scopes<'a>(perms: &str) -> Vec<Str<'a>> {
    let mut out = Vec::new();
    for part in perms.split("Scope: ").skip(1) {
        let scopes = part.split([',', ']']).next().unwrap_or("");
        out.extend(
            scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(|s| Cow::Owned(s.to_string())),
        );
    }
    out
}

fn modified_map(t: &J<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    for p in t.get("modifiedProperties").arr() {
        if let Some(k) = p.get("displayName").str() {
            let mut pair = Map::new();
            if let Some(o) = unquote(p.get("oldValue")) {
                pair.insert("old".into(), Value::String(o.into_owned()));
            }
            if let Some(n) = unquote(p.get("newValue")) {
                pair.insert("new".into(), Value::String(n.into_owned()));
            }
            m.insert(k.to_string(), Value::Object(pair));
        }
    }
    m
}

fn resource<'a>(t: &J<'a>) -> ResourceDetails<'a> {
    ResourceDetails {
        uid: t.get("id").text().map(|s| Cow::Owned(s.into_owned())),
        name: t
            .get("displayName")
            .text()
            .or_else(|| t.get("userPrincipalName").text())
            .map(|s| Cow::Owned(s.into_owned())),
        type_: t.get("type").text().map(|s| Cow::Owned(s.into_owned())),
        ..Default::default()
    }
}

/// A Microsoft Graph activity log record → API Activity.
fn graph_activity<'a>(r: &Rec<'_, 'a>, opts: &Options) -> Event<'a> {
    let method = r
        .get("requestMethod")
        .str()
        .unwrap_or("")
        .to_ascii_uppercase();
    let activity = match method.as_str() {
        "POST" => 1,
        "GET" | "HEAD" => 2,
        "PUT" | "PATCH" => 3,
        "DELETE" => 4,
        _ => 99,
    };
    let (time, original) = ms::time(r, TIME_KEYS, opts);
    let mut ev = Event::new(&API_ACTIVITY, activity, time);
    if activity == 99 {
        crate::common::jtree::set_other_activity(&mut ev, Cow::Owned(method.clone()));
    }
    ms::metadata(
        &mut ev,
        product(),
        Cow::Borrowed("MicrosoftGraphActivityLogs"),
        original,
        r.text("requestId"),
        r.env("operationName").text(),
        r.first(&["tenantId"]).or_else(|| r.env("tenantId").text()),
        r.env("correlationId").text(),
    );
    let code = r.get("responseStatusCode").i64();
    match code {
        Some(c) if (200..400).contains(&c) => ev.set_status(status::SUCCESS, None),
        Some(_) => ev.set_status(status::FAILURE, None),
        None => {}
    }
    ev.status_code = code.map(|c| Cow::Owned(c.to_string()));
    let uri = r.text("requestUri");
    ev.api = Some(Box::new(Api {
        operation: Some(Cow::Owned(
            format!("{} {}", method, uri.as_deref().unwrap_or(""))
                .trim()
                .to_string(),
        )),
        version: r.text("apiVersion"),
        ..Default::default()
    }));
    let idtyp = r.get("C_Idtyp").str();
    ev.actor = Some(Box::new(Actor {
        user: r
            .text("UserPrincipalObjectID")
            .filter(|_| idtyp != Some("app"))
            .map(|uid| {
                Box::new(User {
                    uid: Some(uid),
                    type_id: Some(1),
                    type_: Some(Cow::Borrowed("User")),
                    ..Default::default()
                })
            }),
        app_uid: r.text("appId"),
        app_name: r
            .text("appId")
            .is_none()
            .then_some(Cow::Borrowed("unknown")),
        ..Default::default()
    }));
    ev.src_endpoint = Some(Box::new(NetworkEndpoint {
        ip: ms::ip(r.text("ipAddress")).or_else(|| ms::ip(r.env("callerIpAddress").text())),
        name: None,
        location: None,
        ..Default::default()
    }));
    if ev.src_endpoint.as_ref().is_some_and(|e| e.ip.is_none()) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            name: Some(Cow::Borrowed("unknown")),
            ..Default::default()
        }));
    }
    ev.http_request = Some(Box::new(HttpRequest {
        http_method: (!method.is_empty()).then(|| Cow::Owned(method.clone())),
        user_agent: r.text("userAgent"),
        uid: r.text("clientRequestId"),
        url: uri.map(|u| {
            Box::new(Url {
                url_string: Some(u),
                ..Default::default()
            })
        }),
        ..Default::default()
    }));
    if let Some(c) = code {
        ev.http_response = Some(Box::new(HttpResponse {
            code: Some(c as i32),
            length: r.get("responseSizeBytes").i64().map(|n| n as i32),
            ..Default::default()
        }));
    }
    let skip = [
        "requestMethod",
        "requestUri",
        "responseStatusCode",
        "requestId",
        "tenantId",
        "UserPrincipalObjectID",
        "appId",
        "ipAddress",
        "userAgent",
        "clientRequestId",
        "apiVersion",
        "responseSizeBytes",
    ];
    if let Some(rest) = r.p.rest(&skip) {
        ev.unmapped().insert("graph".into(), rest);
    }
    ev
}
