//! Lines of the content and policy filters that log beside Postfix:
//! amavis, OpenDKIM, OpenDMARC, policyd-spf, postgrey and SpamAssassin's
//! spamd. Each parser borrows from the line; `None` means "not this filter's
//! line shape".

use crate::common::addr::{parse_endpoint, Endpoint};
use crate::common::kv::{kv_iter, Sep};

use super::parse::is_queue_id;

/// The filters recognised, by syslog program name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// amavisd-new (`amavis`, `amavisd`, `amavisd-new`).
    Amavis,
    /// OpenDKIM.
    OpenDkim,
    /// OpenDMARC.
    OpenDmarc,
    /// `policyd-spf` (python) / `policy-spf`.
    PolicydSpf,
    /// postgrey.
    Postgrey,
    /// SpamAssassin `spamd`.
    Spamd,
}

impl FilterKind {
    /// The filter a syslog program name belongs to.
    pub fn from_program(app: &str) -> Option<FilterKind> {
        let base = app.rsplit('/').next().unwrap_or(app);
        Some(match base {
            "amavis" | "amavisd" | "amavisd-new" => FilterKind::Amavis,
            "opendkim" => FilterKind::OpenDkim,
            "opendmarc" => FilterKind::OpenDmarc,
            "policyd-spf" | "policy-spf" | "postfix-policyd-spf-perl" => FilterKind::PolicydSpf,
            "postgrey" => FilterKind::Postgrey,
            "spamd" => FilterKind::Spamd,
            _ => return None,
        })
    }

    /// `metadata.product.name`.
    pub fn product(self) -> &'static str {
        match self {
            FilterKind::Amavis => "amavis",
            FilterKind::OpenDkim => "OpenDKIM",
            FilterKind::OpenDmarc => "OpenDMARC",
            FilterKind::PolicydSpf => "policyd-spf",
            FilterKind::Postgrey => "postgrey",
            FilterKind::Spamd => "SpamAssassin spamd",
        }
    }

    /// `metadata.product.vendor_name`.
    pub fn vendor(self) -> &'static str {
        match self {
            FilterKind::Amavis => "amavis",
            FilterKind::OpenDkim | FilterKind::OpenDmarc => "The Trusted Domain Project",
            FilterKind::PolicydSpf => "Scott Kitterman",
            FilterKind::Postgrey => "David Schweikert",
            FilterKind::Spamd => "Apache Software Foundation",
        }
    }
}

/// One recognised filter line.
// Variant fields are named after the log fields and described in each
// variant's doc, which shows the line they come from.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum FilterMsg<'a> {
    /// amavis `(id) Passed CLEAN {RelayedInbound}, ... <from> -> <to>,<to>, Message-ID: <x>, ...`.
    AmavisVerdict(AmavisVerdict<'a>),
    /// OpenDKIM per-message line: `QID: text`.
    Dkim {
        qid: &'a str,
        result: Option<&'a str>,
        domain: Option<&'a str>,
        text: &'a str,
    },
    /// OpenDMARC per-message line: `QID: domain result`.
    Dmarc {
        qid: &'a str,
        domain: &'a str,
        result: &'a str,
    },
    /// policyd-spf result.
    Spf(Spf<'a>),
    /// postgrey `action=greylist, reason=new, client_name=..., client_address=..., sender=..., recipient=...`.
    Postgrey(Postgrey<'a>),
    /// spamd `result: . -1 - TESTS scantime=...,size=...,mid=<...>`.
    SpamdResult {
        flag: &'a str,
        score: &'a str,
        tests: &'a str,
        info: &'a str,
    },
    /// Any other line of a known filter: start-up, per-connection chatter.
    Other { text: &'a str },
}

/// An amavis verdict line.
#[derive(Debug, Clone, PartialEq)]
pub struct AmavisVerdict<'a> {
    /// `Passed` / `Blocked`.
    pub verdict: &'a str,
    /// `CLEAN`, `SPAM`, `INFECTED`, `BANNED`, ...
    pub content: &'a str,
    /// `RelayedInbound`, `Discarded...`.
    pub policy: Option<&'a str>,
    /// Client IP of the first `[ip]`.
    pub client_ip: Option<&'a str>,
    /// Envelope sender (inner text).
    pub from: &'a str,
    /// Envelope recipients (inner text, comma list as written).
    pub to: &'a str,
    /// `Message-ID:`.
    pub message_id: Option<&'a str>,
    /// `Queue-ID:`.
    pub queue_id: Option<&'a str>,
    /// `queued_as:`.
    pub queued_as: Option<&'a str>,
    /// `Hits:`.
    pub hits: Option<&'a str>,
    /// `size:`.
    pub size: Option<i64>,
}

/// A policyd-spf result.
#[derive(Debug, Clone, PartialEq)]
pub struct Spf<'a> {
    /// `Pass`, `Fail`, `Softfail`, `Neutral`, `None`, `Permerror`, `Temperror`.
    pub result: &'a str,
    /// `prepend` (header added) or `reject` (`550 5.7.23 ...`).
    pub action: &'a str,
    /// `identity=`.
    pub identity: Option<&'a str>,
    /// `client-ip=`.
    pub client_ip: Option<&'a str>,
    /// `helo=`.
    pub helo: Option<&'a str>,
    /// `envelope-from=`.
    pub envelope_from: Option<&'a str>,
    /// `receiver=`.
    pub receiver: Option<&'a str>,
    /// The whole text (for the reject form).
    pub text: &'a str,
}

/// A postgrey decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Postgrey<'a> {
    /// `greylist`, `pass`.
    pub action: &'a str,
    /// `new`, `triplet found`, `client AWL`, ...
    pub reason: Option<&'a str>,
    /// `client_name=`.
    pub client_name: Option<&'a str>,
    /// `client_address=` without `/32`.
    pub client_address: Option<&'a str>,
    /// `sender=`.
    pub sender: Option<&'a str>,
    /// `recipient=`.
    pub recipient: Option<&'a str>,
    /// `delay=` seconds.
    pub delay: Option<&'a str>,
}

/// Parse a line of filter `kind`; when `kind` is `None` (a bare message),
/// try the shapes that are unambiguous on their own.
pub fn parse_filter(kind: Option<FilterKind>, msg: &str) -> Option<(FilterKind, FilterMsg<'_>)> {
    match kind {
        Some(k) => parse_kind(k, msg).map(|m| (k, m)),
        None => {
            for k in [
                FilterKind::Postgrey,
                FilterKind::PolicydSpf,
                FilterKind::Spamd,
                FilterKind::Amavis,
            ] {
                if let Some(m) = bare_kind(k, msg) {
                    return Some((k, m));
                }
            }
            None
        }
    }
}

/// Shapes recognisable without a program name.
fn bare_kind(k: FilterKind, msg: &str) -> Option<FilterMsg<'_>> {
    match k {
        FilterKind::Postgrey => postgrey(msg).or_else(|| postgrey_other(msg)),
        FilterKind::PolicydSpf => spf(msg),
        FilterKind::Spamd => {
            let m = msg.strip_prefix("spamd: ")?;
            Some(spamd(m).unwrap_or(FilterMsg::Other { text: msg }))
        }
        FilterKind::Amavis => amavis(msg),
        _ => None,
    }
}

fn parse_kind(k: FilterKind, msg: &str) -> Option<FilterMsg<'_>> {
    let msg = msg.trim_end();
    if msg.is_empty() {
        return None;
    }
    match k {
        FilterKind::Amavis => Some(amavis(msg).unwrap_or(FilterMsg::Other { text: msg })),
        FilterKind::OpenDkim => Some(dkim(msg).unwrap_or(FilterMsg::Other { text: msg })),
        FilterKind::OpenDmarc => Some(dmarc(msg).unwrap_or(FilterMsg::Other { text: msg })),
        FilterKind::PolicydSpf => Some(spf(msg).unwrap_or(FilterMsg::Other { text: msg })),
        FilterKind::Postgrey => Some(postgrey(msg).unwrap_or(FilterMsg::Other { text: msg })),
        FilterKind::Spamd => {
            let m = msg.strip_prefix("spamd: ").unwrap_or(msg);
            Some(spamd(m).unwrap_or(FilterMsg::Other { text: msg }))
        }
    }
}

fn amavis(msg: &str) -> Option<FilterMsg<'_>> {
    // `(14540-09) Passed CLEAN {RelayedInbound}, ...`
    let r = msg.strip_prefix('(')?;
    let (_, r) = r.split_once(") ")?;
    let (verdict, r) = r.split_once(' ')?;
    if !matches!(verdict, "Passed" | "Blocked" | "Not-Delivered") {
        return None;
    }
    let (content, r) = r.split_once(' ')?;
    let (policy, r) = match r.strip_prefix('{') {
        Some(p) => {
            let (p, r) = p.split_once('}')?;
            (Some(p), r)
        }
        None => (None, r),
    };
    let client_ip = r.find('[').and_then(|o| {
        let c = r[o..].find(']')?;
        Some(&r[o + 1..o + c])
    });
    let (left, right) = r.split_once(" -> ")?;
    let from = left
        .rsplit_once(" <")
        .map(|(_, f)| f.trim_end_matches('>'))?;
    let (to, tail) = right.split_once(", ").unwrap_or((right, ""));
    let to = to.trim_start_matches('<').trim_end_matches('>');
    let mut v = AmavisVerdict {
        verdict,
        content: content.trim_end_matches(','),
        policy,
        client_ip,
        from,
        to,
        message_id: None,
        queue_id: None,
        queued_as: None,
        hits: None,
        size: None,
    };
    for item in tail.split(", ") {
        if let Some((k, val)) = item.split_once(": ") {
            match k {
                "Message-ID" => {
                    v.message_id = Some(val.trim_start_matches('<').trim_end_matches('>'))
                }
                "Queue-ID" => v.queue_id = Some(val),
                "queued_as" => v.queued_as = Some(val),
                "Hits" => v.hits = Some(val),
                "size" => v.size = val.parse().ok(),
                _ => {}
            }
        }
    }
    Some(FilterMsg::AmavisVerdict(v))
}

fn dkim(msg: &str) -> Option<FilterMsg<'_>> {
    let (qid, text) = msg.split_once(": ")?;
    if !is_queue_id(qid) {
        return None;
    }
    let (result, domain) = if let Some(r) = text.strip_prefix("DKIM-Signature field added (") {
        (
            "signed",
            kv_iter(r.trim_end_matches(')'), Sep::Comma)
                .find(|kv| kv.key == "d")
                .map(|kv| kv.value),
        )
    } else if text == "DKIM verification successful" {
        ("pass", None)
    } else if text.starts_with("bad signature data") || text.contains("verification failed") {
        ("fail", None)
    } else if text == "no signature data" {
        ("none", None)
    } else if text.starts_with("s=") {
        // `s=s1 d=partner.test a=rsa-sha256 SSL`: key retrieved over DNS.
        (
            "",
            kv_iter(text, Sep::Space)
                .find(|kv| kv.key == "d")
                .map(|kv| kv.value),
        )
    } else if text.starts_with("signature=") {
        (
            "",
            kv_iter(text, Sep::Space)
                .find(|kv| kv.key == "domain")
                .map(|kv| kv.value),
        )
    } else {
        ("", None)
    };
    Some(FilterMsg::Dkim {
        qid,
        result: (!result.is_empty()).then_some(result),
        domain,
        text,
    })
}

fn dmarc(msg: &str) -> Option<FilterMsg<'_>> {
    let (qid, text) = msg.split_once(": ")?;
    if !is_queue_id(qid) {
        return None;
    }
    let (domain, result) = text.split_once(' ')?;
    if domain.contains(['(', ':']) || result.contains(' ') {
        return None;
    }
    Some(FilterMsg::Dmarc {
        qid,
        domain,
        result,
    })
}

/// policyd-spf: `[: ]prepend Received-SPF: Pass (mailfrom) identity=...;
/// ...`, `Pass; identity=...`, `Action: prepend...`, `550 5.7.23 ...`.
fn spf(msg: &str) -> Option<FilterMsg<'_>> {
    let text = msg
        .strip_prefix(": ")
        .or_else(|| msg.strip_prefix(':'))
        .unwrap_or(msg)
        .trim();
    let body = text
        .strip_prefix("Action: prepend: Text: Received-SPF: ")
        .or_else(|| text.strip_prefix("Action: prepend Received-SPF: "))
        .or_else(|| text.strip_prefix("prepend Received-SPF: "));
    let (action, result, rest) = match body {
        Some(b) => {
            let (result, rest) = b.split_once(' ')?;
            ("prepend", result, rest)
        }
        None => {
            if let Some((result, rest)) = text.split_once("; identity=") {
                if result.contains(' ') {
                    return None;
                }
                let _ = rest;
                ("none", result, &text[result.len() + 2..])
            } else if text.starts_with("550 5.7.23")
                || text.starts_with("550 5.7.1") && text.contains("SPF")
            {
                return Some(FilterMsg::Spf(Spf {
                    result: "Fail",
                    action: "reject",
                    identity: None,
                    client_ip: None,
                    helo: None,
                    envelope_from: None,
                    receiver: None,
                    text,
                }));
            } else {
                return None;
            }
        }
    };
    const RESULTS: [&str; 7] = [
        "pass",
        "fail",
        "softfail",
        "neutral",
        "none",
        "permerror",
        "temperror",
    ];
    if !RESULTS.iter().any(|r| r.eq_ignore_ascii_case(result)) {
        return None;
    }
    let at = rest.find("identity=")?;
    let mut s = Spf {
        result,
        action,
        identity: None,
        client_ip: None,
        helo: None,
        envelope_from: None,
        receiver: None,
        text,
    };
    for kv in kv_iter(&rest[at..], Sep::Semicolon) {
        match kv.key {
            "identity" => s.identity = Some(kv.value),
            "client-ip" => s.client_ip = Some(kv.value),
            "helo" => s.helo = Some(kv.value),
            "envelope-from" => s.envelope_from = Some(kv.value),
            "receiver" => s.receiver = Some(kv.value.split_whitespace().next().unwrap_or("")),
            _ => {}
        }
    }
    Some(FilterMsg::Spf(s))
}

fn postgrey(msg: &str) -> Option<FilterMsg<'_>> {
    if !msg.starts_with("action=") {
        return None;
    }
    let mut p = Postgrey {
        action: "",
        reason: None,
        client_name: None,
        client_address: None,
        sender: None,
        recipient: None,
        delay: None,
    };
    for kv in kv_iter(msg.trim_end(), Sep::Comma) {
        match kv.key {
            "action" => p.action = kv.value,
            "reason" => p.reason = Some(kv.value),
            "client_name" => p.client_name = Some(kv.value),
            "client_address" => {
                p.client_address = Some(kv.value.split('/').next().unwrap_or(kv.value))
            }
            "sender" => p.sender = Some(kv.value),
            "recipient" => p.recipient = Some(kv.value.split_whitespace().next().unwrap_or("")),
            "delay" => p.delay = Some(kv.value),
            _ => {}
        }
    }
    Some(FilterMsg::Postgrey(p))
}

/// postgrey `whitelisted: host[ip/32]` and similar.
fn postgrey_other(msg: &str) -> Option<FilterMsg<'_>> {
    (msg.starts_with("whitelisted: ") || msg.starts_with("allowlisted: ")).then_some(
        FilterMsg::Other {
            text: msg.trim_end(),
        },
    )
}

/// spamd `result: Y 12 - TESTS scantime=...` (after the `spamd: ` prefix).
fn spamd(m: &str) -> Option<FilterMsg<'_>> {
    let r = m.strip_prefix("result: ")?;
    let mut it = r.splitn(5, ' ');
    let flag = it.next()?;
    let score = it.next()?;
    let _dash = it.next()?;
    let tests = it.next()?;
    let info = it.next().unwrap_or("").trim_end();
    Some(FilterMsg::SpamdResult {
        flag,
        score,
        tests,
        info,
    })
}

/// The endpoint of a postgrey `client_name` / `client_address` pair.
pub fn postgrey_endpoint<'a>(p: &Postgrey<'a>) -> Endpoint<'a> {
    let mut e = p
        .client_address
        .and_then(parse_endpoint)
        .unwrap_or_default();
    if let Some(n) = p.client_name.filter(|n| *n != "unknown") {
        e.hostname = Some(n);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(Option<FilterKind>, &str, &str)] = &[
            (Some(FilterKind::OpenDkim), "D6324548865: DKIM-Signature field added (s=lab, d=example.test)", "Dkim"),
            (Some(FilterKind::OpenDkim), "OpenDKIM Filter v2.11.0 starting (args: -x x)", "Other"),
            (Some(FilterKind::OpenDmarc), "3A8EA548888: partner.test pass", "Dmarc"),
            (Some(FilterKind::PolicydSpf), ": prepend Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.20; helo=m; envelope-from=j@p.test; receiver=example.test ", "Spf"),
            (None, "Pass; identity=mailfrom; client-ip=1.1.1.1; helo=mail.corp.com; envelope-from=username@corp.com; receiver=<UNKNOWN> 131", "Spf"),
            (None, "action=greylist, reason=new, client_name=unknown, client_address=1.2.3.4/32, sender=j@e.org, recipient=ja@e.com", "Postgrey"),
            (None, "whitelisted: unknown[1.2.3.4/32]", "Other"),
            (None, "spamd: result: . -1 - A,B scantime=3.4,size=1,mid=<x@y>,autolearn=disabled", "SpamdResult"),
            (None, "spamd: connection from test.com [127.0.0.1]:33620 to port 783, fd 5", "Other"),
            (
                None,
                "(14540-09) Passed CLEAN {RelayedInbound}, [103.28.42.139]:56540 [103.28.42.139] <v@c.com> -> <u@t.com>, Message-ID: <m@c.com>, Hits: -1.481, size: 14206",
                "AmavisVerdict",
            ),
            (None, "hello", "None"),
        ];
        for (k, msg, want) in cases {
            let got = parse_filter(*k, msg);
            let name = match &got {
                None => "None".to_string(),
                Some((_, m)) => format!("{m:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            assert_eq!(&name, want, "{msg}: {got:?}");
        }
    }

    #[test]
    fn spf_fields() {
        let Some((_, FilterMsg::Spf(s))) = parse_filter(
            Some(FilterKind::PolicydSpf),
            ": prepend Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.20; helo=mail.partner.test; envelope-from=j.miller@partner.test; receiver=example.test ",
        ) else {
            panic!()
        };
        assert_eq!(
            (s.result, s.client_ip, s.envelope_from, s.receiver),
            (
                "Pass",
                Some("127.0.0.20"),
                Some("j.miller@partner.test"),
                Some("example.test")
            )
        );
    }
}
