//! `splunk_hec` against an in-process HEC: envelopes, token and channel
//! headers, indexer acknowledgements that come late or never, code 9
//! (busy), code 6 (invalid data) and code 7 (incorrect index) with
//! `invalid-event-number`.

mod sinks_support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sinks_support::*;

fn envelopes(body: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect()
}

#[derive(Default)]
struct Hec {
    posts: usize,
    next_ack: u64,
    /// ackId → (events, polls left before it reads true; None = never).
    pending: HashMap<u64, (Vec<String>, Option<u32>)>,
    indexed: BTreeSet<String>,
    channels: BTreeSet<String>,
    envelopes: Vec<Value>,
    lost: usize,
}

#[test]
fn acknowledged_only_when_indexed_with_late_and_lost_acks_and_busy() {
    let dir = tempfile::tempdir().unwrap();
    let hec = Arc::new(Mutex::new(Hec::default()));
    let h = hec.clone();
    let server = serve(move |req| {
        let mut st = h.lock().unwrap();
        assert_eq!(req.header("authorization"), "Splunk tok-123");
        st.channels
            .insert(req.header("x-splunk-request-channel").to_string());
        if req.path == "/services/collector/ack" {
            assert!(req.query.starts_with("channel="), "{}", req.query);
            let q: Value = serde_json::from_slice(&req.body).unwrap();
            let mut acks = serde_json::Map::new();
            for id in q["acks"].as_array().unwrap() {
                let id = id.as_u64().unwrap();
                let done = match st.pending.get_mut(&id) {
                    Some((_, Some(0))) => true,
                    Some((_, Some(n))) => {
                        *n -= 1;
                        false
                    }
                    _ => false,
                };
                if done {
                    let (evs, _) = st.pending.remove(&id).unwrap();
                    st.indexed.extend(evs);
                }
                acks.insert(id.to_string(), Value::Bool(done));
            }
            return ok(&serde_json::json!({ "acks": acks }).to_string());
        }
        assert_eq!(req.path, "/services/collector/event");
        st.posts += 1;
        if st.posts == 1 {
            return status(503, r#"{"text":"Server is busy","code":9}"#);
        }
        let envs = envelopes(&req.body);
        let uids: Vec<String> = envs.iter().map(|e| uid_of(&e["event"])).collect();
        st.envelopes.extend(envs);
        let id = st.next_ack;
        st.next_ack += 1;
        // Every third ack comes late; ackId 2 never comes (indexer lost it).
        let polls = match id {
            2 => {
                st.lost += uids.len();
                None
            }
            i if i % 3 == 1 => Some(3),
            _ => Some(0),
        };
        st.pending.insert(id, (uids, polls));
        ok(&format!(r#"{{"text":"Success","code":0,"ackId":{id}}}"#))
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"splunk_hec\"\ninputs = [\"src\"]\nendpoint = \"{}\"\ntoken = \"tok-123\"\nindex = \"sec_{{class}}\"\nhost = \"edge-1\"\nbatch.max_events = 7\nacknowledgements.enabled = true\nacknowledgements.poll_interval_secs = 0.02\nacknowledgements.timeout_secs = 0.3\n{}",
            server.url(),
            fast_keys(dir.path())
        ),
    );
    let mut sent = BTreeSet::new();
    let batches: Vec<_> = (0..5)
        .map(|b| {
            (0..10)
                .map(|i| {
                    let uid = format!("h-{b}-{i}");
                    sent.insert(uid.clone());
                    event(&uid, if i % 2 == 0 { 4009 } else { 3002 }, 30)
                })
                .collect()
        })
        .collect();
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let st = hec.lock().unwrap();
    assert!(st.lost > 0, "the lost-ack case happened");
    assert_eq!(st.indexed, sent, "every event indexed (lost ack → resent)");
    assert!(out.dead.is_empty());
    assert_eq!(out.acked, Some(5));
    assert_eq!(
        st.channels.len(),
        1,
        "one channel per sink: {:?}",
        st.channels
    );
    let e = st
        .envelopes
        .iter()
        .find(|e| e["event"]["class_uid"] == 4009)
        .unwrap();
    assert_eq!(e["time"].to_string(), "1767225600.123");
    assert_eq!(e["sourcetype"], "ocsf:email_activity");
    assert_eq!(e["index"], "sec_email_activity");
    assert_eq!(e["source"], "idlink:src");
    assert_eq!(e["host"], "edge-1");
    let a = st
        .envelopes
        .iter()
        .find(|e| e["event"]["class_uid"] == 3002)
        .unwrap();
    assert_eq!(a["sourcetype"], "ocsf:authentication");
}

#[test]
fn invalid_data_and_incorrect_index_dead_letter_only_the_culprits() {
    let dir = tempfile::tempdir().unwrap();
    let indexed = Arc::new(Mutex::new(BTreeSet::new()));
    let ix = indexed.clone();
    let server = serve(move |req| {
        let envs = envelopes(&req.body);
        let mut taken = Vec::new();
        for (i, e) in envs.iter().enumerate() {
            let uid = uid_of(&e["event"]);
            if uid.starts_with("bad") {
                ix.lock().unwrap().extend(taken);
                return status(
                    400,
                    &format!(
                        r#"{{"text":"Invalid data format","code":6,"invalid-event-number":{i}}}"#
                    ),
                );
            }
            if e["index"] == "ocsf_authentication" {
                ix.lock().unwrap().extend(taken);
                return status(
                    400,
                    &format!(r#"{{"text":"Incorrect index","code":7,"invalid-event-number":{i}}}"#),
                );
            }
            taken.push(uid);
        }
        ix.lock().unwrap().extend(taken);
        ok(r#"{"text":"Success","code":0}"#)
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"splunk_hec\"\ninputs = [\"src\"]\nendpoint = \"{}/\"\ntoken = \"t\"\nindex = \"ocsf_{{class}}\"\ncompression = \"none\"\nbatch.max_events = 8\n{}",
            server.url(),
            fast_keys(dir.path())
        ),
    );
    let mut sent = BTreeSet::new();
    let batches: Vec<_> = (0..4)
        .map(|b| {
            (0..10)
                .map(|i| {
                    let (uid, class) = match (b, i) {
                        (1, 4) | (3, 0) => (format!("bad-{b}-{i}"), 4009),
                        (2, 6) => (format!("auth-{b}-{i}"), 3002),
                        _ => (format!("ok-{b}-{i}"), 4009),
                    };
                    sent.insert(uid.clone());
                    event(&uid, class, 10)
                })
                .collect()
        })
        .collect();
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let dead = out.dead_uids();
    assert_eq!(
        dead,
        BTreeSet::from(["bad-1-4".into(), "bad-3-0".into(), "auth-2-6".into()])
    );
    let want: BTreeSet<String> = sent.difference(&dead).cloned().collect();
    assert_eq!(*indexed.lock().unwrap(), want);
    assert_eq!(
        out.dead_kinds(),
        BTreeSet::from(["hec_invalid_data".into(), "hec_incorrect_index".into()])
    );
    for d in &out.dead {
        let reason = d["reason"].as_str().unwrap();
        assert!(
            reason.contains("Invalid data format") || reason.contains("Incorrect index"),
            "{reason}"
        );
        assert_eq!(d["status"], 400);
    }
    assert_eq!(out.acked, Some(4));
}
