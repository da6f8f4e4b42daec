//! Defender e-mail rows → OCSF events (mapping table in
//! `docs/sources/m365-defender-email.md`).

use std::borrow::Cow;

use serde_json::Value;

use super::{product, Table, LOG_NAME};
use crate::common::mailjson::{self as json, Fields, Msg};
use crate::ocsf::{
    Actor, ClassInfo, Event, Evidences, HttpRequest, NetworkEndpoint, Policy, User, WebResource,
    EMAIL_ACTIVITY, HTTP_ACTIVITY, WEB_RESOURCES_ACTIVITY,
};
use crate::Options;

/// What a row mapping needs besides the row, and where its events go (the
/// first is the record's own event; a Detection Finding may follow).
pub(super) struct Ctx<'a, 'o> {
    pub opts: &'o Options,
    /// The vendor record type (`metadata.event_code`).
    pub code: Cow<'a, str>,
    /// The wrapper's `time` (when the event was streamed).
    pub logged: Option<i64>,
    /// The tenant.
    pub tenant: Option<Cow<'a, str>>,
    pub events: Vec<Event<'a>>,
}

const PROVIDER: &str = "Microsoft Defender for Office 365";

pub(super) fn map<'a>(table: Table, row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>) {
    match table {
        Table::EmailEvents | Table::MessageEvents => message(row, ctx, table),
        Table::EmailAttachmentInfo => attachment(row, ctx),
        Table::EmailUrlInfo | Table::MessageUrlInfo => url_info(row, ctx),
        Table::EmailPostDeliveryEvents | Table::MessagePostDeliveryEvents => {
            post_delivery(row, ctx)
        }
        Table::UrlClickEvents => click(row, ctx),
    }
}

/// An event of `class` with the columns every table has: Timestamp,
/// ReportId, and the context.
fn base<'a>(
    class: &ClassInfo,
    activity: i32,
    row: &mut Fields<'a>,
    ctx: &Ctx<'a, '_>,
) -> Event<'a> {
    let ts = row.str("Timestamp");
    let time = ts
        .as_deref()
        .and_then(|t| json::parse_time(t, ctx.opts.utc_offset_secs))
        .or(ctx.logged)
        .unwrap_or(ctx.opts.reference_time_ms);
    let mut ev = Event::new(class, activity, time);
    let m = ev.meta();
    m.product = Some(Box::new(product()));
    m.log_name = Some(Cow::Borrowed(LOG_NAME));
    m.original_time = ts;
    m.uid = row.str("ReportId");
    m.event_code = Some(ctx.code.clone());
    m.tenant_uid = ctx.tenant.clone();
    m.logged_time = ctx.logged;
    ev
}

/// The message columns shared by the e-mail tables.
fn msg<'a>(row: &mut Fields<'a>, ev: &mut Event<'a>) -> Msg<'a> {
    let mut m = Msg {
        uid: row.str_any(&["NetworkMessageId", "TeamsMessageId"]),
        message_uid: row.str_any(&["InternetMessageId", "MessageId"]),
        subject: row.str("Subject"),
        ..Default::default()
    };
    let from = row.str_any(&["SenderFromAddress", "SenderEmailAddress"]);
    m.set_from(from, "SenderFromAddress", ev.unmapped());
    let mail_from = row.str("SenderMailFromAddress");
    if let Some(a) = mail_from.clone().and_then(json::addr_cow) {
        m.return_path = Some(a);
    } else if let Some(s) = mail_from {
        ev.unmapped().insert(
            "SenderMailFromAddress".into(),
            Value::String(s.into_owned()),
        );
    }
    let to = row.strs("RecipientEmailAddress");
    m.add_to(to, "RecipientEmailAddress", ev.unmapped());
    // Teams: RecipientDetails[{RecipientSmtpAddress, ...}].
    let details = row.array("RecipientDetails");
    if !details.is_empty() {
        let mut rest = Vec::new();
        for d in details {
            if let Some(mut f) = Fields::of(d) {
                let a = f.strs("RecipientSmtpAddress");
                m.add_to(a, "RecipientSmtpAddress", ev.unmapped());
                let mut o = serde_json::Map::new();
                f.rest_into(&mut o);
                if !o.is_empty() {
                    rest.push(Value::Object(o));
                }
            }
        }
        if !rest.is_empty() {
            ev.unmapped()
                .insert("RecipientDetails".into(), Value::Array(rest));
        }
    }
    if m.uid.is_none() {
        m.uid = m.message_uid.clone();
    }
    m
}

/// Threat columns: types ("Phish, Malware"), names, detection methods
/// (JSON `{"Phish":["URL detonation"]}`), confidence (`{"Phish":"High"}`).
struct Threats<'a> {
    types: Vec<Cow<'a, str>>,
    names: Vec<Cow<'a, str>>,
    methods: Option<String>,
}

fn threats<'a>(row: &mut Fields<'a>, ev: &mut Event<'a>) -> Threats<'a> {
    let split = |s: Option<Cow<'a, str>>| -> Vec<Cow<'a, str>> {
        s.map(json::split_list).unwrap_or_default()
    };
    let types = split(row.str("ThreatTypes"));
    let names = split(row.str("ThreatNames"));
    let methods = row.object("DetectionMethods").map(|v| describe_methods(&v));
    if let Some(Value::Object(c)) = row.object("ConfidenceLevel") {
        // The highest confidence of the threats found.
        let best = c.values().filter_map(Value::as_str).max_by_key(|w| {
            match w.to_ascii_lowercase().as_str() {
                "high" => 3,
                "normal" | "medium" => 2,
                "low" => 1,
                _ => 0,
            }
        });
        if let Some(w) = best {
            json::set_confidence(ev, w);
        }
        ev.unmapped()
            .insert("ConfidenceLevel".into(), Value::Object(c));
    }
    if !types.is_empty() {
        ev.is_alert = Some(true);
        json::add_profile(ev, "security_control");
        let sev = types
            .iter()
            .map(|t| json::threat_severity(t))
            .max()
            .unwrap_or(crate::ocsf::severity::MEDIUM);
        ev.set_severity(sev);
    }
    let malware_kind = types.iter().any(|t| t.eq_ignore_ascii_case("malware"));
    if malware_kind || !names.is_empty() {
        json::add_profile(ev, "security_control");
        if names.is_empty() {
            ev.malware.push(json::malware(None, "Malware", PROVIDER));
        }
        for n in &names {
            ev.malware
                .push(json::malware(Some(n.clone()), "Malware", PROVIDER));
        }
    }
    Threats {
        types,
        names,
        methods,
    }
}

/// `{"Phish":["URL detonation","Spoof DMARC"]}` → "Phish: URL detonation,
/// Spoof DMARC".
fn describe_methods(v: &Value) -> String {
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                let list = match v {
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{k}: {list}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Detection Finding for the threats of a row, if it has any.
fn push_finding<'a>(
    ctx: &mut Ctx<'a, '_>,
    t: Threats<'a>,
    what: &str,
    mut evidence: Evidences<'a>,
    msg: &Msg<'a>,
) {
    if t.types.is_empty() {
        return;
    }
    let Some(ev) = ctx.events.first() else {
        return;
    };
    let uid = ev
        .metadata
        .as_ref()
        .and_then(|m| m.uid.clone())
        .or_else(|| msg.uid.clone())
        .unwrap_or(Cow::Borrowed("unknown"));
    let kinds = t
        .types
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(", ");
    let title = format!("{kinds} detected in {what}");
    if msg.has_addr() || msg.uid.is_some() {
        if msg.has_addr() {
            evidence.email = Some(Box::new(msg.email()));
        } else if evidence.url.is_none() && evidence.file.is_none() {
            evidence.uid = msg.uid.clone();
        }
    }
    let mut f = json::finding(ev, uid, title, t.types, evidence);
    if let Some(fi) = f.finding_info.as_mut() {
        fi.desc = t.methods.map(Cow::Owned);
    }
    if !t.names.is_empty() {
        f.message = Some(Cow::Owned(t.names.join(", ")));
    }
    ctx.events.push(f);
}

/// EmailEvents (and Teams MessageEvents): the message and its verdict.
fn message<'a>(row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>, table: Table) {
    let direction = row.str("EmailDirection");
    let activity = match direction.as_deref() {
        Some(d) if d.eq_ignore_ascii_case("outbound") => 1,
        _ => 2,
    };
    let mut ev = base(&EMAIL_ACTIVITY, activity, row, ctx);
    let m = msg(row, &mut ev);
    let mut email = m.email();
    email.size = row.i64("EmailSize");
    m.fill(&mut ev, email, direction, ctx.opts);
    if table == Table::MessageEvents {
        ev.protocol_name = Some(Cow::Borrowed("Microsoft Teams"));
    }
    let v4 = row.str("SenderIPv4");
    let v6 = row.str("SenderIPv6");
    if let Some(ip) = v4.or(v6).filter(|ip| json::is_ip(ip)) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    if let Some(Value::Object(mut a)) = row.object("AuthenticationDetails") {
        let mut take = |k: &str| match a.remove(k) {
            Some(Value::String(s)) => Some(Cow::Owned(s)),
            _ => None,
        };
        let auth = crate::ocsf::EmailAuth {
            spf: take("SPF"),
            dkim: take("DKIM"),
            dmarc: take("DMARC"),
            ..Default::default()
        };
        if auth.spf.is_some() || auth.dkim.is_some() || auth.dmarc.is_some() {
            ev.email_auth = Some(Box::new(auth));
        }
        if !a.is_empty() {
            ev.unmapped()
                .insert("AuthenticationDetails".into(), Value::Object(a));
        }
    }
    // Delivery: action (Delivered, Junked, Blocked, Replaced) and location
    // (Inbox/folder, Junk folder, Quarantine, Failed, Dropped, ...).
    let action = row.str("DeliveryAction");
    let location = row.str("DeliveryLocation");
    delivery(&mut ev, action.as_deref(), location.as_deref());
    if let Some(l) = location {
        ev.status_detail = Some(l);
    }
    if let Some(a) = action {
        ev.status_code = Some(a);
    }
    // The policy that decided: the e-mail action's, else the user's, else
    // the organisation's.
    let pol_name = row.str("EmailActionPolicy");
    let pol_uid = row.str("EmailActionPolicyGuid");
    let user_pol = row.str("UserLevelPolicy");
    let org_pol = row.str("OrgLevelPolicy");
    let name = pol_name.or(user_pol.clone()).or(org_pol.clone());
    if name.is_some() || pol_uid.is_some() {
        json::add_profile(&mut ev, "security_control");
        ev.policy = Some(Box::new(Policy {
            name,
            uid: pol_uid,
            is_applied: Some(true),
            ..Default::default()
        }));
        // Keep the ones not chosen.
        let chosen = ev.policy.as_ref().and_then(|p| p.name.clone());
        for (k, v) in [("UserLevelPolicy", user_pol), ("OrgLevelPolicy", org_pol)] {
            if let Some(v) = v.filter(|v| Some(v) != chosen.as_ref()) {
                ev.unmapped()
                    .insert(k.into(), Value::String(v.into_owned()));
            }
        }
    }
    let t = threats(row, &mut ev);
    ctx.events.push(ev);
    let what = if table == Table::MessageEvents {
        "Teams message"
    } else {
        "email"
    };
    push_finding(ctx, t, what, Evidences::default(), &m);
}

fn delivery(ev: &mut Event<'_>, action: Option<&str>, location: Option<&str>) {
    let loc = location.unwrap_or("").to_ascii_lowercase();
    let Some(action) = action else {
        return;
    };
    let (disp, status) = match action.to_ascii_lowercase().as_str() {
        "delivered" if loc.contains("quarantine") => (3, 1),
        "delivered" if loc.contains("junk") => (18, 1),
        "delivered" => (1, 1),
        "junked" => (18, 1),
        "blocked" if loc.contains("quarantine") => (3, 2),
        "blocked" if loc.contains("dropped") => (6, 2),
        "blocked" => (2, 2),
        "replaced" => (11, 1),
        _ => (99, 0),
    };
    json::set_disposition(ev, disp, Some(Cow::Owned(action.to_owned())));
    if loc == "failed" {
        ev.set_status(crate::ocsf::status::FAILURE, None);
    } else if status != 0 {
        ev.set_status(status, None);
    }
}

/// EmailAttachmentInfo: one attachment of a message, with its verdict.
fn attachment<'a>(row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>) {
    let mut ev = base(&EMAIL_ACTIVITY, 3, row, ctx);
    let m = msg(row, &mut ev);
    let mut email = m.email();
    let mut file = json::attachment(row.str("FileName").unwrap_or(Cow::Borrowed("unknown")));
    file.size = row.i64("FileSize");
    for alg in ["SHA256", "SHA1", "MD5"] {
        if let Some(h) = row.str(alg) {
            file.hashes.push(json::hash(alg, h));
        }
    }
    let t = threats(row, &mut ev);
    for mw in &mut ev.malware {
        mw.files.push(file.clone());
    }
    let evidence = Evidences {
        file: Some(Box::new(file.clone())),
        ..Default::default()
    };
    email.files.push(file);
    m.fill(&mut ev, email, None, ctx.opts);
    ev.set_status(crate::ocsf::status::SUCCESS, None);
    ctx.events.push(ev);
    push_finding(ctx, t, "email attachment", evidence, &m);
}

/// EmailUrlInfo / MessageUrlInfo: a URL found in a message. These rows
/// carry no address, and OCSF's `email` needs one, so the URL is a Web
/// Resources Activity (activity Other "Email URL"), joined to its message
/// by `metadata.correlation_uid` = NetworkMessageId.
fn url_info<'a>(row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>) {
    let mut ev = base(&WEB_RESOURCES_ACTIVITY, 99, row, ctx);
    json::set_other(&mut ev, "Email URL");
    let key = row.str_any(&["NetworkMessageId", "TeamsMessageId"]);
    if let Some(k) = &key {
        ev.meta().correlation_uid = Some(k.clone());
    }
    let url = row.str("Url");
    let domain = row.str("UrlDomain");
    let location = row.str("UrlLocation");
    ev.web_resources.push(WebResource {
        url_string: url.clone().or(domain.clone()),
        name: domain.or(url),
        type_: Some(Cow::Owned(match &location {
            Some(l) => format!("URL in {l}"),
            None => "URL in message".to_owned(),
        })),
        uid: key,
        ..Default::default()
    });
    ev.set_status(crate::ocsf::status::SUCCESS, None);
    if let Some(l) = location {
        ev.unmapped()
            .insert("UrlLocation".into(), Value::String(l.into_owned()));
    }
    let t = threats(row, &mut ev);
    let evidence = Evidences {
        url: ev.web_resources[0]
            .url_string
            .clone()
            .map(|u| Box::new(json::url(u))),
        ..Default::default()
    };
    ctx.events.push(ev);
    push_finding(ctx, t, "email URL", evidence, &Msg::default());
}

/// EmailPostDeliveryEvents: an action on a delivered message (ZAP, admin
/// remediation, redelivery).
fn post_delivery<'a>(row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>) {
    let mut ev = base(&EMAIL_ACTIVITY, 99, row, ctx);
    let kind = row.str("ActionType");
    json::set_other(&mut ev, kind.as_deref().unwrap_or("Post-delivery action"));
    let m = msg(row, &mut ev);
    m.fill(&mut ev, m.email(), None, ctx.opts);
    let action = row.str("Action");
    let location = row.str("DeliveryLocation");
    if let Some(a) = &action {
        let l = a.to_ascii_lowercase();
        let disp = if l.contains("quarantine") {
            3
        } else if l.contains("delete") {
            5
        } else if l.contains("junk") {
            18
        } else if l.contains("inbox") || l.contains("deliver") || l.contains("release") {
            9
        } else {
            99
        };
        json::set_disposition(&mut ev, disp, Some(a.clone()));
    }
    match row.str("ActionResult") {
        Some(r) if r.eq_ignore_ascii_case("success") => {
            ev.set_status(crate::ocsf::status::SUCCESS, None)
        }
        Some(r)
            if r.to_ascii_lowercase().starts_with("fail") || r.eq_ignore_ascii_case("error") =>
        {
            ev.set_status(crate::ocsf::status::FAILURE, None)
        }
        Some(r) => ev.set_status(crate::ocsf::status::OTHER, Some(r)),
        None => {}
    }
    ev.status_code = action;
    ev.status_detail = location;
    if let Some(trigger) = row.str("ActionTrigger") {
        json::add_profile(&mut ev, "security_control");
        ev.policy = Some(Box::new(Policy {
            name: Some(trigger),
            type_: Some(Cow::Borrowed("ActionTrigger")),
            ..Default::default()
        }));
    }
    let t = threats(row, &mut ev);
    ctx.events.push(ev);
    let what = match kind.as_deref() {
        Some(k) => format!("delivered email ({k})"),
        None => "delivered email".to_owned(),
    };
    push_finding(ctx, t, &what, Evidences::default(), &m);
}

/// UrlClickEvents: a user clicked a Safe Links-protected URL. HTTP
/// Activity (activity Other "Click"): the user is `actor.user`, the URL
/// `http_request.url`, the verdict `disposition` (Allowed/Blocked) and
/// `malware`/Detection Finding when the click had a threat.
fn click<'a>(row: &mut Fields<'a>, ctx: &mut Ctx<'a, '_>) {
    let mut ev = base(&HTTP_ACTIVITY, 99, row, ctx);
    json::set_other(&mut ev, "Click");
    json::add_profile(&mut ev, "host");
    let key = row.str("NetworkMessageId");
    if let Some(k) = &key {
        ev.meta().correlation_uid = Some(k.clone());
    }
    let upn = row.str("AccountUpn");
    let user = upn.map(|u| User {
        email_addr: json::addr(&u).map(|a| Cow::Owned(a.to_owned())),
        name: Some(u),
        type_id: Some(1),
        type_: Some(Cow::Borrowed("User")),
        ..Default::default()
    });
    ev.actor = user.clone().map(|u| {
        Box::new(Actor {
            user: Some(Box::new(u)),
            ..Default::default()
        })
    });
    let url = row.str("Url").map(json::url);
    ev.http_request = Some(Box::new(HttpRequest {
        url: url.clone().map(Box::new),
        ..Default::default()
    }));
    if let Some(ip) = row.str("IPAddress").filter(|ip| json::is_ip(ip)) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    if let Some(Value::Array(chain)) = row.object("UrlChain") {
        ev.unmapped().insert("UrlChain".into(), Value::Array(chain));
    }
    let action = row.str("ActionType");
    let through = row.bool("IsClickedThrough");
    if let Some(a) = &action {
        let l = a.to_ascii_lowercase();
        let disp = if l.contains("blocked") && through != Some(true) {
            2
        } else if l.contains("allowed") || l.contains("clickedthrough") || through == Some(true) {
            1
        } else if l.contains("pending") {
            14
        } else {
            99
        };
        json::set_disposition(&mut ev, disp, Some(a.clone()));
    }
    if let Some(t) = through {
        ev.unmapped()
            .insert("IsClickedThrough".into(), Value::Bool(t));
    }
    ev.status_code = action;
    ev.app_name = row.str("Workload");
    let t = threats(row, &mut ev);
    let evidence = Evidences {
        url: url.map(Box::new),
        user: user.map(Box::new),
        src_endpoint: ev.src_endpoint.clone(),
        uid: key.clone(),
        ..Default::default()
    };
    ctx.events.push(ev);
    let m = Msg {
        uid: key,
        ..Default::default()
    };
    push_finding(ctx, t, "clicked URL", evidence, &m);
}
