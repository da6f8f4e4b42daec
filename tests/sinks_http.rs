//! The generic `http` sink against an in-process receiver: NDJSON, headers,
//! auth, gzip, connection resets, 503/429 with `Retry-After`, 400 dead
//! letters, TLS with a private CA (and a client certificate), verification
//! on by default, giving up only at shutdown, secrets never printed.

mod sinks_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinks_support::*;

fn ndjson_uids(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| uid_of(&serde_json::from_slice(l).unwrap()))
        .collect()
}

#[test]
fn delivers_through_resets_and_busy_answers_and_dead_letters_400() {
    let dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Mutex::new(BTreeSet::new()));
    let seen_headers = Arc::new(Mutex::new(Vec::new()));
    let n = Arc::new(AtomicUsize::new(0));
    let (r, h, c) = (received.clone(), seen_headers.clone(), n.clone());
    let server = serve(move |req| {
        let i = c.fetch_add(1, Ordering::SeqCst);
        h.lock().unwrap().push(req.headers.clone());
        match i {
            0 | 1 => return Reply::Reset,
            2 => return Reply::Status(503, vec![("retry-after", "0".into())], "busy".into()),
            3 => return status(429, "slow down"),
            _ => {}
        }
        let uids = ndjson_uids(&req.body);
        if uids.iter().any(|u| u.starts_with("poison")) {
            return status(400, "{\"error\":\"field message is too long\"}");
        }
        r.lock().unwrap().extend(uids);
        status(202, "")
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"http\"\ninputs = [\"src\"]\nendpoint = \"{}/ingest\"\nbatch.max_events = 10\nheaders = {{ \"X-Tenant\" = \"acme\", \"X-Api-Key\" = \"k-123\" }}\nauth.user = \"idlink\"\nauth.password = \"pw\"\n{}",
            server.url(),
            fast_keys(dir.path())
        ),
    );
    let mut sent = BTreeSet::new();
    let mut batches = Vec::new();
    for b in 0..6 {
        let mut evs = Vec::new();
        for i in 0..10 {
            let uid = if b == 4 && i == 3 {
                format!("poison-{b}-{i}")
            } else {
                format!("e-{b}-{i}")
            };
            sent.insert(uid.clone());
            evs.push(event(&uid, 4009, 50));
        }
        batches.push(evs);
    }
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    let got = received.lock().unwrap().clone();
    let dead = out.dead_uids();
    // The 400 took its whole request (batch 4) to the dead-letter file.
    assert_eq!(dead.len(), 10, "{dead:?}");
    assert!(dead.contains("poison-4-3"));
    let expected: BTreeSet<String> = sent.difference(&dead).cloned().collect();
    assert_eq!(got, expected);
    assert_eq!(out.dead_kinds(), BTreeSet::from(["http_400".to_string()]));
    assert!(out.dead[0]["reason"]
        .as_str()
        .unwrap()
        .contains("field message is too long"));
    assert_eq!(out.dead[0]["status"], 400);
    assert_eq!(out.dead[0]["sink"], "out");
    assert_eq!(out.acked, Some(6), "every batch acknowledged");
    assert!(!out.pinned);
    let h = seen_headers.lock().unwrap();
    let last = h.last().unwrap();
    assert_eq!(last["x-tenant"], "acme");
    assert_eq!(last["x-api-key"], "k-123");
    assert_eq!(last["content-encoding"], "gzip");
    assert_eq!(last["content-type"], "application/x-ndjson");
    assert_eq!(last["authorization"], "Basic aWRsaW5rOnB3");
}

#[test]
fn verification_is_on_by_default_and_stop_fails_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let tls = ca.server_config(false);
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = serve_on(0, Some(tls), move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        status(200, "")
    });
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"http\"\ninputs = [\"src\"]\nendpoint = \"https://localhost:{}/\"\n{}",
            server.addr.port(),
            fast_keys(dir.path())
        ),
    );
    let out = run_sink(
        dir.path(),
        &cfg,
        vec![vec![event("a", 4009, 10)]],
        Some(Duration::from_millis(300)),
        Duration::from_millis(200),
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "untrusted server got data");
    assert_eq!(out.acked, None, "nothing delivered, nothing acknowledged");
    assert!(out.pinned, "the undelivered batch failed at shutdown");
    assert!(
        out.dead.is_empty(),
        "a TLS failure is retried, not dead-lettered"
    );
}

#[test]
fn private_ca_with_client_certificate_and_verify_false() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let received = Arc::new(Mutex::new(BTreeSet::new()));
    let r = received.clone();
    let server = serve_on(0, Some(ca.server_config(true)), move |req| {
        r.lock().unwrap().extend(ndjson_uids(&req.body));
        status(200, "")
    });
    let (ca_file, crt, key) = ca.write_files(dir.path());
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"http\"\ninputs = [\"src\"]\nendpoint = \"https://localhost:{}/\"\ntls.ca_file = \"{}\"\ntls.crt_file = \"{}\"\ntls.key_file = \"{}\"\n{}",
            server.addr.port(),
            ca_file.display(),
            crt.display(),
            key.display(),
            fast_keys(dir.path())
        ),
    );
    let batches: Vec<_> = (0..3)
        .map(|b| {
            (0..5)
                .map(|i| event(&format!("t-{b}-{i}"), 3002, 20))
                .collect()
        })
        .collect();
    let out = run_sink(dir.path(), &cfg, batches, None, Duration::from_secs(5));
    assert_eq!(received.lock().unwrap().len(), 15);
    assert_eq!(out.acked, Some(3));
    assert!(out.dead.is_empty());

    // Without the client certificate the server refuses; with verification
    // off (and no CA), an anonymous-CA server is accepted.
    let server2 = serve_on(0, Some(ca.server_config(false)), {
        let r = received.clone();
        move |req| {
            r.lock().unwrap().extend(ndjson_uids(&req.body));
            status(200, "")
        }
    });
    let dir2 = tempfile::tempdir().unwrap();
    let cfg = load(
        dir2.path(),
        &format!(
            "[sinks.out]\ntype = \"http\"\ninputs = [\"src\"]\nendpoint = \"https://localhost:{}/\"\ntls.verify = false\n{}",
            server2.addr.port(),
            fast_keys(dir2.path())
        ),
    );
    let out = run_sink(
        dir2.path(),
        &cfg,
        vec![vec![event("unverified", 3002, 5)]],
        None,
        Duration::from_secs(5),
    );
    assert!(received.lock().unwrap().contains("unverified"));
    assert_eq!(out.acked, Some(1));
}

#[test]
fn secrets_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("token");
    std::fs::write(&secret_file, "file-secret-value\n").unwrap();
    let cfg = load(
        dir.path(),
        &format!(
            "[sinks.out]\ntype = \"http\"\ninputs = [\"src\"]\nendpoint = \"http://127.0.0.1:1\"\nheaders = {{ \"X-Key\" = \"header-secret-value\" }}\nauth.token = {{ file = \"{}\" }}\n",
            secret_file.display()
        ),
    );
    let dump = format!("{cfg:?}");
    assert!(!dump.contains("secret-value"), "{dump}");
    assert!(dump.contains("***"));
    let text = std::fs::read_to_string(dir.path().join("idlink.toml")).unwrap();
    std::fs::write(
        dir.path().join("idlink.toml"),
        text.replace("http://127.0.0.1:1", "http://user:pw@127.0.0.1:1"),
    )
    .unwrap();
    let errs =
        idlink::config::load_with_env(&dir.path().join("idlink.toml"), &|_| None).unwrap_err();
    let msg = format!("{errs:?}");
    assert!(msg.contains("sinks.out.endpoint"), "{msg}");
    assert!(!msg.contains("pw@"), "{msg}");
}
