//! The `idlink` binary as deployed: SIGTERM drains and checkpoints; `kill -9`
//! loses nothing (the restart re-reads from the last delivered position).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;

mod agent_process;
use agent_process::Agent;
use std::time::{Duration, Instant};

fn config(dir: &Path) -> std::path::PathBuf {
    fs::create_dir_all(dir.join("logs")).unwrap();
    let p = dir.join("idlink.toml");
    let text = format!(
        r#"
data_dir = "{d}/data"
[sources.app]
type = "file"
include = ["{d}/logs/*.log"]
parser = "postfix"
scan_interval_secs = 0.05
poll_interval_ms = 10
[sinks.out]
type = "file"
inputs = ["app"]
path = "{d}/out.ndjson"
"#,
        d = dir.display()
    );
    fs::write(&p, text).unwrap();
    p
}

fn spawn(cfg: &Path, once: bool) -> Agent {
    Agent::run(cfg, once)
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

fn received(dir: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let text = fs::read_to_string(dir.join("out.ndjson")).unwrap_or_default();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *seen
            .entry(v["raw_data"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    seen
}

fn wait_for(dir: &Path, n: usize) {
    let start = Instant::now();
    while received(dir).len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {n} events"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Agent, sig: &str) {
    let ok = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn sigterm_drains_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut child = spawn(&cfg, false);
    let a = append(dir.path(), "term", 500);
    wait_for(dir.path(), a.len());
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let ckpt = fs::read_to_string(dir.path().join("data/checkpoints/app.json")).unwrap();
    let size = fs::metadata(dir.path().join("logs/app.log")).unwrap().len();
    assert!(
        ckpt.contains(&format!("\"offset\": {size}")),
        "checkpoint at end of file: {ckpt}"
    );
    // A restart adds nothing.
    let status = spawn(&cfg, true).wait().unwrap();
    assert!(status.success());
    let got = received(dir.path());
    assert_eq!(got.len(), a.len());
    assert!(got.values().all(|n| *n == 1));
}

#[test]
fn kill_9_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut want = Vec::new();
    for round in 0..5 {
        let mut child = spawn(&cfg, false);
        want.extend(append(dir.path(), &format!("k{round}"), 2000));
        // Kill while it is (probably) mid-file.
        std::thread::sleep(Duration::from_millis(30 + 20 * round as u64));
        signal(&child, "-KILL");
        child.wait().unwrap();
    }
    let status = spawn(&cfg, true).wait().unwrap();
    assert!(status.success());
    let got = received(dir.path());
    let missing: Vec<_> = want.iter().filter(|l| !got.contains_key(*l)).collect();
    assert!(
        missing.is_empty(),
        "{} lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(got.len(), want.len());
    // At-least-once: a kill may repeat what was written but not yet
    // checkpointed, at most a few read chunks per kill.
    let dups: usize = got.values().map(|n| n - 1).sum();
    assert!(dups <= 5 * 2000, "{dups} duplicates");
}
