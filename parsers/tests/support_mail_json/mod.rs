//! Test harness shared by the JSON mail-security sources: the shared
//! samples run (counts + OCSF validation) and the golden fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use idlink_parsers::{decoder, Options, Outcome, Source};
use serde_json::Value;

/// Counts of one samples run.
#[derive(Debug, Default)]
pub struct Counts {
    pub records: usize,
    pub events: usize,
    pub mapped: usize,
    pub fallback: usize,
    pub unparsed: usize,
    pub allowed_fallback: usize,
}

pub fn is_fallback(ev: &Value) -> bool {
    ev.pointer("/unmapped/idlink/fallback") == Some(&Value::Bool(true))
}

/// Decode `records` with fixed options; the events as JSON, and outcomes.
pub fn decode_all(
    source: Source,
    records: &[String],
    opts: &Options,
) -> (Vec<Value>, Vec<Outcome>) {
    let mut dec = decoder(source, opts);
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    for r in records {
        let o = dec.decode(r.as_bytes(), 0, &mut |ev| {
            events.push(serde_json::to_value(&ev).expect("serialise"));
        });
        outcomes.push(o);
    }
    dec.flush(&mut |ev| events.push(serde_json::to_value(&ev).expect("serialise")));
    (events, outcomes)
}

/// The shared samples folder, or `None` when `IDLINK_SAMPLES=skip`.
pub fn samples_dir() -> Option<PathBuf> {
    match std::env::var("IDLINK_SAMPLES") {
        Ok(v) if v == "skip" => None,
        Ok(v) => Some(PathBuf::from(v)),
        Err(_) => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples")),
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (set IDLINK_SAMPLES=skip to skip)", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Validate NDJSON events with `$OCSF_VALIDATE --strict`, if set.
pub fn validate(name: &str, events: &[Value]) {
    let Ok(validator) = std::env::var("OCSF_VALIDATE") else {
        eprintln!("{name}: OCSF_VALIDATE not set, not validating");
        return;
    };
    let path = std::env::temp_dir().join(format!("idlink-{name}-{}.ndjson", std::process::id()));
    let mut body = String::new();
    for e in events {
        body.push_str(&serde_json::to_string(e).expect("serialise"));
        body.push('\n');
    }
    std::fs::write(&path, body).expect("write temp ndjson");
    let out = Command::new(&validator)
        .arg("--strict")
        .arg(&path)
        .output()
        .expect("run validator");
    let _ = std::fs::remove_file(&path);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name}: validator failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{name}: validator ok ({} events)", events.len());
}

/// Decode every record of the source's shared samples; print the counts;
/// fail on any unparsed record or any fallback event that `allowed` does
/// not accept; validate the events if `OCSF_VALIDATE` is set.
pub fn run_samples(source: Source, file: &str, allowed: &dyn Fn(&Value) -> bool) -> Option<Counts> {
    let dir = samples_dir()?;
    let lines = read_lines(&dir.join(source.name()).join(file));
    let opts = Options {
        reference_time_ms: 1_735_689_600_000,
        ..Default::default()
    };
    let (events, outcomes) = decode_all(source, &lines, &opts);
    let mut c = Counts {
        records: lines.len(),
        events: events.len(),
        unparsed: outcomes.iter().filter(|o| !o.is_parsed()).count(),
        ..Default::default()
    };
    for e in &events {
        if is_fallback(e) {
            c.fallback += 1;
            if allowed(e) {
                c.allowed_fallback += 1;
            }
        } else if e.pointer("/unmapped/idlink/parse_error").is_none() {
            c.mapped += 1;
        }
    }
    println!("source events mapped fallback unparsed");
    println!(
        "{} {} {} {} {}   (records {}, fallback of unlisted kinds {})",
        source.name(),
        c.events,
        c.mapped,
        c.fallback,
        c.unparsed,
        c.records,
        c.allowed_fallback
    );
    assert_eq!(c.unparsed, 0, "unparsed records");
    let bad: Vec<_> = events
        .iter()
        .filter(|e| is_fallback(e) && !allowed(e))
        .collect();
    assert!(bad.is_empty(), "fallback events for listed kinds: {bad:#?}");
    validate(source.name(), &events);
    Some(c)
}

/// Time decode+map+serialise per record over the samples (release runs).
pub fn perf(source: Source, file: &str) {
    let Some(dir) = samples_dir() else { return };
    let lines = read_lines(&dir.join(source.name()).join(file));
    let opts = Options::default();
    let mut dec = decoder(source, &opts);
    let rounds = 2000;
    let mut n = 0usize;
    let mut bytes = 0usize;
    let mut sink = Vec::with_capacity(4096);
    let t = Instant::now();
    for _ in 0..rounds {
        for l in &lines {
            dec.decode(l.as_bytes(), 0, &mut |ev| {
                sink.clear();
                serde_json::to_writer(&mut sink, &ev).expect("serialise");
                bytes += sink.len();
            });
            n += 1;
        }
    }
    let el = t.elapsed();
    let mut dec = decoder(source, &opts);
    let t2 = Instant::now();
    let mut k = 0usize;
    for _ in 0..rounds {
        for l in &lines {
            dec.decode(l.as_bytes(), 0, &mut |_ev| k += 1);
        }
    }
    let el2 = t2.elapsed();
    println!(
        "perf {}: {:.2} us/record decode+map, {:.2} us/record decode+map+serialise ({} records, {} events, {} output bytes)",
        source.name(),
        el2.as_secs_f64() * 1e6 / n as f64,
        el.as_secs_f64() * 1e6 / n as f64,
        n,
        k,
        bytes
    );
}

/// Golden files: every `fixtures/<source>/*.json` (one record per line)
/// against its `*.ocsf.json` (pretty JSON array of the events). `BLESS=1`
/// rewrites the expected files.
pub fn run_golden(source: Source) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(source.name());
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let opts = Options {
        reference_time_ms: 1_735_689_600_000,
        local_domains: vec!["example.com".into(), "corp.example.net".into()],
        ..Default::default()
    };
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (n.ends_with(".json") || n.ends_with(".log")) && !n.ends_with(".ocsf.json")
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no fixtures in {}", dir.display());
    let mut all = Vec::new();
    let mut failures = Vec::new();
    for input in &inputs {
        let lines = read_lines(input);
        let (events, _) = decode_all(source, &lines, &opts);
        let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
        let expected_path = input.with_file_name(format!("{stem}.ocsf.json"));
        let got = serde_json::to_string_pretty(&Value::Array(events.clone())).expect("json") + "\n";
        if bless {
            std::fs::write(&expected_path, &got).expect("bless");
        } else {
            let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if want != got {
                failures.push(format!(
                    "{} differs from {} (BLESS=1 to rewrite)\n--- got:\n{got}",
                    input.display(),
                    expected_path.display()
                ));
            }
        }
        all.extend(events);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    validate(&format!("golden-{}", source.name()), &all);
}
