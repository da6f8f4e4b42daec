//! The disk buffer in the deployed binary: a SIEM outage fills the disk,
//! the sources' checkpoints move on (the buffer holds the events), a
//! `kill -9` in the middle of it loses nothing, and the restart delivers
//! everything once the far end is back.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod agent_process;
mod sinks_support;
use agent_process::Agent;
use sinks_support::{ok, serve_on, Server};

type Seen = Arc<Mutex<BTreeMap<String, usize>>>;

/// A receiver on `port` that records the `raw_data` of every NDJSON event.
fn receiver(port: u16, seen: Seen) -> Server {
    serve_on(port, None, move |req| {
        let text = String::from_utf8_lossy(&req.body).into_owned();
        let mut seen = seen.lock().unwrap();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let raw = v["raw_data"].as_str().unwrap_or_default().to_string();
            *seen.entry(raw).or_insert(0) += 1;
        }
        ok("{}")
    })
}

const DISK: &str = r#"
[sinks.out.buffer]
type = "disk"
max_bytes = 67108864
when_full = "block"
"#;

/// Agent config: one Postfix file source, one HTTP sink to `port`, then
/// `extra` (a buffer table, say).
fn config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    fs::create_dir_all(dir.join("logs")).unwrap();
    let p = dir.join("idlink.toml");
    let text = format!(
        r#"
data_dir = "{d}/data"
shutdown_timeout_secs = 2
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
batch.max_events = 200
batch.timeout_secs = 0.05
request.concurrency = 1
request.timeout_secs = 2
request.retry_initial_backoff_secs = 0.05
request.retry_max_backoff_secs = 0.2
dead_letter.path = "{d}/dead.ndjson"
{extra}"#,
        d = dir.display()
    );
    fs::write(&p, text).unwrap();
    p
}

fn append(dir: &Path, tag: &str, n: usize) -> Vec<String> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("logs/app.log"))
        .unwrap();
    let lines: Vec<String> = (0..n).map(|i| format!("{tag} record {i:06}")).collect();
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    lines
}

/// The delivered offset of the source's only file, from its checkpoint.
fn checkpoint_offset(dir: &Path) -> u64 {
    let mut best = (0u64, 0u64);
    for name in ["app.json", "app.fast.json"] {
        let Ok(text) = fs::read_to_string(dir.join("data/checkpoints").join(name)) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let seq = v["seq"].as_u64().unwrap_or(0);
        let off = v["files"][0]["offset"].as_u64().unwrap_or(0);
        if seq >= best.0 {
            best = (seq, off);
        }
    }
    best.1
}

/// Non-empty segment files of the disk buffer, with their sizes.
fn segment_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(rd) = fs::read_dir(dir.join("data/buffers/out")) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
        .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
        .filter(|(_, len)| *len > 0)
        .collect()
}

fn buffer_bytes(dir: &Path) -> u64 {
    segment_files(dir).iter().map(|(_, n)| n).sum()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_exit(mut agent: Agent, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = agent.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "the agent did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_outage_fills_the_disk_buffer_and_a_kill_9_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(dir.path(), port, DISK);
    let mut want = append(dir.path(), "a", 3000);
    let file_len = fs::metadata(dir.path().join("logs/app.log")).unwrap().len();

    // The SIEM is down: nothing listens on the port.
    let agent = Agent::run(&cfg, false);
    let start = Instant::now();
    while checkpoint_offset(dir.path()) < file_len {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the source was not acknowledged by the disk buffer: checkpoint {} of {file_len}",
            checkpoint_offset(dir.path())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The events are on disk, not in flight.
    assert!(buffer_bytes(dir.path()) > 3000 * 50);
    want.extend(append(dir.path(), "b", 500));
    std::thread::sleep(Duration::from_millis(200));
    let mut agent = agent;
    agent.kill().unwrap();
    agent.wait().unwrap();

    // The SIEM is back; the next run delivers the buffer and the rest of
    // the file, then stops (`--once`).
    let seen: Seen = Arc::default();
    let _rx = receiver(port, seen.clone());
    let status = wait_exit(Agent::run(&cfg, true), Duration::from_secs(120));
    assert!(status.success());
    let seen = seen.lock().unwrap();
    let missing: Vec<&String> = want.iter().filter(|l| !seen.contains_key(*l)).collect();
    assert!(
        missing.is_empty(),
        "{} lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(seen.len(), want.len());
    // Nothing was delivered before the kill, so nothing may repeat except
    // what the source re-read past its checkpoint (at most the "b" lines).
    let dups: usize = seen.values().map(|n| n - 1).sum();
    assert!(dups <= 500, "{dups} duplicates");
    // Delivered segments are deleted; only the last one written (the head,
    // freed once a later one exists) may remain.
    let left = segment_files(dir.path());
    assert!(left.len() <= 1, "segments left: {left:?}");
}

/// SIGTERM while the SIEM is down: the agent stops within the shutdown
/// timeout (2 s here) instead of retrying forever, checkpoints only what was
/// delivered, and the next run sends the rest. Once with the memory buffer
/// (in-flight batches are given up at the deadline) and once with the disk
/// buffer (they wait on disk).
#[test]
fn sigterm_with_the_siem_down_stops_within_the_deadline_and_loses_nothing() {
    for (name, extra) in [("memory", ""), ("disk", DISK)] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = config(dir.path(), port, extra);
        let seen: Seen = Arc::default();
        let rx = receiver(port, seen.clone());
        let mut want = append(dir.path(), "a", 1000);
        let agent = Agent::run(&cfg, false);
        let start = Instant::now();
        while seen.lock().unwrap().len() < want.len() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name}: first part not delivered"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(rx); // the SIEM goes away
        want.extend(append(dir.path(), "b", 1000));
        std::thread::sleep(Duration::from_millis(500));
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &agent.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let stopped = Instant::now();
        let status = wait_exit(agent, Duration::from_secs(15));
        assert!(status.success(), "{name}: {status:?}");
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "{name}: took {:?} to stop",
            stopped.elapsed()
        );
        let _rx = receiver(port, seen.clone());
        let status = wait_exit(Agent::run(&cfg, true), Duration::from_secs(120));
        assert!(status.success());
        let seen = seen.lock().unwrap();
        let missing = want.iter().filter(|l| !seen.contains_key(*l)).count();
        assert_eq!(missing, 0, "{name}: lost events");
        assert_eq!(seen.len(), want.len());
    }
}
