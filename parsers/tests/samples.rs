//! Parse rate over the shared Postfix samples (not shipped with the crate).
//!
//! Reads `$IDLINK_SAMPLES/postfix/events.log` and
//! `$IDLINK_SAMPLES/lab-postfix/*.log` (default `../../shared/samples`
//! relative to this crate), feeds every line to the Postfix decoder and
//! fails if fewer than 99 % of the lines from Postfix programs are
//! recognised. A Postfix line is one whose syslog program starts with
//! `postfix` (decided here by a simple look at the tag, not by the parser
//! under test) or a header-less message part (`form` = `msg` in the
//! samples' `MANIFEST.tsv`). A missing samples folder fails the test unless
//! `IDLINK_SAMPLES=skip`.
//!
//! With `OCSF_VALIDATE=/path/to/ocsf-validate`, every event produced is
//! also written to a temporary NDJSON file and checked with `--strict`.

mod util;

use std::fs;
use std::path::{Path, PathBuf};

use idlink_parsers::{decoder, Outcome, Source};

/// The syslog tag's program starts with `postfix`: the first token within
/// the first seven that ends with `:` and has a `[pid]` or a `/`.
fn tag_is_postfix(line: &str) -> bool {
    for tok in line.split_whitespace().take(7) {
        if let Some(t) = tok.strip_suffix(':') {
            if t.contains('[') || t.contains('/') {
                return t.starts_with("postfix");
            }
        }
    }
    false
}

/// Line numbers (1-based) of `events.log` that are header-less message parts.
fn msg_form_lines(manifest: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() >= 6 && cols[0] == "events.log" && cols[5] == "msg" {
            if let Some((a, b)) = cols[1].split_once('-') {
                if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                    out.push((a, b));
                }
            }
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    records: usize,
    postfix: usize,
    recognised_postfix: usize,
    recognised_all: usize,
    misses: Vec<String>,
}

fn run_file(
    path: &Path,
    msg_ranges: &[(usize, usize)],
    all_postfix: bool,
    tally: &mut Tally,
    events: &mut Vec<u8>,
) {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dec = decoder(Source::Postfix, &util::options());
    let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
        serde_json::to_writer(&mut *events, &ev).expect("serialise");
        events.push(b'\n');
    };
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let no = n + 1;
        let is_pf = all_postfix
            || msg_ranges.iter().any(|&(a, b)| (a..=b).contains(&no))
            || tag_is_postfix(&String::from_utf8_lossy(line));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dec.decode(line, n as u64, &mut sink)
        }))
        .unwrap_or_else(|_| {
            panic!(
                "panic on {}:{no}: {}",
                path.display(),
                String::from_utf8_lossy(line)
            )
        });
        tally.records += 1;
        let ok = matches!(outcome, Outcome::Parsed);
        if ok {
            tally.recognised_all += 1;
        }
        if is_pf {
            tally.postfix += 1;
            if ok {
                tally.recognised_postfix += 1;
            } else {
                tally.misses.push(format!(
                    "{}:{no}: {}",
                    path.file_name().and_then(|f| f.to_str()).unwrap_or(""),
                    String::from_utf8_lossy(line)
                ));
            }
        }
    }
    dec.flush(&mut sink);
}

#[test]
fn postfix_parse_rate() {
    let Some(dir) = util::samples_dir() else {
        eprintln!("IDLINK_SAMPLES=skip: samples parse-rate test skipped");
        return;
    };
    let events_log = dir.join("postfix/events.log");
    assert!(
        events_log.is_file(),
        "samples not found at {} (set IDLINK_SAMPLES to the shared samples folder, or IDLINK_SAMPLES=skip)",
        dir.display()
    );
    let manifest =
        fs::read_to_string(dir.join("postfix/MANIFEST.tsv")).expect("postfix/MANIFEST.tsv");
    let ranges = msg_form_lines(&manifest);
    let mut tally = Tally::default();
    let mut events = Vec::new();
    run_file(&events_log, &ranges, false, &mut tally, &mut events);
    let mut lab: Vec<PathBuf> = fs::read_dir(dir.join("lab-postfix"))
        .expect("lab-postfix folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    lab.sort();
    for p in &lab {
        // postfix*.log files hold only Postfix programs; others (policyd-spf)
        // are filter logs and count by their tag.
        let all = p
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.starts_with("postfix"));
        run_file(p, &[], all, &mut tally, &mut events);
    }
    let rate = tally.recognised_postfix as f64 / tally.postfix.max(1) as f64;
    println!(
        "records {} | postfix lines {} | recognised {} | rate {:.2} % | all lines recognised {} ({:.2} %)",
        tally.records,
        tally.postfix,
        tally.recognised_postfix,
        rate * 100.0,
        tally.recognised_all,
        tally.recognised_all as f64 * 100.0 / tally.records.max(1) as f64
    );
    for m in tally.misses.iter().take(200) {
        println!("  miss {m}");
    }
    if let Ok(v) = std::env::var("OCSF_VALIDATE") {
        util::validate(&v, &events, "samples");
    }
    assert!(rate >= 0.99, "parse rate {:.2} % < 99 %", rate * 100.0);
}
