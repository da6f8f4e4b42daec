//! Mapping of parsed Postfix and filter lines, and of assembled messages,
//! to OCSF 1.8.0 events. Events borrow from the line (or from the
//! assembled message) wherever the text does not change.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use crate::common::addr::{domain_is_local, email_domain, is_email, is_ip, Endpoint};
use crate::ocsf::{
    caption, status, ClassInfo, Email, EmailAuth, Event, NetworkEndpoint, Product, Reporter,
    Service, Str, User, AUTHENTICATION, BASE_EVENT, EMAIL_ACTIVITY, NETWORK_ACTIVITY,
};
use crate::Options;

use super::assemble::{EmitReason, OpenMsg, Origin};
use super::filters::{postgrey_endpoint, FilterKind, FilterMsg};
use super::parse::{command_counts, Action, Level, Msg, Tls};

/// What every event of one line shares.
pub struct LineCtx<'a> {
    /// Event time (the line's, else the reference time).
    pub time_ms: i64,
    /// Timestamp as written.
    pub original_time: Option<&'a str>,
    /// Syslog host.
    pub host: Option<&'a str>,
    /// Syslog program (`postfix/submission/smtpd`).
    pub program: Option<&'a str>,
    /// The program's last component (`smtpd`).
    pub service: Option<&'a str>,
    /// PID.
    pub pid: Option<&'a str>,
    /// The whole line.
    pub raw: &'a str,
    /// Decoder options.
    pub opts: &'a Options,
}

const POSTFIX: (&str, &str) = ("Postfix", "Postfix");
const PROFILE_SECURITY: &str = "security_control";

// OCSF enum values used below.
const ACTION_ALLOWED: i32 = 1;
const ACTION_DENIED: i32 = 2;
const ACTION_OBSERVED: i32 = 3;
const ACTION_MODIFIED: i32 = 4;
const DISP_ALLOWED: i32 = 1;
const DISP_BLOCKED: i32 = 2;
const DISP_QUARANTINED: i32 = 3;
const DISP_DROPPED: i32 = 6;
const DISP_CUSTOM: i32 = 7;
const DISP_DELAYED: i32 = 14;
const DISP_LOGGED: i32 = 17;

fn b<'a>(s: &'a str) -> Str<'a> {
    Cow::Borrowed(s)
}

/// Activity 99 (Other) with the source's own label in `activity_name`.
/// For classes whose schema names activity 99, `type_name` must stay that
/// caption ("<class>: Other"; the validator checks it), which
/// `Event::set_other_activity` does not do; a static string also avoids a
/// `format!` per event. Base Event has no such caption and takes the label.
fn other_activity<'a>(ev: &mut Event<'a>, label: &'static str) {
    let class = ev.class_uid.unwrap_or(0);
    ev.activity_id = Some(99);
    ev.activity_name = Some(b(label));
    ev.type_uid = Some(i64::from(class) * 100 + 99);
    ev.type_name = Some(match class {
        4001 => b("Network Activity: Other"),
        4009 => b("Email Activity: Other"),
        3002 => b("Authentication: Other"),
        // Base Event has no caption for 99: the validator wants the label.
        _ => Cow::Owned(format!("Base Event: {label}")),
    });
}

/// A new event with metadata filled in from the line.
fn new_event<'a>(
    ctx: &LineCtx<'a>,
    class: &ClassInfo,
    activity: i32,
    product: (&'static str, &'static str),
) -> Event<'a> {
    let mut ev = Event::new(class, activity, ctx.time_ms);
    let meta = ev.meta();
    meta.product = Some(Box::new(Product {
        name: Some(b(product.0)),
        vendor_name: Some(b(product.1)),
        ..Default::default()
    }));
    meta.log_name = Some(b("maillog"));
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

/// `unmapped.<key>` as an object, created on first use.
fn vendor<'e>(ev: &'e mut Event<'_>, key: &str) -> &'e mut Map<String, Value> {
    let u = ev.unmapped();
    if !u.contains_key(key) {
        u.insert(key.to_string(), Value::Object(Map::new()));
    }
    match u.get_mut(key) {
        Some(Value::Object(m)) => m,
        _ => unreachable!("inserted as an object above"),
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_string(), v.into());
}

fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
}

/// `unmapped.postfix` with the program and pid.
fn postfix_map<'e>(ev: &'e mut Event<'_>, ctx: &LineCtx<'_>) -> &'e mut Map<String, Value> {
    let m = vendor(ev, "postfix");
    put_opt(m, "program", ctx.program);
    if let Some(p) = ctx.pid.and_then(|p| p.parse::<i64>().ok()) {
        put(m, "pid", p);
    }
    m
}

fn endpoint<'a>(e: &Endpoint<'a>) -> Option<Box<NetworkEndpoint<'a>>> {
    if e.hostname.is_none() && e.ip.is_none() {
        return None;
    }
    Some(Box::new(NetworkEndpoint {
        hostname: e.hostname.map(b),
        ip: e.ip.map(b),
        port: e.port,
        ..Default::default()
    }))
}

/// Our side of a connection: the syslog host and the service name (always
/// at least one field, so `network_endpoint`'s constraint holds).
fn local_endpoint<'a>(ctx: &LineCtx<'a>) -> Box<NetworkEndpoint<'a>> {
    Box::new(NetworkEndpoint {
        hostname: ctx.host.map(b),
        svc_name: Some(b(ctx.service.unwrap_or("postfix"))),
        ..Default::default()
    })
}

fn security(ev: &mut Event<'_>, action_id: i32, disposition_id: i32) {
    ev.action_id = Some(action_id);
    ev.action = caption("base_event", "action_id", i64::from(action_id)).map(Cow::Borrowed);
    ev.disposition_id = Some(disposition_id);
    ev.disposition =
        caption("base_event", "disposition_id", i64::from(disposition_id)).map(Cow::Borrowed);
    let meta = ev.meta();
    if !meta.profiles.iter().any(|p| p == PROFILE_SECURITY) {
        meta.profiles.push(b(PROFILE_SECURITY));
    }
}

fn set_direction(ev: &mut Event<'_>, id: i32) {
    ev.direction_id = Some(id);
    ev.direction = caption("email_activity", "direction_id", i64::from(id)).map(Cow::Borrowed);
}

/// `direction_id` from the sender and recipients against the local
/// domains: inbound (external sender, a local recipient), outbound (local
/// sender, an external recipient), internal (local to local only), else
/// unknown (no local domains configured, null sender, no recipients).
pub fn direction<'x>(
    from: Option<&str>,
    to: impl Iterator<Item = &'x str>,
    locals: &[String],
) -> i32 {
    if locals.is_empty() {
        return 0;
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
        Some(false) if any_local => 1,
        Some(true) if any_ext => 2,
        Some(true) if any_local => 3,
        _ => 0,
    }
}

fn severity_of(level: Level) -> i32 {
    match level {
        Level::Info => 1,
        Level::Warning => 2,
        Level::Error => 3,
        Level::Fatal => 4,
        Level::Panic => 5,
    }
}

/// Map one per-line Postfix message (not the ones folded into a message).
/// Returns `None` for kinds that are only assembled.
pub fn line_event<'a>(ctx: &LineCtx<'a>, msg: &Msg<'a>) -> Option<Event<'a>> {
    let ev = match msg {
        Msg::Connect { client } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 1, POSTFIX);
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            postfix_map(&mut ev, ctx);
            ev
        }
        Msg::Disconnect { client, commands } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 2, POSTFIX);
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            let mut cmds = Map::new();
            for c in command_counts(commands) {
                cmds.insert(c.name.to_string(), json!({"ok": c.ok, "total": c.total}));
            }
            let m = postfix_map(&mut ev, ctx);
            if !cmds.is_empty() {
                put(m, "commands", cmds);
            }
            ev
        }
        Msg::ConnEnd {
            kind,
            after,
            client,
        } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 3, POSTFIX);
            match *kind {
                "timeout" => other_activity(&mut ev, "Timeout"),
                "too_many_errors" => {
                    other_activity(&mut ev, "Too Many Errors");
                    ev.set_severity(2);
                }
                _ => {}
            }
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            put(postfix_map(&mut ev, ctx), "after", *after);
            ev
        }
        Msg::Pipelining { after, client } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 99, POSTFIX);
            other_activity(&mut ev, "Improper Pipelining");
            ev.set_severity(2);
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            put(postfix_map(&mut ev, ctx), "after", *after);
            ev
        }
        Msg::Tls(t) => tls_event(ctx, t),
        Msg::SaslFailure {
            client,
            method,
            reason,
            username,
        } => {
            let mut ev = new_event(ctx, &AUTHENTICATION, 1, POSTFIX);
            ev.set_status(status::FAILURE, None);
            ev.set_severity(2);
            ev.status_detail = Some(b(reason));
            auth_common(&mut ev, ctx, client, method, *username);
            ev
        }
        Msg::Client {
            sasl_username: Some(user),
            sasl_method,
            client,
            qid,
            ..
        } => {
            let mut ev = new_event(ctx, &AUTHENTICATION, 1, POSTFIX);
            ev.set_status(status::SUCCESS, None);
            auth_common(&mut ev, ctx, client, sasl_method.unwrap_or(""), Some(user));
            put(vendor(&mut ev, "postfix"), "queue_id", *qid);
            ev
        }
        Msg::SaslError { reason } => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99, POSTFIX);
            other_activity(&mut ev, "SASL Error");
            ev.set_severity(2);
            ev.message = Some(b(reason));
            postfix_map(&mut ev, ctx);
            ev
        }
        Msg::Action(a) => action_event(ctx, a),
        Msg::Limit {
            what,
            count,
            client,
            service,
        } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 5, POSTFIX);
            ev.set_severity(2);
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            ev.message = Some(b(what));
            security(&mut ev, ACTION_DENIED, DISP_BLOCKED);
            let m = postfix_map(&mut ev, ctx);
            put(m, "limit", *what);
            if let Ok(n) = count.parse::<i64>() {
                put(m, "count", n);
            }
            put_opt(m, "service", *service);
            ev
        }
        Msg::Postscreen {
            verdict,
            client,
            detail,
        } => {
            let (activity, label, sev, sec): (i32, &'static str, i32, Option<(i32, i32)>) =
                match *verdict {
                    "connect" => (1, "", 1, None),
                    "disconnect" => (2, "", 1, None),
                    "pass_new" => (99, "Pass New", 1, Some((ACTION_ALLOWED, DISP_ALLOWED))),
                    "pass_old" => (99, "Pass Old", 1, Some((ACTION_ALLOWED, DISP_ALLOWED))),
                    "allowlisted" => (99, "Allowlisted", 1, Some((ACTION_ALLOWED, DISP_ALLOWED))),
                    "denylisted" => (5, "", 3, Some((ACTION_DENIED, DISP_BLOCKED))),
                    "allowlist_veto" => (99, "Allowlist Veto", 2, None),
                    "dnsbl" => (99, "DNSBL", 2, None),
                    "pregreet" => (99, "Pregreet", 2, None),
                    "hangup" => (99, "Hangup", 2, None),
                    "bare_newline" => (99, "Bare Newline", 2, None),
                    "non_smtp_command" => (99, "Non-SMTP Command", 2, None),
                    "command_pipelining" => (99, "Command Pipelining", 2, None),
                    _ => (99, "Command Limit", 2, None),
                };
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, activity, POSTFIX);
            if activity == 99 {
                other_activity(&mut ev, label);
            }
            ev.set_severity(sev);
            ev.src_endpoint = endpoint(client);
            ev.dst_endpoint = Some(local_endpoint(ctx));
            if let Some((a, d)) = sec {
                security(&mut ev, a, d);
            }
            let m = postfix_map(&mut ev, ctx);
            put(m, "postscreen", *verdict);
            if !detail.is_empty() {
                put(m, "detail", *detail);
            }
            ev
        }
        Msg::PeerError { peer, error, what } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 4, POSTFIX);
            ev.set_severity(2);
            ev.set_status(status::FAILURE, None);
            ev.status_detail = Some(b(error));
            ev.src_endpoint = Some(local_endpoint(ctx));
            ev.dst_endpoint = endpoint(peer);
            if ctx.service == Some("smtpd") || *what == "tls_accept" {
                std::mem::swap(&mut ev.src_endpoint, &mut ev.dst_endpoint);
                if ev.dst_endpoint.is_none() {
                    ev.dst_endpoint = Some(local_endpoint(ctx));
                }
            }
            put(postfix_map(&mut ev, ctx), "error", *what);
            ev
        }
        Msg::DnsblHit {
            addr,
            domain,
            result,
        } => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 99, POSTFIX);
            other_activity(&mut ev, "DNSBL Listed");
            ev.set_severity(2);
            ev.src_endpoint = is_ip(addr).then(|| {
                Box::new(NetworkEndpoint {
                    ip: Some(b(addr)),
                    ..Default::default()
                })
            });
            ev.dst_endpoint = Some(local_endpoint(ctx));
            let m = postfix_map(&mut ev, ctx);
            put(m, "dnsbl_domain", *domain);
            put(m, "dnsbl_result", *result);
            if !is_ip(addr) {
                put(m, "addr", *addr);
            }
            ev
        }
        Msg::Statistics { text } => base_text(ctx, "Statistics", 1, text, None),
        Msg::Lifecycle { text } => {
            let label = if text.starts_with("daemon started") || text.starts_with("starting") {
                "Start"
            } else if text.starts_with("stopping") || text.starts_with("terminating") {
                "Stop"
            } else if text.starts_with("reload") || text.starts_with("refreshing") {
                "Reload"
            } else if text.ends_with("messages") || text.ends_with("message") {
                "Queue Admin"
            } else {
                "Status"
            };
            base_text(ctx, label, 1, text, None)
        }
        Msg::Daemon { level, text } => {
            let label = match level {
                Level::Info => "Info",
                Level::Warning => "Warning",
                Level::Error => "Error",
                Level::Fatal => "Fatal",
                Level::Panic => "Panic",
            };
            base_text(ctx, label, severity_of(*level), text, Some(level.as_str()))
        }
        Msg::Debug { text } => base_text(ctx, "Debug", 1, text, Some("debug")),
        _ => return None,
    };
    Some(ev)
}

fn base_text<'a>(
    ctx: &LineCtx<'a>,
    label: &'static str,
    sev: i32,
    text: &'a str,
    level: Option<&'static str>,
) -> Event<'a> {
    let mut ev = new_event(ctx, &BASE_EVENT, 99, POSTFIX);
    other_activity(&mut ev, label);
    ev.set_severity(sev);
    ev.message = Some(b(text));
    if let Some(l) = level {
        ev.meta().log_level = Some(b(l));
    }
    postfix_map(&mut ev, ctx);
    ev
}

fn tls_event<'a>(ctx: &LineCtx<'a>, t: &Tls<'a>) -> Event<'a> {
    let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 99, POSTFIX);
    other_activity(&mut ev, "TLS Established");
    let peer = endpoint(&t.peer);
    if t.inbound {
        ev.src_endpoint = peer;
        ev.dst_endpoint = Some(local_endpoint(ctx));
    } else {
        ev.src_endpoint = Some(local_endpoint(ctx));
        ev.dst_endpoint = peer;
    }
    let mut tls = Map::new();
    put(&mut tls, "version", t.protocol);
    put_opt(&mut tls, "cipher", t.cipher);
    if let Some(bits) = t.bits {
        put(&mut tls, "key_length", bits);
    }
    ev.tls = Some(Value::Object(tls));
    put(postfix_map(&mut ev, ctx), "tls_trust", t.trust);
    ev
}

fn auth_common<'a>(
    ev: &mut Event<'a>,
    ctx: &LineCtx<'a>,
    client: &Endpoint<'a>,
    method: &'a str,
    user: Option<&'a str>,
) {
    // `user` is required; a failure before the username was sent (the
    // base64 prompt `UGFzc3dvcmQ6`) has none, so the name is "unknown".
    ev.user = Some(Box::new(User {
        name: Some(b(user.unwrap_or("unknown"))),
        email_addr: user.filter(|u| is_email(u)).map(b),
        ..Default::default()
    }));
    ev.src_endpoint = endpoint(client);
    ev.service = Some(Box::new(Service {
        name: Some(b(ctx.service.unwrap_or("smtpd"))),
        ..Default::default()
    }));
    ev.dst_endpoint = ctx.host.map(|h| {
        Box::new(NetworkEndpoint {
            hostname: Some(b(h)),
            ..Default::default()
        })
    });
    let (id, label): (i32, Option<&str>) = match method.to_ascii_uppercase().as_str() {
        "" => (0, None),
        "CRAM-MD5" | "DIGEST-MD5" => (3, None),
        "GSSAPI" => (2, None),
        "NTLM" => (1, None),
        "XOAUTH2" | "OAUTHBEARER" => (6, None),
        _ => (99, Some(method)),
    };
    if !method.is_empty() {
        ev.auth_protocol_id = Some(id);
        ev.auth_protocol = if id == 99 {
            label.map(b)
        } else {
            caption("authentication", "auth_protocol_id", i64::from(id)).map(Cow::Borrowed)
        };
    }
    let m = postfix_map(ev, ctx);
    put_opt(m, "sasl_method", (!method.is_empty()).then_some(method));
    if user.is_none() {
        put(m, "sasl_username_missing", true);
    }
}

/// (status_id, status label, action_id, disposition_id) of a policy action.
fn action_outcome(action: &str, code: Option<&str>) -> (i32, &'static str, i32, i32) {
    let temp = code.is_some_and(|c| c.starts_with('4'));
    match action {
        "reject" | "milter-reject" | "proxy-reject" => (
            status::FAILURE,
            "",
            ACTION_DENIED,
            if temp { DISP_DELAYED } else { DISP_BLOCKED },
        ),
        "reject_warning" | "warning" | "warn" | "info" => {
            (status::OTHER, "warning", ACTION_OBSERVED, DISP_LOGGED)
        }
        "hold" | "milter-hold" => (status::OTHER, "hold", ACTION_DENIED, DISP_QUARANTINED),
        "discard" | "milter-discard" => (status::OTHER, "discarded", ACTION_DENIED, DISP_DROPPED),
        "proxy-accept" => (status::SUCCESS, "", ACTION_ALLOWED, DISP_ALLOWED),
        "filter" => (status::OTHER, "filtered", ACTION_MODIFIED, DISP_CUSTOM),
        "redirect" | "milter-redirect" | "milter-header-redirect" => {
            (status::OTHER, "redirected", ACTION_MODIFIED, DISP_CUSTOM)
        }
        _ => (status::OTHER, "modified", ACTION_MODIFIED, DISP_CUSTOM),
    }
}

/// A NOQUEUE (or standalone) policy decision.
fn action_event<'a>(ctx: &LineCtx<'a>, a: &Action<'a>) -> Event<'a> {
    let from = a.from.filter(|f| is_email(f));
    let to = a.to.filter(|t| is_email(t));
    let mut ev = if from.is_some() || to.is_some() {
        let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 2, POSTFIX);
        ev.email = Some(Box::new(Email {
            from: from.map(b),
            to: to.map(b).into_iter().collect(),
            ..Default::default()
        }));
        set_direction(
            &mut ev,
            direction(from, to.into_iter(), &ctx.opts.local_domains),
        );
        ev.protocol_name = a.proto.map(b);
        ev
    } else {
        let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 5, POSTFIX);
        ev.dst_endpoint = Some(local_endpoint(ctx));
        ev
    };
    let (st, label, act, disp) = action_outcome(a.action, a.code);
    ev.set_status(st, (!label.is_empty()).then_some(b(label)));
    security(&mut ev, act, disp);
    ev.status_code = a.code.map(b);
    if !a.reason.is_empty() {
        ev.status_detail = Some(b(a.reason));
    }
    ev.src_endpoint = endpoint(&a.client);
    if a.qid.is_some() && ev.class_uid == Some(EMAIL_ACTIVITY.uid) {
        ev.message_trace_uid = a.qid.map(b);
    }
    let m = postfix_map(&mut ev, ctx);
    put(m, "action", a.action);
    put(m, "stage", a.stage);
    put_opt(m, "dsn", a.dsn);
    put_opt(m, "helo", a.helo);
    put_opt(m, "proto", a.proto);
    put_opt(m, "checked", a.checked);
    put_opt(m, "detail", a.extra);
    put_opt(m, "queue_id", a.qid);
    if let Some(f) = a.from.filter(|f| !is_email(f)) {
        put(m, "from", f);
    }
    if let Some(t) = a.to.filter(|t| !is_email(t)) {
        put(m, "to", t);
    }
    if a.client.ip.is_none() && !a.client_raw.is_empty() {
        put(m, "client", a.client_raw);
    }
    ev
}

/// Map a filter line (the ones not folded into a message).
pub fn filter_event<'a>(
    ctx: &LineCtx<'a>,
    kind: FilterKind,
    msg: &FilterMsg<'a>,
) -> Option<Event<'a>> {
    let product = (kind.product(), kind.vendor());
    let ev = match msg {
        FilterMsg::AmavisVerdict(v) => {
            let from = Some(v.from).filter(|f| is_email(f));
            let tos: Vec<Str<'a>> =
                v.to.split(',')
                    .map(|t| t.trim().trim_start_matches('<').trim_end_matches('>'))
                    .filter(|t| is_email(t))
                    .map(b)
                    .collect();
            let mut ev = if from.is_some() || !tos.is_empty() {
                let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3, product);
                set_direction(
                    &mut ev,
                    direction(
                        from,
                        tos.iter().map(|t| t.as_ref()),
                        &ctx.opts.local_domains,
                    ),
                );
                ev.email = Some(Box::new(Email {
                    from: from.map(b),
                    to: tos,
                    message_uid: v.message_id.map(b),
                    size: v.size,
                    ..Default::default()
                }));
                ev.src_endpoint = v.client_ip.filter(|i| is_ip(i)).map(|i| {
                    Box::new(NetworkEndpoint {
                        ip: Some(b(i)),
                        ..Default::default()
                    })
                });
                ev.message_trace_uid = v.queue_id.map(b);
                ev
            } else {
                let mut ev = new_event(ctx, &BASE_EVENT, 99, product);
                other_activity(&mut ev, "Content Scan");
                ev
            };
            let passed = v.verdict == "Passed";
            ev.set_status(status::SUCCESS, None);
            if passed {
                security(&mut ev, ACTION_ALLOWED, DISP_ALLOWED);
            } else {
                security(&mut ev, ACTION_DENIED, DISP_BLOCKED);
            }
            if v.content != "CLEAN" {
                ev.set_severity(2);
            }
            let m = vendor(&mut ev, "amavis");
            put(m, "verdict", v.verdict);
            put(m, "content", v.content);
            put_opt(m, "policy", v.policy);
            put_opt(m, "hits", v.hits);
            put_opt(m, "queued_as", v.queued_as);
            put_opt(m, "queue_id", v.queue_id);
            if from.is_none() {
                put(m, "from", v.from);
            }
            ev
        }
        FilterMsg::Spf(s) => {
            let from = s.envelope_from.filter(|f| is_email(f));
            let mut ev = if s.action == "reject" || from.is_none() {
                let mut ev = new_event(ctx, &BASE_EVENT, 99, product);
                other_activity(
                    &mut ev,
                    if s.action == "reject" {
                        "SPF Reject"
                    } else {
                        "SPF Check"
                    },
                );
                ev.message = Some(b(s.text));
                ev
            } else {
                let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3, product);
                // SPF is checked where mail comes in: recipients are ours.
                let dir = match from
                    .and_then(email_domain)
                    .map(|d| domain_is_local(d, &ctx.opts.local_domains))
                {
                    _ if ctx.opts.local_domains.is_empty() => 0,
                    Some(true) => 3,
                    Some(false) => 1,
                    None => 0,
                };
                set_direction(&mut ev, dir);
                ev.email = Some(Box::new(Email {
                    from: from.map(b),
                    ..Default::default()
                }));
                ev.email_auth = Some(Box::new(EmailAuth {
                    spf: Some(b(s.result)),
                    ..Default::default()
                }));
                ev.src_endpoint = s.client_ip.filter(|i| is_ip(i)).map(|i| {
                    Box::new(NetworkEndpoint {
                        ip: Some(b(i)),
                        ..Default::default()
                    })
                });
                ev
            };
            if s.action == "reject" {
                ev.set_severity(2);
                security(&mut ev, ACTION_DENIED, DISP_BLOCKED);
            }
            let m = vendor(&mut ev, "policyd_spf");
            put(m, "result", s.result);
            put(m, "action", s.action);
            put_opt(m, "identity", s.identity);
            put_opt(m, "helo", s.helo);
            put_opt(m, "receiver", s.receiver);
            if from.is_none() {
                put_opt(m, "envelope_from", s.envelope_from);
                put_opt(m, "client_ip", s.client_ip);
            }
            ev
        }
        FilterMsg::Postgrey(p) => {
            let from = p.sender.filter(|f| is_email(f));
            let to = p.recipient.filter(|t| is_email(t));
            let mut ev = if from.is_some() || to.is_some() {
                let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3, product);
                set_direction(
                    &mut ev,
                    direction(from, to.into_iter(), &ctx.opts.local_domains),
                );
                ev.email = Some(Box::new(Email {
                    from: from.map(b),
                    to: to.map(b).into_iter().collect(),
                    ..Default::default()
                }));
                ev.src_endpoint = endpoint(&postgrey_endpoint(p));
                ev
            } else {
                let mut ev = new_event(ctx, &BASE_EVENT, 99, product);
                other_activity(&mut ev, "Greylist Check");
                ev
            };
            if p.action == "greylist" {
                ev.set_status(status::OTHER, Some(b("greylisted")));
                security(&mut ev, ACTION_DENIED, DISP_DELAYED);
            } else {
                ev.set_status(status::SUCCESS, None);
                security(&mut ev, ACTION_ALLOWED, DISP_ALLOWED);
            }
            let m = vendor(&mut ev, "postgrey");
            put(m, "action", p.action);
            put_opt(m, "reason", p.reason);
            put_opt(m, "delay", p.delay);
            ev
        }
        FilterMsg::SpamdResult {
            flag,
            score,
            tests,
            info,
        } => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99, product);
            other_activity(&mut ev, "Spam Scan");
            let spam = *flag == "Y";
            if spam {
                ev.set_severity(2);
            }
            let m = vendor(&mut ev, "spamd");
            put(m, "is_spam", spam);
            if let Ok(s) = score.parse::<f64>() {
                put(m, "score", s);
            }
            let tests: Vec<Value> = tests
                .split(',')
                .filter(|t| !t.is_empty() && *t != "-")
                .map(|t| Value::String(t.to_string()))
                .collect();
            put(m, "tests", tests);
            for kv in crate::common::kv::kv_iter(
                info.split(' ').next().unwrap_or(""),
                crate::common::kv::Sep::Comma,
            ) {
                put(m, kv.key, kv.value);
            }
            for item in info.split(',') {
                if let Some((k, v)) = item.split_once('=') {
                    if !m.contains_key(k) && !k.contains(' ') {
                        put(m, k, v.trim_start_matches('<').trim_end_matches('>'));
                    }
                }
            }
            ev
        }
        FilterMsg::Other { text } => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99, product);
            other_activity(&mut ev, "Log");
            ev.message = Some(b(text));
            ev
        }
        FilterMsg::Dkim { .. } | FilterMsg::Dmarc { .. } => return None,
    };
    let mut ev = ev;
    let m = vendor(&mut ev, "syslog");
    put_opt(m, "program", ctx.program);
    if let Some(p) = ctx.pid.and_then(|p| p.parse::<i64>().ok()) {
        put(m, "pid", p);
    }
    Some(ev)
}

/// The Email Activity of an assembled message (see the module doc of
/// `postfix` for the rules). Falls back to a Base Event when the message has
/// no real address at all (OCSF `email` needs `from` or `to`).
pub fn message_event<'m>(m: &'m OpenMsg, reason: EmitReason, opts: &Options) -> Event<'m> {
    let from_raw = m.opt(m.from);
    let from = from_raw.filter(|f| is_email(f));
    let mut to: Vec<Str<'m>> = Vec::with_capacity(m.rcpts.len());
    for r in &m.rcpts {
        let t = m.get(r.to);
        if is_email(t) && !to.iter().any(|x| x == t) {
            to.push(b(t));
        }
    }
    let statuses = || m.rcpts.iter().map(|r| m.get(r.status));
    let any = |s: &str| statuses().any(|x| x == s);
    let delivered_locally = m.rcpts.iter().any(|r| {
        matches!(m.get(r.agent), "local" | "virtual" | "lmtp" | "pipe") && m.get(r.status) == "sent"
    });
    let relayed = m.rcpts.iter().any(|r| m.get(r.agent) == "smtp");
    let submitted = m.sasl_username.is_some() || m.origin == Origin::Pickup;
    let activity = if submitted && relayed {
        1
    } else if relayed {
        5
    } else if delivered_locally || m.origin == Origin::Smtpd {
        2
    } else {
        4
    };
    let has_email = from.is_some() || !to.is_empty();
    let class = if has_email {
        &EMAIL_ACTIVITY
    } else {
        &BASE_EVENT
    };
    let mut ev = Event::new(class, if has_email { activity } else { 99 }, m.first_ms);
    if !has_email {
        other_activity(&mut ev, "Message");
    }
    {
        let meta = ev.meta();
        meta.product = Some(Box::new(Product {
            name: Some(b(POSTFIX.0)),
            vendor_name: Some(b(POSTFIX.1)),
            ..Default::default()
        }));
        meta.log_name = Some(b("maillog"));
        meta.original_time = m.opt(m.original_time).map(b);
        if let Some(h) = m.opt(m.host) {
            meta.reporter = Some(Box::new(Reporter {
                hostname: Some(b(h)),
                ..Default::default()
            }));
        }
    }
    // Overall status.
    let rejected = m
        .actions
        .iter()
        .any(|a| matches!(m.get(a.action), "reject" | "milter-reject" | "proxy-reject"));
    let discarded = m
        .actions
        .iter()
        .any(|a| matches!(m.get(a.action), "discard" | "milter-discard"));
    let held = m
        .actions
        .iter()
        .any(|a| matches!(m.get(a.action), "hold" | "milter-hold"))
        || m.notes.iter().any(|(k, _)| *k == "hold");
    let failed = any("bounced") || any("expired") || any("undeliverable") || m.expired;
    let (st, label): (i32, Option<&str>) = if rejected || failed {
        (status::FAILURE, None)
    } else if discarded {
        (status::OTHER, Some("discarded"))
    } else if held && !m.removed {
        (status::OTHER, Some("held"))
    } else if any("deferred") && !m.rcpts.iter().all(|r| m.get(r.status) == "sent") {
        (status::OTHER, Some("deferred"))
    } else if !m.rcpts.is_empty() && statuses().all(|s| s == "sent" || s == "deliverable") {
        (status::SUCCESS, None)
    } else if !m.removed {
        (status::OTHER, Some("open"))
    } else {
        (status::UNKNOWN, None)
    };
    ev.set_status(st, label.map(b));
    if let Some(r) = m.rcpts.iter().find(|r| {
        matches!(
            m.get(r.status),
            "bounced" | "expired" | "undeliverable" | "deferred"
        )
    }) {
        ev.status_detail = m.opt(r.response).map(b);
        ev.status_code = m.opt(r.dsn).map(b);
    } else if let Some(a) = m.actions.iter().find(|a| {
        matches!(
            m.get(a.action),
            "reject" | "milter-reject" | "proxy-reject" | "discard" | "milter-discard"
        )
    }) {
        ev.status_detail = Some(b(m.get(a.text)));
    }
    if rejected {
        security(&mut ev, ACTION_DENIED, DISP_BLOCKED);
    } else if discarded {
        security(&mut ev, ACTION_DENIED, DISP_DROPPED);
    } else if held {
        security(&mut ev, ACTION_DENIED, DISP_QUARANTINED);
    }
    // `raw_data` is not set even with `Options::raw_data`: an assembled
    // message is many lines, not one record.
    let client = (m.client_host.is_some() || m.client_ip.is_some()).then(|| {
        Box::new(NetworkEndpoint {
            hostname: m.opt(m.client_host).map(b),
            ip: m.opt(m.client_ip).map(b),
            port: m.client_port,
            ..Default::default()
        })
    });
    let mut pf = Map::new();
    if has_email {
        set_direction(
            &mut ev,
            direction(from, to.iter().map(|t| t.as_ref()), &opts.local_domains),
        );
        ev.message_trace_uid = Some(b(m.get(m.qid)));
        ev.src_endpoint = client;
        ev.start_time = Some(m.first_ms);
        ev.end_time = Some(m.last_ms);
        ev.email = Some(Box::new(Email {
            from: from.map(b),
            to,
            message_uid: m.opt(m.message_id).map(b),
            size: m.size,
            ..Default::default()
        }));
        if m.dkim.is_some() || m.dmarc.is_some() || m.dkim_domain.is_some() {
            ev.email_auth = Some(Box::new(EmailAuth {
                dkim: m.opt(m.dkim).map(b),
                dkim_domain: m.opt(m.dkim_domain).map(b),
                dmarc: m.opt(m.dmarc).map(b),
                ..Default::default()
            }));
        }
    } else {
        pf.insert("queue_id".into(), m.get(m.qid).into());
        if let Some(c) = &client {
            put_opt(&mut pf, "client_host", c.hostname.as_deref());
            put_opt(&mut pf, "client_ip", c.ip.as_deref());
        }
        put_opt(&mut pf, "message_id", m.opt(m.message_id));
        if let Some(s) = m.size {
            put(&mut pf, "size", s);
        }
        put_opt(&mut pf, "dkim", m.opt(m.dkim));
        put_opt(&mut pf, "dmarc", m.opt(m.dmarc));
    }
    if let Some(f) = from_raw.filter(|f| !is_email(f)) {
        put(&mut pf, "from", f);
    }
    put_opt(&mut pf, "helo", m.opt(m.helo));
    put_opt(&mut pf, "sasl_method", m.opt(m.sasl_method));
    put_opt(&mut pf, "sasl_username", m.opt(m.sasl_username));
    put_opt(&mut pf, "uid", m.opt(m.uid));
    put_opt(&mut pf, "dmarc_domain", m.opt(m.dmarc_domain));
    if let Some(n) = m.nrcpt {
        put(&mut pf, "nrcpt", n);
    }
    put(
        &mut pf,
        "origin",
        match m.origin {
            Origin::Smtpd => "smtpd",
            Origin::Pickup => "pickup",
            Origin::Unknown => "unknown",
        },
    );
    if !m.rcpts.is_empty() {
        let list: Vec<Value> = m
            .rcpts
            .iter()
            .map(|r| {
                let mut o = Map::new();
                put(&mut o, "to", m.get(r.to));
                put_opt(&mut o, "orig_to", m.opt(r.orig_to));
                put(&mut o, "status", m.get(r.status));
                put_opt(&mut o, "dsn", m.opt(r.dsn));
                put_opt(&mut o, "relay", m.opt(r.relay));
                if let Some(d) = r.delay {
                    put(&mut o, "delay", d);
                }
                if let Some(d) = r.delays {
                    put(&mut o, "delays", json!({"before_qmgr": d[0], "in_qmgr": d[1], "connect": d[2], "transmit": d[3]}));
                }
                put_opt(&mut o, "response", m.opt(r.response));
                put(&mut o, "agent", m.get(r.agent));
                put(&mut o, "attempts", r.attempts);
                Value::Object(o)
            })
            .collect();
        put(&mut pf, "recipients", list);
    }
    if m.rcpts_dropped > 0 {
        put(&mut pf, "recipients_dropped", m.rcpts_dropped);
    }
    if !m.actions.is_empty() {
        let list: Vec<Value> = m
            .actions
            .iter()
            .map(|a| json!({"action": m.get(a.action), "stage": m.get(a.stage), "text": m.get(a.text)}))
            .collect();
        put(&mut pf, "actions", list);
    }
    if !m.notes.is_empty() {
        let list: Vec<Value> = m
            .notes
            .iter()
            .map(|(k, t)| json!({"kind": k, "text": m.get(*t)}))
            .collect();
        put(&mut pf, "notes", list);
    }
    if !m.notifications.is_empty() {
        let list: Vec<Value> = m
            .notifications
            .iter()
            .map(|(k, q)| json!({"kind": m.get(*k), "queue_id": m.get(*q)}))
            .collect();
        put(&mut pf, "notifications", list);
    }
    if m.notes_dropped > 0 {
        put(&mut pf, "notes_dropped", m.notes_dropped);
    }
    put(&mut pf, "removed", m.removed);
    if m.expired {
        put(&mut pf, "expired", true);
    }
    put(&mut pf, "emitted_on", reason.as_str());
    put(&mut pf, "lines", m.lines);
    ev.unmapped().insert("postfix".into(), Value::Object(pf));
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_table() {
        let locals = vec!["example.test".to_string(), "corp.example".to_string()];
        let cases: &[(Option<&str>, &[&str], i32)] = &[
            (Some("a@partner.test"), &["b@example.test"], 1),
            (Some("a@example.test"), &["b@gmail.com"], 2),
            (Some("a@example.test"), &["b@corp.example"], 3),
            (
                Some("a@example.test"),
                &["b@corp.example", "c@gmail.com"],
                2,
            ),
            (None, &["b@example.test"], 0),
            (Some("a@x.test"), &["b@y.test"], 0),
        ];
        for (from, to, want) in cases {
            assert_eq!(
                direction(*from, to.iter().copied(), &locals),
                *want,
                "{from:?} {to:?}"
            );
        }
        assert_eq!(
            direction(Some("a@x.test"), ["b@example.test"].into_iter(), &[]),
            0
        );
    }
}
