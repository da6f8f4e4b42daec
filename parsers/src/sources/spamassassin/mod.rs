//! SpamAssassin `spamd` syslog lines to OCSF.
//!
//! One event per line (spamd logs no sender or recipient address, only the
//! Message-ID and the local user it scanned for, so there is nothing to
//! assemble and no `email` object to fill):
//!
//! | line | event |
//! |---|---|
//! | `spamd: result: Y 7 - TESTS scantime=..,size=..,user=..,mid=<..>,..` | Base Event, Other "Spam Scan", `security_control` (spam: Detected/Tagged; ham: Allowed), score and tests under `unmapped.spamassassin`; spam also a Detection Finding (2004) with the Message-ID as evidence |
//! | `spamd: identified spam (7.2/5.0) for u:1 in 2.9 seconds, 123 bytes.` / `clean message (...)` | the same |
//! | `spamd: connection from host [ip]:port to port N, fd 5` | Network Activity (4001) Open |
//! | `spamd: processing message <mid> for u:1`, `checking message`, `setuid`, `dns:`, `prefork:`, other daemon chatter | Base Event, Other "Log", `message` |
//!
//! A line of another program, or no spamd/spamc shape at all, is the
//! unparsed fallback event.

use crate::common::mail::{
    self, action, b, disposition, new_event, other_activity, put, put_opt, reject, security,
    vendor, Detection, LineCtx,
};
use crate::common::syslog::parse_header;
use crate::common::time::TimeContext;
use crate::ocsf::{Event, BASE_EVENT, NETWORK_ACTIVITY};
use crate::{Decoder, ErrorKind, Options, Outcome};

const PRODUCT: (&str, &str) = ("SpamAssassin", "Apache Software Foundation");
const LOG_NAME: &str = "spamd";

/// A decoder for spamd lines.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(SpamdDecoder {
        tc: TimeContext::from_options(opts),
        opts: opts.clone(),
    })
}

struct SpamdDecoder {
    opts: Options,
    tc: TimeContext,
}

/// A scan verdict.
#[derive(Debug, Clone, PartialEq)]
struct Verdict<'a> {
    /// The `result:` line (the summary line has no tests or Message-ID).
    result: bool,
    spam: bool,
    score: Option<f64>,
    required: Option<f64>,
    tests: Vec<&'a str>,
    info: Vec<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Line<'a> {
    Verdict(Verdict<'a>),
    Connection {
        host: Option<&'a str>,
        ip: Option<&'a str>,
        port: Option<u16>,
        text: &'a str,
    },
    Log {
        facility: &'a str,
        text: &'a str,
    },
}

/// `result: F score - tests info`.
fn parse_result(s: &str) -> Option<Verdict<'_>> {
    let mut it = s.splitn(5, ' ');
    let flag = it.next()?;
    let score = it.next()?;
    let _dash = it.next()?;
    let tests = it.next().unwrap_or("");
    let info = it.next().unwrap_or("");
    if !matches!(flag, "Y" | "." | "N") {
        return None;
    }
    let info = info
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    Some(Verdict {
        result: true,
        spam: flag == "Y",
        score: score.parse().ok(),
        required: None,
        tests: tests
            .split(',')
            .filter(|t| !t.is_empty() && *t != "-")
            .collect(),
        info,
    })
}

/// `identified spam (7.2/5.0) for user:uid in 2.9 seconds, 123 bytes.` or
/// `clean message (...) ...`.
fn parse_summary(s: &str) -> Option<Verdict<'_>> {
    let (spam, rest) = if let Some(r) = s.strip_prefix("identified spam (") {
        (true, r)
    } else {
        (false, s.strip_prefix("clean message (")?)
    };
    let (scores, tail) = rest.split_once(')')?;
    let (score, required) = scores.split_once('/')?;
    let mut info = Vec::new();
    if let Some(t) = tail.trim().strip_prefix("for ") {
        let user = t.split(' ').next().unwrap_or("");
        info.push(("user", user.split(':').next().unwrap_or(user)));
        if let Some((_, secs)) = t.split_once(" in ") {
            info.push(("scantime", secs.split(' ').next().unwrap_or("")));
        }
        if let Some((_, bytes)) = t.rsplit_once(", ") {
            info.push((
                "size",
                bytes.trim_end_matches('.').split(' ').next().unwrap_or(""),
            ));
        }
    }
    Some(Verdict {
        result: false,
        spam,
        score: score.parse().ok(),
        required: required.parse().ok(),
        tests: Vec::new(),
        info,
    })
}

fn parse_line(msg: &str) -> Option<Line<'_>> {
    // `spamd: result: ...` (facility prefix) or bare `result: ...`.
    let (facility, text) = match msg.split_once(": ") {
        Some((f, t)) if !f.contains(' ') && !f.is_empty() => (f, t),
        _ => ("", msg),
    };
    let body = if facility == "spamd" || facility.is_empty() {
        text
    } else if facility == "result" {
        return parse_result(text).map(Line::Verdict);
    } else {
        return Some(Line::Log { facility, text });
    };
    if let Some(r) = body.strip_prefix("result: ") {
        return parse_result(r).map(Line::Verdict);
    }
    if let Some(v) = parse_summary(body) {
        return Some(Line::Verdict(v));
    }
    if let Some(r) = body.strip_prefix("connection from ") {
        let (host, rest) = r.split_once(' ').unwrap_or((r, ""));
        let (ip, port) = match rest.strip_prefix('[').and_then(|x| x.split_once(']')) {
            Some((ip, after)) => (
                Some(ip),
                after
                    .strip_prefix(':')
                    .or_else(|| after.strip_prefix(" at port "))
                    .and_then(|p| p.split([' ', ',']).next())
                    .and_then(|p| p.parse().ok()),
            ),
            None => (None, None),
        };
        return Some(Line::Connection {
            host: Some(host),
            ip,
            port,
            text: body,
        });
    }
    if facility.is_empty() {
        // Without the `spamd:` prefix only the shapes above are spamd's.
        return None;
    }
    Some(Line::Log {
        facility,
        text: body,
    })
}

fn verdict_events<'a>(ctx: &LineCtx<'a>, v: &Verdict<'a>, out: &mut dyn FnMut(&mut Event<'_>)) {
    let mut ev = new_event(ctx, &BASE_EVENT, 99);
    other_activity(&mut ev, "Spam Scan");
    ev.set_status(1, None);
    if v.spam {
        ev.set_severity(2);
        security(&mut ev, action::OBSERVED, disposition::TAGGED);
    } else {
        security(&mut ev, action::ALLOWED, disposition::ALLOWED);
    }
    ev.meta().event_code = Some(b(match (v.result, v.spam) {
        (true, _) => "result",
        (false, true) => "identified spam",
        (false, false) => "clean message",
    }));
    let mid = v
        .info
        .iter()
        .find(|(k, _)| *k == "mid")
        .map(|(_, m)| m.trim_start_matches('<').trim_end_matches('>'))
        .filter(|m| !m.is_empty() && *m != "(unknown)");
    {
        let m = vendor(&mut ev, "spamassassin");
        put(m, "is_spam", v.spam);
        if let Some(s) = v.score {
            put(m, "score", s);
        }
        if let Some(s) = v.required {
            put(m, "required_score", s);
        }
        if !v.tests.is_empty() {
            put(m, "tests", v.tests.clone());
        }
        for (k, val) in &v.info {
            if *k == "mid" {
                continue;
            }
            match (val.parse::<i64>(), val.parse::<f64>(), *k) {
                (Ok(n), _, "size" | "uid" | "rport") => put(m, k, n),
                (_, Ok(n), "scantime" | "required_score") => put(m, k, n),
                _ => put(m, k, *val),
            }
        }
        put_opt(m, "message_uid", mid);
    }
    out(&mut ev);
    if v.spam && v.result {
        let det = Detection {
            uid: format!("spamd:{}", mid.unwrap_or("unknown")),
            title: format!(
                "SpamAssassin identified spam (score {})",
                v.score.map(|s| s.to_string()).unwrap_or_default()
            ),
            kind: "Spam",
            severity_id: 2,
            malware: Vec::new(),
        };
        let user = v.info.iter().find(|(k, _)| *k == "user").map(|(_, u)| *u);
        let mut f = mail::finding(
            ctx,
            det,
            None,
            (None, mid.map(b)),
            action::OBSERVED,
            disposition::TAGGED,
        );
        if let Some(crate::ocsf::Json::Value(serde_json::Value::Object(d))) =
            f.evidences.first_mut().and_then(|e| e.data.as_mut())
        {
            put_opt(d, "user", user);
        }
        let m = vendor(&mut f, "spamassassin");
        if let Some(s) = v.score {
            put(m, "score", s);
        }
        put(m, "tests", v.tests.clone());
        out(&mut f);
    }
}

impl Decoder for SpamdDecoder {
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
        let (h, msg) = parse_header(line, &mut self.tc);
        let at = line.len() - msg.len();
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
        let prog = h.app_name.map(|a| a.rsplit('/').next().unwrap_or(a));
        if !matches!(prog, None | Some("spamd" | "spamc" | "spamassassin")) {
            return reject(
                record,
                ErrorKind::NotThisSource,
                at,
                PRODUCT,
                LOG_NAME,
                h.time_ms,
                opts,
                out,
            );
        }
        let Some(parsed) = parse_line(msg) else {
            return reject(
                record,
                ErrorKind::UnknownMessage,
                at,
                PRODUCT,
                LOG_NAME,
                h.time_ms,
                opts,
                out,
            );
        };
        let ctx = LineCtx {
            time_ms: h.time_ms.unwrap_or(opts.reference_time_ms),
            original_time: h.timestamp,
            host: h.hostname,
            raw: line,
            product: PRODUCT,
            log_name: LOG_NAME,
            opts,
        };
        let syslog = |ev: &mut Event<'_>| {
            let m = vendor(ev, "syslog");
            put_opt(m, "program", h.app_name);
            if let Some(p) = h.proc_id.and_then(|p| p.parse::<i64>().ok()) {
                put(m, "pid", p);
            }
        };
        match parsed {
            Line::Verdict(v) => verdict_events(&ctx, &v, &mut |ev| {
                syslog(ev);
                out(ev)
            }),
            Line::Connection {
                host,
                ip,
                port,
                text,
            } => {
                let mut ev = new_event(&ctx, &NETWORK_ACTIVITY, 1);
                ev.src_endpoint = mail::endpoint(host, ip, port);
                ev.dst_endpoint = Some(Box::new(crate::ocsf::NetworkEndpoint {
                    hostname: h.hostname.map(b),
                    svc_name: Some(b("spamd")),
                    ..Default::default()
                }));
                ev.message = Some(b(text));
                syslog(&mut ev);
                out(&mut ev);
            }
            Line::Log { facility, text } => {
                let mut ev = new_event(&ctx, &BASE_EVENT, 99);
                other_activity(&mut ev, "Log");
                ev.message = Some(b(text));
                if !facility.is_empty() && facility != "spamd" {
                    put(vendor(&mut ev, "spamassassin"), "facility", facility);
                }
                syslog(&mut ev);
                out(&mut ev);
            }
        }
        Outcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line() {
        let l = parse_line(
            "spamd: result: Y 12 - A,B scantime=2.9,size=5,user=u,mid=<x@y>,autolearn=no",
        )
        .unwrap();
        match l {
            Line::Verdict(v) => {
                assert!(v.spam);
                assert_eq!(v.score, Some(12.0));
                assert_eq!(v.tests, vec!["A", "B"]);
                assert!(v.info.contains(&("mid", "<x@y>")));
            }
            _ => panic!("{l:?}"),
        }
    }

    #[test]
    fn summary_and_chatter() {
        let l =
            parse_line("spamd: identified spam (7.2/5.0) for bob:1000 in 2.9 seconds, 123 bytes.");
        assert!(matches!(l, Some(Line::Verdict(Verdict { spam: true, .. }))));
        let l = parse_line("spamd: connection from localhost [127.0.0.1]:40000 to port 783, fd 5");
        assert!(matches!(
            l,
            Some(Line::Connection {
                ip: Some("127.0.0.1"),
                port: Some(40000),
                ..
            })
        ));
        let l = parse_line("dns: new_dns_packet: x");
        assert!(matches!(
            l,
            Some(Line::Log {
                facility: "dns",
                ..
            })
        ));
        assert_eq!(parse_line("hello world"), None);
        assert_eq!(parse_line("result: Q 1 - -"), None);
    }

    #[test]
    fn events() {
        let opts = Options::default();
        let mut d = decoder(&opts);
        let mut n = Vec::new();
        let o = d.decode(
            b"2019-09-10T16:23:03+02:00 h spamd[1]: spamd: result: Y 9 - X mid=<m@x.test>",
            0,
            &mut |e| n.push(e.class_uid),
        );
        assert!(o.is_parsed());
        assert_eq!(n, vec![Some(0), Some(2004)]);
        let o = d.decode(
            b"Jan  1 00:00:00 h postfix/smtpd[1]: connect",
            0,
            &mut |_| {},
        );
        assert!(!o.is_parsed());
        let o = d.decode(b"\xff\xfe", 0, &mut |_| {});
        assert!(!o.is_parsed());
    }
}
