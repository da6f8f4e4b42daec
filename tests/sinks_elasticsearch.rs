//! `elasticsearch` against an in-process `_bulk`: `create` actions into
//! per-class data streams with `@timestamp`, API key and basic auth,
//! per-item 201/429/503/400 in one response (only 429/5xx items resent,
//! 4xx items dead-lettered with their error), whole-request 429 with
//! `Retry-After`, and the shipped index template.

mod sinks_support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sinks_support::*;

#[derive(Default)]
struct Es {
    requests: usize,
    seen: HashMap<String, usize>,
    stored: BTreeSet<String>,
    indices: BTreeSet<String>,
    item_sends: usize,
}

fn bulk(body: &[u8]) -> Vec<(Value, Value)> {
    let lines: Vec<Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    lines
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

#[test]
fn mixed_item_results_resend_only_retriable_items() {
    let dir = tempfile::tempdir().unwrap();
    let es = Arc::new(Mutex::new(Es::default()));
    let e2 = es.clone();
    let server = serve(move |req| {
        assert_eq!(req.path, "/_bulk");
        assert_eq!(req.header("authorization"), "ApiKey a2V5OnNlY3JldA==");
        assert_eq!(req.header("content-type"), "application/x-ndjson");
        let mut st = e2.lock().unwrap();
        st.requests += 1;
        if st.requests == 1 {
            return Reply::Status(
                429,
                vec![("retry-after", "0".into())],
                r#"{"error":"circuit_breaking_exception"}"#.into(),
            );
        }
        let mut items = Vec::new();
        let mut errors = false;
        for (action, doc) in bulk(&req.body) {
            st.item_sends += 1;
            let index = action["create"]["_index"].as_str().unwrap().to_string();
            assert!(doc["@timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2026-01-01T00:00:00.123"));
            let uid = uid_of(&doc);
            let n = {
                let n = st.seen.entry(uid.clone()).or_insert(0);
                *n += 1;
                *n
            };
            st.indices.insert(index.clone());
            let (status, error) = if uid.starts_with("conflict") {
                (
                    400,
                    Some(
                        json!({"type":"document_parsing_exception","reason":"[message] failed to parse field of type long"}),
                    ),
                )
            } else if n == 1 && uid.ends_with('3') {
                (
                    429,
                    Some(
                        json!({"type":"es_rejected_execution_exception","reason":"rejected execution"}),
                    ),
                )
            } else if n <= 2 && uid.ends_with('7') {
                (
                    503,
                    Some(
                        json!({"type":"unavailable_shards_exception","reason":"primary shard is not active"}),
                    ),
                )
            } else {
                st.stored.insert(uid);
                (201, None)
            };
            errors |= error.is_some();
            let mut r = json!({"_index": index, "status": status});
            if let Some(e) = error {
                r["error"] = e;
            }
            items.push(json!({ "create": r }));
        }
        ok(&json!({"took": 3, "errors": errors, "items": items}).to_string())
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"elasticsearch\"\ninputs = [\"src\"]\nendpoint = \"{}\"\napi_key = \"a2V5OnNlY3JldA==\"\nbatch.max_events = 25\n{}",
            server.url(),
            fast_keys(dir.path())
        ),
    );
    let mut sent = BTreeSet::new();
    let batches: Vec<_> = (0..4)
        .map(|b| {
            (0..20)
                .map(|i| {
                    let uid = if i == 5 && b % 2 == 0 {
                        format!("conflict-{b}-{i}")
                    } else {
                        format!("d-{b}-{i}")
                    };
                    sent.insert(uid.clone());
                    event(&uid, if i % 4 == 0 { 3002 } else { 4009 }, 40)
                })
                .collect()
        })
        .collect();
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let st = es.lock().unwrap();
    let dead = out.dead_uids();
    assert_eq!(
        dead,
        BTreeSet::from(["conflict-0-5".into(), "conflict-2-5".into()])
    );
    let want: BTreeSet<String> = sent.difference(&dead).cloned().collect();
    assert_eq!(st.stored, want);
    // Accepted items are never sent twice: only the 429/503 ones come back.
    for uid in &st.stored {
        let n = st.seen[uid];
        let expect = if uid.ends_with('3') {
            2
        } else if uid.ends_with('7') {
            3
        } else {
            1
        };
        assert_eq!(n, expect, "{uid}");
    }
    assert_eq!(
        st.indices,
        BTreeSet::from([
            "logs-ocsf.authentication-default".into(),
            "logs-ocsf.email_activity-default".into()
        ])
    );
    assert_eq!(
        out.dead_kinds(),
        BTreeSet::from(["bulk_item_rejected".into()])
    );
    for d in &out.dead {
        assert_eq!(d["status"], 400);
        assert!(d["reason"]
            .as_str()
            .unwrap()
            .starts_with("document_parsing_exception: [message] failed to parse"));
    }
    assert_eq!(out.acked, Some(4));
}

#[test]
fn index_mode_with_basic_auth_sends_documents_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let server = serve(move |req| {
        assert_eq!(
            req.header("authorization"),
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
        let items: Vec<Value> = bulk(&req.body)
            .into_iter()
            .map(|(a, d)| {
                g.lock().unwrap().push((a["create"]["_index"].clone(), d));
                json!({"create": {"status": 201}})
            })
            .collect();
        ok(&json!({"errors": false, "items": items}).to_string())
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"elasticsearch\"\ninputs = [\"src\"]\nendpoint = \"{}\"\nindex = \"ocsf-{{class_uid}}\"\nauth.user = \"elastic\"\nauth.password = \"changeme\"\n{}",
            server.url(),
            fast_keys(dir.path())
        ),
    );
    let ev = event("plain", 4009, 3);
    let original: Value = serde_json::from_slice(&ev.json).unwrap();
    let out = run_sink(
        dir.path(),
        &cfg,
        vec![vec![ev]],
        None,
        Duration::from_secs(5),
    );
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "ocsf-4009");
    assert_eq!(got[0].1, original, "no @timestamp added in index mode");
    assert_eq!(out.acked, Some(1));
    assert!(out.dead.is_empty());
}

#[test]
fn shipped_template_maps_times_as_dates_and_ids_as_keywords() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/elasticsearch");
    let t: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index-template.json")).unwrap())
            .unwrap();
    assert_eq!(t["index_patterns"], json!(["logs-ocsf.*-*"]));
    assert_eq!(t["data_stream"], json!({}));
    let c: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("component-template.json")).unwrap(),
    )
    .unwrap();
    let props = &c["template"]["mappings"]["properties"];
    assert_eq!(props["@timestamp"]["type"], "date");
    assert_eq!(props["time"]["type"], "date");
    assert_eq!(props["time"]["format"], "epoch_millis");
    assert_eq!(props["metadata"]["properties"]["uid"]["type"], "keyword");
    assert_eq!(props["message_trace_uid"]["type"], "keyword");
    let dyn_templates = c["template"]["mappings"]["dynamic_templates"].to_string();
    assert!(dyn_templates.contains("*_uid"), "{dyn_templates}");
    assert!(dyn_templates.contains("*_time"), "{dyn_templates}");
}
