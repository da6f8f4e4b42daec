//! Proofpoint Targeted Attack Protection (TAP) SIEM API records: messages
//! delivered/blocked and clicks permitted/blocked.
//!
//! The API returns four lists (`messagesDelivered`, `messagesBlocked`,
//! `clicksPermitted`, `clicksBlocked`); the agent hands over one element
//! at a time. Collectors often add `type` ("message"/"click") and `status`
//! ("delivered", "blocked", "permitted"); without them the kind comes from
//! the fields (`clickTime` → click, `messageTime` → message) and a message
//! with a `quarantineFolder` counts as blocked.
//!
//! A message is an Email Activity (Receive) with its threats as
//! security-control attributes, plus one Detection Finding per entry of
//! `threatsInfoMap` (uid = threatID). A click is an HTTP Activity (activity
//! Other "Click") by the recipient, plus a Detection Finding for the threat
//! it hit. All events carry the message `GUID` as
//! `metadata.correlation_uid` (and `email.uid`).

use std::borrow::Cow;

use serde_json::Value;

use crate::common::mailjson::{self as json, Fields, Msg};
use crate::ocsf::{
    Event, Evidences, NetworkEndpoint, Policy, Product, User, EMAIL_ACTIVITY, HTTP_ACTIVITY,
};
use crate::{Decoder, Options, Outcome};

const LOG_NAME: &str = "proofpoint-tap";
const PROVIDER: &str = "Proofpoint TAP";

fn product() -> Product<'static> {
    json::product("Targeted Attack Protection", "Proofpoint")
}

/// Decoder for `proofpoint-tap` records.
pub struct ProofpointTapDecoder {
    opts: Options,
}

impl ProofpointTapDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        ProofpointTapDecoder { opts }
    }
}

impl Decoder for ProofpointTapDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let opts = &self.opts;
        json::decode_json(
            record,
            product(),
            LOG_NAME,
            opts,
            out,
            |mut f, text, out| {
                let kind = f.str("type");
                let is_click = match kind.as_deref() {
                    Some("click") => true,
                    Some("message") => false,
                    _ => f.has("clickTime"),
                };
                let is_message = !is_click
                    && (kind.as_deref() == Some("message")
                        || f.has("messageTime")
                        || f.has("threatsInfoMap"));
                let mut events = Vec::with_capacity(3);
                if is_click {
                    click(&mut f, opts, &mut events);
                } else if is_message {
                    message(&mut f, opts, &mut events);
                } else {
                    let time = f
                        .peek_str("threatTime")
                        .and_then(|t| json::parse_time(&t, opts.utc_offset_secs));
                    let kind = kind.unwrap_or(Cow::Borrowed("unknown"));
                    let mut ev =
                        json::fallback_event(&mut f, kind, time, product(), LOG_NAME, opts);
                    if opts.raw_data {
                        ev.raw_data = Some(Cow::Borrowed(text));
                    }
                    out(&mut ev);
                    return Outcome::Parsed;
                }
                if let Some(first) = events.first_mut() {
                    json::finish(first, &f, text, opts);
                }
                for mut ev in events {
                    out(&mut ev);
                }
                Outcome::Parsed
            },
        )
    }
}

fn base<'a>(
    class: &crate::ocsf::ClassInfo,
    activity: i32,
    ts: Option<Cow<'a, str>>,
    f: &mut Fields<'a>,
    opts: &Options,
    code: &'static str,
) -> Event<'a> {
    let time = ts
        .as_deref()
        .and_then(|t| json::parse_time(t, opts.utc_offset_secs))
        .unwrap_or(opts.reference_time_ms);
    let mut ev = Event::new(class, activity, time);
    let m = ev.meta();
    m.product = Some(Box::new(product()));
    m.log_name = Some(Cow::Borrowed(LOG_NAME));
    m.original_time = ts;
    m.uid = f.str("id");
    m.event_code = Some(Cow::Borrowed(code));
    m.tenant_uid = f.str_any(&["cluster", "clusterId"]);
    ev
}

/// One threat of `threatsInfoMap` (messages) or of a click.
struct Threat<'a> {
    id: Option<Cow<'a, str>>,
    classification: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    threat: Option<Cow<'a, str>>,
    url: Option<Cow<'a, str>>,
    time: Option<Cow<'a, str>>,
    rest: serde_json::Map<String, Value>,
}

fn threat<'a>(f: &mut Fields<'a>) -> Threat<'a> {
    let mut t = Threat {
        id: f.str_any(&["threatID", "threatId"]),
        classification: f.str("classification"),
        kind: f.str("threatType"),
        threat: f.str("threat"),
        url: f.str_any(&["threatUrl", "threatURL"]),
        time: f.str("threatTime"),
        rest: serde_json::Map::new(),
    };
    f.rest_into(&mut t.rest);
    t
}

fn score_for(class: &str, scores: &[(&str, Option<i64>)]) -> Option<i64> {
    let c = class.to_ascii_lowercase();
    let key = if c.contains("phish") {
        "phishScore"
    } else if c.contains("malware") {
        "malwareScore"
    } else if c.contains("spam") {
        "spamScore"
    } else if c.contains("impostor") {
        "impostorScore"
    } else {
        return None;
    };
    scores.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v)
}

fn message<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let ts = f.str("messageTime");
    let mut ev = base(&EMAIL_ACTIVITY, 2, ts, f, opts, "message");
    let status = f.str("status");
    let mut m = Msg {
        uid: f.str("GUID"),
        message_uid: f.str("messageID"),
        subject: f.str("subject"),
        size: f.i64("messageSize").filter(|s| *s > 0),
        ..Default::default()
    };
    let header_from = f.str("headerFrom");
    let from_list = f.strs("fromAddress");
    if let Some(a) = header_from.clone().and_then(json::addr_cow) {
        m.from = Some(a);
    } else if let Some(a) = from_list.first().cloned().and_then(json::addr_cow) {
        m.from = Some(a);
    }
    if let Some(h) = header_from.filter(|h| h.contains('<')) {
        ev.unmapped()
            .insert("headerFrom".into(), Value::String(h.into_owned()));
    }
    if from_list.len() > 1 {
        ev.unmapped().insert(
            "fromAddress".into(),
            from_list.iter().map(|s| Value::from(s.as_ref())).collect(),
        );
    }
    let sender = f.str("sender");
    m.set_from_envelope(sender, ev.unmapped());
    // Envelope recipients first: they are the targets, blocked or not.
    let rcpt = f.strs("recipient");
    m.add_to(rcpt, "recipient", ev.unmapped());
    let to = f.strs("toAddresses");
    m.add_to(to, "toAddresses", ev.unmapped());
    for c in f.strs("ccAddresses") {
        if let Some(a) = json::addr_cow(c) {
            m.cc.push(a);
        }
    }
    let mut email = m.email();
    for r in f.strs("replyToAddress") {
        if let Some(a) = json::addr_cow(r) {
            email.reply_to_list.push(a);
        }
    }
    f.skip(&["headerReplyTo", "headerTo", "headerCC"]);
    if let Some(ip) = f.str("senderIP").filter(|ip| json::is_ip(ip)) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    // Message parts: attachments go to email.files; body parts and the
    // per-part sandbox verdicts stay under unmapped.
    let mut parts_rest = Vec::new();
    for p in f.array("messageParts") {
        let Some(mut pf) = Fields::of(p) else {
            continue;
        };
        let disposition = pf.peek_str("disposition");
        let name = pf.peek_str("filename");
        if disposition.as_deref() == Some("attached") {
            if let Some(name) = name {
                pf.skip(&["filename", "disposition"]);
                let mut file = json::attachment(name);
                file.mime_type = pf.str("contentType");
                for alg in ["sha256", "md5"] {
                    if let Some(h) = pf.str(alg) {
                        file.hashes.push(json::hash(alg, h));
                    }
                }
                if pf.peek_str("oContentType").as_deref() == file.mime_type.as_deref() {
                    pf.skip(&["oContentType"]);
                }
                email.files.push(file);
            }
        }
        let mut o = serde_json::Map::new();
        pf.rest_into(&mut o);
        if !o.is_empty() {
            parts_rest.push(Value::Object(o));
        }
    }
    if !parts_rest.is_empty() {
        ev.unmapped()
            .insert("messageParts".into(), Value::Array(parts_rest));
    }
    // Scores (0-100) stay visible; the highest threat score is risk_score.
    let scores: Vec<(&str, Option<i64>)> =
        ["spamScore", "phishScore", "malwareScore", "impostorScore"]
            .iter()
            .map(|k| (*k, f.i64(k)))
            .collect();
    for (k, v) in &scores {
        if let Some(v) = v {
            ev.unmapped().insert((*k).into(), Value::from(*v));
        }
    }
    // Disposition from the list the record came from.
    let quarantine_folder = f.str("quarantineFolder");
    let quarantine_rule = f.str("quarantineRule");
    let blocked = match status.as_deref() {
        Some(s) => s.eq_ignore_ascii_case("blocked"),
        None => quarantine_folder.is_some(),
    };
    let disp = match (blocked, &quarantine_folder) {
        (true, Some(_)) => 3,
        (true, None) => 2,
        (false, _) => 1,
    };
    json::set_disposition(&mut ev, disp, None);
    ev.set_status(crate::ocsf::status::SUCCESS, None);
    ev.status_code = status;
    ev.status_detail = quarantine_folder;
    if let Some(rule) = quarantine_rule {
        ev.policy = Some(Box::new(Policy {
            name: Some(rule),
            type_: Some(Cow::Borrowed("quarantineRule")),
            is_applied: Some(true),
            ..Default::default()
        }));
    }
    let routes = f.strs("policyRoutes");
    let route_dir = if routes.iter().any(|r| r.contains("inbound")) {
        Some(Cow::Borrowed("Inbound"))
    } else if routes.iter().any(|r| r.contains("outbound")) {
        Some(Cow::Borrowed("Outbound"))
    } else {
        None
    };
    if !routes.is_empty() {
        ev.unmapped().insert(
            "policyRoutes".into(),
            routes.iter().map(|s| Value::from(s.as_ref())).collect(),
        );
    }
    // Threats.
    let mut threats = Vec::new();
    for t in f.array("threatsInfoMap") {
        if let Some(mut tf) = Fields::of(t) {
            threats.push(threat(&mut tf));
        }
    }
    let mut sev = crate::ocsf::severity::INFORMATIONAL;
    let mut risk = None;
    let mut threat_rest = Vec::new();
    for t in &threats {
        let class = t.classification.as_deref().unwrap_or("");
        sev = sev.max(json::threat_severity(class));
        let score = score_for(class, &scores);
        risk = risk.max(score);
        let kind = t.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        match (&t.threat, kind.as_str()) {
            (Some(th), "url") if !email.urls.iter().any(|u| u.url_string.as_ref() == Some(th)) => {
                email.urls.push(json::url(th.clone()))
            }
            _ => {}
        }
        if class.eq_ignore_ascii_case("malware") {
            let mut mw = json::malware(None, "Malware", PROVIDER);
            mw.uid = t.id.clone();
            if kind == "attachment" {
                if let Some(h) = &t.threat {
                    let matched: Vec<_> = email
                        .files
                        .iter()
                        .filter(|f| f.hashes.iter().any(|x| x.value.as_ref() == Some(h)))
                        .cloned()
                        .collect();
                    mw.files = matched;
                }
            }
            ev.malware.push(mw);
        }
        let mut o = t.rest.clone();
        if let Some(s) = &t.time {
            o.insert("threatTime".into(), Value::from(s.as_ref()));
        }
        if !o.is_empty() {
            threat_rest.push(Value::Object(o));
        }
    }
    if !threat_rest.is_empty() {
        ev.unmapped()
            .insert("threatsInfoMap".into(), Value::Array(threat_rest));
    }
    if !threats.is_empty() {
        ev.is_alert = Some(true);
        ev.set_severity(sev);
        ev.risk_score = risk.map(|r| r.clamp(0, i32::MAX as i64) as i32);
    }
    m.fill(&mut ev, email, route_dir, opts);
    events.push(ev);
    for t in threats {
        push_finding(events, t, &scores, &m, "email");
    }
}

fn push_finding<'a>(
    events: &mut Vec<Event<'a>>,
    t: Threat<'a>,
    scores: &[(&str, Option<i64>)],
    m: &Msg<'a>,
    what: &str,
) {
    let Some(src) = events.first() else { return };
    let class = t.classification.clone().unwrap_or(Cow::Borrowed("threat"));
    let kind = t.kind.as_deref().unwrap_or("").to_ascii_lowercase();
    let mut evidence = Evidences::default();
    if m.has_addr() {
        let mut e = m.email();
        e.files.clear();
        evidence.email = Some(Box::new(e));
    }
    match (&t.threat, kind.as_str()) {
        (Some(th), "attachment") => {
            let mut file = src
                .email
                .as_ref()
                .and_then(|e| {
                    e.files
                        .iter()
                        .find(|f| f.hashes.iter().any(|x| x.value.as_ref() == Some(th)))
                        .cloned()
                })
                .unwrap_or_else(|| json::attachment(Cow::Borrowed("unknown")));
            if file.hashes.is_empty() {
                file.hashes.push(json::hash("sha256", th.clone()));
            }
            evidence.file = Some(Box::new(file));
        }
        (Some(th), _) => evidence.url = Some(Box::new(json::url(th.clone()))),
        _ => {}
    }
    if evidence.email.is_none() && evidence.file.is_none() && evidence.url.is_none() {
        evidence.uid = m.uid.clone();
    }
    let uid =
        t.id.clone()
            .or_else(|| m.uid.clone())
            .unwrap_or(Cow::Borrowed("unknown"));
    let title = if kind.is_empty() {
        format!("{class} threat in {what}")
    } else {
        format!("{class} {kind} threat in {what}")
    };
    let mut f = json::finding(src, uid, title, vec![class.clone()], evidence);
    f.set_severity(json::threat_severity(&class));
    f.risk_score = score_for(&class, scores).map(|r| r.clamp(0, i32::MAX as i64) as i32);
    if !class.eq_ignore_ascii_case("malware") {
        f.malware.clear();
    } else {
        f.malware.retain(|mw| mw.uid == t.id);
    }
    if let Some(fi) = f.finding_info.as_mut() {
        fi.src_url = t.url;
        if let Some(ts) = t.time.as_deref().and_then(|s| json::parse_time(s, 0)) {
            fi.first_seen_time = Some(ts);
        }
    }
    if !t.rest.is_empty() {
        f.unmapped().extend(t.rest);
    }
    events.push(f);
}

fn click<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let ts = f.str("clickTime");
    let mut ev = base(&HTTP_ACTIVITY, 99, ts, f, opts, "click");
    json::set_other(&mut ev, "Click");
    json::add_profile(&mut ev, "host");
    let guid = f.str("GUID");
    if let Some(g) = &guid {
        ev.meta().correlation_uid = Some(g.clone());
    }
    let recipient = f.str("recipient");
    let user = recipient.map(|r| User {
        email_addr: json::addr(&r).map(|a| Cow::Owned(a.to_owned())),
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
        f.str("clickIP"),
    );
    let status = f.str("status");
    match status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("permitted") | Some("allowed") => json::set_disposition(&mut ev, 1, None),
        Some("blocked") => json::set_disposition(&mut ev, 2, None),
        _ => {}
    }
    ev.status_code = status;
    let mut m = Msg {
        uid: guid,
        message_uid: f.str("messageID"),
        ..Default::default()
    };
    let sender = f.str("sender");
    m.set_from_envelope(sender, ev.unmapped());
    if let Some(u) = user.as_ref().and_then(|u| u.email_addr.clone()) {
        m.to.push(u);
    }
    if let Some(ip) = f.str("senderIP") {
        ev.unmapped()
            .insert("senderIP".into(), Value::String(ip.into_owned()));
    }
    let campaign = f.str_any(&["campaignId", "campaignID"]);
    let mut t = threat(&mut Fields::default());
    t.id = f.str_any(&["threatID", "threatId"]);
    t.classification = f.str("classification");
    t.url = f.str_any(&["threatURL", "threatUrl"]);
    t.time = f.str("threatTime");
    t.kind = Some(Cow::Borrowed("url"));
    t.threat = url.as_ref().and_then(|u| u.url_string.clone());
    if let Some(c) = campaign {
        t.rest
            .insert("campaignId".into(), Value::String(c.into_owned()));
    }
    if let Some(s) = f.str("threatStatus") {
        t.rest
            .insert("threatStatus".into(), Value::String(s.into_owned()));
    }
    if let Some(class) = t.classification.as_deref() {
        ev.is_alert = Some(true);
        json::add_profile(&mut ev, "security_control");
        ev.set_severity(json::threat_severity(class));
        if class.eq_ignore_ascii_case("malware") {
            let mut mw = json::malware(None, "Malware", PROVIDER);
            mw.uid = t.id.clone();
            ev.malware.push(mw);
        }
    }
    // The message behind the click, for the finding's evidence.
    if m.from.is_none() && m.to.is_empty() {
        m.uid = m.uid.or(m.message_uid.clone());
    }
    events.push(ev);
    if t.classification.is_some() {
        let verb = match events[0].disposition_id {
            Some(1) => "permitted click on",
            Some(2) => "blocked click on",
            _ => "click on",
        };
        let mut f = {
            push_finding(events, t, &[], &m, "");
            events.pop()
        };
        if let Some(fe) = f.as_mut() {
            if let Some(fi) = fe.finding_info.as_mut() {
                let class = fi.types.first().cloned().unwrap_or_default();
                fi.title = Some(Cow::Owned(format!("{verb} {class} URL")));
            }
            if let Some(ev0) = events.first() {
                if let Some(e) = fe.evidences.first_mut() {
                    e.user = ev0.actor.as_ref().and_then(|a| a.user.clone());
                    e.src_endpoint = ev0.src_endpoint.clone();
                }
            }
        }
        events.extend(f);
    }
}
