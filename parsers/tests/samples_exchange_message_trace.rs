//! The shared exchange-message-trace samples: every record decodes, no
//! fallback, every event valid OCSF (with `OCSF_VALIDATE=...`).

mod util;

use idlink_parsers::Source;
use util::{Bar, Samples};

#[test]
fn samples() {
    if let Some(c) = Samples::mail_json(Source::ExchangeMessageTrace, Bar::NoFallback).run() {
        assert_eq!(c.records, 7);
    }
}

/// The OCSF project's own 1.4.0 mappings of six sample rows
/// (`expected/*.ocsf.json`): the fields both mappings have agree; the
/// differences are listed in `docs/sources/exchange-message-trace.md`.
#[test]
fn agrees_with_ocsf_examples() {
    use serde_json::Value;
    let Some(dir) = util::samples_dir() else {
        return;
    };
    let dir = dir.join("exchange-message-trace");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let lines: Vec<String> = std::fs::read_to_string(dir.join("events.ndjson"))
        .expect("events")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut checked = 0;
    for row in manifest.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        let Some(exp) = cols.last().and_then(|n| n.strip_prefix("expected=")) else {
            continue;
        };
        let line: usize = cols[1]
            .split('-')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("line");
        let text = std::fs::read_to_string(dir.join(exp)).expect("expected");
        // One published file repeats a key; serde_json keeps the last.
        let want: Value = serde_json::from_str(&text).expect("expected json");
        let got = util::decode_all(
            Source::ExchangeMessageTrace,
            &Default::default(),
            &lines[line - 1..line],
        );
        let got = &got[0];
        let pairs = [
            ("/time", "/time"),
            ("/class_uid", "/class_uid"),
            ("/activity_id", "/activity_id"),
            ("/direction_id", "/direction_id"),
            ("/message_trace_uid", "/message_trace_uid"),
            ("/email/message_uid", "/email/message_uid"),
            ("/email/subject", "/email/subject"),
            ("/email/size", "/email/size"),
            ("/email/from", "/email/smtp_from"),
            ("/email/to", "/email/smtp_to"),
            ("/src_endpoint/ip", "/src_endpoint/ip"),
            ("/status_detail", "/status_detail"),
            ("/metadata/original_time", "/metadata/original_time"),
            ("/unmapped/Index", "/unmapped/Index"),
            ("/unmapped/Organization", "/unmapped/Organization"),
        ];
        for (g, w) in pairs {
            assert_eq!(got.pointer(g), want.pointer(w), "{exp}: {g} vs {w}");
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}
