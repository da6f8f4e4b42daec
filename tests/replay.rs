//! Dead letters end to end: a far end rejects some events, they land in the
//! dead-letter file (format v1), the far end is fixed, `idlink replay`
//! sends exactly them; parse failures of a source with `dead_letter` are
//! kept with their file and offset, and a replay after the config is fixed
//! produces the events a correct run produces; old-format lines still
//! replay; malformed lines are reported and counted.

#[allow(dead_code)] // only the kill-on-drop guard is used here
mod agent_process;
mod sinks_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent_process::Agent;
use serde_json::{json, Value};
use sinks_support::*;

const HTTP_KEYS: &str = "batch.timeout_secs = 0.05\nrequest.retry_initial_backoff_secs = 0.01\nrequest.retry_max_backoff_secs = 0.1\nrequest.timeout_secs = 5\n";

fn demo_log() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo/postfix.log")
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// `idlink run --once` in this process.
fn run_once(cfg: &Path) {
    let c = idlink::config::load(cfg).unwrap();
    idlink::topology::start(&c, true).unwrap().wait().unwrap();
}

fn ndjson(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whole JSON values as a sorted list (order across concurrent requests is
/// not part of the contract; multiplicity is).
fn sorted(v: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut s: Vec<String> = v.into_iter().map(|v| v.to_string()).collect();
    s.sort();
    s
}

/// `idlink replay` as a child process: exit code and stderr.
fn replay(file: &Path, cfg: &Path, extra: &[&str]) -> (i32, String) {
    let err_path = file.with_extension("stderr");
    let err = fs::File::create(&err_path).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idlink"));
    cmd.arg("replay")
        .arg("--from-dead-letter")
        .arg(file)
        .arg("--config")
        .arg(cfg)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(err);
    let mut child = Agent(cmd.spawn().unwrap());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "replay did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        fs::read_to_string(&err_path).unwrap(),
    )
}

/// A `line` of the summary, e.g. `failed again:`, with its value.
fn summary_value(stderr: &str, label: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` in:\n{stderr}"));
    line.trim_start()[label.len()..].trim().to_string()
}

fn bulk(body: &[u8]) -> Vec<Value> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect::<Vec<Value>>()
        .chunks(2)
        .map(|c| c[1].clone())
        .collect()
}

#[derive(Default)]
struct Es {
    fixed: bool,
    rejected: Vec<Value>,
    stored: Vec<Value>,
}

#[test]
fn elasticsearch_rejections_are_replayed_exactly_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let es = Arc::new(Mutex::new(Es::default()));
    let e2 = es.clone();
    // Until its mapping is fixed, the cluster rejects every Authentication
    // document (a field mapped with the wrong type).
    let server = serve(move |req| {
        let mut st = e2.lock().unwrap();
        let mut items = Vec::new();
        for doc in bulk(&req.body) {
            if !st.fixed && doc["class_uid"] == 3002 {
                st.rejected.push(doc);
                items.push(json!({"create": {"status": 400, "error": {
                    "type": "document_parsing_exception",
                    "reason": "[user.name] failed to parse field of type long"}}}));
            } else {
                st.stored.push(doc);
                items.push(json!({"create": {"status": 201}}));
            }
        }
        ok(&json!({"errors": true, "items": items}).to_string())
    });
    let dl = d.join("dead_letter/es.ndjson");
    let cfg = write_config(
        d,
        "idlink.toml",
        &format!(
            "data_dir = \"{d}/data\"\n[sources.mail]\ntype = \"file\"\ninclude = [\"{log}\"]\nparser = \"postfix\"\nyear = 2026\n[sinks.es]\ntype = \"elasticsearch\"\ninputs = [\"mail\"]\nendpoint = \"{url}\"\n{HTTP_KEYS}dead_letter.path = \"{dl}\"\n",
            d = d.display(),
            log = demo_log().display(),
            url = server.url(),
            dl = dl.display()
        ),
    );
    run_once(&cfg);

    let (rejected, stored_before) = {
        let st = es.lock().unwrap();
        (st.rejected.clone(), st.stored.len())
    };
    assert!(!rejected.is_empty() && stored_before > 0);
    // Each rejected event is one v1 line: where it failed, why, from which
    // source, and the event exactly as it was to be sent.
    let lines = ndjson(&dl);
    let expected_lines = rejected.iter().map(|doc| {
        let mut ev = doc.clone();
        ev.as_object_mut().unwrap().remove("@timestamp");
        json!({"v": 1, "stage": "sink", "kind": "bulk_item_rejected",
            "reason": "document_parsing_exception: [user.name] failed to parse field of type long",
            "source": "mail", "sink": "es", "status": 400, "event": ev})
    });
    let got_lines = lines.iter().map(|l| {
        let mut l = l.clone();
        l.as_object_mut().unwrap().remove("time").unwrap();
        l
    });
    assert_eq!(sorted(got_lines), sorted(expected_lines));

    // The operator moves the file away, fixes the mapping, tries a dry run,
    // then replays.
    let file = d.join("es.replay.ndjson");
    fs::rename(&dl, &file).unwrap();
    let original = fs::read(&file).unwrap();
    es.lock().unwrap().fixed = true;
    let (code, err) = replay(&file, &cfg, &["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        summary_value(&err, "would resend:"),
        format!("{n} events (es {n})", n = rejected.len())
    );
    assert_eq!(
        es.lock().unwrap().stored.len(),
        stored_before,
        "dry run sent"
    );

    let (code, err) = replay(&file, &cfg, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        summary_value(&err, "resent and acknowledged:"),
        format!("{n} events (es {n})", n = rejected.len())
    );
    assert_eq!(summary_value(&err, "failed again:"), "0");
    assert_eq!(summary_value(&err, "skipped:"), "0 lines");
    let resent = es.lock().unwrap().stored[stored_before..].to_vec();
    assert_eq!(
        sorted(resent),
        sorted(rejected),
        "exactly the rejected events"
    );
    assert_eq!(fs::read(&file).unwrap(), original, "FILE is not modified");
    assert!(!dl.exists(), "nothing failed again");
}

#[test]
fn http_replay_reads_old_lines_reports_bad_ones_and_dead_letters_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let got = Arc::new(Mutex::new(Vec::new()));
    let fixed = Arc::new(AtomicBool::new(false));
    let (g, f) = (got.clone(), fixed.clone());
    // One event per request; until fixed, Authentication events are
    // refused; an event marked "still-bad" is refused for good.
    let server = serve(move |req| {
        let ev: Value = serde_json::from_slice(req.body.trim_ascii_end()).unwrap();
        let refuse =
            uid_of(&ev) == "still-bad" || (!f.load(Ordering::SeqCst) && ev["class_uid"] == 3002);
        if refuse {
            return status(400, "{\"error\":\"schema violation\"}");
        }
        g.lock().unwrap().push(ev);
        status(200, "")
    });
    let dl = d.join("dead_letter/http.ndjson");
    let cfg = write_config(
        d,
        "idlink.toml",
        &format!(
            "data_dir = \"{d}/data\"\n[sources.mail]\ntype = \"file\"\ninclude = [\"{log}\"]\nparser = \"postfix\"\nyear = 2026\n[sinks.http]\ntype = \"http\"\ninputs = [\"mail\"]\nendpoint = \"{url}/ingest\"\nbatch.max_events = 1\n{HTTP_KEYS}dead_letter.path = \"{dl}\"\n",
            d = d.display(),
            log = demo_log().display(),
            url = server.url(),
            dl = dl.display()
        ),
    );
    run_once(&cfg);
    let v1: Vec<Value> = ndjson(&dl);
    assert!(!v1.is_empty());
    for l in &v1 {
        assert_eq!(
            (&l["v"], &l["stage"], &l["kind"], &l["status"]),
            (&json!(1), &json!("sink"), &json!("http_400"), &json!(400))
        );
        assert_eq!(l["event"]["class_uid"], 3002);
    }
    let delivered_first = got.lock().unwrap().len();

    // The file to replay: the v1 lines, then lines written before the
    // format had a version, a blank line, and lines that cannot be
    // replayed.
    let legacy_ok = json!({"class_uid": 4009, "time": 1_795_000_000_000i64, "metadata": {"uid": "legacy-1", "version": "1.8.0"}});
    let legacy_bad = json!({"class_uid": 4009, "time": 1_795_000_000_001i64, "metadata": {"uid": "still-bad", "version": "1.8.0"}});
    let mut text = fs::read_to_string(&dl).unwrap();
    let first_extra = v1.len() + 1;
    for ev in [&legacy_ok, &legacy_bad] {
        text.push_str(&format!(
            "{{\"time\":\"2026-01-02T03:04:05.678Z\",\"sink\":\"http\",\"status\":400,\"kind\":\"http_400\",\"reason\":\"HTTP 400: bad\",\"event\":{ev}}}\n"
        ));
    }
    text.push('\n');
    text.push_str("{\"v\":1,\"stage\":\"sink\",\"sink\":\"http\",\"event\":{\"class_uid\"\n");
    text.push_str(&format!(
        "{{\"v\":1,\"stage\":\"sink\",\"source\":\"mail\",\"sink\":\"gone\",\"status\":400,\"kind\":\"http_400\",\"reason\":\"x\",\"event\":{legacy_ok}}}\n"
    ));
    text.push_str("{\"v\":7,\"stage\":\"sink\",\"sink\":\"http\",\"event\":{}}\n");
    let file = d.join("http.replay.ndjson");
    fs::write(&file, &text).unwrap();
    fs::remove_file(&dl).unwrap();

    fixed.store(true, Ordering::SeqCst);
    let (code, err) = replay(&file, &cfg, &[]);
    assert_eq!(code, 2, "{err}");
    let shown = file.display();
    let blank = first_extra + 2;
    for (line, why) in [
        (blank + 1, "skipped: malformed: not a dead-letter line"),
        (blank + 2, "skipped: unknown sink `gone`; configured: http"),
        (blank + 3, "skipped: malformed: format version 7"),
    ] {
        let want = format!("{shown}:{line}: {why}");
        assert!(err.contains(&want), "no `{want}` in:\n{err}");
    }
    assert_eq!(
        summary_value(&err, "skipped:"),
        "3 lines (each reported above)"
    );
    assert_eq!(summary_value(&err, "read:"), format!("{} lines", blank + 3));
    assert_eq!(
        summary_value(&err, "resent and acknowledged:"),
        format!("{n} events (http {n})", n = v1.len() + 1)
    );
    assert_eq!(summary_value(&err, "failed again:"), "1");

    // The receiver got exactly the v1 events and the good old-format one.
    let resent = got.lock().unwrap()[delivered_first..].to_vec();
    let want = v1
        .iter()
        .map(|l| l["event"].clone())
        .chain([legacy_ok.clone()]);
    assert_eq!(sorted(resent), sorted(want));
    // What failed again is in the sink's dead-letter file, in v1, with the
    // source its old line did not name (the sink's only input).
    let again: Vec<Value> = ndjson(&dl)
        .into_iter()
        .map(|mut l| {
            l.as_object_mut().unwrap().remove("time");
            l
        })
        .collect();
    assert_eq!(
        again,
        vec![json!({"v": 1, "stage": "sink", "kind": "http_400",
            "reason": "HTTP 400: {\"error\":\"schema violation\"}", "source": "mail",
            "sink": "http", "status": 400, "event": legacy_bad})]
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        text,
        "FILE is not modified"
    );
}

/// A source config for the demo log with `parser`, `dead_letter` (if any)
/// and a file sink at `out`.
fn postfix_config(d: &Path, name: &str, parser: &str, dead: Option<&Path>, out: &Path) -> PathBuf {
    let dead = dead.map_or(String::new(), |p| {
        format!("dead_letter = \"{}\"\n", p.display())
    });
    write_config(
        d,
        name,
        &format!(
            "data_dir = \"{d}/data-{name}\"\n[enrich]\nlocal_domains = [\"example.test\"]\n[sources.mail]\ntype = \"file\"\ninclude = [\"{log}\"]\nparser = \"{parser}\"\nyear = 2026\n{dead}[sinks.out]\ntype = \"file\"\ninputs = [\"mail\"]\npath = \"{out}\"\n",
            d = d.display(),
            log = demo_log().display(),
            out = out.display()
        ),
    )
}

#[test]
fn parse_failures_are_kept_with_their_place_and_replay_after_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = fs::read(demo_log()).unwrap();
    let n_lines = log.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    // A Postfix log configured with the Exim parser (a copied config):
    // no line is recognised.
    let dl = d.join("dead_letter/mail.ndjson");
    let wrong = postfix_config(d, "wrong.toml", "exim", Some(&dl), &d.join("wrong.ndjson"));
    run_once(&wrong);
    // As without a dead-letter file, each line still became a Base Event.
    let base = ndjson(&d.join("wrong.ndjson"));
    assert_eq!(base.len(), n_lines);
    assert!(base
        .iter()
        .all(|e| e["class_uid"] == 0 && e["unmapped"]["idlink"]["parse_error"].is_string()));
    // And each is in the dead-letter file, with what a replay needs: the
    // file, its fingerprint, and offsets that cover it line by line.
    let lines = ndjson(&dl);
    assert_eq!(lines.len(), n_lines);
    let mut next = 0u64;
    for l in &lines {
        assert_eq!(
            (&l["v"], &l["stage"], &l["source"], &l["parser"]),
            (&json!(1), &json!("parse"), &json!("mail"), &json!("exim"))
        );
        assert_eq!(l["file"], demo_log().to_str().unwrap());
        assert_eq!(l["fingerprint"].as_str().unwrap().len(), 16);
        let (off, len) = (l["offset"].as_u64().unwrap(), l["length"].as_u64().unwrap());
        assert_eq!(off, next, "records are contiguous");
        next = off + len;
        let mut want = l["record"].as_str().unwrap().as_bytes().to_vec();
        want.push(b'\n');
        assert_eq!(&log[off as usize..next as usize], &want[..]);
        assert!(l["reason"]
            .as_str()
            .unwrap()
            .starts_with("not recognised by parser exim: "));
    }
    assert_eq!(next, log.len() as u64);

    // Fixed: the right parser. The replay's events are the events a
    // correct run makes of the same log, byte for byte and in order.
    let file = d.join("mail.replay.ndjson");
    fs::rename(&dl, &file).unwrap();
    let replayed = d.join("replayed.ndjson");
    let fixed = postfix_config(d, "fixed.toml", "postfix", Some(&dl), &replayed);
    let (code, err) = replay(&file, &fixed, &[]);
    assert_eq!(code, 0, "{err}");
    let correct = d.join("correct.ndjson");
    run_once(&postfix_config(
        d,
        "correct.toml",
        "postfix",
        None,
        &correct,
    ));
    let want = fs::read_to_string(&correct).unwrap();
    assert!(!want.is_empty());
    assert_eq!(fs::read_to_string(&replayed).unwrap(), want);
    assert_eq!(
        summary_value(&err, "parsed again (source mail):"),
        format!(
            "{n_lines} records, {n_lines} recognised, {} events",
            want.lines().count()
        )
    );
    assert!(!dl.exists(), "nothing failed again");
}

#[test]
fn records_that_fail_again_are_written_again_not_resent_as_base_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dl = d.join("dl.ndjson");
    let cfg = postfix_config(d, "a.toml", "postfix", Some(&dl), &d.join("a.ndjson"));
    // Two records Postfix does not know, as a source would have kept them.
    let fp = "00000000000000ab";
    let line = |n: u64, rec: &str| {
        json!({"v": 1, "time": "2026-11-22T12:00:00.000Z", "stage": "parse",
            "kind": "unknown_message", "reason": "r", "source": "mail", "parser": "postfix",
            "file": "/var/log/mail.log", "fingerprint": fp, "offset": n, "length": rec.len() + 1,
            "record": rec})
        .to_string()
    };
    let recs = [
        "Nov 22 12:31:52 mx postfix/smtpd[1]: a message no parser knows",
        "garbage without a header",
    ];
    let file = d.join("replay.ndjson");
    fs::write(
        &file,
        format!("{}\n{}\n", line(0, recs[0]), line(100, recs[1])),
    )
    .unwrap();
    let (code, err) = replay(&file, &cfg, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(summary_value(&err, "failed again:"), "2");
    assert!(
        err.contains(&format!(
            "2 records of source mail not recognised, written to {}",
            dl.display()
        )),
        "{err}"
    );
    // Their Base Events were delivered when they first failed: not again.
    assert_eq!(
        fs::read_to_string(d.join("a.ndjson")).unwrap_or_default(),
        ""
    );
    let again = ndjson(&dl);
    let got: Vec<(Value, Value, Value, Value)> = again
        .iter()
        .map(|l| {
            (
                l["record"].clone(),
                l["offset"].clone(),
                l["fingerprint"].clone(),
                l["stage"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!(recs[0]), json!(0), json!(fp), json!("parse")),
            (json!(recs[1]), json!(100), json!(fp), json!("parse")),
        ]
    );
}

#[test]
fn framing_failures_are_read_back_from_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = d.join("okta");
    fs::create_dir_all(&logs).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers/tests/fixtures/okta");
    let mut records = 0;
    for e in fs::read_dir(&fixtures).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".json") && !name.ends_with(".ocsf.json") {
            let text = fs::read_to_string(&p).unwrap();
            records += text.lines().filter(|l| !l.trim().is_empty()).count();
            fs::write(logs.join(name), text).unwrap();
        }
    }
    let config = |name: &str, max: usize, dl: &Path, out: &Path| {
        write_config(
            d,
            name,
            &format!(
                "data_dir = \"{d}/data-{name}\"\n[sources.okta]\ntype = \"file\"\ninclude = [\"{logs}/*.json\"]\nparser = \"okta\"\nmax_line_bytes = {max}\ndead_letter = \"{dl}\"\n[sinks.out]\ntype = \"file\"\ninputs = [\"okta\"]\npath = \"{out}\"\n",
                d = d.display(),
                logs = logs.display(),
                dl = dl.display(),
                out = out.display()
            ),
        )
    };
    // Records over max_line_bytes: kept as framing lines, without bytes.
    let dl = d.join("dl/okta.ndjson");
    run_once(&config("small.toml", 256, &dl, &d.join("small.ndjson")));
    let lines = ndjson(&dl);
    assert_eq!(lines.len(), records);
    for l in &lines {
        assert_eq!(
            (&l["stage"], &l["kind"]),
            (&json!("framing"), &json!("oversize"))
        );
        assert!(l.get("record").is_none() && l["length"].as_u64().unwrap() > 256);
    }
    let file = d.join("okta.replay.ndjson");
    fs::rename(&dl, &file).unwrap();

    // Still too small: each fails again, and is written again.
    let dl2 = d.join("dl/okta-2.ndjson");
    let (code, err) = replay(
        &file,
        &config("still.toml", 300, &dl2, &d.join("still.ndjson")),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(summary_value(&err, "failed again:"), records.to_string());
    let strip = |v: Vec<Value>| {
        sorted(v.into_iter().map(|mut l| {
            let o = l.as_object_mut().unwrap();
            o.remove("time");
            o.remove("reason");
            l
        }))
    };
    assert_eq!(strip(ndjson(&dl2)), strip(lines.clone()));

    // The cap raised: the records come back from their files and become
    // the events a run with that cap makes.
    let replayed = d.join("replayed.ndjson");
    let (code, err) = replay(
        &file,
        &config("big.toml", 65536, &d.join("dl/okta-3.ndjson"), &replayed),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let correct = d.join("correct.ndjson");
    run_once(&config(
        "correct.toml",
        65536,
        &d.join("dl/okta-4.ndjson"),
        &correct,
    ));
    let want = ndjson(&correct);
    assert_eq!(want.len(), records);
    assert_eq!(sorted(ndjson(&replayed)), sorted(want));

    // A file that is another file now (rotated, recreated): its records
    // are not read at the old place; each is reported.
    let name = lines[0]["file"].as_str().unwrap();
    let old = fs::read_to_string(name).unwrap();
    fs::write(name, format!("{{\"new\":1}}\n{old}")).unwrap();
    let (code, err) = replay(
        &file,
        &config(
            "big2.toml",
            65536,
            &d.join("dl/okta-5.ndjson"),
            &d.join("r2.ndjson"),
        ),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    let want = format!(
        "{}:1: skipped: {name} no longer holds this record",
        file.display()
    );
    assert!(err.contains(&want), "no `{want}` in:\n{err}");
}

#[test]
fn replay_refuses_a_file_it_would_append_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sink_dl = d.join("dl/http.ndjson");
    let source_dl = d.join("dl/mail.ndjson");
    let cfg = write_config(
        d,
        "idlink.toml",
        &format!(
            "data_dir = \"{d}/data\"\n[sources.mail]\ntype = \"file\"\ninclude = [\"{d}/logs/*.log\"]\nparser = \"postfix\"\ndead_letter = \"{s}\"\n[sinks.http]\ntype = \"http\"\ninputs = [\"mail\"]\nendpoint = \"http://127.0.0.1:1\"\ndead_letter.path = \"{k}\"\n",
            d = d.display(),
            s = source_dl.display(),
            k = sink_dl.display()
        ),
    );
    fs::create_dir_all(d.join("dl")).unwrap();
    let line = "{\"time\":\"2026-01-02T03:04:05.678Z\",\"sink\":\"http\",\"status\":400,\"kind\":\"http_400\",\"reason\":\"x\",\"event\":{\"class_uid\":1}}\n";
    for (path, what) in [
        (&sink_dl, "the dead-letter file of sink `http`"),
        (&source_dl, "the dead-letter file of source `mail`"),
    ] {
        fs::write(path, line).unwrap();
        let (code, err) = replay(path, &cfg, &[]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("{} is {what}", path.display())) && err.contains("Move it away"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(path).unwrap(), line);
    }
    // The same file under another name (a hard link) is the same file.
    let link = d.join("link.ndjson");
    fs::hard_link(&sink_dl, &link).unwrap();
    let (code, err) = replay(&link, &cfg, &[]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_dead_letter_write_failure_keeps_the_checkpoint_before_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("logs")).unwrap();
    fs::write(
        d.join("logs/app.log"),
        "first unknown record\nsecond unknown record\n",
    )
    .unwrap();
    // A path under a regular file cannot be created.
    fs::write(d.join("blocker"), "").unwrap();
    let config = |dl: &Path| {
        write_config(
            d,
            "idlink.toml",
            &format!(
                "data_dir = \"{d}/data\"\n[sources.app]\ntype = \"file\"\ninclude = [\"{d}/logs/*.log\"]\nparser = \"postfix\"\ndead_letter = \"{dl}\"\n[sinks.out]\ntype = \"file\"\ninputs = [\"app\"]\npath = \"{d}/out.ndjson\"\n",
                d = d.display(),
                dl = dl.display()
            ),
        )
    };
    run_once(&config(&d.join("blocker/dl.ndjson")));
    // The events went out (visible), but the checkpoint did not pass them.
    assert_eq!(ndjson(&d.join("out.ndjson")).len(), 2);
    let dl = d.join("dl.ndjson");
    run_once(&config(&dl));
    let kept: BTreeMap<String, u64> = ndjson(&dl)
        .iter()
        .map(|l| {
            (
                l["record"].as_str().unwrap().to_string(),
                l["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        BTreeMap::from([
            ("first unknown record".to_string(), 0),
            ("second unknown record".to_string(), 21),
        ]),
        "the next run read them again and kept them"
    );
}
