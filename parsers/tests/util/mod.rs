//! Shared by the integration tests: fixed options and the validator run.
#![allow(dead_code)]

use std::io::Write;
use std::process::Command;

use idlink_parsers::Options;

/// 2026-11-22T12:00:00Z: the lab samples' day, so their year-less times
/// land in 2026.
pub const REFERENCE_TIME_MS: i64 = 1_795_348_800_000;

/// The options every test uses.
pub fn options() -> Options {
    Options {
        reference_time_ms: REFERENCE_TIME_MS,
        local_domains: vec![
            "example.test".into(),
            "corp.example".into(),
            "example.com".into(),
        ],
        ..Options::default()
    }
}

/// Write `ndjson` to a temporary file and run `validator --strict` on it;
/// panic with its output when it fails.
pub fn validate(validator: &str, ndjson: &[u8], name: &str) {
    let path = std::env::temp_dir().join(format!("idlink-{name}-{}.ndjson", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("temp file");
    f.write_all(ndjson).expect("write events");
    drop(f);
    let out = Command::new(validator)
        .arg("--strict")
        .arg(&path)
        .output()
        .expect("run the OCSF validator");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(
        out.status.success(),
        "ocsf-validate --strict failed on {}:\n{report}",
        path.display()
    );
    let _ = std::fs::remove_file(&path);
}
