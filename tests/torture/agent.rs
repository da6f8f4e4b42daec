//! The agent under test: the real `idlink` binary, started, `kill -9`ed and
//! restarted, with its memory (VmHWM, VmRSS) and CPU time read from /proc.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agent_process::Agent;

pub struct AgentProc {
    cfg: PathBuf,
    /// stderr of every run, appended.
    pub log: PathBuf,
    child: Option<Agent>,
    /// Shared with the writers (0: not running).
    pub pid: Arc<AtomicU32>,
    pub starts: u32,
    pub kills: u32,
    /// CPU ticks of the runs that ended.
    ticks_done: u64,
    /// CPU ticks of the current run, as last read.
    ticks_now: u64,
    /// Highest VmHWM of any run, kB.
    pub peak_hwm_kb: u64,
    /// Highest VmRSS sampled, kB.
    pub peak_rss_kb: u64,
}

impl AgentProc {
    pub fn new(cfg: &Path, log: &Path) -> AgentProc {
        AgentProc {
            cfg: cfg.to_path_buf(),
            log: log.to_path_buf(),
            child: None,
            pid: Arc::new(AtomicU32::new(0)),
            starts: 0,
            kills: 0,
            ticks_done: 0,
            ticks_now: 0,
            peak_hwm_kb: 0,
            peak_rss_kb: 0,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "agent already running");
        let err = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_idlink"))
            .arg("run")
            .arg("--config")
            .arg(&self.cfg)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn idlink");
        self.pid.store(child.id(), Relaxed);
        self.child = Some(Agent(child));
        self.starts += 1;
        self.ticks_now = 0;
    }

    /// Read memory and CPU of the running agent. Panics if it exited by
    /// itself: the agent must survive everything done to it here.
    pub fn sample(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the agent exited by itself ({status}); its log:\n{}",
                tail(&self.log, 40)
            );
        }
        let pid = child.id();
        if let Ok(text) = fs::read_to_string(format!("/proc/{pid}/status")) {
            self.peak_hwm_kb = self.peak_hwm_kb.max(kb(&text, "VmHWM:"));
            self.peak_rss_kb = self.peak_rss_kb.max(kb(&text, "VmRSS:"));
        }
        if let Some(t) = cpu_ticks(pid) {
            self.ticks_now = t;
        }
    }

    /// SIGKILL, no warning.
    pub fn kill9(&mut self) {
        self.sample();
        let mut child = self.child.take().expect("agent running");
        self.pid.store(0, Relaxed);
        child.kill().unwrap();
        child.wait().unwrap();
        self.kills += 1;
        self.ticks_done += self.ticks_now;
        self.ticks_now = 0;
    }

    /// SIGTERM (drain and checkpoint), then wait for the exit.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        self.sample();
        let mut child = self.child.take().expect("agent running");
        let pid = child.id();
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                self.pid.store(0, Relaxed);
                self.ticks_done += self.ticks_now;
                self.ticks_now = 0;
                return s;
            }
            if start.elapsed() > within {
                panic!("the agent did not stop within {within:?} of SIGTERM");
            }
            if let Some(t) = cpu_ticks(pid) {
                self.ticks_now = t;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// CPU seconds (user + system) of every run so far.
    pub fn cpu_secs(&self) -> f64 {
        (self.ticks_done + self.ticks_now) as f64 / clock_ticks() as f64
    }
}

fn kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: state is the
    // first, utime and stime the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
