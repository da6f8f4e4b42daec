//! The grammar of Dovecot log lines, borrowed from the line.
//!
//! Two line shapes are read:
//!
//! ```text
//! Nov 22 12:31:53 imap-login: Info: Login: user=<a@b>, method=PLAIN, ...   log_path file
//! Aug 31 21:10:10 host dovecot: master: Warning: Killed with signal 15 ...  syslog
//! ```
//!
//! After the header comes the process tag `name[(ctx)][<pid>][<session>]: `
//! (`imap(alice@example.test)<20269><+5Laqtxg3cx/AAAf>`, `lmtp(19593)`,
//! `auth`, `master`), an optional level (`Info: `, `Warning: `, ...; syslog
//! drops `Info`) and the message.

use nom::bytes::complete::{tag, take_till, take_while1};
use nom::character::complete::char;
use nom::combinator::opt;
use nom::multi::many0;
use nom::sequence::delimited;
use nom::{IResult, Parser};

use crate::common::time::{parse_bsd_time, parse_iso_time, TimeContext};

/// The header and process tag of a Dovecot line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// The timestamp as written.
    pub timestamp: Option<&'a str>,
    /// Epoch ms (None when absent or impossible).
    pub time_ms: Option<i64>,
    /// A timestamp was written but is impossible.
    pub bad_timestamp: bool,
    /// Syslog host (syslog form only).
    pub host: Option<&'a str>,
    /// The process: `imap-login`, `imap`, `lmtp`, `auth`, `master`, ...
    pub process: &'a str,
    /// Text in the process's parentheses: a user or a pid.
    pub ctx: Option<&'a str>,
    /// `<pid>` after the tag.
    pub pid: Option<&'a str>,
    /// `<session>` after the tag.
    pub session: Option<&'a str>,
    /// `Info`, `Warning`, `Error`, `Fatal`, `Panic`, `Debug`.
    pub level: Option<&'a str>,
    /// The message after the tag and level.
    pub msg: &'a str,
}

fn pri(i: &str) -> &str {
    if let Some(r) = i.strip_prefix('<') {
        if let Some(end) = r.find('>') {
            if end <= 3 && r[..end].bytes().all(|b| b.is_ascii_digit()) {
                return &r[end + 1..];
            }
        }
    }
    i
}

/// `name[(ctx)][<a>][<b>]: `
#[allow(clippy::type_complexity)]
fn proc_tag(i: &str) -> IResult<&str, (&str, Option<&str>, Vec<&str>)> {
    let (i, name) =
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_').parse(i)?;
    let (i, ctx) = opt(delimited(char('('), take_till(|c| c == ')'), char(')'))).parse(i)?;
    let (i, angles) = many0(delimited(
        char('<'),
        take_till(|c| c == '>' || c == ' '),
        char('>'),
    ))
    .parse(i)?;
    let (i, _) = tag(": ").parse(i)?;
    Ok((i, (name, ctx, angles)))
}

const LEVELS: [&str; 6] = ["Info", "Warning", "Error", "Fatal", "Panic", "Debug"];

/// Syslog program `dovecot` / `dovecot[pid]` followed by `: `.
fn dovecot_prog(i: &str) -> Option<&str> {
    let r = i.strip_prefix("dovecot")?;
    let r = match r.strip_prefix('[') {
        Some(x) => &x[x.find(']')? + 1..],
        None => r,
    };
    r.strip_prefix(": ")
}

/// Read the header and process tag; `None` when the line is not shaped
/// like a Dovecot line.
pub fn parse_line<'a>(line: &'a str, tc: &mut TimeContext) -> Option<Line<'a>> {
    let body = pri(line);
    let mut l = Line {
        timestamp: None,
        time_ms: None,
        bad_timestamp: false,
        host: None,
        process: "",
        ctx: None,
        pid: None,
        session: None,
        level: None,
        msg: "",
    };
    let rest = if let Ok((r, t)) = parse_iso_time(body) {
        l.timestamp = Some(&body[..body.len() - r.len()]);
        l.time_ms = Some(tc.resolve_iso(&t));
        r
    } else if let Ok((r, t)) = parse_bsd_time(body) {
        l.timestamp = Some(&body[..body.len() - r.len()]);
        l.time_ms = tc.resolve_bsd(&t);
        l.bad_timestamp = l.time_ms.is_none();
        r
    } else {
        body
    };
    let rest = rest.trim_start_matches(' ');
    // Syslog: `[host ]dovecot[pid]: process: ...`.
    let rest = if let Some(r) = dovecot_prog(rest) {
        r
    } else if let Some((host, after)) = rest.split_once(' ') {
        match dovecot_prog(after) {
            Some(r) if !host.ends_with(':') => {
                l.host = Some(host);
                r
            }
            _ => rest,
        }
    } else {
        rest
    };
    let (msg, (name, ctx, angles)) = proc_tag(rest).ok()?;
    l.process = name;
    l.ctx = ctx;
    for a in angles {
        if l.pid.is_none() && !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) {
            l.pid = Some(a);
        } else if l.session.is_none() {
            l.session = Some(a);
        }
    }
    let mut msg = msg;
    for lv in LEVELS {
        if let Some(m) = msg.strip_prefix(lv).and_then(|m| m.strip_prefix(": ")) {
            l.level = Some(lv);
            msg = m;
            break;
        }
    }
    l.msg = msg.trim_end();
    // A line without a timestamp must at least look like Dovecot's.
    if l.timestamp.is_none() && !known_process(name) {
        return None;
    }
    Some(l)
}

/// Process names Dovecot uses (`*-login`, mail processes, services).
pub fn known_process(name: &str) -> bool {
    name.ends_with("-login")
        || matches!(
            name,
            "imap"
                | "pop3"
                | "lmtp"
                | "lda"
                | "submission"
                | "managesieve"
                | "auth"
                | "auth-worker"
                | "master"
                | "log"
                | "config"
                | "anvil"
                | "indexer"
                | "indexer-worker"
                | "dict"
                | "quota-status"
                | "doveadm"
                | "stats"
                | "replicator"
                | "aggregator"
                | "director"
        )
}

/// What a message says.
// Variant fields are named after the log fields; each variant's doc shows
// the line they come from.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<'a> {
    /// `*-login: Login: user=<u>, method=M, rip=..., ...`.
    Login(Fields<'a>),
    /// `*-login: Disconnected...: user=<u>, ...` / `Aborted login ...`;
    /// `reason` is the text before the fields.
    LoginEnd { reason: &'a str, f: Fields<'a> },
    /// `auth: passdb(user,ip[,<session>]): reason`.
    Passdb {
        passdb: &'a str,
        user: &'a str,
        ip: Option<&'a str>,
        session: Option<&'a str>,
        reason: &'a str,
    },
    /// Mail process end: `Disconnected: Logged out in=... out=...`,
    /// `Logged out ...`, `Connection closed ...`.
    Logout { reason: &'a str, stats: &'a str },
    /// mail_log plugin: `copy from INBOX: box=Trash, uid=1, msgid=<..>, ...`.
    MailLog { event: &'a str, f: Fields<'a> },
    /// LMTP/LDA delivery: `msgid=<id>: saved mail to INBOX`,
    /// `save failed to INBOX: reason`, sieve `stored mail into mailbox 'X'`.
    Delivery {
        msgid: &'a str,
        mailbox: Option<&'a str>,
        ok: Option<bool>,
        text: &'a str,
        sieve: bool,
    },
    /// `Connect from local` / `Disconnect from local: ...` (LMTP).
    Conn { connect: bool, text: &'a str },
    /// master `Dovecot v2.3.19.1 (..) starting up for imap, lmtp ...`.
    Start { version: Option<&'a str> },
    /// `Killed with signal 15 (by pid=.. uid=.. code=kill)`.
    Killed,
    /// Anything else of a Dovecot process.
    Other,
}

/// The `key=value` fields of a login-process line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields<'a> {
    /// `user=`.
    pub user: Option<&'a str>,
    /// `method=`.
    pub method: Option<&'a str>,
    /// `rip=`.
    pub rip: Option<&'a str>,
    /// `lip=`.
    pub lip: Option<&'a str>,
    /// `rport=`.
    pub rport: Option<&'a str>,
    /// `lport=`.
    pub lport: Option<&'a str>,
    /// `mpid=`.
    pub mpid: Option<&'a str>,
    /// `session=`.
    pub session: Option<&'a str>,
    /// `TLS`, `secured`, `TLS handshaking: ...`.
    pub tls: Option<&'a str>,
    /// mail_log `box=`.
    pub mailbox: Option<&'a str>,
    /// mail_log `uid=`.
    pub uid: Option<&'a str>,
    /// mail_log `msgid=`.
    pub msgid: Option<&'a str>,
    /// mail_log `size=` / `vsize=`.
    pub size: Option<&'a str>,
    /// mail_log `from=` (a header value: may have a display name).
    pub from: Option<&'a str>,
    /// mail_log `subject=` (the rest of the line).
    pub subject: Option<&'a str>,
    /// Other `k=v` items.
    pub extra: Vec<(&'a str, &'a str)>,
}

fn read_fields(s: &str) -> Fields<'_> {
    let mut f = Fields::default();
    let mut rest = s;
    while !rest.is_empty() {
        // `subject=` runs to the end of the line (it may hold ", ").
        if let Some(sub) = rest.strip_prefix("subject=") {
            f.subject = Some(sub);
            break;
        }
        let (item, next) = rest.split_once(", ").unwrap_or((rest, ""));
        rest = next;
        let (k, v) = match item.split_once('=') {
            Some((k, v)) if !k.contains(' ') => (
                k,
                v.strip_prefix('<')
                    .and_then(|x| x.strip_suffix('>'))
                    .unwrap_or(v),
            ),
            _ => {
                if f.tls.is_none() && (item.starts_with("TLS") || item == "secured") {
                    f.tls = Some(item);
                }
                continue;
            }
        };
        match k {
            "user" => f.user = Some(v),
            "method" => f.method = Some(v),
            "rip" => f.rip = Some(v),
            "lip" => f.lip = Some(v),
            "rport" => f.rport = Some(v),
            "lport" => f.lport = Some(v),
            "mpid" => f.mpid = Some(v),
            "session" => f.session = Some(v),
            "box" => f.mailbox = Some(v),
            "uid" => f.uid = Some(v),
            "msgid" => f.msgid = Some(v),
            "size" | "vsize" if f.size.is_none() => f.size = Some(v),
            "from" => f.from = Some(v),
            _ => f.extra.push((k, v)),
        }
    }
    f
}

/// Classify the message of a parsed line.
pub fn parse_msg<'a>(l: &Line<'a>) -> Msg<'a> {
    let m = l.msg;
    let p = l.process;
    if p.ends_with("-login") {
        if let Some(r) = m.strip_prefix("Login: ") {
            return Msg::Login(read_fields(r));
        }
        // `Disconnected: Aborted login by logging out (auth failed, 3
        // attempts in 3 secs): user=<..>, ...` — the fields start at the
        // first `user=` or `rip=` after `: `.
        let at = m.find("): user=").map(|i| i + 3).or_else(|| {
            m.find(": user=")
                .or_else(|| m.find(": rip="))
                .map(|i| i + 2)
        });
        if let Some(at) = at {
            let reason = m[..at].trim_end_matches([':', ' ']);
            return Msg::LoginEnd {
                reason,
                f: read_fields(&m[at..]),
            };
        }
        return Msg::Other;
    }
    if p == "auth" || p == "auth-worker" {
        if let Some(x) = passdb(m) {
            return x;
        }
        return Msg::Other;
    }
    if p == "master" {
        if let Some(r) = m.strip_prefix("Dovecot v") {
            if m.contains("starting up") {
                return Msg::Start {
                    version: r.split(' ').next(),
                };
            }
        }
        if m.starts_with("Dovecot ") && m.contains("starting up") {
            return Msg::Start { version: None };
        }
    }
    if m.starts_with("Killed with signal") {
        return Msg::Killed;
    }
    if p == "lmtp" || p == "lda" {
        if let Some(r) = m.strip_prefix("Connect from ") {
            return Msg::Conn {
                connect: true,
                text: r,
            };
        }
        if let Some(r) = m.strip_prefix("Disconnect from ") {
            return Msg::Conn {
                connect: false,
                text: r,
            };
        }
        if let Some(d) = delivery(m) {
            return d;
        }
        return Msg::Other;
    }
    if l.ctx.is_some() {
        for pre in ["Disconnected: ", "Disconnected ", ""] {
            if let Some(r) = m.strip_prefix(pre) {
                if pre.is_empty()
                    && !(r.starts_with("Logged out") || r.starts_with("Connection closed"))
                {
                    continue;
                }
                // `Logged out in=71 out=5992 ...` / `for inactivity in=..`
                let (reason, stats) = match r.find('=') {
                    Some(eq) => {
                        let cut = r[..eq].rfind(' ').map(|i| i + 1).unwrap_or(0);
                        (r[..cut].trim_end(), &r[cut..])
                    }
                    None => (r, ""),
                };
                let reason = reason.trim_start_matches(": ");
                return Msg::Logout { reason, stats };
            }
        }
        // mail_log: `event: box=...` or `copy from INBOX: box=...`.
        if let Some((event, r)) = m.split_once(": ") {
            if r.starts_with("box=") && !event.contains('=') && event.len() <= 64 {
                return Msg::MailLog {
                    event,
                    f: read_fields(r),
                };
            }
        }
    }
    Msg::Other
}

/// `passwd-file(user,ip[,<session>]): reason`.
fn passdb(m: &str) -> Option<Msg<'_>> {
    let open = m.find('(')?;
    let name = &m[..open];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let close = m.find("): ")?;
    if close < open {
        return None;
    }
    let inner = &m[open + 1..close];
    let reason = &m[close + 3..];
    let mut parts = inner.splitn(3, ',');
    let user = parts.next()?;
    let ip = parts.next().filter(|x| !x.is_empty() && *x != "?");
    let session = parts
        .next()
        .map(|s| s.trim_start_matches('<').trim_end_matches('>'));
    Some(Msg::Passdb {
        passdb: name,
        user,
        ip,
        session,
        reason,
    })
}

/// LMTP/LDA per-message lines.
fn delivery(m: &str) -> Option<Msg<'_>> {
    // Optional `SESSION: ` (2.2 puts the session id in the message) and
    // `sieve: `.
    let mut r = m;
    if let Some((first, rest)) = r.split_once(": ") {
        if !first.contains(['=', ' ']) && !first.starts_with("msgid") && first != "sieve" {
            r = rest;
        }
    }
    let sieve = r.starts_with("sieve: ");
    let r = r.strip_prefix("sieve: ").unwrap_or(r);
    let r = r.strip_prefix("msgid=")?;
    let (msgid, text) = if let Some(x) = r.strip_prefix('<') {
        let end = x.find(">: ")?;
        (&x[..end], &x[end + 3..])
    } else {
        r.split_once(": ")?
    };
    let (mailbox, ok) = if let Some(b) = text.strip_prefix("saved mail to ") {
        (Some(b), Some(true))
    } else if let Some(b) = text.strip_prefix("stored mail into mailbox ") {
        (Some(b.trim_matches('\'')), Some(true))
    } else if let Some(b) = text.strip_prefix("save failed to ") {
        (b.split(": ").next(), Some(false))
    } else if text.starts_with("rejected") || text.contains("failed") {
        (None, Some(false))
    } else {
        (None, None)
    };
    Some(Msg::Delivery {
        msgid,
        mailbox,
        ok,
        text,
        sieve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc() -> TimeContext {
        TimeContext::new(Some(2026), 0, 0)
    }

    #[test]
    fn headers() {
        let l = parse_line(
            "Nov 22 12:32:15 imap(alice@example.test)<20269><+5Laqtxg3cx/AAAf>: Info: Disconnected: Logged out in=210 out=2003",
            &mut tc(),
        )
        .unwrap();
        assert_eq!(l.process, "imap");
        assert_eq!(l.ctx, Some("alice@example.test"));
        assert_eq!(l.pid, Some("20269"));
        assert_eq!(l.session, Some("+5Laqtxg3cx/AAAf"));
        assert_eq!(l.level, Some("Info"));
        assert_eq!(
            parse_msg(&l),
            Msg::Logout {
                reason: "Logged out",
                stats: "in=210 out=2003"
            }
        );
        let l = parse_line(
            "Aug 31 21:10:10 xxxxxxxx dovecot: master: Warning: Killed with signal 15 (by pid=6068 uid=0 code=kill)",
            &mut tc(),
        )
        .unwrap();
        assert_eq!(
            (l.host, l.process, l.level),
            (Some("xxxxxxxx"), "master", Some("Warning"))
        );
        assert!(parse_line("hello world", &mut tc()).is_none());
        assert!(parse_line("Nov 22 12:00:00 nothing here", &mut tc()).is_none());
    }

    #[test]
    fn messages() {
        let mut t = tc();
        let l = parse_line("Nov 22 12:31:53 auth: Info: passwd-file(frank@corp.example,127.50.32.67,<r9+MqdxgGaR/MiBD>): Password mismatch", &mut t).unwrap();
        assert_eq!(
            parse_msg(&l),
            Msg::Passdb {
                passdb: "passwd-file",
                user: "frank@corp.example",
                ip: Some("127.50.32.67"),
                session: Some("r9+MqdxgGaR/MiBD"),
                reason: "Password mismatch"
            }
        );
        let l = parse_line("Nov 22 12:31:56 imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 3 attempts in 3 secs): user=<frank@corp.example>, method=PLAIN, rip=127.50.32.67, lip=127.0.0.1, session=<r9+MqdxgGaR/MiBD>", &mut t).unwrap();
        let Msg::LoginEnd { reason, f } = parse_msg(&l) else {
            panic!()
        };
        assert_eq!(
            reason,
            "Disconnected: Aborted login by logging out (auth failed, 3 attempts in 3 secs)"
        );
        assert_eq!(f.user, Some("frank@corp.example"));
        let l = parse_line("Nov 22 12:31:53 lmtp(carol@example.test)<19593><oKdXELngAmuJTAAAg+zDdQ>: Info: msgid=<1.2@partner.test>: save failed to INBOX: Quota exceeded (mailbox for user is full)", &mut t).unwrap();
        let Msg::Delivery {
            msgid, mailbox, ok, ..
        } = parse_msg(&l)
        else {
            panic!()
        };
        assert_eq!(
            (msgid, mailbox, ok),
            ("1.2@partner.test", Some("INBOX"), Some(false))
        );
        let l = parse_line("Nov 22 12:32:15 imap(erin@corp.example)<20273><pMHbqtxgc7F/AAAh>: Info: copy from INBOX: box=Junk, uid=1, msgid=<x@d.test>, size=2018, from=Deals Daily <promo@deals-daily.test>, subject=Deal #12, just for you", &mut t).unwrap();
        let Msg::MailLog { event, f } = parse_msg(&l) else {
            panic!()
        };
        assert_eq!(event, "copy from INBOX");
        assert_eq!(f.subject, Some("Deal #12, just for you"));
        assert_eq!(f.from, Some("Deals Daily <promo@deals-daily.test>"));
    }
}
