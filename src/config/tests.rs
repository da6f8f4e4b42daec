use std::fs;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn no_env(_: &str) -> Option<String> {
    None
}

const GOOD: &str = r#"
data_dir = "/tmp/idlink"
[enrich]
local_domains = ["Example.COM"]
[sources.mail]
type = "file"
include = ["/var/log/mail.log*"]
parser = "postfix"
utc_offset = "+02:00"
[sinks.out]
type = "file"
inputs = ["mail"]
path = "/tmp/out.ndjson"
max_bytes = 1000
"#;

#[test]
fn good_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.toml", GOOD);
    let c = load_with_env(&p, &no_env).unwrap();
    assert_eq!(c.local_domains, vec!["example.com"]);
    assert_eq!(c.sources[0].utc_offset_secs, 7200);
    assert_eq!(c.sources[0].parser, Source::Postfix);
    assert!(matches!(
        c.sinks[0].kind,
        SinkKind::File {
            max_bytes: 1000,
            fsync: true,
            ..
        }
    ));
}

#[test]
fn unknown_key_names_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replace("parser = \"postfix\"", "parser = \"postfix\"\nfolow = true");
    let p = write(dir.path(), "a.toml", &text);
    let errs = load_with_env(&p, &no_env).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].file, p);
    assert!(errs[0].reason.contains("folow"), "{}", errs[0]);
    assert_eq!(errs[0].key, "sources.mail.folow");
}

#[test]
fn every_problem_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.toml",
        r#"
[sources.a]
type = "file"
include = []
parser = "nope"
[sources.b]
type = "file"
include = ["/x"]
parser = "postfix"
utc_offset = "2h"
[sinks.out]
type = "stdout"
inputs = ["b", "ghost"]
"#,
    );
    let errs = load_with_env(&p, &no_env).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|e| e.contains("sources.a.parser") && e.contains("nope")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|e| e.contains("sources.b.utc_offset")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("sinks.out.inputs") && e.contains("ghost")),
        "{text:?}"
    );
}

#[test]
fn directory_merges_and_rejects_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", GOOD);
    let dup = r#"
data_dir = "/elsewhere"
[sources.mail]
type = "file"
include = ["/y"]
parser = "postfix"
[sinks.out2]
type = "stdout"
inputs = ["mail"]
"#;
    let b = write(dir.path(), "b.toml", dup);
    write(dir.path(), "notes.txt", "ignored");
    let errs = load_with_env(dir.path(), &no_env).unwrap_err();
    assert!(
        errs.iter().any(|e| e.file == b && e.key == "sources.mail"),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.file == b && e.key == "data_dir"),
        "{errs:?}"
    );
}

#[test]
fn env_interpolation_and_missing_var() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replace("/tmp/out.ndjson", "${OUT_DIR:-/tmp}/${NAME}.ndjson");
    let p = write(dir.path(), "a.toml", &text);
    let env = |k: &str| (k == "NAME").then(|| "ocsf".to_string());
    let c = load_with_env(&p, &env).unwrap();
    match &c.sinks[0].kind {
        SinkKind::File { path, .. } => assert_eq!(path, Path::new("/tmp/ocsf.ndjson")),
        other => panic!("{other:?}"),
    }
    let errs = load_with_env(&p, &no_env).unwrap_err();
    assert!(errs[0].reason.contains("NAME"), "{errs:?}");
}

#[test]
fn source_without_sink_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD.replace("inputs = [\"mail\"]", "inputs = []");
    let p = write(dir.path(), "a.toml", &text);
    let errs = load_with_env(&p, &no_env).unwrap_err();
    assert!(errs.iter().any(|e| e.key == "sinks.out.inputs"), "{errs:?}");
    assert!(errs.iter().any(|e| e.key == "sources.mail"), "{errs:?}");
}

#[test]
fn buffers_default_to_memory_and_disk_needs_an_explicit_when_full() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.toml", GOOD);
    let c = load_with_env(&p, &no_env).unwrap();
    assert_eq!(c.sinks[0].buffer, BufferConfig::default());

    let disk = format!(
        "{GOOD}[sinks.out.buffer]\ntype = \"disk\"\nmax_bytes = 268435456\nwhen_full = \"drop_newest\"\n"
    );
    let p = write(dir.path(), "b.toml", &disk);
    let c = load_with_env(&p, &no_env).unwrap();
    assert_eq!(
        c.sinks[0].buffer,
        BufferConfig::Disk {
            max_bytes: 268_435_456,
            when_full: crate::buffers::WhenFull::DropNewest,
            fsync: true,
        }
    );

    let cases = [
        (
            "type = \"disk\"\nmax_bytes = 268435456\n",
            "sinks.out",
            "when_full",
        ),
        (
            "type = \"disk\"\nmax_bytes = 1000\nwhen_full = \"block\"\n",
            "sinks.out.buffer.max_bytes",
            "minimum",
        ),
        (
            "type = \"memory\"\nmax_batches = 0\n",
            "sinks.out.buffer.max_batches",
            "at least 1",
        ),
        (
            "type = \"disk\"\nmax_bytes = 268435456\nwhen_full = \"drop_oldest\"\n",
            "sinks.out",
            "drop_oldest",
        ),
    ];
    for (i, (table, key, reason)) in cases.iter().enumerate() {
        let text = format!("{GOOD}[sinks.out.buffer]\n{table}");
        let p = write(dir.path(), &format!("bad{i}.toml"), &text);
        let errs = load_with_env(&p, &no_env).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].key.starts_with(key), "{}", errs[0]);
        assert!(errs[0].reason.contains(reason), "{}", errs[0]);
    }
}

#[test]
fn source_dead_letter_is_optional_and_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.toml", GOOD);
    assert_eq!(
        load_with_env(&p, &no_env).unwrap().sources[0].dead_letter,
        None
    );
    let text = GOOD.replace(
        "parser = \"postfix\"",
        "parser = \"postfix\"\ndead_letter = \"/var/lib/idlink/dead_letter/source-mail.ndjson\"",
    );
    let p = write(dir.path(), "a.toml", &text);
    let c = load_with_env(&p, &no_env).unwrap();
    assert_eq!(
        c.sources[0].dead_letter.as_deref(),
        Some(Path::new("/var/lib/idlink/dead_letter/source-mail.ndjson"))
    );
}

#[test]
fn source_dead_letter_errors_name_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let cases = [
        ("\"\"".to_string(), "must not be empty".to_string()),
        (format!("\"{d}\""), "is a directory".to_string()),
        (
            "\"/tmp/out.ndjson\"".to_string(),
            "is also the output file of sink `out`".to_string(),
        ),
        (
            "\"/var/log/mail.log.dead\"".to_string(),
            "matches sources.mail.include".to_string(),
        ),
    ];
    for (value, why) in cases {
        let text = GOOD.replace(
            "parser = \"postfix\"",
            &format!("parser = \"postfix\"\ndead_letter = {value}"),
        );
        let p = write(dir.path(), "a.toml", &text);
        let errs = load_with_env(&p, &no_env).unwrap_err();
        assert_eq!(errs.len(), 1, "{value}: {errs:?}");
        assert_eq!(errs[0].file, p);
        assert_eq!(errs[0].key, "sources.mail.dead_letter");
        assert!(errs[0].reason.contains(&why), "{value}: {}", errs[0]);
    }
}

#[test]
fn source_dead_letter_must_not_be_shared() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
data_dir = "/tmp/idlink"
[sources.a]
type = "file"
include = ["/logs/a.log"]
parser = "postfix"
dead_letter = "/dl/shared.ndjson"
[sources.b]
type = "file"
include = ["/logs/b.log"]
parser = "postfix"
dead_letter = "/dl/shared.ndjson"
[sources.c]
type = "file"
include = ["/logs/c.log"]
parser = "postfix"
dead_letter = "/dl/hec.ndjson"
[sinks.hec]
type = "splunk_hec"
inputs = ["a", "b", "c"]
endpoint = "http://127.0.0.1:8088"
token = "t"
dead_letter.path = "/dl/hec.ndjson"
"#;
    let p = write(dir.path(), "a.toml", text);
    let errs = load_with_env(&p, &no_env).unwrap_err();
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "sources.b.dead_letter",
                "/dl/shared.ndjson is also the dead-letter file of source `a`"
            ),
            (
                "sources.c.dead_letter",
                "/dl/hec.ndjson is also the dead-letter file of sink `hec`"
            ),
        ]
    );
}
