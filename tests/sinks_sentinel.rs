//! `sentinel` against an in-process Entra ID token endpoint and Logs
//! Ingestion API: no body over 1,000,000 bytes for 10 k events of mixed
//! sizes (an event too big alone is dead-lettered), client-credentials
//! tokens with sovereign-cloud authority/scope, a token revoked mid-run
//! (401 → one refresh), 413 (split) and 429 with `Retry-After`; and the
//! shipped DCR / table templates.

mod sinks_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sinks_support::*;

#[derive(Default)]
struct Azure {
    tokens_issued: usize,
    valid_token: String,
    posts: usize,
    max_body: usize,
    received: BTreeSet<String>,
    streams: BTreeMap<String, usize>,
    token_forms: Vec<String>,
    statuses: Vec<u16>,
}

/// The token endpoint and the ingestion API on one receiver. `on_post`
/// may answer an ingestion request before the default handling.
fn azure(
    state: Arc<Mutex<Azure>>,
    on_post: impl Fn(&mut Azure, &Req) -> Option<Reply> + Send + Sync + 'static,
) -> Server {
    serve(move |req| {
        let mut st = state.lock().unwrap();
        if req.path == "/tenant-1/oauth2/v2.0/token" {
            st.tokens_issued += 1;
            st.valid_token = format!("tok-{}", st.tokens_issued);
            st.token_forms
                .push(String::from_utf8(req.body.clone()).unwrap());
            return ok(&format!(
                r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{}"}}"#,
                st.valid_token
            ));
        }
        let prefix = "/dataCollectionRules/dcr-0123abcd/streams/";
        assert!(req.path.starts_with(prefix), "{}", req.path);
        assert_eq!(req.query, "api-version=2023-01-01");
        st.posts += 1;
        if req.header("authorization") != format!("Bearer {}", st.valid_token) {
            st.statuses.push(401);
            return status(401, r#"{"error":{"code":"InvalidToken"}}"#);
        }
        if let Some(r) = on_post(&mut st, &req) {
            return r;
        }
        st.max_body = st.max_body.max(req.body.len());
        let events: Vec<Value> = serde_json::from_slice(&req.body).unwrap();
        let stream = req.path[prefix.len()..].to_string();
        *st.streams.entry(stream).or_insert(0) += events.len();
        for e in &events {
            st.received.insert(uid_of(e));
        }
        st.statuses.push(204);
        status(204, "")
    })
}

fn config(dir: &Path, server: &Server, extra: &str) -> idlink::config::Config {
    load(
        dir,
        &format!(
            "[sinks.out]\ntype = \"sentinel\"\ninputs = [\"src\"]\nendpoint = \"{u}\"\ndcr_immutable_id = \"dcr-0123abcd\"\ntenant_id = \"tenant-1\"\nclient_id = \"app-1\"\nclient_secret = \"s/ecret+1\"\nauthority = \"{u}\"\nscope = \"https://monitor.azure.us/.default\"\n{extra}{}",
            fast_keys(dir),
            u = server.url(),
        ),
    )
}

#[test]
fn no_body_exceeds_one_megabyte_for_10k_mixed_events() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(Mutex::new(Azure::default()));
    let server = azure(state.clone(), |_, req| {
        assert!(
            req.body.len() <= 1_000_000,
            "body of {} bytes",
            req.body.len()
        );
        assert!(req.wire_len <= 1_000_000);
        None
    });
    let cfg = config(
        dir.path(),
        &server,
        "compression = \"none\"\nrequest.concurrency = 2\n",
    );
    let mut sent = BTreeSet::new();
    let mut batches = Vec::new();
    for b in 0..10 {
        let mut evs = Vec::new();
        for i in 0..1000 {
            let n = b * 1000 + i;
            let pad = match n {
                4321 => 1_200_000,
                n if n % 1000 == 999 => 400_000,
                n if n % 97 == 0 => 50_000 + n,
                n => (n * 7919) % 2000,
            };
            let uid = format!("s-{n}");
            sent.insert(uid.clone());
            evs.push(event(&uid, if n % 3 == 0 { 3002 } else { 4009 }, pad));
        }
        batches.push(evs);
    }
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let st = state.lock().unwrap();
    let dead = out.dead_uids();
    assert_eq!(dead, BTreeSet::from(["s-4321".to_string()]));
    assert_eq!(out.dead_kinds(), BTreeSet::from(["too_large".to_string()]));
    assert!(out.dead[0]["reason"].as_str().unwrap().contains("1000000"));
    let want: BTreeSet<String> = sent.difference(&dead).cloned().collect();
    assert_eq!(st.received, want);
    assert!(st.max_body <= 1_000_000);
    assert!(
        st.max_body > 900_000,
        "requests are filled: {}",
        st.max_body
    );
    assert_eq!(
        st.streams.keys().cloned().collect::<Vec<_>>(),
        vec!["Custom-OCSF_authentication", "Custom-OCSF_email_activity"]
    );
    assert_eq!(st.tokens_issued, 1, "the token is cached");
    assert_eq!(out.acked, Some(10));
}

#[test]
fn token_revoked_mid_run_413_split_and_429_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(Mutex::new(Azure::default()));
    let server = azure(state.clone(), |st, req| {
        match st.posts {
            // The first upload is throttled.
            1 => {
                st.statuses.push(429);
                return Some(Reply::Status(
                    429,
                    vec![("retry-after", "1".into())],
                    r#"{"error":{"code":"TooManyRequests"}}"#.into(),
                ));
            }
            // The token expires (is revoked) mid-run.
            4 => st.valid_token = "revoked".into(),
            _ => {}
        }
        if req.body.len() > 20_000 {
            st.statuses.push(413);
            return Some(status(
                413,
                r#"{"error":{"code":"ContentLengthLimitExceeded"}}"#,
            ));
        }
        None
    });
    let cfg = config(dir.path(), &server, "batch.max_bytes = 100000\n");
    let mut sent = BTreeSet::new();
    let batches: Vec<_> = (0..6)
        .map(|b| {
            (0..30)
                .map(|i| {
                    let uid = format!("t-{b}-{i}");
                    sent.insert(uid.clone());
                    event(&uid, 4009, 2500)
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let st = state.lock().unwrap();
    assert_eq!(st.received, sent);
    assert!(out.dead.is_empty());
    assert_eq!(out.acked, Some(6));
    assert!(st.statuses.contains(&413) && st.statuses.contains(&401));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(st.tokens_issued, 2, "one refresh after the 401");
    let form = &st.token_forms[0];
    for part in [
        "grant_type=client_credentials",
        "client_id=app-1",
        "client_secret=s%2Fecret%2B1",
        "scope=https%3A%2F%2Fmonitor.azure.us%2F.default",
    ] {
        assert!(form.contains(part), "{form}");
    }
}

#[test]
fn shipped_dcr_and_tables_cover_every_class_with_time_generated() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/sentinel");
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let dcr = read("dcr.json");
    let tables = read("tables.json");
    let props = &dcr["resources"][0]["properties"];
    let table_names: BTreeMap<String, Vec<Value>> = tables["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["properties"]["schema"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                t["properties"]["schema"]["columns"]
                    .as_array()
                    .unwrap()
                    .clone(),
            )
        })
        .collect();
    for class in idlink::sinks::util::template::CLASSES {
        let slug = idlink::sinks::util::template::class_slug(class.uid as u32);
        let stream = format!("Custom-OCSF_{slug}");
        let cols = props["streamDeclarations"][&stream]["columns"]
            .as_array()
            .unwrap_or_else(|| panic!("no stream {stream}"));
        let table = &table_names[&format!("OCSF_{slug}_CL")];
        for c in cols {
            assert!(table.contains(c), "{stream}: column {c} not in the table");
        }
        assert!(table
            .iter()
            .any(|c| c["name"] == "TimeGenerated" && c["type"] == "datetime"));
        let flow = props["dataFlows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["streams"][0] == stream.as_str())
            .unwrap();
        assert_eq!(flow["outputStream"], format!("Custom-OCSF_{slug}_CL"));
        assert!(flow["transformKql"]
            .as_str()
            .unwrap()
            .contains("TimeGenerated = datetime(1970-01-01) + tolong(['time']) * 1ms"));
    }
}
