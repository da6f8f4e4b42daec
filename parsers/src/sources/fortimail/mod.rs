//! Fortinet FortiMail syslog (`key=value` / `key="value"`) to OCSF.
//!
//! One event per record (FortiMail logs one line per message in its
//! history log, and per-detection lines in its antispam/antivirus logs);
//! they share the FortiMail `session_id`, which is `message_trace_uid` and
//! `email.uid`, so a query can join them.
//!
//! | `type` / `subtype` | event (`metadata.event_code` = `type/subtype`) |
//! |---|---|
//! | `statistics` (history: one line per message with `disposition`, `classifier`, `direction`) | Email Activity 4009 Receive/Send, `security_control` from `disposition` |
//! | `spam` (antispam detections: spam URL, WebFilter category, attachment scan) | Email Activity Scan with `email.urls[]` / `email.files[]`; a detection (anything but a clean scan) also a Detection Finding 2004 |
//! | `virus` (`infected`, `fortisandbox`, ...) | Email Activity Scan (Base Event "Sandbox Scan" without addresses); a non-clean rating also a Detection Finding |
//! | `event` / `smtp` (the embedded Sendmail `msg`: `from=`, `to=`, `STARTTLS=`, ...) | as the Sendmail source maps that message, product FortiMail |
//! | `event` / other, `kevent` | Base Event, Other "System Event", `message` |
//! | a bare Sendmail line (no `type=`) | as the Sendmail source |
//!
//! Time: `date=` + `time=` in the `Options` zone; FortiMail can leave out
//! `date=` (only `time=`), then the date of `Options::reference_time_ms`
//! is used.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveTime};

use crate::common::mail::{
    self, action, b, disposition, new_event, other_activity, put, reject, security, set_direction,
    vendor, Detection, LineCtx,
};
use crate::ocsf::{Email, Event, File, Str, Url, BASE_EVENT, EMAIL_ACTIVITY};
use crate::sources::sendmail;
use crate::{Decoder, ErrorKind, Options, Outcome};

const PRODUCT: (&str, &str) = ("FortiMail", "Fortinet");
const LOG_NAME: &str = "fortimail";

/// A decoder for FortiMail syslog records.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(FortimailDecoder { opts: opts.clone() })
}

struct FortimailDecoder {
    opts: Options,
}

/// `key=value` / `key="value"` pairs, in order; stops at the first item that
/// is not a pair. Values are borrowed (FortiMail does not escape quotes).
pub fn pairs(s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::with_capacity(16);
    let mut rest = s.trim_start();
    // A syslog `<PRI>` or header before the first pair is skipped.
    if let Some(i) = rest.find('=') {
        let start = rest[..i].rfind(' ').map(|p| p + 1).unwrap_or(0);
        rest = &rest[start..];
    }
    if let Some(r) = rest.strip_prefix('<') {
        if let Some((pri, after)) = r.split_once('>') {
            if pri.bytes().all(|c| c.is_ascii_digit()) {
                rest = after;
            }
        }
    }
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        if key.is_empty()
            || !key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            break;
        }
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(e) => (&q[..e], &q[e + 1..]),
                None => (q, ""),
            }
        } else {
            match after.find(' ') {
                Some(e) => (&after[..e], &after[e..]),
                None => (after, ""),
            }
        };
        out.push((key, value));
        rest = next.trim_start();
    }
    out
}

fn get<'a>(p: &[(&'a str, &'a str)], k: &str) -> Option<&'a str> {
    p.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|v| !v.is_empty())
}

/// Epoch ms of `date=` (yyyy-mm-dd) + `time=` (hh:mm:ss[.fff]).
fn time_of(date: Option<&str>, time: Option<&str>, opts: &Options) -> Option<i64> {
    let t = NaiveTime::parse_from_str(time?, "%H:%M:%S%.f").ok()?;
    let d = match date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?,
        None => chrono::DateTime::from_timestamp_millis(opts.reference_time_ms)?.date_naive(),
    };
    Some(d.and_time(t).and_utc().timestamp_millis() - i64::from(opts.utc_offset_secs) * 1000)
}

/// Keep every pair not mapped under `unmapped.fortimail`.
fn keep_rest(ev: &mut Event<'_>, p: &[(&str, &str)], mapped: &[&str]) {
    let m = vendor(ev, "fortimail");
    for (k, v) in p {
        if !mapped.contains(k) && !v.is_empty() {
            put(m, k, *v);
        }
    }
}

const COMMON: &[&str] = &["date", "time", "device_id", "type", "subtype", "pri", "msg"];

/// `email` from `from`/`to` (FortiMail writes comma-separated recipients).
fn email_from<'a>(p: &[(&'a str, &'a str)]) -> Option<Email<'a>> {
    let from = non_empty(get(p, "from")).or_else(|| non_empty(get(p, "hfrom")));
    let to = get(p, "to").unwrap_or("");
    mail::email_of(from, to.split([',', ';']))
}

/// `disposition` of the history log to (action, disposition, status).
fn disposition_of(d: &str) -> (i32, i32, i32) {
    let l = d.to_ascii_lowercase();
    if l.contains("reject") {
        (action::DENIED, disposition::BLOCKED, 2)
    } else if l.contains("quarantine") {
        (action::DENIED, disposition::QUARANTINED, 1)
    } else if l.contains("discard") || l.contains("delete") {
        (action::DENIED, disposition::DROPPED, 1)
    } else if l.contains("defer") {
        (action::DENIED, disposition::DELAYED, 99)
    } else if l.contains("tag") || l.contains("insert") || l.contains("replace") {
        (action::MODIFIED, disposition::TAGGED, 1)
    } else if l.contains("accept") || l.contains("deliver") || l.contains("relay") {
        (action::ALLOWED, disposition::ALLOWED, 1)
    } else {
        (action::OBSERVED, disposition::LOGGED, 0)
    }
}

/// What a `msg` of the antispam / antivirus logs says.
#[derive(Debug, Default, PartialEq)]
struct Scan<'a> {
    file: Option<&'a str>,
    checksum: Option<&'a str>,
    url: Option<&'a str>,
    category: Option<&'a str>,
    engine: Option<&'a str>,
    result: Option<&'a str>,
    detected: bool,
    kind: &'static str,
}

fn parse_scan(msg: &str) -> Scan<'_> {
    let mut s = Scan {
        kind: "Spam",
        ..Default::default()
    };
    if let Some(r) = msg.strip_prefix("File name: ") {
        // `File name: a.ppt(checksum:1), scanned by Antivirus Scanner(detected)`
        let (name, rest) = r.split_once(", scanned by ").unwrap_or((r, ""));
        let (name, sum) = match name.split_once("(checksum:") {
            Some((n, c)) => (n, Some(c.trim_end_matches(')'))),
            None => (name, None),
        };
        s.file = Some(name.trim());
        s.checksum = sum;
        let (engine, result) = rest.split_once('(').unwrap_or((rest, ""));
        s.engine = (!engine.is_empty()).then_some(engine);
        s.result = Some(result.trim_end_matches(')')).filter(|r| !r.is_empty());
        s.detected = !matches!(s.result, Some("clean") | None);
        s.kind = "Malware";
    } else if let Some(i) = msg.find(" identified spam URL: ") {
        s.engine = Some(&msg[..i]);
        s.url = Some(msg[i + 22..].trim());
        s.detected = true;
    } else if let Some(i) = msg.find(" identified URL: ") {
        s.engine = Some(&msg[..i]);
        let rest = &msg[i + 17..];
        let (url, cat) = rest.split_once(", category: ").unwrap_or((rest, ""));
        s.url = Some(url.trim());
        let cat = cat
            .split(", id:")
            .next()
            .unwrap_or(cat)
            .trim_end_matches('.');
        s.category = (!cat.is_empty()).then_some(cat);
        s.detected = true;
    } else if let Some(r) = msg.strip_prefix("File ") {
        // `File f.pdf (checksum: 1) has been scanned by FortiSandbox. Scan result: rating=CLEAN`
        let (name, rest) = r.split_once(" (checksum: ").unwrap_or((r, ""));
        s.file = Some(name.split(" has been scanned").next().unwrap_or(name));
        s.checksum = rest.split(')').next().filter(|c| !c.is_empty());
        sandbox(&mut s, msg);
    } else if let Some(r) = msg.strip_prefix("URL ") {
        s.url = r.split(" has been scanned").next();
        sandbox(&mut s, msg);
    } else {
        s.detected = true;
    }
    s
}

fn sandbox<'a>(s: &mut Scan<'a>, msg: &'a str) {
    s.engine = Some("FortiSandbox");
    s.result = msg.split("rating=").nth(1).map(|r| r.trim_end_matches('.'));
    s.detected = !matches!(s.result, Some("CLEAN") | Some("Clean") | Some("clean"));
    s.kind = "Malware";
}

fn url_of(u: &str) -> Url<'_> {
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, u),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    Url {
        url_string: Some(b(u)),
        scheme: scheme.map(b),
        hostname: (!host.is_empty()).then_some(b(host)),
        ..Default::default()
    }
}

fn map_scan<'a>(
    ctx: &LineCtx<'a>,
    p: &[(&'a str, &'a str)],
    typ: &'a str,
    out: &mut dyn FnMut(&mut Event<'a>),
) {
    let msg = get(p, "msg").unwrap_or("");
    let scan = parse_scan(msg);
    let session = non_empty(get(p, "session_id"));
    let email = email_from(p);
    let mut files = Vec::new();
    if let Some(f) = scan.file {
        files.push(File {
            name: Some(b(f)),
            type_id: Some(1),
            type_: Some(b("Regular File")),
            ..Default::default()
        });
    }
    let urls: Vec<Url<'a>> = scan
        .url
        .map(|u| {
            let mut url = url_of(u);
            url.categories = scan.category.map(b).into_iter().collect();
            url
        })
        .into_iter()
        .collect();
    let mut ev = match email.clone() {
        Some(mut e) => {
            let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3);
            e.subject = non_empty(get(p, "subject")).map(b);
            e.uid = session.map(b);
            e.files = files.clone();
            e.urls = urls.clone();
            let dir = mail::direction(
                e.from.as_deref(),
                e.to.iter().map(|t| t.as_ref()),
                &ctx.opts.local_domains,
            );
            set_direction(&mut ev, dir);
            ev.email = Some(Box::new(e));
            ev.message_trace_uid = session.map(b);
            ev
        }
        None => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99);
            other_activity(
                &mut ev,
                if typ == "virus" {
                    "Sandbox Scan"
                } else {
                    "Content Scan"
                },
            );
            let m = vendor(&mut ev, "fortimail");
            if let Some(f) = scan.file {
                put(m, "file_name", f);
            }
            if let Some(u) = scan.url {
                put(m, "url", u);
            }
            ev
        }
    };
    ev.src_endpoint = mail::endpoint(
        non_empty(get(p, "client_name")),
        non_empty(get(p, "client_ip")),
        None,
    );
    ev.dst_endpoint = mail::endpoint(None, non_empty(get(p, "dst_ip")), None);
    ev.message = Some(b(msg));
    ev.set_status(1, None);
    let (act, disp) = match get(p, "action") {
        Some(a) => {
            let (a, d, _) = disposition_of(a);
            (a, d)
        }
        None if scan.detected => (action::OBSERVED, disposition::DETECTED),
        None => (action::ALLOWED, disposition::ALLOWED),
    };
    security(&mut ev, act, disp);
    let mut mw = Vec::new();
    if scan.detected {
        ev.set_severity(if scan.kind == "Malware" { 4 } else { 2 });
        if scan.kind == "Malware" {
            let mut m = mail::malware(
                Cow::Owned(format!(
                    "{} {}",
                    scan.engine.unwrap_or("FortiMail"),
                    scan.result.unwrap_or("detected")
                )),
                "FortiMail",
            );
            m.files = files.clone();
            mw.push(m);
            ev.malware = mw.clone();
        }
    }
    {
        let m = vendor(&mut ev, "fortimail");
        if let Some(c) = scan.checksum {
            put(m, "checksum", c);
        }
        if let Some(e) = scan.engine {
            put(m, "engine", e);
        }
        if let Some(r) = scan.result {
            put(m, "scan_result", r);
        }
    }
    keep_rest(
        &mut ev,
        p,
        &[
            COMMON,
            &[
                "from",
                "to",
                "subject",
                "session_id",
                "client_name",
                "client_ip",
                "dst_ip",
            ],
        ]
        .concat(),
    );
    out(&mut ev);
    if scan.detected {
        let what = scan.file.or(scan.url).unwrap_or("message");
        let det = Detection {
            uid: format!("{}:{}:{}", session.unwrap_or("-"), typ, what),
            title: format!("FortiMail {}: {}", scan.engine.unwrap_or("detection"), what),
            kind: scan.kind,
            severity_id: if scan.kind == "Malware" { 4 } else { 2 },
            malware: mw,
        };
        let mut f = mail::finding(ctx, det, email, (session.map(b), None), act, disp);
        if let Some(e) = f.evidences.first_mut().and_then(|e| e.email.as_mut()) {
            e.subject = non_empty(get(p, "subject")).map(b);
            e.files = files;
            e.urls = urls;
        }
        f.message = Some(b(msg));
        out(&mut f);
    }
}

fn map_statistics<'a>(
    ctx: &LineCtx<'a>,
    p: &[(&'a str, &'a str)],
    out: &mut dyn FnMut(&mut Event<'a>),
) {
    let session = non_empty(get(p, "session_id"));
    let dir = match get(p, "direction") {
        Some("in") | Some("incoming") => Some(1),
        Some("out") | Some("outgoing") => Some(2),
        _ => None,
    };
    let mut ev = match email_from(p) {
        Some(mut e) => {
            let mut ev = new_event(ctx, &EMAIL_ACTIVITY, if dir == Some(2) { 1 } else { 2 });
            e.subject = non_empty(get(p, "subject")).map(b);
            e.uid = session.map(b);
            e.message_uid = non_empty(get(p, "message_id")).map(|m| b(m.trim_matches(['<', '>'])));
            e.size = get(p, "message_length").and_then(|s| s.parse().ok());
            let d = dir.unwrap_or_else(|| {
                mail::direction(
                    e.from.as_deref(),
                    e.to.iter().map(|t| t.as_ref()),
                    &ctx.opts.local_domains,
                )
            });
            set_direction(&mut ev, d);
            ev.email = Some(Box::new(e));
            ev.message_trace_uid = session.map(b);
            ev
        }
        None => {
            let mut ev = new_event(ctx, &BASE_EVENT, 99);
            other_activity(&mut ev, "Message");
            ev
        }
    };
    let disp = get(p, "disposition").unwrap_or("");
    let (a, d, st) = disposition_of(disp);
    security(&mut ev, a, d);
    ev.set_status(st, (st == 99).then(|| b("deferred")));
    ev.status_detail = non_empty(get(p, "disposition")).map(b);
    ev.src_endpoint = mail::endpoint(
        non_empty(get(p, "client_name")),
        non_empty(get(p, "client_ip")),
        None,
    );
    ev.dst_endpoint = mail::endpoint(None, non_empty(get(p, "dst_ip")), None);
    if let Some(pol) = non_empty(get(p, "polid")) {
        ev.policy = Some(Box::new(crate::ocsf::Policy {
            uid: Some(b(pol)),
            ..Default::default()
        }));
    }
    let classifier = non_empty(get(p, "classifier"));
    if classifier.is_some_and(|c| !c.eq_ignore_ascii_case("not spam")) {
        ev.set_severity(2);
    }
    if let Some(v) = non_empty(get(p, "virus")) {
        ev.malware = vec![mail::malware(b(v), "FortiMail")];
        ev.set_severity(4);
    }
    keep_rest(
        &mut ev,
        p,
        &[
            COMMON,
            &[
                "from",
                "to",
                "subject",
                "session_id",
                "client_name",
                "client_ip",
                "dst_ip",
                "message_id",
                "message_length",
                "polid",
                "virus",
            ],
        ]
        .concat(),
    );
    let virus = non_empty(get(p, "virus"));
    let flagged = classifier.filter(|c| !c.eq_ignore_ascii_case("not spam"));
    let finding = match (virus, flagged) {
        (None, None) => None,
        (v, c) => {
            let lc = c.unwrap_or("").to_ascii_lowercase();
            let kind = if v.is_some() || lc.contains("virus") || lc.contains("malware") {
                "Malware"
            } else if lc.contains("phish") || lc.contains("impersonation") {
                "Phishing"
            } else {
                "Spam"
            };
            let det = Detection {
                uid: format!("{}:statistics", session.unwrap_or("-")),
                title: format!("FortiMail {}: {}", kind, v.or(c).unwrap_or("")),
                kind,
                severity_id: if kind == "Spam" { 2 } else { 4 },
                malware: ev.malware.clone(),
            };
            let email = ev.email.as_deref().cloned().map(|mut e| {
                e.uid = None;
                e.message_uid = None;
                e
            });
            let ids = (
                ev.email.as_ref().and_then(|e| e.uid.clone()),
                ev.email.as_ref().and_then(|e| e.message_uid.clone()),
            );
            Some(mail::finding(ctx, det, email, ids, a, d))
        }
    };
    if finding.is_some() && ev.severity_id < Some(4) {
        ev.set_severity(
            if flagged.is_some_and(|c| c.to_ascii_lowercase().contains("spam")) {
                2
            } else {
                4
            },
        );
    }
    mail::fit_base(&mut ev);
    out(&mut ev);
    if let Some(mut f) = finding {
        out(&mut f);
    }
}

impl Decoder for FortimailDecoder {
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
        let p = pairs(line);
        let typ = get(&p, "type");
        let date = get(&p, "date");
        let time = get(&p, "time");
        let time_ms = time_of(date, time, opts);
        if time.is_some() && time_ms.is_none() {
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
        let original: Option<Str<'_>> = match (date, time) {
            (Some(d), Some(t)) => Some(Cow::Owned(format!("{d} {t}"))),
            (None, Some(t)) => Some(b(t)),
            _ => None,
        };
        let ctx = LineCtx {
            time_ms: time_ms.unwrap_or(opts.reference_time_ms),
            original_time: None,
            host: non_empty(get(&p, "device_id")),
            raw: line,
            product: PRODUCT,
            log_name: LOG_NAME,
            opts,
        };
        let code: Option<Str<'_>> = typ.map(|t| match get(&p, "subtype") {
            Some(st) => Cow::Owned(format!("{t}/{st}")),
            None => b(t),
        });
        fn finish<'a>(
            ev: &mut Event<'a>,
            original: &Option<Str<'a>>,
            code: &Option<Str<'a>>,
            out: &mut dyn FnMut(&mut Event<'_>),
        ) {
            let meta = ev.meta();
            meta.original_time = original.clone();
            if code.is_some() {
                meta.event_code = code.clone();
            }
            mail::fit_base(ev);
            out(ev);
        }
        match typ {
            None => {
                // A bare Sendmail message (FortiMail's MTA) without the
                // FortiMail fields.
                let (qid, rest) = sendmail::split_qid(line);
                let msg = sendmail::parse(rest);
                if matches!(msg, sendmail::Msg::Log(_)) {
                    return reject(
                        record,
                        ErrorKind::UnknownMessage,
                        0,
                        PRODUCT,
                        LOG_NAME,
                        None,
                        opts,
                        out,
                    );
                }
                finish(
                    &mut sendmail::map(&ctx, qid, &msg, "fortimail"),
                    &original,
                    &code,
                    out,
                );
            }
            Some("statistics") | Some("history") => {
                map_statistics(&ctx, &p, &mut |ev| finish(ev, &original, &code, out))
            }
            Some("spam") | Some("virus") => map_scan(&ctx, &p, typ.unwrap_or(""), &mut |ev| {
                finish(ev, &original, &code, out)
            }),
            Some("event") if get(&p, "subtype") == Some("smtp") => {
                let msg_text = get(&p, "msg").unwrap_or("");
                let session = non_empty(get(&p, "session_id"));
                let (qid, rest) = sendmail::split_qid(msg_text);
                let msg = sendmail::parse(rest);
                let mut ev = sendmail::map(&ctx, qid.or(session), &msg, "fortimail");
                if let Some(e) = ev.email.as_mut() {
                    e.uid = session.map(b).or(e.uid.take());
                }
                keep_rest(&mut ev, &p, &[COMMON, &["session_id"]].concat());
                finish(&mut ev, &original, &code, out);
            }
            Some(_) => {
                let mut ev = new_event(&ctx, &BASE_EVENT, 99);
                other_activity(&mut ev, "System Event");
                ev.message = non_empty(get(&p, "msg")).map(b);
                keep_rest(&mut ev, &p, COMMON);
                finish(&mut ev, &original, &code, out);
            }
        }
        Outcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_parsing() {
        let p = pairs(r#"<14>time=17:07:46.124 device_id=FE1 type=event  msg="a b, c=d" x="#);
        assert_eq!(get(&p, "time"), Some("17:07:46.124"));
        assert_eq!(get(&p, "msg"), Some("a b, c=d"));
        assert_eq!(get(&p, "x"), Some(""));
        assert!(pairs("no pairs").is_empty());
        assert_eq!(pairs(r#"a="unterminated"#), vec![("a", "unterminated")]);
    }

    #[test]
    fn scans() {
        let s = parse_scan(
            "File name: file.ppt(checksum:122452), scanned by Antivirus Scanner(detected)",
        );
        assert_eq!(
            (s.file, s.checksum, s.detected),
            (Some("file.ppt"), Some("122452"), true)
        );
        let s =
            parse_scan("FortiGuard-WebFilter identified URL: url.fr, category: Spam URLs, id: 86.");
        assert_eq!((s.url, s.category), (Some("url.fr"), Some("Spam URLs")));
        let s = parse_scan(
            "URL https://x.test/a has been scanned by FortiSandbox. Scan result: rating=CLEAN",
        );
        assert_eq!((s.url, s.detected), (Some("https://x.test/a"), false));
    }

    #[test]
    fn times() {
        let o = Options::default();
        assert_eq!(
            time_of(Some("2026-01-02"), Some("00:00:01.5"), &o),
            Some(1_767_312_001_500)
        );
        assert_eq!(time_of(None, Some("00:00:01"), &o), Some(1000));
        assert_eq!(time_of(None, Some("xx"), &o), None);
    }

    #[test]
    fn detections_emit_findings() {
        let mut d = decoder(&Options::default());
        let mut classes = Vec::new();
        let o = d.decode(br#"date=2026-03-02 time=10:00:08 device_id=FE1 log_id=1 type=spam subtype=default pri=information session_id="s1" client_name="mx.example.org" client_ip="198.51.100.2" dst_ip="192.0.2.1" from="a@example.org" to="b@example.com" subject="x" msg="File name: f.exe(checksum:1), scanned by Antivirus Scanner(detected)""#, 0, &mut |e| classes.push(e.class_uid));
        assert!(o.is_parsed());
        assert_eq!(classes, vec![Some(4009), Some(2004)]);
    }
}
