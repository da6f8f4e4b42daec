//! The agent as deployed, with an HTTP sink: the receiver dies mid-run,
//! the checkpoint never passes an event it did not accept, the agent is
//! killed (-9) and restarted against a new receiver, and every line
//! arrives.

mod agent_process;
mod sinks_support;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent_process::Agent;
use sinks_support::*;

fn raw_lines(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            v["raw_data"].as_str().unwrap().to_string()
        })
        .collect()
}

fn checkpoint_offset(dir: &Path) -> Option<u64> {
    let text = fs::read_to_string(dir.join("data/checkpoints/app.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    fn find(v: &serde_json::Value) -> Option<u64> {
        match v {
            serde_json::Value::Object(m) => m
                .get("offset")
                .and_then(|o| o.as_u64())
                .or_else(|| m.values().find_map(find)),
            serde_json::Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(&v)
}

#[test]
fn receiver_dies_mid_batch_checkpoint_holds_and_restart_delivers_all() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("logs")).unwrap();
    let log = dir.path().join("logs/app.log");
    let lines: Vec<String> = (0..300).map(|i| format!("ckpt record {i:06}")).collect();
    // Written in groups while the agent runs, so the source cuts several
    // batches (one read chunk each) and a checkpoint can advance.
    let mut f = fs::File::create(&log).unwrap();

    // Receiver A takes 60 events, then dies: it resets the request in
    // flight and stops listening.
    let got_a = Arc::new(Mutex::new(Vec::<String>::new()));
    let g = got_a.clone();
    let server_a = serve(move |req| {
        let mut got = g.lock().unwrap();
        if got.len() >= 60 {
            return Reply::Reset;
        }
        got.extend(raw_lines(&req.body));
        status(200, "")
    });
    let port = server_a.addr.port();
    let cfg = dir.path().join("idlink.toml");
    fs::write(
        &cfg,
        format!(
            r#"
data_dir = "{d}/data"
[sources.app]
type = "file"
include = ["{d}/logs/*.log"]
parser = "postfix"
scan_interval_secs = 0.05
poll_interval_ms = 10
[sinks.out]
type = "http"
inputs = ["app"]
endpoint = "http://127.0.0.1:{port}/in"
compression = "none"
batch.max_events = 20
batch.timeout_secs = 0.05
request.concurrency = 1
request.retry_initial_backoff_secs = 0.02
request.retry_max_backoff_secs = 0.2
"#,
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut agent = Agent::run(&cfg, false);
    let start = Instant::now();
    for (k, group) in lines.chunks(30).enumerate() {
        for l in group {
            writeln!(f, "{l}").unwrap();
        }
        f.flush().unwrap();
        // The first two groups are read (and delivered) one at a time, so
        // they are whole source batches however loaded the machine is, and
        // their checkpoint must land; the rest comes in whatever chunks.
        while k < 2 && got_a.lock().unwrap().len() < 30 * (k + 1) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "receiver A got too little"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    drop(f);
    while got_a.lock().unwrap().len() < 60 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "receiver A got too little"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(server_a);
    // Checkpoints are written every second; give it two.
    std::thread::sleep(Duration::from_millis(2200));
    let received_a: BTreeSet<String> = got_a.lock().unwrap().iter().cloned().collect();
    let text = fs::read_to_string(&log).unwrap();
    let size = text.len() as u64;
    let offset = checkpoint_offset(dir.path()).expect("a checkpoint for what A accepted");
    assert!(offset > 0, "what A accepted is checkpointed");
    assert!(
        offset < size,
        "checkpoint at the end though the receiver died"
    );
    let mut pos = 0u64;
    for line in text.lines() {
        pos += line.len() as u64 + 1;
        if pos <= offset {
            assert!(
                received_a.contains(line),
                "checkpoint {offset} passes `{line}`, which was never accepted"
            );
        }
    }
    Command::new("kill")
        .arg("-KILL")
        .arg(agent.id().to_string())
        .status()
        .unwrap();
    agent.wait().unwrap();

    // Receiver B on the same port; the agent restarts and catches up.
    let got_b = Arc::new(Mutex::new(Vec::<String>::new()));
    let g = got_b.clone();
    let _server_b = serve_on(port, None, move |req| {
        g.lock().unwrap().extend(raw_lines(&req.body));
        status(200, "")
    });
    let mut agent = Agent::run(&cfg, true);
    let start = Instant::now();
    loop {
        if let Some(s) = agent.try_wait().unwrap() {
            assert!(s.success(), "{s:?}");
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = agent.kill();
            panic!("the restarted agent did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut all: BTreeSet<String> = received_a;
    all.extend(got_b.lock().unwrap().iter().cloned());
    let want: BTreeSet<String> = lines.iter().cloned().collect();
    let missing: Vec<_> = want.difference(&all).collect();
    assert!(
        missing.is_empty(),
        "{} lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(all, want);
    assert!(
        got_b.lock().unwrap().len() >= 300 - 60,
        "the restart sent at least what A never accepted"
    );
}
