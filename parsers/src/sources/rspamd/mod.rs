//! rspamd log lines to OCSF.
//!
//! Reads rspamd's log file (`2026-11-22 12:31:53 #19430(rspamd_proxy)
//! <9bcd8c>; proxy; rspamd_task_write_log: ...`) and the same message after
//! a syslog header of program `rspamd`. The per-message result line is
//! `rspamd_task_write_log` in rspamd's default `log_format`:
//!
//! ```text
//! id: <msgid>, qid: <queue id>, ip: 127.0.0.20, [user: u,] from: <a@b>,
//! (default: T (reject): [16.28/15.00] [SYM(weight){opt;opt;},...]), len: 1075,
//! time: 8.383ms, dns req: 13, digest: <..>, rcpts: <a,b>, mime_rcpts: <..>[, forced: ...]
//! ```
//!
//! | line | event |
//! |---|---|
//! | `rspamd_task_write_log` | Email Activity 4009 Scan: `email` (envelope from, rcpts, Message-ID, size), `message_trace_uid` (Postfix queue ID), `src_endpoint.ip`, `email_auth` from the SPF/DKIM/DMARC symbols, security_control action/disposition from the rspamd action, `malware[]` from antivirus symbols, every symbol with its weight and options under `unmapped.rspamd.symbols` |
//! | the same, when the action is not `no action` or a phishing/virus symbol fired | also a Detection Finding 2004 (evidence: the e-mail; linked by `email.message_uid`) |
//! | start-up, configuration, maps, milter connections, per-module messages | Base Event, Other (label: the rspamd module: `cfg`, `map`, `proxy`, `milter`, `lua`, ...) |
//!
//! Action → security control: `no action` Allowed/Allowed; `greylist`,
//! `soft reject` Denied/Delayed; `add header`, `rewrite subject` Modified /
//! Tagged; `reject` Denied/Blocked; `discard` Denied/Dropped.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use crate::common::addr::{is_email, is_ip};
use crate::common::scan::{
    self, action, disposition, email_evidence, finding, new_event, other_event, put, put_opt,
    security, vendor, LineCtx,
};
use crate::common::syslog::parse_header;
use crate::common::time::{parse_iso_time, TimeContext};
use crate::ocsf::{
    severity, Email, EmailAuth, Event, NetworkEndpoint, Str, BASE_EVENT, EMAIL_ACTIVITY,
};
use crate::sources::postfix::ocsf::direction;
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

const PRODUCT: (&str, &str) = ("rspamd", "Rspamd");
const LOG_NAME: &str = "rspamd";

/// Decoder of rspamd log lines; see the module doc.
pub struct RspamdDecoder {
    opts: Options,
    tc: TimeContext,
}

/// A fresh rspamd decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(RspamdDecoder {
        opts: opts.clone(),
        tc: TimeContext::from_options(opts),
    })
}

fn b(s: &str) -> Str<'_> {
    Cow::Borrowed(s)
}

/// The parts of an rspamd log line after the time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line<'a> {
    /// `#19430`.
    pub pid: Option<&'a str>,
    /// `(rspamd_proxy)`.
    pub process: Option<&'a str>,
    /// `<9bcd8c>`: the task or object tag.
    pub tag: Option<&'a str>,
    /// `proxy`, `cfg`, `lua`, ...
    pub module: Option<&'a str>,
    /// `rspamd_task_write_log`, `spf.lua:186`, ...
    pub func: Option<&'a str>,
    /// The message.
    pub msg: &'a str,
}

/// `#pid(process) [<tag>; ][module; ]func: message` (every part optional
/// except the message).
pub fn parse_body(s: &str) -> Line<'_> {
    let mut l = Line::default();
    let mut r = s.trim_start();
    if let Some(x) = r.strip_prefix('#') {
        let end = x.find('(').unwrap_or(0);
        if end > 0 && x[..end].bytes().all(|c| c.is_ascii_digit()) {
            l.pid = Some(&x[..end]);
            r = &x[end..];
        }
    }
    if let Some(x) = r.strip_prefix('(') {
        if let Some(end) = x.find(") ") {
            l.process = Some(&x[..end]);
            r = &x[end + 2..];
        }
    }
    if let Some(x) = r.strip_prefix('<') {
        if let Some(end) = x.find(">; ") {
            l.tag = Some(&x[..end]).filter(|t| !t.is_empty());
            r = &x[end + 3..];
        }
    }
    if let Some((m, rest)) = r.split_once("; ") {
        if !m.is_empty() && m.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            l.module = Some(m);
            r = rest;
        }
    }
    if let Some((f, rest)) = r.split_once(": ") {
        if !f.is_empty()
            && f.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
        {
            l.func = Some(f);
            r = rest;
        }
    }
    l.msg = r.trim_end();
    l
}

/// One symbol of a scan result.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol<'a> {
    /// `R_SPF_ALLOW`.
    pub name: &'a str,
    /// Its weight in this result.
    pub score: Option<f64>,
    /// `{a;b;}` options.
    pub options: Vec<&'a str>,
}

/// A parsed `rspamd_task_write_log` line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskLog<'a> {
    /// `id:` Message-ID (or `undef`).
    pub id: Option<&'a str>,
    /// `qid:` MTA queue ID.
    pub qid: Option<&'a str>,
    /// `ip:`.
    pub ip: Option<&'a str>,
    /// `user:` authenticated user.
    pub user: Option<&'a str>,
    /// `from:` envelope sender.
    pub from: Option<&'a str>,
    /// The metric name (`default`).
    pub metric: &'a str,
    /// `T` spam, `F` not spam, `S` skipped.
    pub flag: &'a str,
    /// `no action`, `add header`, `reject`, ...
    pub action: &'a str,
    /// Score.
    pub score: Option<f64>,
    /// Threshold of the reject action.
    pub required: Option<f64>,
    /// Symbols in log order.
    pub symbols: Vec<Symbol<'a>>,
    /// `rcpts:` envelope recipients.
    pub rcpts: Vec<&'a str>,
    /// `mime_rcpts:`.
    pub mime_rcpts: Option<&'a str>,
    /// `len:`.
    pub len: Option<i64>,
    /// `time:`.
    pub time: Option<&'a str>,
    /// `dns req:`.
    pub dns_req: Option<i64>,
    /// `digest:`.
    pub digest: Option<&'a str>,
    /// `forced: ...` (the rest of the line).
    pub forced: Option<&'a str>,
}

fn unbr(s: &str) -> &str {
    scan::unbracket(s)
}

/// Split at `,` outside `{}`/`()`.
fn split_symbols(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn symbol(s: &str) -> Option<Symbol<'_>> {
    let s = s.trim();
    let (name, rest) = match s.find('(') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.split('{').next().unwrap_or(s), ""),
    };
    if name.is_empty() {
        return None;
    }
    let (score, rest) = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((sc, r)) => (sc.parse().ok(), r),
        None => (None, rest),
    };
    let options = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .map(|o| o.split(';').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    Some(Symbol {
        name,
        score,
        options,
    })
}

/// Parse the message of `rspamd_task_write_log`.
pub fn parse_task_log(msg: &str) -> Option<TaskLog<'_>> {
    // The metric part: `, (default: F (no action): [..] [..])`.
    let mstart = msg.find(", (")?;
    let head = &msg[..mstart];
    let metric_and_tail = &msg[mstart + 3..];
    let mend = metric_and_tail.find("]), ").map(|i| i + 2).or_else(|| {
        metric_and_tail
            .ends_with("])")
            .then_some(metric_and_tail.len())
    })?;
    let metric_part = &metric_and_tail[..mend - 1];
    let tail = metric_and_tail.get(mend + 2..).unwrap_or("");
    let mut t = TaskLog::default();
    for item in head.split(", ") {
        if let Some((k, v)) = item.split_once(": ") {
            match k {
                "id" => t.id = Some(unbr(v)),
                "qid" => t.qid = Some(unbr(v)),
                "ip" => t.ip = Some(v),
                "user" => t.user = Some(v),
                "from" => t.from = Some(unbr(v)),
                _ => {}
            }
        }
    }
    // `default: F (no action): [-0.10/15.00] [SYMS]`
    let (metric, r) = metric_part.split_once(": ")?;
    t.metric = metric;
    let (flag, r) = r.split_once(" (")?;
    t.flag = flag;
    let (act, r) = r.split_once("): ")?;
    t.action = act;
    let r = r.strip_prefix('[')?;
    let (score, r) = r.split_once("] ")?;
    if let Some((s, req)) = score.split_once('/') {
        t.score = s.parse().ok();
        t.required = req.parse().ok();
    }
    let syms = r
        .strip_prefix('[')
        .map(|x| x.strip_suffix(']').unwrap_or(x))?;
    t.symbols = split_symbols(syms).into_iter().filter_map(symbol).collect();
    // Tail: `len: .., time: .., dns req: .., digest: <..>, rcpts: <..>, mime_rcpts: <..>, forced: ...`
    let mut rest = tail;
    while !rest.is_empty() {
        if let Some(f) = rest.strip_prefix("forced: ") {
            t.forced = Some(f);
            break;
        }
        let (item, next) = rest.split_once(", ").unwrap_or((rest, ""));
        rest = next;
        if let Some((k, v)) = item.split_once(": ") {
            match k {
                "len" => t.len = v.parse().ok(),
                "time" => t.time = Some(v),
                "dns req" => t.dns_req = v.parse().ok(),
                "digest" => t.digest = Some(unbr(v)),
                "rcpts" => {
                    t.rcpts = unbr(v)
                        .split(',')
                        .map(|a| a.trim_end_matches("..."))
                        .filter(|a| !a.is_empty())
                        .collect()
                }
                "mime_rcpts" => t.mime_rcpts = Some(unbr(v)),
                _ => {}
            }
        }
    }
    Some(t)
}

impl Decoder for RspamdDecoder {
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
        // rspamd's own file: `yyyy-mm-dd hh:mm:ss #pid(proc) ...`.
        let (stamp, time_ms, host, body) = match parse_iso_time(line) {
            Ok((r, t)) if r.starts_with(" #") => (
                Some(&line[..line.len() - r.len()]),
                Some(self.tc.resolve_iso(&t)),
                None,
                r,
            ),
            _ => {
                let (h, m) = parse_header(line, &mut self.tc);
                let at = line.len() - m.len();
                match h.app_name {
                    Some(a) if a.starts_with("rspamd") => {
                        if h.bad_timestamp {
                            return fail(ErrorKind::Timestamp, at, None, out);
                        }
                        (h.timestamp, h.time_ms, h.hostname, m)
                    }
                    Some(_) => return fail(ErrorKind::NotThisSource, at, h.time_ms, out),
                    None => return fail(ErrorKind::Header, 0, None, out),
                }
            }
        };
        let l = parse_body(body);
        let ctx = LineCtx {
            time_ms: time_ms.unwrap_or(opts.reference_time_ms),
            original_time: stamp,
            host,
            raw: line,
            product: PRODUCT.0,
            vendor: PRODUCT.1,
            log_name: LOG_NAME,
            opts,
        };
        if l.func == Some("rspamd_task_write_log") {
            if let Some(t) = parse_task_log(l.msg) {
                task_events(&ctx, &l, &t, out);
                return Outcome::Parsed;
            }
        }
        out(&mut base(&ctx, &l));
        Outcome::Parsed
    }
}

fn line_map<'e>(ev: &'e mut Event<'_>, l: &Line<'_>) -> &'e mut Map<String, Value> {
    let m = vendor(ev, "rspamd");
    if let Some(p) = l.pid.and_then(|p| p.parse::<i64>().ok()) {
        put(m, "pid", p);
    }
    put_opt(m, "process", l.process);
    put_opt(m, "tag", l.tag);
    put_opt(m, "module", l.module);
    put_opt(m, "function", l.func);
    m
}

fn base<'a>(ctx: &LineCtx<'a>, l: &Line<'a>) -> Event<'a> {
    let label: &'static str = match l.module {
        Some("cfg") => "Config",
        Some("map") => "Map",
        Some("lua") => "Lua",
        Some("proxy") => "Proxy",
        Some("milter") => "Milter",
        Some("main") => "Main",
        Some("re_cache") => "Regexp Cache",
        Some("symcache") => "Symbol Cache",
        Some("dkim") => "DKIM",
        Some("spf") => "SPF",
        Some("dmarc") => "DMARC",
        Some(_) => "Module",
        None => "Log",
    };
    let mut ev = other_event(ctx, &BASE_EVENT, label);
    let lower = l.msg.to_ascii_lowercase();
    if lower.contains("cannot") || lower.contains("error") || lower.contains("failure") {
        ev.set_severity(severity::LOW);
    }
    ev.message = Some(b(l.msg));
    line_map(&mut ev, l);
    ev
}

/// SPF/DKIM/DMARC results from rspamd's standard symbols.
fn email_auth<'a>(t: &TaskLog<'a>) -> Option<EmailAuth<'a>> {
    let mut a = EmailAuth::default();
    for s in &t.symbols {
        let spf = match s.name {
            "R_SPF_ALLOW" => Some("pass"),
            "R_SPF_FAIL" => Some("fail"),
            "R_SPF_SOFTFAIL" => Some("softfail"),
            "R_SPF_NEUTRAL" => Some("neutral"),
            "R_SPF_NA" => Some("none"),
            "R_SPF_DNSFAIL" => Some("temperror"),
            "R_SPF_PERMFAIL" => Some("permerror"),
            _ => None,
        };
        if spf.is_some() && a.spf.is_none() {
            a.spf = spf.map(b);
        }
        let dkim = match s.name {
            "R_DKIM_ALLOW" => Some("pass"),
            "R_DKIM_REJECT" => Some("fail"),
            "R_DKIM_TEMPFAIL" => Some("temperror"),
            "R_DKIM_PERMFAIL" => Some("permerror"),
            "R_DKIM_NA" => Some("none"),
            _ => None,
        };
        if let Some(d) = dkim {
            // A failing signature wins over a passing one.
            if a.dkim.is_none() || d == "fail" {
                a.dkim = Some(b(d));
                a.dkim_domain = s
                    .options
                    .first()
                    .map(|o| o.split(':').next().unwrap_or(o))
                    .filter(|d| !d.is_empty())
                    .map(b);
            }
        }
        let (dmarc, policy) = match s.name {
            "DMARC_POLICY_ALLOW" | "DMARC_POLICY_ALLOW_WITH_FAILURES" => (Some("pass"), None),
            "DMARC_POLICY_REJECT" => (Some("fail"), Some("reject")),
            "DMARC_POLICY_QUARANTINE" => (Some("fail"), Some("quarantine")),
            "DMARC_POLICY_SOFTFAIL" => (Some("fail"), Some("none")),
            "DMARC_NA" => (Some("none"), None),
            "DMARC_BAD_POLICY" => (Some("permerror"), None),
            "DMARC_DNSFAIL" => (Some("temperror"), None),
            _ => (None, None),
        };
        if let Some(d) = dmarc {
            a.dmarc = Some(b(d));
            // Options: `domain;policy;` (`partner.test;quarantine;`).
            a.dmarc_policy = policy
                .or_else(|| s.options.get(1).copied().filter(|p| !p.is_empty()))
                .map(b);
        }
    }
    (a.spf.is_some() || a.dkim.is_some() || a.dmarc.is_some()).then_some(a)
}

fn is_phish(name: &str) -> bool {
    name.contains("PHISH")
}

fn is_virus(name: &str) -> bool {
    name.contains("VIRUS")
        || name.starts_with("CLAM")
        || name.contains("ANTIVIRUS")
        || name.contains("FPROT")
        || name.contains("SOPHOS")
        || name == "EICAR"
}

fn task_events<'a>(
    ctx: &LineCtx<'a>,
    l: &Line<'a>,
    t: &TaskLog<'a>,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    let from = t.from.filter(|f| is_email(f));
    let tos: Vec<&str> = t.rcpts.iter().copied().filter(|a| is_email(a)).collect();
    let has_email = from.is_some() || !tos.is_empty();
    let mut ev = if has_email {
        let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3);
        scan::set_direction(
            &mut ev,
            direction(from, tos.iter().copied(), &ctx.opts.local_domains),
        );
        let msgid = t.id.filter(|m| !m.is_empty() && *m != "undef");
        ev.email = Some(Box::new(Email {
            from: from.map(b),
            to: tos.iter().map(|x| b(x)).collect(),
            message_uid: msgid.map(b),
            size: t.len,
            ..Default::default()
        }));
        ev.message_trace_uid = t.qid.filter(|q| !q.is_empty() && *q != "undef").map(b);
        ev.email_auth = email_auth(t).map(Box::new);
        ev
    } else {
        other_event(ctx, &BASE_EVENT, "Scan")
    };
    ev.src_endpoint = t.ip.filter(|i| is_ip(i)).map(|i| {
        Box::new(NetworkEndpoint {
            ip: Some(b(i)),
            ..Default::default()
        })
    });
    let (act, disp) = match t.action {
        "no action" => (action::ALLOWED, disposition::ALLOWED),
        "greylist" | "soft reject" | "soft_reject" => (action::DENIED, disposition::DELAYED),
        "add header" | "add_header" | "rewrite subject" | "rewrite_subject" => {
            (action::MODIFIED, disposition::TAGGED)
        }
        "reject" => (action::DENIED, disposition::BLOCKED),
        "discard" => (action::DENIED, disposition::DROPPED),
        "quarantine" => (action::DENIED, disposition::QUARANTINED),
        _ => (action::OBSERVED, disposition::DETECTED),
    };
    security(&mut ev, act, disp);
    let phish: Vec<&str> = t
        .symbols
        .iter()
        .map(|s| s.name)
        .filter(|n| is_phish(n))
        .collect();
    let virus: Vec<&Symbol<'a>> = t.symbols.iter().filter(|s| is_virus(s.name)).collect();
    for v in &virus {
        // Antivirus symbols carry the signature name as their option.
        let name = v.options.first().copied().unwrap_or(v.name);
        ev.malware.push(scan::malware(b(name), "rspamd"));
    }
    let spam = t.flag == "T" || t.action == "reject" && phish.is_empty() && virus.is_empty();
    let acted = t.action != "no action";
    let sev = if !virus.is_empty() || !phish.is_empty() && acted {
        severity::HIGH
    } else if !phish.is_empty() || t.action == "reject" {
        severity::MEDIUM
    } else if acted {
        severity::LOW
    } else {
        severity::INFORMATIONAL
    };
    ev.set_severity(sev);
    if has_email {
        ev.set_status(crate::ocsf::status::SUCCESS, None);
    }
    let m = line_map(&mut ev, l);
    put(m, "metric", t.metric);
    put(m, "action", t.action);
    put(m, "is_spam", t.flag == "T");
    put(m, "flag", t.flag);
    if let Some(s) = t.score {
        put(m, "score", s);
    }
    if let Some(s) = t.required {
        put(m, "required_score", s);
    }
    let syms: Vec<Value> = t
        .symbols
        .iter()
        .map(|s| {
            let mut o = Map::new();
            put(&mut o, "name", s.name);
            if let Some(sc) = s.score {
                put(&mut o, "score", sc);
            }
            if !s.options.is_empty() {
                put(&mut o, "options", json!(s.options));
            }
            Value::Object(o)
        })
        .collect();
    put(m, "symbols", syms);
    put_opt(m, "user", t.user);
    put_opt(m, "time", t.time);
    if let Some(d) = t.dns_req {
        put(m, "dns_req", d);
    }
    put_opt(m, "digest", t.digest);
    put_opt(m, "mime_rcpts", t.mime_rcpts);
    put_opt(m, "forced", t.forced);
    if !has_email {
        put_opt(m, "message_id", t.id);
        put_opt(m, "queue_id", t.qid);
        put_opt(m, "from", t.from);
        put(m, "rcpts", json!(t.rcpts));
    }
    let detection =
        has_email && (t.action != "no action" || !phish.is_empty() || !virus.is_empty());
    let f = detection.then(|| {
        let mut types: Vec<Str<'a>> = Vec::new();
        if !phish.is_empty() {
            types.push(b("Phishing"));
        }
        if !virus.is_empty() {
            types.push(b("Malware"));
        }
        if spam {
            types.push(b("Spam"));
        }
        if types.is_empty() {
            types.push(b("Suspicious Message"));
        }
        // The symbols with the largest positive weight name the finding.
        let mut top: Vec<&Symbol<'a>> = t
            .symbols
            .iter()
            .filter(|s| s.score.unwrap_or(0.0) > 0.0)
            .collect();
        top.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
        let mut names: Vec<&str> = top.iter().take(3).map(|s| s.name).collect();
        if names.is_empty() {
            names = t.symbols.iter().take(3).map(|s| s.name).collect();
        }
        let score = t
            .score
            .map(|s| format!(" {s:.2}/{:.2}", t.required.unwrap_or(0.0)))
            .unwrap_or_default();
        let uid = format!(
            "rspamd:{}:{}",
            t.qid.or(t.id).unwrap_or(""),
            l.tag.or(t.digest).unwrap_or("")
        );
        let title = format!("rspamd {}{score}: {}", t.action, names.join(", "));
        let mut f = finding(&ev, uid, title, types, email_evidence(&ev));
        if let Some(r) = ev.unmapped.as_ref().and_then(|u| u.get("rspamd")) {
            f.unmapped().insert("rspamd".into(), r.clone());
        }
        f
    });
    out(&mut ev);
    if let Some(mut f) = f {
        out(&mut f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHISH: &str = "2026-11-22 12:32:14 #19430(rspamd_proxy) <758218>; proxy; rspamd_task_write_log: id: <1.2.lab@examp1e.test>, qid: <9F6D9548009>, ip: 127.0.0.89, from: <it-support@examp1e.test>, (default: T (reject): [16.28/15.00] [LAB_LOOKALIKE_FROM(7.00){examp1e.test;},PHISHING(3.78){corp.example->c0rp.example;corp.example->198.51.100.235;},R_SPF_ALLOW(-0.20){+a:mail.examp1e.test;},DMARC_NA(0.00){examp1e.test;},R_DKIM_NA(0.00){}]), len: 1075, time: 8.383ms, dns req: 13, digest: <56e6dd0910ee0bdbee04b27eaa720ca7>, rcpts: <frank@corp.example>, mime_rcpts: <frank@corp.example>";

    #[test]
    fn task_log_fields() {
        let l = parse_body(&PHISH[20..]);
        assert_eq!(l.func, Some("rspamd_task_write_log"));
        assert_eq!(l.tag, Some("758218"));
        let t = parse_task_log(l.msg).unwrap();
        assert_eq!(t.qid, Some("9F6D9548009"));
        assert_eq!(t.action, "reject");
        assert_eq!(t.score, Some(16.28));
        assert_eq!(t.symbols.len(), 5);
        assert_eq!(t.symbols[1].options.len(), 2);
        assert_eq!(t.rcpts, vec!["frank@corp.example"]);
        assert_eq!(t.len, Some(1075));
    }

    #[test]
    fn phish_gives_email_and_finding() {
        let opts = Options {
            local_domains: vec!["corp.example".into()],
            ..Options::default()
        };
        let mut d = decoder(&opts);
        let mut v = Vec::new();
        let o = d.decode(PHISH.as_bytes(), 0, &mut |e| {
            v.push(serde_json::to_value(e).unwrap())
        });
        assert!(o.is_parsed());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["email_auth"]["spf"], "pass");
        assert_eq!(v[0]["email_auth"]["dkim"], "none");
        assert_eq!(v[0]["disposition_id"], 2);
        assert_eq!(v[0]["direction_id"], 1);
        assert_eq!(v[1]["class_uid"], 2004);
        assert_eq!(v[1]["finding_info"]["types"][0], "Phishing");
        assert_eq!(
            v[1]["evidences"][0]["email"]["message_uid"],
            "1.2.lab@examp1e.test"
        );
        let o = d.decode(b"not rspamd", 1, &mut |_| {});
        assert!(!o.is_parsed());
    }
}
