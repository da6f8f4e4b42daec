//! The event writer (`ocsf::write`, the generated `WriteJson` impls) gives
//! serde_json's bytes for every event every source makes from its golden
//! fixtures and, when present, the shared samples.

use std::path::{Path, PathBuf};

use idlink_parsers::framing::{Item, Splitter};
use idlink_parsers::ocsf::write::{self, WriteJson};
use idlink_parsers::sources::Framing;
use idlink_parsers::{decoder, Options, Source};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file()
                && !name.ends_with(".ocsf.json")
                && !name.ends_with(".md")
                && !name.starts_with("MANIFEST")
        })
        .collect();
    files.sort();
    files
}

fn records(source: Source, bytes: &[u8]) -> Vec<Vec<u8>> {
    match source.framing() {
        Framing::Lines => bytes
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect(),
        Framing::Json => {
            let mut s = Splitter::new(1 << 24);
            s.push(bytes);
            s.push_end();
            std::iter::from_fn(|| s.next_item())
                .filter_map(|it| match it {
                    Item::Record { bytes, .. } => Some(bytes),
                    Item::Error(_) => None,
                })
                .collect()
        }
    }
}

/// Every event of `files` written both ways; returns how many.
fn check(source: Source, files: &[PathBuf]) -> usize {
    let mut dec = decoder(source, &Options::default());
    let mut n = 0;
    // Reused across events, as the agent does: its room holds what earlier
    // events left there.
    let mut reused = write::JsonBuf::with_capacity(64);
    let mut compare = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
        let want = serde_json::to_vec(&ev).expect("serde_json");
        let mut got = Vec::new();
        ev.write_json(&mut got).expect("write_json");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{}",
            source.name()
        );
        reused.clear();
        ev.write_json(&mut reused).expect("write_json");
        assert_eq!(
            String::from_utf8_lossy(reused.as_bytes()),
            String::from_utf8_lossy(&want),
            "{}",
            source.name()
        );
        let mut fresh = write::JsonBuf::default();
        ev.write_json(&mut fresh).expect("write_json");
        assert_eq!(fresh.as_bytes(), &want[..]);
        assert_eq!(write::to_vec(&ev).expect("to_vec"), want);
        n += 1;
    };
    for f in files {
        let bytes = std::fs::read(f).expect("read input");
        for (i, r) in records(source, &bytes).iter().enumerate() {
            dec.decode(r, i as u64, &mut compare);
        }
    }
    dec.flush(&mut compare);
    n
}

#[test]
fn every_source_writes_serde_json_bytes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let samples = root.join("../../shared/samples");
    let mut total = 0;
    for &source in Source::ALL {
        let mut files = inputs(&root.join("tests/fixtures").join(source.name()));
        files.extend(inputs(&samples.join(source.name())));
        let n = check(source, &files);
        assert!(n > 0, "no events for {}", source.name());
        total += n;
    }
    assert!(total > 1000, "{total}");
}
