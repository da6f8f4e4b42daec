//! Conformance over the shared fortimail samples: every record decodes, none is
//! left unparsed, no listed event type falls back, and (with
//! `OCSF_VALIDATE=/path/to/ocsf-validate`) every event passes the validator.
//!
//! Samples come from `IDLINK_SAMPLES` (default `../../shared/samples` from
//! the crate); the test fails if they are missing unless `IDLINK_SAMPLES=skip`.

use std::path::PathBuf;

use idlink_parsers::common::json::is_fallback;
use idlink_parsers::{decoder, Options, Source};

const SOURCE: Source = Source::Fortimail;
const FILES: &[&str] = &["events.log"];
/// `metadata.event_code`s that must never come out as fallback events.
const MUST_MAP: &[&str] = &["statistics", "spam", "virus", "delivery", "arrival"];

fn samples_dir() -> Option<PathBuf> {
    match std::env::var("IDLINK_SAMPLES") {
        Ok(v) if v == "skip" => None,
        Ok(v) => Some(PathBuf::from(v)),
        Err(_) => Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples")),
    }
}

#[test]
fn samples_conform() {
    let Some(dir) = samples_dir() else {
        eprintln!("IDLINK_SAMPLES=skip: not checking {SOURCE} samples");
        return;
    };
    let opts = Options {
        reference_time_ms: 1_700_000_000_000,
        ..Options::default()
    };
    let mut dec = decoder(SOURCE, &opts);
    let (mut records, mut events, mut mapped, mut fallback, mut unparsed) = (0, 0, 0, 0, 0);
    let mut ndjson = String::new();
    let mut bad = Vec::new();
    for file in FILES {
        let path = dir.join(SOURCE.name()).join(file);
        let data = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (set IDLINK_SAMPLES=skip to skip)", path.display())
        });
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            records += 1;
            let mut fell_back = Vec::new();
            let outcome = dec.decode(line, records, &mut |ev| {
                events += 1;
                if is_fallback(&ev) {
                    fallback += 1;
                    let code = ev.metadata.as_ref().and_then(|m| m.event_code.clone());
                    fell_back.push(code.unwrap_or_default().into_owned());
                } else {
                    mapped += 1;
                }
                ndjson.push_str(&serde_json::to_string(&ev).expect("serialise"));
                ndjson.push('\n');
            });
            if !outcome.is_parsed() {
                unparsed += 1;
                bad.push(format!(
                    "unparsed {outcome:?}: {}",
                    String::from_utf8_lossy(line)
                ));
            }
            for code in fell_back {
                eprintln!("fallback: {code}");
                if MUST_MAP.contains(&code.as_str()) {
                    bad.push(format!("listed type fell back: {code}"));
                }
            }
        }
    }
    dec.flush(&mut |_| {});
    println!("source events mapped fallback unparsed");
    println!("{SOURCE} {events} {mapped} {fallback} {unparsed}   ({records} records)");
    assert!(records > 0);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(unparsed, 0);

    let out = std::env::temp_dir().join(format!(
        "idlink-samples-{}-{}.ndjson",
        SOURCE,
        std::process::id()
    ));
    std::fs::write(&out, &ndjson).expect("write ndjson");
    if let Ok(validator) = std::env::var("OCSF_VALIDATE") {
        let status = std::process::Command::new(validator)
            .arg("--strict")
            .arg(&out)
            .status()
            .expect("run validator");
        assert!(status.success(), "validator rejected {}", out.display());
    }
}
