//! Google Workspace activity → OCSF. The table is in
//! `docs/sources/google-workspace.md`.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::{Params, LOG_NAME};
use crate::common::json::{
    self, auth_factor, is_email, mark_fallback, other_activity, set_auth_protocol, set_logon_type,
    set_outcome, set_user_type, user_named, user_type, verb_activity, Obj,
};
use crate::ocsf::{
    severity, Actor, Api, AutonomousSystem, ClassInfo, Event, Evidences, FindingInfo, Group,
    Location, NetworkEndpoint, ResourceDetails, Service, Session, Str, User, WebResource,
    ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION, DETECTION_FINDING, ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT, USER_ACCESS, WEB_RESOURCES_ACTIVITY,
};
use crate::Options;

/// What every event of one record shares.
struct Ctx<'a> {
    time: i64,
    original_time: Option<Str<'a>>,
    uid: Option<Str<'a>>,
    tenant: Option<Str<'a>>,
    app: Str<'a>,
    actor: Option<User<'a>>,
    actor_key: Option<Str<'a>>,
    src: Option<NetworkEndpoint<'a>>,
    raw: Option<&'a str>,
    /// Record members no mapping uses (kept under `unmapped`).
    rest: Map<String, Value>,
    multi: bool,
}

pub(super) fn map<'a>(
    text: &'a str,
    mut rec: Obj<'a>,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'a>),
) {
    let mut id = rec.obj("id").unwrap_or_default();
    let original_time = id.str("time");
    let time = original_time
        .as_deref()
        .and_then(json::time_ms)
        .unwrap_or(opts.reference_time_ms);
    let uid = id
        .str("uniqueQualifier")
        .or_else(|| id.str("uniqQualifier"));
    let tenant = id.str("customerId");
    let app = id
        .str("applicationName")
        .unwrap_or(Cow::Borrowed("unknown"));

    let (actor, actor_key, actor_rest) = match rec.obj("actor") {
        Some(a) => actor_user(a),
        None => (None, None, Map::new()),
    };
    let src = source(&mut rec);
    let events = match rec.raw("events") {
        Some(r) if r.get().starts_with('[') => json::raw_array(r),
        Some(r) => vec![r],
        None => Vec::new(),
    };
    let mut rest = rec.rest();
    let id_rest = id.rest();
    if !id_rest.is_empty() {
        rest.insert("id".into(), Value::Object(id_rest));
    }
    if !actor_rest.is_empty() {
        rest.insert("actor".into(), Value::Object(actor_rest));
    }
    let ctx = Ctx {
        time,
        original_time,
        uid,
        tenant,
        app,
        actor,
        actor_key,
        src,
        raw: opts.raw_data.then_some(text),
        rest,
        multi: events.len() > 1,
    };
    if events.is_empty() {
        let mut ev = api_event(&ctx, "", 99, Params::default());
        other_activity(&mut ev, "No Events");
        mark_fallback(&mut ev);
        out(&mut ev);
    }
    for (i, raw) in events.into_iter().enumerate() {
        let Some(mut e) = Obj::from_raw(raw) else {
            continue;
        };
        let name = e.str("name").unwrap_or(Cow::Borrowed(""));
        let ty = e.str("type");
        let params = Params::parse(e.raw("parameters"));
        let mut ev = map_event(&ctx, &name, ty.as_deref(), params);
        let meta = ev.meta();
        meta.event_code = Some(name);
        if ctx.multi {
            meta.sequence = Some(i as i32);
        }
        if let Some(ty) = ty {
            ev.unmapped()
                .insert("event_type".into(), Value::String(ty.into_owned()));
        }
        e.keep(&mut ev, "event");
        out(&mut ev);
    }
}

fn actor_user(mut a: Obj<'_>) -> (Option<User<'_>>, Option<Str<'_>>, Map<String, Value>) {
    let mut u = User::default();
    if let Some(email) = a.str("email") {
        if is_email(&email) {
            u.email_addr = Some(email.clone());
        }
        u.name = Some(email);
    }
    u.uid = a.str("profileId");
    let key = a.str("key");
    match a.str("callerType").as_deref() {
        Some("USER") => set_user_type(&mut u, user_type::USER),
        Some("KEY") => {
            let sys = key.as_deref() == Some("SYSTEM");
            set_user_type(
                &mut u,
                if sys {
                    user_type::SYSTEM
                } else {
                    user_type::SERVICE
                },
            );
            if u.name.is_none() {
                u.name = key.clone();
            }
        }
        _ => {}
    }
    let rest = a.rest();
    let user = (u.name.is_some() || u.uid.is_some()).then_some(u);
    (user, key, rest)
}

fn source<'a>(rec: &mut Obj<'a>) -> Option<NetworkEndpoint<'a>> {
    let ip = rec.peek_str("ipAddress").filter(|ip| json::is_ip(ip))?;
    rec.skip("ipAddress");
    let mut ep = NetworkEndpoint {
        ip: Some(ip),
        ..Default::default()
    };
    // Geo data describes the address, so it is read only when there is one.
    if let Some(mut n) = rec.obj("networkInfo") {
        let country = n.str("regionCode");
        let region = n.str("subdivisionCode");
        if country.is_some() || region.is_some() {
            ep.location = Some(Box::new(Location {
                country,
                region,
                ..Default::default()
            }));
        }
        let asn = n.array("ipAsn");
        let num = asn.first().and_then(|r| json::raw_i64(r));
        ep.autonomous_system = AutonomousSystem::of(num, None);
        if num.is_some_and(|n| !AutonomousSystem::fits(n)) {
            // The number has no place in OCSF: the whole networkInfo stays.
            rec.unuse("networkInfo");
        }
    }
    Some(ep)
}

fn base<'a>(ctx: &Ctx<'a>, class: &ClassInfo, activity: i32) -> Event<'a> {
    let mut ev = Event::new(class, activity, ctx.time);
    let meta = ev.meta();
    meta.product = Some(json::product("Google Workspace", "Google"));
    meta.log_name = Some(Cow::Borrowed(LOG_NAME));
    meta.log_provider = Some(ctx.app.clone());
    meta.original_time = ctx.original_time.clone();
    meta.uid = ctx.uid.clone();
    meta.tenant_uid = ctx.tenant.clone();
    ev.raw_data = ctx.raw.map(Cow::Borrowed);
    if !ctx.rest.is_empty() {
        let um = ev.unmapped();
        for (k, v) in &ctx.rest {
            um.insert(k.clone(), v.clone());
        }
    }
    ev
}

fn with_params<'a>(mut ev: Event<'a>, params: &Params<'a>) -> Event<'a> {
    let rest = params.rest();
    if !rest.is_empty() {
        ev.unmapped()
            .insert("parameters".into(), Value::Object(rest));
    }
    ev
}

fn actor_of<'a>(ctx: &Ctx<'a>) -> Option<Box<Actor<'a>>> {
    let user = ctx.actor.clone()?;
    Some(Box::new(Actor {
        user: Some(Box::new(user)),
        ..Default::default()
    }))
}

/// The acting user, or a user named after the caller key, or "unknown".
fn actor_as_user<'a>(ctx: &Ctx<'a>) -> User<'a> {
    ctx.actor.clone().unwrap_or_else(|| {
        let mut u = User {
            name: Some(ctx.actor_key.clone().unwrap_or(Cow::Borrowed("unknown"))),
            ..Default::default()
        };
        set_user_type(&mut u, user_type::SYSTEM);
        u
    })
}

fn target<'a>(v: Option<Str<'a>>) -> Option<User<'a>> {
    v.filter(|s| s != "-").map(user_named)
}

fn map_event<'a>(ctx: &Ctx<'a>, name: &str, ty: Option<&str>, mut p: Params<'a>) -> Event<'a> {
    let app = ctx.app.as_ref();
    let ev = match (app, name) {
        ("login", _) if ty == Some("account_warning") => account_warning(ctx, name, &mut p),
        (
            "login",
            "login_success" | "login_failure" | "logout" | "login_challenge" | "login_verification",
        )
        | ("login", "risky_sensitive_action_allowed" | "risky_sensitive_action_blocked") => {
            login(ctx, name, &mut p)
        }
        ("saml", "login_success" | "login_failure") => saml(ctx, name, &mut p),
        ("login" | "user_accounts", _) if account_activity(name).is_some() => {
            account_change(ctx, name, &mut p)
        }
        ("token", "authorize" | "revoke") => token(ctx, name, &mut p),
        ("admin", _) => admin(ctx, name, &mut p),
        ("groups_enterprise" | "groups", _) if group_activity(name).is_some() => {
            group_event(ctx, name, &mut p)
        }
        ("drive", _) => drive(ctx, name, &mut p),
        ("calendar", _) => calendar(ctx, name, &mut p),
        ("chrome", _) => chrome(ctx, name, &mut p),
        _ => {
            let mut ev = api_event(ctx, name, verb_activity(name), Params::default());
            mark_fallback(&mut ev);
            ev
        }
    };
    with_params(ev, &p)
}

fn set_src<'a>(ev: &mut Event<'a>, ctx: &Ctx<'a>) {
    ev.src_endpoint = ctx.src.clone().map(Box::new);
}

fn challenge_ok(s: &str) -> Option<bool> {
    let l = s.to_ascii_lowercase();
    if l.contains("pass") {
        Some(true)
    } else if l.contains("fail") {
        Some(false)
    } else {
        None
    }
}

/// `login_challenge_method` → OCSF factor type.
fn factor_id(method: &str) -> Option<i32> {
    Some(match method {
        "none" | "" => return None,
        "password" => 11,
        "google_authenticator" | "offline_otp" | "security_key_otp" | "backup_code" | "totp" => 7,
        "idv_any_phone" | "idv_preregistered_phone" | "sms" => 1,
        "internal_two_factor" | "google_prompt" => 5,
        "security_key" => 9,
        "passkey" => 10,
        "knowledge_preregistered_email" => 8,
        "knowledge_preregistered_phone" | "knowledge_employee_id" => 2,
        _ => 99,
    })
}

fn login<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let activity = match name {
        "login_success" | "login_failure" => 1,
        "logout" => 2,
        _ => 99,
    };
    let mut ev = base(ctx, &AUTHENTICATION, activity);
    match name {
        "login_challenge" => other_activity(&mut ev, "Login Challenge"),
        "login_verification" => other_activity(&mut ev, "Login Verification"),
        "risky_sensitive_action_allowed" | "risky_sensitive_action_blocked" => {
            other_activity(&mut ev, "Sensitive Action Check")
        }
        _ => {}
    }
    ev.user = Some(Box::new(actor_as_user(ctx)));
    ev.service = Some(Box::new(Service {
        name: Some(Cow::Borrowed("Google Workspace")),
        ..Default::default()
    }));
    set_src(&mut ev, ctx);
    let challenge = p.str("login_challenge_status");
    let ok = match name {
        "login_success" | "logout" | "risky_sensitive_action_allowed" => Some(true),
        "login_failure" | "risky_sensitive_action_blocked" => Some(false),
        _ => challenge.as_deref().and_then(challenge_ok),
    };
    set_outcome(&mut ev, ok);
    if ok == Some(false) {
        ev.set_severity(severity::LOW);
    }
    if let Some(c) = challenge {
        ev.status_detail = Some(c);
    }
    if let Some(f) = p.str("login_failure_type") {
        ev.status_code = Some(f.clone());
        ev.status_detail.get_or_insert(f);
    }
    if let Some(t) = p.str("login_type") {
        let id = match t.as_ref() {
            "saml" => 5,
            "unknown" => 0,
            _ => 99,
        };
        set_auth_protocol(&mut ev, id, t);
    }
    let methods = p.strs("login_challenge_method");
    for m in methods {
        if let Some(id) = factor_id(&m) {
            ev.auth_factors.push(auth_factor(id, m, "Google"));
        }
    }
    let second = p.bool("is_second_factor");
    let non_password = ev.auth_factors.iter().any(|f| f.factor_type_id != Some(11));
    if activity != 2 {
        ev.is_mfa = second.or((!ev.auth_factors.is_empty()).then_some(non_password));
    }
    if let Some(s) = p.bool("is_suspicious") {
        ev.unmapped().insert("is_suspicious".into(), Value::Bool(s));
        if s {
            ev.set_severity(severity::MEDIUM);
        }
    }
    if let Some(a) = p.str("sensitive_action_name") {
        ev.message = Some(a);
    }
    ev
}

fn saml<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let mut ev = base(ctx, &AUTHENTICATION, 1);
    ev.user = Some(Box::new(actor_as_user(ctx)));
    set_src(&mut ev, ctx);
    set_auth_protocol(&mut ev, 5, Cow::Borrowed("SAML"));
    ev.service = Some(Box::new(Service {
        name: Some(
            p.str("application_name")
                .unwrap_or(Cow::Borrowed("SAML application")),
        ),
        ..Default::default()
    }));
    let ok = name == "login_success";
    set_outcome(&mut ev, Some(ok));
    ev.status_code = p.str("saml_status_code");
    ev.status_detail = p
        .str("failure_type")
        .or_else(|| p.str("saml_second_level_status_code"));
    if !ok {
        ev.set_severity(severity::LOW);
    }
    if let Some(i) = p.str("initiated_by") {
        ev.unmapped()
            .insert("initiated_by".into(), Value::String(i.into_owned()));
    }
    ev
}

fn account_warning<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let mut ev = base(ctx, &DETECTION_FINDING, 1);
    ev.status_id = Some(1);
    ev.status = Some(Cow::Borrowed("New"));
    ev.set_severity(match name {
        "gov_attack_warning" | "account_disabled_hijacked" => severity::HIGH,
        _ => severity::MEDIUM,
    });
    let title = name.to_string();
    ev.finding_info = Some(Box::new(FindingInfo {
        uid: Some(match &ctx.uid {
            Some(u) => Cow::Owned(format!("{u}:{name}")),
            None => Cow::Owned(title.clone()),
        }),
        title: Some(Cow::Owned(title)),
        types: vec![Cow::Borrowed("account_warning")],
        ..Default::default()
    }));
    let user = target(p.str("affected_email_address")).or_else(|| ctx.actor.clone());
    let login_time = p.i64("login_timestamp");
    let mut evidence = Evidences {
        user: user.map(Box::new),
        src_endpoint: ctx.src.clone().map(Box::new),
        ..Default::default()
    };
    if evidence.user.is_none() && evidence.src_endpoint.is_none() {
        evidence.actor = actor_of(ctx);
    }
    if evidence.user.is_some() || evidence.src_endpoint.is_some() || evidence.actor.is_some() {
        ev.evidences.push(evidence);
    }
    if let Some(t) = login_time {
        // Microseconds since the epoch.
        ev.unmapped()
            .insert("login_timestamp".into(), Value::from(t));
    }
    ev
}

fn account_activity(name: &str) -> Option<(i32, &'static str)> {
    Some(match name {
        "password_edit" => (3, ""),
        "2sv_enroll" => (10, ""),
        "2sv_disable" => (11, ""),
        "recovery_email_edit" => (99, "Recovery Email Change"),
        "recovery_phone_edit" => (99, "Recovery Phone Change"),
        "recovery_secret_qa_edit" => (99, "Recovery Question Change"),
        "titanium_enroll" => (99, "Advanced Protection Enroll"),
        "titanium_unenroll" => (99, "Advanced Protection Unenroll"),
        "email_forwarding_out_of_domain" | "email_forwarding_change" => {
            (99, "Email Forwarding Change")
        }
        _ => return None,
    })
}

fn account_change<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let (activity, label) = account_activity(name).unwrap_or((99, "Other"));
    let mut ev = base(ctx, &ACCOUNT_CHANGE, activity);
    if activity == 99 {
        other_activity(&mut ev, label);
    }
    let mut user = actor_as_user(ctx);
    if let Some(fwd) = p.str("email_forwarding_destination_address") {
        if is_email(&fwd) {
            user.forward_addr = Some(fwd);
        } else {
            ev.unmapped().insert(
                "email_forwarding_destination_address".into(),
                Value::String(fwd.into_owned()),
            );
        }
    }
    ev.user = Some(Box::new(user));
    set_src(&mut ev, ctx);
    set_outcome(&mut ev, Some(true));
    if name.starts_with("email_forwarding") || name == "2sv_disable" {
        ev.set_severity(severity::MEDIUM);
    }
    ev
}

fn token<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let mut ev = base(ctx, &USER_ACCESS, if name == "authorize" { 1 } else { 2 });
    ev.user = Some(Box::new(actor_as_user(ctx)));
    set_src(&mut ev, ctx);
    let mut scopes = p.strs("scope");
    if scopes.is_empty() {
        scopes = p.message_field("scope_data", "scope_name");
    } else {
        // scope_data repeats the scopes with their product buckets.
        let _ = p.str("scope_data");
    }
    if scopes.is_empty() {
        scopes.push(Cow::Borrowed("unspecified"));
    }
    ev.privileges = scopes;
    let app_name = p.str("app_name");
    let client = p.str("client_id");
    if app_name.is_some() || client.is_some() {
        ev.resources.push(ResourceDetails {
            name: app_name,
            uid: client,
            type_: Some(Cow::Borrowed("OAuth Client")),
            ..Default::default()
        });
    }
    set_outcome(&mut ev, Some(true));
    ev
}

fn admin<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let account = match name {
        "CREATE_USER" => Some(1),
        "DELETE_USER" => Some(6),
        "SUSPEND_USER" => Some(5),
        "UNSUSPEND_USER" => Some(2),
        "CHANGE_PASSWORD" => Some(4),
        "CHANGE_PASSWORD_ON_NEXT_LOGIN" => Some(99),
        "ARCHIVE_USER" => Some(5),
        "UNARCHIVE_USER" => Some(2),
        _ => None,
    };
    if let Some(activity) = account {
        let mut ev = base(ctx, &ACCOUNT_CHANGE, activity);
        if activity == 99 {
            other_activity(&mut ev, "Password Change On Next Login");
        }
        ev.user = Some(Box::new(
            target(p.str("USER_EMAIL")).unwrap_or_else(|| actor_as_user(ctx)),
        ));
        ev.actor = actor_of(ctx);
        set_src(&mut ev, ctx);
        set_outcome(&mut ev, Some(true));
        return ev;
    }
    let access = match name {
        "GRANT_ADMIN_PRIVILEGE" | "ASSIGN_ROLE" | "AUTHORIZE_API_CLIENT_ACCESS" => Some(1),
        "REVOKE_ADMIN_PRIVILEGE" | "UNASSIGN_ROLE" | "REMOVE_API_CLIENT_ACCESS" => Some(2),
        _ => None,
    };
    if let Some(activity) = access {
        let mut ev = base(ctx, &USER_ACCESS, activity);
        let mut privileges = p.strs("ROLE_NAME");
        if name.contains("API_CLIENT") {
            let mut u = User {
                name: p.str("API_CLIENT_NAME"),
                ..Default::default()
            };
            set_user_type(&mut u, user_type::SERVICE);
            if u.name.is_none() {
                u.name = Some(Cow::Borrowed("unknown"));
            }
            ev.user = Some(Box::new(u));
            privileges = p.strs("API_SCOPES");
        } else {
            ev.user = Some(Box::new(
                target(p.str("USER_EMAIL")).unwrap_or_else(|| actor_as_user(ctx)),
            ));
        }
        if privileges.is_empty() && name.contains("ADMIN_PRIVILEGE") {
            privileges.push(Cow::Borrowed("Super Admin"));
        }
        if privileges.is_empty() {
            privileges.push(Cow::Borrowed("unspecified"));
        }
        ev.privileges = privileges;
        ev.actor = actor_of(ctx);
        set_src(&mut ev, ctx);
        set_outcome(&mut ev, Some(true));
        ev.set_severity(severity::MEDIUM);
        return ev;
    }
    let group = match name {
        "ADD_GROUP_MEMBER" => Some(3),
        "REMOVE_GROUP_MEMBER" => Some(4),
        "CREATE_GROUP" => Some(6),
        "DELETE_GROUP" => Some(5),
        _ => None,
    };
    if let Some(activity) = group {
        let mut ev = base(ctx, &GROUP_MANAGEMENT, activity);
        ev.group = Some(Box::new(Group {
            name: p
                .str("GROUP_EMAIL")
                .or_else(|| p.str("GROUP_NAME"))
                .or(Some(Cow::Borrowed("unknown"))),
            ..Default::default()
        }));
        ev.user = target(p.str("USER_EMAIL")).map(Box::new);
        ev.actor = actor_of(ctx);
        set_src(&mut ev, ctx);
        set_outcome(&mut ev, Some(true));
        return ev;
    }
    // Any other console operation is an API call by the admin.
    api_event(ctx, name, verb_activity(name), Params::default())
}

fn api_event<'a>(ctx: &Ctx<'a>, name: &str, activity: i32, _p: Params<'a>) -> Event<'a> {
    let mut ev = base(ctx, &API_ACTIVITY, activity);
    if activity == 99 && !name.is_empty() {
        other_activity(&mut ev, name.to_string());
    }
    ev.actor = Some(actor_of(ctx).unwrap_or_else(|| {
        Box::new(Actor {
            user: Some(Box::new(actor_as_user(ctx))),
            ..Default::default()
        })
    }));
    ev.api = Some(Box::new(Api {
        operation: Some(Cow::Owned(if name.is_empty() {
            "unknown".into()
        } else {
            name.to_string()
        })),
        service: Some(Box::new(Service {
            name: Some(ctx.app.clone()),
            ..Default::default()
        })),
        ..Default::default()
    }));
    ev.src_endpoint = Some(Box::new(ctx.src.clone().unwrap_or_else(|| {
        NetworkEndpoint {
            name: Some(Cow::Borrowed("unknown")),
            ..Default::default()
        }
    })));
    set_outcome(&mut ev, Some(true));
    ev
}

fn group_activity(name: &str) -> Option<i32> {
    Some(match name {
        "add_member" | "add_user" | "join" => 3,
        "remove_member" | "remove_user" | "leave" => 4,
        "create_group" => 6,
        "delete_group" => 5,
        _ => return None,
    })
}

fn group_event<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let activity = group_activity(name).unwrap_or(99);
    let mut ev = base(ctx, &GROUP_MANAGEMENT, activity);
    ev.group = Some(Box::new(Group {
        name: p.str("group_id").or(Some(Cow::Borrowed("unknown"))),
        ..Default::default()
    }));
    let member_type = p.str("member_type");
    ev.user = target(p.str("member_id").or_else(|| p.str("user_email"))).map(|mut u| {
        if member_type.as_deref() == Some("user") {
            set_user_type(&mut u, user_type::USER);
        }
        Box::new(u)
    });
    if let Some(mt) = member_type {
        ev.unmapped()
            .insert("member_type".into(), Value::String(mt.into_owned()));
    }
    ev.actor = Some(Box::new(Actor {
        user: Some(Box::new(actor_as_user(ctx))),
        ..Default::default()
    }));
    set_src(&mut ev, ctx);
    set_outcome(&mut ev, Some(true));
    ev
}

fn drive<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let activity = match name {
        "view" | "preview" => Some(2),
        "edit" | "rename" | "move" | "untrash" | "change_owner" => Some(3),
        "create" | "copy" | "add_to_folder" => Some(1),
        "delete" | "trash" | "remove_from_folder" => Some(4),
        "download" | "print" => Some(7),
        "upload" | "sheets_import_range" => Some(6),
        n if n.starts_with("change_")
            && (n.contains("access") || n.contains("acl") || n.contains("visibility")) =>
        {
            Some(8)
        }
        _ => None,
    };
    let mut ev = base(ctx, &WEB_RESOURCES_ACTIVITY, activity.unwrap_or(99));
    if activity.is_none() {
        other_activity(&mut ev, name.to_string());
        mark_fallback(&mut ev);
    }
    json::add_profile(&mut ev, "host");
    ev.web_resources.push(WebResource {
        uid: p.str("doc_id"),
        name: p.str("doc_title").or(Some(Cow::Borrowed("unknown"))),
        type_: p.str("doc_type"),
        ..Default::default()
    });
    ev.actor = Some(Box::new(Actor {
        user: Some(Box::new(actor_as_user(ctx))),
        ..Default::default()
    }));
    set_src(&mut ev, ctx);
    set_outcome(&mut ev, Some(true));
    if activity == Some(8) && p.str("visibility_change").as_deref() == Some("external") {
        ev.set_severity(severity::LOW);
        ev.unmapped()
            .insert("visibility_change".into(), Value::String("external".into()));
    }
    ev
}

fn calendar<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let activity = match name {
        "create_event" => Some(1),
        "change_event"
        | "add_event_guest"
        | "remove_event_guest"
        | "change_event_guest_response" => Some(3),
        "delete_event" => Some(4),
        _ => None,
    };
    let mut ev = base(ctx, &WEB_RESOURCES_ACTIVITY, activity.unwrap_or(99));
    if activity.is_none() {
        other_activity(&mut ev, name.to_string());
        mark_fallback(&mut ev);
    }
    json::add_profile(&mut ev, "host");
    ev.web_resources.push(WebResource {
        uid: p.str("event_id"),
        name: p.str("event_title").or(Some(Cow::Borrowed("unknown"))),
        type_: Some(Cow::Borrowed("Calendar Event")),
        ..Default::default()
    });
    ev.actor = Some(Box::new(Actor {
        user: Some(Box::new(actor_as_user(ctx))),
        ..Default::default()
    }));
    set_src(&mut ev, ctx);
    if let Some(ua) = p.str("user_agent") {
        ev.http_request = Some(Box::new(crate::ocsf::HttpRequest {
            user_agent: Some(ua),
            ..Default::default()
        }));
    }
    set_outcome(&mut ev, Some(true));
    ev
}

fn chrome<'a>(ctx: &Ctx<'a>, name: &str, p: &mut Params<'a>) -> Event<'a> {
    let device = NetworkEndpoint {
        name: p.str("DEVICE_NAME"),
        uid: p.str("DIRECTORY_DEVICE_ID"),
        ..Default::default()
    };
    let user = target(p.str("DEVICE_USER")).unwrap_or_else(|| actor_as_user(ctx));
    let (class, activity): (&ClassInfo, i32) = match name {
        "CHROME_OS_LOGIN_EVENT"
        | "CHROME_OS_LOGIN_FAILURE_EVENT"
        | "CHROME_OS_CRD_CLIENT_CONNECTED"
        | "CHROMEOS_AFFILIATED_UNLOCK_SUCCESS"
        | "CHROMEOS_AFFILIATED_UNLOCK_FAILURE"
        | "CHROMEOS_UNLOCK_SUCCESS"
        | "CHROMEOS_UNLOCK_FAILURE" => (&AUTHENTICATION, 1),
        "CHROME_OS_LOGOUT_EVENT" | "CHROME_OS_CRD_CLIENT_DISCONNECTED" => (&AUTHENTICATION, 2),
        "CHROMEOS_AFFILIATED_LOCK_SUCCESS" | "CHROMEOS_LOCK_SUCCESS" => (&AUTHENTICATION, 99),
        "CHROME_OS_ADD_USER" => (&ACCOUNT_CHANGE, 1),
        "CHROME_OS_REMOVE_USER" => (&ACCOUNT_CHANGE, 6),
        _ => (&ENTITY_MANAGEMENT, 99),
    };
    let mut ev = base(ctx, class, activity);
    set_src(&mut ev, ctx);
    let failed = name.contains("FAILURE");
    set_outcome(&mut ev, Some(!failed));
    if class.uid == AUTHENTICATION.uid {
        if activity == 99 {
            other_activity(&mut ev, "Lock");
        }
        if name.contains("UNLOCK") {
            set_logon_type(&mut ev, 7);
        }
        if name.contains("CRD") {
            ev.is_remote = Some(true);
            set_logon_type(&mut ev, 10);
            ev.session = p.str("SESSION_ID").map(|s| {
                Box::new(Session {
                    uid: Some(s),
                    is_remote: Some(true),
                    ..Default::default()
                })
            });
        }
        ev.user = Some(Box::new(user));
        ev.dst_endpoint = Some(Box::new(if device.name.is_some() || device.uid.is_some() {
            device
        } else {
            NetworkEndpoint {
                name: Some(Cow::Borrowed("ChromeOS device")),
                ..Default::default()
            }
        }));
        if failed {
            ev.set_severity(severity::LOW);
        }
    } else if class.uid == ACCOUNT_CHANGE.uid {
        ev.user = Some(Box::new(user));
        if device.name.is_some() || device.uid.is_some() {
            ev.unmapped().insert(
                "device".into(),
                json!({ "name": device.name, "uid": device.uid }),
            );
        }
    } else {
        other_activity(&mut ev, name.to_string());
        mark_fallback(&mut ev);
        ev.entity = Some(Box::new(crate::ocsf::ManagedEntity {
            name: device.name.or(Some(Cow::Borrowed("ChromeOS device"))),
            uid: device.uid,
            type_: Some(Cow::Borrowed("Device")),
            ..Default::default()
        }));
        ev.actor = actor_of(ctx);
    }
    if let Some(reason) = p.str("EVENT_REASON") {
        ev.status_detail = Some(reason);
    }
    ev
}
