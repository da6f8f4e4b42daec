//! Entra sign-in / risk records → OCSF 1.8.0.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ms::{self, Rec};
use super::product;
use crate::common::jtree::J;
use crate::ocsf::{
    enum_caption, status, Actor, AuthFactor, Authorization, AutonomousSystem, Device, Event,
    Evidences, FindingInfo, HttpRequest, Idp, NetworkEndpoint, Os, Policy, Service, Session, Str,
    User, AUTHENTICATION, BASE_EVENT, DETECTION_FINDING,
};
use crate::Options;

const TIME_KEYS: &[&str] = &[
    "createdDateTime",
    "activityDateTime",
    "detectedDateTime",
    "time",
    "TimeGenerated",
];

/// Payload keys the mapping turns into OCSF attributes (the rest goes
/// under `unmapped.entra`).
const SIGNIN_MAPPED: &[&str] = &[
    "id",
    "createdDateTime",
    "userDisplayName",
    "userPrincipalName",
    "userId",
    "userType",
    "appId",
    "appDisplayName",
    "ipAddress",
    "status",
    "userAgent",
    "deviceDetail",
    "location",
    "correlationId",
    "appliedConditionalAccessPolicies",
    "isInteractive",
    "riskDetail",
    "riskLevelAggregated",
    "resourceDisplayName",
    "resourceId",
    "homeTenantId",
    "resourceTenantId",
    "authenticationDetails",
    "authenticationRequirement",
    "servicePrincipalId",
    "servicePrincipalName",
    "autonomousSystemNumber",
    "authenticationProtocol",
    "sessionId",
    "tokenIssuerName",
    "tokenIssuerType",
    "mfaDetail",
];

/// Envelope keys taken into OCSF attributes.
const ENVELOPE_MAPPED: &[&str] = &[
    "time",
    "properties",
    "category",
    "tenantId",
    "operationName",
    "callerIpAddress",
    "correlationId",
    "resultType",
    "resultDescription",
];

pub(super) fn map<'a>(j: &J<'a>, record: &'a [u8], opts: &Options) -> Option<Event<'a>> {
    let r = Rec::new(j);
    let category = r
        .env("category")
        .text()
        .or_else(|| r.env("Category").text());
    let is_signin = r.get("userPrincipalName").text().is_some()
        || r.get("servicePrincipalId").text().is_some()
        || r.get("createdDateTime").text().is_some()
        || r.get("appId").text().is_some();
    let is_risk = r.get("riskEventType").text().is_some()
        || category
            .as_deref()
            .is_some_and(|c| c.starts_with("Risky") || c == "UserRiskEvents");
    let mut ev = if is_risk {
        risk_detection(&r, category.clone(), opts)
    } else if is_signin
        || category
            .as_deref()
            .is_some_and(|c| c.ends_with("SignInLogs"))
    {
        sign_in(&r, category.clone(), opts)
    } else if r.azure || r.text("operationName").is_some() {
        let mut ev = other(&r, category.clone(), opts);
        ms::mark_fallback(&mut ev);
        ev
    } else {
        return None;
    };
    if r.azure {
        ms::keep(&mut ev, "azure", r.top.rest(ENVELOPE_MAPPED));
    }
    if opts.raw_data {
        ev.raw_data = Some(String::from_utf8_lossy(record));
    }
    Some(ev)
}

fn tenant<'a>(r: &Rec<'_, 'a>) -> Option<Str<'a>> {
    r.env("tenantId")
        .text()
        .or_else(|| r.first(&["resourceTenantId", "homeTenantId", "tenantId"]))
}

fn factor<'a>(method: &str) -> Option<AuthFactor<'a>> {
    let m = method.to_ascii_lowercase();
    let id = if m.contains("password") && !m.contains("passwordless") {
        11
    } else if m.contains("text message") || m == "sms" || m.contains("sms ") {
        1
    } else if m.contains("phone call") || m.contains("voice") {
        3
    } else if m.contains("notification") || m.contains("passwordless") || m.contains("push") {
        5
    } else if m.contains("verification code") || m.contains("oath") || m.contains("otp") {
        7
    } else if m.contains("fido") || m.contains("passkey") {
        10
    } else if m.contains("windows hello") || m.contains("biometric") {
        4
    } else if m.contains("email") {
        8
    } else if m.contains("certificate") || m.contains("hardware") {
        6
    } else if m.is_empty() || m.contains("previously satisfied") {
        return None;
    } else {
        99
    };
    Some(AuthFactor {
        factor_type_id: Some(id),
        factor_type: enum_caption(
            "auth_factor",
            "factor_type_id",
            id,
            Some(Cow::Owned(method.to_string())),
        ),
        is_totp: (id == 7).then_some(true),
        provider: Some(Cow::Borrowed("Microsoft Entra ID")),
        ..Default::default()
    })
}

fn auth_protocol(p: &str) -> Option<(i32, Str<'static>)> {
    let id = match p.to_ascii_lowercase().as_str() {
        "none" | "" => return None,
        "oauth2" | "ropc" | "devicecode" => 6,
        "saml20" => 5,
        "kerberos" => 2,
        "ntlm" => 1,
        _ => 99,
    };
    Some((id, Cow::Owned(p.to_string())))
}

fn sign_in<'a>(r: &Rec<'_, 'a>, category: Option<Str<'a>>, opts: &Options) -> Event<'a> {
    let (time, original) = ms::time(r, TIME_KEYS, opts);
    let mut ev = Event::new(&AUTHENTICATION, 1, time);
    let log_name = category.clone().unwrap_or(Cow::Borrowed("SignInLogs"));
    ms::metadata(
        &mut ev,
        product(),
        log_name.clone(),
        original,
        r.text("id"),
        r.env("operationName").text().or(Some(log_name.clone())),
        tenant(r),
        r.text("correlationId"),
    );

    // Who signed in: a user, or a service principal / managed identity.
    let sp_only = r.text("userPrincipalName").is_none()
        && r.text("userId").is_none()
        && r.text("servicePrincipalId").is_some();
    let user = if sp_only {
        ms::user(
            r.text("servicePrincipalId"),
            None,
            r.first(&["servicePrincipalName", "appDisplayName"]),
            Some(4),
            None,
        )
        .map(|mut u| {
            u.name = u.display_name.clone().or(u.uid.clone());
            u
        })
    } else {
        let ut = r.get("userType").str();
        let (tid, tlabel) = ms::user_type(ut);
        ms::user(
            r.text("userId"),
            r.text("userPrincipalName"),
            r.text("userDisplayName"),
            tid,
            tlabel,
        )
    };
    ev.user = Some(Box::new(user.unwrap_or_else(|| User {
        name: r.env("identity").text().or(Some(Cow::Borrowed("unknown"))),
        ..Default::default()
    })));

    // The client app that asked for the token, and the IdP.
    let idp = Idp {
        name: r
            .text("tokenIssuerName")
            .or(Some(Cow::Borrowed("Microsoft Entra ID"))),
        protocol_name: r.text("authenticationProtocol").filter(|p| p != "none"),
        tenant_uid: tenant(r),
        ..Default::default()
    };
    ev.actor = Some(Box::new(Actor {
        app_name: r.text("appDisplayName"),
        app_uid: r.text("appId"),
        idp: Some(Box::new(idp)),
        ..Default::default()
    }));
    // The resource signed in to.
    let svc = Service {
        name: r
            .text("resourceDisplayName")
            .or_else(|| r.text("appDisplayName"))
            .or(Some(Cow::Borrowed("Microsoft Entra ID"))),
        uid: r
            .text("resourceId")
            .filter(|_| r.text("resourceDisplayName").is_some()),
        ..Default::default()
    };
    ev.service = Some(Box::new(svc));

    // Where from.
    let ip = ms::ip(r.text("ipAddress")).or_else(|| ms::ip(r.env("callerIpAddress").text()));
    let mut ep = NetworkEndpoint {
        ip,
        location: ms::location(r.get("location")).map(Box::new),
        ..Default::default()
    };
    let asn = r.get("autonomousSystemNumber").i64();
    ep.autonomous_system = AutonomousSystem::of(asn, None);
    let dd = r.get("deviceDetail");
    let dev = device(dd);
    if dev.is_none() {
        // Unregistered devices (most attacker sign-ins) have no id or
        // name, only the OS the sign-in came from.
        ep.os = dd.get("operatingSystem").text().map(|n| Box::new(os(n)));
    }
    if ep.ip.is_some() {
        ev.src_endpoint = Some(Box::new(ep));
    }
    if let Some(ua) = r.text("userAgent") {
        ev.http_request = Some(Box::new(HttpRequest {
            user_agent: Some(ua),
            ..Default::default()
        }));
    }
    if let Some(d) = dev {
        ev.device = Some(Box::new(d));
        ev.meta().profiles.push(Cow::Borrowed("host"));
    }
    // What `device` does not take (browser, trustType) stays visible.
    let device_rest = dd.rest(&[
        "deviceId",
        "displayName",
        "operatingSystem",
        "isCompliant",
        "isManaged",
    ]);

    // Outcome: errorCode 0 is success; anything else is the AADSTS code.
    let st = r.get("status");
    let code = st
        .get("errorCode")
        .i64()
        .or_else(|| r.env("resultType").i64());
    match code {
        Some(0) => ev.set_status(status::SUCCESS, None),
        Some(c) => {
            ev.set_status(status::FAILURE, None);
            ev.status_code = Some(Cow::Owned(c.to_string()));
        }
        None => {}
    }
    ev.status_detail = st
        .get("failureReason")
        .text()
        .filter(|_| code != Some(0))
        .or_else(|| st.get("additionalDetails").text())
        .or_else(|| r.env("resultDescription").text());

    // MFA, factors, protocol, logon type, session.
    match r.get("authenticationRequirement").str() {
        Some("multiFactorAuthentication") => ev.is_mfa = Some(true),
        Some("singleFactorAuthentication") => ev.is_mfa = Some(false),
        _ => {}
    }
    for step in r.get("authenticationDetails").arr() {
        if let Some(f) = step.get("authenticationMethod").str().and_then(factor) {
            if !ev
                .auth_factors
                .iter()
                .any(|g| g.factor_type == f.factor_type)
            {
                ev.auth_factors.push(f);
            }
        }
    }
    if let Some(f) = r.get("mfaDetail").get("authMethod").str().and_then(factor) {
        if !ev
            .auth_factors
            .iter()
            .any(|g| g.factor_type == f.factor_type)
        {
            ev.auth_factors.push(f);
        }
    }
    if let Some((id, label)) = r
        .get("authenticationProtocol")
        .str()
        .and_then(auth_protocol)
    {
        ev.auth_protocol_id = Some(id);
        ev.auth_protocol = enum_caption("authentication", "auth_protocol_id", id, Some(label));
    }
    let interactive = r.get("isInteractive").bool().or(match category.as_deref() {
        Some("SignInLogs") => Some(true),
        Some(c) if c.contains("NonInteractive") => Some(false),
        _ => None,
    });
    if sp_only {
        ev.logon_type_id = Some(99);
        ev.logon_type = Some(Cow::Borrowed("Service Principal"));
    } else if let Some(i) = interactive {
        let (id, label) = if i {
            (2, None)
        } else {
            (99, Some(Cow::Borrowed("Non-Interactive")))
        };
        ev.logon_type_id = Some(id);
        ev.logon_type = enum_caption("authentication", "logon_type_id", id, label);
    }
    if let Some(sid) = r.text("sessionId") {
        ev.session = Some(Box::new(Session {
            uid: Some(sid),
            ..Default::default()
        }));
    }

    // Conditional access: the policies that applied, as authorizations.
    let mut security_control = false;
    for pol in r.get("appliedConditionalAccessPolicies").arr() {
        let result = pol.get("result").str().unwrap_or("");
        if matches!(result, "notApplied" | "notEnabled" | "") {
            continue;
        }
        let mut data = Map::new();
        for k in ["enforcedGrantControls", "enforcedSessionControls"] {
            if !pol.get(k).is_empty() {
                data.insert(k.into(), pol.get(k).to_value());
            }
        }
        ev.authorizations.push(Authorization {
            decision: pol.get("result").text(),
            policy: Some(Box::new(Policy {
                name: pol.get("displayName").text(),
                uid: pol.get("id").text(),
                is_applied: Some(true),
                data: (!data.is_empty()).then(|| Value::Object(data).into()),
                ..Default::default()
            })),
            ..Default::default()
        });
        security_control = true;
    }
    // Risk.
    if let Some(level) = r.get("riskLevelAggregated").str() {
        if let Some(id) = ms::risk_level_id(level) {
            ev.risk_level_id = Some(id);
            ev.risk_level = enum_caption("authentication", "risk_level_id", id, None);
            security_control = true;
        }
    }
    if let Some(d) = r.text("riskDetail").filter(|d| d != "none") {
        ev.risk_details = Some(d);
        security_control = true;
    }
    if security_control {
        ev.meta().profiles.push(Cow::Borrowed("security_control"));
    }
    let mut rest = match r.p.rest(SIGNIN_MAPPED) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(d) = device_rest {
        rest.insert("deviceDetail".into(), d);
    }
    if let Some(n) = asn.filter(|&n| !AutonomousSystem::fits(n)) {
        rest.insert("autonomousSystemNumber".into(), n.into());
    }
    // A guest's home tenant differs from the tenant signed in to (which is
    // tenant_uid): keep it, it is what tells an outside identity.
    let tenant_uid = tenant(r);
    for k in ["homeTenantId", "resourceTenantId"] {
        if let Some(t) = r.text(k).filter(|t| Some(t) != tenant_uid.as_ref()) {
            rest.insert(k.into(), Value::String(t.into_owned()));
        }
    }
    if !rest.is_empty() {
        ev.unmapped().insert("entra".into(), Value::Object(rest));
    }
    ev
}

/// `deviceDetail.operatingSystem` ("Windows10", "MacOs", "Ios", …).
fn os(n: Str<'_>) -> Os<'_> {
    let lower = n.to_ascii_lowercase();
    let id = if lower.starts_with("windows") {
        100
    } else if lower.starts_with("mac") {
        300
    } else if lower.starts_with("ios") {
        301
    } else if lower.starts_with("android") {
        201
    } else if lower.starts_with("linux") {
        200
    } else {
        0
    };
    Os {
        name: Some(n),
        type_id: Some(id),
        type_: enum_caption("os", "type_id", id, None),
        ..Default::default()
    }
}

fn device<'a>(d: &J<'a>) -> Option<Device<'a>> {
    if !d.is_obj() {
        return None;
    }
    let uid = d.get("deviceId").text();
    let name = d.get("displayName").text();
    if uid.is_none() && name.is_none() {
        return None;
    }
    let os = d.get("operatingSystem").text().map(|n| Box::new(os(n)));
    Some(Device {
        uid,
        name,
        type_id: Some(0),
        type_: enum_caption("device", "type_id", 0, None),
        os,
        is_compliant: d.get("isCompliant").bool(),
        is_managed: d.get("isManaged").bool(),
        ..Default::default()
    })
}

/// An Identity Protection risk detection → Detection Finding.
fn risk_detection<'a>(r: &Rec<'_, 'a>, category: Option<Str<'a>>, opts: &Options) -> Event<'a> {
    let (time, original) = ms::time(r, TIME_KEYS, opts);
    let mut ev = Event::new(&DETECTION_FINDING, 1, time);
    let log_name = category.clone().unwrap_or(Cow::Borrowed("RiskDetections"));
    ms::metadata(
        &mut ev,
        product(),
        log_name.clone(),
        original,
        r.text("id"),
        r.env("operationName").text().or(Some(log_name)),
        tenant(r),
        r.text("correlationId"),
    );
    let title = r.first(&["riskEventType", "riskType"]);
    ev.finding_info = Some(Box::new(FindingInfo {
        uid: r
            .text("id")
            .or_else(|| r.env("correlationId").text())
            .or(Some(Cow::Borrowed("unknown"))),
        title: title.clone(),
        types: title.into_iter().collect(),
        ..Default::default()
    }));
    if let Some(id) = r.get("riskLevel").str().and_then(ms::risk_level_id) {
        ev.risk_level_id = Some(id);
        ev.risk_level = enum_caption("detection_finding", "risk_level_id", id, None);
    }
    ev.risk_details = r.text("riskDetail").filter(|d| d != "none");
    let (tid, tlabel) = ms::user_type(r.get("userType").str());
    let user = ms::user(
        r.text("userId"),
        r.text("userPrincipalName"),
        r.text("userDisplayName"),
        tid,
        tlabel,
    );
    let ip = ms::ip(r.text("ipAddress")).or_else(|| ms::ip(r.env("callerIpAddress").text()));
    let ep = ip.map(|ip| NetworkEndpoint {
        ip: Some(ip),
        location: ms::location(r.get("location")).map(Box::new),
        ..Default::default()
    });
    if user.is_some() || ep.is_some() {
        ev.evidences.push(Evidences {
            user: user.map(Box::new),
            src_endpoint: ep.map(Box::new),
            ..Default::default()
        });
    }
    ev.message = r.env("operationName").text();
    let skip = [
        "id",
        "riskEventType",
        "riskType",
        "riskLevel",
        "riskDetail",
        "userId",
        "userPrincipalName",
        "userDisplayName",
        "userType",
        "ipAddress",
        "location",
        "correlationId",
        "activityDateTime",
        "detectedDateTime",
    ];
    if let Some(rest) = r.p.rest(&skip) {
        ev.unmapped().insert("entra".into(), rest);
    }
    ev
}

/// A record of a category this source does not map yet: Base Event with
/// the payload under `unmapped.entra`.
fn other<'a>(r: &Rec<'_, 'a>, category: Option<Str<'a>>, opts: &Options) -> Event<'a> {
    let (time, original) = ms::time(r, TIME_KEYS, opts);
    let mut ev = Event::new(&BASE_EVENT, 99, time);
    let op = r.env("operationName").text();
    crate::common::jtree::set_other_activity(&mut ev, op.clone().unwrap_or(Cow::Borrowed("Other")));
    ms::metadata(
        &mut ev,
        product(),
        category.unwrap_or(Cow::Borrowed("SignInLogs")),
        original,
        r.text("id"),
        op,
        tenant(r),
        r.text("correlationId"),
    );
    if let Some(rest) = r.p.rest(&[]) {
        ev.unmapped().insert("entra".into(), rest);
    }
    ev
}
