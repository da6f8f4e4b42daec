//! The JSON splitter against the vendor framing examples in the shared
//! samples: every `<source>/framing-*.json` must split into the records of
//! the `events.ndjson` lines its MANIFEST row names, with the chunk boundary
//! anywhere.

use std::path::{Path, PathBuf};

use idlink_parsers::framing::{Item, Splitter};
use serde_json::Value;

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

fn split(input: &[u8], chunks: &[usize]) -> Vec<Item> {
    let mut s = Splitter::new(1 << 20);
    let mut items = Vec::new();
    let mut at = 0;
    for &end in chunks.iter().chain(std::iter::once(&input.len())) {
        s.feed(&input[at..end], &mut |f| items.push(Item::from(f)));
        at = end;
    }
    s.finish(&mut |f| items.push(Item::from(f)));
    items
}

fn parsed(items: &[Item]) -> Vec<Value> {
    items
        .iter()
        .map(|it| match it {
            Item::Record { bytes, .. } => serde_json::from_slice(bytes).expect("record is JSON"),
            Item::Error(e) => panic!("framing error {e}"),
        })
        .collect()
}

/// `events.ndjson` lines `from..=to` (1-based) of a source folder.
fn lines(dir: &Path, from: usize, to: usize) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("events.ndjson")).expect("events.ndjson");
    text.lines()
        .skip(from - 1)
        .take(to + 1 - from)
        .map(|l| serde_json::from_str(l).expect("line is JSON"))
        .collect()
}

#[test]
fn vendor_framing_examples_split_into_their_events() {
    let Some(root) = samples_dir() else { return };
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .expect("samples dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let dir = entry.path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
            continue;
        };
        let rows: Vec<Vec<&str>> = manifest.lines().map(|l| l.split('\t').collect()).collect();
        for row in &rows {
            if !(row[0].starts_with("framing-") && row[0].ends_with(".json")) {
                continue;
            }
            let origin = row[3];
            let range = rows
                .iter()
                .find(|r| r[0] == "events.ndjson" && r[3] == origin)
                .map(|r| r[1])
                .unwrap_or_else(|| panic!("{}: no events.ndjson row for {origin}", dir.display()));
            let (from, to) = range.split_once('-').expect("line range");
            let want = lines(&dir, from.parse().unwrap(), to.parse().unwrap());
            let input = std::fs::read(dir.join(row[0])).expect("framing file");
            let whole = split(&input, &[]);
            assert_eq!(parsed(&whole), want, "{}/{}", dir.display(), row[0]);
            for k in 0..=input.len() {
                assert_eq!(split(&input, &[k]), whole, "{}: split at {k}", row[0]);
            }
            let ones: Vec<usize> = (1..input.len()).collect();
            assert_eq!(split(&input, &ones), whole, "{}: one-byte chunks", row[0]);
            checked += 1;
        }
    }
    assert!(checked > 0, "no framing-*.json example found");
}

/// The identity sources' events, re-framed every way the splitter knows,
/// come back as the same records.
#[test]
fn identity_events_in_every_framing() {
    let Some(root) = samples_dir() else { return };
    for source in ["okta", "entra-signin", "entra-audit", "m365-audit"] {
        let dir = root.join(source);
        let text = std::fs::read_to_string(dir.join("events.ndjson")).expect("events.ndjson");
        let raw: Vec<&str> = text.lines().collect();
        let want: Vec<Value> = raw
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let pretty: Vec<String> = want
            .iter()
            .map(|v| serde_json::to_string_pretty(v).unwrap())
            .collect();
        let framings = [
            ("ndjson", text.clone()),
            (
                "ndjson-crlf-bom",
                format!("\u{feff}{}\r\n", raw.join("\r\n")),
            ),
            ("array", format!("[{}]", raw.join(","))),
            ("array-pretty", format!("[\n{}\n]\n", pretty.join(",\n"))),
            ("records", format!("{{\"records\": [{}]}}", raw.join(", "))),
            (
                "graph",
                format!(
                    "{{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#x\",\
                     \"value\":[{}],\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/x\"}}",
                    raw.join(",")
                ),
            ),
            ("pretty", pretty.join("\n")),
            ("pretty-commas", pretty.join(",\n")),
        ];
        for (name, input) in framings {
            let input = input.as_bytes();
            let whole = split(input, &[]);
            assert_eq!(parsed(&whole), want, "{source} {name}");
            let mid: Vec<usize> = (1..input.len()).step_by(997).collect();
            assert_eq!(split(input, &mid), whole, "{source} {name} chunked");
        }
    }
}
