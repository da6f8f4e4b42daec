//! Mimecast e-mail security logs: the SIEM / event-streaming API's JSON
//! records (`type` or `eventType`: receipt, process, delivery, spam, av,
//! journal, url protect, attachment protect, impersonation protect,
//! internal email protect) and the legacy SIEM text lines
//! (`datetime=...|aCode=...|acc=...|Sender=...|Rcpt=...`, pipe-delimited,
//! or the same `key=value` pairs separated by spaces).
//!
//! Legacy keys are renamed to the JSON API's names (`aCode` →
//! `aggregateId`, `Rcpt` → `recipients`, `Act` → `action`, ...), so one
//! mapping serves both. The legacy lines have no record type: it is
//! inferred from the keys (Virus → av, Delivered → delivery, url → url
//! protect, Hld/AttNames → process, else receipt).
//!
//! A message record is an Email Activity (receipt: Receive, delivery:
//! Send, the scanners: Scan) keyed by `aggregateId` (the id Mimecast gives
//! all log lines of one message). Verdicts (virus, spam verdict, malicious
//! rejection, impersonation, URL category) are security-control attributes
//! plus a Detection Finding. A URL Protect record is a click: HTTP Activity
//! (Other "Click") by the recipient. An Attachment Protect record without
//! any address is a Detection Finding about the file.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::common::kv::{kv_iter, Sep};
use crate::common::mailjson::{self as json, Fields, Msg};
use crate::ocsf::{
    status, EmailAuth, Event, Evidences, NetworkEndpoint, Policy, Product, User, EMAIL_ACTIVITY,
    HTTP_ACTIVITY,
};
use crate::{Decoder, ErrorKind, Options, Outcome};

const LOG_NAME: &str = "mimecast";
const PROVIDER: &str = "Mimecast";

fn product() -> Product<'static> {
    json::product("Email Security", "Mimecast")
}

/// Decoder for `mimecast` records.
pub struct MimecastDecoder {
    opts: Options,
}

impl MimecastDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        MimecastDecoder { opts }
    }
}

/// Legacy SIEM keys and their JSON API names.
const ALIASES: &[(&str, &str)] = &[
    ("datetime", "timestamp"),
    ("aCode", "aggregateId"),
    ("acc", "accountId"),
    ("Sender", "senderEnvelope"),
    ("headerFrom", "senderHeader"),
    ("Rcpt", "recipients"),
    ("IP", "senderIp"),
    ("Dir", "direction"),
    ("Subject", "subject"),
    ("MsgId", "messageId"),
    ("Act", "action"),
    ("RejType", "rejectionType"),
    ("RejCode", "rejectionCode"),
    ("RejInfo", "rejectionInfo"),
    ("SpamScore", "spamScore"),
    ("SpamInfo", "spamInfo"),
    ("SpamProcessingDetail", "spamProcessingDetail"),
    ("SpamLimit", "spamDetectionLevel"),
    ("TlsVer", "tlsVersion"),
    ("Cphr", "tlsCipher"),
    ("AttCnt", "numberAttachments"),
    ("AttSize", "totalSizeAttachments"),
    ("AttNames", "attachments"),
    ("MsgSize", "emailSize"),
    ("Hld", "holdReason"),
    ("Delivered", "delivered"),
    ("Route", "route"),
    ("Err", "deliveryErrors"),
    ("Latency", "deliveryTime"),
    ("Attempt", "deliveryAttempts"),
    ("UseTls", "tlsUsed"),
    ("Virus", "virusFound"),
    ("Definition", "policyDefinition"),
    ("Hits", "itemsDetected"),
    ("ttpDefinition", "policyDefinition"),
    ("fileHash", "sha256"),
    ("senderAddress", "senderEnvelope"),
    ("recipientAddress", "recipients"),
    ("userEmailAddress", "recipients"),
    ("actionTriggered", "action"),
];

fn alias(k: &str) -> &str {
    ALIASES
        .iter()
        .find(|(a, _)| *a == k)
        .map_or(k, |(_, to)| to)
}

/// The `key=value` pairs of a legacy line: pipe-delimited, else
/// space-separated (read with the shared `kv` reader). Text before the
/// first pair (a syslog header) is returned apart.
fn text_fields(line: &str) -> Option<(Fields<'_>, &str, &str)> {
    let start = line.find("datetime=").or_else(|| {
        // The first "key=" at a word start.
        line.char_indices()
            .filter(|(i, c)| *i == 0 || (*c != ' ' && line.as_bytes()[i - 1] == b' '))
            .map(|(i, _)| i)
            .find(|&i| {
                let w = &line[i..];
                let k = w
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                k > 0 && w.as_bytes().get(k) == Some(&b'=')
            })
    })?;
    let prefix = line[..start].trim();
    let body = &line[start..];
    if body.contains('|') {
        let pairs: Vec<(&str, &str)> = body
            .split('|')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (alias(k.trim()), v.trim()))
            .collect();
        if pairs.len() < 2 {
            return None;
        }
        Some((Fields::from_pairs(pairs.into_iter()), prefix, ""))
    } else {
        let mut it = kv_iter(body, Sep::Space);
        let pairs: Vec<(&str, &str)> = it.by_ref().map(|kv| (alias(kv.key), kv.value)).collect();
        if pairs.len() < 2 {
            return None;
        }
        let rest = it.rest().trim();
        Some((Fields::from_pairs(pairs.into_iter()), prefix, rest))
    }
}

impl Decoder for MimecastDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let opts = &self.opts;
        let Ok(text) = crate::common::utf8::text(record) else {
            return json::decode_json(record, product(), LOG_NAME, opts, out, |_, _, _| {
                Outcome::Parsed
            });
        };
        let trimmed = text.trim();
        if trimmed.starts_with('{') || trimmed.is_empty() {
            return json::decode_json(
                record,
                product(),
                LOG_NAME,
                opts,
                out,
                |mut f, text, out| map(&mut f, text, opts, out),
            );
        }
        match text_fields(trimmed) {
            Some((mut f, prefix, rest)) => {
                let mut pre = Map::new();
                if !prefix.is_empty() {
                    pre.insert("syslog_prefix".into(), Value::from(prefix));
                }
                if !rest.is_empty() {
                    pre.insert("unparsed_tail".into(), Value::from(rest));
                }
                map_with(&mut f, trimmed, opts, out, pre)
            }
            None => json::unparsed(
                record,
                ErrorKind::UnknownMessage,
                0,
                product(),
                LOG_NAME,
                opts,
                out,
            ),
        }
    }
}

fn map<'a>(
    f: &mut Fields<'a>,
    text: &'a str,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
) -> Outcome {
    map_with(f, text, opts, out, Map::new())
}

/// The record kind, from `type`/`eventType` or inferred from the keys.
fn kind(f: &mut Fields<'_>) -> Option<String> {
    let k = f.str_any(&["type", "eventType"]);
    if let Some(k) = k {
        return Some(k.to_ascii_lowercase());
    }
    let k = if f.has("virusFound") {
        "av"
    } else if f.has("delivered") {
        "delivery"
    } else if f.has("url") {
        "url protect"
    } else if f.has("fileName") {
        "attachment protect"
    } else if f.has("holdReason") || f.has("attachments") {
        "process"
    } else if f.has("action") && (f.has("senderEnvelope") || f.has("recipients")) {
        "receipt"
    } else {
        return None;
    };
    Some(k.to_owned())
}

fn map_with<'a>(
    f: &mut Fields<'a>,
    text: &'a str,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
    extra: Map<String, Value>,
) -> Outcome {
    let kind = kind(f);
    let mut events = Vec::with_capacity(2);
    match kind.as_deref() {
        Some("receipt") => message(f, opts, &mut events, 2, "receipt"),
        Some("process") => message(f, opts, &mut events, 3, "process"),
        Some("delivery") => message(f, opts, &mut events, 1, "delivery"),
        Some("journal") => message(f, opts, &mut events, 4, "journal"),
        Some(
            k @ ("spam"
            | "av"
            | "impersonation protect"
            | "internal email protect"
            | "attachment protect"),
        ) => {
            let k: &'static str = match k {
                "spam" => "spam",
                "av" => "av",
                "impersonation protect" => "impersonation protect",
                "internal email protect" => "internal email protect",
                _ => "attachment protect",
            };
            message(f, opts, &mut events, 3, k)
        }
        Some("url protect") => click(f, opts, &mut events),
        _ => {
            let time = f
                .peek_str("timestamp")
                .and_then(|t| json::parse_time(&t, opts.utc_offset_secs));
            let label = Cow::Owned(kind.unwrap_or_else(|| "unknown".to_owned()));
            let mut ev = json::fallback_event(f, label, time, product(), LOG_NAME, opts);
            ev.unmapped().extend(extra);
            if opts.raw_data {
                ev.raw_data = Some(Cow::Borrowed(text));
            }
            out(&mut ev);
            return Outcome::Parsed;
        }
    }
    if let Some(first) = events.first_mut() {
        json::finish(first, f, text, opts);
        if !extra.is_empty() {
            first.unmapped().extend(extra);
        }
    }
    for mut ev in events {
        out(&mut ev);
    }
    Outcome::Parsed
}

fn base<'a>(
    class: &crate::ocsf::ClassInfo,
    activity: i32,
    f: &mut Fields<'a>,
    opts: &Options,
    code: &'static str,
) -> Event<'a> {
    let ts = f.str("timestamp");
    let time = ts
        .as_deref()
        .and_then(|t| json::parse_time(t, opts.utc_offset_secs))
        .unwrap_or(opts.reference_time_ms);
    let mut ev = Event::new(class, activity, time);
    let m = ev.meta();
    m.product = Some(Box::new(product()));
    m.log_name = Some(Cow::Borrowed(LOG_NAME));
    m.original_time = ts;
    m.event_code = Some(Cow::Borrowed(code));
    m.tenant_uid = f.str("accountId");
    // aggregateId groups all records of one message.
    let agg = f.peek_str("aggregateId");
    m.correlation_uid = agg;
    ev
}

/// "<id@host>" → "id@host".
fn strip_angle(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => {
            let t = b.trim();
            Cow::Borrowed(
                t.strip_prefix('<')
                    .and_then(|x| x.strip_suffix('>'))
                    .unwrap_or(t),
            )
        }
        Cow::Owned(o) => {
            let t = o.trim();
            Cow::Owned(
                t.strip_prefix('<')
                    .and_then(|x| x.strip_suffix('>'))
                    .unwrap_or(t)
                    .to_owned(),
            )
        }
    }
}

/// The message fields common to every record kind.
fn msg<'a>(f: &mut Fields<'a>, ev: &mut Event<'a>) -> Msg<'a> {
    let mut m = Msg {
        uid: f.str("aggregateId"),
        message_uid: f
            .str("messageId")
            .map(strip_angle)
            .filter(|s| !s.is_empty()),
        subject: f.str("subject"),
        size: f.i64("emailSize"),
        ..Default::default()
    };
    let un = ev.unmapped();
    let header = f.str("senderHeader");
    m.set_from(header, "senderHeader", un);
    let env = f.str("senderEnvelope");
    m.set_from_envelope(env, un);
    if m.from.is_none() {
        m.from = m.return_path.clone();
    }
    let rcpts = f.strs("recipients");
    m.add_to(rcpts, "recipients", un);
    m
}

/// An action word to a disposition id.
fn action_disposition(a: &str) -> i32 {
    match a.to_ascii_lowercase().as_str() {
        "acc" | "accept" | "accepted" | "allow" | "allowed" | "permit" | "continue" => 1,
        "rej" | "reject" | "rejected" | "block" | "blocked" | "bnc" | "bounce" | "deny" => 2,
        "hld" | "hold" | "held" | "quarantine" | "quarantined" => 3,
        "tmp" | "tempfail" | "defer" | "deferred" => 14,
        "tag" | "tagged" => 18,
        "warn" | "warned" => 19,
        _ => 99,
    }
}

/// One verdict of a record (for `is_alert`, severity, the finding).
struct Threat<'a> {
    kind: Cow<'a, str>,
    detail: Option<String>,
    score: Option<i32>,
    evidence: Evidences<'a>,
}

fn message<'a>(
    f: &mut Fields<'a>,
    opts: &Options,
    events: &mut Vec<Event<'a>>,
    activity: i32,
    code: &'static str,
) {
    let mut ev = base(&EMAIL_ACTIVITY, activity, f, opts, code);
    if activity == 4 {
        json::set_other(&mut ev, "Journal");
    }
    let m = msg(f, &mut ev);
    let mut email = m.email();
    let mut threats: Vec<Threat<'a>> = Vec::new();
    if let Some(ip) = f
        .str("senderIp")
        .or_else(|| f.str("sourceIp"))
        .filter(|ip| json::is_ip(ip))
    {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    // Delivery target.
    let dst_ip = f.str("destinationIp").filter(|ip| json::is_ip(ip));
    let dst_host = f.str("Hostname");
    if dst_ip.is_some() || dst_host.is_some() {
        ev.dst_endpoint = Some(Box::new(NetworkEndpoint {
            ip: dst_ip,
            hostname: dst_host,
            ..Default::default()
        }));
    }
    // Attachments: names (process), or the scanned file (av, attachment
    // protect) with its hashes.
    if let Some(names) = f.str("attachments") {
        for n in attachment_names(names) {
            email.files.push(json::attachment(n));
        }
    }
    if let Some(name) = f.str("fileName") {
        let mut file = json::attachment(name);
        if let Some(ext) = f.str("fileExtension") {
            if file.ext.as_deref() != Some(ext.to_ascii_lowercase().as_str()) {
                ev.unmapped()
                    .insert("fileExtension".into(), Value::from(ext.as_ref()));
            }
        }
        for alg in ["sha256", "sha1", "md5"] {
            if let Some(h) = f.str(alg) {
                file.hashes.push(json::hash(alg, h));
            }
        }
        email.files.push(file);
    }
    // Action / delivery outcome.
    let action = f.str("action");
    if let Some(a) = &action {
        json::set_disposition(&mut ev, action_disposition(a), Some(a.clone()));
        ev.status_code = Some(a.clone());
    }
    match f.bool("delivered") {
        Some(true) => {
            ev.set_status(status::SUCCESS, None);
            if action.is_none() {
                json::set_disposition(&mut ev, 1, None);
            }
        }
        Some(false) => ev.set_status(status::FAILURE, None),
        None if action.is_some() => {
            let st = match ev.disposition_id {
                Some(2) => status::FAILURE,
                _ => status::SUCCESS,
            };
            ev.set_status(st, None);
        }
        None => {}
    }
    let errs = f.str_any(&["deliveryErrors", "receiptErrors"]);
    let rej_type = f.str("rejectionType");
    let rej_code = f.str("rejectionCode");
    let rej_info = f.str("rejectionInfo");
    let hold = f.str("holdReason");
    if rej_code.is_some() {
        ev.status_code = rej_code;
    }
    ev.status_detail = rej_type.clone().or(hold.clone());
    ev.message = errs.clone();
    if let Some(info) = &rej_info {
        ev.unmapped()
            .insert("rejectionInfo".into(), Value::from(info.as_ref()));
    }
    // The message is rejected for a threat: the URL and category it names.
    if let Some(rt) = &rej_type {
        let l = rt.to_ascii_lowercase();
        if [
            "malicious",
            "phish",
            "virus",
            "malware",
            "spam",
            "impersonation",
            "fraud",
        ]
        .iter()
        .any(|w| l.contains(w))
        {
            let cat = rej_info.as_deref().and_then(|i| bracketed(i, "Type:"));
            let url = rej_info.as_deref().and_then(|i| bracketed(i, "Url:"));
            let mut evidence = Evidences::default();
            if let Some(u) = url {
                let u: Cow<'a, str> = Cow::Owned(u.to_owned());
                email.urls.push(json::url(u.clone()));
                evidence.url = Some(Box::new(json::url(u)));
            }
            threats.push(Threat {
                kind: Cow::Owned(cat.unwrap_or(rt).to_owned()),
                detail: Some(rt.to_string()),
                score: None,
                evidence,
            });
        }
    }
    if let Some(h) = &hold {
        let l = h.to_ascii_lowercase();
        if l == "spm" || l == "spam" {
            threats.push(threat("Spam", Some(format!("held: {h}"))));
        } else if l == "av" || l.contains("virus") {
            threats.push(threat("Malware", Some(format!("held: {h}"))));
        }
    }
    // SPF / DKIM / DMARC and Mimecast's spam verdict.
    ev.risk_score = f
        .i64("spamScore")
        .map(|s| s.clamp(0, i32::MAX as i64) as i32);
    if let Some(Value::Object(mut d)) = f.object("spamProcessingDetail") {
        let mut check = |k: &str| match d.remove(k) {
            Some(Value::Object(mut o)) => {
                let allow = o.remove("allow").and_then(|v| v.as_bool());
                let info = o.remove("info");
                let info = info.as_ref().and_then(Value::as_str).unwrap_or("");
                let res = match allow {
                    Some(true) => "pass",
                    Some(false) => "fail",
                    None => return None,
                };
                Some(if info.is_empty() || info.eq_ignore_ascii_case("allow") {
                    Cow::Borrowed(res)
                } else {
                    Cow::Owned(format!("{res} ({info})"))
                })
            }
            Some(other) => {
                d.insert(k.to_owned(), other);
                None
            }
            None => None,
        };
        let auth = EmailAuth {
            spf: check("spf"),
            dkim: check("dkim"),
            dmarc: check("dmarc"),
            ..Default::default()
        };
        if auth.spf.is_some() || auth.dkim.is_some() || auth.dmarc.is_some() {
            ev.email_auth = Some(Box::new(auth));
        }
        if let Some(Value::Object(v)) = d.get("verdict") {
            let decision = v.get("decision").and_then(Value::as_str).unwrap_or("");
            let dl = decision.to_ascii_lowercase();
            if !dl.is_empty()
                && !matches!(dl.as_str(), "none" | "clean" | "not_spam" | "ham" | "allow")
            {
                let risk = v.get("risk").and_then(Value::as_str).unwrap_or("");
                let mut t = threat(decision, Some(format!("verdict {decision}, risk {risk}")));
                t.score = ev.risk_score;
                if !risk.is_empty() {
                    json::set_confidence(
                        &mut ev,
                        match risk.to_ascii_lowercase().as_str() {
                            "high" | "critical" => "high",
                            "medium" => "medium",
                            _ => "low",
                        },
                    );
                }
                threats.push(t);
            }
        }
        if !d.is_empty() {
            ev.unmapped()
                .insert("spamProcessingDetail".into(), Value::Object(d));
        }
    }
    if let Some(v) = f.object("spamInfo").and_then(json::strip_nulls) {
        if v.as_array().is_some_and(|a| !a.is_empty()) || v.is_object() {
            ev.unmapped().insert("spamInfo".into(), v);
        }
    }
    // Virus.
    if let Some(v) = f.str("virusFound") {
        let mut mw = json::malware(Some(v.clone()), "Virus", PROVIDER);
        mw.files = email.files.clone();
        ev.malware.push(mw);
        json::add_profile(&mut ev, "security_control");
        let mut t = threat("Malware", Some(v.to_string()));
        if let Some(file) = email.files.first() {
            t.evidence.file = Some(Box::new(file.clone()));
        }
        threats.push(t);
    }
    // Policies that decided.
    let definition = f.str("policyDefinition");
    let route = f.str("route");
    let direction = f.str("direction");
    let route_dir = route
        .as_deref()
        .filter(|r| json::direction_word(r).is_some())
        .map(|r| Cow::Owned(r.to_owned()));
    if let Some(r) = route.filter(|r| json::direction_word(r).is_none()) {
        ev.unmapped()
            .insert("route".into(), Value::from(r.as_ref()));
    }
    if let Some(d) = definition {
        json::add_profile(&mut ev, "security_control");
        ev.policy = Some(Box::new(Policy {
            name: Some(d),
            is_applied: Some(true),
            ..Default::default()
        }));
    }
    match code {
        "spam" => threats.push(threat("Spam", None)),
        "impersonation protect" => {
            let hits = f.i64("itemsDetected").unwrap_or(0);
            let malicious = f.bool("taggedMalicious").unwrap_or(false);
            if hits > 0 || malicious {
                threats.push(threat(
                    "Impersonation",
                    Some(format!("{hits} impersonation indicators")),
                ));
            }
        }
        "internal email protect" => {
            if let Some(c) = f.str("urlCategory") {
                let detail = f.str("scanResults").map(|s| s.into_owned());
                threats.push(Threat {
                    kind: c,
                    detail,
                    score: None,
                    evidence: Evidences::default(),
                });
            }
        }
        _ => {}
    }
    if !m.has_addr() {
        // No address (attachment protect): OCSF's email needs one, so the
        // sandbox result is a Detection Finding about the file.
        attachment_finding(f, ev, email, m, events);
        return;
    }
    if !threats.is_empty() {
        json::add_profile(&mut ev, "security_control");
        ev.is_alert = Some(true);
        let sev = threats
            .iter()
            .map(|t| json::threat_severity(&t.kind))
            .max()
            .unwrap_or(1);
        ev.set_severity(sev);
    }
    m.fill(&mut ev, email, direction.or(route_dir), opts);
    events.push(ev);
    let n = threats.len();
    for (i, t) in threats.into_iter().enumerate() {
        push_finding(events, t, &m, code, if n > 1 { Some(i) } else { None });
    }
}

fn threat<'a>(kind: &str, detail: Option<String>) -> Threat<'a> {
    Threat {
        kind: Cow::Owned(kind.to_owned()),
        detail,
        score: None,
        evidence: Evidences::default(),
    }
}

/// "...,Url: [https://x],..." → "https://x".
fn bracketed<'s>(s: &'s str, label: &str) -> Option<&'s str> {
    let i = s.find(label)?;
    let rest = s[i + label.len()..].trim_start();
    let rest = rest.strip_prefix('[')?;
    let end = rest.find(']')?;
    Some(rest[..end].trim()).filter(|v| !v.is_empty())
}

/// Attachment names: one name, or `"a.pdf", "b.doc"`.
fn attachment_names(s: Cow<'_, str>) -> Vec<Cow<'_, str>> {
    let t = s.trim();
    if t.starts_with('"') && t.ends_with('"') && t.len() > 1 {
        return t
            .split("\",")
            .map(|p| p.trim().trim_matches('"').trim())
            .filter(|p| !p.is_empty())
            .map(|p| Cow::Owned(p.to_owned()))
            .collect();
    }
    vec![s]
}

fn finding_uid(m: &Msg<'_>, code: &str, i: Option<usize>) -> String {
    let key = m.uid.as_deref().unwrap_or("mimecast");
    match i {
        Some(i) => format!("{key}:{code}:{i}"),
        None => format!("{key}:{code}"),
    }
}

fn push_finding<'a>(
    events: &mut Vec<Event<'a>>,
    t: Threat<'a>,
    m: &Msg<'a>,
    code: &str,
    i: Option<usize>,
) {
    let Some(src) = events.first() else { return };
    let mut evidence = t.evidence;
    if m.has_addr() {
        evidence.email = Some(Box::new(m.email()));
    }
    let title = format!("{} detected in email (Mimecast {code})", t.kind);
    let mut f = json::finding(
        src,
        Cow::Owned(finding_uid(m, code, i)),
        title,
        vec![t.kind.clone()],
        evidence,
    );
    f.set_severity(json::threat_severity(&t.kind));
    if t.score.is_some() {
        f.risk_score = t.score;
    }
    if let Some(fi) = f.finding_info.as_mut() {
        fi.desc = t.detail.map(Cow::Owned);
    }
    if !t.kind.to_ascii_lowercase().contains("malware") {
        f.malware.clear();
    }
    events.push(f);
}

/// An Attachment Protect result without any address: a Detection Finding
/// with the file as evidence; `result` (safe / malicious) is `status_detail`
/// and decides `is_alert` and the severity.
fn attachment_finding<'a>(
    f: &mut Fields<'a>,
    ev: Event<'a>,
    email: crate::ocsf::Email<'a>,
    m: Msg<'a>,
    events: &mut Vec<Event<'a>>,
) {
    let result = f.str("result");
    let mut evidence = Evidences::default();
    let file = email.files.into_iter().next();
    let name = file
        .as_ref()
        .and_then(|x| x.name.clone())
        .unwrap_or(Cow::Borrowed("attachment"));
    evidence.file = file.map(Box::new);
    evidence.uid = m.uid.clone();
    let title = format!("Attachment Protect scan of {name}");
    let mut fd = json::finding(
        &ev,
        Cow::Owned(finding_uid(&m, "attachment protect", None)),
        title,
        vec![Cow::Borrowed("Attachment Protect")],
        evidence,
    );
    fd.unmapped = ev.unmapped;
    fd.policy = ev.policy;
    if let Some(d) = ev.disposition_id {
        json::set_disposition(&mut fd, d, ev.disposition);
        fd.status_code = ev.status_code;
    }
    match result.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("malicious") => {
            fd.set_severity(crate::ocsf::severity::HIGH);
        }
        Some("safe") | Some("clean") => {
            fd.is_alert = Some(false);
        }
        _ => fd.is_alert = Some(false),
    }
    fd.status_detail = result;
    events.push(fd);
}

/// URL Protect: a recipient's click on a rewritten link.
fn click<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let mut ev = base(&HTTP_ACTIVITY, 99, f, opts, "url protect");
    json::set_other(&mut ev, "Click");
    json::add_profile(&mut ev, "host");
    let mut m = msg(f, &mut ev);
    let user = m.to.first().cloned().map(|r| User {
        email_addr: Some(r.clone()),
        name: Some(r),
        type_id: Some(1),
        type_: Some(Cow::Borrowed("User")),
        ..Default::default()
    });
    let url = f.str("url").map(json::url);
    json::click_parties(
        &mut ev,
        user.as_ref(),
        url.as_ref(),
        f.str("userAgent"),
        f.str("userIp"),
    );
    let action = f.str("action");
    if let Some(a) = &action {
        json::set_disposition(&mut ev, action_disposition(a), Some(a.clone()));
        ev.status_code = Some(a.clone());
    }
    let category = f.str("urlCategory");
    let reason = f.str("blockReason");
    if let Some(d) = f.str("policyDefinition") {
        ev.policy = Some(Box::new(Policy {
            name: Some(d),
            is_applied: Some(true),
            ..Default::default()
        }));
        json::add_profile(&mut ev, "security_control");
    }
    if let Some(Value::Object(a)) = f.object("analysis") {
        ev.unmapped().insert("analysis".into(), Value::Object(a));
    }
    let route = f.str("route");
    if let Some(r) = route {
        ev.unmapped()
            .insert("route".into(), Value::from(r.as_ref()));
    }
    let benign = |c: &str| {
        let c = c.to_ascii_lowercase();
        c.is_empty() || c == "clean" || c == "safe" || c == "uncategorized"
    };
    let is_threat = reason
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("malicious"))
        || category.as_deref().is_some_and(|c| !benign(c));
    ev.status_detail = reason.clone().or(category.clone());
    if let Some(c) = &category {
        ev.unmapped()
            .insert("urlCategory".into(), Value::from(c.as_ref()));
    }
    if is_threat {
        ev.is_alert = Some(true);
        json::add_profile(&mut ev, "security_control");
        let kind = category.clone().unwrap_or(Cow::Borrowed("Malicious URL"));
        ev.set_severity(json::threat_severity(&kind).max(crate::ocsf::severity::MEDIUM));
    }
    ev.meta().correlation_uid = m.uid.clone();
    events.push(ev);
    if !is_threat {
        return;
    }
    let kind = category.unwrap_or(Cow::Borrowed("Malicious URL"));
    let verb = match events[0].disposition_id {
        Some(1) => "permitted click on",
        Some(2) => "blocked click on",
        _ => "click on",
    };
    let mut evidence = Evidences {
        url: url.map(Box::new),
        user: user.map(Box::new),
        ..Default::default()
    };
    if m.has_addr() {
        m.subject = None;
        evidence.email = Some(Box::new(m.email()));
    }
    let mut fd = json::finding(
        &events[0],
        Cow::Owned(finding_uid(&m, "url protect", None)),
        format!("{verb} {kind} URL"),
        vec![kind.clone()],
        evidence,
    );
    fd.set_severity(json::threat_severity(&kind).max(crate::ocsf::severity::MEDIUM));
    if let Some(fi) = fd.finding_info.as_mut() {
        fi.desc = reason.map(|r| Cow::Owned(format!("block reason: {r}")));
    }
    events.push(fd);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rec: &str) -> (Outcome, Vec<Value>) {
        let mut d = MimecastDecoder::new(Options::default());
        let mut out = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            out.push(serde_json::to_value(e).unwrap())
        });
        (o, out)
    }

    #[test]
    fn legacy_pipe_line() {
        let (o, out) = run("datetime=2017-05-26T16:47:41+0100|aCode=7O7I7MvGP1mj8plHRDuHEA|acc=C0A0|SpamLimit=0|IP=192.0.2.1|Dir=Inbound|Subject=Hi there|MsgId=<a@b.example>|Sender=a@b.example|Rcpt=c@example.com|Act=Acc|TlsVer=TLSv1.2|SpamScore=3");
        assert!(o.is_parsed());
        assert_eq!(out[0]["class_uid"], 4009);
        assert_eq!(out[0]["activity_id"], 2);
        assert_eq!(out[0]["time"], 1495813661000_i64);
        assert_eq!(out[0]["email"]["to"][0], "c@example.com");
        assert_eq!(out[0]["email"]["subject"], "Hi there");
        assert_eq!(out[0]["direction_id"], 1);
        assert_eq!(
            out[0]["metadata"]["correlation_uid"],
            "7O7I7MvGP1mj8plHRDuHEA"
        );
    }

    #[test]
    fn legacy_space_line() {
        let (o, out) = run("<14>mimecast: datetime=2017-05-26T16:47:41+0100 aCode=x1 Sender=a@b.example Rcpt=c@example.com Virus=Eicar");
        assert!(o.is_parsed());
        assert_eq!(out[0]["malware"][0]["name"], "Eicar");
        assert_eq!(out[1]["class_uid"], 2004);
    }

    #[test]
    fn garbage() {
        for r in ["", "{", "[]", "hello", "a=b", "x=1|y", "{\"type\":5}"] {
            let (o, out) = run(r);
            assert_eq!(out.len(), 1, "{r}");
            let _ = o;
        }
        assert!(!run("hello world").0.is_parsed());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            bracketed("[Type: [Phishing & Fraud],Url: [https://x.test/a]", "Url:"),
            Some("https://x.test/a")
        );
        assert_eq!(
            attachment_names(Cow::Borrowed("\"a.pdf\", \"b.doc\"")).len(),
            2
        );
        assert_eq!(attachment_names(Cow::Borrowed("so \"x\" y")).len(), 1);
    }
}
