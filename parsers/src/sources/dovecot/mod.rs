//! Dovecot (IMAP/POP3/LMTP server, SASL backend) log lines to OCSF.
//!
//! Reads Dovecot's own `log_path` file (`Nov 22 12:31:53 imap-login: Info:
//! Login: ...`) and its syslog form (`host dovecot: imap-login: Login:
//! ...`); the grammar is in [`parse`].
//!
//! | line | event |
//! |---|---|
//! | `*-login: Login: user=<u>, method=M, rip=, lip=, session=<s>` | Authentication 3002 Logon, Success |
//! | `auth: passdb(user,ip[,<session>]): Password mismatch` / `unknown user` / other failure | Authentication Logon, Failure (one per attempt) |
//! | `*-login: Disconnected ... (auth failed, N attempts in N secs): user=<u>, ...` | Authentication Other "Aborted Login", Failure, `count` = N (a session summary: the attempts themselves are the lines above) |
//! | `*-login: Disconnected (no auth attempts ...)` and other login-process ends | Authentication Other "Disconnected" (Base Event when no user) |
//! | `imap(u)...: Disconnected: Logged out in=.. out=..` | Authentication Logoff, with the counters under `unmapped.dovecot.stats` |
//! | mail_log `copy from INBOX: box=.., msgid=.., from=.., subject=..`, `delete:`, `expunge:`, `save:`, ... | Email Activity Other (`activity_name` the event), `actor.user` the mailbox owner (Base Event when no sender address) |
//! | LMTP/LDA `msgid=<id>: saved mail to INBOX`, sieve `stored mail into mailbox 'X'` | Email Activity Receive, Success, `email.to` the mailbox, `email.message_uid` |
//! | LMTP `msgid=<id>: save failed to INBOX: Quota exceeded (...)` | Email Activity Receive, Failure, `status_detail` the reason |
//! | master start-up, `Killed with signal`, LMTP `Connect/Disconnect from local`, any other line of a Dovecot process | Base Event, Other (label: Start, Stop, Connect, Disconnect, or the log level) |
//!
//! A line with neither a timestamp nor a Dovecot process tag is the
//! fallback event and [`Outcome::Unparsed`].

pub mod parse;

use std::borrow::Cow;

use serde_json::Value;

use crate::common::addr::{is_email, is_ip};
use crate::common::scan::{self, new_event, other_event, put, put_opt, vendor, LineCtx};
use crate::common::time::TimeContext;
use crate::ocsf::{
    caption, status, Actor, Email, Event, NetworkEndpoint, Service, Session, Str, User,
    AUTHENTICATION, BASE_EVENT, EMAIL_ACTIVITY,
};
use crate::sources::postfix::ocsf::direction;
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

use parse::{parse_line, parse_msg, Fields, Line, Msg};

const PRODUCT: (&str, &str) = ("Dovecot", "Dovecot");
const LOG_NAME: &str = "dovecot";

/// Decoder of Dovecot log lines; see the module doc.
pub struct DovecotDecoder {
    opts: Options,
    tc: TimeContext,
}

/// A fresh Dovecot decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(DovecotDecoder {
        opts: opts.clone(),
        tc: TimeContext::from_options(opts),
    })
}

impl Decoder for DovecotDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let text = match crate::common::utf8::text(record) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(record),
        };
        let line = text.trim_end_matches(['\r', '\n']);
        let opts = &self.opts;
        let fail =
            |kind: ErrorKind, at: usize, t: Option<i64>, out: &mut dyn FnMut(&mut Event<'_>)| {
                let err = ParseError { kind, at };
                out(&mut scan::unparsed(record, err, PRODUCT, LOG_NAME, t, opts));
                Outcome::Unparsed(err)
            };
        if line.trim().is_empty() {
            return fail(ErrorKind::Empty, 0, None, out);
        }
        let Some(l) = parse_line(line, &mut self.tc) else {
            return fail(ErrorKind::Header, 0, None, out);
        };
        if l.bad_timestamp {
            return fail(ErrorKind::Timestamp, 0, None, out);
        }
        let ctx = LineCtx {
            time_ms: l.time_ms.unwrap_or(opts.reference_time_ms),
            original_time: l.timestamp,
            host: l.host,
            raw: line,
            product: PRODUCT.0,
            vendor: PRODUCT.1,
            log_name: LOG_NAME,
            opts,
        };
        let msg = parse_msg(&l);
        out(&mut map(&ctx, &l, &msg));
        Outcome::Parsed
    }
}

fn b(s: &str) -> Str<'_> {
    Cow::Borrowed(s)
}

fn severity_of(level: Option<&str>) -> i32 {
    match level {
        Some("Warning") => 2,
        Some("Error") => 3,
        Some("Fatal") => 4,
        Some("Panic") => 5,
        _ => 1,
    }
}

/// `unmapped.dovecot` with the process, its context and pid.
fn dovecot_map<'e>(ev: &'e mut Event<'_>, l: &Line<'_>) -> &'e mut serde_json::Map<String, Value> {
    let m = vendor(ev, "dovecot");
    put(m, "process", l.process);
    put_opt(m, "process_context", l.ctx);
    if let Some(p) = l.pid.and_then(|p| p.parse::<i64>().ok()) {
        put(m, "pid", p);
    }
    put_opt(m, "level", l.level);
    m
}

fn user(name: &str) -> Box<User<'_>> {
    Box::new(User {
        name: Some(b(name)),
        email_addr: is_email(name).then(|| b(name)),
        ..Default::default()
    })
}

fn endpoint<'a>(ip: Option<&'a str>, port: Option<&'a str>) -> Option<Box<NetworkEndpoint<'a>>> {
    let ip = ip.filter(|i| is_ip(i))?;
    Some(Box::new(NetworkEndpoint {
        ip: Some(b(ip)),
        port: port.and_then(|p| p.parse().ok()),
        ..Default::default()
    }))
}

/// The protocol a process serves: `imap-login` → `imap`.
fn protocol(process: &str) -> &str {
    process.strip_suffix("-login").unwrap_or(process)
}

fn set_auth_protocol<'a>(ev: &mut Event<'a>, method: &'a str) {
    let (id, label): (i32, Option<&str>) = match method.to_ascii_uppercase().as_str() {
        "CRAM-MD5" | "DIGEST-MD5" | "SCRAM-SHA-1" | "SCRAM-SHA-256" => (3, None),
        "GSSAPI" => (2, None),
        "NTLM" => (1, None),
        "XOAUTH2" | "OAUTHBEARER" => (6, None),
        _ => (99, Some(method)),
    };
    ev.auth_protocol_id = Some(id);
    ev.auth_protocol = if id == 99 {
        label.map(b)
    } else {
        caption("authentication", "auth_protocol_id", i64::from(id)).map(Cow::Borrowed)
    };
}

/// An Authentication event for `user` from a login-process line.
fn auth_event<'a>(
    ctx: &LineCtx<'a>,
    l: &Line<'a>,
    activity: i32,
    label: Option<&'static str>,
    name: &'a str,
    f: Option<&Fields<'a>>,
) -> Event<'a> {
    let mut ev = match label {
        Some(lb) => other_event(ctx, &AUTHENTICATION, lb),
        None => new_event(ctx, &AUTHENTICATION, activity),
    };
    ev.user = Some(user(name));
    ev.service = Some(Box::new(Service {
        name: Some(b(protocol(l.process))),
        ..Default::default()
    }));
    if let Some(f) = f {
        ev.src_endpoint = endpoint(f.rip, f.rport);
        ev.dst_endpoint = endpoint(f.lip, f.lport);
        if let Some(m) = f.method {
            set_auth_protocol(&mut ev, m);
        }
        if let Some(s) = f.session.or(l.session) {
            ev.session = Some(Box::new(Session {
                uid: Some(b(s)),
                ..Default::default()
            }));
        }
    } else if let Some(s) = l.session {
        ev.session = Some(Box::new(Session {
            uid: Some(b(s)),
            ..Default::default()
        }));
    }
    let m = dovecot_map(&mut ev, l);
    if let Some(f) = f {
        put_opt(m, "tls", f.tls);
        if let Some(p) = f.mpid.and_then(|p| p.parse::<i64>().ok()) {
            put(m, "mail_pid", p);
        }
        if f.rip.is_some_and(|r| !is_ip(r)) {
            put_opt(m, "rip", f.rip);
        }
        for (k, v) in &f.extra {
            put(m, k, *v);
        }
    }
    ev
}

/// `(auth failed, 3 attempts in 3 secs)` → 3.
fn attempts(reason: &str) -> Option<i32> {
    let at = reason.find("auth failed, ")? + "auth failed, ".len();
    reason[at..].split(' ').next()?.parse().ok()
}

fn passdb_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "password mismatch",
        "unknown user",
        "user not found",
        "invalid password",
        "authentication failure",
        "pam_authenticate() failed",
        "account expired",
        "password expired",
        "locked",
        "denied",
        "disallowed",
    ]
    .iter()
    .any(|w| r.starts_with(w) || r.contains(w))
}

fn map<'a>(ctx: &LineCtx<'a>, l: &Line<'a>, msg: &Msg<'a>) -> Event<'a> {
    match msg {
        Msg::Login(f) => match f.user.filter(|u| !u.is_empty()) {
            Some(u) => {
                let mut ev = auth_event(ctx, l, 1, None, u, Some(f));
                ev.set_status(status::SUCCESS, None);
                ev
            }
            None => base(ctx, l, "Login", None),
        },
        Msg::LoginEnd { reason, f } => {
            let failed = reason.contains("auth failed");
            match f.user.filter(|u| !u.is_empty()) {
                Some(u) => {
                    let label = if failed {
                        "Aborted Login"
                    } else {
                        "Disconnected"
                    };
                    let mut ev = auth_event(ctx, l, 99, Some(label), u, Some(f));
                    if failed {
                        ev.set_status(status::FAILURE, None);
                        ev.set_severity(2);
                        ev.count = attempts(reason);
                    } else {
                        ev.set_status(status::OTHER, Some(b("disconnected")));
                    }
                    ev.status_detail = Some(b(reason));
                    ev
                }
                None => {
                    let mut ev = base(ctx, l, "Disconnected", Some(reason));
                    let m = vendor(&mut ev, "dovecot");
                    put_opt(m, "rip", f.rip);
                    put_opt(m, "lip", f.lip);
                    put_opt(m, "session", f.session);
                    put_opt(m, "method", f.method);
                    ev
                }
            }
        }
        Msg::Passdb {
            passdb,
            user: u,
            ip,
            session,
            reason,
        } if passdb_failure(reason) && !u.is_empty() => {
            let mut ev = new_event(ctx, &AUTHENTICATION, 1);
            ev.user = Some(user(u));
            ev.set_status(status::FAILURE, None);
            ev.set_severity(2);
            ev.status_detail = Some(b(reason));
            ev.src_endpoint = endpoint(*ip, None);
            ev.service = Some(Box::new(Service {
                name: Some(b("auth")),
                ..Default::default()
            }));
            if let Some(s) = session {
                ev.session = Some(Box::new(Session {
                    uid: Some(b(s)),
                    ..Default::default()
                }));
            }
            let m = dovecot_map(&mut ev, l);
            put(m, "passdb", *passdb);
            if ip.is_some_and(|i| !is_ip(i)) {
                put_opt(m, "rip", *ip);
            }
            ev
        }
        Msg::Passdb {
            passdb,
            user: u,
            ip,
            reason,
            ..
        } => {
            let mut ev = base(ctx, l, "Auth", Some(reason));
            let m = vendor(&mut ev, "dovecot");
            put(m, "passdb", *passdb);
            put(m, "user", *u);
            put_opt(m, "rip", *ip);
            ev
        }
        Msg::Logout { reason, stats } => match l.ctx.filter(|u| !u.is_empty()) {
            Some(u) => {
                let mut ev = auth_event(ctx, l, 2, None, u, None);
                ev.set_status(status::SUCCESS, None);
                if !reason.is_empty() {
                    ev.status_detail = Some(b(reason));
                }
                let m = dovecot_map(&mut ev, l);
                let mut st = serde_json::Map::new();
                for item in stats.split([' ', ',']).filter(|x| !x.is_empty()) {
                    if let Some((k, v)) = item.split_once('=') {
                        match v.parse::<i64>() {
                            Ok(n) => put(&mut st, k, n),
                            Err(_) => put(&mut st, k, v),
                        }
                    }
                }
                if !st.is_empty() {
                    put(m, "stats", st);
                }
                ev
            }
            None => base(ctx, l, "Logout", Some(reason)),
        },
        Msg::MailLog { event, f } => mail_log(ctx, l, event, f),
        Msg::Delivery {
            msgid,
            mailbox,
            ok,
            text,
            sieve,
        } => {
            let rcpt = l.ctx.filter(|u| is_email(u));
            let Some(rcpt) = rcpt else {
                let mut ev = base(ctx, l, "Delivery", Some(text));
                let m = vendor(&mut ev, "dovecot");
                put(m, "message_id", *msgid);
                put_opt(m, "mailbox", *mailbox);
                return ev;
            };
            let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 2);
            scan::set_direction(
                &mut ev,
                direction(None, [rcpt].into_iter(), &ctx.opts.local_domains),
            );
            ev.email = Some(Box::new(Email {
                to: vec![b(rcpt)],
                message_uid: (!msgid.is_empty() && *msgid != "unspecified").then(|| b(msgid)),
                ..Default::default()
            }));
            match ok {
                Some(true) => ev.set_status(status::SUCCESS, None),
                Some(false) => {
                    ev.set_status(status::FAILURE, None);
                    ev.set_severity(2);
                    ev.status_detail = Some(b(text));
                }
                None => {
                    ev.set_status(status::OTHER, Some(b("other")));
                    ev.status_detail = Some(b(text));
                }
            }
            ev.protocol_name = Some(b(if l.process == "lda" { "lda" } else { "lmtp" }));
            let m = dovecot_map(&mut ev, l);
            put_opt(m, "mailbox", *mailbox);
            put_opt(m, "session", l.session);
            if *sieve {
                put(m, "sieve", true);
            }
            ev
        }
        Msg::Conn { connect, text } => base(
            ctx,
            l,
            if *connect { "Connect" } else { "Disconnect" },
            Some(text),
        ),
        Msg::Start { version } => {
            let mut ev = base(ctx, l, "Start", None);
            if let Some(v) = version {
                if let Some(p) = ev.meta().product.as_mut() {
                    p.version = Some(b(v));
                }
            }
            ev
        }
        Msg::Killed => base(ctx, l, "Stop", None),
        Msg::Other => {
            let label = match l.level {
                Some("Warning") => "Warning",
                Some("Error") => "Error",
                Some("Fatal") => "Fatal",
                Some("Panic") => "Panic",
                Some("Debug") => "Debug",
                _ => "Info",
            };
            base(ctx, l, label, None)
        }
    }
}

/// Base Event, Other `label`, `message` the line's message (or `text`).
fn base<'a>(
    ctx: &LineCtx<'a>,
    l: &Line<'a>,
    label: &'static str,
    text: Option<&'a str>,
) -> Event<'a> {
    let mut ev = other_event(ctx, &BASE_EVENT, label);
    ev.set_severity(severity_of(l.level));
    ev.message = Some(b(l.msg));
    let m = dovecot_map(&mut ev, l);
    put_opt(m, "session", l.session);
    if let Some(t) = text.filter(|t| *t != l.msg) {
        put(m, "detail", t);
    }
    ev
}

/// mail_log plugin events: a user acting on a message in a mailbox.
fn mail_log<'a>(ctx: &LineCtx<'a>, l: &Line<'a>, event: &'a str, f: &Fields<'a>) -> Event<'a> {
    let from = f.from.map(scan::header_addr).filter(|a| is_email(a));
    let owner = l.ctx.filter(|u| !u.is_empty());
    let label: &'static str = match event.split(' ').next().unwrap_or(event) {
        "copy" => "Copy",
        "delete" => "Delete",
        "expunge" => "Expunge",
        "save" => "Save",
        "append" => "Append",
        "flag_change" => "Flag Change",
        "undelete" => "Undelete",
        "mailbox_create" => "Mailbox Create",
        "mailbox_delete" => "Mailbox Delete",
        "mailbox_rename" => "Mailbox Rename",
        _ => "Mailbox Event",
    };
    let mut ev = match from {
        Some(from) => {
            let mut ev = other_event(ctx, &EMAIL_ACTIVITY, label);
            scan::set_direction(
                &mut ev,
                direction(Some(from), owner.into_iter(), &ctx.opts.local_domains),
            );
            ev.email = Some(Box::new(Email {
                from: Some(b(from)),
                message_uid: f.msgid.filter(|m| !m.is_empty()).map(b),
                subject: f.subject.map(b),
                size: f.size.and_then(|s| s.parse().ok()),
                ..Default::default()
            }));
            ev.set_status(status::SUCCESS, None);
            if let Some(o) = owner {
                // `actor` on Email Activity comes with the `host` profile.
                ev.actor = Some(Box::new(Actor {
                    user: Some(user(o)),
                    ..Default::default()
                }));
                scan::add_profile(&mut ev, "host");
            }
            ev
        }
        None => {
            let mut ev = other_event(ctx, &BASE_EVENT, label);
            ev.message = Some(b(l.msg));
            ev
        }
    };
    let is_email_ev = ev.class_uid == Some(EMAIL_ACTIVITY.uid);
    let m = dovecot_map(&mut ev, l);
    put(m, "event", event);
    put_opt(m, "mailbox", f.mailbox);
    put_opt(m, "uid", f.uid);
    put_opt(m, "session", l.session);
    if !is_email_ev {
        put_opt(m, "message_id", f.msgid);
        put_opt(m, "from", f.from);
        put_opt(m, "subject", f.subject);
        put_opt(m, "user", owner);
    } else if f.from.is_some_and(|x| x != scan::header_addr(x)) {
        put_opt(m, "from_header", f.from);
    }
    for (k, v) in &f.extra {
        put(m, k, *v);
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> (Outcome, Vec<serde_json::Value>) {
        let opts = Options {
            reference_time_ms: 1_795_348_800_000,
            local_domains: vec!["example.test".into(), "corp.example".into()],
            ..Options::default()
        };
        let mut d = decoder(&opts);
        let mut v = Vec::new();
        let o = d.decode(line.as_bytes(), 0, &mut |e| {
            v.push(serde_json::to_value(e).unwrap())
        });
        (o, v)
    }

    #[test]
    fn brute_force_then_success_same_user() {
        let (o, f) = run("Nov 22 12:31:53 auth: Info: passwd-file(frank@corp.example,127.50.32.67,<r9+MqdxgGaR/MiBD>): Password mismatch");
        assert!(o.is_parsed());
        let (_, s) = run("Nov 22 12:32:03 imap-login: Info: Login: user=<frank@corp.example>, method=PLAIN, rip=127.50.32.67, lip=127.0.0.1, mpid=19860, session=<GTMeqtxgFdF/MiBD>");
        assert_eq!(f[0]["class_uid"], 3002);
        assert_eq!(f[0]["status_id"], 2);
        assert_eq!(s[0]["status_id"], 1);
        assert_eq!(f[0]["user"]["name"], s[0]["user"]["name"]);
        assert_eq!(s[0]["src_endpoint"]["ip"], "127.50.32.67");
    }

    #[test]
    fn quota_and_unparsed() {
        let (_, e) = run("Nov 22 12:31:53 lmtp(carol@example.test)<19593><oKdXELngAmuJTAAAg+zDdQ>: Info: msgid=<a.b@partner.test>: save failed to INBOX: Quota exceeded (mailbox for user is full)");
        assert_eq!(e[0]["class_uid"], 4009);
        assert_eq!(e[0]["status_id"], 2);
        assert_eq!(e[0]["email"]["message_uid"], "a.b@partner.test");
        let (o, e) = run("this is not dovecot");
        assert!(!o.is_parsed());
        assert_eq!(e[0]["class_uid"], 0);
    }
}
