//! Proofpoint on Demand (PPS) log API records: `message` (one per message:
//! connection, envelope, headers, filter verdicts and the final
//! disposition), `maillog` (the sendmail line, parsed), `msgParts` (one
//! MIME part) and `msgPartsUrl` (one URL of a part).
//!
//! A message is an Email Activity (Receive) with the filter's verdict as
//! security-control attributes, `email_auth` from the SPF/DKIM/DMARC
//! modules, and a Detection Finding when the spam module triggered a
//! classifier (phish, spam, malware, impostor, ...) or the AV module named
//! a virus. A maillog line is an Email Activity (Send for `to=` lines,
//! Receive for `from=` lines). Parts and part URLs carry no address (OCSF's
//! `email` needs one), so they are Web Resources Activity events joined by
//! the message `guid` in `metadata.correlation_uid`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::common::mailjson::{self as json, Fields, Msg, Val};
use crate::ocsf::{
    status, Email, EmailAuth, Event, Evidences, NetworkEndpoint, Policy, Product, WebResource,
    BASE_EVENT, EMAIL_ACTIVITY, WEB_RESOURCES_ACTIVITY,
};
use crate::{Decoder, Options, Outcome};

const LOG_NAME: &str = "proofpoint-pod";
const PROVIDER: &str = "Proofpoint on Demand";

fn product() -> Product<'static> {
    json::product("Proofpoint on Demand", "Proofpoint")
}

/// Decoder for `proofpoint-pod` records.
pub struct ProofpointPodDecoder {
    opts: Options,
}

impl ProofpointPodDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        ProofpointPodDecoder { opts }
    }
}

impl Decoder for ProofpointPodDecoder {
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
                let kind_s = match kind.as_deref() {
                    Some(k) => k,
                    None if f.has("filter") || f.has("envelope") => "message",
                    None if f.has("sm") => "maillog",
                    None if f.has("msgParts") => "msgParts",
                    None => "",
                };
                let mut events = Vec::with_capacity(2);
                match kind_s {
                    "message" => message(&mut f, opts, &mut events),
                    "maillog" => maillog(&mut f, opts, &mut events),
                    "msgParts" => part(&mut f, opts, &mut events),
                    "msgPartsUrl" => part_url(&mut f, opts, &mut events),
                    _ => {
                        let time = f
                            .peek_str("ts")
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
    f: &mut Fields<'a>,
    opts: &Options,
    code: &'static str,
) -> Event<'a> {
    let ts = f.str("ts");
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
    ev
}

/// Put what is left of a nested object under `unmapped[key]`.
fn keep_rest(un: &mut Map<String, Value>, key: &str, f: &Fields<'_>) {
    let mut o = Map::new();
    f.rest_into(&mut o);
    if !o.is_empty() {
        un.insert(key.into(), Value::Object(o));
    }
}

/// `metadata.origin.data.cid` (message) / `pps.cid` (maillog) is the
/// customer id: `metadata.tenant_uid`. The rest stays under unmapped.
fn origin<'a>(f: &mut Fields<'a>, ev: &mut Event<'a>) {
    if let Some(Value::Object(mut md)) = f.object("metadata") {
        let cid = md
            .get_mut("origin")
            .and_then(|o| o.get_mut("data"))
            .and_then(Value::as_object_mut)
            .and_then(|d| d.remove("cid"));
        if let Some(Value::String(cid)) = cid {
            ev.meta().tenant_uid = Some(Cow::Owned(cid));
        }
        if let Some(v) = json::strip_nulls(Value::Object(md)) {
            ev.unmapped().insert("metadata".into(), v);
        }
    }
    if let Some(mut pps) = f.fields("pps") {
        if let Some(cid) = pps.str("cid") {
            ev.meta().tenant_uid = Some(cid);
        }
        keep_rest(ev.unmapped(), "pps", &pps);
    }
}

/// The first string of a header list (`["value"]`), or the value itself.
fn first<'a>(f: &mut Fields<'a>, key: &str) -> Option<Cow<'a, str>> {
    f.strs(key).into_iter().next()
}

/// "<id@host>" → "id@host".
fn strip_angle(s: Cow<'_, str>) -> Cow<'_, str> {
    let t = s.trim();
    if t.starts_with('<') && t.ends_with('>') && t.len() >= 2 {
        match s {
            Cow::Borrowed(b) => Cow::Borrowed(&b.trim()[1..b.trim().len() - 1]),
            Cow::Owned(o) => Cow::Owned(o.trim()[1..o.trim().len() - 1].to_owned()),
        }
    } else {
        s
    }
}

/// A part's file: name, MIME type, size and hashes.
fn part_file<'a>(p: &mut Fields<'a>) -> crate::ocsf::File<'a> {
    let name = p
        .str("detectedName")
        .or_else(|| p.str("labeledName"))
        .unwrap_or(Cow::Borrowed("unknown"));
    let mut file = json::attachment(name);
    file.mime_type = p.str("detectedMime");
    if p.peek_str("labeledMime") == file.mime_type {
        p.skip(&["labeledMime"]);
    }
    if p.peek_str("labeledName").as_deref() == file.name.as_deref() {
        p.skip(&["labeledName"]);
    }
    file.size = p.i64("sizeDecodedBytes");
    for alg in ["sha256", "md5"] {
        if let Some(h) = p.str(alg) {
            file.hashes.push(json::hash(alg, h));
        }
    }
    file
}

/// The URLs of a part (`urls[].url`); other members stay in `rest`.
fn part_urls<'a>(p: &mut Fields<'a>, rest: &mut Vec<Value>) -> Vec<Cow<'a, str>> {
    let mut urls = Vec::new();
    for u in p.array("urls") {
        let Some(mut uf) = Fields::of(u) else {
            continue;
        };
        if let Some(s) = uf.str("url") {
            if !urls.contains(&s) {
                urls.push(s);
            }
        }
        uf.skip(&["src"]);
        let mut o = Map::new();
        uf.rest_into(&mut o);
        if !o.is_empty() {
            rest.push(Value::Object(o));
        }
    }
    urls
}

/// A threat the filter reported: classifier / module and its score.
struct Threat {
    kind: String,
    module: &'static str,
    score: Option<i64>,
    names: Vec<String>,
}

fn message<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let mut ev = base(&EMAIL_ACTIVITY, 2, f, opts, "message");
    origin(f, &mut ev);
    let mut m = Msg {
        uid: f.str("guid"),
        ..Default::default()
    };
    // Connection: the sending host.
    if let Some(mut c) = f.fields("connection") {
        let ip = c.str("ip").filter(|ip| json::is_ip(ip));
        let host = c.str("host").filter(|h| !h.eq_ignore_ascii_case("unknown"));
        if ip.is_some() || host.is_some() {
            ev.src_endpoint = Some(Box::new(NetworkEndpoint {
                ip,
                hostname: host,
                ..Default::default()
            }));
        }
        keep_rest(ev.unmapped(), "connection", &c);
    }
    // Envelope: MAIL FROM and RCPT TO (the targets, blocked or not).
    if let Some(mut e) = f.fields("envelope") {
        let from = e.str("from");
        m.set_from_envelope(from, ev.unmapped());
        let rcpts = e.strs("rcpts");
        m.add_to(rcpts, "envelope.rcpts", ev.unmapped());
        keep_rest(ev.unmapped(), "envelope", &e);
    }
    // Message: parsed addresses, normalised headers, size.
    let mut reply_to = Vec::new();
    if let Some(mut msg) = f.fields("msg") {
        let mut un = Map::new();
        if let Some(mut pa) = msg.fields("parsedAddresses") {
            let from = first(&mut pa, "from");
            m.set_from(from, "msg.parsedAddresses.from", &mut un);
            let to = pa.strs("to");
            m.add_to(to, "msg.parsedAddresses.to", &mut un);
            for c in pa.strs("cc") {
                if let Some(a) = json::addr_cow(c) {
                    m.cc.push(a);
                }
            }
            reply_to = pa.strs("reply-to");
            keep_rest(&mut un, "parsedAddresses", &pa);
        }
        let mut header_mid = None;
        let mut header_subject = None;
        if let Some(mut h) = msg.fields("header") {
            header_mid = first(&mut h, "message-id");
            header_subject = first(&mut h, "subject");
            h.skip(&["from", "to", "cc", "reply-to", "return-path"]);
            keep_rest(&mut un, "header", &h);
        }
        if let Some(mut h) = msg.fields("normalizedHeader") {
            m.message_uid = first(&mut h, "message-id").map(strip_angle);
            m.subject = first(&mut h, "subject");
            h.skip(&["from", "to", "cc", "reply-to", "return-path"]);
            keep_rest(&mut un, "normalizedHeader", &h);
        }
        m.message_uid = m.message_uid.or(header_mid.map(strip_angle));
        match (&m.subject, header_subject) {
            (None, s) => m.subject = s,
            (Some(a), Some(b)) if *a != b => {
                un.insert("header_subject".into(), Value::String(b.into_owned()));
            }
            _ => {}
        }
        m.size = msg.i64("sizeBytes");
        msg.rest_into(&mut un);
        if !un.is_empty() {
            ev.unmapped().insert("msg".into(), Value::Object(un));
        }
    }
    let mut email = m.email();
    for r in reply_to {
        if let Some(a) = json::addr_cow(r) {
            email.reply_to_list.push(a);
        }
    }
    // Parts (when the message record carries them): attachments and URLs.
    let mut parts_rest = Vec::new();
    for p in f.array("msgParts") {
        let Some(mut pf) = Fields::of(p) else {
            continue;
        };
        let mut url_rest = Vec::new();
        for u in part_urls(&mut pf, &mut url_rest) {
            if !email.urls.iter().any(|x| x.url_string.as_ref() == Some(&u)) {
                email.urls.push(json::url(u));
            }
        }
        if pf.peek_str("disposition").as_deref() == Some("attached") {
            pf.skip(&["disposition"]);
            email.files.push(part_file(&mut pf));
        }
        pf.skip(&["dataBase64", "textExtracted"]);
        let mut o = Map::new();
        pf.rest_into(&mut o);
        if !url_rest.is_empty() {
            o.insert("urls".into(), Value::Array(url_rest));
        }
        if !o.is_empty() {
            parts_rest.push(Value::Object(o));
        }
    }
    if !parts_rest.is_empty() {
        ev.unmapped()
            .insert("msgParts".into(), Value::Array(parts_rest));
    }
    let mut direction = None;
    let mut threats = Vec::new();
    if let Some(mut flt) = f.fields("filter") {
        filter(&mut flt, &mut ev, &mut email, &mut threats);
        direction = flt.str("routeDirection");
        if m.size.is_none() {
            email.size = flt.i64("msgSizeBytes");
        }
        let mut un = Map::new();
        flt.rest_into(&mut un);
        if !un.is_empty() {
            ev.unmapped().insert("filter".into(), Value::Object(un));
        }
    }
    if !m.has_addr() {
        events.push(without_email(ev, email));
        return;
    }
    m.fill(&mut ev, email, direction, opts);
    events.push(ev);
    for t in threats {
        push_finding(events, t, &m);
    }
}

/// The filter: disposition, quarantine, final action, modules.
fn filter<'a>(
    flt: &mut Fields<'a>,
    ev: &mut Event<'a>,
    email: &mut Email<'a>,
    threats: &mut Vec<Threat>,
) {
    let disposition = flt.str("disposition");
    let mut quarantine_folder = None;
    if let Some(mut q) = flt.fields("quarantine") {
        quarantine_folder = q.str("folder");
        let rule = q.str("rule");
        let module = q.str("module");
        q.skip(&["type"]);
        ev.policy = Some(Box::new(Policy {
            name: rule,
            uid: q.str("folderId"),
            type_: Some(Cow::Owned(match module {
                Some(md) => format!("quarantine ({md} module)"),
                None => "quarantine".to_owned(),
            })),
            is_applied: Some(true),
            ..Default::default()
        }));
        keep_rest(ev.unmapped(), "filter.quarantine", &q);
    }
    // The final action names the rule that decided; the list stays under
    // unmapped (it is the filter's trace).
    if ev.policy.is_none() {
        if let Some(Val::Json(raw)) = flt.peek("actions") {
            for a in json::raw_array(raw) {
                let Some(mut af) = Fields::of(a) else {
                    continue;
                };
                if af.bool("isFinal") == Some(true) {
                    let module = af.str("module");
                    ev.policy = Some(Box::new(Policy {
                        name: af.str("rule").map(|s| Cow::Owned(s.into_owned())),
                        type_: module.map(|md| Cow::Owned(format!("{md} module rule"))),
                        is_applied: Some(true),
                        ..Default::default()
                    }));
                }
            }
        }
    }
    if let Some(d) = disposition {
        let (id, st) = match d.to_ascii_lowercase().as_str() {
            "continue" | "accept" | "deliver" => (1, status::SUCCESS),
            "discard" if quarantine_folder.is_some() => (3, status::SUCCESS),
            "discard" => (6, status::SUCCESS),
            "reject" => (2, status::SUCCESS),
            "retry" | "tempfail" | "defer" => (14, status::FAILURE),
            _ => (99, status::OTHER),
        };
        json::set_disposition(ev, id, Some(d.clone()));
        ev.set_status(st, None);
        ev.status_code = Some(d);
    } else if ev.policy.is_some() {
        json::add_profile(ev, "security_control");
    }
    ev.status_detail = quarantine_folder;
    if let Some(s) = flt.f64("durationSecs") {
        ev.duration = Some((s * 1000.0).round() as i64);
    }
    if let Some(Value::Object(mut mods)) = flt.object("modules") {
        modules(&mut mods, ev, email, threats);
        if !mods.is_empty() {
            ev.unmapped()
                .insert("filter.modules".into(), Value::Object(mods));
        }
    }
    if !threats.is_empty() {
        ev.is_alert = Some(true);
        let sev = threats
            .iter()
            .map(|t| json::threat_severity(&t.kind))
            .max()
            .unwrap_or(crate::ocsf::severity::INFORMATIONAL);
        ev.set_severity(sev);
    }
}

fn take_str(o: &mut Map<String, Value>, k: &str) -> Option<String> {
    match o.remove(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::String(_)) | None => None,
        Some(other) => {
            o.insert(k.to_owned(), other);
            None
        }
    }
}

/// The filter modules: SPF/DKIM/DMARC results, spam classifiers, AV.
/// What is mapped is removed from `mods`.
fn modules<'a>(
    mods: &mut Map<String, Value>,
    ev: &mut Event<'a>,
    email: &mut Email<'a>,
    threats: &mut Vec<Threat>,
) {
    let mut auth = EmailAuth::default();
    if let Some(Value::Object(spf)) = mods.get_mut("spf") {
        auth.spf = take_str(spf, "result").map(Cow::Owned);
        if spf.is_empty() {
            mods.remove("spf");
        }
    }
    // dkimv: one entry per signature; the first pass wins, else the first.
    if let Some(Value::Array(sigs)) = mods.get_mut("dkimv") {
        let pick = sigs
            .iter()
            .position(|s| s.get("result").and_then(Value::as_str) == Some("pass"))
            .or(if sigs.is_empty() { None } else { Some(0) });
        if let Some(Value::Object(sig)) = pick.and_then(|i| sigs.get_mut(i)) {
            auth.dkim = take_str(sig, "result").map(Cow::Owned);
            auth.dkim_domain = take_str(sig, "domain").map(Cow::Owned);
        }
    }
    if let Some(Value::Object(dm)) = mods.get_mut("dmarc") {
        // The vendor's key is spelt "filterdResult".
        auth.dmarc = take_str(dm, "filterdResult")
            .or_else(|| take_str(dm, "filteredResult"))
            .map(Cow::Owned);
        if auth.dmarc.is_none() {
            auth.dmarc = dm
                .get("authResults")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|r| r.get("method").and_then(Value::as_str) == Some("dmarc"))
                })
                .and_then(|r| r.get("result"))
                .and_then(Value::as_str)
                .map(|s| Cow::Owned(s.to_owned()));
        }
        if let Some(p) = dm
            .get("records")
            .and_then(Value::as_array)
            .and_then(|r| r.iter().find_map(|x| x.get("policy")))
            .and_then(Value::as_str)
        {
            auth.dmarc_policy = Some(Cow::Owned(p.to_owned()));
        }
    }
    if auth.spf.is_some() || auth.dkim.is_some() || auth.dmarc.is_some() {
        ev.email_auth = Some(Box::new(auth));
    }
    // Spam module: overall score and the classifier that fired.
    if let Some(Value::Object(spam)) = mods.get_mut("spam") {
        let scores = spam.get("scores");
        let overall = scores
            .and_then(|s| s.get("overall"))
            .and_then(Value::as_i64);
        if let Some(o) = overall {
            ev.risk_score = Some(o.clamp(0, i32::MAX as i64) as i32);
        }
        if let Some(kind) = take_str(spam, "triggeredClassifier") {
            let lk = kind.to_ascii_lowercase();
            if !matches!(lk.as_str(), "" | "none" | "notspam" | "clean") {
                let score = spam
                    .get("scores")
                    .and_then(|s| s.get("classifiers"))
                    .and_then(|c| c.get(&kind))
                    .and_then(Value::as_i64);
                threats.push(Threat {
                    kind: lk,
                    module: "spam",
                    score,
                    names: Vec::new(),
                });
            }
            // Kept beside the scores for reading.
            spam.insert("triggeredClassifier".into(), Value::String(kind));
        }
    }
    // AV module: virus names.
    if let Some(Value::Object(av)) = mods.get_mut("av") {
        let names: Vec<String> = match av.remove("virusNames") {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s],
            _ => Vec::new(),
        };
        if !names.is_empty() {
            for n in &names {
                let mut mw = json::malware(Some(Cow::Owned(n.clone())), "Virus", PROVIDER);
                mw.files = email.files.clone();
                ev.malware.push(mw);
            }
            threats.push(Threat {
                kind: "malware".into(),
                module: "av",
                score: None,
                names,
            });
        }
        if av.is_empty() {
            mods.remove("av");
        }
    }
}

fn push_finding<'a>(events: &mut Vec<Event<'a>>, t: Threat, m: &Msg<'a>) {
    let Some(src) = events.first() else { return };
    let uid = match &m.uid {
        Some(g) => format!("{g}:{}:{}", t.module, t.kind),
        None => format!("{}:{}", t.module, t.kind),
    };
    let mut e = m.email();
    if let Some(se) = src.email.as_deref() {
        e.urls = se.urls.clone();
        e.files = se.files.clone();
    }
    let evidence = Evidences {
        email: Some(Box::new(e)),
        ..Default::default()
    };
    let title = format!("{} verdict on email ({} module)", t.kind, t.module);
    let mut f = json::finding(
        src,
        Cow::Owned(uid),
        title,
        vec![Cow::Owned(t.kind.clone())],
        evidence,
    );
    f.set_severity(json::threat_severity(&t.kind));
    f.risk_score = t.score.map(|s| s.clamp(0, i32::MAX as i64) as i32);
    if t.kind != "malware" {
        f.malware.clear();
    }
    if !t.names.is_empty() {
        f.message = Some(Cow::Owned(t.names.join(", ")));
    }
    events.push(f);
}

/// A record whose message has no address: OCSF's `email` needs one, so
/// the event becomes a Base Event (activity Other, the record type) with
/// the message under `unmapped.email`; the verdict stays structured.
fn without_email<'a>(ev: Event<'a>, email: Email<'a>) -> Event<'a> {
    let mut b = Event::new(&BASE_EVENT, 99, ev.time.unwrap_or(0));
    let code = ev
        .metadata
        .as_ref()
        .and_then(|m| m.event_code.clone())
        .unwrap_or(Cow::Borrowed("message"));
    json::set_other(&mut b, &code);
    b.metadata = ev.metadata;
    b.message = ev.message;
    b.status_id = ev.status_id;
    b.status = ev.status;
    b.status_code = ev.status_code;
    b.status_detail = ev.status_detail;
    b.severity_id = ev.severity_id;
    b.severity = ev.severity;
    b.disposition_id = ev.disposition_id;
    b.disposition = ev.disposition;
    b.action_id = ev.action_id;
    b.action = ev.action;
    b.policy = ev.policy;
    b.malware = ev.malware;
    b.risk_score = ev.risk_score;
    b.is_alert = ev.is_alert;
    b.duration = ev.duration;
    b.unmapped = ev.unmapped;
    if let Ok(v) = serde_json::to_value(&email) {
        if let Some(v) =
            json::strip_nulls(v).filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        {
            b.unmapped().insert("email".into(), v);
        }
    }
    if let Some(s) = ev.src_endpoint {
        if let Ok(v) = serde_json::to_value(&s) {
            b.unmapped().insert("src_endpoint".into(), v);
        }
    }
    b
}

/// A sendmail log line (`sm`): `to=` lines are deliveries (Send), `from=`
/// lines receptions (Receive).
fn maillog<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let mut ev = base(&EMAIL_ACTIVITY, 99, f, opts, "maillog");
    origin(f, &mut ev);
    ev.message = f.str("data");
    let mut m = Msg::default();
    if let Some(mut sm) = f.fields("sm") {
        let un = ev.unmapped();
        let from = sm.str("from");
        let to = sm.strs("to");
        let activity = if !to.is_empty() {
            1
        } else if from.is_some() {
            2
        } else {
            99
        };
        m.set_from_envelope(from, un);
        m.from = m.return_path.clone();
        m.add_to(to, "sm.to", un);
        // ctladdr: the local user on whose behalf sendmail delivered (to a
        // file or program); the only address when `to` is not one.
        if let Some(c) = sm.peek_str("ctladdr") {
            if !m.has_addr() {
                if let Some(a) = json::addr_cow(c) {
                    m.to.push(a);
                    sm.skip(&["ctladdr"]);
                }
            }
        }
        m.message_uid = sm.str("msgid").map(strip_angle);
        m.size = sm.i64("size");
        if let Some(relay) = sm.str("relay") {
            ev.dst_endpoint = Some(Box::new(relay_endpoint(relay)));
        }
        let stat = sm.str("stat");
        if let Some(s) = &stat {
            let l = s.to_ascii_lowercase();
            let st = if l.starts_with("sent") {
                status::SUCCESS
            } else if l.starts_with("deferred") || l.contains("user unknown") || l.contains("error")
            {
                status::FAILURE
            } else {
                status::OTHER
            };
            ev.set_status(st, None);
        }
        ev.status_detail = stat;
        ev.status_code = sm.str("dsn");
        keep_rest(ev.unmapped(), "sm", &sm);
        if activity == 99 {
            json::set_other(&mut ev, "maillog");
        } else {
            ev.activity_id = Some(activity);
            let label = if activity == 1 { "Send" } else { "Receive" };
            ev.activity_name = Some(Cow::Borrowed(label));
            ev.type_uid = Some(400900 + activity as i64);
            ev.type_name = Some(Cow::Owned(format!("Email Activity: {label}")));
        }
    } else {
        json::set_other(&mut ev, "maillog");
    }
    if !m.has_addr() {
        events.push(without_email(ev, m.email()));
        return;
    }
    let email = m.email();
    m.fill(&mut ev, email, None, opts);
    events.push(ev);
}

/// sendmail's `relay=host [ip]`, `relay=[ip]` or `relay=host`.
fn relay_endpoint(relay: Cow<'_, str>) -> NetworkEndpoint<'_> {
    let s = relay.trim();
    let (host, ip) = match (s.find('['), s.rfind(']')) {
        (Some(i), Some(j)) if i < j => (s[..i].trim(), Some(&s[i + 1..j])),
        _ => (s, None),
    };
    let host = host.trim_end_matches('.');
    NetworkEndpoint {
        hostname: (!host.is_empty()).then(|| Cow::Owned(host.to_owned())),
        ip: ip
            .filter(|ip| json::is_ip(ip))
            .map(|ip| Cow::Owned(ip.to_owned())),
        ..Default::default()
    }
}

/// A message part: the part (name, type, hashes) and its URLs, as a Web
/// Resources Activity joined to the message by `guid`.
fn part<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let mut ev = base(&WEB_RESOURCES_ACTIVITY, 99, f, opts, "msgParts");
    json::set_other(&mut ev, "Email message part");
    origin(f, &mut ev);
    let guid = f.str("guid");
    if let Some(g) = &guid {
        ev.meta().correlation_uid = Some(g.clone());
    }
    ev.meta().uid = f.str("uuid");
    disposition(f, &mut ev);
    let mut part_res = WebResource {
        uid: guid.clone(),
        type_: Some(Cow::Borrowed("Email message part")),
        ..Default::default()
    };
    let mut url_res = Vec::new();
    if let Some(mut p) = f.fields("msgParts") {
        let mut url_rest = Vec::new();
        for u in part_urls(&mut p, &mut url_rest) {
            url_res.push(WebResource {
                url_string: Some(u),
                type_: Some(Cow::Borrowed("URL in message part")),
                uid: guid.clone(),
                ..Default::default()
            });
        }
        let disp = p.str("disposition");
        let file = part_file(&mut p);
        part_res.name = file.name.clone();
        if let Some(d) = &disp {
            part_res.type_ = Some(Cow::Owned(format!("Email message part ({d})")));
        }
        // The part's type, size and hashes as the resource's data.
        let mut data = Map::new();
        if let Some(mt) = &file.mime_type {
            data.insert("mime_type".into(), Value::from(mt.as_ref()));
        }
        if let Some(s) = file.size {
            data.insert("size".into(), Value::from(s));
        }
        for h in &file.hashes {
            let alg = if h.algorithm_id == Some(3) {
                "sha256"
            } else {
                "md5"
            };
            if let Some(v) = &h.value {
                data.insert(alg.into(), Value::from(v.as_ref()));
            }
        }
        if !data.is_empty() {
            part_res.data = Some(Value::Object(data).into());
        }
        p.skip(&["dataBase64", "textExtracted"]);
        let mut o = Map::new();
        p.rest_into(&mut o);
        if !url_rest.is_empty() {
            o.insert("urls".into(), Value::Array(url_rest));
        }
        if !o.is_empty() {
            ev.unmapped().insert("msgParts".into(), Value::Object(o));
        }
    }
    ev.web_resources.push(part_res);
    ev.web_resources.extend(url_res);
    events.push(ev);
}

/// One URL of a message part.
fn part_url<'a>(f: &mut Fields<'a>, opts: &Options, events: &mut Vec<Event<'a>>) {
    let mut ev = base(&WEB_RESOURCES_ACTIVITY, 99, f, opts, "msgPartsUrl");
    json::set_other(&mut ev, "Email URL");
    origin(f, &mut ev);
    let guid = f.str("guid");
    if let Some(g) = &guid {
        ev.meta().correlation_uid = Some(g.clone());
    }
    ev.meta().uid = f.str("uuid");
    disposition(f, &mut ev);
    let part = f.str("part_uuid");
    ev.web_resources.push(WebResource {
        url_string: f.str("url"),
        type_: Some(Cow::Borrowed("URL in message part")),
        uid: guid,
        uid_alt: part,
        ..Default::default()
    });
    events.push(ev);
}

/// The filter disposition of a part or URL record.
fn disposition<'a>(f: &mut Fields<'a>, ev: &mut Event<'a>) {
    ev.set_status(status::SUCCESS, None);
    if let Some(d) = f.str("disposition") {
        let id = match d.to_ascii_lowercase().as_str() {
            "continue" | "accept" => 1,
            "discard" => 6,
            "reject" => 2,
            _ => 99,
        };
        json::set_disposition(ev, id, Some(d.clone()));
        ev.status_code = Some(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rec: &str) -> Vec<Value> {
        let mut d = ProofpointPodDecoder::new(Options::default());
        let mut out = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            out.push(serde_json::to_value(e).unwrap())
        });
        assert!(o.is_parsed() || out.len() == 1);
        out
    }

    #[test]
    fn relay() {
        let e = relay_endpoint(Cow::Borrowed("mx.example.com. [192.0.2.7]"));
        assert_eq!(e.hostname.as_deref(), Some("mx.example.com"));
        assert_eq!(e.ip.as_deref(), Some("192.0.2.7"));
        let e = relay_endpoint(Cow::Borrowed("[x]"));
        assert_eq!(e.ip, None);
    }

    #[test]
    fn phish_message_and_finding() {
        let rec = r#"{"type":"message","guid":"g1","ts":"2024-01-02T03:04:05.000000-0700","envelope":{"from":"a@evil.test","rcpts":["v@example.com"]},"msg":{"parsedAddresses":{"from":["a@evil.test"]},"normalizedHeader":{"message-id":["<m@evil.test>"],"subject":["hi"]}},"filter":{"disposition":"discard","routeDirection":"inbound","quarantine":{"folder":"Phish","rule":"phish","module":"spam"},"modules":{"spf":{"result":"fail"},"dmarc":{"filterdResult":"reject"},"spam":{"triggeredClassifier":"phish","scores":{"overall":100,"classifiers":{"phish":99}}}}}}"#;
        let out = run(rec);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["disposition_id"], 3);
        assert_eq!(out[0]["email"]["to"][0], "v@example.com");
        assert_eq!(out[0]["email"]["message_uid"], "m@evil.test");
        assert_eq!(out[0]["email_auth"]["spf"], "fail");
        assert_eq!(out[0]["direction_id"], 1);
        assert_eq!(out[1]["class_uid"], 2004);
        assert_eq!(out[1]["risk_score"], 99);
    }

    #[test]
    fn garbage() {
        for r in ["", "{", "[]", "\"x\"", "{\"type\":5}", "{\"type\":\"x\"}"] {
            let _ = run(r);
        }
        let out = run(r#"{"type":"message","filter":{"modules":[]},"msg":5}"#);
        assert_eq!(out[0]["class_uid"], 0);
    }
}
