//! Cisco Secure Email Gateway (IronPort ESA / AsyncOS) to OCSF: the CEF
//! consolidated event log and the text `mail_logs`, `antivirus`,
//! `antispam`, `amp` logs.
//!
//! **CEF `ESA_CONSOLIDATED_LOG_EVENT`** is one record per message with
//! everything: one Email Activity (Receive inbound / Send outbound, from
//! `deviceDirection`) with sender, recipients, subject, Message-ID,
//! `email_auth`, attachments (`email.files[]` with SHA-256 and AMP verdict)
//! and URLs (`email.urls[]` with category), the final action `act` as
//! `security_control` action/disposition, the engine verdicts under
//! `unmapped.cisco_esa`; plus a Detection Finding (2004) for each detection
//! (AV/AMP/Outbreak/anti-spam positive, malicious attachment), linked by
//! `email.uid` (the ESA MID) and `email.message_uid` in its evidence.
//!
//! **Text logs: one event per line**, linked by the MID in
//! `message_trace_uid` / `email.uid` (Email Activity) or
//! `unmapped.cisco_esa.mid` (Base Event). AsyncOS writes one fact per line
//! (sender, each recipient, subject, each URL verdict...) and most lines
//! carry no address, which OCSF `email` needs; the CEF consolidated log is
//! the per-message view, so the text lines are not assembled.
//!
//! | text line | event (`metadata.event_code`) |
//! |---|---|
//! | `MID n ICID m From: <a>`, `MID n ICID m RID r To: <a>`, `MID n ready N bytes from <a>`, `Message done ... [('from', ..), ('to', ..)]` | Email Activity 4009 Receive / Send (`message`) |
//! | `MID n Subject`, `Message-ID`, `DKIM:`, `SPF:`, `DMARC:`, `URL ... has reputation`, engine verdicts, `queued for delivery`, `Message finished`, `Delivery start`, DLP, SDR, policy matches | Base Event, Other "Message Log", parsed parts under `unmapped.cisco_esa` (`message`) |
//! | `antivirus: ... MID n ... Virus 'name' 'path'` | Base Event "Antivirus Scan" with `malware[]`, Detected, plus a Detection Finding (`antivirus`) |
//! | `antivirus: ... Result 'CLEAN'` / `Error` / `Limit` / `timed out` | Base Event "Antivirus Scan" (`antivirus`) |
//! | `New SMTP ICID/DCID ...`, `ICID n close`, `DCID n close` | Network Activity 4001 Open / Close (`connection`) |
//! | `Start MID n ICID m`, system alerts, `antispam`/`amp` daemon lines, other messages | Base Event, Other (`system`) |

mod pydict;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::common::addr::{is_email, is_ip};
use crate::common::cef;
use crate::common::mail::{
    self, action, b, disposition, new_event, other_activity, put, put_opt, reject, security,
    set_direction, vendor, Detection, LineCtx,
};
use crate::common::syslog::parse_header;
use crate::common::time::TimeContext;
use crate::ocsf::{
    Email, EmailAuth, Event, Evidences, File, Fingerprint, Malware, Str, Url, BASE_EVENT,
    EMAIL_ACTIVITY, NETWORK_ACTIVITY,
};
use crate::{Decoder, ErrorKind, Options, Outcome};

const PRODUCT: (&str, &str) = ("Secure Email Gateway", "Cisco");
const LOG_NAME: &str = "mail_logs";

/// A decoder for Cisco ESA text logs and CEF records.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(EsaDecoder {
        tc: TimeContext::from_options(opts),
        opts: opts.clone(),
    })
}

struct EsaDecoder {
    opts: Options,
    tc: TimeContext,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
        .unwrap_or(s)
}

/// `Mon May 11 16:56:58 2020` (AsyncOS CEF start/end time).
fn cef_time(s: &str, opts: &Options) -> Option<i64> {
    let norm: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = chrono::NaiveDateTime::parse_from_str(&norm, "%a %b %d %H:%M:%S %Y").ok()?;
    Some(t.and_utc().timestamp_millis() - i64::from(opts.utc_offset_secs) * 1000)
}

fn url_of(u: Str<'_>) -> Url<'_> {
    let (scheme, host) = {
        let s: &str = &u;
        let (scheme, rest) = match s.split_once("://") {
            Some((sc, r)) => (Some(sc.to_string()), r),
            None => (None, s),
        };
        let host = rest
            .split(['/', '?', '#', ':'])
            .next()
            .unwrap_or("")
            .to_string();
        (scheme, host)
    };
    Url {
        scheme: scheme.map(Cow::Owned),
        hostname: (!host.is_empty()).then_some(Cow::Owned(host)),
        url_string: Some(u),
        ..Default::default()
    }
}

/// AMP/AV verdicts that mean a threat.
fn is_bad(v: &str) -> bool {
    matches!(
        v.to_ascii_uppercase().as_str(),
        "MALICIOUS" | "HIGHRISK" | "HIGH_RISK" | "POSITIVE" | "VIRAL" | "SUSPECT" | "SPAM"
    )
}

fn verdict_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(verdict_str),
        _ => None,
    }
}

/// Map a CEF consolidated event.
fn map_cef<'a>(ctx: &LineCtx<'a>, c: &cef::Cef<'a>, out: &mut dyn FnMut(&mut Event<'_>)) {
    let ext: Vec<(&'a str, Cow<'a, str>)> = cef::ext_iter(c.extension).collect();
    let get = |k: &str| {
        ext.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    };
    let label = |n: &str| {
        let l = get(&format!("{n}Label"))?;
        Some((l, get(n)?))
    };
    let opts = ctx.opts;
    let start = get("startTime").and_then(|t| cef_time(&t, opts));
    let end = get("endTime").and_then(|t| cef_time(&t, opts));
    let ctx = LineCtx {
        time_ms: end.or(start).unwrap_or(ctx.time_ms),
        original_time: None,
        ..*ctx
    };
    let mid = get("ESAMID");
    let from = get("suser");
    let tos = get("duser");
    let from_addr = from
        .as_deref()
        .and_then(mail::bare_addr)
        .map(|s| s.to_string());
    let to_addrs: Vec<String> = tos
        .as_deref()
        .unwrap_or("")
        .split([',', ';'])
        .filter_map(mail::bare_addr)
        .map(str::to_string)
        .collect();
    let msgid = get("cs4").map(|m| Cow::Owned(unquote(&m).trim_matches(['<', '>']).to_string()));
    let subject = get("msg").map(|m| Cow::Owned(unquote(&m).to_string()));
    let dir = match get("deviceDirection").as_deref() {
        Some("0") => 1,
        Some("1") => 2,
        _ => mail::direction(
            from_addr.as_deref(),
            to_addrs.iter().map(String::as_str),
            &opts.local_domains,
        ),
    };
    // Attachments.
    let mut files: Vec<File<'a>> = Vec::new();
    let mut malware: Vec<Malware<'a>> = Vec::new();
    let mut att_unmapped = Map::new();
    if let Some(Value::Object(atts)) = get("ESAAttachmentDetails").and_then(|a| pydict::parse(&a)) {
        for (name, det) in atts {
            let amp = det.get("AMP");
            let verdict = amp.and_then(|a| a.get("Verdict")).and_then(verdict_str);
            let hash = amp.and_then(|a| a.get("fileHash")).and_then(verdict_str);
            let mut f = File {
                name: Some(Cow::Owned(name.clone())),
                type_id: Some(1),
                type_: Some(b("Regular File")),
                ..Default::default()
            };
            if let Some(h) = hash.filter(|h| h.len() == 64) {
                f.hashes = vec![Fingerprint {
                    algorithm_id: Some(3),
                    algorithm: Some(b("SHA-256")),
                    value: Some(Cow::Owned(h)),
                    ..Default::default()
                }];
            }
            if let Some(v) = verdict.as_deref().filter(|v| is_bad(v)) {
                let mut m = mail::malware(Cow::Owned(format!("AMP {v}: {name}")), "Cisco AMP");
                m.files = vec![f.clone()];
                malware.push(m);
            }
            att_unmapped.insert(name, det);
            files.push(f);
        }
    }
    // URLs.
    let mut urls: Vec<Url<'a>> = Vec::new();
    let mut url_unmapped = Map::new();
    if let Some(Value::Object(us)) = get("ESAURLDetails").and_then(|a| pydict::parse(&a)) {
        for (u, det) in us {
            let mut url = url_of(Cow::Owned(u.clone()));
            if let Some(cat) = det.get("Category").and_then(Value::as_str) {
                url.categories = vec![Cow::Owned(cat.to_string())];
            }
            urls.push(url);
            url_unmapped.insert(u, det);
        }
    }
    // SPF: a word or a dict of identities.
    let spf = get("ESASPFVerdict").map(|s| match pydict::parse(&s) {
        Some(v) => v
            .get("mailfrom")
            .and_then(|m| m.get("result"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| s.to_string()),
        None => s.to_string(),
    });
    let dkim = get("ESADKIMVerdict");
    let dmarc = get("ESADMARCVerdict");
    let email =
        mail::email_of(from_addr.as_deref(), to_addrs.iter().map(String::as_str)).map(|e| Email {
            from: e.from.map(|f| Cow::Owned(f.into_owned())),
            to: e
                .to
                .into_iter()
                .map(|t| Cow::Owned(t.into_owned()))
                .collect(),
            ..Default::default()
        });
    let act = get("act").unwrap_or(Cow::Borrowed(""));
    let (status, a, d) = match act.to_ascii_uppercase().as_str() {
        "DELIVERED" => (1, action::ALLOWED, disposition::ALLOWED),
        "DROPPED" | "DROP" => (1, action::DENIED, disposition::DROPPED),
        "QUARANTINED" | "QUARANTINE" => (1, action::DENIED, disposition::QUARANTINED),
        "DQ" => (99, action::DENIED, disposition::QUARANTINED),
        "BOUNCED" | "BOUNCE" => (2, action::DENIED, disposition::REJECTED),
        "ABORTED" => (2, action::DENIED, disposition::ERROR),
        "ENCRYPTED" => (1, action::MODIFIED, disposition::CUSTOM),
        _ => (0, action::OBSERVED, disposition::LOGGED),
    };
    let mut ev = match email.clone() {
        Some(mut e) => {
            let mut ev = new_event(&ctx, &EMAIL_ACTIVITY, if dir == 2 { 1 } else { 2 });
            e.uid = mid.clone();
            e.message_uid = msgid.clone();
            e.subject = subject.clone();
            e.size = get("ESAMsgSize").and_then(|s| s.parse().ok());
            e.files = files.clone();
            e.urls = urls.clone();
            e.from_mailbox = get("ESAFriendlyFrom");
            e.reply_to_list = get("ESAReplyTo")
                .filter(|r| is_email(r))
                .into_iter()
                .collect();
            set_direction(&mut ev, dir);
            ev.email = Some(Box::new(e));
            ev.message_trace_uid = mid.clone();
            if spf.is_some() || dkim.is_some() || dmarc.is_some() {
                ev.email_auth = Some(Box::new(EmailAuth {
                    spf: spf.clone().map(Cow::Owned),
                    dkim: dkim.clone(),
                    dmarc: dmarc.clone(),
                    ..Default::default()
                }));
            }
            let sh = get("sourceHostName").filter(|h| h != "unknown" && h.contains('.'));
            let sa = get("sourceAddress").filter(|a| is_ip(a));
            if sh.is_some() || sa.is_some() {
                ev.src_endpoint = Some(Box::new(crate::ocsf::NetworkEndpoint {
                    hostname: sh,
                    ip: sa,
                    ..Default::default()
                }));
            }
            ev
        }
        None => {
            let mut ev = new_event(&ctx, &BASE_EVENT, 99);
            other_activity(
                &mut ev,
                if get("ESAStatus").is_some() {
                    "Message Status"
                } else {
                    "Message"
                },
            );
            ev
        }
    };
    ev.start_time = start;
    ev.end_time = end;
    if !act.is_empty() {
        ev.set_status(status, (status == 99).then(|| b("delay quarantine")));
        security(&mut ev, a, d);
    }
    ev.status_detail = get("ESAFinalActionDetails");
    if let Some((_, pol)) = label("cs1").filter(|(l, _)| l == "MailPolicy") {
        ev.policy = Some(Box::new(crate::ocsf::Policy {
            name: Some(pol),
            type_: Some(b("Mail Policy")),
            ..Default::default()
        }));
        mail::add_security_profile(&mut ev);
    }
    if !malware.is_empty() {
        ev.malware = malware.clone();
        ev.set_severity(4);
    }
    {
        let meta = ev.meta();
        meta.event_code = Some(c.signature_id.clone());
        meta.original_time = get("endTime").or(get("startTime"));
        meta.product = Some(Box::new(crate::ocsf::Product {
            name: Some(c.product.clone()),
            vendor_name: Some(c.vendor.clone()),
            version: Some(c.device_version.clone()),
            ..Default::default()
        }));
        meta.reporter = get("deviceExternalId").map(|d| {
            Box::new(crate::ocsf::Reporter {
                uid: Some(d),
                ip: get("dvc").filter(|i| is_ip(i)),
                ..Default::default()
            })
        });
    }
    let mapped = [
        "ESAMID",
        "suser",
        "duser",
        "cs4",
        "cs4Label",
        "msg",
        "deviceDirection",
        "ESAAttachmentDetails",
        "ESAURLDetails",
        "ESADKIMVerdict",
        "ESADMARCVerdict",
        "act",
        "ESAMsgSize",
        "ESAFriendlyFrom",
        "startTime",
        "endTime",
        "ESAFinalActionDetails",
        "cs1",
        "cs1Label",
        "deviceExternalId",
        "dvc",
        "sourceAddress",
        "sourceHostName",
    ];
    let verdicts: Vec<(String, String)> = ext
        .iter()
        .filter(|(k, _)| k.starts_with("ESA") && k.ends_with("Verdict"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    {
        let m = vendor(&mut ev, "cisco_esa");
        for (k, v) in &ext {
            if mapped.contains(k) || k.ends_with("Label") {
                continue;
            }
            // `csN`/`cfpN` take their label's name.
            let name = if k.starts_with("cs") || k.starts_with("cfp") {
                label(k)
                    .map(|(l, _)| l.into_owned())
                    .unwrap_or_else(|| k.to_string())
            } else {
                k.to_string()
            };
            match pydict::parse(v).filter(|x| x.is_object()) {
                Some(obj) => put(m, &name, obj),
                None => put(m, &name, v.as_ref()),
            }
        }
        if !att_unmapped.is_empty() {
            put(m, "attachments", Value::Object(att_unmapped));
        }
        if !url_unmapped.is_empty() {
            put(m, "urls", Value::Object(url_unmapped));
        }
        if email.is_none() {
            put_opt(m, "mid", mid.as_deref());
            put_opt(m, "from", from.as_deref());
            put_opt(m, "to", tos.as_deref());
        }
    }
    let email_for_finding = ev.email.as_deref().cloned().map(|mut e| {
        e.uid = None;
        e.message_uid = None;
        e
    });
    let threat = verdicts.iter().any(|(k, v)| {
        matches!(
            k.as_str(),
            "ESAAVVerdict" | "ESAAMPVerdict" | "ESAOFVerdict"
        ) && is_bad(v)
    });
    let spam = verdicts
        .iter()
        .any(|(k, v)| k == "ESAASVerdict" && is_bad(v));
    if threat || !malware.is_empty() {
        ev.set_severity(4);
    } else if spam {
        ev.set_severity(2);
    }
    mail::fit_base(&mut ev);
    out(&mut ev);
    // Detections.
    let mut dets: Vec<(String, &'static str, String, Vec<Malware<'a>>, i32)> = Vec::new();
    for (k, v) in &verdicts {
        let kind = match k.as_str() {
            "ESAAVVerdict" => "Malware",
            "ESAAMPVerdict" => "Malware",
            "ESAOFVerdict" => "Phishing",
            "ESAASVerdict" => "Spam",
            _ => continue,
        };
        if is_bad(v) {
            let sev = if kind == "Spam" { 2 } else { 4 };
            dets.push((
                k.clone(),
                kind,
                format!("Cisco ESA {k} {v}"),
                Vec::new(),
                sev,
            ));
        }
    }
    for m in &malware {
        let n = m.name.as_deref().unwrap_or("").to_string();
        dets.push((
            format!("AMP:{n}"),
            "Malware",
            format!("Cisco ESA {n}"),
            vec![m.clone()],
            4,
        ));
    }
    for (key, kind, title, mw, sev) in dets {
        let det = Detection {
            uid: format!("{}:{}", mid.as_deref().unwrap_or("-"), key),
            title,
            kind,
            severity_id: sev,
            malware: mw,
        };
        let mut f = mail::finding(
            &ctx,
            det,
            email_for_finding.clone(),
            (mid.clone(), msgid.clone()),
            a,
            d,
        );
        if let Some(e) = f.evidences.first_mut().and_then(|e| e.email.as_mut()) {
            e.subject = subject.clone();
        }
        let meta = f.meta();
        meta.event_code = Some(c.signature_id.clone());
        out(&mut f);
    }
}

/// A text line's `MID n` (first occurrence).
fn mid_of(s: &str) -> Option<&str> {
    let i = s.find("MID ")?;
    let r = &s[i + 4..];
    let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
    (end > 0).then(|| &r[..end])
}

fn after<'a>(s: &'a str, pat: &str) -> Option<&'a str> {
    s.find(pat).map(|i| &s[i + pat.len()..])
}

/// Map a text log line (after `log_name: Level: `).
fn map_text<'a>(
    ctx: &LineCtx<'a>,
    log: &'a str,
    level: &'a str,
    msg: &'a str,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    let mid = mid_of(msg);
    let sev = match level {
        "Critical" => 4,
        "Warning" => 2,
        _ => 1,
    };
    if log == "antivirus" {
        let mut ev = new_event(ctx, &BASE_EVENT, 99);
        other_activity(&mut ev, "Antivirus Scan");
        ev.meta().event_code = Some(b("antivirus"));
        let engine = msg.split(" antivirus").next().unwrap_or("").trim();
        let mut finding = None;
        if let Some(v) = after(msg, " - Virus '") {
            let (name, rest) = v.split_once('\'').unwrap_or((v, ""));
            let path = rest
                .trim()
                .strip_prefix('\'')
                .and_then(|p| p.split_once('\''))
                .map(|p| p.0);
            let file = path.map(|p| File {
                name: Some(b(p.rsplit('/').next().unwrap_or(p))),
                path: Some(b(p)),
                type_id: Some(1),
                type_: Some(b("Regular File")),
                ..Default::default()
            });
            let mut m = mail::malware(b(name), "Cisco ESA antivirus");
            m.files = file.clone().into_iter().collect();
            ev.malware = vec![m.clone()];
            ev.set_severity(4);
            ev.set_status(1, None);
            security(&mut ev, action::OBSERVED, disposition::DETECTED);
            let det = Detection {
                uid: format!("{}:av:{}:{}", mid.unwrap_or("-"), name, path.unwrap_or("")),
                title: format!("Cisco ESA antivirus: {name}"),
                kind: "Malware",
                severity_id: 4,
                malware: vec![m],
            };
            let mut f = mail::finding(
                ctx,
                det,
                None,
                (mid.map(b), None),
                action::OBSERVED,
                disposition::DETECTED,
            );
            if let Some(file) = file {
                f.evidences.push(Evidences {
                    file: Some(Box::new(file)),
                    ..Default::default()
                });
            }
            f.meta().event_code = Some(b("antivirus"));
            finding = Some(f);
        } else if let Some(r) = after(msg, "Result '") {
            let r = r.split('\'').next().unwrap_or("");
            ev.set_status(1, None);
            if r == "CLEAN" {
                security(&mut ev, action::ALLOWED, disposition::ALLOWED);
            }
            put(vendor(&mut ev, "cisco_esa"), "result", r);
        } else {
            // Error / Limit / timed out: the scan did not complete.
            ev.set_status(2, None);
            ev.status_detail = Some(b(msg.rsplit(" - ").next().unwrap_or(msg)));
        }
        let m = vendor(&mut ev, "cisco_esa");
        put_opt(m, "mid", mid);
        put(m, "engine", engine);
        ev.message = Some(b(msg));
        out(&mut ev);
        if let Some(mut f) = finding {
            out(&mut f);
        }
        return;
    }
    // Connections.
    let conn = |activity: i32, id_kind: &'static str| {
        let mut ev = new_event(ctx, &NETWORK_ACTIVITY, activity);
        let id = after(msg, id_kind).and_then(|r| r.split(' ').next());
        let addr = after(msg, " address ").and_then(|r| r.split(' ').next());
        let host = after(msg, " reverse dns host ").and_then(|r| r.split(' ').next());
        let local = mail::endpoint(None, None, None).or_else(|| {
            Some(Box::new(crate::ocsf::NetworkEndpoint {
                hostname: ctx.host.map(b),
                svc_name: Some(b("smtp")),
                ..Default::default()
            }))
        });
        let peer = mail::endpoint(host, addr, None);
        if id_kind == "DCID " {
            ev.src_endpoint = local;
            ev.dst_endpoint = peer;
        } else {
            ev.src_endpoint = peer;
            ev.dst_endpoint = local;
        }
        ev.message = Some(b(msg));
        ev.meta().event_code = Some(b("connection"));
        let m = vendor(&mut ev, "cisco_esa");
        put_opt(m, id_kind.trim().to_ascii_lowercase().as_str(), id);
        put_opt(
            m,
            "interface",
            after(msg, " interface ").and_then(|r| r.split(' ').next()),
        );
        ev
    };
    if msg.starts_with("New SMTP ICID ") {
        return out(&mut conn(1, "ICID "));
    }
    if msg.starts_with("New SMTP DCID ") {
        return out(&mut conn(1, "DCID "));
    }
    if msg.starts_with("ICID ") && msg.ends_with(" close") {
        return out(&mut conn(2, "ICID "));
    }
    if msg.starts_with("DCID ") && msg.ends_with(" close") {
        return out(&mut conn(2, "DCID "));
    }
    if let Some(mid) = mid.filter(|_| log == "mail_logs" && !msg.starts_with("Start MID")) {
        // Lines with an address are Email Activity.
        let from = after(msg, " From: ")
            .or_else(|| after(msg, " bytes from "))
            .map(|s| s.trim());
        let to = after(msg, " To: ").map(|s| s.trim());
        let mut hdr_from = None;
        let mut hdr_to = Vec::new();
        if let Some(list) = after(msg, "[('from', ") {
            for part in list.split("), (") {
                let part = part.trim_start_matches('(').trim_end_matches(")]");
                if let Some((k, v)) = part.split_once("', ") {
                    let v = unquote(v);
                    match k.trim_start_matches('\'') {
                        "to" => hdr_to.extend(v.split(", ")),
                        "from" => hdr_from = Some(v),
                        _ => {}
                    }
                }
            }
            hdr_from = hdr_from.or(Some(unquote(list.split(')').next().unwrap_or(""))));
        }
        let delivery = msg.starts_with("Message done");
        let email = if delivery {
            mail::email_of(hdr_from, hdr_to)
        } else {
            mail::email_of(from, to)
        };
        let mut ev = match email {
            Some(mut e) => {
                let mut ev = new_event(ctx, &EMAIL_ACTIVITY, if delivery { 1 } else { 2 });
                e.uid = Some(b(mid));
                if let Some(n) = after(msg, " ready ").and_then(|r| r.split(' ').next()) {
                    e.size = n.parse().ok();
                }
                let d = mail::direction(
                    e.from.as_deref(),
                    e.to.iter().map(|t| t.as_ref()),
                    &ctx.opts.local_domains,
                );
                set_direction(&mut ev, d);
                ev.email = Some(Box::new(e));
                ev.message_trace_uid = Some(b(mid));
                if delivery {
                    ev.set_status(1, None);
                }
                ev
            }
            None => {
                let mut ev = new_event(ctx, &BASE_EVENT, 99);
                other_activity(&mut ev, "Message Log");
                ev
            }
        };
        ev.message = Some(b(msg));
        ev.set_severity(sev);
        ev.meta().event_code = Some(b("message"));
        let m = vendor(&mut ev, "cisco_esa");
        put(m, "mid", mid);
        put_opt(
            m,
            "icid",
            after(msg, "ICID ").and_then(|r| r.split(' ').next()),
        );
        put_opt(
            m,
            "dcid",
            after(msg, "DCID ").and_then(|r| r.split(' ').next()),
        );
        put_opt(
            m,
            "rid",
            after(msg, "RID ").and_then(|r| r.split(' ').next()),
        );
        text_facts(m, mid, msg);
        if ev.class_uid == Some(0) {
            if let (Some(f), true) = (from, ev.email.is_none()) {
                put(vendor(&mut ev, "cisco_esa"), "from", f);
            }
        }
        mail::fit_base(&mut ev);
        return out(&mut ev);
    }
    let mut ev = new_event(ctx, &BASE_EVENT, 99);
    other_activity(
        &mut ev,
        if msg.starts_with("Start MID") {
            "Message Start"
        } else {
            "System"
        },
    );
    ev.message = Some(b(msg));
    ev.set_severity(sev);
    ev.meta().event_code = Some(b("system"));
    let m = vendor(&mut ev, "cisco_esa");
    put_opt(m, "mid", mid);
    put_opt(
        m,
        "icid",
        after(msg, "ICID ").and_then(|r| r.split(' ').next()),
    );
    out(&mut ev);
}

/// The facts of a per-MID line that have no place in a Base Event, under
/// `unmapped.cisco_esa`: subject, Message-ID, SPF/DKIM/DMARC, URL verdicts,
/// engine verdicts, policy.
fn text_facts(m: &mut Map<String, Value>, mid: &str, msg: &str) {
    let body = msg
        .split_once(&format!("MID {mid} "))
        .map(|x| x.1)
        .unwrap_or(msg);
    if let Some(s) = body.strip_prefix("Subject ") {
        put(m, "subject", unquote(s));
    } else if let Some(s) = body.strip_prefix("Message-ID ") {
        put(m, "message_id", unquote(s).trim_matches(['<', '>']));
    } else if let Some(s) = body.strip_prefix("DKIM: ") {
        put(m, "dkim", s.split(' ').next().unwrap_or(s));
        if let Some(d) = after(s, "(d=").and_then(|r| r.split(' ').next()) {
            put(m, "dkim_domain", d);
        }
    } else if let Some(s) = body.strip_prefix("SPF: ") {
        let mut w = s.split(' ');
        put_opt(m, "spf_identity", w.next());
        if let Some(addr) = after(s, "identity ").and_then(|r| r.split(' ').next()) {
            put(m, "spf_sender", addr);
        }
        if let Some(res) = s.split(' ').nth(3) {
            put(m, "spf", res);
        }
    } else if let Some(s) = body.strip_prefix("DMARC: ") {
        let res = if s.contains("pass") || s.contains("passed") {
            "pass"
        } else if s.contains("fail") {
            "fail"
        } else {
            s.split(' ').next().unwrap_or(s)
        };
        put(m, "dmarc", res);
    } else if let Some(s) = body.strip_prefix("URL ") {
        if let Some((u, rest)) = s.split_once(" has reputation ") {
            put(m, "url", u);
            if let Some(r) = rest.split(' ').next().and_then(|r| r.parse::<f64>().ok()) {
                put(m, "url_reputation", r);
            }
            if let Some(c) = after(rest, "matched Condition: ") {
                put(m, "condition", c);
            }
        }
    } else if let Some(s) = after(body, "using engine: ") {
        put(m, "engine_verdict", s);
    } else if let Some(s) = after(body, "verdict using engine: ") {
        put(m, "engine_verdict", s);
    } else if let Some(s) = after(body, "per-recipient policy ") {
        put(m, "policy", s.split(' ').next().unwrap_or(s));
        if s.contains("inbound table") {
            put(m, "direction", "inbound");
        } else if s.contains("outbound table") {
            put(m, "direction", "outbound");
        }
    } else if let Some(s) = body.strip_prefix("Outbreak Filters: verdict ") {
        put(m, "outbreak_verdict", s);
    }
}

impl Decoder for EsaDecoder {
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
        let mut ctx = LineCtx {
            time_ms: h.time_ms.unwrap_or(opts.reference_time_ms),
            original_time: h.timestamp,
            host: h.hostname,
            raw: line,
            product: PRODUCT,
            log_name: LOG_NAME,
            opts,
        };
        if let Some((_, c)) = cef::parse(line) {
            if c.vendor != "Cisco" {
                return reject(
                    record,
                    ErrorKind::NotThisSource,
                    0,
                    PRODUCT,
                    LOG_NAME,
                    h.time_ms,
                    opts,
                    out,
                );
            }
            ctx.log_name = "consolidated_event_logs";
            map_cef(&ctx, &c, out);
            return Outcome::Parsed;
        }
        // `host log_name: Level: msg`, or without a host `log_name: Level: msg`
        // (the header parser then took `log_name:` for the host).
        let (log, host, level, rest) = match (h.hostname, h.app_name) {
            (Some(hn), Some(app)) if hn.ends_with(':') => {
                (hn.trim_end_matches(':'), None, app, msg)
            }
            (_, Some(app)) => match msg.split_once(": ") {
                Some((lv, r)) => (app, h.hostname, lv, r),
                None => (app, h.hostname, "", msg),
            },
            _ => ("", None, "", msg),
        };
        let known_level = matches!(level, "Info" | "Warning" | "Critical" | "Debug" | "Trace");
        if !known_level || log.is_empty() {
            return reject(
                record,
                ErrorKind::UnknownMessage,
                line.len() - msg.len(),
                PRODUCT,
                LOG_NAME,
                h.time_ms,
                opts,
                out,
            );
        }
        ctx.host = host;
        ctx.log_name = log;
        map_text(&ctx, log, level, rest, out);
        Outcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_cef() {
        let mut d = decoder(&Options::default());
        let mut classes = Vec::new();
        let lines: &[&[u8]] = &[
            b"<166>Mar 17 18:24:37 mail_logs: Info: MID 6 ICID 5 From: <a@example.org>",
            b"<94>Nov 24 14:22:57 esa1.example.com mail_logs: Info: MID 2 Subject 'x'",
            b"<166>Sep 12 11:00:00 antivirus: Info: sophos  antivirus - MID 1 0 - Virus 'Troj/X' 'body.scan/a.exe' 1 0",
            b"CEF:0|Cisco|ESA|14|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=1 suser=a@example.org duser=b@example.com act=QUARANTINED ESAOFVerdict=POSITIVE deviceDirection=0",
        ];
        for l in lines {
            assert!(d
                .decode(l, 0, &mut |e| classes.push(e.class_uid))
                .is_parsed());
        }
        assert_eq!(
            classes,
            vec![
                Some(4009),
                Some(0),
                Some(0),
                Some(2004),
                Some(4009),
                Some(2004)
            ]
        );
        assert!(!d.decode(b"hello", 0, &mut |_| {}).is_parsed());
        assert_eq!(mid_of("x MID 123 y"), Some("123"));
        assert_eq!(
            cef_time("Wed Mar  1 19:02:03 2023", &Options::default()),
            Some(1_677_697_323_000)
        );
    }
}
