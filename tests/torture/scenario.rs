//! One run: agent + writers + receiver on a timeline, then a drain and the
//! comparison of what was written with what arrived.

use std::fmt::Write as _;
use std::fs;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::agent::{tail, AgentProc};
use super::receiver::{ChaosReceiver, Phase};
use super::rng::Rng;
use super::writer::{self, Format, Rotation, Stats, WriterCtx, WriterPlan};

/// The sink's `[sinks.out]` table, with `{endpoint}` and `{dir}` filled in
/// per run. A scenario with another buffer adds its keys with [`Self::with`].
#[derive(Debug, Clone)]
pub struct SinkToml {
    text: String,
    /// `batch.max_events`: the unit of the duplicate bound.
    pub max_events: usize,
}

impl SinkToml {
    /// The `http` sink, NDJSON, one request in flight, short backoff, the
    /// default (bounded, in-memory) buffer.
    pub fn http(max_events: usize) -> SinkToml {
        let text = format!(
            r#"[sinks.out]
type = "http"
inputs = ["mail", "okta"]
endpoint = "{{endpoint}}"
compression = "gzip"
batch.max_events = {max_events}
batch.timeout_secs = 0.05
request.concurrency = 1
request.timeout_secs = 5
request.retry_initial_backoff_secs = 0.05
request.retry_max_backoff_secs = 0.5
dead_letter.path = "{{dir}}/dead.ndjson"
"#
        );
        SinkToml { text, max_events }
    }

    /// More keys in the same table, e.g. `buffer.type = "disk"`.
    pub fn with(mut self, keys: &str) -> SinkToml {
        self.text.push_str(keys);
        self.text.push('\n');
        self
    }

    fn render(&self, endpoint: &str, dir: &Path) -> String {
        self.text
            .replace("{endpoint}", endpoint)
            .replace("{dir}", &dir.display().to_string())
    }
}

/// What happens when.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: &'static str,
    pub seed: u64,
    /// Length of the chaos phase (writers running).
    pub duration: Duration,
    /// Receiver behaviour by time since the start (Normal elsewhere).
    pub phases: Vec<(Range<Duration>, Phase)>,
    /// Agent uptime between kills (`None`: never killed).
    pub kill_every: Option<Range<Duration>>,
    /// Time the agent stays dead.
    pub dead_for: Range<Duration>,
    /// Records per second, per stream.
    pub records_per_sec: f64,
    pub rotate_every: Option<Range<Duration>>,
    pub rotations: Vec<Rotation>,
    pub keep: usize,
    /// After the chaos: how long the agent may take to deliver the rest.
    pub drain_timeout: Duration,
    pub sink: SinkToml,
    /// Print a progress line this often (soak runs).
    pub progress: Option<Duration>,
}

/// The outcome.
#[derive(Debug, Default)]
pub struct Report {
    pub name: &'static str,
    pub seed: u64,
    pub max_events: usize,
    pub chaos_secs: f64,
    pub drain_secs: f64,
    pub written: [u64; 2],
    /// Bytes of log written.
    pub written_bytes: u64,
    pub received: u64,
    /// Bytes of OCSF JSON received, duplicates included.
    pub received_bytes: u64,
    pub unique: u64,
    pub lost: u64,
    /// The first missing tokens.
    pub missing: Vec<String>,
    pub dups: u64,
    pub strays: u64,
    pub stray_examples: Vec<String>,
    pub kills: u32,
    pub starts: u32,
    pub renames: u64,
    pub copytruncates: u64,
    pub gzips: u64,
    pub reuse_deletes: u64,
    pub reuse_hits: u64,
    pub reuse_fallbacks: u64,
    pub dropped: u64,
    pub outages: u32,
    pub down_secs: f64,
    pub requests: u64,
    pub answered_429: u64,
    pub answered_503: u64,
    pub with_retry_after: u64,
    /// At the end of the chaos phase, before the drain.
    pub written_at_chaos_end: u64,
    pub received_at_chaos_end: u64,
    pub peak_hwm_kb: u64,
    pub peak_rss_kb: u64,
    /// Peak VmHWM of the runs up to the end of the chaos phase (before
    /// the drain, when the receiver takes everything again).
    pub chaos_hwm_kb: u64,
    pub cpu_secs: f64,
    pub dead_letters: usize,
    pub clean_exit: bool,
    /// The agent's last log lines, for a failure message.
    pub log_tail: String,
}

impl Report {
    /// Fail the test when `failures` is not empty, with the seed, the
    /// table and the agent's last log lines.
    pub fn assert_no_failures(&self, failures: &[String]) {
        assert!(
            failures.is_empty(),
            "seed {}:\n{}\n{}\nagent log tail:\n{}",
            self.seed,
            failures.join("\n"),
            self.table(),
            self.log_tail
        );
    }

    pub fn written_total(&self) -> u64 {
        self.written.iter().sum()
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(s, "  {k:<34} {v}");
        };
        row("scenario / seed", format!("{} / {}", self.name, self.seed));
        row(
            "chaos / drain (s)",
            format!("{:.1} / {:.1}", self.chaos_secs, self.drain_secs),
        );
        row(
            "written (postfix + okta)",
            format!(
                "{} ({} + {})",
                self.written_total(),
                self.written[0],
                self.written[1]
            ),
        );
        row(
            "log MiB written / OCSF MiB received",
            format!(
                "{:.1} / {:.1}",
                self.written_bytes as f64 / 1048576.0,
                self.received_bytes as f64 / 1048576.0
            ),
        );
        row("received (with duplicates)", self.received.to_string());
        row("unique", self.unique.to_string());
        row("lost", self.lost.to_string());
        row(
            "duplicates (bound kills x batch)",
            format!(
                "{} (<= {} x {} = {})",
                self.dups,
                self.kills,
                self.max_events,
                self.kills as u64 * self.max_events as u64
            ),
        );
        row("events without a token", self.strays.to_string());
        row(
            "kill -9 / agent starts",
            format!("{} / {}", self.kills, self.starts),
        );
        row(
            "rotations: rename / copytruncate",
            format!("{} / {}", self.renames, self.copytruncates),
        );
        row(
            "  gzip .1 -> .2.gz / oldest dropped",
            format!("{} / {}", self.gzips, self.dropped),
        );
        row(
            "  inode reuse: deleted / same inode",
            format!(
                "{} / {} (fell back to rename: {})",
                self.reuse_deletes, self.reuse_hits, self.reuse_fallbacks
            ),
        );
        row(
            "receiver outages (s down)",
            format!("{} ({:.1})", self.outages, self.down_secs),
        );
        row(
            "requests / 429 / 503 (Retry-After)",
            format!(
                "{} / {} / {} ({})",
                self.requests, self.answered_429, self.answered_503, self.with_retry_after
            ),
        );
        row(
            "written / received at chaos end",
            format!(
                "{} / {}",
                self.written_at_chaos_end, self.received_at_chaos_end
            ),
        );
        row(
            "peak VmHWM: chaos / all (MiB)",
            format!(
                "{:.1} / {:.1}",
                self.chaos_hwm_kb as f64 / 1024.0,
                self.peak_hwm_kb as f64 / 1024.0
            ),
        );
        row("agent CPU (s, all runs)", format!("{:.1}", self.cpu_secs));
        row("dead letters", self.dead_letters.to_string());
        row("clean exit on SIGTERM", self.clean_exit.to_string());
        s
    }

    /// The delivery guarantee: nothing lost, nothing torn, at most one
    /// batch repeated per crash, nothing dead-lettered, a clean last stop.
    pub fn delivery_failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.lost > 0 {
            f.push(format!(
                "{} events lost, first missing: {:?}",
                self.lost, self.missing
            ));
        }
        if self.strays > 0 {
            f.push(format!(
                "{} events carry no token (torn or mixed records?): {:?}",
                self.strays, self.stray_examples
            ));
        }
        let bound = self.kills as u64 * self.max_events as u64;
        if self.dups > bound {
            f.push(format!(
                "{} duplicates > {} kills x {} events per batch = {bound}",
                self.dups, self.kills, self.max_events
            ));
        }
        if self.dead_letters > 0 {
            f.push(format!("{} events dead-lettered", self.dead_letters));
        }
        if !self.clean_exit {
            f.push("the agent did not exit 0 on SIGTERM".into());
        }
        f
    }
}

fn phase_at(plan: &Plan, t: Duration) -> Phase {
    plan.phases
        .iter()
        .find(|(r, _)| r.contains(&t))
        .map_or(Phase::Normal, |(_, p)| *p)
}

fn agent_config(dir: &Path, sink: &str) -> String {
    format!(
        r#"data_dir = "{d}/data"

[enrich]
local_domains = ["torture.test"]

[sources.mail]
type = "file"
include = ["{d}/logs/mail.log*"]
parser = "postfix"
year = 2026
utc_offset = "+00:00"
scan_interval_secs = 0.1
poll_interval_ms = 10

[sources.okta]
type = "file"
include = ["{d}/logs/okta.ndjson*"]
parser = "okta"
scan_interval_secs = 0.1
poll_interval_ms = 10

{sink}"#,
        d = dir.display()
    )
}

/// Run `plan` start to end.
pub fn run(plan: &Plan) -> Report {
    println!("torture `{}`: seed {} (TORTURE_SEED)", plan.name, plan.seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // TORTURE_KEEP=1 keeps the files, checkpoints and logs of the run.
    if std::env::var_os("TORTURE_KEEP").is_some() {
        println!("  files kept in {}", dir.display());
    }
    fs::create_dir_all(dir.join("logs")).unwrap();
    let mut rng = Rng::new(plan.seed);
    let mut receiver = ChaosReceiver::start(rng.fork());
    let cfg = dir.join("idlink.toml");
    fs::write(
        &cfg,
        agent_config(dir, &plan.sink.render(&receiver.url(), dir)),
    )
    .unwrap();
    let mut agent = AgentProc::new(&cfg, &dir.join("agent.log"));
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = WriterCtx {
        stop: stop.clone(),
        agent_pid: agent.pid.clone(),
        delivered: receiver.delivered_fn(),
        stats: stats.clone(),
    };
    let wplan = WriterPlan {
        records_per_sec: plan.records_per_sec,
        rotate_every: plan.rotate_every.clone(),
        kinds: plan.rotations.clone(),
        keep: plan.keep,
    };
    agent.start();
    let t0 = Instant::now();
    let writers: Vec<_> = Format::ALL
        .iter()
        .map(|&f| writer::spawn(&dir.join("logs"), f, wplan.clone(), rng.fork(), ctx.clone()))
        .collect();

    let mut next_kill = plan.kill_every.as_ref().map(|r| t0 + rng.duration(r));
    let mut restart_at = t0;
    let mut next_progress = plan.progress.map(|p| t0 + p);
    while t0.elapsed() < plan.duration {
        let now = Instant::now();
        receiver.set_phase(phase_at(plan, now - t0));
        if agent.is_running() && next_kill.is_some_and(|t| now >= t) {
            agent.kill9();
            restart_at = now + rng.duration(&plan.dead_for);
        }
        if !agent.is_running() && now >= restart_at {
            agent.start();
            next_kill = plan.kill_every.as_ref().map(|r| now + rng.duration(r));
        }
        agent.sample();
        if next_progress.is_some_and(|t| now >= t) {
            let (got, events) = receiver.with_tally(|t| (t.got.len(), t.events));
            println!(
                "  t={:>5.0}s written {} unique {got} received {events} kills {} phase {:?} VmHWM {} kB",
                (now - t0).as_secs_f64(),
                stats.written.iter().map(|w| w.load(Relaxed)).sum::<u64>(),
                agent.kills,
                receiver.phase(),
                agent.peak_hwm_kb,
            );
            next_progress = plan.progress.map(|p| now + p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    let chaos_secs = t0.elapsed().as_secs_f64();
    let written: [u64; 2] = [0, 1].map(|i| stats.written[i].load(Relaxed));
    let received_at_chaos_end = receiver.with_tally(|t| t.events);
    agent.sample();
    let chaos_hwm_kb = agent.peak_hwm_kb;

    // Drain: receiver up, agent up, until everything arrived or time ran out.
    receiver.set_phase(Phase::Normal);
    if !agent.is_running() {
        agent.start();
    }
    let t1 = Instant::now();
    let total: u64 = written.iter().sum();
    while receiver.with_tally(|t| t.got.len() as u64) < total && t1.elapsed() < plan.drain_timeout {
        agent.sample();
        std::thread::sleep(Duration::from_millis(50));
    }
    // A moment for anything still on its way, so duplicates are counted.
    std::thread::sleep(Duration::from_millis(300));
    let drain_secs = t1.elapsed().as_secs_f64();
    let clean_exit = agent.terminate(Duration::from_secs(40)).success();

    let mut r = Report {
        name: plan.name,
        seed: plan.seed,
        max_events: plan.sink.max_events,
        chaos_secs,
        drain_secs,
        written,
        written_bytes: stats.bytes.load(Relaxed),
        kills: agent.kills,
        starts: agent.starts,
        renames: stats.renames.load(Relaxed),
        copytruncates: stats.copytruncates.load(Relaxed),
        gzips: stats.gzips.load(Relaxed),
        reuse_deletes: stats.reuse_deletes.load(Relaxed),
        reuse_hits: stats.reuse_hits.load(Relaxed),
        reuse_fallbacks: stats.reuse_fallbacks.load(Relaxed),
        dropped: stats.dropped.load(Relaxed),
        outages: receiver.outages,
        down_secs: receiver.down_total.as_secs_f64(),
        written_at_chaos_end: written.iter().sum(),
        received_at_chaos_end,
        peak_hwm_kb: agent.peak_hwm_kb,
        peak_rss_kb: agent.peak_rss_kb,
        chaos_hwm_kb,
        cpu_secs: agent.cpu_secs(),
        dead_letters: fs::read_to_string(dir.join("dead.ndjson")).map_or(0, |t| t.lines().count()),
        clean_exit,
        log_tail: tail(&agent.log, 30),
        ..Report::default()
    };
    if std::env::var_os("TORTURE_KEEP").is_some() {
        std::mem::forget(tmp);
    }
    receiver.with_tally(|t| {
        r.received = t.events - t.strays;
        r.received_bytes = t.event_bytes;
        r.unique = t.got.len() as u64;
        r.dups = t.got.values().map(|&n| n as u64 - 1).sum();
        r.strays = t.strays;
        r.stray_examples = t.stray_examples.clone();
        r.requests = t.requests;
        r.answered_429 = t.answered_429;
        r.answered_503 = t.answered_503;
        r.with_retry_after = t.with_retry_after;
        for (i, f) in Format::ALL.iter().enumerate() {
            for seq in 0..written[i] {
                if !t.got.contains_key(&(f.tag(), seq)) {
                    r.lost += 1;
                    if r.missing.len() < 20 {
                        r.missing.push(format!("{}{seq:010}", f.tag() as char));
                    }
                }
            }
        }
    });
    r
}
