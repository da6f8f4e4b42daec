//! Every ready-made config in `pipelines/` passes `idlink validate`'s checks
//! (with the environment it documents left at its defaults), and the demo
//! produces OCSF events.

use std::path::Path;

fn tomls(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            tomls(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_pipeline_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut files = Vec::new();
    tomls(&dir, &mut files);
    for p in &files {
        let r = idlink::config::load_with_env(p, &|_| None);
        assert!(r.is_ok(), "{}: {:?}", p.display(), r.err());
        // A SIEM outage must fill a disk buffer, never memory or drop.
        for sink in r
            .unwrap()
            .sinks
            .iter()
            .filter(|s| idlink::sinks::is_remote(s))
        {
            assert!(
                matches!(
                    sink.buffer,
                    idlink::buffers::BufferConfig::Disk {
                        when_full: idlink::buffers::WhenFull::Block,
                        fsync: true,
                        ..
                    }
                ),
                "{}: sink {} has {:?}",
                p.display(),
                sink.id,
                sink.buffer
            );
        }
    }
    // Every source has a config per destination.
    for source in idlink_parsers::Source::ALL {
        for sink in ["file", "splunk", "elasticsearch", "sentinel", "http"] {
            let p = dir.join(format!("sources/{source}/{source}-to-{sink}.toml"));
            assert!(files.contains(&p), "missing {}", p.display());
        }
    }
}

#[test]
fn demo_produces_email_and_authentication_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root.join("pipelines/demo.toml"))
        .unwrap()
        .replace(
            "pipelines/demo/",
            &format!("{}/pipelines/demo/", root.display()),
        )
        .replace("demo-out/", &format!("{}/", work.path().display()));
    let cfg_path = work.path().join("demo.toml");
    std::fs::write(&cfg_path, text).unwrap();
    let cfg = idlink::config::load(&cfg_path).unwrap();
    let stats = idlink::topology::start(&cfg, true).unwrap().wait().unwrap();
    let (_, s) = &stats[0];
    let lines: usize = ["postfix.log", "postfix-no-netns.log"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(root.join("pipelines/demo").join(f))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(s.records as usize, lines, "every demo line was read");
    let out = std::fs::read_to_string(work.path().join("ocsf.ndjson")).unwrap();
    assert_eq!(out.lines().count() as u64, s.events);
    assert!(s.by_class.contains_key("4009"), "{s:?}");
    assert!(s.by_class.contains_key("3002"), "{s:?}");
}
