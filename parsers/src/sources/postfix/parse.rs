//! The Postfix message grammar: what follows the syslog header.
//!
//! [`parse_message`] turns the message text of one line into a [`Msg`] whose
//! fields borrow from the line. It knows the lines of smtpd, postscreen,
//! cleanup, qmgr, the delivery agents (smtp, lmtp, local, virtual, pipe,
//! error, discard), bounce, pickup, anvil, dnsblog, tlsproxy, scache, master
//! and postfix-script, daemon warnings, and Postfix's verbose (`-v`) debug
//! output. The program name only helps: a bare message (no header) is tried
//! against every shape. `None` means "not a Postfix message I know".

use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::opt;
use nom::{IResult, Parser};

use crate::common::addr::{parse_endpoint, Endpoint};
use crate::common::kv::{kv_iter, Sep};

/// One recognised Postfix message.
// Variant fields are named after the log fields and described in each
// variant's doc, which shows the line they come from.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<'a> {
    /// smtpd `connect from host[ip]`.
    Connect { client: Endpoint<'a> },
    /// smtpd `disconnect from host[ip] ehlo=1 mail=1 ... commands=5`.
    Disconnect {
        client: Endpoint<'a>,
        commands: &'a str,
    },
    /// `lost connection after CMD from ...` (`kind` "lost"), `timeout after
    /// CMD from ...` ("timeout"), `too many errors after CMD from ...`
    /// ("too_many_errors").
    ConnEnd {
        kind: &'static str,
        after: &'a str,
        client: Endpoint<'a>,
    },
    /// `improper command pipelining after CMD from host[ip]: ...`.
    Pipelining {
        after: &'a str,
        client: Endpoint<'a>,
    },
    /// `<trust> TLS connection established (from|to) peer: TLSv1.3 with cipher X (256/256 bits)`.
    Tls(Tls<'a>),
    /// `warning: host[ip]: SASL LOGIN authentication failed: reason[, sasl_username=u]`.
    SaslFailure {
        client: Endpoint<'a>,
        method: &'a str,
        reason: &'a str,
        username: Option<&'a str>,
    },
    /// `warning: SASL authentication failure: reason` (no client).
    SaslError { reason: &'a str },
    /// smtpd/cleanup/postscreen policy decision (NOQUEUE or queue ID).
    Action(Action<'a>),
    /// smtpd `QID: client=host[ip][, sasl_method=M, sasl_username=U]`.
    Client {
        qid: &'a str,
        client: Endpoint<'a>,
        sasl_method: Option<&'a str>,
        sasl_username: Option<&'a str>,
        orig: Option<&'a str>,
    },
    /// cleanup `QID: message-id=<id>` (also `resent-message-id`).
    MessageId {
        qid: &'a str,
        id: &'a str,
        resent: bool,
    },
    /// qmgr `QID: from=<a>, size=N, nrcpt=N (queue active)`.
    QueueActive {
        qid: &'a str,
        from: &'a str,
        size: Option<i64>,
        nrcpt: Option<i64>,
    },
    /// qmgr `QID: from=<a>, status=expired, returned to sender`.
    Expired { qid: &'a str, from: &'a str },
    /// qmgr `QID: removed`.
    Removed { qid: &'a str },
    /// A delivery agent's recipient status.
    Delivery(Delivery<'a>),
    /// bounce `QID: sender non-delivery notification: NEWQID`.
    Notification {
        qid: &'a str,
        kind: &'a str,
        new_qid: &'a str,
    },
    /// pickup `QID: uid=N from=<a>`.
    Pickup {
        qid: &'a str,
        uid: &'a str,
        from: &'a str,
    },
    /// Other per-message notes (`host X said: ...`, `lost connection with`,
    /// `Used TLS for`, `placed on hold`, `requeued`, ...).
    QueueNote {
        qid: &'a str,
        kind: &'static str,
        text: &'a str,
    },
    /// smtpd `warning: Connection rate limit exceeded: 31 from host[ip] for service smtp`.
    Limit {
        what: &'a str,
        count: &'a str,
        client: Endpoint<'a>,
        service: Option<&'a str>,
    },
    /// postscreen `PASS NEW [ip]:port`, `DNSBL rank 3 for [ip]:port`, ...
    Postscreen {
        verdict: &'static str,
        client: Endpoint<'a>,
        detail: &'a str,
    },
    /// smtp `connect to host[ip]:25: Connection timed out` and TLS failures
    /// towards a peer.
    PeerError {
        peer: Endpoint<'a>,
        error: &'a str,
        what: &'static str,
    },
    /// dnsblog `addr 1.2.3.4 listed by domain zen.spamhaus.org as 127.0.0.2`.
    DnsblHit {
        addr: &'a str,
        domain: &'a str,
        result: &'a str,
    },
    /// anvil/scache/qmgr `statistics: ...`.
    Statistics { text: &'a str },
    /// master / postfix-script life cycle (`daemon started -- version 3.7`).
    Lifecycle { text: &'a str },
    /// `warning:` / `error:` / `fatal:` / `panic:` / `info:` without a more
    /// specific shape.
    Daemon { level: Level, text: &'a str },
    /// Verbose (`-v`) debug output.
    Debug { text: &'a str },
}

/// Severity word that starts a daemon message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `info:`
    Info,
    /// `warning:`
    Warning,
    /// `error:`
    Error,
    /// `fatal:`
    Fatal,
    /// `panic:`
    Panic,
}

impl Level {
    /// The word as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
            Level::Panic => "panic",
        }
    }
}

/// A TLS session line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls<'a> {
    /// `Anonymous`, `Untrusted`, `Trusted`, `Verified`.
    pub trust: &'a str,
    /// `from` (we are the server) or `to` (we are the client).
    pub inbound: bool,
    /// The peer.
    pub peer: Endpoint<'a>,
    /// `TLSv1.3`.
    pub protocol: &'a str,
    /// `TLS_AES_256_GCM_SHA384`.
    pub cipher: Option<&'a str>,
    /// Used bits of `(256/256 bits)`.
    pub bits: Option<i32>,
}

/// A policy decision: `reject`, `reject_warning`, `warning`, `hold`,
/// `discard`, `filter`, `redirect`, `milter-reject`, `prepend`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action<'a> {
    /// Queue ID, `None` for NOQUEUE.
    pub qid: Option<&'a str>,
    /// The action word as logged.
    pub action: &'a str,
    /// SMTP stage (`RCPT`, `MAIL`, `END-OF-MESSAGE`, ...), or `header` /
    /// `body` for cleanup checks.
    pub stage: &'a str,
    /// The checked header / body text (cleanup checks only).
    pub checked: Option<&'a str>,
    /// The SMTP client.
    pub client: Endpoint<'a>,
    /// Client text as written (`local` for pickup-submitted mail).
    pub client_raw: &'a str,
    /// Reply code (`554`).
    pub code: Option<&'a str>,
    /// Enhanced status (`5.7.1`).
    pub dsn: Option<&'a str>,
    /// The reason text after the codes.
    pub reason: &'a str,
    /// `from=<...>` (inner text; `""` for the null sender).
    pub from: Option<&'a str>,
    /// `to=<...>`.
    pub to: Option<&'a str>,
    /// `proto=ESMTP`.
    pub proto: Option<&'a str>,
    /// `helo=<...>`.
    pub helo: Option<&'a str>,
    /// Optional text after the list (cleanup `: text`).
    pub extra: Option<&'a str>,
}

/// A delivery agent status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// Queue ID.
    pub qid: &'a str,
    /// `to=`.
    pub to: &'a str,
    /// `orig_to=`.
    pub orig_to: Option<&'a str>,
    /// `relay=` as written.
    pub relay: Option<&'a str>,
    /// `delay=` seconds.
    pub delay: Option<&'a str>,
    /// `delays=a/b/c/d`.
    pub delays: Option<&'a str>,
    /// `dsn=`.
    pub dsn: Option<&'a str>,
    /// `conn_use=`.
    pub conn_use: Option<&'a str>,
    /// `tls=` (Postfix 3.10+).
    pub tls: Option<&'a str>,
    /// `status=` word: sent, deferred, bounced, expired, undeliverable...
    pub status: &'a str,
    /// The text in parentheses after the status.
    pub response: Option<&'a str>,
}

/// True for a Postfix queue ID: short (5+ upper-case hex digits) or long
/// (12-24 alphanumerics with a digit, `enable_long_queue_ids`).
pub fn is_queue_id(s: &str) -> bool {
    let n = s.len();
    if !(5..=24).contains(&n) {
        return false;
    }
    let b = s.as_bytes();
    if b.iter()
        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
    {
        return true;
    }
    n >= 10
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// `QID: ` at the start of a message.
fn queue_id_prefix(i: &str) -> Option<(&str, &str)> {
    let (qid, rest) = i.split_once(": ")?;
    is_queue_id(qid).then_some((qid, rest))
}

/// `a/b/c/d` of `delays=`: the four stage delays in seconds.
pub fn parse_delays(s: &str) -> Option<[f64; 4]> {
    let mut out = [0.0; 4];
    let mut it = s.split('/');
    for slot in &mut out {
        *slot = it.next()?.parse().ok()?;
    }
    it.next().is_none().then_some(out)
}

/// One smtpd command counter of `disconnect from ...`: `rcpt=0/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandCount<'a> {
    /// Command name (`ehlo`, `rcpt`, `commands` for the total).
    pub name: &'a str,
    /// Successful.
    pub ok: u32,
    /// Issued (equal to `ok` when written as a single number).
    pub total: u32,
}

/// Iterate the command counters of a disconnect line (`ehlo=1 rcpt=0/1`).
/// Items that are not counters are skipped.
pub fn command_counts(s: &str) -> impl Iterator<Item = CommandCount<'_>> {
    kv_iter(s, Sep::Space).filter_map(|kv| {
        let (ok, total) = match kv.value.split_once('/') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let n = kv.value.parse().ok()?;
                (n, n)
            }
        };
        Some(CommandCount {
            name: kv.key,
            ok,
            total,
        })
    })
}

/// Split `host[ip]...: rest` at the `: ` that follows the closing bracket
/// (and an optional `:port`).
fn client_then_colon(i: &str) -> Option<(&str, &str)> {
    let close = i.find(']')?;
    let after = &i[close + 1..];
    let digits = after
        .strip_prefix(':')
        .map_or(0, |p| p.bytes().take_while(u8::is_ascii_digit).count());
    let port_len = if digits > 0 { 1 + digits } else { 0 };
    let end = close + 1 + port_len;
    let rest = i.get(end..)?;
    let rest = rest
        .strip_prefix(": ")
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    Some((&i[..end], rest))
}

fn endpoint(s: &str) -> Endpoint<'_> {
    parse_endpoint(s).unwrap_or_default()
}

/// Parse one Postfix message. `service` is the last part of the program
/// name (`smtpd`, `qmgr`, ...) when the line had a tag.
pub fn parse_message<'a>(service: Option<&str>, msg: &'a str) -> Option<Msg<'a>> {
    if let Some((qid, rest)) = queue_id_prefix(msg) {
        if let Some(m) = queue_line(qid, rest) {
            return Some(m);
        }
    }
    if let Some(rest) = msg.strip_prefix("NOQUEUE: ") {
        if let Some(c) = rest.strip_prefix("client=") {
            // Seen from some milter setups: smtpd logs the client before
            // the queue file exists.
            return Some(Msg::Client {
                qid: "NOQUEUE",
                client: endpoint(c.split(", ").next().unwrap_or(c)),
                sasl_method: None,
                sasl_username: None,
                orig: None,
            });
        }
        if let Some(a) = action(None, rest) {
            return Some(Msg::Action(a));
        }
        // `NOQUEUE: lost connection after CONNECT from ...` (some versions).
        return connection_line(rest);
    }
    if let Some(m) = connection_line(msg) {
        return Some(m);
    }
    if let Some(m) = level_line(msg) {
        return Some(m);
    }
    if matches!(service, None | Some("postscreen")) {
        if let Some(m) = postscreen(msg) {
            return Some(m);
        }
    }
    if let Some(m) = misc_line(msg) {
        return Some(m);
    }
    if let Some(a) = action(None, msg) {
        // A bare `proxy-reject: END-OF-MESSAGE: ...` without NOQUEUE.
        return Some(Msg::Action(a));
    }
    debug_line(msg).then_some(Msg::Debug { text: msg })
}

/// Lines that start with a queue ID.
fn queue_line<'a>(qid: &'a str, rest: &'a str) -> Option<Msg<'a>> {
    if let Some(c) = rest.strip_prefix("client=") {
        let mut it = c.splitn(2, ", ");
        let client = endpoint(it.next().unwrap_or(""));
        let mut sasl_method = None;
        let mut sasl_username = None;
        let mut orig = None;
        for kv in kv_iter(it.next().unwrap_or(""), Sep::Comma) {
            match kv.key {
                "sasl_method" => sasl_method = Some(kv.value),
                "sasl_username" => sasl_username = Some(kv.value),
                "orig_queue_id" => orig = Some(kv.value),
                _ => {}
            }
        }
        return Some(Msg::Client {
            qid,
            client,
            sasl_method,
            sasl_username,
            orig,
        });
    }
    for (p, resent) in [("message-id=", false), ("resent-message-id=", true)] {
        if let Some(id) = rest.strip_prefix(p) {
            let id = id.trim_end();
            let id = id
                .strip_prefix('<')
                .and_then(|x| x.strip_suffix('>'))
                .unwrap_or(id);
            return Some(Msg::MessageId { qid, id, resent });
        }
    }
    if rest.starts_with("from=") {
        let mut from = None;
        let mut size = None;
        let mut nrcpt = None;
        let mut expired = false;
        let mut it = kv_iter(rest, Sep::Comma);
        for kv in it.by_ref() {
            match kv.key {
                "from" => from = Some(kv.value),
                "size" => size = kv.value.parse().ok(),
                "nrcpt" => nrcpt = kv.value.split(' ').next().and_then(|n| n.parse().ok()),
                "status" => expired = kv.value == "expired",
                _ => {}
            }
        }
        let from = from?;
        if expired {
            return Some(Msg::Expired { qid, from });
        }
        if size.is_some() || nrcpt.is_some() {
            return Some(Msg::QueueActive {
                qid,
                from,
                size,
                nrcpt,
            });
        }
        return None;
    }
    if rest.starts_with("to=") {
        return delivery(qid, rest).map(Msg::Delivery);
    }
    let word = rest.trim_end();
    if word == "removed" {
        return Some(Msg::Removed { qid });
    }
    if let Some(u) = rest.strip_prefix("uid=") {
        let (uid, tail) = u.split_once(' ').unwrap_or((u, ""));
        let from = tail
            .strip_prefix("from=")
            .map(|f| f.trim_end().trim_start_matches('<').trim_end_matches('>'))
            .unwrap_or("");
        return Some(Msg::Pickup { qid, uid, from });
    }
    for kind in [
        "sender non-delivery notification",
        "sender delay notification",
        "sender delivery status notification",
        "postmaster non-delivery notification",
        "postmaster delay notification",
        "postmaster delivery status notification",
    ] {
        if let Some(r) = rest.strip_prefix(kind) {
            let new_qid = r.strip_prefix(": ").unwrap_or("").trim_end();
            return Some(Msg::Notification { qid, kind, new_qid });
        }
    }
    if let Some(a) = action(Some(qid), rest) {
        return Some(Msg::Action(a));
    }
    const NOTES: &[(&str, &str)] = &[
        ("host ", "remote_reply"),
        ("lost connection with ", "lost_connection"),
        ("conversation with ", "conversation"),
        ("Used TLS for ", "tls"),
        ("placed on hold", "hold"),
        ("requeued", "requeued"),
        ("skipped, still being delivered", "skipped"),
        ("enabling PIX workarounds", "pix_workaround"),
        ("Cannot start TLS", "tls_failure"),
        ("SASL authentication failed", "sasl_client_failure"),
        ("warning: ", "warning"),
        ("deleted", "deleted"),
        ("released from hold", "released"),
        ("expired", "expired"),
        ("recipient limit ", "recipient_limit"),
    ];
    for (p, kind) in NOTES {
        if rest.starts_with(p) {
            return Some(Msg::QueueNote {
                qid,
                kind,
                text: rest.trim_end(),
            });
        }
    }
    None
}

fn delivery<'a>(qid: &'a str, rest: &'a str) -> Option<Delivery<'a>> {
    let (head, status_part) = match rest.find(", status=") {
        Some(k) => (&rest[..k], &rest[k + 9..]),
        None => (rest, ""),
    };
    let mut d = Delivery {
        qid,
        to: "",
        orig_to: None,
        relay: None,
        delay: None,
        delays: None,
        dsn: None,
        conn_use: None,
        tls: None,
        status: "",
        response: None,
    };
    let mut have_to = false;
    for kv in kv_iter(head, Sep::Comma) {
        match kv.key {
            "to" => {
                d.to = kv.value;
                have_to = true;
            }
            "orig_to" => d.orig_to = Some(kv.value),
            "relay" => d.relay = Some(kv.value),
            "delay" => d.delay = Some(kv.value),
            "delays" => d.delays = Some(kv.value),
            "dsn" => d.dsn = Some(kv.value),
            "conn_use" => d.conn_use = Some(kv.value),
            "tls" => d.tls = Some(kv.value),
            _ => {}
        }
    }
    if !have_to || status_part.is_empty() {
        return None;
    }
    let (status, resp) = match status_part.split_once(' ') {
        Some((s, r)) => (s, Some(r)),
        None => (status_part.trim_end(), None),
    };
    d.status = status.trim_end_matches(',');
    d.response = resp.and_then(|r| {
        let r = r.trim_end();
        let inner = r.strip_prefix('(')?;
        Some(match inner.rfind(')') {
            Some(k) => &inner[..k],
            None => inner,
        })
    });
    Some(d)
}

/// Action words Postfix logs for access/header/body/milter decisions.
const ACTIONS: &[&str] = &[
    "reject",
    "reject_warning",
    "warning",
    "info",
    "hold",
    "discard",
    "filter",
    "redirect",
    "prepend",
    "replace",
    "strip",
    "bcc",
    "milter-reject",
    "milter-discard",
    "milter-hold",
    "milter-header-redirect",
    "milter-redirect",
    "proxy-reject",
    "proxy-accept",
];

/// `<action>: <STAGE> from <client>: <reason>; from=<> to=<> proto= helo=<>`
/// or cleanup `<action>: header|body <text> from <client>; from=<> ...`.
fn action<'a>(qid: Option<&'a str>, i: &'a str) -> Option<Action<'a>> {
    let (word, rest) = i.split_once(": ")?;
    if !ACTIONS.contains(&word) {
        return None;
    }
    // Where the envelope list starts.
    // The envelope list starts at the last `; from=` (header text may
    // contain `; `), else at the first other known key.
    let list_at = rest
        .rfind("; from=")
        .or_else(|| {
            ["; to=", "; proto=", "; helo="]
                .iter()
                .filter_map(|p| rest.find(p))
                .min()
        })
        .unwrap_or(rest.len());
    let head = &rest[..list_at];
    let list = rest.get(list_at + 2..).unwrap_or("");
    let mut a = Action {
        qid,
        action: word,
        stage: "",
        checked: None,
        client: Endpoint::default(),
        client_raw: "",
        code: None,
        dsn: None,
        reason: "",
        from: None,
        to: None,
        proto: None,
        helo: None,
        extra: None,
    };
    if let Some(text) = head
        .strip_prefix("header ")
        .or_else(|| head.strip_prefix("body "))
    {
        a.stage = if head.starts_with("header ") {
            "header"
        } else {
            "body"
        };
        match text.rfind(" from ") {
            Some(k) => {
                a.checked = Some(&text[..k]);
                a.client_raw = &text[k + 6..];
                a.client = endpoint(a.client_raw);
            }
            None => a.checked = Some(text),
        }
    } else {
        let (stage, reason) = match head.split_once(" from ") {
            Some((stage, r)) if !stage.contains(' ') => {
                let (client, reason) = client_then_colon(r)?;
                a.client_raw = client;
                a.client = endpoint(client);
                (stage, reason)
            }
            // `END-OF-MESSAGE: 554 ...` (proxy-reject without a client).
            _ => head.split_once(": ")?,
        };
        if stage.is_empty() || stage.contains(' ') {
            return None;
        }
        a.stage = stage;
        let (reason, code, dsn) = reply_codes(reason);
        a.reason = reason;
        a.code = code;
        a.dsn = dsn;
    }
    let mut it = kv_iter(list, Sep::Space);
    for kv in it.by_ref() {
        match kv.key {
            "from" => a.from = Some(kv.value),
            "to" => a.to = Some(kv.value),
            "proto" => a.proto = Some(kv.value),
            "helo" => a.helo = Some(kv.value),
            _ => {}
        }
    }
    let extra = it.rest().trim_start_matches(':').trim();
    if !extra.is_empty() {
        a.extra = Some(extra);
    }
    Some(a)
}

/// `554 5.7.1 text` -> (text, code, dsn); each code optional.
pub fn reply_codes(s: &str) -> (&str, Option<&str>, Option<&str>) {
    fn code(i: &str) -> IResult<&str, &str> {
        let (r, c) = take_while_m_n(3, 3, |c: char| c.is_ascii_digit()).parse(i)?;
        let (r, _) = nom::branch::alt((tag(" "), tag("-"))).parse(r)?;
        Ok((r, c))
    }
    fn dsn(i: &str) -> IResult<&str, &str> {
        let (r, d) = nom::combinator::recognize((
            nom::character::complete::one_of("245"),
            char('.'),
            take_while_m_n(1, 3, |c: char| c.is_ascii_digit()),
            char('.'),
            take_while_m_n(1, 3, |c: char| c.is_ascii_digit()),
        ))
        .parse(i)?;
        let (r, _) = opt(char(' ')).parse(r)?;
        Ok((r, d))
    }
    let (s, c) = match code(s) {
        Ok((r, c)) => (r, Some(c)),
        Err(_) => (s, None),
    };
    let (s, d) = match dsn(s) {
        Ok((r, d)) => (r, Some(d)),
        Err(_) => (s, None),
    };
    (s, c, d)
}

/// smtpd/smtp connection-level lines.
fn connection_line(msg: &str) -> Option<Msg<'_>> {
    if let Some(c) = msg.strip_prefix("connect from ") {
        let c = c.split(' ').next().unwrap_or(c);
        return Some(Msg::Connect {
            client: endpoint(c),
        });
    }
    if let Some(c) = msg.strip_prefix("disconnect from ") {
        let (client, commands) = c.split_once(' ').unwrap_or((c, ""));
        return Some(Msg::Disconnect {
            client: endpoint(client),
            commands,
        });
    }
    for (p, kind) in [
        ("lost connection after ", "lost"),
        ("timeout after ", "timeout"),
        ("too many errors after ", "too_many_errors"),
    ] {
        if let Some(r) = msg.strip_prefix(p) {
            let (after, client) = r.split_once(" from ")?;
            let client = client.split(' ').next().unwrap_or(client);
            let client = client.strip_suffix(':').unwrap_or(client);
            return Some(Msg::ConnEnd {
                kind,
                after,
                client: endpoint(client),
            });
        }
    }
    if let Some(r) = msg.strip_prefix("improper command pipelining after ") {
        let (after, client) = r.split_once(" from ")?;
        let client = client
            .split(": ")
            .next()
            .unwrap_or(client)
            .trim_end()
            .trim_end_matches(':');
        return Some(Msg::Pipelining {
            after,
            client: endpoint(client),
        });
    }
    if let Some(t) = tls_line(msg) {
        return Some(Msg::Tls(t));
    }
    for (p, what) in [
        ("connect to ", "connect"),
        ("SSL_connect error to ", "tls_connect"),
        ("certificate verification failed for ", "certificate"),
        ("SSL_accept error from ", "tls_accept"),
        ("server certificate verification failed for ", "certificate"),
        ("untrusted issuer ", "certificate"),
    ] {
        if let Some(r) = msg.strip_prefix(p) {
            let (peer, error) = client_then_colon(r)?;
            return Some(Msg::PeerError {
                peer: endpoint(peer),
                error,
                what,
            });
        }
    }
    None
}

/// `Anonymous TLS connection established from host[ip]: TLSv1.3 with cipher C (256/256 bits) ...`.
fn tls_line(msg: &str) -> Option<Tls<'_>> {
    let (trust, r) = msg.split_once(" TLS connection established ")?;
    if trust.contains(' ') {
        return None;
    }
    let (inbound, r) = match r.strip_prefix("from ") {
        Some(r) => (true, r),
        None => (false, r.strip_prefix("to ")?),
    };
    let (peer, r) = client_then_colon(r)?;
    let (protocol, r) = r.split_once(' ').unwrap_or((r, ""));
    let mut cipher = None;
    let mut bits = None;
    if let Some(c) = r.strip_prefix("with cipher ") {
        let (name, r) = c.split_once(' ').unwrap_or((c, ""));
        cipher = Some(name);
        bits = r
            .strip_prefix('(')
            .and_then(|b| b.split('/').next())
            .and_then(|b| b.parse().ok());
    }
    Some(Tls {
        trust,
        inbound,
        peer: endpoint(peer),
        protocol,
        cipher,
        bits,
    })
}

/// `warning:` / `fatal:` ... lines, with the special warnings first.
fn level_line(msg: &str) -> Option<Msg<'_>> {
    let (word, text) = msg.split_once(": ")?;
    let level = match word {
        "warning" => Level::Warning,
        "fatal" => Level::Fatal,
        "error" => Level::Error,
        "panic" => Level::Panic,
        "info" => Level::Info,
        _ => return None,
    };
    if level == Level::Warning {
        if let Some(m) = sasl_failure(text) {
            return Some(m);
        }
        if let Some(reason) = text.strip_prefix("SASL authentication failure: ") {
            return Some(Msg::SaslError { reason });
        }
        for what in [
            "Connection rate limit exceeded",
            "Connection concurrency limit exceeded",
            "AUTH command rate limit exceeded",
            "Message delivery request rate limit exceeded",
            "New TLS session rate limit exceeded",
            "Recipient address rate limit exceeded",
        ] {
            if let Some(r) = text.strip_prefix(what).and_then(|r| r.strip_prefix(": ")) {
                let (count, r) = r.split_once(" from ")?;
                let (client, service) = match r.split_once(" for service ") {
                    Some((c, s)) => (c, Some(s.trim_end())),
                    None => (r.trim_end(), None),
                };
                return Some(Msg::Limit {
                    what,
                    count,
                    client: endpoint(client),
                    service,
                });
            }
        }
    }
    Some(Msg::Daemon { level, text })
}

/// `host[ip]: SASL LOGIN authentication failed: reason, sasl_username=u`.
fn sasl_failure(text: &str) -> Option<Msg<'_>> {
    let (client, r) = client_then_colon(text)?;
    let r = r.strip_prefix("SASL ")?;
    let (method, r) = r.split_once(' ')?;
    let reason = r.strip_prefix("authentication failed")?;
    let reason = reason.strip_prefix(": ").unwrap_or(reason).trim_end();
    let (reason, username) = match reason.rfind(", sasl_username=") {
        Some(k) => (&reason[..k], Some(&reason[k + 16..])),
        None => (reason, None),
    };
    Some(Msg::SaslFailure {
        client: endpoint(client),
        method,
        reason,
        username,
    })
}

/// postscreen verdicts: `WORD [WORD] [ip]:port` or `WORD ... from [ip]:port ...`.
fn postscreen(msg: &str) -> Option<Msg<'_>> {
    const P: &[(&str, &str)] = &[
        ("CONNECT from ", "connect"),
        ("PASS NEW ", "pass_new"),
        ("PASS OLD ", "pass_old"),
        ("DISCONNECT ", "disconnect"),
        ("WHITELISTED ", "allowlisted"),
        ("ALLOWLISTED ", "allowlisted"),
        ("BLACKLISTED ", "denylisted"),
        ("DENYLISTED ", "denylisted"),
        ("WHITELIST VETO ", "allowlist_veto"),
        ("ALLOWLIST VETO ", "allowlist_veto"),
        ("PREGREET ", "pregreet"),
        ("HANGUP ", "hangup"),
        ("DNSBL rank ", "dnsbl"),
        ("COMMAND TIME LIMIT ", "command_time_limit"),
        ("COMMAND COUNT LIMIT ", "command_count_limit"),
        ("COMMAND LENGTH LIMIT ", "command_length_limit"),
        ("COMMAND PIPELINING ", "command_pipelining"),
        ("NON-SMTP COMMAND ", "non_smtp_command"),
        ("BARE NEWLINE ", "bare_newline"),
    ];
    for (p, verdict) in P {
        if let Some(r) = msg.strip_prefix(p) {
            let open = r.find('[')?;
            let start = r[..open].rfind(' ').map_or(0, |k| k + 1);
            let (client, _) = client_then_colon(&r[start..])?;
            let client_end = start + client.len();
            let detail = r.get(client_end..).unwrap_or("").trim();
            let lead = r[..start].trim();
            let detail = if detail.is_empty() { lead } else { detail };
            return Some(Msg::Postscreen {
                verdict,
                client: endpoint(client),
                detail,
            });
        }
    }
    None
}

/// anvil, dnsblog, master, postfix-script, scache.
fn misc_line(msg: &str) -> Option<Msg<'_>> {
    if let Some(text) = msg.strip_prefix("statistics: ") {
        return Some(Msg::Statistics { text });
    }
    if let Some(r) = msg.strip_prefix("addr ") {
        let (addr, r) = r.split_once(" listed by domain ")?;
        let (domain, result) = r.split_once(" as ").unwrap_or((r, ""));
        return Some(Msg::DnsblHit {
            addr,
            domain,
            result: result.trim_end(),
        });
    }
    const LIFECYCLE: &[&str] = &[
        "daemon started",
        "reload",
        "terminating on signal",
        "starting the Postfix mail system",
        "stopping the Postfix mail system",
        "refreshing the Postfix mail system",
        "the Postfix mail system is running",
        "the Postfix mail system is not running",
        "waiting for the Postfix mail system to terminate",
        "Postfix is running with backwards-compatible default settings",
        "See http://www.postfix.org/COMPATIBILITY_README.html",
        "To disable backwards compatibility",
        "daemon process",
        "master disconnect -- exiting",
        "Deleted: ",
        "Placed on hold: ",
        "Released from hold: ",
        "Requeued: ",
    ];
    if LIFECYCLE.iter().any(|p| msg.starts_with(p)) {
        return Some(Msg::Lifecycle {
            text: msg.trim_end(),
        });
    }
    if msg.starts_with("cache ") && msg.contains(" full cleanup: ") {
        return Some(Msg::Statistics { text: msg });
    }
    None
}

/// Postfix verbose (`-v`, `debug_peer_list`) output: `function_name: ...`,
/// attribute dumps, socket/stream chatter and the SMTP session trace.
fn debug_line(msg: &str) -> bool {
    // `function_name: ...` (msg_info with the C function name).
    fn function_prefix(i: &str) -> IResult<&str, &str> {
        let (r, f) =
            take_while1(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                .parse(i)?;
        let (r, _) = char(':').parse(r)?;
        Ok((r, f))
    }
    if let Ok((_, f)) = function_prefix(msg) {
        if f.contains('_') {
            return true;
        }
    }
    const PREFIXES: &[&str] = &[
        "input attribute ",
        "send attr ",
        "connect to subsystem ",
        "start sorted recipient list",
        "end sorted recipient list",
        "start move queue",
        "end move queue",
        "done incoming queue scan",
        "done deferred queue scan",
        "request ignored",
        "request: ",
        "initial envelope ",
        "process generation: ",
        "rewrite stream disconnect",
        "wakeup ",
        "connection established",
        "idle timeout -- exiting",
        ">>> ",
        "> ",
        "< ",
        "auto_clnt_",
        "dict_",
        "smtpd_",
        "permit_",
        "reject_",
        "check_",
        "been_here: ",
        "name_mask: ",
        "resolve_clnt: ",
        "rewrite_clnt: ",
        "ctable_",
        "event_",
        "watchdog_",
        "fsspace: ",
        "inet_",
        "mail_",
        "maps_find: ",
        "match_",
        "generic_checks: ",
        "qmgr_",
        "master_",
        "trigger_",
        "transport_event: ",
        "deliver_",
        "vstream_",
        "attr_",
        "xsasl_",
        "tls_",
        "proxymap ",
        "smtp_",
        "lmtp_",
        "cleanup_",
        "flush_",
        "milter",
        "mynetworks",
        "name_",
        "valid_hostname",
        "private/",
        "public/",
        "smtp socket: wanted",
        "lmtp socket: wanted",
        "verify socket: wanted",
        "cleanup socket: wanted",
        "cleanup flags = ",
        "Compiled against ",
        "Run-time linked against ",
        "before input_transp_cleanup: ",
        "after input_transp_cleanup: ",
        "open incoming/",
        "extracted envelope ",
        "connection closed",
        "host name lookup methods: ",
        "connecting to ",
        "lookup ",
        "begin ",
        "end ",
        "pref ",
    ];
    if PREFIXES.iter().any(|p| msg.starts_with(p)) {
        return true;
    }
    // `name = value` parameter dumps.
    if let Some((k, _)) = msg.split_once(" = ") {
        return !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids() {
        for (s, want) in [
            ("D6324548865", true),
            ("4H4nG6r7LL0msN", true),
            ("4104E3D", true),
            ("request", false),
            ("NOQUEUE", false),
            ("warning", false),
            ("0F5383D", true),
            ("statistics", false),
            ("ABC", false),
        ] {
            assert_eq!(is_queue_id(s), want, "{s}");
        }
    }

    #[test]
    fn delays_table() {
        assert_eq!(
            parse_delays("0.16/0.01/0/0.01"),
            Some([0.16, 0.01, 0.0, 0.01])
        );
        assert_eq!(
            parse_delays("89758/0.02/0/0"),
            Some([89758.0, 0.02, 0.0, 0.0])
        );
        assert_eq!(parse_delays("1/2/3"), None);
        assert_eq!(parse_delays("1/2/3/4/5"), None);
        assert_eq!(parse_delays("a/2/3/4"), None);
    }

    #[test]
    fn command_stats_table() {
        let got: Vec<_> = command_counts("ehlo=2 starttls=1 rcpt=0/1 commands=4/6 137")
            .map(|c| (c.name, c.ok, c.total))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ehlo", 2, 2),
                ("starttls", 1, 1),
                ("rcpt", 0, 1),
                ("commands", 4, 6)
            ]
        );
        assert_eq!(command_counts("").count(), 0);
        assert_eq!(command_counts("x=a/b").count(), 0);
    }

    #[test]
    fn reply_codes_table() {
        assert_eq!(
            reply_codes("554 5.7.1 <a@b>: Relay access denied"),
            ("<a@b>: Relay access denied", Some("554"), Some("5.7.1"))
        );
        assert_eq!(
            reply_codes("5.7.1 Blocked"),
            ("Blocked", None, Some("5.7.1"))
        );
        assert_eq!(
            reply_codes("all server ports busy"),
            ("all server ports busy", None, None)
        );
        assert_eq!(
            reply_codes("421-4.7.0 x"),
            ("x", Some("421"), Some("4.7.0"))
        );
    }

    #[test]
    fn reject_line() {
        let m = parse_message(Some("smtpd"), "NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 <x@y.z>: Relay access denied; from=<a@b.c> to=<x@y.z> proto=ESMTP helo=<h>").unwrap();
        let Msg::Action(a) = m else { panic!("{m:?}") };
        assert_eq!(
            (a.action, a.stage, a.code, a.dsn),
            ("reject", "RCPT", Some("554"), Some("5.7.1"))
        );
        assert_eq!(
            (a.from, a.to, a.proto, a.helo),
            (Some("a@b.c"), Some("x@y.z"), Some("ESMTP"), Some("h"))
        );
        assert_eq!(a.client.ip, Some("192.0.2.7"));
        assert_eq!(a.reason, "<x@y.z>: Relay access denied");
    }

    #[test]
    fn header_check_line() {
        let m = parse_message(
            Some("cleanup"),
            "008BB5FD76: prepend: header From: =?UTF-8?q?C?=??<n@w.com> from localhost[127.0.0.1]; from=<n@w.com> to=<j@e.org> proto=ESMTP helo=<s.e.org>: X-NMFP-TRUST: FALSE",
        )
        .unwrap();
        let Msg::Action(a) = m else { panic!("{m:?}") };
        assert_eq!(
            (a.qid, a.action, a.stage),
            (Some("008BB5FD76"), "prepend", "header")
        );
        assert_eq!(a.checked, Some("From: =?UTF-8?q?C?=??<n@w.com>"));
        assert_eq!(a.client.ip, Some("127.0.0.1"));
        assert_eq!(a.extra, Some("X-NMFP-TRUST: FALSE"));
    }

    #[test]
    fn delivery_line() {
        let m = parse_message(
            Some("smtp"),
            "D6324548865: to=<f@b.test>, relay=mx.b.test[127.0.0.121]:25, delay=0.18, delays=0.16/0.01/0/0.01, dsn=5.1.1, status=bounced (host mx said: 550 5.1.1 Recipient, rejected (in reply to RCPT TO command))",
        )
        .unwrap();
        let Msg::Delivery(d) = m else { panic!("{m:?}") };
        assert_eq!(
            (d.to, d.relay, d.dsn, d.status),
            (
                "f@b.test",
                Some("mx.b.test[127.0.0.121]:25"),
                Some("5.1.1"),
                "bounced"
            )
        );
        assert_eq!(
            d.response,
            Some("host mx said: 550 5.1.1 Recipient, rejected (in reply to RCPT TO command)")
        );
    }

    #[test]
    fn shapes_table() {
        let cases: &[(&str, &str)] = &[
            ("connect from mail.partner.test[127.0.0.20]", "Connect"),
            ("disconnect from x[1.2.3.4] ehlo=1 commands=1", "Disconnect"),
            ("lost connection after AUTH from unknown[1.1.1.1]", "ConnEnd"),
            ("timeout after CONNECT from unknown[177.227.18.3]", "ConnEnd"),
            ("warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", "SaslFailure"),
            ("warning: Connection rate limit exceeded: 31 from unknown[1.2.3.4] for service smtp", "Limit"),
            ("warning: something odd", "Daemon"),
            ("0F5383D: removed", "Removed"),
            ("585BC3F: from=<>, status=expired, returned to sender", "Expired"),
            ("074955F67C: from=<a@b.c>, size=4303, nrcpt=1 (queue active)", "QueueActive"),
            ("E43D43F838: uid=117 from=<no-reply@example.org>", "Pickup"),
            ("65AFB8B5: sender delivery status notification: 1DF35917", "Notification"),
            ("D4F2023DB: placed on hold", "QueueNote"),
            ("PASS OLD [61.238.241.86]:53024", "Postscreen"),
            ("DNSBL rank 3 for [111.73.45.149]:1038", "Postscreen"),
            ("HANGUP after 0 from [66.55.85.58]:54017 in tests before SMTP handshake", "Postscreen"),
            ("statistics: max cache size 1 at Oct 26 18:13:50", "Statistics"),
            ("addr 61.238.241.86 listed by domain psbl.surriel.com as 127.0.0.2", "DnsblHit"),
            ("connect to intern.nl[194.109.6.98]:25: Connection timed out", "PeerError"),
            ("daemon started -- version 3.7.11, configuration /etc/postfix", "Lifecycle"),
            ("Anonymous TLS connection established from h[10.1.1.1]: TLSv1.2 with cipher AECDH-AES256-SHA (256/256 bits)", "Tls"),
            ("qmgr_scan_start: start incoming", "Debug"),
            ("input attribute name: status", "Debug"),
            ("hello world", "None"),
            ("", "None"),
        ];
        for (msg, want) in cases {
            let got = parse_message(None, msg);
            let name = match &got {
                None => "None".to_string(),
                Some(m) => format!("{m:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            assert_eq!(&name, want, "{msg}: {got:?}");
        }
    }
}
