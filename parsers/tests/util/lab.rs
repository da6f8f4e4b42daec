//! Shared by the conformance and golden tests of the sources whose samples
//! are the mail-lab's own logs (`lab-<source>/*.log`): Dovecot, rspamd,
//! ClamAV, OpenDKIM, OpenDMARC. Built on the rest of `util`.

use std::fs;
use std::path::{Path, PathBuf};

use idlink_parsers::common::json::is_fallback;
use idlink_parsers::{decoder, Options, Source};
use serde_json::Value;

use super::{samples_dir, validate, REFERENCE_TIME_MS};

/// Fixed options: the lab's local domains.
pub fn options() -> Options {
    Options {
        reference_time_ms: REFERENCE_TIME_MS,
        local_domains: vec!["example.test".into(), "corp.example".into()],
        ..Options::default()
    }
}

/// Every `*.log` of `lab-<source>/`, sorted.
pub fn lab_files(dir: &Path, source: Source) -> Vec<PathBuf> {
    let lab = dir.join(format!("lab-{}", source.name()));
    let mut v: Vec<PathBuf> = fs::read_dir(&lab)
        .unwrap_or_else(|e| panic!("{}: {e} (set IDLINK_SAMPLES=skip to skip)", lab.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    v.sort();
    v
}

/// Counts of one conformance run.
#[derive(Debug, Default)]
pub struct Counts {
    pub records: usize,
    pub events: usize,
    pub mapped: usize,
    pub fallback: usize,
    pub unparsed: usize,
    pub by_class: std::collections::BTreeMap<i64, usize>,
}

/// Decode `lines` with a fresh decoder; return the counts, the NDJSON and
/// the unparsed lines.
pub fn run(source: Source, lines: &[Vec<u8>]) -> (Counts, String, Vec<String>) {
    let mut dec = decoder(source, &options());
    let mut c = Counts::default();
    let mut nd = String::new();
    let mut bad = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        c.records += 1;
        let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
            c.events += 1;
            if is_fallback(ev) {
                c.fallback += 1;
            } else {
                c.mapped += 1;
            }
            *c.by_class
                .entry(i64::from(ev.class_uid.unwrap_or(-1)))
                .or_default() += 1;
            nd.push_str(&serde_json::to_string(&ev).expect("serialise"));
            nd.push('\n');
        };
        let outcome = dec.decode(line, n as u64, &mut sink);
        if !outcome.is_parsed() {
            c.unparsed += 1;
            bad.push(format!("{outcome:?}: {}", String::from_utf8_lossy(line)));
        }
    }
    (c, nd, bad)
}

/// Non-empty lines of a file.
pub fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    data.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The conformance check: every line of the lab samples (plus `extra`
/// lines) decodes, nothing is unparsed or fallback, and with
/// `OCSF_VALIDATE` every event passes `--strict`.
pub fn conform(source: Source, extra: Vec<Vec<u8>>) -> Counts {
    let Some(dir) = samples_dir() else {
        eprintln!("IDLINK_SAMPLES=skip: not checking {source} samples");
        return Counts::default();
    };
    let mut lines = Vec::new();
    for f in lab_files(&dir, source) {
        lines.extend(lines_of(&f));
    }
    lines.extend(extra);
    let (c, nd, bad) = run(source, &lines);
    println!("source events mapped fallback unparsed");
    println!(
        "{source} {} {} {} {}   ({} records, by class {:?})",
        c.events, c.mapped, c.fallback, c.unparsed, c.records, c.by_class
    );
    assert!(c.records > 0, "no {source} samples");
    assert!(bad.is_empty(), "unparsed:\n{}", bad.join("\n"));
    assert_eq!(c.fallback, 0, "fallback events");
    if let Ok(v) = std::env::var("OCSF_VALIDATE") {
        validate(&v, nd.as_bytes(), &format!("samples-{source}"));
    }
    c
}

/// Golden test: each `tests/fixtures/<folder>/*.log` decoded line by line
/// (then flushed) must equal `*.ocsf.json`; `BLESS=1` rewrites them.
pub fn golden(source: Source, folder: &str, min_files: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    assert!(
        files.len() >= min_files,
        "expected {min_files} fixtures in {}",
        dir.display()
    );
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut all = Vec::new();
    for f in &files {
        let mut dec = decoder(source, &options());
        let mut got: Vec<Value> = Vec::new();
        let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
            got.push(serde_json::to_value(ev).expect("serialise"))
        };
        for (n, line) in lines_of(f).iter().enumerate() {
            dec.decode(line, n as u64, &mut sink);
        }
        dec.flush(&mut sink);
        for ev in &got {
            all.extend(serde_json::to_vec(ev).expect("json"));
            all.push(b'\n');
        }
        let expected = f.with_extension("ocsf.json");
        let pretty = serde_json::to_string_pretty(&got).expect("json") + "\n";
        if bless {
            fs::write(&expected, &pretty).expect("write expected");
            continue;
        }
        match fs::read_to_string(&expected) {
            Ok(want) => {
                let want: Value = serde_json::from_str(&want).expect("expected file is JSON");
                if want != Value::Array(got) {
                    failures.push(format!(
                        "{}: output differs from {} (BLESS=1 to accept)\n{pretty}",
                        f.display(),
                        expected.display()
                    ));
                }
            }
            Err(_) => failures.push(format!(
                "{}: missing {} (BLESS=1)",
                f.display(),
                expected.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if let Ok(v) = std::env::var("OCSF_VALIDATE") {
        validate(&v, &all, &format!("golden-{folder}"));
    }
    // No panic on damaged input: every prefix of every fixture line, and
    // the line with a byte flipped to invalid UTF-8.
    let mut dec = decoder(source, &options());
    for f in &files {
        for line in lines_of(f) {
            for cut in 0..=line.len() {
                dec.decode(&line[..cut], 0, &mut |_| {});
                let mut bad = line.clone();
                if cut < bad.len() {
                    bad[cut] = 0xff;
                    dec.decode(&bad, 0, &mut |_| {});
                }
            }
        }
    }
    dec.flush(&mut |_| {});
}
