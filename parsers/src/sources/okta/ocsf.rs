//! Okta LogEvent → OCSF 1.8.0.

use std::borrow::Cow;

use serde_json::json;

use super::{product, LogEvent, Principal, LOG_NAME};
use crate::common::jtree::{is_email, is_ip, parse_time_ms, Text, J};
use crate::ocsf::{
    enum_caption, status, Actor, AuthFactor, AutonomousSystem, ClassInfo, Device, Event, Group,
    HttpRequest, Location, ManagedEntity, NetworkEndpoint, Os, Policy, ResourceDetails, Service,
    Session, Str, Url, User, ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION, BASE_EVENT,
    ENTITY_MANAGEMENT, GROUP_MANAGEMENT, USER_ACCESS,
};
use crate::Options;

/// What an `eventType` becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Authentication (3002) with this activity.
    Auth(i32),
    /// Authentication, activity Other with this label.
    AuthOther(&'static str),
    /// Account Change (3001).
    Account(i32),
    /// Group Management (3006).
    Group(i32),
    /// User Access Management (3005): roles / admin privileges.
    Access(i32),
    /// User Access Management (3005): OAuth consent (scopes).
    Consent(i32),
    /// Entity Management (3004).
    Entity(i32),
    /// API Activity (6003).
    Api(i32),
    /// Not mapped yet: closest generic class, flagged as fallback.
    Unknown,
}

/// The class and activity of an `eventType`.
pub(super) fn classify(t: &str) -> Kind {
    use Kind::*;
    match t {
        "user.session.start" | "user.session.access_admin_app" => Auth(1),
        "user.session.end" | "user.session.clear" | "user.session.expire" => Auth(2),
        "user.session.impersonation.initiate" | "user.session.impersonation.grant" => Auth(7),
        "policy.evaluate_sign_on" => AuthOther("Sign-On Policy Evaluation"),
        "user.mfa.attempt_bypass" => AuthOther("MFA Bypass Attempt"),
        // A factor challenge sent to the user (push, SMS, call): the step
        // MFA-fatigue detections count.
        "system.push.send_factor_verify_push"
        | "system.sms.send_factor_verify_message"
        | "system.voice.send_factor_verify_call" => AuthOther("MFA Challenge Sent"),
        "user.account.lock" | "user.account.lock.limit" => Account(9),
        "user.account.unlock" | "user.account.unlock_by_admin" => Account(12),
        "user.account.update_password" => Account(3),
        "user.account.reset_password" | "user.account.expire_password" => Account(4),
        "user.lifecycle.create" => Account(1),
        "user.lifecycle.activate" | "user.lifecycle.reactivate" | "user.lifecycle.unsuspend" => {
            Account(2)
        }
        "user.lifecycle.deactivate" | "user.lifecycle.suspend" => Account(5),
        "user.lifecycle.delete.initiated" | "user.lifecycle.delete.completed" => Account(6),
        "user.mfa.factor.activate" | "system.mfa.factor.activate" | "user.mfa.factor.update" => {
            Account(10)
        }
        "user.mfa.factor.deactivate"
        | "user.mfa.factor.reset_all"
        | "user.mfa.factor.suspend"
        | "system.mfa.factor.deactivate" => Account(11),
        "group.user_membership.add" => Group(3),
        "group.user_membership.remove" => Group(4),
        "group.lifecycle.create" => Group(6),
        "group.lifecycle.delete" => Group(5),
        "group.privilege.grant" => Group(1),
        "group.privilege.revoke" => Group(2),
        "user.account.privilege.grant" => Access(1),
        "user.account.privilege.revoke" => Access(2),
        "app.oauth2.as.consent.grant" | "app.oauth2.consent.grant" => Consent(1),
        "app.oauth2.as.consent.revoke" | "app.oauth2.consent.revoke" => Consent(2),
        _ if t.starts_with("user.authentication.") => Auth(1),
        _ if t.starts_with("user.mfa.okta_verify.deny_push") => Auth(1),
        _ if t.starts_with("system.api_token.") => Api(crud_activity(t)),
        _ if t.contains(".lifecycle.") => Entity(lifecycle_activity(t)),
        _ => Unknown,
    }
}

fn crud_activity(t: &str) -> i32 {
    match t.rsplit('.').next().unwrap_or("") {
        "create" => 1,
        "read" | "list" => 2,
        "update" | "enable" | "disable" => 3,
        "revoke" | "delete" => 4,
        _ => 99,
    }
}

fn lifecycle_activity(t: &str) -> i32 {
    match t.rsplit('.').next().unwrap_or("") {
        "create" | "add" => 1,
        "read" => 2,
        "update" | "overwrite" => 3,
        "delete" | "remove" => 4,
        "activate" => 10,
        "deactivate" => 11,
        "suspend" => 12,
        "unsuspend" => 13,
        _ => 99,
    }
}

fn s<'a>(t: &Option<Text<'a>>) -> Option<Str<'a>> {
    match t {
        Some(Text(v)) if !v.is_empty() && v != "null" => Some(v.clone()),
        _ => None,
    }
}

fn is_type(p: &Principal<'_>, ty: &str) -> bool {
    p.type_.as_ref().is_some_and(|t| t.as_str() == ty)
}

/// An Okta principal as an OCSF user.
fn user<'a>(p: &Principal<'a>) -> User<'a> {
    let login = s(&p.alternate_id).filter(|l| l != "unknown");
    let type_id = match p.type_.as_ref().map(Text::as_str) {
        Some("User") | Some("AppUser") => Some(1),
        Some("SystemPrincipal") => Some(3),
        _ => None,
    };
    User {
        uid: s(&p.id),
        email_addr: login.clone().filter(|l| is_email(l)),
        name: login,
        display_name: s(&p.display_name),
        type_id,
        type_: type_id.and_then(|id| enum_caption("user", "type_id", id, None)),
        ..Default::default()
    }
}

fn has_identity(u: &User<'_>) -> bool {
    u.uid.is_some() || u.name.is_some()
}

fn actor<'a>(p: &Principal<'a>) -> Actor<'a> {
    if is_type(p, "PublicClientApp") || is_type(p, "AppInstance") || is_type(p, "Client") {
        return Actor {
            app_name: s(&p.display_name).or_else(|| s(&p.alternate_id)),
            app_uid: s(&p.id),
            ..Default::default()
        };
    }
    let u = user(p);
    Actor {
        user: has_identity(&u).then(|| Box::new(u)),
        ..Default::default()
    }
}

/// The parsed `{key=value, key=value}` strings Okta writes in debugData
/// (`risk`, `behaviors`), as object members borrowing from the record.
fn braced_map<'a>(v: &Str<'a>) -> Members<'a> {
    match v {
        Cow::Borrowed(text) => braced_pairs(text),
        Cow::Owned(text) => braced_pairs(text)
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
            .collect(),
    }
}

fn braced_pairs(v: &str) -> Members<'_> {
    let inner = v.trim().trim_start_matches('{').trim_end_matches('}');
    let b = inner.as_bytes();
    let mut m: Members<'_> = Vec::with_capacity(8);
    // The parts are what `split(", ")` gives, each found with its first
    // '=' in one pass over the bytes.
    let (mut start, mut eq, mut i) = (0, None, 0);
    while i < b.len() {
        match b[i] {
            b',' if b.get(i + 1) == Some(&b' ') => {
                push_part(&mut m, &inner[start..i], eq.map(|e| e - start));
                i += 2;
                start = i;
                eq = None;
                continue;
            }
            b'=' if eq.is_none() => eq = Some(i),
            _ => {}
        }
        i += 1;
    }
    push_part(&mut m, &inner[start..], eq.map(|e| e - start));
    m
}

/// One part of a braced string, `eq` the index of its first '=': a member,
/// or (without '=') more of the previous value, since values may contain
/// commas ("reasons=Anomalous Device, New Geo").
fn push_part<'a>(m: &mut Members<'a>, part: &'a str, eq: Option<usize>) {
    match eq {
        Some(eq) => m.push((
            Cow::Borrowed(trim(&part[..eq])),
            J::Str(Cow::Borrowed(trim(&part[eq + 1..]))),
        )),
        None => {
            if let Some((_, J::Str(prev))) = m.last_mut() {
                let prev = prev.to_mut();
                prev.push_str(", ");
                prev.push_str(trim(part));
            }
        }
    }
}

/// `s.trim()`, without decoding characters when `s` starts and ends with
/// printable ASCII (as the keys and values of these strings do).
fn trim(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    let b = s.as_bytes();
    if printable(b.first()) && printable(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// In key order (stable: of equal keys the last stays last), so the object
/// is written without sorting.
fn sorted(mut m: Members<'_>) -> Members<'_> {
    m.sort_by(|a, b| key_cmp(&a.0, &b.0));
    m
}

/// `a.cmp(b)` (byte order), inline: the keys are short, and most differ
/// in their first bytes.
fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The member `key` as an object built from `m` holds it (the last one).
fn member<'m, 'a>(m: &'m Members<'a>, key: &str) -> Option<&'m J<'a>> {
    m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A non-empty string member of debugData, borrowed.
fn dbg_str<'a>(dbg: &J<'a>, key: &str) -> Option<Str<'a>> {
    match dbg.get(key) {
        J::Str(v) if !v.is_empty() => Some(v.clone()),
        _ => None,
    }
}

fn risk_level_id(level: &str) -> Option<i32> {
    let mut buf = [0u8; 16];
    match upper(level, &mut buf)? {
        "NONE" | "INFO" => Some(0),
        "LOW" => Some(1),
        "MEDIUM" => Some(2),
        "HIGH" => Some(3),
        "CRITICAL" => Some(4),
        _ => None,
    }
}

/// `s` in ASCII upper case, in `buf` (no allocation per event); `None` when
/// it does not fit, which for the fixed words it is compared with means no
/// match.
fn upper<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let b = buf.get_mut(..s.len())?;
    b.copy_from_slice(s.as_bytes());
    b.make_ascii_uppercase();
    std::str::from_utf8(b).ok()
}

/// Authentication factor from Okta's factor / credential type names.
fn factor<'a>(name: &str, provider: Option<Str<'a>>) -> Option<AuthFactor<'a>> {
    let mut buf = [0u8; 32];
    let (id, totp) = match upper(name, &mut buf).unwrap_or("?") {
        "PASSWORD" | "OKTA_PASSWORD" => (11, false),
        "SMS" | "SMS_FACTOR" => (1, false),
        "CALL" | "VOICE" | "CALL_FACTOR" => (3, false),
        "EMAIL" | "EMAIL_FACTOR" => (8, false),
        "TOTP" | "OTP" | "TOKEN:SOFTWARE:TOTP" | "GOOGLE_OTP" => (7, true),
        "TOKEN" | "TOKEN:HARDWARE" | "YUBIKEY_TOKEN" | "HOTP" => (6, false),
        "WEBAUTHN" | "FIDO" => (10, false),
        "U2F" => (9, false),
        "QUESTION" | "SECURITY_QUESTION" => (2, false),
        "OKTA_VERIFY_PUSH" | "PUSH" | "OKTA_VERIFY" | "SIGNED_NONCE" => (5, false),
        "" => return None,
        _ => (99, false),
    };
    Some(AuthFactor {
        factor_type_id: Some(id),
        factor_type: enum_caption(
            "auth_factor",
            "factor_type_id",
            id,
            (id == 99).then(|| Cow::Owned(name.to_string())),
        ),
        is_totp: totp.then_some(true),
        provider,
        ..Default::default()
    })
}

fn os_type_id(name: &str) -> i32 {
    let starts = |p: &str| {
        name.len() >= p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    if starts("windows") {
        100
    } else if starts("mac") || name.eq_ignore_ascii_case("osx") {
        300
    } else if starts("ios") {
        301
    } else if starts("ipados") {
        302
    } else if starts("android") {
        201
    } else if starts("linux") || starts("ubuntu") || starts("chrome") {
        200
    } else {
        0
    }
}

fn os<'a>(name: Str<'a>, version: Option<Str<'a>>) -> Os<'a> {
    let id = os_type_id(&name);
    Os {
        type_id: Some(id),
        type_: enum_caption("os", "type_id", id, None),
        name: Some(name),
        version,
        ..Default::default()
    }
}

/// Endpoint type from Okta's `client.device` word.
fn endpoint_type(d: &str) -> Option<i32> {
    match d {
        "Computer" => Some(2),
        "Mobile" => Some(5),
        "Tablet" => Some(4),
        _ => None,
    }
}

/// The common part of every event: metadata, time, severity, actor,
/// source endpoint, HTTP request, status. The event is the caller's: it is
/// built where it will be read, not moved there.
struct Common<'e, 'a> {
    ev: &'e mut Event<'a>,
    /// What goes under `unmapped.okta`.
    unmapped: Members<'a>,
}

/// Object members, kept borrowed until the event is written.
type Members<'a> = Vec<(Str<'a>, J<'a>)>;

/// Start `ev`, an empty event, as one of `class`.
fn base<'e, 'a>(
    e: &LogEvent<'a>,
    class: &ClassInfo,
    activity: i32,
    opts: &Options,
    ev: &'e mut Event<'a>,
) -> Common<'e, 'a> {
    let original = s(&e.published);
    let time = original
        .as_deref()
        .and_then(parse_time_ms)
        .unwrap_or(opts.reference_time_ms);
    ev.init(class, activity, time);
    let meta = ev.meta();
    meta.product = Some(Box::new(product()));
    meta.log_name = Some(Cow::Borrowed(LOG_NAME));
    meta.original_time = original;
    meta.uid = s(&e.uuid);
    meta.event_code = s(&e.event_type);
    meta.correlation_uid = e.transaction.as_ref().and_then(|t| s(&t.id));
    ev.set_severity(match e.severity.as_ref().map(Text::as_str) {
        Some("WARN") => 3,
        Some("ERROR") => 4,
        _ => 1,
    });
    ev.message = s(&e.display_message);
    Common {
        ev,
        unmapped: Vec::with_capacity(16),
    }
}

/// Status from `outcome`: SUCCESS/ALLOW → Success, FAILURE/DENY → Failure,
/// anything else (CHALLENGE, SKIPPED, UNKNOWN) → Other with Okta's word.
fn set_status<'a>(ev: &mut Event<'a>, e: &LogEvent<'a>) {
    let Some(o) = &e.outcome else { return };
    let result = s(&o.result);
    match result.as_deref() {
        Some("SUCCESS") | Some("ALLOW") => ev.set_status(status::SUCCESS, None),
        Some("FAILURE") | Some("DENY") => ev.set_status(status::FAILURE, None),
        Some(_) => ev.set_status(status::OTHER, result.clone()),
        None => {}
    }
    if let Some(reason) = s(&o.reason) {
        let code_like = reason
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit());
        if code_like {
            ev.status_code = Some(reason);
        } else {
            ev.status_detail = Some(reason);
        }
    }
}

fn src_endpoint<'a>(e: &LogEvent<'a>) -> Option<NetworkEndpoint<'a>> {
    let c = e.client.as_ref()?;
    let mut ep = NetworkEndpoint {
        ip: s(&c.ip_address).filter(|ip| is_ip(ip)),
        ..Default::default()
    };
    if let Some(g) = &c.geographical_context {
        let loc = Location {
            city: s(&g.city),
            region: s(&g.state),
            country: s(&g.country),
            postal_code: s(&g.postal_code),
            lat: g.geolocation.as_ref().and_then(|p| p.lat),
            long: g.geolocation.as_ref().and_then(|p| p.lon),
            ..Default::default()
        };
        if loc != Location::default() {
            ep.location = Some(Box::new(loc));
        }
    }
    if let Some(sc) = &e.security_context {
        ep.isp = s(&sc.isp);
        if sc.as_number.is_some() {
            ep.autonomous_system = AutonomousSystem::of(sc.as_number, s(&sc.as_org));
        }
    }
    if let Some(ua) = &c.user_agent {
        if let Some(name) = s(&ua.os).filter(|o| o != "Unknown") {
            ep.os = Some(Box::new(os(name, None)));
        }
    }
    if let Some(id) = c.device.as_ref().and_then(|d| endpoint_type(d.as_str())) {
        ep.type_id = Some(id);
        ep.type_ = enum_caption("network_endpoint", "type_id", id, None);
    }
    ep.zone = s(&c.zone);
    ep.uid = s(&c.id);
    if let Some(chain) = e.request.as_ref().and_then(|r| r.ip_chain.as_ref()) {
        for hop in chain {
            if let Some(ip) = s(&hop.ip).filter(|ip| is_ip(ip)) {
                if ep.ip.as_ref() != Some(&ip) && !ep.intermediate_ips.contains(&ip) {
                    ep.intermediate_ips.push(ip);
                }
            }
        }
    }
    let named = ep.ip.is_some() || ep.uid.is_some() || ep.zone.is_some();
    named.then_some(ep)
}

fn http_request<'a>(e: &LogEvent<'a>, dbg: &J<'a>) -> Option<HttpRequest<'a>> {
    let ua = e
        .client
        .as_ref()
        .and_then(|c| c.user_agent.as_ref())
        .and_then(|u| s(&u.raw_user_agent));
    let uri = dbg.get("requestUri").text();
    let url = dbg.get("url").text();
    let req = HttpRequest {
        user_agent: ua,
        uid: dbg.get("requestId").text(),
        url: uri.clone().or(url.clone()).map(|path| {
            let query = url
                .as_deref()
                .and_then(|u| u.split_once('?'))
                .map(|(_, q)| q)
                .filter(|q| !q.is_empty())
                .map(|q| Cow::Owned(q.to_string()));
            Box::new(Url {
                path: Some(match path {
                    Cow::Borrowed(p) => Cow::Borrowed(p.split('?').next().unwrap_or(p)),
                    Cow::Owned(p) => Cow::Owned(p.split('?').next().unwrap_or(&p).to_string()),
                }),
                query_string: query,
                ..Default::default()
            })
        }),
        ..Default::default()
    };
    (req != HttpRequest::default()).then_some(req)
}

/// debugData keys the mapping turns into OCSF attributes.
const DEBUG_MAPPED: &[&str] = &[
    "requestId",
    "requestUri",
    "url",
    "risk",
    "behaviors",
    "threatSuspected",
];

/// The members of `unmapped.okta` that come from debugData.
#[derive(Default)]
struct DebugRest<'a> {
    risk: Option<J<'a>>,
    behaviors: Option<J<'a>>,
    threat_suspected: Option<bool>,
    /// debugData without what the mapping took.
    rest: Option<J<'a>>,
}

/// Risk into the event; risk, behaviours and the rest of debugData for
/// `unmapped.okta`.
fn debug_data<'a>(c: &mut Common<'_, 'a>, dbg: &J<'a>) -> DebugRest<'a> {
    let mut out = DebugRest::default();
    if let Some(risk) = dbg_str(dbg, "risk") {
        let m = sorted(braced_map(&risk));
        if let Some(level) = member(&m, "level").and_then(J::str) {
            if let Some(id) = risk_level_id(level) {
                c.ev.risk_level_id = Some(id);
                c.ev.risk_level = enum_caption("authentication", "risk_level_id", id, None);
            }
        }
        if let Some(J::Str(reasons)) = member(&m, "reasons") {
            c.ev.risk_details = Some(reasons.clone());
        }
        out.risk = Some(J::Obj(m));
    }
    if let Some(b) = dbg_str(dbg, "behaviors") {
        out.behaviors = Some(J::Obj(sorted(braced_map(&b))));
    }
    out.threat_suspected = dbg.get("threatSuspected").bool();
    out.rest = dbg.without(DEBUG_MAPPED);
    out
}

fn session<'a>(e: &LogEvent<'a>) -> Option<Session<'a>> {
    let a = e.authentication_context.as_ref()?;
    let uid = s(&a.external_session_id).filter(|x| x != "unknown");
    let root = s(&a.root_session_id).filter(|x| x != "unknown");
    if uid.is_none() && root.is_none() {
        return None;
    }
    Some(Session {
        uid_alt: root.filter(|r| Some(r) != uid.as_ref()),
        uid,
        issuer: a.issuer.get("id").text().or_else(|| a.issuer.text()),
        ..Default::default()
    })
}

fn device<'a>(e: &LogEvent<'a>) -> Option<Device<'a>> {
    let d = &e.device;
    if !d.is_obj() {
        return None;
    }
    let dev = Device {
        uid: d.get("id").text(),
        name: d.get("name").text(),
        type_id: Some(0),
        type_: enum_caption("device", "type_id", 0, None),
        os: d
            .get("os_platform")
            .text()
            .map(|p| Box::new(os(p, d.get("os_version").text()))),
        is_managed: d.get("managed").bool(),
        ..Default::default()
    };
    (dev.uid.is_some() || dev.name.is_some()).then_some(dev)
}

/// Map one LogEvent into `ev`, an empty event.
pub(super) fn map<'a>(e: &LogEvent<'a>, record: &'a [u8], opts: &Options, ev: &mut Event<'a>) {
    let etype = e.event_type.as_ref().map(Text::as_str).unwrap_or("");
    let kind = classify(etype);
    let targets: &[Principal<'a>] = e.target.as_deref().unwrap_or(&[]);
    // Which targets a field took (the others go under `unmapped`): on the
    // stack for the usual handful.
    let mut few = [false; 16];
    let mut many = Vec::new();
    let used: &mut [bool] = if targets.len() <= few.len() {
        &mut few[..targets.len()]
    } else {
        many.resize(targets.len(), false);
        &mut many
    };
    let find = |ty: &str| targets.iter().position(|t| is_type(t, ty));
    let empty = J::Null;
    let dbg = e
        .debug_context
        .as_ref()
        .map(|d| &d.debug_data)
        .unwrap_or(&empty);
    let actor_p = e.actor.as_ref();
    let actor_obj = actor_p
        .map(actor)
        .filter(|a| a.user.is_some() || a.app_name.is_some());
    // The user the event is about: a target User, else the acting user.
    let subject = |used: &mut [bool]| -> Option<User<'a>> {
        let i = find("User");
        if let Some(i) = i {
            used[i] = true;
            return Some(user(&targets[i]));
        }
        actor_p
            .filter(|p| !is_type(p, "PublicClientApp"))
            .map(user)
            .filter(has_identity)
    };

    let (class, activity) = match kind {
        Kind::Auth(a) => (&AUTHENTICATION, a),
        Kind::AuthOther(_) => (&AUTHENTICATION, 99),
        Kind::Account(a) => (&ACCOUNT_CHANGE, a),
        Kind::Group(a) => (&GROUP_MANAGEMENT, a),
        Kind::Access(a) | Kind::Consent(a) => (&USER_ACCESS, a),
        Kind::Entity(a) => (&ENTITY_MANAGEMENT, a),
        Kind::Api(a) => (&API_ACTIVITY, a),
        Kind::Unknown => (&API_ACTIVITY, 99),
    };
    let mut c = base(e, class, activity, opts, ev);
    if let Kind::AuthOther(label) = kind {
        crate::common::jtree::set_other_activity(c.ev, label);
    }
    if activity == 99 && !matches!(kind, Kind::AuthOther(_)) {
        crate::common::jtree::set_other_activity(c.ev, Cow::Owned(etype.to_string()));
    }
    set_status(c.ev, e);
    let src = src_endpoint(e);
    let mut fallback = false;

    match kind {
        Kind::Auth(_) | Kind::AuthOther(_) => {
            let ev = &mut *c.ev;
            ev.user = subject(used).map(Box::new);
            if let Some(a) = actor_obj {
                ev.actor = Some(Box::new(a));
            }
            // The service signed in to: the target app, else Okta itself.
            let app = find("AppInstance");
            let mut svc = Service {
                name: Some(Cow::Borrowed("Okta")),
                ..Default::default()
            };
            if let Some(i) = app {
                used[i] = true;
                let t = &targets[i];
                svc = Service {
                    name: s(&t.alternate_id).or_else(|| s(&t.display_name)),
                    uid: s(&t.id),
                    ..Default::default()
                };
                if let Some(mode) = t.detail_entry.get("signOnModeType").str() {
                    let id = match mode {
                        m if m.starts_with("SAML") => 5,
                        "OPENID_CONNECT" => 4,
                        "BASIC_AUTH" => 11,
                        _ => 99,
                    };
                    ev.auth_protocol_id = Some(id);
                    ev.auth_protocol = enum_caption(
                        "authentication",
                        "auth_protocol_id",
                        id,
                        Some(Cow::Owned(mode.to_string())),
                    );
                }
            }
            ev.service = Some(Box::new(svc));
            let ac = e.authentication_context.as_ref();
            let provider = ac.and_then(|a| s(&a.authentication_provider));
            let mfa_type = etype.contains("mfa")
                || etype.contains("deny_push")
                || etype.contains("send_factor_verify");
            if let Some(f) = dbg.get("factor").str() {
                ev.auth_factors.extend(factor(f, provider.clone()));
            } else if let Some(ct) = ac.and_then(|a| s(&a.credential_type)) {
                ev.auth_factors.extend(factor(&ct, provider.clone()));
            }
            if let Some(i) = find("AuthenticatorEnrollment") {
                used[i] = true;
                let t = &targets[i];
                if ev.auth_factors.is_empty() {
                    let name = t
                        .detail_entry
                        .get("methodTypeUsed")
                        .str()
                        .or(t.display_name.as_ref().map(Text::as_str))
                        .unwrap_or("");
                    let n = name.to_ascii_uppercase().replace(' ', "_");
                    ev.auth_factors.extend(factor(&n, provider.clone()));
                }
                if let Some(f) = ev.auth_factors.first_mut() {
                    f.provider = f.provider.take().or_else(|| s(&t.display_name));
                }
            }
            if etype.starts_with("user.mfa.okta_verify.deny_push") {
                ev.auth_factors = vec![factor("OKTA_VERIFY_PUSH", provider).unwrap_or_default()];
            }
            if mfa_type {
                ev.is_mfa = Some(true);
            }
            if activity == 7 {
                ev.account_switch_type_id = Some(2);
                ev.account_switch_type =
                    enum_caption("authentication", "account_switch_type_id", 2, None);
            }
            if let Some(t) = e.transaction.as_ref().and_then(|t| s(&t.type_)) {
                let id = if t == "WEB" { 2 } else { 99 };
                ev.logon_type_id = Some(id);
                ev.logon_type = enum_caption("authentication", "logon_type_id", id, Some(t));
            }
            ev.session = session(e).map(Box::new);
            if let Some(i) = find("Rule") {
                used[i] = true;
                let t = &targets[i];
                let mut policy = Policy {
                    name: s(&t.display_name),
                    uid: s(&t.id),
                    ..Default::default()
                };
                if !t.detail_entry.is_empty() {
                    policy.data = Some(t.detail_entry.to_json());
                }
                ev.policy = Some(Box::new(policy));
            }
            if ev.user.is_none() {
                // Authentication requires a user: the acting principal.
                ev.user = Some(Box::new(User {
                    name: Some(Cow::Borrowed("unknown")),
                    ..Default::default()
                }));
            }
        }
        Kind::Account(_) => {
            c.ev.user = Some(Box::new(subject(used).unwrap_or_else(|| User {
                name: Some(Cow::Borrowed("unknown")),
                ..Default::default()
            })));
            c.ev.actor = actor_obj.map(Box::new);
            if activity == 10 || activity == 11 {
                let f = dbg
                    .get("factor")
                    .str()
                    .or_else(|| {
                        targets
                            .iter()
                            .find(|t| is_type(t, "AuthenticatorEnrollment") || is_type(t, "Factor"))
                            .and_then(|t| t.display_name.as_ref().map(Text::as_str))
                    })
                    .unwrap_or("");
                c.ev.auth_factors
                    .extend(factor(&f.to_ascii_uppercase().replace(' ', "_"), None));
            }
        }
        Kind::Group(_) => {
            let gi = find("UserGroup").or_else(|| find("Group"));
            let group = match gi {
                Some(i) => {
                    used[i] = true;
                    Group {
                        name: s(&targets[i].display_name),
                        uid: s(&targets[i].id),
                        ..Default::default()
                    }
                }
                None => Group {
                    name: Some(Cow::Borrowed("unknown")),
                    ..Default::default()
                },
            };
            c.ev.group = Some(Box::new(group));
            if let Some(i) = find("User") {
                used[i] = true;
                c.ev.user = Some(Box::new(user(&targets[i])));
            }
            c.ev.actor = actor_obj.map(Box::new);
            if activity == 1 || activity == 2 {
                c.ev.privileges = privileges(dbg, targets, used);
            }
        }
        Kind::Access(_) => {
            c.ev.user = Some(Box::new(subject(used).unwrap_or_else(|| User {
                name: Some(Cow::Borrowed("unknown")),
                ..Default::default()
            })));
            c.ev.actor = actor_obj.map(Box::new);
            c.ev.privileges = privileges(dbg, targets, used);
            if c.ev.privileges.is_empty() {
                c.ev.privileges.push(Cow::Borrowed("unknown"));
            }
        }
        Kind::Consent(_) => {
            // The user granting consent is the actor; the app and scopes are
            // the targets / debugData.grantedScopes.
            c.ev.user = Some(Box::new(
                actor_p
                    .map(user)
                    .filter(has_identity)
                    .unwrap_or_else(|| User {
                        name: Some(Cow::Borrowed("unknown")),
                        ..Default::default()
                    }),
            ));
            c.ev.actor = actor_obj.map(Box::new);
            let mut scopes: Vec<Str<'a>> = Vec::new();
            if let Some(g) = dbg.get("grantedScopes").str() {
                scopes.extend(
                    g.split([' ', ','])
                        .filter(|x| !x.is_empty())
                        .map(|x| Cow::Owned(x.to_string())),
                );
            }
            for (i, t) in targets.iter().enumerate() {
                if is_type(t, "Scope") {
                    used[i] = true;
                    if let Some(n) = s(&t.alternate_id).or_else(|| s(&t.display_name)) {
                        if !scopes.contains(&n) {
                            scopes.push(n);
                        }
                    }
                }
            }
            if scopes.is_empty() {
                scopes.push(Cow::Borrowed("unknown"));
            }
            c.ev.privileges = scopes;
            for (i, t) in targets.iter().enumerate() {
                if is_type(t, "AppInstance") {
                    used[i] = true;
                    c.ev.resources.push(ResourceDetails {
                        name: s(&t.alternate_id).or_else(|| s(&t.display_name)),
                        uid: s(&t.id),
                        type_: Some(Cow::Borrowed("AppInstance")),
                        ..Default::default()
                    });
                }
            }
        }
        Kind::Entity(_) => {
            let entity = match targets.first() {
                Some(t) => {
                    used[0] = true;
                    ManagedEntity {
                        name: s(&t.display_name).or_else(|| s(&t.alternate_id)),
                        uid: s(&t.id),
                        type_: s(&t.type_),
                        data: (!t.detail_entry.is_empty()).then(|| t.detail_entry.to_json()),
                        ..Default::default()
                    }
                }
                None => ManagedEntity {
                    name: Some(Cow::Owned(etype.to_string())),
                    ..Default::default()
                },
            };
            c.ev.entity = Some(Box::new(entity));
            c.ev.actor = actor_obj.map(Box::new);
        }
        Kind::Api(_) | Kind::Unknown => {
            fallback = kind == Kind::Unknown;
            let a = actor_obj.unwrap_or_else(|| Actor {
                app_name: Some(Cow::Borrowed("unknown")),
                ..Default::default()
            });
            c.ev.actor = Some(Box::new(a));
            c.ev.api = Some(Box::new(crate::ocsf::Api {
                operation: Some(Cow::Owned(etype.to_string())),
                ..Default::default()
            }));
            for (i, t) in targets.iter().enumerate() {
                used[i] = true;
                c.ev.resources.push(ResourceDetails {
                    name: s(&t.display_name).or_else(|| s(&t.alternate_id)),
                    uid: s(&t.id),
                    type_: s(&t.type_),
                    data: (!t.detail_entry.is_empty()).then(|| t.detail_entry.to_json()),
                    ..Default::default()
                });
            }
            c.ev.resources
                .retain(|r| r.name.is_some() || r.uid.is_some());
            if src.is_none() {
                // API Activity requires src_endpoint; without one the closest
                // valid class is the Base Event.
                *c.ev = Event::default();
                return base_fallback(e, record, opts, etype, c.ev);
            }
        }
    }

    if let Some(ep) = src {
        c.ev.src_endpoint = Some(Box::new(ep));
    }
    c.ev.http_request = http_request(e, dbg).map(Box::new);
    if let Some(d) = device(e) {
        c.ev.device = Some(Box::new(d));
        c.ev.meta().profiles.push(Cow::Borrowed("host"));
    }
    let dbg_rest = debug_data(&mut c, dbg);
    if c.ev.risk_level_id.is_some() || c.ev.risk_details.is_some() || c.ev.policy.is_some() {
        c.ev.meta().profiles.push(Cow::Borrowed("security_control"));
    }
    leftovers(&mut c, e, dbg_rest, targets, used);
    if opts.raw_data {
        c.ev.raw_data = Some(String::from_utf8_lossy(record));
    }
    finish(&mut c, fallback);
}

fn privileges<'a>(dbg: &J<'a>, targets: &[Principal<'a>], used: &mut [bool]) -> Vec<Str<'a>> {
    let mut out = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let role_like = ["ROLE", "Role", "CUSTOM_ROLE", "ResourceSet", "AdminRole"]
            .iter()
            .any(|ty| is_type(t, ty));
        if role_like {
            used[i] = true;
            if let Some(n) = s(&t.display_name).or_else(|| s(&t.alternate_id)) {
                out.push(n);
            }
        }
    }
    if out.is_empty() {
        if let Some(p) = dbg
            .get("privilegeGranted")
            .text()
            .or_else(|| dbg.get("privilegeRevoked").text())
        {
            out.extend(p.split(", ").map(|x| Cow::Owned(x.to_string())));
        }
    }
    out
}

/// Vendor fields no OCSF attribute took, as `unmapped.okta`. They are
/// pushed in key order, so [`finish`] finds them sorted.
fn leftovers<'a>(
    c: &mut Common<'_, 'a>,
    e: &LogEvent<'a>,
    dbg: DebugRest<'a>,
    targets: &[Principal<'a>],
    used: &[bool],
) {
    let u = &mut c.unmapped;
    let text = |u: &mut Members<'a>, key: &'static str, v: &Option<Text<'a>>| {
        if let Some(v) = s(v) {
            u.push((Cow::Borrowed(key), J::Str(v)));
        }
    };
    let member = |u: &mut Members<'a>, key: &'static str, v: Option<J<'a>>| {
        if let Some(v) = v {
            u.push((Cow::Borrowed(key), v));
        }
    };
    let sc = e.security_context.as_ref();
    let client = e.client.as_ref();
    if let Some(n) = sc
        .and_then(|sc| sc.as_number)
        .filter(|&n| !AutonomousSystem::fits(n))
    {
        u.push((Cow::Borrowed("as_number"), J::Num(n.into())));
    }
    if let Some(a) = &e.authentication_context {
        let mut m = Vec::new();
        text(
            &mut m,
            "authentication_provider",
            &a.authentication_provider,
        );
        if let Some(step) = a.authentication_step {
            m.push((Cow::Borrowed("authentication_step"), J::Num(step.into())));
        }
        text(&mut m, "credential_provider", &a.credential_provider);
        text(&mut m, "credential_type", &a.credential_type);
        text(&mut m, "interface", &a.interface);
        if !m.is_empty() {
            u.push((Cow::Borrowed("authentication_context"), J::Obj(m)));
        }
    }
    member(u, "behaviors", dbg.behaviors);
    if let Some(ua) = client.and_then(|c| c.user_agent.as_ref()) {
        text(u, "browser", &ua.browser);
    }
    if let Some(c) = client {
        text(u, "client_device", &c.device);
    }
    if let Some(sc) = sc {
        text(u, "client_domain", &sc.domain);
    }
    member(u, "debug_data", dbg.rest);
    member(
        u,
        "device",
        e.device
            .without(&["id", "name", "os_platform", "os_version", "managed"]),
    );
    member(u, "is_proxy", sc.and_then(|sc| sc.is_proxy).map(J::Bool));
    text(u, "legacy_event_type", &e.legacy_event_type);
    member(u, "risk", dbg.risk);
    let rest: Vec<J<'a>> = targets
        .iter()
        .zip(used)
        .filter(|(_, used)| !**used)
        .map(|(t, _)| {
            let mut m = Vec::new();
            text(&mut m, "alternateId", &t.alternate_id);
            if !t.detail_entry.is_empty() {
                m.push((Cow::Borrowed("detailEntry"), t.detail_entry.clone()));
            }
            text(&mut m, "displayName", &t.display_name);
            text(&mut m, "id", &t.id);
            text(&mut m, "type", &t.type_);
            J::Obj(m)
        })
        .collect();
    if !rest.is_empty() {
        u.push((Cow::Borrowed("target"), J::Arr(rest)));
    }
    member(u, "threat_suspected", dbg.threat_suspected.map(J::Bool));
    if let Some(t) = &e.transaction {
        if !t.detail.is_empty() {
            u.push((Cow::Borrowed("transaction_detail"), t.detail.clone()));
        }
        text(u, "transaction_type", &t.type_);
    }
}

/// Put the members gathered for `unmapped.okta` in place.
fn finish(c: &mut Common<'_, '_>, fallback: bool) {
    let okta = std::mem::take(&mut c.unmapped);
    // Sorted for sure, but cheaply when the members came in key order.
    debug_assert!(
        okta.windows(2).all(|w| key_cmp(&w[0].0, &w[1].0).is_le()),
        "unmapped.okta members out of order: {:?}",
        okta.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    if !okta.is_empty() {
        c.ev.unmapped_put("okta", J::Obj(sorted(okta)));
    }
    if fallback {
        c.ev.unmapped()
            .insert("idlink".into(), json!({ "fallback": true }));
    }
}

/// A Base Event (activity Other) for a LogEvent of an unmapped type that
/// has no source endpoint, the whole payload under `unmapped.okta`; `ev`
/// is empty.
fn base_fallback<'a>(
    e: &LogEvent<'a>,
    record: &'a [u8],
    opts: &Options,
    etype: &str,
    ev: &mut Event<'a>,
) {
    let mut c = base(e, &BASE_EVENT, 99, opts, ev);
    crate::common::jtree::set_other_activity(c.ev, Cow::Owned(etype.to_string()));
    set_status(c.ev, e);
    if let Ok(j) = J::parse(record) {
        if let Some(v) = j.without(&[]) {
            c.unmapped.push((Cow::Borrowed("event"), v));
        }
    }
    if opts.raw_data {
        c.ev.raw_data = Some(String::from_utf8_lossy(record));
    }
    finish(&mut c, true);
}

/// A known-vendor record whose fields did not have the expected types: a
/// Base Event with the payload under `unmapped`, flagged as fallback.
pub(super) fn fallback_event<'a>(j: &J<'a>, record: &'a [u8], opts: &Options) -> Event<'a> {
    let e = LogEvent {
        uuid: j.get("uuid").text().map(Text),
        published: j.get("published").text().map(Text),
        event_type: j.get("eventType").text().map(Text),
        display_message: j.get("displayMessage").text().map(Text),
        ..Default::default()
    };
    let etype = e
        .event_type
        .as_ref()
        .map(Text::as_str)
        .unwrap_or("")
        .to_string();
    let mut ev = Event::default();
    base_fallback(&e, record, opts, &etype, &mut ev);
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify("user.session.start"), Kind::Auth(1));
        assert_eq!(classify("user.authentication.auth_via_mfa"), Kind::Auth(1));
        assert_eq!(classify("user.mfa.okta_verify.deny_push"), Kind::Auth(1));
        assert_eq!(
            classify("system.push.send_factor_verify_push"),
            Kind::AuthOther("MFA Challenge Sent")
        );
        assert_eq!(classify("user.account.reset_password"), Kind::Account(4));
        assert_eq!(classify("application.lifecycle.activate"), Kind::Entity(10));
        assert_eq!(classify("system.api_token.revoke"), Kind::Api(4));
        assert_eq!(classify("something.new"), Kind::Unknown);
    }

    #[test]
    fn key_order_is_byte_order() {
        let keys = [
            "", "a", "ab", "b", "B", "é", "e", "New IP", "New IPv6", "New", "level", "z\u{0}",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_cmp(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn braced_maps_keep_commas_in_values() {
        for text in [
            Cow::Borrowed("{reasons=Anomalous Device, New Geo, level=HIGH}"),
            Cow::Owned("{reasons=Anomalous Device, New Geo, level=HIGH}".to_string()),
        ] {
            let m = braced_map(&text);
            assert_eq!(
                member(&m, "reasons").and_then(J::str),
                Some("Anomalous Device, New Geo")
            );
            assert_eq!(member(&m, "level").and_then(J::str), Some("HIGH"));
        }
        assert!(braced_map(&Cow::Borrowed("{}")).is_empty());
        // The same parts as splitting at ", " and at the first '='.
        for text in [
            "{a=1, , b=x=y,c, d=}",
            "{=v, k=, ,, x}",
            "{ p = q , r=s}",
            "k=v",
            "{x, a=1, , , b=2, }",
            "{ä=ö, \u{a0}k\u{a0}=\u{2003}v , é=,, ,}",
            "{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=NEGATIVE, Velocity=NEGATIVE}",
            "{,=, =,}",
            "{k\u{b}=v\u{c}, x=\u{85}y, \u{1f}z=w\u{7f}}",
            "{}}",
            "",
        ] {
            let want: Vec<(String, String)> = {
                let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
                let mut w: Vec<(String, String)> = Vec::new();
                for part in inner.split(", ") {
                    match part.split_once('=') {
                        Some((k, v)) => w.push((k.trim().into(), v.trim().into())),
                        None => {
                            if let Some((_, prev)) = w.last_mut() {
                                prev.push_str(", ");
                                prev.push_str(part.trim());
                            }
                        }
                    }
                }
                w
            };
            let got: Vec<(String, String)> = braced_pairs(text)
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.str().unwrap_or("").to_string()))
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
