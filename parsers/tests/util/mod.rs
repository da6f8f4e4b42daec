//! Shared by the integration tests: fixed options, the validator run, the
//! golden-file harness ([`Golden`]) and the shared-samples conformance run
//! ([`Samples`]).
#![allow(dead_code)]

pub mod lab;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use idlink_parsers::common::json::is_fallback;
use idlink_parsers::{decoder, Options, Source};

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

/// Options of the per-source golden and samples tests (a fixed day in
/// November 2023, so the blessed outputs never move).
pub fn fixed_options() -> Options {
    Options {
        reference_time_ms: 1_700_000_000_000,
        ..Options::default()
    }
}

fn bless() -> bool {
    std::env::var("BLESS").is_ok_and(|v| v == "1")
}

fn serialise(ev: &idlink_parsers::ocsf::Event<'_>) -> serde_json::Value {
    serde_json::to_value(ev).expect("serialise")
}

/// Decode `records` with a fresh decoder, then flush; the events as JSON.
pub fn decode_all<R: AsRef<[u8]>>(
    source: Source,
    options: &Options,
    records: &[R],
) -> Vec<serde_json::Value> {
    let mut dec = decoder(source, options);
    let mut events = Vec::new();
    for (n, r) in records.iter().enumerate() {
        dec.decode(r.as_ref(), n as u64, &mut |ev| events.push(serialise(ev)));
    }
    dec.flush(&mut |ev| events.push(serialise(ev)));
    events
}

/// One golden folder: `tests/fixtures/<folder>/*.<ext>` are decoded record
/// by record (one per line, then a flush) and the whole output, in order,
/// must equal the pretty JSON array in the matching `*.ocsf.json`.
pub struct Golden<'a> {
    pub source: Source,
    /// Folder under `tests/fixtures`.
    pub folder: &'a str,
    /// Extensions of the inputs (`json` for one JSON record per line).
    pub exts: &'a [&'a str],
    pub options: Options,
    /// Every input line must decode (`Outcome::Parsed`).
    pub require_parsed: bool,
}

impl Golden<'static> {
    /// The usual JSON source layout: `fixtures/<source name>/*.json`.
    pub fn json(source: Source) -> Self {
        Golden {
            source,
            folder: source.name(),
            exts: &["json"],
            options: fixed_options(),
            require_parsed: true,
        }
    }

    /// The text mail sources (cisco-esa, exim, fortimail, sendmail,
    /// spamassassin): `fixtures/<source name>/*.log`, `example.com` local.
    pub fn text(source: Source) -> Self {
        Golden {
            source,
            folder: source.name(),
            exts: &["log"],
            options: Options {
                local_domains: vec!["example.com".into()],
                ..fixed_options()
            },
            require_parsed: true,
        }
    }

    /// The JSON mail-security sources: `fixtures/<source name>/*.json`
    /// (and `*.log`, for mimecast's legacy text lines), 2025-01-01 as the
    /// reference day; malformed records may be part of a fixture.
    pub fn mail_json(source: Source) -> Self {
        Golden {
            source,
            folder: source.name(),
            exts: &["json", "log"],
            options: Options {
                local_domains: vec!["example.com".into(), "corp.example.net".into()],
                ..mail_json_options()
            },
            // Some fixtures hold malformed records on purpose.
            require_parsed: false,
        }
    }
}

/// Options of the JSON mail-security sources' samples and golden tests
/// (reference time 2025-01-01).
pub fn mail_json_options() -> Options {
    Options {
        reference_time_ms: 1_735_689_600_000,
        ..Options::default()
    }
}

impl Golden<'_> {
    /// The input files, sorted.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(self.folder);
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let ext_ok = self
                    .exts
                    .iter()
                    .any(|x| n.strip_suffix(x).is_some_and(|b| b.ends_with('.')));
                ext_ok && !n.ends_with(".ocsf.json")
            })
            .collect();
        v.sort();
        v
    }

    fn decode_file(&self, path: &Path) -> Vec<serde_json::Value> {
        let data = std::fs::read(path).expect("read fixture");
        let mut dec = decoder(self.source, &self.options);
        let mut events = Vec::new();
        for (n, line) in data.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let outcome = dec.decode(line, n as u64, &mut |ev| events.push(serialise(ev)));
            if self.require_parsed {
                assert!(
                    outcome.is_parsed(),
                    "{}:{}: {outcome:?}",
                    path.display(),
                    n + 1
                );
            }
        }
        dec.flush(&mut |ev| events.push(serialise(ev)));
        events
    }

    /// Compare (or with `BLESS=1` rewrite) every expected file; with
    /// `OCSF_VALIDATE` set, run the validator on all golden events. Returns
    /// the number of inputs; fails if there are none.
    pub fn run(&self) -> usize {
        let inputs = self.inputs();
        assert!(!inputs.is_empty(), "no fixtures in {}", self.folder);
        let bless = bless();
        let mut failures = Vec::new();
        let mut all = Vec::new();
        for input in &inputs {
            let got = self.decode_file(input);
            for ev in &got {
                all.extend(serde_json::to_vec(ev).expect("json"));
                all.push(b'\n');
            }
            let got = serde_json::Value::Array(got);
            let pretty = serde_json::to_string_pretty(&got).expect("pretty") + "\n";
            let expected_path = input.with_extension("ocsf.json");
            if bless {
                std::fs::write(&expected_path, &pretty).expect("write expected");
                continue;
            }
            match std::fs::read_to_string(&expected_path) {
                Ok(want) => {
                    // Byte-for-byte: same events, same key order, same layout.
                    if want != pretty {
                        failures.push(format!(
                            "{}: output differs from {} (BLESS=1 to accept)\n{pretty}",
                            input.display(),
                            expected_path.display()
                        ));
                    }
                }
                Err(_) => failures.push(format!(
                    "{}: missing {} (run with BLESS=1)",
                    input.display(),
                    expected_path.display()
                )),
            }
        }
        if let Ok(v) = std::env::var("OCSF_VALIDATE") {
            validate(&v, &all, &format!("golden-{}", self.folder));
        }
        assert!(
            failures.is_empty(),
            "golden mismatch:\n{}",
            failures.join("\n")
        );
        inputs.len()
    }
}

/// Which fallback events fail a samples run.
pub enum Bar {
    /// None may fall back.
    NoFallback,
    /// None whose `metadata.event_code` is listed may fall back (flushed
    /// events are not held to the list).
    MustMap(&'static [&'static str]),
    /// Only fallback events the predicate accepts (given the event as
    /// JSON) may fall back, flushed events included; the row also shows
    /// how many were accepted.
    AllowOnly(fn(&serde_json::Value) -> bool),
}

/// Conformance over the shared samples of one source.
pub struct Samples {
    pub source: Source,
    /// Files under `$IDLINK_SAMPLES/<source name>/`.
    pub files: &'static [&'static str],
    pub bar: Bar,
    /// Each record must give exactly one event.
    pub one_event_per_record: bool,
    /// Decoder options (usually [`fixed_options`]).
    pub options: Options,
    /// Count, check and validate the events the final flush emits too.
    /// The text mail sources' runs have always covered per-record events
    /// only.
    pub check_flushed: bool,
}

/// The counts of a samples run.
#[derive(Debug, Default)]
pub struct Counts {
    pub records: u64,
    pub events: u64,
    pub mapped: u64,
    pub fallback: u64,
    pub unparsed: u64,
    /// Fallback events accepted by [`Bar::AllowOnly`].
    pub allowed_fallback: u64,
}

/// `IDLINK_SAMPLES` (default `../../shared/samples` from the crate), or
/// `None` for `IDLINK_SAMPLES=skip`.
pub fn samples_dir() -> Option<PathBuf> {
    match std::env::var("IDLINK_SAMPLES") {
        Ok(v) if v == "skip" => None,
        Ok(v) => Some(PathBuf::from(v)),
        Err(_) => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples")),
    }
}

/// Non-empty lines of a shared-samples file; fails (naming
/// `IDLINK_SAMPLES=skip`) when it is missing.
fn sample_lines(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (set IDLINK_SAMPLES=skip to skip)", path.display()));
    data.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// A fallback event: its `metadata.event_code` and whether the bar lets
/// it through.
struct FellBack {
    code: String,
    allowed: bool,
}

impl Samples {
    /// A JSON source: `events.ndjson`, one event per record, fixed options.
    pub fn json(source: Source, bar: Bar) -> Self {
        Samples {
            source,
            files: &["events.ndjson"],
            bar,
            one_event_per_record: true,
            options: fixed_options(),
            check_flushed: true,
        }
    }

    /// A text mail source: `events.log`; no event whose
    /// `metadata.event_code` is in `must_map` may fall back; per-record
    /// events only.
    pub fn text(source: Source, must_map: &'static [&'static str]) -> Self {
        Samples {
            source,
            files: &["events.log"],
            bar: Bar::MustMap(must_map),
            one_event_per_record: false,
            options: fixed_options(),
            check_flushed: false,
        }
    }

    /// A JSON mail-security source: `events.ndjson` (a record may give
    /// several events), [`mail_json_options`].
    pub fn mail_json(source: Source, bar: Bar) -> Self {
        Samples {
            source,
            files: &["events.ndjson"],
            bar,
            one_event_per_record: false,
            options: mail_json_options(),
            check_flushed: true,
        }
    }

    /// Every record decodes, none breaks the bar, the table row is printed,
    /// and (with `OCSF_VALIDATE`) every event passes `--strict`. Fails if
    /// the samples are missing unless `IDLINK_SAMPLES=skip` (then `None`).
    pub fn run(&self) -> Option<Counts> {
        let source = self.source;
        let Some(dir) = samples_dir() else {
            eprintln!("IDLINK_SAMPLES=skip: not checking {source} samples");
            return None;
        };
        let mut dec = decoder(source, &self.options);
        let mut c = Counts::default();
        let mut ndjson = Vec::new();
        let mut bad = Vec::new();
        let bar = &self.bar;
        let mut tally = |ev: &idlink_parsers::ocsf::Event<'_>, fell_back: &mut Vec<FellBack>| {
            c.events += 1;
            if is_fallback(ev) {
                c.fallback += 1;
                let code = ev.metadata.as_ref().and_then(|m| m.event_code.clone());
                let allowed = match bar {
                    Bar::AllowOnly(ok) => ok(&serialise(ev)),
                    _ => false,
                };
                c.allowed_fallback += u64::from(allowed);
                fell_back.push(FellBack {
                    code: code.unwrap_or_default().into_owned(),
                    allowed,
                });
            } else {
                c.mapped += 1;
            }
            serde_json::to_writer(&mut ndjson, ev).expect("serialise");
            ndjson.push(b'\n');
        };
        for file in self.files {
            let lines = sample_lines(&dir.join(source.name()).join(file));
            for (n, line) in lines.iter().enumerate() {
                c.records += 1;
                let mut fell_back = Vec::new();
                let outcome = dec.decode(line, c.records, &mut |ev| tally(ev, &mut fell_back));
                if !outcome.is_parsed() {
                    c.unparsed += 1;
                    bad.push(format!(
                        "{file}:{}: unparsed {outcome:?}: {}",
                        n + 1,
                        String::from_utf8_lossy(line)
                    ));
                }
                for f in fell_back {
                    eprintln!("fallback: {}", f.code);
                    let fails = match bar {
                        Bar::NoFallback => true,
                        Bar::MustMap(list) => list.contains(&f.code.as_str()),
                        Bar::AllowOnly(_) => !f.allowed,
                    };
                    if fails {
                        bad.push(format!("{file}:{}: fell back: {}", n + 1, f.code));
                    }
                }
            }
        }
        let mut late = Vec::new();
        if self.check_flushed {
            dec.flush(&mut |ev| tally(ev, &mut late));
        } else {
            dec.flush(&mut |_| {});
        }
        let Counts {
            records,
            events,
            mapped,
            fallback,
            unparsed,
            allowed_fallback,
        } = c;
        let allowed = match bar {
            Bar::AllowOnly(_) => format!(", {allowed_fallback} allowed fallback"),
            _ => String::new(),
        };
        println!("source events mapped fallback unparsed");
        println!("{source} {events} {mapped} {fallback} {unparsed}   ({records} records{allowed})");
        assert!(records > 0, "no records");
        for f in late {
            let fails = match bar {
                Bar::NoFallback => true,
                Bar::MustMap(_) => false,
                Bar::AllowOnly(_) => !f.allowed,
            };
            if fails {
                bad.push(format!("flushed event fell back: {}", f.code));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
        assert_eq!(unparsed, 0);
        if self.one_event_per_record {
            assert_eq!(events, records, "one event per record");
        }
        if let Ok(v) = std::env::var("OCSF_VALIDATE") {
            validate(&v, &ndjson, &format!("samples-{source}"));
        }
        Some(c)
    }
}
