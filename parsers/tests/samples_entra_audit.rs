//! Conformance over the shared Entra audit samples: every record decodes, none
//! falls back, and (with `OCSF_VALIDATE` set to the validator) every event
//! is valid OCSF 1.8.0.

use std::io::Write;
use std::path::{Path, PathBuf};

use idlink_parsers::{decoder, Options, Source};

const SOURCE: &str = "entra-audit";

fn samples_dir() -> Option<PathBuf> {
    let dir = match std::env::var("IDLINK_SAMPLES") {
        Ok(v) if v == "skip" => return None,
        Ok(v) => PathBuf::from(v),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples"),
    };
    assert!(
        dir.is_dir(),
        "samples not found at {} (IDLINK_SAMPLES=skip to skip)",
        dir.display()
    );
    Some(dir)
}

#[test]
fn conformance() {
    let Some(dir) = samples_dir() else { return };
    let text = std::fs::read_to_string(dir.join(SOURCE).join("events.ndjson")).expect("events");
    let source = Source::from_name(SOURCE).expect("registered");
    let mut dec = decoder(source, &Options::default());
    let (mut records, mut events, mut mapped, mut fallback, mut unparsed) = (0, 0, 0, 0, 0);
    let mut out = Vec::new();
    let mut fell_back = Vec::new();
    for (n, line) in text.lines().enumerate() {
        records += 1;
        let mut evs = Vec::new();
        let o = dec.decode(line.as_bytes(), n as u64, &mut |e| {
            evs.push(serde_json::to_value(&e).expect("serialises"))
        });
        dec.flush(&mut |e| evs.push(serde_json::to_value(&e).expect("serialises")));
        if !o.is_parsed() {
            unparsed += 1;
        }
        for e in evs {
            events += 1;
            if e["unmapped"]["idlink"]["fallback"] == true {
                fallback += 1;
                fell_back.push(format!("line {}: {}", n + 1, e["metadata"]["event_code"]));
            } else if o.is_parsed() {
                mapped += 1;
            }
            out.push(e);
        }
    }
    println!("source events mapped fallback unparsed");
    println!("{SOURCE} {events} {mapped} {fallback} {unparsed} (records {records})");
    assert_eq!(unparsed, 0);
    assert_eq!(fallback, 0, "fallback events: {fell_back:?}");
    assert_eq!(events, records);
    let path = std::env::temp_dir().join(format!(
        "idlink-samples-{SOURCE}-{}.ndjson",
        std::process::id()
    ));
    let mut f = std::fs::File::create(&path).expect("temp file");
    for e in &out {
        writeln!(f, "{e}").expect("write");
    }
    drop(f);
    if let Ok(validator) = std::env::var("OCSF_VALIDATE") {
        let st = std::process::Command::new(validator)
            .arg("--strict")
            .arg(&path)
            .status()
            .expect("run validator");
        assert!(st.success(), "validator failed on {}", path.display());
    }
    let _ = std::fs::remove_file(&path);
}
