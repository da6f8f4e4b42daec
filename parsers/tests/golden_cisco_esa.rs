//! Golden tests for cisco-esa: each `fixtures/cisco-esa/*.log` holds input
//! records (one per line); the events they decode to must equal the pretty
//! JSON array in the matching `*.ocsf.json`. `BLESS=1` rewrites those.

use std::path::{Path, PathBuf};

use idlink_parsers::{decoder, Options, Source};
use serde_json::Value;

const SOURCE: Source = Source::CiscoEsa;

fn decode_file(path: &Path) -> Vec<Value> {
    let opts = Options {
        reference_time_ms: 1_700_000_000_000,
        local_domains: vec!["example.com".into()],
        ..Options::default()
    };
    let mut dec = decoder(SOURCE, &opts);
    let data = std::fs::read(path).expect("read fixture");
    let mut events = Vec::new();
    for (pos, line) in (0u64..).zip(data.split(|b| *b == b'\n').filter(|l| !l.is_empty())) {
        let outcome = dec.decode(line, pos, &mut |ev| {
            events.push(serde_json::to_value(&ev).expect("serialise"))
        });
        assert!(outcome.is_parsed(), "{}: {outcome:?}", path.display());
    }
    dec.flush(&mut |ev| events.push(serde_json::to_value(&ev).expect("serialise")));
    events
}

#[test]
fn golden() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(SOURCE.name());
    let bless = std::env::var_os("BLESS").is_some();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".log")
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    let mut failures = Vec::new();
    for input in inputs {
        let got = Value::Array(decode_file(&input));
        let expected_path = input.with_extension("ocsf.json");
        if bless {
            let text = serde_json::to_string_pretty(&got).expect("pretty") + "\n";
            std::fs::write(&expected_path, text).expect("write expected");
            continue;
        }
        let expected: Value = std::fs::read(&expected_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| panic!("{} missing; run with BLESS=1", expected_path.display()));
        if got != expected {
            failures.push(format!(
                "{}:\n{}",
                input.display(),
                serde_json::to_string_pretty(&got).unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch:\n{}",
        failures.join("\n")
    );
}
