//! OpenDKIM syslog lines to OCSF, and the decoder OpenDMARC shares.
//!
//! The syslog header is [`crate::common::syslog`]'s, the message grammar is
//! the Postfix source's [`filters`](crate::sources::postfix::filters) (the
//! same lines also appear in Postfix's mail log, where the Postfix decoder
//! folds them into the message's `email_auth`).
//!
//! OpenDKIM and OpenDMARC name a message only by the MTA's queue ID: their
//! lines carry no sender or recipient address, and OCSF's `email` object
//! needs one (`from` or `to`), so a verdict cannot be a valid Email
//! Activity on its own. Each verdict line is a Base Event (Other, labelled
//! `DKIM Verify`, `DKIM Sign` or `DMARC Verdict`) with `status_id` from the
//! result (pass/signed → Success, fail → Failure, anything else → Other with
//! the result word) and the queue ID, domain and result under
//! `unmapped.opendkim` / `unmapped.opendmarc`, so it joins the Postfix
//! message event on `message_trace_uid` = `queue_id`.
//!
//! | line | event |
//! |---|---|
//! | `QID: DKIM-Signature field added (s=lab, d=corp.example)` | Base Event "DKIM Sign", Success |
//! | `QID: DKIM verification successful` | Base Event "DKIM Verify", Success |
//! | `QID: bad signature data`, `signature=.. result="signature verification failed"` | Base Event "DKIM Verify", Failure |
//! | `QID: no signature data` | Base Event "DKIM Verify", Other "none" |
//! | `QID: signature=.. domain=.. selector=.. result="no signature error"` | Base Event "DKIM Verify", Success |
//! | `QID: s=.. d=.. a=.. SSL`, `QID: host [ip] not internal`, `QID: not authenticated` | Base Event "DKIM Info" |
//! | OpenDMARC `QID: partner.test pass` | Base Event "DMARC Verdict" |
//! | start-up, termination, other lines | Base Event "Start" / "Stop" / "Log" |

use std::borrow::Cow;

use crate::common::scan::{self, other_event, put, put_opt, vendor, LineCtx};
use crate::common::syslog::parse_header;
use crate::common::time::TimeContext;
use crate::ocsf::{status, Event, Str, BASE_EVENT};
use crate::sources::postfix::filters::{parse_filter, FilterKind, FilterMsg};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// Decoder of the syslog lines of one milter (OpenDKIM or OpenDMARC).
pub struct MilterDecoder {
    kind: FilterKind,
    opts: Options,
    tc: TimeContext,
}

/// A fresh OpenDKIM decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    milter_decoder(FilterKind::OpenDkim, opts)
}

/// A decoder for `kind` (OpenDKIM or OpenDMARC).
pub fn milter_decoder(kind: FilterKind, opts: &Options) -> Box<dyn Decoder> {
    Box::new(MilterDecoder {
        kind,
        opts: opts.clone(),
        tc: TimeContext::from_options(opts),
    })
}

fn b(s: &str) -> Str<'_> {
    Cow::Borrowed(s)
}

impl MilterDecoder {
    fn log_name(&self) -> &'static str {
        match self.kind {
            FilterKind::OpenDmarc => "opendmarc",
            _ => "opendkim",
        }
    }
}

impl Decoder for MilterDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let text = match crate::common::utf8::text(record) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(record),
        };
        let line = text.trim_end_matches(['\r', '\n']);
        let kind = self.kind;
        let log_name = self.log_name();
        let prod = (kind.product(), kind.vendor());
        let opts = &self.opts;
        let fail =
            |kind: ErrorKind, at: usize, t: Option<i64>, out: &mut dyn FnMut(&mut Event<'_>)| {
                let err = ParseError { kind, at };
                out(&mut scan::unparsed(record, err, prod, log_name, t, opts));
                Outcome::Unparsed(err)
            };
        if line.trim().is_empty() {
            return fail(ErrorKind::Empty, 0, None, out);
        }
        let (h, msg) = parse_header(line, &mut self.tc);
        let at = line.len() - msg.len();
        if h.bad_timestamp {
            return fail(ErrorKind::Timestamp, at, None, out);
        }
        match h.app_name.map(FilterKind::from_program) {
            Some(Some(k)) if k == kind => {}
            Some(_) => return fail(ErrorKind::NotThisSource, at, h.time_ms, out),
            None if h.timestamp.is_none() => return fail(ErrorKind::Header, 0, None, out),
            None => {}
        }
        let Some((_, f)) = parse_filter(Some(kind), msg) else {
            return fail(ErrorKind::UnknownMessage, at, h.time_ms, out);
        };
        let ctx = LineCtx {
            time_ms: h.time_ms.unwrap_or(opts.reference_time_ms),
            original_time: h.timestamp,
            host: h.hostname,
            raw: line,
            product: prod.0,
            vendor: prod.1,
            log_name,
            opts,
        };
        let mut ev = map(&ctx, &f);
        let m = vendor(&mut ev, "syslog");
        put_opt(m, "program", h.app_name);
        if let Some(p) = h.proc_id.and_then(|p| p.parse::<i64>().ok()) {
            put(m, "pid", p);
        }
        out(&mut ev);
        Outcome::Parsed
    }
}

/// `result="..."` of an OpenDKIM `signature=` line.
fn quoted<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let r = text[at..].strip_prefix('"')?;
    Some(&r[..r.find('"')?])
}

fn word<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split(' ')
        .find_map(|w| w.strip_prefix(key))
        .filter(|v| !v.is_empty())
}

fn set_result<'a>(ev: &mut Event<'a>, result: &'a str) {
    match result {
        "pass" | "signed" => ev.set_status(status::SUCCESS, None),
        "fail" => {
            ev.set_status(status::FAILURE, None);
            ev.set_severity(2);
        }
        other => ev.set_status(status::OTHER, Some(b(other))),
    }
}

fn map<'a>(ctx: &LineCtx<'a>, f: &FilterMsg<'a>) -> Event<'a> {
    match f {
        FilterMsg::Dkim {
            qid,
            result,
            domain,
            text,
        } => {
            // `signature=x domain=d selector=s result="..."`: OpenDKIM's
            // per-signature verdict.
            let sig_result = quoted(text, "result=");
            let result = result.or(match sig_result {
                Some("no signature error") => Some("pass"),
                Some(r) if r.contains("fail") || r.contains("bad") => Some("fail"),
                _ => None,
            });
            let label = match result {
                Some("signed") => "DKIM Sign",
                Some(_) => "DKIM Verify",
                None => "DKIM Info",
            };
            let mut ev = other_event(ctx, &BASE_EVENT, label);
            if let Some(r) = result {
                set_result(&mut ev, r);
            }
            ev.message = Some(b(text));
            let m = vendor(&mut ev, "opendkim");
            put(m, "queue_id", *qid);
            put_opt(m, "result", result);
            put_opt(m, "domain", *domain);
            put_opt(m, "selector", word(text, "selector=").or(word(text, "s=")));
            put_opt(m, "signature_result", sig_result);
            if text.starts_with("s=") {
                put_opt(m, "algorithm", word(text, "a="));
            }
            ev
        }
        FilterMsg::Dmarc {
            qid,
            domain,
            result,
        } => {
            let mut ev = other_event(ctx, &BASE_EVENT, "DMARC Verdict");
            set_result(&mut ev, result);
            ev.message = Some(Cow::Owned(format!("{domain} {result}")));
            let m = vendor(&mut ev, "opendmarc");
            put(m, "queue_id", *qid);
            put(m, "header_from_domain", *domain);
            put(m, "result", *result);
            ev
        }
        FilterMsg::Other { text } => {
            let label = if text.contains(" starting") {
                "Start"
            } else if text.contains("terminating") || text.contains("exiting") {
                "Stop"
            } else {
                "Log"
            };
            let mut ev = other_event(ctx, &BASE_EVENT, label);
            if text.contains("error") || text.contains("failed") {
                ev.set_severity(2);
            }
            ev.message = Some(b(text));
            ev
        }
        // Other filters' shapes cannot come from parse_filter(Some(kind)).
        _ => {
            let mut ev = other_event(ctx, &BASE_EVENT, "Log");
            ev.message = Some(b(ctx.raw));
            ev
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: FilterKind, line: &str) -> (Outcome, serde_json::Value) {
        let opts = Options {
            reference_time_ms: 1_795_348_800_000,
            ..Options::default()
        };
        let mut d = milter_decoder(kind, &opts);
        let mut v = Vec::new();
        let o = d.decode(line.as_bytes(), 0, &mut |e| {
            v.push(serde_json::to_value(e).unwrap())
        });
        (o, v.remove(0))
    }

    #[test]
    fn dkim_and_dmarc() {
        let (o, e) = run(
            FilterKind::OpenDkim,
            "Nov 22 12:32:16 mx opendkim[19247]: 81F72548161: signature=hpIO2q0a domain=partner.test selector=s2024 result=\"signature verification failed\"",
        );
        assert!(o.is_parsed());
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["unmapped"]["opendkim"]["queue_id"], "81F72548161");
        assert_eq!(e["unmapped"]["opendkim"]["selector"], "s2024");
        let (_, e) = run(
            FilterKind::OpenDmarc,
            "Nov 22 12:32:05 mx opendmarc[19248]: C2F7F54896E: corp.example fail",
        );
        assert_eq!(e["activity_name"], "DMARC Verdict");
        assert_eq!(e["status_id"], 2);
        let (o, _) = run(
            FilterKind::OpenDmarc,
            "Nov 22 12:32:05 mx postfix/smtpd[1]: x",
        );
        assert!(!o.is_parsed());
    }
}
