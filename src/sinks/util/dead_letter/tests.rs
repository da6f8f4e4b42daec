use std::path::Path;

use bytes::Bytes;
use serde_json::{json, Value};

use super::*;

fn event(json: &str) -> Encoded {
    Encoded {
        json: Bytes::from(json.to_string()),
        class_uid: 4009,
        time_ms: 1,
    }
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn origin(file: &Path) -> Origin<'_> {
    Origin {
        source: "mail",
        parser: "postfix",
        file,
        fingerprint: 0x00ab_cdef_0123_4567,
        offset: 120,
        length: 31,
    }
}

/// `time` varies; the rest of a line is checked whole.
fn without_time(mut v: Value) -> Value {
    let t = v.as_object_mut().unwrap().remove("time").unwrap();
    let t = t.as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'),
        "{t}"
    );
    v
}

#[test]
fn sink_rejection_line_is_complete_and_reads_back_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dl/splunk.ndjson");
    let dl = DeadLetter::new("splunk", &path);
    let ev = event(r#"{"class_uid":4009,"time":1,"metadata":{"uid":"a"},"message":"é \"q\""}"#);
    let rej = Rejection {
        status: Some(400),
        kind: "hec_invalid_data",
        reason: "HEC code 6: Invalid data format".into(),
    };
    let no_status = Rejection {
        status: None,
        kind: "too_large",
        reason: "too big".into(),
    };
    assert_eq!(
        dl.write([(&ev, "mail", &rej), (&ev, "okta", &no_status)])
            .unwrap(),
        2
    );
    let got = lines(&path);
    assert_eq!(
        without_time(got[0].clone()),
        json!({"v": 1, "stage": "sink", "kind": "hec_invalid_data",
            "reason": "HEC code 6: Invalid data format", "source": "mail", "sink": "splunk",
            "status": 400, "event": serde_json::from_slice::<Value>(&ev.json).unwrap()})
    );
    assert_eq!(got[1]["status"], Value::Null);
    assert_eq!(got[1]["source"], "okta");
    let text = fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap();
    match parse_line(first.as_bytes()).unwrap() {
        Entry::Sink(e) => {
            assert_eq!(e.version, 1);
            assert_eq!(e.sink, "splunk");
            assert_eq!(e.source.as_deref(), Some("mail"));
            assert_eq!(e.kind, "hec_invalid_data");
            assert_eq!(e.event, ev.json, "the event comes back byte for byte");
            assert!(e.time_ms.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(appended(&path), 2);
}

#[test]
fn parse_and_framing_lines_carry_what_replay_needs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.ndjson");
    let log = dir.path().join("mail.log");
    let dl = DeadLetter::new("mail", &path);
    let text_record = b"Nov 22 12:31:52 mx postfix/smtpd[1]: something new";
    let binary_record = b"\xff\xfe not utf-8";
    let at = origin(&log);
    let failures = [
        Failure::Parse {
            at,
            record: text_record,
            kind: "unknown_message",
            reason: "unknown_message at byte 37".into(),
        },
        Failure::Parse {
            at,
            record: binary_record,
            kind: "not_utf8",
            reason: "not_utf8 at byte 0".into(),
        },
        Failure::Framing {
            at,
            kind: "oversize",
            reason: "longer than max_line_bytes".into(),
        },
    ];
    dl.append(&failures).unwrap();
    let got = lines(&path);
    let place = json!({"source": "mail", "parser": "postfix", "file": log.to_str().unwrap(),
        "fingerprint": "00abcdef01234567", "offset": 120, "length": 31});
    let with = |extra: Value| {
        let mut v = place.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    assert_eq!(
        without_time(got[0].clone()),
        with(json!({"v": 1, "stage": "parse", "kind": "unknown_message",
            "reason": "unknown_message at byte 37",
            "record": std::str::from_utf8(text_record).unwrap()}))
    );
    assert_eq!(
        without_time(got[1].clone()),
        with(json!({"v": 1, "stage": "parse", "kind": "not_utf8",
            "reason": "not_utf8 at byte 0", "record_base64": "//4gbm90IHV0Zi04"}))
    );
    assert_eq!(
        without_time(got[2].clone()),
        with(json!({"v": 1, "stage": "framing", "kind": "oversize",
            "reason": "longer than max_line_bytes"}))
    );
    let text = fs::read_to_string(&path).unwrap();
    let read: Vec<Entry> = text
        .lines()
        .map(|l| parse_line(l.as_bytes()).unwrap())
        .collect();
    let entry = |stage: SourceStage, kind: &str, reason: &str, t: Option<i64>| {
        Entry::Source(SourceEntry {
            time_ms: t,
            stage,
            source: "mail".into(),
            parser: "postfix".into(),
            file: log.clone(),
            fingerprint: 0x00ab_cdef_0123_4567,
            offset: 120,
            length: 31,
            kind: kind.into(),
            reason: reason.into(),
        })
    };
    let t = |e: &Entry| match e {
        Entry::Source(s) => s.time_ms,
        Entry::Sink(s) => s.time_ms,
    };
    assert_eq!(
        read[0],
        entry(
            SourceStage::Parse(text_record.to_vec()),
            "unknown_message",
            "unknown_message at byte 37",
            t(&read[0])
        )
    );
    assert_eq!(
        read[1],
        entry(
            SourceStage::Parse(binary_record.to_vec()),
            "not_utf8",
            "not_utf8 at byte 0",
            t(&read[1])
        )
    );
    assert_eq!(
        read[2],
        entry(
            SourceStage::Framing,
            "oversize",
            "longer than max_line_bytes",
            t(&read[2])
        )
    );
    assert!(t(&read[0]).is_some());
}

#[test]
fn unversioned_sink_lines_are_still_read() {
    let old = br#"{"time":"2026-01-02T03:04:05.678Z","sink":"es","status":400,"kind":"bulk_item_rejected","reason":"mapper_parsing_exception: x","event":{"class_uid":3002,"time":5}}"#;
    match parse_line(old).unwrap() {
        Entry::Sink(e) => {
            assert_eq!(
                e,
                SinkEntry {
                    version: 0,
                    time_ms: Some(1_767_323_045_678),
                    sink: "es".into(),
                    source: None,
                    kind: "bulk_item_rejected".into(),
                    reason: "mapper_parsing_exception: x".into(),
                    event: Bytes::from_static(br#"{"class_uid":3002,"time":5}"#),
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lines_that_cannot_be_replayed_say_why() {
    let cases: [(&[u8], &str); 8] = [
        (b"{\"v\":1,\"stage\":\"sink\"", "not a dead-letter line"),
        (b"[1,2]", "not a dead-letter line"),
        (
            br#"{"v":2,"stage":"sink","sink":"a","event":{}}"#,
            "format version 2",
        ),
        (br#"{"time":"x","kind":"y"}"#, "no `v` field"),
        (br#"{"v":1,"sink":"a","event":{}}"#, "missing field `stage`"),
        (
            br#"{"v":1,"stage":"sink","sink":"a","event":"text"}"#,
            "not a JSON object",
        ),
        (
            br#"{"v":1,"stage":"parse","source":"s","parser":"postfix","file":"/f","fingerprint":"zz","offset":1,"length":2,"record":"x"}"#,
            "not 16 hex digits",
        ),
        (br#"{"v":1,"stage":"later"}"#, "unknown stage `later`"),
    ];
    for (line, why) in cases {
        let err = parse_line(line).unwrap_err();
        assert!(
            err.contains(why),
            "{}: {err}",
            String::from_utf8_lossy(line)
        );
    }
    let no_record = br#"{"v":1,"stage":"parse","source":"s","parser":"postfix","file":"/f","fingerprint":"01","offset":1,"length":2}"#;
    assert!(parse_line(no_record).unwrap_err().contains("`record`"));
}

#[test]
fn a_moved_file_is_not_written_to_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.ndjson");
    let moved = dir.path().join("replay-me.ndjson");
    let dl = DeadLetter::new("http", &path);
    let rej = Rejection {
        status: Some(400),
        kind: "http_400",
        reason: "bad".into(),
    };
    dl.write([(&event(r#"{"n":1}"#), "s", &rej)]).unwrap();
    fs::rename(&path, &moved).unwrap();
    dl.write([(&event(r#"{"n":2}"#), "s", &rej)]).unwrap();
    let n = |p: &Path| -> Vec<Value> { lines(p).into_iter().map(|l| l["event"].clone()).collect() };
    assert_eq!(n(&moved), vec![json!({"n": 1})]);
    assert_eq!(n(&path), vec![json!({"n": 2})]);
    assert_eq!(appended(&path), 2);
    assert_eq!(appended(&moved), 0);
}

#[test]
fn a_failed_write_is_an_error_and_counts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: cannot be opened for append.
    let path = dir.path().join("taken");
    fs::create_dir(&path).unwrap();
    let dl = DeadLetter::new("http", &path);
    let rej = Rejection {
        status: Some(400),
        kind: "http_400",
        reason: "bad".into(),
    };
    assert!(dl.write([(&event("{}"), "s", &rej)]).is_err());
    assert_eq!(appended(&path), 0);
}
