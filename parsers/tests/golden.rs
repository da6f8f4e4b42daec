//! Golden tests: every `tests/fixtures/postfix/*.log` is decoded line by
//! line (then flushed) with fixed options, and the whole output, in order,
//! is compared with `*.ocsf.json` (a pretty JSON array). `BLESS=1` rewrites
//! the expected files; review the diff. With `OCSF_VALIDATE` pointing to
//! `ocsf-validate`, all golden events are also checked with `--strict`.

mod util;

use std::fs;
use std::path::PathBuf;

use idlink_parsers::{decoder, Source};

fn postfix() -> util::Golden<'static> {
    util::Golden {
        source: Source::Postfix,
        folder: "postfix",
        exts: &["log"],
        options: util::options(),
        // `unparsable.log` is there to show what unparsed lines become.
        require_parsed: false,
    }
}

fn fixtures() -> Vec<PathBuf> {
    postfix().inputs()
}

#[test]
fn golden_postfix() {
    let n = postfix().run();
    assert!(n >= 30, "expected the Postfix fixtures, found {n}");
}

#[test]
fn every_line_kind_has_a_fixture() {
    let names: Vec<String> = fixtures()
        .iter()
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .collect();
    for want in [
        "header-rfc3164",
        "header-rfc5424",
        "header-iso8601",
        "header-maillog-file",
        "header-bare",
        "smtpd-connect-disconnect",
        "smtpd-noqueue-reject",
        "smtpd-noqueue-warn",
        "smtpd-noqueue-hold",
        "smtpd-noqueue-discard",
        "smtpd-sasl-failure",
        "smtpd-sasl-success",
        "smtpd-lost-connection",
        "smtpd-tls",
        "postscreen",
        "cleanup-message-id",
        "cleanup-header-checks",
        "qmgr-from-removed",
        "qmgr-expired",
        "delivery-smtp",
        "delivery-lmtp",
        "delivery-local",
        "delivery-virtual",
        "delivery-pipe",
        "delivery-error",
        "bounce",
        "pickup",
        "anvil",
        "filter-amavis",
        "filter-opendkim",
        "filter-opendmarc",
        "filter-policyd-spf",
        "filter-postgrey",
        "lifecycle-full",
        "unparsable",
    ] {
        assert!(names.iter().any(|n| n == want), "no fixture {want}.log");
    }
}

/// The decoder holds lines of open messages and reports the oldest.
#[test]
fn oldest_held_tracks_open_messages() {
    let mut dec = decoder(Source::Postfix, &util::options());
    let mut n = 0;
    let mut sink = |_: &mut idlink_parsers::ocsf::Event<'_>| n += 1;
    dec.decode(
        b"Nov 22 12:31:53 mx postfix/smtpd[1]: 3A8EA548888: client=mail.partner.test[127.0.0.20]",
        10,
        &mut sink,
    );
    dec.decode(
        b"Nov 22 12:31:53 mx postfix/smtpd[1]: connect from mail.partner.test[127.0.0.20]",
        11,
        &mut sink,
    );
    dec.decode(
        b"Nov 22 12:31:53 mx postfix/cleanup[2]: 4A8EA548888: message-id=<x@y.z>",
        12,
        &mut sink,
    );
    assert_eq!(dec.oldest_held(), Some(10));
    dec.decode(
        b"Nov 22 12:31:54 mx postfix/qmgr[3]: 3A8EA548888: removed",
        13,
        &mut sink,
    );
    assert_eq!(dec.oldest_held(), Some(12));
    // A late line for an emitted queue ID opens a new entry.
    dec.decode(b"Nov 22 12:31:55 mx postfix/lmtp[4]: 3A8EA548888: to=<c@example.test>, relay=x, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)", 14, &mut sink);
    assert_eq!(dec.oldest_held(), Some(12));
    dec.flush(&mut sink);
    assert_eq!(dec.oldest_held(), None);
    // connect, removed message, late entry, 4A8EA548888.
    assert_eq!(n, 4);
}

/// Bounded memory: past `max_open` the oldest message is emitted, and the
/// TTL (event time) emits stale ones.
#[test]
fn max_open_and_ttl() {
    let opts = idlink_parsers::Options {
        max_open: 2,
        open_ttl_ms: 60_000,
        ..util::options()
    };
    let mut dec = decoder(Source::Postfix, &opts);
    let mut emitted = Vec::new();
    let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
        emitted.push(
            ev.unmapped
                .as_ref()
                .and_then(|u| u["postfix"]["emitted_on"].as_str())
                .unwrap_or("")
                .to_string(),
        )
    };
    for (k, t) in [
        ("AAAAA1", "12:00:00"),
        ("AAAAA2", "12:00:01"),
        ("AAAAA3", "12:00:02"),
    ] {
        let line = format!("Nov 22 {t} mx postfix/cleanup[2]: {k}: message-id=<{k}@example.test>");
        dec.decode(line.as_bytes(), 0, &mut sink);
    }
    dec.decode(
        b"Nov 22 12:05:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
        0,
        &mut sink,
    );
    assert_eq!(emitted, vec!["capacity", "ttl", "ttl", ""]);
}

#[test]
fn arbitrary_bytes_do_not_panic() {
    let mut dec = decoder(Source::Postfix, &util::options());
    let mut sink = |_: &mut idlink_parsers::ocsf::Event<'_>| {};
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet = b"<>[]:;=, /-.0123456789ABCDEFabcdefNOQUEUEpostfixsmtpd\xff\xc3";
    for _ in 0..20_000 {
        let mut line = Vec::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 120) as usize;
        for k in 0..len {
            let r = seed.rotate_left(k as u32 % 64).wrapping_mul(k as u64 + 1);
            line.push(alphabet[(r % alphabet.len() as u64) as usize]);
        }
        dec.decode(&line, 0, &mut sink);
    }
    // Prefixes of real lines.
    for f in fixtures() {
        let text = fs::read(&f).expect("fixture");
        for line in text.split(|&b| b == b'\n') {
            for k in 0..line.len() {
                dec.decode(&line[..k], 0, &mut sink);
            }
        }
    }
    dec.flush(&mut sink);
}
