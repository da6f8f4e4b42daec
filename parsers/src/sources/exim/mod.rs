//! Exim mainlog lines to OCSF.
//!
//! **One event per line**, linked by the Exim message ID (`10HmaX-0005vi-00`)
//! in `message_trace_uid` and `email.uid`: every `<=`/`=>`/`**`/`==` line
//! names its own address, and Exim has no per-message line that carries them
//! all, so nothing is gained by holding lines. The arrival (`<=`) carries the
//! Message-ID (`id=`) in `email.message_uid`.
//!
//! | line | event (`metadata.event_code`) |
//! |---|---|
//! | `ID <= sender H=host (helo) [ip] P= S= id= A= X= for rcpts` | Email Activity 4009 Receive (`<=`) |
//! | `ID => addr <orig> R= T= H=host [ip] X= C="250 ..."`, `->` (same delivery), `*>` (suppressed) | Email Activity Send (remote transport, `H=`) or Receive (local delivery), Success (`=>`, `->`, `*>`) |
//! | `ID ** addr R= T=: error` | Email Activity, Failure (bounce) (`**`) |
//! | `ID == addr R= T= defer (n): error` | Email Activity, Other "deferred", Delayed (`==`) |
//! | `H=... F=<s> rejected RCPT <r>: why`, `... rejected after DATA: why`, `sender verify fail for <s>` | Email Activity Receive, Failure, `security_control` Denied/Blocked (4xx: Delayed) (`rejected`) |
//! | `rejected MAIL/HELO/EHLO/connection`, `dropped by ... ACL`, `SMTP call from ... dropped`, SMTP protocol (synchronization) errors | Network Activity 4001 Refuse, Denied (`rejected_conn`, `protocol_error`) |
//! | `X authenticator failed for H [ip]: 535 ... (set_id=u)` | Authentication 3002 Logon, Failure (`auth_failed`) |
//! | `SMTP connection from ... lost`, `SMTP connection lost ...`, `closed by DROP`, `no MAIL in SMTP connection`, `TLS error on connection` | Network Activity Reset / Refuse / Close / Fail (`conn`) |
//! | `ID Completed`, daemon start, queue runs, `no IP address found` | Base Event, Other (`completed`, `daemon`) |
//! | other text (ACL `logwrite` output, the test suite's debug lines) | Base Event, Other "Log", marked fallback (`log`) |
//!
//! Values the Exim test suite munges (`[ip4.ip4.ip4.ip4]`, `S=sss`,
//! `X=TLS1.x:...`) are not IPs or numbers: they are left out of typed fields
//! (kept under `unmapped.exim`), and the event stays valid.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::common::addr::is_ip;
use crate::common::json::mark_fallback;
use crate::common::mail::{
    self, action, b, disposition, new_event, other_activity, put, put_opt, reject, security,
    set_direction, vendor, LineCtx,
};
use crate::ocsf::{
    Event, NetworkEndpoint, Service, User, AUTHENTICATION, BASE_EVENT, EMAIL_ACTIVITY,
    NETWORK_ACTIVITY,
};
use crate::{Decoder, ErrorKind, Options, Outcome};

const PRODUCT: (&str, &str) = ("Exim", "Exim");
const LOG_NAME: &str = "mainlog";

/// A decoder for Exim mainlog lines.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(EximDecoder { opts: opts.clone() })
}

struct EximDecoder {
    opts: Options,
}

/// `YYYY-MM-DD HH:MM:SS[.mmm][ +hhmm]` at the start: (epoch ms, written
/// text, rest).
fn timestamp<'a>(s: &'a str, opts: &Options) -> Option<(i64, &'a str, &'a str)> {
    let base = s.get(..19)?;
    let t = NaiveDateTime::parse_from_str(base, "%Y-%m-%d %H:%M:%S").ok()?;
    let mut end = 19;
    let mut ms = 0;
    if s.as_bytes().get(19) == Some(&b'.') {
        let frac = s
            .get(20..23)
            .filter(|f| f.bytes().all(|c| c.is_ascii_digit()))?;
        ms = frac.parse::<i64>().ok()?;
        end = 23;
    }
    let mut off = i64::from(opts.utc_offset_secs);
    if let Some(z) = s.get(end..end + 6) {
        let zb = z.as_bytes();
        if zb[0] == b' ' && matches!(zb[1], b'+' | b'-') && zb[2..].iter().all(u8::is_ascii_digit) {
            let h: i64 = z[2..4].parse().ok()?;
            let m: i64 = z[4..6].parse().ok()?;
            off = (h * 3600 + m * 60) * if zb[1] == b'-' { -1 } else { 1 };
            end += 6;
        }
    }
    let epoch = t.and_utc().timestamp_millis() + ms - off * 1000;
    Some((epoch, &s[..end], s[end..].trim_start()))
}

/// An Exim message ID: `1ahrVl-0006mY-79` or `10HmaX-000000005vi-0000`.
fn is_msgid(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    a.len() == 6
        && (6..=11).contains(&b.len())
        && (2..=4).contains(&c.len())
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// Fields of an arrival/delivery line: `X=value` items (quoted values and the
/// multi-word `H=host (helo) [ip]:port` kept whole), bare flags, and the
/// recipients after `for`.
#[derive(Debug, Default, PartialEq)]
struct Fields<'a> {
    items: Vec<(&'a str, &'a str)>,
    flags: Vec<&'a str>,
    words: Vec<&'a str>,
    for_rcpts: Vec<&'a str>,
    tail: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn get(&self, k: &str) -> Option<&'a str> {
        self.items
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| *v)
    }
}

fn fields(s: &str) -> Fields<'_> {
    let mut f = Fields::default();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("for ") {
            f.for_rcpts = r.split(' ').filter(|x| !x.is_empty()).collect();
            break;
        }
        if let Some(r) = rest.strip_prefix(": ") {
            f.tail = Some(r);
            break;
        }
        let key_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let is_item = key_end > 0 && rest[key_end..].starts_with('=');
        if is_item {
            let key = &rest[..key_end];
            let after = &rest[key_end + 1..];
            let (val, next) = if let Some(q) = after.strip_prefix('"') {
                // Quoted: to the closing quote not escaped.
                let bytes = q.as_bytes();
                let mut i = 0;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let i = i.min(q.len());
                (&q[..i], q.get(i + 1..).unwrap_or(""))
            } else {
                let mut end = after.find(' ').unwrap_or(after.len());
                if key == "H" {
                    // `H=host (helo) [ip]:port` or `H=(helo) [ip]`.
                    loop {
                        let nxt = after[end..].trim_start();
                        if nxt.starts_with('(') || nxt.starts_with('[') {
                            let skip = after.len() - nxt.len();
                            let close = if nxt.starts_with('(') { ')' } else { ']' };
                            let e = nxt.find(close).map(|c| c + 1).unwrap_or(nxt.len());
                            let tail = nxt[e..].find(' ').map(|t| e + t).unwrap_or(nxt.len());
                            end = skip + tail;
                        } else {
                            break;
                        }
                    }
                }
                let end = end.min(after.len());
                let v = &after[..end];
                // `T=smtp: error` / `R=r1 : Return_path`: a colon ends the list.
                if let Some(v2) = v.strip_suffix(':') {
                    f.items.push((key, v2));
                    f.tail = Some(after[end..].trim_start());
                    break;
                }
                (v, &after[end..])
            };
            f.items.push((key, val));
            rest = next.trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let w = &rest[..end];
            if w.len() <= 4 && w.bytes().all(|c| c.is_ascii_uppercase()) {
                f.flags.push(w);
            } else {
                f.words.push(w);
            }
            rest = rest[end..].trim_start();
        }
    }
    f
}

/// `host (helo) [ip]:port`, `(helo) [ip]`, `[ip]`, `host [ip]`.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Host<'a> {
    name: Option<&'a str>,
    helo: Option<&'a str>,
    ip: Option<&'a str>,
    ip_raw: Option<&'a str>,
    port: Option<u16>,
}

fn host(s: &str) -> Host<'_> {
    let mut h = Host::default();
    for part in s.split(' ').filter(|p| !p.is_empty()) {
        if let Some(x) = part.strip_prefix('(') {
            h.helo = Some(x.trim_end_matches(')'));
        } else if let Some(x) = part.strip_prefix('[') {
            let (ip, port) = match x.split_once("]:") {
                Some((ip, p)) => (ip, p.parse().ok()),
                None => (x.trim_end_matches(']'), None),
            };
            h.ip_raw = Some(ip);
            h.ip = is_ip(ip).then_some(ip);
            h.port = port;
        } else if h.name.is_none() && h.ip_raw.is_none() {
            h.name = Some(part);
        }
    }
    h
}

fn host_ep<'a>(h: &Host<'a>) -> Option<Box<NetworkEndpoint<'a>>> {
    mail::endpoint(h.name, h.ip, h.port)
}

fn local<'a>(ctx: &LineCtx<'a>, i: Option<&'a str>) -> Box<NetworkEndpoint<'a>> {
    let ih = i.map(host).unwrap_or_default();
    Box::new(NetworkEndpoint {
        hostname: ctx.host.map(b),
        ip: ih.ip.map(b),
        port: ih.port,
        svc_name: Some(b("smtp")),
        ..Default::default()
    })
}

fn strip_angle(s: &str) -> &str {
    s.trim_start_matches('<').trim_end_matches(['>', ':', ','])
}

/// Keep the items not mapped, and the munged values that failed typing.
fn keep(m: &mut Map<String, Value>, f: &Fields<'_>, mapped: &[&str]) {
    for (k, v) in &f.items {
        if !mapped.contains(k) {
            put(m, k, *v);
        }
    }
    if !f.flags.is_empty() {
        put(m, "flags", f.flags.clone());
    }
}

fn email_event<'a>(
    ctx: &LineCtx<'a>,
    activity: i32,
    from: Option<&'a str>,
    to: Vec<&'a str>,
    msgid: Option<&'a str>,
    fallback_label: &'static str,
) -> Event<'a> {
    match mail::email_of(from, to) {
        Some(mut e) => {
            let mut ev = new_event(ctx, &EMAIL_ACTIVITY, activity);
            e.uid = msgid.map(b);
            let d = mail::direction(
                e.from.as_deref(),
                e.to.iter().map(|t| t.as_ref()),
                &ctx.opts.local_domains,
            );
            set_direction(&mut ev, d);
            ev.email = Some(Box::new(e));
            ev.message_trace_uid = msgid.map(b);
            ev
        }
        None => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99);
            other_activity(&mut ev, fallback_label);
            ev
        }
    }
}

fn code(ev: &mut Event<'_>, c: &'static str) {
    ev.meta().event_code = Some(b(c));
}

fn refuse<'a>(ctx: &LineCtx<'a>, text: &'a str, peer: Host<'a>, code_s: &'static str) -> Event<'a> {
    let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 5);
    ev.src_endpoint = host_ep(&peer);
    ev.dst_endpoint = Some(local(ctx, None));
    ev.set_status(2, None);
    security(&mut ev, action::DENIED, disposition::BLOCKED);
    ev.set_severity(2);
    ev.status_detail = Some(b(text));
    code(&mut ev, code_s);
    if peer.ip.is_none() {
        put_opt(vendor(&mut ev, "exim"), "peer_ip", peer.ip_raw);
    }
    ev
}

/// The `H=...` peer of a line (first `H=` item anywhere).
fn line_host(text: &str) -> Host<'_> {
    match text.find("H=") {
        Some(i) => {
            let f = fields(&text[i..]);
            f.get("H").map(host).unwrap_or_default()
        }
        None => Host::default(),
    }
}

fn map_line<'a>(ctx: &LineCtx<'a>, msgid: Option<&'a str>, text: &'a str) -> Event<'a> {
    // Message lines: `<=`, `=>`, `->`, `*>`, `**`, `==`.
    if let Some((op, rest)) = text.split_at_checked(2).filter(|(op, r)| {
        matches!(*op, "<=" | "=>" | "->" | "*>" | "**" | "==")
            && (r.is_empty() || r.starts_with(' '))
    }) {
        let rest = rest.trim_start();
        let (addr, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let f = fields(rest);
        let mut ev;
        if op == "<=" {
            let mut to: Vec<&str> = f.for_rcpts.clone();
            to.retain(|t| !t.is_empty());
            ev = email_event(
                ctx,
                2,
                Some(strip_angle(addr)),
                to,
                msgid,
                "Message Received",
            );
            let h = f.get("H").map(host).unwrap_or_default();
            ev.src_endpoint = host_ep(&h);
            ev.dst_endpoint = f.get("I").map(|i| local(ctx, Some(i)));
            ev.protocol_name = f.get("P").map(b);
            ev.set_status(1, None);
            if let Some(e) = ev.email.as_mut() {
                e.size = f.get("S").and_then(|s| s.parse().ok());
                e.message_uid = f.get("id").map(b);
            }
            let dkim = f.get("DKIM");
            let dmarc = f.get("DMARC");
            if ev.email.is_some() && (dkim.is_some() || dmarc.is_some()) {
                ev.email_auth = Some(Box::new(crate::ocsf::EmailAuth {
                    dkim: dkim.map(|_| b("pass")),
                    dkim_domain: dkim.map(b),
                    dmarc: dmarc.map(b),
                    ..Default::default()
                }));
            }
            let m = vendor(&mut ev, "exim");
            keep(m, &f, &["P", "DKIM", "DMARC"]);
            put_opt(m, "helo", h.helo);
            if h.ip.is_none() {
                put_opt(m, "peer_ip", h.ip_raw);
            }
            if mail::bare_addr(strip_angle(addr)).is_none() {
                put(m, "sender", addr);
            }
            code(&mut ev, "<=");
        } else {
            // `=> addr <orig> ...`: the original address in angle brackets
            // follows the final one.
            let orig = f
                .words
                .first()
                .filter(|w| w.starts_with('<'))
                .map(|w| strip_angle(w));
            let rcpt = strip_angle(addr);
            let remote = f.get("H").is_some();
            let to: Vec<&str> = if mail::bare_addr(rcpt).is_some() {
                vec![rcpt]
            } else {
                orig.into_iter().collect()
            };
            ev = email_event(ctx, if remote { 1 } else { 2 }, None, to, msgid, "Delivery");
            let h = f.get("H").map(host).unwrap_or_default();
            if remote {
                ev.dst_endpoint = host_ep(&h);
            }
            match op {
                "**" => {
                    ev.set_status(2, None);
                    ev.status_detail = f.tail.map(b);
                }
                "==" => {
                    ev.set_status(99, Some(b("deferred")));
                    security(&mut ev, action::ALLOWED, disposition::DELAYED);
                    ev.status_detail = f
                        .tail
                        .or_else(|| rest.split_once("defer ").map(|x| x.1))
                        .map(b);
                }
                _ => {
                    ev.set_status(1, None);
                    ev.status_detail = f.get("C").map(b);
                }
            }
            let m = vendor(&mut ev, "exim");
            keep(m, &f, &["C"]);
            put(m, "address", addr);
            put_opt(m, "original_address", orig);
            if remote && h.ip.is_none() {
                put_opt(m, "peer_ip", h.ip_raw);
            }
            code(
                &mut ev,
                match op {
                    "=>" => "=>",
                    "->" => "->",
                    "*>" => "*>",
                    "**" => "**",
                    _ => "==",
                },
            );
        }
        return ev;
    }
    if text == "Completed" || text.starts_with("Completed ") {
        let mut ev = new_event(ctx, &BASE_EVENT, 99);
        other_activity(&mut ev, "Completed");
        put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
        code(&mut ev, "completed");
        return ev;
    }
    // Policy rejects with an address.
    if let Some(i) = text.find(" rejected RCPT ") {
        let f = fields(&text[..i]);
        let after = &text[i + 15..];
        let (rcpt, why) = after.split_once(": ").unwrap_or((after, ""));
        return rejected(
            ctx,
            msgid,
            &f,
            f.get("F"),
            Some(strip_angle(rcpt)),
            why,
            text,
        );
    }
    if let Some(i) = text.find("rejected after DATA") {
        let f = fields(&text[..i]);
        let why = text[i..].split_once(": ").map(|x| x.1).unwrap_or("");
        return rejected(ctx, msgid, &f, f.get("F"), None, why, text);
    }
    if let Some(i) = text.find(" sender verify fail for ") {
        let f = fields(&text[..i]);
        let after = &text[i + 24..];
        let (s, why) = after.split_once(": ").unwrap_or((after, ""));
        return rejected(ctx, msgid, &f, Some(strip_angle(s)), None, why, text);
    }
    if let Some(i) = text.find(" authenticator failed for ") {
        let mech = text[..i].rsplit(' ').next().unwrap_or("");
        let after = &text[i + 26..];
        let (peer, why) = match after.find(": 5").or_else(|| after.find(": 4")) {
            Some(c) => (&after[..c], &after[c + 2..]),
            None => (after, ""),
        };
        let peer_host = host(peer.split(" I=").next().unwrap_or(peer));
        let set_id = why
            .split("(set_id=")
            .nth(1)
            .map(|u| u.trim_end_matches(')'))
            .filter(|u| !u.is_empty());
        let mut ev = new_event(ctx, &AUTHENTICATION, 1);
        ev.user = Some(Box::new(User {
            name: Some(b(set_id.unwrap_or("unknown"))),
            email_addr: set_id.filter(|u| crate::common::addr::is_email(u)).map(b),
            ..Default::default()
        }));
        ev.src_endpoint = host_ep(&peer_host);
        let i_part = peer
            .split(" I=")
            .nth(1)
            .map(|x| x.split(' ').next().unwrap_or(x));
        ev.dst_endpoint = Some(local(ctx, i_part));
        ev.service = Some(Box::new(Service {
            name: Some(b("smtp")),
            ..Default::default()
        }));
        ev.set_status(2, None);
        ev.set_severity(2);
        ev.status_code = why.split(' ').next().map(b);
        ev.status_detail = Some(b(why));
        ev.auth_protocol_id = Some(99);
        ev.auth_protocol = Some(b(mech));
        code(&mut ev, "auth_failed");
        let m = vendor(&mut ev, "exim");
        put(m, "authenticator", mech);
        put_opt(m, "helo", peer_host.helo);
        if peer_host.ip.is_none() {
            put_opt(m, "peer_ip", peer_host.ip_raw);
        }
        return ev;
    }
    // Connection-level rejects and protocol errors.
    if text.starts_with("SMTP protocol") {
        let mut ev = refuse(ctx, text, line_host(text), "protocol_error");
        put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
        return ev;
    }
    if let Some(r) = text.strip_prefix("SMTP call from ") {
        let peer = r.split(" dropped").next().unwrap_or(r);
        return refuse(ctx, text, host(peer), "rejected_conn");
    }
    let lower_has = |p: &str| text.contains(p);
    if text.starts_with("rejected ")
        || lower_has(" rejected connection")
        || lower_has("rejected connection in")
        || lower_has(" dropped by ")
        || lower_has(" rejected HELO")
        || lower_has(" rejected EHLO")
        || lower_has(" rejected MAIL")
    {
        let mut peer = line_host(text);
        if peer.ip.is_none() && peer.ip_raw.is_none() {
            if let Some(r) = text.split(" from ").nth(1) {
                peer = host(r.split(':').next().unwrap_or(r));
            }
        }
        let mut ev = refuse(ctx, text, peer, "rejected_conn");
        put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
        return ev;
    }
    let conn = |activity: i32, peer: &'a str| {
        let mut ev = new_event(ctx, &NETWORK_ACTIVITY, activity);
        let h = host(peer);
        ev.src_endpoint = host_ep(&h);
        ev.dst_endpoint = Some(local(ctx, None));
        ev.message = Some(b(text));
        code(&mut ev, "conn");
        let m = vendor(&mut ev, "exim");
        put_opt(m, "message_id", msgid);
        put_opt(m, "helo", h.helo);
        if h.ip.is_none() {
            put_opt(m, "peer_ip", h.ip_raw);
        }
        ev
    };
    if let Some(r) = text.strip_prefix("SMTP connection from ") {
        if r.ends_with(" lost") || r.contains(" lost ") {
            return conn(3, r.split(" lost").next().unwrap_or(r));
        }
        let peer = r.split(" I=").next().unwrap_or(r);
        let peer = peer.split(" closed").next().unwrap_or(peer);
        let mut ev = conn(if r.contains("closed by DROP") { 5 } else { 1 }, peer);
        if r.contains("closed by DROP") {
            security(&mut ev, action::DENIED, disposition::DROPPED);
        }
        return ev;
    }
    if text.starts_with("SMTP connection lost") {
        let h = line_host(text);
        let mut ev = new_event(ctx, &NETWORK_ACTIVITY, 3);
        ev.src_endpoint = host_ep(&h);
        ev.dst_endpoint = Some(local(ctx, None));
        ev.message = Some(b(text));
        code(&mut ev, "conn");
        put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
        return ev;
    }
    if let Some(r) = text.strip_prefix("no MAIL in SMTP connection from ") {
        let peer = r.split(" I=").next().unwrap_or(r);
        let peer = peer.split(" D=").next().unwrap_or(peer);
        return conn(2, peer);
    }
    if let Some(r) = text.strip_prefix("TLS error on connection ") {
        let peer = r.trim_start_matches("from ").trim_start_matches("to ");
        // `(helo) [ip] (SSL_accept): error`: the peer ends at its `]`.
        let peer = match peer.find(']') {
            Some(c) => &peer[..=c],
            None => peer.split(':').next().unwrap_or(peer),
        };
        let mut ev = conn(4, peer);
        ev.set_status(2, None);
        return ev;
    }
    if let Some(r) = text.strip_prefix("DANE attempt failed; TLS connection to ") {
        let peer = r.find(']').map(|c| &r[..=c]).unwrap_or(r);
        let mut ev = conn(4, peer);
        ev.src_endpoint = Some(local(ctx, None));
        ev.dst_endpoint = host_ep(&host(peer));
        ev.set_status(2, None);
        return ev;
    }
    if text.starts_with("Frozen") {
        let mut ev = new_event(ctx, &BASE_EVENT, 99);
        other_activity(&mut ev, "Frozen");
        ev.message = Some(b(text));
        code(&mut ev, "frozen");
        put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
        return ev;
    }
    if text.starts_with("exim ") && text.contains(" daemon started")
        || text.starts_with("DNS list lookup")
        || text.starts_with("Start queue run")
        || text.starts_with("End queue run")
        || text.starts_with("no IP address found for host")
        || text.starts_with("no host name found for IP address")
    {
        let mut ev = new_event(ctx, &BASE_EVENT, 99);
        other_activity(&mut ev, "Daemon");
        ev.message = Some(b(text));
        code(&mut ev, "daemon");
        return ev;
    }
    // Anything else: a valid event, counted as fallback.
    let mut ev = new_event(ctx, &BASE_EVENT, 99);
    other_activity(&mut ev, "Log");
    ev.message = Some(b(text));
    code(&mut ev, "log");
    put_opt(vendor(&mut ev, "exim"), "message_id", msgid);
    mark_fallback(&mut ev);
    ev
}

fn rejected<'a>(
    ctx: &LineCtx<'a>,
    msgid: Option<&'a str>,
    f: &Fields<'a>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    why: &'a str,
    text: &'a str,
) -> Event<'a> {
    let from = from.map(strip_angle);
    let mut ev = email_event(
        ctx,
        2,
        from,
        to.into_iter().collect(),
        msgid,
        "Message Rejected",
    );
    let h = f.get("H").map(host).unwrap_or_default();
    ev.src_endpoint = host_ep(&h);
    ev.dst_endpoint = Some(local(ctx, f.get("I")));
    ev.set_status(2, None);
    let temp = text.contains("temporarily rejected") || why.starts_with('4');
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
    ev.status_detail = Some(b(if why.is_empty() { text } else { why }));
    if let Some(spf) = f.get("SPF") {
        if ev.email.is_some() {
            ev.email_auth = Some(Box::new(crate::ocsf::EmailAuth {
                spf: Some(b(spf)),
                ..Default::default()
            }));
        }
    }
    code(&mut ev, "rejected");
    let m = vendor(&mut ev, "exim");
    keep(m, f, &["H", "I", "F", "SPF"]);
    put_opt(m, "helo", h.helo);
    if h.ip.is_none() {
        put_opt(m, "peer_ip", h.ip_raw);
    }
    if ev_lacks(from) {
        put_opt(vendor(&mut ev, "exim"), "sender", from);
    }
    ev
}

fn ev_lacks(from: Option<&str>) -> bool {
    from.is_some_and(|f| mail::bare_addr(f).is_none())
}

impl Decoder for EximDecoder {
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
        // A syslog prefix (`host exim[pid]: ` or `date time info exim[pid]: `)
        // before the mainlog line is skipped.
        let mut body = line;
        if let Some(i) = line.find("exim[") {
            if let Some(c) = line[i..].find("]: ") {
                let after = &line[i + c + 3..];
                if timestamp(after, opts).is_some() || timestamp(line, opts).is_some() {
                    body = if timestamp(after, opts).is_some() {
                        after
                    } else {
                        line
                    };
                }
            }
        }
        let Some((time_ms, ts, mut rest)) = timestamp(body, opts) else {
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
        };
        if let Some(i) = rest.find("exim[") {
            if let Some(c) = rest[i..].find("]: ") {
                if !rest[..i].contains(' ') || rest[..i].split(' ').count() <= 2 {
                    rest = &rest[i + c + 3..];
                }
            }
        }
        // `[pid]`.
        let mut pid = None;
        if let Some(r) = rest.strip_prefix('[') {
            if let Some((p, after)) = r.split_once("] ") {
                if p.bytes().all(|c| c.is_ascii_digit()) {
                    pid = Some(p);
                    rest = after;
                }
            }
        }
        let (msgid, msg) = match rest.split_once(' ') {
            Some((id, m)) if is_msgid(id) => (Some(id), m),
            None if is_msgid(rest) => (Some(rest), ""),
            _ => (None, rest),
        };
        let ctx = LineCtx {
            time_ms,
            original_time: Some(ts),
            host: None,
            raw: line,
            product: PRODUCT,
            log_name: LOG_NAME,
            opts,
        };
        let mut ev = map_line(&ctx, msgid, msg);
        if let Some(p) = pid.and_then(|p| p.parse::<i64>().ok()) {
            put(vendor(&mut ev, "exim"), "pid", p);
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
    fn ids_and_times() {
        assert!(is_msgid("10HmaX-000000005vi-0000"));
        assert!(is_msgid("1ahrVl-0006mY-79"));
        assert!(!is_msgid("SMTP"));
        let o = Options::default();
        let (t, ts, rest) = timestamp("2017-07-30 18:51:05.712 x", &o).unwrap();
        assert_eq!(
            (t, ts, rest),
            (1_501_440_665_712, "2017-07-30 18:51:05.712", "x")
        );
        let (t, _, _) = timestamp("2017-07-30 18:51:05 +0100 x", &o).unwrap();
        assert_eq!(t, 1_501_437_065_000);
        assert!(timestamp("mail.example.com exim", &o).is_none());
    }

    #[test]
    fn field_lists() {
        let f = fields("H=mx.example.net (helo.example.net) [192.0.2.1]:25 I=[192.0.2.2]:25 P=esmtps X=TLS1.3 K S=123 id=abc@x for a@b.test c@d.test");
        assert_eq!(
            f.get("H"),
            Some("mx.example.net (helo.example.net) [192.0.2.1]:25")
        );
        assert_eq!(f.get("S"), Some("123"));
        assert_eq!(f.flags, vec!["K"]);
        assert_eq!(f.for_rcpts, vec!["a@b.test", "c@d.test"]);
        let h = host("mx.example.net (helo) [192.0.2.1]:25");
        assert_eq!(
            (h.name, h.helo, h.ip, h.port),
            (
                Some("mx.example.net"),
                Some("helo"),
                Some("192.0.2.1"),
                Some(25)
            )
        );
        let h = host("(x) [ip4.ip4.ip4.ip4]");
        assert_eq!((h.ip, h.ip_raw), (None, Some("ip4.ip4.ip4.ip4")));
        let f = fields("R=r1 T=smtp: error text");
        assert_eq!((f.get("T"), f.tail), (Some("smtp"), Some("error text")));
        let f = fields(r#"C="250 OK \"x\" id=1" R=a"#);
        assert_eq!(f.get("C"), Some(r#"250 OK \"x\" id=1"#));
        assert_eq!(fields("").items.len(), 0);
    }

    #[test]
    fn munged_values_stay_valid() {
        let mut d = decoder(&Options::default());
        let mut evs = Vec::new();
        let o = d.decode(b"1999-03-02 09:44:33 10HmbB-000000005vi-0000 <= a@passme.example.com H=(cname.test.ex) [ip4.ip4.ip4.ip4] P=smtp S=sss", 0, &mut |e| evs.push(serde_json::to_value(e).unwrap()));
        assert!(o.is_parsed());
        assert_eq!(evs[0]["class_uid"], 4009);
        assert!(evs[0].get("src_endpoint").is_none());
        assert_eq!(evs[0]["unmapped"]["exim"]["peer_ip"], "ip4.ip4.ip4.ip4");
        assert!(evs[0]["email"].get("size").is_none());
    }
}
