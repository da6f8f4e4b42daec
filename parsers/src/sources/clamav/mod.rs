//! ClamAV (clamd and clamav-milter) log lines to OCSF.
//!
//! Reads ClamAV's own log files (`LogFile`, `LogTime yes`: `Sun Nov 22
//! 12:31:53 2026 -> message`), its syslog form (`host clamd[pid]: message`,
//! `clamav-milter[pid]: ...`) and bare messages (`LogTime no`).
//!
//! | line | event |
//! |---|---|
//! | clamav-milter `Message QID from <a> to <b> [with subject '..' message-id '..' date '..'] infected by SIG` | Email Activity 4009 Scan (`malware[]`, security_control action Observed / disposition Detected, severity High) **and** Detection Finding 2004 (evidence: the e-mail, linked by `email.message_uid`) |
//! | clamav-milter `Clean message from <a> to <b>` | Email Activity Scan, action/disposition Allowed |
//! | clamd `PATH: SIG(md5:size) FOUND` | Detection Finding (`malware[]`; evidence: the file with name, path, MD5, size) |
//! | clamd `PATH: OK` | Base Event "File Scan", Success, path under `unmapped.clamav` |
//! | clamd `PATH: ... ERROR` | Base Event "File Scan", Failure |
//! | `+++ Started at`, `--- Stopped at`, limits, database and other daemon lines | Base Event "Start" / "Stop" / "Log" (severity from `ERROR:`/`WARNING:`) |
//!
//! The milter line does not say what the milter then did (`OnInfected`
//! decides: reject, quarantine, ...), so the disposition is Detected; the
//! MTA's log (Postfix `milter-reject ... infected by`) has the outcome.

use std::borrow::Cow;

use crate::common::addr::is_email;
use crate::common::scan::{
    self, action, disposition, email_evidence, finding, new_event, other_event, put, put_opt,
    security, vendor, LineCtx,
};
use crate::common::syslog::parse_header;
use crate::common::time::{parse_bsd_time, BsdTime, TimeContext};
use crate::ocsf::{
    caption, severity, status, Email, Event, Evidences, File, Str, BASE_EVENT, EMAIL_ACTIVITY,
};
use crate::sources::postfix::ocsf::direction;
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

const PRODUCT: (&str, &str) = ("ClamAV", "Cisco Talos");

/// Decoder of ClamAV log lines; see the module doc.
pub struct ClamavDecoder {
    opts: Options,
    tc: TimeContext,
}

/// A fresh ClamAV decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(ClamavDecoder {
        opts: opts.clone(),
        tc: TimeContext::from_options(opts),
    })
}

fn b(s: &str) -> Str<'_> {
    Cow::Borrowed(s)
}

/// `Sun Nov 22 12:31:53 2026 -> `: (timestamp as written, time, message).
fn clamav_time<'a>(line: &'a str, tc: &mut TimeContext) -> Option<(&'a str, Option<i64>, &'a str)> {
    let (stamp, msg) = line.split_once(" -> ")?;
    let (dow, rest) = stamp.split_once(' ')?;
    if dow.len() != 3 || !dow.bytes().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let (r, t) = parse_bsd_time(rest).ok()?;
    let year: i32 = r.trim().parse().ok()?;
    let t = BsdTime {
        year: Some(year),
        ..t
    };
    Some((stamp, tc.resolve_bsd(&t), msg))
}

/// What a ClamAV message says.
#[derive(Debug, Clone, PartialEq)]
enum Msg<'a> {
    Found {
        path: &'a str,
        deleted: bool,
        sig: &'a str,
        md5: Option<&'a str>,
        size: Option<i64>,
    },
    Ok {
        path: &'a str,
    },
    ScanError {
        path: &'a str,
        text: &'a str,
    },
    Infected {
        qid: &'a str,
        from: &'a str,
        to: &'a str,
        subject: Option<&'a str>,
        msgid: Option<&'a str>,
        date: Option<&'a str>,
        sig: &'a str,
    },
    Clean {
        from: &'a str,
        to: &'a str,
    },
    Other {
        label: &'static str,
    },
}

fn parse_msg(m: &str) -> Option<Msg<'_>> {
    if let Some(r) = m.strip_prefix("Clean message from ") {
        let (from, to) = r.split_once(" to ")?;
        return Some(Msg::Clean { from, to });
    }
    if let Some(r) = m.strip_prefix("Message ") {
        if let Some((head, sig)) = r.rsplit_once(" infected by ") {
            let (qid, r) = head.split_once(" from ")?;
            let (from, r) = r.split_once(" to ")?;
            let (to, subject, msgid, date) = match r.split_once(" with subject '") {
                Some((to, rest)) => {
                    let (subject, rest) = rest.split_once("' message-id '").unwrap_or((rest, ""));
                    let (msgid, date) = rest.split_once("' date '").unwrap_or((rest, ""));
                    (
                        to,
                        Some(subject.trim_end_matches('\'')),
                        Some(msgid.trim_end_matches('\'')),
                        Some(date.trim_end_matches('\'')),
                    )
                }
                None => (r, None, None, None),
            };
            return Some(Msg::Infected {
                qid,
                from,
                to,
                subject,
                msgid,
                date,
                sig: sig.trim(),
            });
        }
    }
    if m.starts_with('/') || m.starts_with("stream") || m.starts_with("fd[") {
        if let Some(r) = m.strip_suffix(" FOUND") {
            let (path, sig) = r.rsplit_once(": ")?;
            let (path, deleted) = match path.strip_suffix(" (deleted)") {
                Some(p) => (p, true),
                None => (path, false),
            };
            // `Sig.Name(md5:size)` with ExtendedDetectionInfo.
            let (sig, md5, size) = match sig.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
                Some((name, info)) => {
                    let (h, sz) = info.split_once(':').unwrap_or((info, ""));
                    let md5 =
                        (h.len() == 32 && h.bytes().all(|c| c.is_ascii_hexdigit())).then_some(h);
                    (name, md5, sz.parse().ok())
                }
                None => (sig, None, None),
            };
            return Some(Msg::Found {
                path,
                deleted,
                sig,
                md5,
                size,
            });
        }
        if let Some(p) = m.strip_suffix(": OK") {
            return Some(Msg::Ok {
                path: p.strip_suffix(" (deleted)").unwrap_or(p),
            });
        }
        if m.ends_with(" ERROR") {
            let (path, text) = m.rsplit_once(": ").unwrap_or((m, ""));
            return Some(Msg::ScanError { path, text });
        }
    }
    None
}

fn other_label(m: &str) -> &'static str {
    if m.starts_with("+++ Started") || m.contains("daemon") && m.contains("(OS:") {
        "Start"
    } else if m.starts_with("--- Stopped") || m.contains("Shutting down") {
        "Stop"
    } else if m.starts_with("SelfCheck") || m.contains("Database") || m.contains("database") {
        "Database"
    } else if m.starts_with("Limits:") {
        "Config"
    } else {
        "Log"
    }
}

impl Decoder for ClamavDecoder {
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
                out(&mut scan::unparsed(record, err, PRODUCT, "clamav", t, opts));
                Outcome::Unparsed(err)
            };
        if line.trim().is_empty() {
            return fail(ErrorKind::Empty, 0, None, out);
        }
        // ClamAV's own time stamp, else a syslog header of a ClamAV
        // program, else a bare message that must be a known shape.
        let (stamp, time_ms, host, program, msg) =
            if let Some((s, t, m)) = clamav_time(line, &mut self.tc) {
                if t.is_none() {
                    return fail(ErrorKind::Timestamp, 0, None, out);
                }
                (Some(s), t, None, None, m)
            } else {
                let (h, m) = parse_header(line, &mut self.tc);
                match h.app_name {
                    Some(app) if app.starts_with("clam") || app == "freshclam" => {
                        if h.bad_timestamp {
                            return fail(ErrorKind::Timestamp, 0, None, out);
                        }
                        (h.timestamp, h.time_ms, h.hostname, Some(app), m)
                    }
                    Some(_) if h.timestamp.is_some() => {
                        let at = line.len() - m.len();
                        return fail(ErrorKind::NotThisSource, at, h.time_ms, out);
                    }
                    _ => {
                        if parse_msg(line).is_none() {
                            return fail(ErrorKind::Header, 0, None, out);
                        }
                        (None, None, None, None, line)
                    }
                }
            };
        let msg = msg.trim_end();
        let parsed = parse_msg(msg).unwrap_or(Msg::Other {
            label: other_label(msg),
        });
        let log_name = match (&parsed, program) {
            (Msg::Clean { .. } | Msg::Infected { .. }, _) => "clamav-milter",
            (_, Some(p)) if p.contains("milter") => "clamav-milter",
            (Msg::Other { .. }, None) => "clamav",
            _ => "clamd",
        };
        let ctx = LineCtx {
            time_ms: time_ms.unwrap_or(opts.reference_time_ms),
            original_time: stamp,
            host,
            raw: line,
            product: PRODUCT.0,
            vendor: PRODUCT.1,
            log_name,
            opts,
        };
        map(&ctx, msg, &parsed, program, out);
        Outcome::Parsed
    }
}

/// Recipients as clamav-milter writes them: `<a>`, `<a>, <b>`, `<a> <b>`.
fn addrs(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ' '])
        .map(scan::unbracket)
        .filter(|a| !a.is_empty())
}

fn email_scan<'a>(ctx: &LineCtx<'a>, from: &'a str, to: &'a str) -> Event<'a> {
    let from = scan::unbracket(from);
    let from_ok = is_email(from).then_some(from);
    let tos: Vec<&str> = addrs(to).filter(|a| is_email(a)).collect();
    let mut ev = if from_ok.is_some() || !tos.is_empty() {
        let mut ev = new_event(ctx, &EMAIL_ACTIVITY, 3);
        scan::set_direction(
            &mut ev,
            direction(from_ok, tos.iter().copied(), &ctx.opts.local_domains),
        );
        ev.email = Some(Box::new(Email {
            from: from_ok.map(b),
            to: tos.into_iter().map(b).collect(),
            ..Default::default()
        }));
        ev
    } else {
        other_event(ctx, &BASE_EVENT, "Message Scan")
    };
    let m = vendor(&mut ev, "clamav");
    if from_ok.is_none() {
        put(m, "from", from);
    }
    if !addrs(to).any(is_email) {
        put(m, "to", to);
    }
    ev
}

fn map<'a>(
    ctx: &LineCtx<'a>,
    msg: &'a str,
    parsed: &Msg<'a>,
    program: Option<&'a str>,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    let with_syslog = |mut ev: Event<'a>| {
        if let Some(p) = program {
            put(vendor(&mut ev, "syslog"), "program", p);
        }
        ev
    };
    match parsed {
        Msg::Clean { from, to } => {
            let mut ev = email_scan(ctx, from, to);
            security(&mut ev, action::ALLOWED, disposition::ALLOWED);
            ev.message = Some(b(msg));
            out(&mut with_syslog(ev));
        }
        Msg::Infected {
            qid,
            from,
            to,
            subject,
            msgid,
            date,
            sig,
        } => {
            let mut ev = email_scan(ctx, from, to);
            security(&mut ev, action::OBSERVED, disposition::DETECTED);
            ev.set_severity(severity::HIGH);
            ev.malware = vec![scan::malware(b(sig), "ClamAV")];
            ev.message = Some(b(msg));
            let msgid = msgid
                .map(|m| scan::unbracket(m.trim()))
                .filter(|m| !m.is_empty());
            let is_email_ev = ev.class_uid == Some(EMAIL_ACTIVITY.uid);
            if is_email_ev {
                ev.message_trace_uid = Some(b(qid));
                if let Some(e) = ev.email.as_mut() {
                    e.subject = subject.map(b);
                    e.message_uid = msgid.map(b);
                }
            }
            let m = vendor(&mut ev, "clamav");
            put(m, "queue_id", *qid);
            put_opt(m, "date", *date);
            if !is_email_ev {
                put_opt(m, "subject", *subject);
                put_opt(m, "message_id", msgid);
            }
            let mut ev = with_syslog(ev);
            let f = is_email_ev.then(|| {
                finding(
                    &ev,
                    format!("clamav-milter:{qid}:{sig}"),
                    format!("ClamAV: {sig} in message {qid}"),
                    vec![b("Malware")],
                    email_evidence(&ev),
                )
            });
            out(&mut ev);
            if let Some(mut f) = f {
                out(&mut f);
            }
        }
        Msg::Found {
            path,
            deleted,
            sig,
            md5,
            size,
        } => {
            let mut src = new_event(ctx, &BASE_EVENT, 99);
            src.set_severity(severity::HIGH);
            security(&mut src, action::OBSERVED, disposition::DETECTED);
            src.malware = vec![scan::malware(b(sig), "ClamAV")];
            let name = path.rsplit('/').next().unwrap_or(path);
            let file = File {
                name: Some(b(name)),
                path: Some(b(path)),
                type_id: Some(1),
                type_: caption("file", "type_id", 1).map(Cow::Borrowed),
                hashes: md5.map(scan::md5).into_iter().collect(),
                size: *size,
                is_deleted: deleted.then_some(true),
                ..Default::default()
            };
            let mut f = finding(
                &src,
                format!("clamd:{}:{sig}", md5.unwrap_or(path)),
                format!("ClamAV: {sig} in {name}"),
                vec![b("Malware")],
                Evidences {
                    file: Some(Box::new(file)),
                    ..Default::default()
                },
            );
            f.message = Some(b(msg));
            out(&mut with_syslog(f));
        }
        Msg::Ok { path } => {
            let mut ev = other_event(ctx, &BASE_EVENT, "File Scan");
            ev.set_status(status::SUCCESS, None);
            ev.message = Some(b(msg));
            put(vendor(&mut ev, "clamav"), "path", *path);
            out(&mut with_syslog(ev));
        }
        Msg::ScanError { path, text } => {
            let mut ev = other_event(ctx, &BASE_EVENT, "File Scan");
            ev.set_status(status::FAILURE, None);
            ev.set_severity(severity::MEDIUM);
            ev.status_detail = Some(b(text));
            ev.message = Some(b(msg));
            put(vendor(&mut ev, "clamav"), "path", *path);
            out(&mut with_syslog(ev));
        }
        Msg::Other { label } => {
            let mut ev = other_event(ctx, &BASE_EVENT, label);
            let upper = msg.to_ascii_uppercase();
            if upper.contains("ERROR") {
                ev.set_severity(severity::MEDIUM);
            } else if upper.contains("WARNING") {
                ev.set_severity(severity::LOW);
            }
            ev.message = Some(b(msg));
            out(&mut with_syslog(ev));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> (Outcome, Vec<serde_json::Value>) {
        let opts = Options {
            reference_time_ms: 1_795_348_800_000,
            local_domains: vec!["example.test".into()],
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
    fn milter_infected_gives_email_and_finding() {
        let (o, v) = run("Sun Nov 22 12:32:14 2026 -> Message CF788548027 from <billing@invoices-online.test> to <bob@example.test> with subject 'Invoice INV-80746' message-id '  <1.2@invoices-online.test>' date 'Sun, 22 Nov 2026 12:32:14 +0000' infected by Eicar-Test-Signature.UNOFFICIAL");
        assert!(o.is_parsed());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["class_uid"], 4009);
        assert_eq!(v[0]["email"]["message_uid"], "1.2@invoices-online.test");
        assert_eq!(v[0]["email"]["subject"], "Invoice INV-80746");
        assert_eq!(
            v[0]["malware"][0]["name"],
            "Eicar-Test-Signature.UNOFFICIAL"
        );
        assert_eq!(v[1]["class_uid"], 2004);
        assert_eq!(
            v[1]["evidences"][0]["email"]["message_uid"],
            "1.2@invoices-online.test"
        );
        assert_eq!(v[0]["time"], 1_795_350_734_000_i64);
    }

    #[test]
    fn clamd_found_and_unparsed() {
        let (_, v) = run("Sun Nov 22 12:32:14 2026 -> /x/tmp/clamav-839.tmp (deleted): Eicar-Test-Signature.UNOFFICIAL(6986aee5ad561c287543da90c6b7c11b:1097) FOUND");
        assert_eq!(v[0]["class_uid"], 2004);
        assert_eq!(
            v[0]["evidences"][0]["file"]["hashes"][0]["value"],
            "6986aee5ad561c287543da90c6b7c11b"
        );
        assert_eq!(v[0]["evidences"][0]["file"]["size"], 1097);
        let (o, _) = run("random text");
        assert!(!o.is_parsed());
    }
}
