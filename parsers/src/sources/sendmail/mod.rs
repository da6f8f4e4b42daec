//! Sendmail (`sendmail`, `sm-mta`, `sm-msp-queue`, `sm-acceptingconnections`)
//! syslog lines to OCSF.
//!
//! **One event per line**, linked by the queue ID in `message_trace_uid`
//! (and `unmapped.sendmail.queue_id`): Sendmail writes the envelope sender
//! (`from=` line) and every recipient's outcome (`to=` lines) separately,
//! each line is complete on its own, and no line says the message is done,
//! so assembling would only delay events. The `from=` line carries the
//! Message-ID (`msgid=`), which also goes into `email.message_uid`.
//!
//! | line | event (`metadata.event_code`) |
//! |---|---|
//! | `QID: from=<a>, size=, nrcpts=, msgid=<m>, proto=, relay=host [ip]` | Email Activity 4009 Receive (`from`) |
//! | `QID: to=<a>,<b>, delay=, mailer=, relay=, dsn=, stat=Sent (...)` | Email Activity Send (mailer esmtp/smtp/relay) or Receive (local delivery); status from `stat` (`to`) |
//! | `[QID:] ruleset=check_rcpt/check_mail, arg1=<a>, relay=, reject=550 ...` | Email Activity Receive, Failure, `security_control` Denied/Blocked (4xx: Delayed) (`reject`) |
//! | `ruleset=check_relay, arg1=host, arg2=ip, relay=, reject=421 ...` | Network Activity 4001 Refuse, Denied (`relay_reject`) |
//! | `QID: <a>... User unknown` / `No such user here` | Email Activity Receive, Failure, Denied/Rejected (`rcpt_error`) |
//! | `AUTH=server, relay=, authid=u, mech=M` / `AUTH failure (M): ...` | Authentication 3002 Logon, Success / Failure (`auth`) |
//! | `STARTTLS=server/client, relay=, version=, cipher=, bits=` | Network Activity Other "TLS" (`starttls`) |
//! | `host [ip] did not issue MAIL/EXPN/VRFY/ETRN during connection to X` | Network Activity Close (`did_not_issue`) |
//! | `[ip]: EXPN/VRFY x [rejected]`, `rejecting commands from ... pre-greeting traffic` | Network Activity Refuse, Denied (`expn_vrfy`, `pregreet`) |
//! | `lost input channel from host [ip] to X after cmd` | Network Activity Reset (`lost_input`) |
//! | daemon start, alias rebuilds, `DSN:`, Milter, `fatal:` and other messages | Base Event, Other "Log" (`log`) |

use crate::common::addr::{is_email, is_ip, Endpoint};
use crate::common::mail::{
    self, action, b, disposition, new_event, other_activity, put, put_opt, reject, security,
    set_direction, vendor, LineCtx,
};
use crate::common::syslog::{parse_header, HeaderFormat};
use crate::common::time::TimeContext;
use crate::ocsf::{
    caption, Event, NetworkEndpoint, Service, Str, User, AUTHENTICATION, BASE_EVENT,
    EMAIL_ACTIVITY, NETWORK_ACTIVITY,
};
use crate::{Decoder, ErrorKind, Options, Outcome};
use serde_json::{Map, Value};

const PRODUCT: (&str, &str) = ("Sendmail", "Proofpoint");
const LOG_NAME: &str = "maillog";

/// A decoder for Sendmail lines.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(SendmailDecoder {
        tc: TimeContext::from_options(opts),
        opts: opts.clone(),
    })
}

struct SendmailDecoder {
    opts: Options,
    tc: TimeContext,
}

/// True for the syslog program names Sendmail logs under.
pub fn is_sendmail_program(app: &str) -> bool {
    let base = app.rsplit('/').next().unwrap_or(app);
    base == "sendmail" || base.starts_with("sm-") || base == "sm"
}

/// `key=value, key=value, ...` as Sendmail writes them: a value runs to the
/// next `, key=`; `stat=` and `reject=` take the rest of the line (their
/// text may contain `, `).
pub fn pairs(s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = &rest[..eq];
        if key.is_empty()
            || !key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        {
            break;
        }
        let after = &rest[eq + 1..];
        if matches!(key, "stat" | "reject") {
            out.push((key, after.trim()));
            break;
        }
        let mut end = after.len();
        let mut search = 0;
        while let Some(p) = after[search..].find(", ") {
            let at = search + p;
            let next = &after[at + 2..];
            let k_end = next
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(next.len());
            if k_end > 0 && next[k_end..].starts_with('=') {
                end = at;
                break;
            }
            search = at + 2;
        }
        out.push((key, after[..end].trim()));
        rest = after.get(end + 2..).unwrap_or("");
    }
    out
}

fn get<'a>(p: &[(&'a str, &'a str)], k: &str) -> Option<&'a str> {
    p.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
}

/// `relay=host [ip] (may be forged)` / `relay=[ip]` / `relay=user@host`.
pub fn relay(v: &str) -> (Endpoint<'_>, bool) {
    let forged = v.contains("(may be forged)");
    let v = v.trim_end_matches("(may be forged)").trim();
    let ep = match v.rsplit_once(' ') {
        Some((host, ipb)) if ipb.starts_with('[') => {
            let host = host.trim().trim_end_matches('.');
            let ip = ipb
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim_start_matches("IPv6:");
            Endpoint {
                hostname: (!host.is_empty() && !host.starts_with('[')).then_some(host),
                ip: is_ip(ip).then_some(ip),
                other: None,
                port: None,
            }
        }
        _ => {
            let inner = v.trim_start_matches('[').trim_end_matches(']');
            let inner = inner.trim_start_matches("IPv6:");
            if is_ip(inner) {
                Endpoint {
                    ip: Some(inner),
                    ..Default::default()
                }
            } else {
                Endpoint {
                    hostname: (!v.is_empty() && !v.contains(' ')).then_some(v),
                    ..Default::default()
                }
            }
        }
    };
    (ep, forged)
}

/// One Sendmail message (after the syslog header). Variant fields are
/// named after the log text they hold.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<'a> {
    /// `from=` line.
    From(Vec<(&'a str, &'a str)>),
    /// `to=` line.
    To(Vec<(&'a str, &'a str)>),
    /// `ruleset=` reject.
    Ruleset(Vec<(&'a str, &'a str)>),
    /// `<addr>... text`.
    RcptError { addr: &'a str, text: &'a str },
    /// `AUTH=server, ...` (success) or `AUTH failure (mech): ...`.
    Auth {
        ok: bool,
        mech: Option<&'a str>,
        pairs: Vec<(&'a str, &'a str)>,
        text: &'a str,
    },
    /// `STARTTLS=server|client, ...`.
    StartTls(Vec<(&'a str, &'a str)>),
    /// A connection-level line with the peer and a kind.
    Conn {
        kind: ConnKind,
        peer: &'a str,
        text: &'a str,
    },
    /// Anything else.
    Log(&'a str),
}

/// Connection-level line kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// `did not issue MAIL/EXPN/VRFY/ETRN`.
    NoMail,
    /// `EXPN x [rejected]` / `VRFY x [rejected]`.
    ExpnVrfy,
    /// `rejecting commands from ... due to pre-greeting traffic`.
    Pregreet,
    /// `lost input channel from ...`.
    LostInput,
}

impl ConnKind {
    fn code(self) -> &'static str {
        match self {
            ConnKind::NoMail => "did_not_issue",
            ConnKind::ExpnVrfy => "expn_vrfy",
            ConnKind::Pregreet => "pregreet",
            ConnKind::LostInput => "lost_input",
        }
    }
}

/// A queue ID: 14 or more alphanumerics (8.x writes 14, long ones 16+).
fn is_qid(s: &str) -> bool {
    s.len() >= 10 && s.len() <= 20 && s.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// Split `QID: rest`.
pub fn split_qid(msg: &str) -> (Option<&str>, &str) {
    match msg.split_once(": ") {
        Some((q, rest)) if is_qid(q) => (Some(q), rest),
        _ => (None, msg),
    }
}

/// Parse a message (without the queue ID).
pub fn parse(m: &str) -> Msg<'_> {
    if m.starts_with("from=") {
        return Msg::From(pairs(m));
    }
    if m.starts_with("to=") {
        return Msg::To(pairs(m));
    }
    if m.starts_with("ruleset=") {
        return Msg::Ruleset(pairs(m));
    }
    if m.starts_with("STARTTLS=") {
        return Msg::StartTls(pairs(m));
    }
    if m.starts_with("AUTH=") {
        return Msg::Auth {
            ok: true,
            mech: None,
            pairs: pairs(m),
            text: m,
        };
    }
    if let Some(r) = m.strip_prefix("AUTH failure (") {
        let (mech, rest) = r.split_once("):").unwrap_or(("", r));
        let ps = rest
            .rfind(", relay=")
            .map(|i| pairs(&rest[i + 2..]))
            .unwrap_or_default();
        return Msg::Auth {
            ok: false,
            mech: (!mech.is_empty()).then_some(mech),
            pairs: ps,
            text: m,
        };
    }
    if m.starts_with('<') {
        if let Some((addr, text)) = m.split_once(">... ") {
            return Msg::RcptError {
                addr: &addr[1..],
                text,
            };
        }
    }
    if let Some(i) = m.find(" did not issue ") {
        return Msg::Conn {
            kind: ConnKind::NoMail,
            peer: &m[..i],
            text: m,
        };
    }
    if let Some(r) = m.strip_prefix("rejecting commands from ") {
        let peer = r.split(" due to ").next().unwrap_or(r);
        return Msg::Conn {
            kind: ConnKind::Pregreet,
            peer,
            text: m,
        };
    }
    if let Some(r) = m.strip_prefix("lost input channel from ") {
        let peer = r.split(" to ").next().unwrap_or(r);
        return Msg::Conn {
            kind: ConnKind::LostInput,
            peer,
            text: m,
        };
    }
    if m.ends_with("[rejected]") {
        let lower = m.to_ascii_lowercase();
        if let Some(i) = lower.find("]: expn ").or_else(|| lower.find("]: vrfy ")) {
            return Msg::Conn {
                kind: ConnKind::ExpnVrfy,
                peer: &m[..=i],
                text: m,
            };
        }
    }
    Msg::Log(m)
}

fn ep_box<'a>(e: &Endpoint<'a>) -> Option<Box<NetworkEndpoint<'a>>> {
    mail::endpoint(e.hostname, e.ip, e.port)
}

/// `(status_id, label, action, disposition)` of a `stat=` text.
fn stat_outcome(stat: &str) -> (i32, Option<&'static str>, Option<(i32, i32)>) {
    if stat.starts_with("Sent") {
        (1, None, None)
    } else if stat.starts_with("Deferred") || stat.starts_with("queued") {
        (99, Some("deferred"), None)
    } else {
        (2, None, None)
    }
}

/// Store every pair not mapped under `m`.
fn keep(m: &mut Map<String, Value>, p: &[(&str, &str)], mapped: &[&str]) {
    for (k, v) in p {
        if !mapped.contains(k) {
            put(m, k, *v);
        }
    }
}

/// Map one message. `vkey` names the `unmapped` object (`sendmail`, or the
/// embedding product's).
pub fn map<'a>(ctx: &LineCtx<'a>, qid: Option<&'a str>, msg: &Msg<'a>, vkey: &str) -> Event<'a> {
    let locals = &ctx.opts.local_domains;
    let mut ev = match msg {
        Msg::From(p) => {
            let from = get(p, "from").unwrap_or("");
            let email = mail::email_of(Some(from), []);
            let mut ev = match email {
                Some(mut e) => {
                    let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 2);
                    e.message_uid = get(p, "msgid").map(|m| b(m.trim_matches(['<', '>'])));
                    e.size = get(p, "size").and_then(|s| s.parse().ok());
                    e.uid = qid.map(b);
                    set_direction(
                        &mut ev,
                        mail::direction(e.from.as_deref(), [].into_iter(), locals),
                    );
                    ev.email = Some(Box::new(e));
                    ev.message_trace_uid = qid.map(b);
                    ev
                }
                None => {
                    let mut ev = new_event(ctx, &BASE_EVENT, 99);
                    other_activity(&mut ev, "Message Received");
                    ev
                }
            };
            ev.set_status(1, None);
            ev.protocol_name = get(p, "proto").map(b);
            if let Some(r) = get(p, "relay") {
                ev.src_endpoint = ep_box(&relay(r).0);
            }
            ev.meta().event_code = Some(b("from"));
            let m = vendor(&mut ev, vkey);
            keep(m, p, &["size", "msgid", "proto", "from"]);
            if mail::bare_addr(from).is_none() {
                put(m, "from", from);
            }
            ev
        }
        Msg::To(p) => {
            let to = get(p, "to").unwrap_or("");
            let email = mail::email_of(None, to.split(','));
            let mailer = get(p, "mailer").unwrap_or("");
            let remote = matches!(mailer, "esmtp" | "smtp" | "relay" | "smtp8" | "dsmtp");
            let mut ev = match email {
                Some(mut e) => {
                    let mut ev = new_event(ctx, &EMAIL_ACTIVITY, if remote { 1 } else { 2 });
                    e.uid = qid.map(b);
                    set_direction(
                        &mut ev,
                        mail::direction(None, e.to.iter().map(|t| t.as_ref()), locals),
                    );
                    ev.email = Some(Box::new(e));
                    ev.message_trace_uid = qid.map(b);
                    ev
                }
                None => {
                    let mut ev = new_event(ctx, &BASE_EVENT, 99);
                    other_activity(&mut ev, "Delivery");
                    ev
                }
            };
            let stat = get(p, "stat").unwrap_or("");
            let (st, label, _) = stat_outcome(stat);
            ev.set_status(st, label.map(b));
            if st == 99 {
                security(&mut ev, action::ALLOWED, disposition::DELAYED);
            }
            ev.status_code = get(p, "dsn").map(b);
            if !stat.is_empty() {
                ev.status_detail = Some(b(stat));
            }
            if let Some(r) = get(p, "relay") {
                if remote {
                    ev.dst_endpoint = ep_box(&relay(r).0);
                }
            }
            ev.meta().event_code = Some(b("to"));
            let m = vendor(&mut ev, vkey);
            keep(m, p, &["dsn", "stat", "to"]);
            if ev_has_no_email_to(to) {
                put(vendor(&mut ev, vkey), "to", to);
            }
            ev
        }
        Msg::Ruleset(p) => {
            let ruleset = get(p, "ruleset").unwrap_or("");
            let arg1 = get(p, "arg1").unwrap_or("");
            let rej = get(p, "reject").unwrap_or("");
            let code = rej.split(' ').next().filter(|c| c.len() == 3);
            let temp = code.is_some_and(|c| c.starts_with('4'));
            let email = match ruleset {
                "check_rcpt" => mail::email_of(None, [arg1]),
                "check_mail" => mail::email_of(Some(arg1), []),
                _ => None,
            };
            let mut ev = match email {
                Some(mut e) => {
                    let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 2);
                    e.uid = qid.map(b);
                    set_direction(
                        &mut ev,
                        mail::direction(e.from.as_deref(), e.to.iter().map(|t| t.as_ref()), locals),
                    );
                    ev.email = Some(Box::new(e));
                    ev.message_trace_uid = qid.map(b);
                    ev.meta().event_code = Some(b("reject"));
                    ev
                }
                None => {
                    let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 5);
                    ev.dst_endpoint = Some(local(ctx));
                    ev.meta().event_code = Some(b(if ruleset == "check_relay" {
                        "relay_reject"
                    } else {
                        "reject"
                    }));
                    ev
                }
            };
            ev.set_status(2, None);
            security(
                &mut ev,
                action::DENIED,
                if temp {
                    disposition::DELAYED
                } else {
                    disposition::BLOCKED
                },
            );
            ev.set_severity(2);
            ev.status_code = code.map(b);
            ev.status_detail = Some(b(rej));
            let (peer, forged) = get(p, "relay").map(relay).unwrap_or_default();
            ev.src_endpoint = ep_box(&peer);
            let m = vendor(&mut ev, vkey);
            keep(m, p, &["reject", "relay"]);
            if forged {
                put(m, "may_be_forged", true);
            }
            if peer.ip.is_none() {
                put_opt(m, "relay", get(p, "relay"));
            }
            ev
        }
        Msg::RcptError { addr, text } => {
            let mut ev = match mail::email_of(None, [*addr]) {
                Some(mut e) => {
                    let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 2);
                    e.uid = qid.map(b);
                    set_direction(
                        &mut ev,
                        mail::direction(None, e.to.iter().map(|t| t.as_ref()), locals),
                    );
                    ev.email = Some(Box::new(e));
                    ev.message_trace_uid = qid.map(b);
                    ev
                }
                None => {
                    let mut ev = new_event(ctx, &BASE_EVENT, 99);
                    other_activity(&mut ev, "Recipient Error");
                    put(vendor(&mut ev, vkey), "recipient", *addr);
                    ev
                }
            };
            ev.set_status(2, None);
            security(&mut ev, action::DENIED, disposition::REJECTED);
            ev.status_detail = Some(b(text));
            ev.meta().event_code = Some(b("rcpt_error"));
            ev
        }
        Msg::Auth {
            ok,
            mech,
            pairs: p,
            text,
        } => {
            let mut ev = new_event(ctx, &AUTHENTICATION, 1);
            let user = get(p, "authid").filter(|u| !u.is_empty());
            ev.user = Some(Box::new(User {
                name: Some(b(user.unwrap_or("unknown"))),
                email_addr: user.filter(|u| is_email(u)).map(b),
                ..Default::default()
            }));
            ev.set_status(if *ok { 1 } else { 2 }, None);
            if !ok {
                ev.status_detail = Some(b(text));
                ev.set_severity(2);
            }
            let mech = mech.or_else(|| get(p, "mech"));
            if let Some(mech) = mech {
                let (id, label) = match mech.to_ascii_uppercase().as_str() {
                    "CRAM-MD5" | "DIGEST-MD5" => (3, None),
                    "GSSAPI" => (2, None),
                    "NTLM" => (1, None),
                    "XOAUTH2" | "OAUTHBEARER" => (6, None),
                    _ => (99, Some(mech)),
                };
                ev.auth_protocol_id = Some(id);
                ev.auth_protocol = match label {
                    Some(l) => Some(b(l)),
                    None => caption("authentication", "auth_protocol_id", i64::from(id))
                        .map(std::borrow::Cow::Borrowed),
                };
            }
            if let Some(r) = get(p, "relay") {
                ev.src_endpoint = ep_box(&relay(r).0);
            }
            ev.service = Some(Box::new(Service {
                name: Some(b("smtp")),
                ..Default::default()
            }));
            ev.dst_endpoint = Some(local(ctx));
            ev.meta().event_code = Some(b("auth"));
            let m = vendor(&mut ev, vkey);
            keep(m, p, &["authid", "relay"]);
            put_opt(m, "queue_id", qid);
            ev
        }
        Msg::StartTls(p) => {
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 99);
            other_activity(&mut ev, "TLS");
            let side = get(p, "STARTTLS").unwrap_or("");
            let peer = get(p, "relay").map(|r| relay(r).0).unwrap_or_default();
            if side == "client" {
                ev.src_endpoint = Some(local(ctx));
                ev.dst_endpoint = ep_box(&peer);
            } else {
                ev.src_endpoint = ep_box(&peer);
                ev.dst_endpoint = Some(local(ctx));
            }
            let mut tls = Map::new();
            put_opt(&mut tls, "version", get(p, "version"));
            put_opt(&mut tls, "cipher", get(p, "cipher"));
            if let Some(bits) = get(p, "bits")
                .and_then(|b| b.split('/').next())
                .and_then(|b| b.parse::<i64>().ok())
            {
                put(&mut tls, "key_length", bits);
            }
            if !tls.is_empty() {
                ev.tls = Some(Value::Object(tls));
            }
            if get(p, "verifymsg").is_some() || get(p, "verify").is_some_and(|v| v != "OK") {
                ev.status_detail = get(p, "verifymsg").map(b);
            }
            ev.meta().event_code = Some(b("starttls"));
            let m = vendor(&mut ev, vkey);
            keep(m, p, &["version", "cipher", "bits", "relay"]);
            put_opt(m, "queue_id", qid);
            ev
        }
        Msg::Conn { kind, peer, text } => {
            let activity = match kind {
                ConnKind::NoMail => 2,
                ConnKind::LostInput => 3,
                ConnKind::ExpnVrfy | ConnKind::Pregreet => 5,
            };
            let mut ev = new_event(ctx, &NETWORK_ACTIVITY, activity);
            let peer_s = peer.trim_end_matches(':');
            let (ep, forged) = relay(peer_s);
            ev.src_endpoint = ep_box(&ep);
            ev.dst_endpoint = Some(local(ctx));
            ev.message = Some(b(text));
            if matches!(kind, ConnKind::ExpnVrfy | ConnKind::Pregreet) {
                ev.set_status(2, None);
                security(&mut ev, action::DENIED, disposition::BLOCKED);
                ev.set_severity(2);
            }
            ev.meta().event_code = Some(b(kind.code()));
            let m = vendor(&mut ev, vkey);
            put_opt(m, "queue_id", qid);
            if forged {
                put(m, "may_be_forged", true);
            }
            ev
        }
        Msg::Log(text) => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99);
            other_activity(&mut ev, "Log");
            ev.message = Some(b(text));
            ev.meta().event_code = Some(b("log"));
            put_opt(vendor(&mut ev, vkey), "queue_id", qid);
            ev
        }
    };
    if ev.class_uid != Some(EMAIL_ACTIVITY.uid) && !matches!(msg, Msg::Log(_)) {
        put_opt(vendor(&mut ev, vkey), "queue_id", qid);
    }
    ev
}

fn ev_has_no_email_to(to: &str) -> bool {
    to.split(',').any(|t| mail::bare_addr(t).is_none())
}

fn local<'a>(ctx: &LineCtx<'a>) -> Box<NetworkEndpoint<'a>> {
    Box::new(NetworkEndpoint {
        hostname: ctx.host.map(b),
        svc_name: Some(b("smtp")),
        ..Default::default()
    })
}

impl Decoder for SendmailDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let text = mail::record_text(record);
        let line: &str = &text;
        let opts = &self.opts;
        if line.trim().is_empty() {
            return reject(
                record,
                ErrorKind::Empty,
                0,
                PRODUCT,
                LOG_NAME,
                None,
                opts,
                out,
            );
        }
        // fail2ban-style `Jun 17 14:37:39 <mail.notice> host sm-mta[1]:`: drop
        // the facility tag after the timestamp.
        let cleaned: Str<'_>;
        let line_for_header = match line.find(" <mail.") {
            Some(i) if i < 20 => {
                let end = line[i + 1..].find("> ").map(|e| i + 1 + e + 1);
                match end {
                    Some(e) => {
                        cleaned = Str::Owned(format!("{}{}", &line[..i], &line[e..]));
                        &cleaned[..]
                    }
                    None => line,
                }
            }
            _ => line,
        };
        let (h, msg) = parse_header(line_for_header, &mut self.tc);
        let at = line_for_header.len() - msg.len();
        if h.bad_timestamp {
            return reject(
                record,
                ErrorKind::Timestamp,
                0,
                PRODUCT,
                LOG_NAME,
                None,
                opts,
                out,
            );
        }
        match h.app_name {
            Some(app) if is_sendmail_program(app) => {}
            Some(_) => {
                return reject(
                    record,
                    ErrorKind::NotThisSource,
                    at,
                    PRODUCT,
                    LOG_NAME,
                    h.time_ms,
                    opts,
                    out,
                )
            }
            None if h.format == HeaderFormat::None || h.format == HeaderFormat::BareTag => {
                return reject(
                    record,
                    ErrorKind::Header,
                    0,
                    PRODUCT,
                    LOG_NAME,
                    h.time_ms,
                    opts,
                    out,
                )
            }
            None => {
                return reject(
                    record,
                    ErrorKind::UnknownMessage,
                    at,
                    PRODUCT,
                    LOG_NAME,
                    h.time_ms,
                    opts,
                    out,
                )
            }
        }
        let ctx = LineCtx {
            time_ms: h.time_ms.unwrap_or(opts.reference_time_ms),
            original_time: h.timestamp,
            host: h.hostname,
            raw: line,
            product: PRODUCT,
            log_name: LOG_NAME,
            opts,
        };
        let (qid, rest) = split_qid(msg);
        let parsed = parse(rest);
        let mut ev = map(&ctx, qid, &parsed, "sendmail");
        let is_email_ev = ev.class_uid == Some(EMAIL_ACTIVITY.uid);
        let m = vendor(&mut ev, "sendmail");
        put_opt(m, "program", h.app_name);
        if let Some(p) = h.proc_id.and_then(|p| p.parse::<i64>().ok()) {
            put(m, "pid", p);
        }
        if is_email_ev {
            put_opt(m, "queue_id", qid);
        }
        mail::fit_base(&mut ev);
        out(&mut ev);
        Outcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_lists() {
        let p = pairs("to=<a@x.test>,<b@x.test>, ctladdr=<r@x.test> (0/0), delay=00:00:00, mailer=esmtp, relay=mx.x.test. [192.0.2.1], dsn=2.0.0, stat=Sent (ok, queued as X)");
        assert_eq!(get(&p, "to"), Some("<a@x.test>,<b@x.test>"));
        assert_eq!(get(&p, "ctladdr"), Some("<r@x.test> (0/0)"));
        assert_eq!(get(&p, "relay"), Some("mx.x.test. [192.0.2.1]"));
        assert_eq!(get(&p, "stat"), Some("Sent (ok, queued as X)"));
        assert!(pairs("no pairs").is_empty());
        assert!(pairs("=x").is_empty());
    }

    #[test]
    fn relays() {
        let (e, f) = relay("host.example.test [192.0.2.9] (may be forged)");
        assert_eq!(
            (e.hostname, e.ip, f),
            (Some("host.example.test"), Some("192.0.2.9"), true)
        );
        let (e, _) = relay("[192.0.2.9]");
        assert_eq!((e.hostname, e.ip), (None, Some("192.0.2.9")));
        let (e, _) = relay("example.com [IPv6:2001:DB8::1]");
        assert_eq!(e.ip, Some("2001:DB8::1"));
        let (e, _) = relay("root@localhost");
        assert_eq!(e.ip, None);
    }

    #[test]
    fn messages() {
        assert!(matches!(parse("from=<a@b.test>, size=1"), Msg::From(_)));
        assert!(matches!(
            parse("<x@y.test>... User unknown"),
            Msg::RcptError {
                addr: "x@y.test",
                ..
            }
        ));
        assert!(matches!(
            parse("[192.0.2.1]: EXPN root [rejected]"),
            Msg::Conn {
                kind: ConnKind::ExpnVrfy,
                peer: "[192.0.2.1]",
                ..
            }
        ));
        assert!(matches!(
            parse("AUTH failure (LOGIN): authentication failure (-13) SASL(-13): x, relay=h [192.0.2.1]"),
            Msg::Auth { ok: false, mech: Some("LOGIN"), .. }
        ));
        assert!(matches!(parse("starting daemon"), Msg::Log(_)));
        assert_eq!(
            split_qid("s1P819mk027713: x"),
            (Some("s1P819mk027713"), "x")
        );
        assert_eq!(
            split_qid("ruleset=check_relay, a"),
            (None, "ruleset=check_relay, a")
        );
    }
}
