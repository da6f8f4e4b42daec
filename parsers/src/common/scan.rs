//! Pieces shared by the line-based mail filter and mailbox sources
//! (Dovecot, rspamd, ClamAV, OpenDKIM, OpenDMARC): the per-line event
//! context, security-control attributes, malware entries and the Detection
//! Finding that a scanner's verdict on a message also becomes.

use std::borrow::Cow;

use crate::ocsf::{
    caption, ClassInfo, Email, Event, Evidences, FindingInfo, Fingerprint, Malware, Product,
    Reporter, Str, DETECTION_FINDING,
};
use crate::{Options, ParseError};

use super::fallback;

// Shared with the other mail sources: the security-control constants and
// the small event/unmapped helpers.
use super::mail::b;
pub use super::mail::{
    action, disposition, put, put_opt, security, set_direction, vendor, PROFILE_SECURITY,
};

/// What every event made from one line shares.
#[derive(Debug, Clone, Copy)]
pub struct LineCtx<'a> {
    /// Event time (the line's, else the reference time).
    pub time_ms: i64,
    /// Timestamp as written.
    pub original_time: Option<&'a str>,
    /// Syslog host, when the line has one.
    pub host: Option<&'a str>,
    /// The whole line (for `raw_data`).
    pub raw: &'a str,
    /// `metadata.product` name.
    pub product: &'static str,
    /// `metadata.product.vendor_name`.
    pub vendor: &'static str,
    /// `metadata.log_name`.
    pub log_name: &'static str,
    /// Decoder options.
    pub opts: &'a Options,
}

/// A new event of `class`/`activity` with metadata from the line. An
/// `activity` the class does not know becomes Other with `label`.
pub fn new_event<'a>(ctx: &LineCtx<'a>, class: &ClassInfo, activity: i32) -> Event<'a> {
    let mut ev = Event::new(class, activity, ctx.time_ms);
    let meta = ev.meta();
    meta.product = Some(Box::new(product(ctx.product, ctx.vendor)));
    meta.log_name = Some(b(ctx.log_name));
    meta.original_time = ctx.original_time.map(b);
    if let Some(h) = ctx.host {
        meta.reporter = Some(Box::new(Reporter {
            hostname: Some(b(h)),
            ..Default::default()
        }));
    }
    if ctx.opts.raw_data {
        ev.raw_data = Some(b(ctx.raw));
    }
    ev
}

/// A new event of `class` with activity 99 (Other) labelled `label`.
pub fn other_event<'a>(ctx: &LineCtx<'a>, class: &ClassInfo, label: &'static str) -> Event<'a> {
    let mut ev = new_event(ctx, class, 99);
    ev.set_other_activity(label);
    ev
}

/// `metadata.product`.
pub fn product(name: &'static str, vendor: &'static str) -> Product<'static> {
    Product {
        name: Some(Cow::Borrowed(name)),
        vendor_name: Some(Cow::Borrowed(vendor)),
        ..Default::default()
    }
}

/// The fallback event of an unrecognised line.
pub fn unparsed<'a>(
    record: &'a [u8],
    err: ParseError,
    ctx_product: (&'static str, &'static str),
    log_name: &'static str,
    time_ms: Option<i64>,
    opts: &Options,
) -> Event<'a> {
    fallback::unparsed(
        record,
        err,
        product(ctx_product.0, ctx_product.1),
        log_name,
        time_ms,
        opts,
    )
}

/// List `profile` in `metadata.profiles` (once).
pub fn add_profile(ev: &mut Event<'_>, profile: &'static str) {
    let meta = ev.meta();
    if !meta.profiles.iter().any(|p| p == profile) {
        meta.profiles.push(Cow::Borrowed(profile));
    }
}

/// A malware entry for a signature name. The classification comes from
/// words in the name (`Trojan`, `Worm`, ...); test signatures (EICAR,
/// GTUBE) and unknown names are Other with the word "Test File" or
/// "Malware".
pub fn malware<'a>(name: Str<'a>, provider: &'static str) -> Malware<'a> {
    const CLASSES: &[(&str, i32, &str)] = &[
        ("adware", 1, "Adware"),
        ("backdoor", 2, "Backdoor"),
        ("downloader", 6, "Downloader"),
        ("dropper", 7, "Dropper"),
        ("exploit", 8, "Exploit-Kit"),
        ("keylog", 9, "Keylogger"),
        ("ransom", 10, "Ransomware"),
        ("rootkit", 15, "Rootkit"),
        ("spyware", 17, "Spyware"),
        ("trojan", 18, "Trojan"),
        ("virus", 19, "Virus"),
        ("worm", 22, "Worm"),
    ];
    let lower = name.to_ascii_lowercase();
    let test = lower.contains("eicar") || lower.contains("test-signature");
    let hit = (!test)
        .then(|| {
            CLASSES.iter().find(|(w, _, _)| {
                lower
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|x| x.starts_with(w))
            })
        })
        .flatten();
    let (id, label): (i32, Str<'a>) = match hit {
        Some(&(_, id, label)) => (id, Cow::Borrowed(label)),
        None => (
            99,
            Cow::Borrowed(if test { "Test File" } else { "Malware" }),
        ),
    };
    Malware {
        classification_ids: vec![id],
        classifications: vec![label],
        name: Some(name),
        provider: Some(Cow::Borrowed(provider)),
        ..Default::default()
    }
}

/// An MD5 fingerprint.
pub fn md5(value: &str) -> Fingerprint<'_> {
    Fingerprint {
        algorithm_id: Some(1),
        algorithm: caption("fingerprint", "algorithm_id", 1).map(Cow::Borrowed),
        value: Some(b(value)),
        ..Default::default()
    }
}

/// A Detection Finding (2004, Create) for a scanner's verdict, sharing the
/// source event's metadata, time, severity and security-control attributes
/// (`action`, `disposition`, `malware[]`). `evidence` is what the verdict is
/// about; for a message it carries `email.message_uid`, the link to the
/// Email Activity of the same message.
pub fn finding<'a>(
    src: &Event<'a>,
    uid: String,
    title: String,
    types: Vec<Str<'a>>,
    evidence: Evidences<'a>,
) -> Event<'a> {
    let time = src.time.unwrap_or(0);
    let mut f = Event::new(&DETECTION_FINDING, 1, time);
    if let (Some(sm), fm) = (src.metadata.as_deref(), f.meta()) {
        fm.product = sm.product.clone();
        fm.log_name = sm.log_name.clone();
        fm.original_time = sm.original_time.clone();
        fm.reporter = sm.reporter.clone();
    }
    f.raw_data = src.raw_data.clone();
    if let Some(s) = src.severity_id {
        f.set_severity(s);
    }
    f.finding_info = Some(Box::new(FindingInfo {
        uid: Some(Cow::Owned(uid)),
        title: Some(Cow::Owned(title)),
        types,
        created_time: Some(time),
        ..Default::default()
    }));
    f.status_id = Some(1);
    f.status = caption("detection_finding", "status_id", 1).map(Cow::Borrowed);
    f.is_alert = Some(true);
    if let (Some(a), Some(d)) = (src.action_id, src.disposition_id) {
        security(&mut f, a, d);
    } else {
        add_profile(&mut f, PROFILE_SECURITY);
    }
    f.malware = src.malware.clone();
    f.evidences = vec![evidence];
    f
}

/// The evidence of a finding about a message: its addresses, Message-ID,
/// subject and attachments as the source event has them.
pub fn email_evidence<'a>(src: &Event<'a>) -> Evidences<'a> {
    let email = src.email.as_deref().map(|e| Email {
        from: e.from.clone(),
        to: e.to.clone(),
        message_uid: e.message_uid.clone(),
        uid: e.uid.clone(),
        subject: e.subject.clone(),
        files: e.files.clone(),
        ..Default::default()
    });
    Evidences {
        email: email.map(Box::new),
        src_endpoint: src.src_endpoint.clone(),
        ..Default::default()
    }
}

/// Strip one pair of angle brackets (`<a@b>` → `a@b`).
pub fn unbracket(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(s)
}

/// The address in a header value: `Name <a@b>` → `a@b`, `a@b` → `a@b`.
pub fn header_addr(s: &str) -> &str {
    let s = s.trim();
    match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malware_classes() {
        let m = malware(b("Eicar-Test-Signature.UNOFFICIAL"), "ClamAV");
        assert_eq!(m.classification_ids, vec![99]);
        assert_eq!(m.classifications[0], "Test File");
        let m = malware(b("Win.Trojan.Agent-123"), "ClamAV");
        assert_eq!(m.classification_ids, vec![18]);
        assert_eq!(m.classifications[0], "Trojan");
    }

    #[test]
    fn addresses() {
        assert_eq!(unbracket("<a@b.test>"), "a@b.test");
        assert_eq!(unbracket("<>"), "");
        assert_eq!(header_addr("Deals <p@d.test>"), "p@d.test");
        assert_eq!(header_addr("p@d.test"), "p@d.test");
    }
}
