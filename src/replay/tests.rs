use std::path::Path;

use serde_json::json;

use super::*;

fn read_all(input: &[u8], max: usize) -> Vec<Result<String, u64>> {
    let mut lines = Lines::new(input, max);
    let mut out = Vec::new();
    while let Some(l) = lines.read_line().unwrap() {
        out.push(match l {
            Line::Whole(b) => Ok(String::from_utf8(b.to_vec()).unwrap()),
            Line::TooLong(n) => Err(n),
        });
    }
    out
}

#[test]
fn lines_are_read_in_bounded_memory() {
    let long = "x".repeat(25);
    let input = format!("a\r\nbb\n\n{long}\nlast");
    assert_eq!(
        read_all(input.as_bytes(), 10),
        vec![
            Ok("a".into()),
            Ok("bb".into()),
            Ok(String::new()),
            Err(25),
            Ok("last".into())
        ]
    );
    assert_eq!(read_all(b"", 10), vec![]);
    assert_eq!(read_all(b"exactly-10\n", 10), vec![Ok("exactly-10".into())]);
}

fn config(dir: &Path) -> Config {
    let d = dir.display();
    let text = format!(
        r#"
data_dir = "{d}/data"
[sources.mail]
type = "file"
include = ["{d}/logs/*.log"]
parser = "postfix"
year = 2026
dead_letter = "{d}/dl.ndjson"
[sinks.out]
type = "file"
inputs = ["mail"]
path = "{d}/out.ndjson"
[sinks.http]
type = "http"
inputs = ["mail"]
endpoint = "http://127.0.0.1:1"
dead_letter.path = "{d}/http-dl.ndjson"
"#
    );
    let p = dir.join("idlink.toml");
    std::fs::write(&p, text).unwrap();
    crate::config::load_with_env(&p, &|_| None).unwrap()
}

fn parse_line(n: u64, record: &str) -> String {
    json!({"v": 1, "time": "2026-11-22T13:00:00.000Z", "stage": "parse", "kind": "header",
        "reason": "r", "source": "mail", "parser": "exim", "file": "/var/log/mail.log",
        "fingerprint": "0000000000000001", "offset": n * 100, "length": record.len() + 1,
        "record": record})
    .to_string()
}

#[test]
fn a_dry_run_decides_as_a_replay_and_sends_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let sasl = "Nov 22 12:31:52 mx postfix/smtpd[19576]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: authentication failure, sasl_username=bob@example.test";
    let lines = [
        parse_line(0, sasl),
        parse_line(1, "not a postfix line"),
        json!({"v": 1, "time": "2026-11-22T13:00:00.000Z", "stage": "sink", "kind": "http_400",
            "reason": "r", "source": "mail", "sink": "http", "status": 400,
            "event": {"class_uid": 4009, "time": 5}})
        .to_string(),
        "{\"v\":1".to_string(),
        parse_line(4, sasl).replace("\"source\":\"mail\"", "\"source\":\"ghost\""),
    ];
    let file = dir.path().join("replay.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let opts = ReplayOptions {
        file: file.clone(),
        sink: None,
        dry_run: true,
    };
    let mut reported = Vec::new();
    let s = replay(&cfg, &opts, Arc::new(AtomicBool::new(false)), &mut |s| {
        reported.push(s.clone())
    })
    .unwrap();
    assert_eq!(s.lines, 5);
    assert_eq!(s.skipped, 2);
    assert_eq!(s.skips, reported);
    assert_eq!(
        s.skips.iter().map(|k| k.line).collect::<Vec<_>>(),
        vec![Some(4), Some(5)]
    );
    assert!(s.skips[0].why.starts_with("malformed: "), "{:?}", s.skips);
    assert_eq!(s.skips[1].why, "no source `ghost` in the configuration");
    assert_eq!(
        s.sources.get("mail"),
        Some(&SourceCount {
            records: 2,
            parsed: 1,
            events: 1,
            failed_again: 1,
            dead_letter: Some(dir.path().join("dl.ndjson")),
            unwritten: None,
        })
    );
    // The recognised record's event would go to both sinks of its source;
    // the unrecognised one's Base Event was delivered before and would
    // not be sent again; the sink line goes to its sink.
    let sent: Vec<(&str, u64)> = s.sinks.iter().map(|(k, c)| (k.as_str(), c.sent)).collect();
    assert_eq!(sent, vec![("http", 2), ("out", 1)]);
    assert_eq!(s.failed_again(), 1);
    assert!(!s.is_clean());
    for f in ["dl.ndjson", "out.ndjson", "http-dl.ndjson"] {
        assert!(!dir.path().join(f).exists(), "{f} written by a dry run");
    }
}

#[test]
fn unknown_sink_option_is_an_error_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let opts = ReplayOptions {
        file: dir.path().join("missing.ndjson"),
        sink: Some("nope".into()),
        dry_run: false,
    };
    let err = replay(&cfg, &opts, Arc::new(AtomicBool::new(false)), &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--sink nope: no such sink; configured: http, out"
    );
}
