//! The torture run for as long as asked: not part of `cargo test` (the
//! target has `test = false`), run on request with the length in seconds:
//!
//! ```sh
//! TORTURE_SOAK_SECS=3600 cargo test --release --test torture_soak
//! ```
//!
//! Every period (10 minutes, or the whole run if shorter) has a flaky
//! phase, a receiver outage (60 s, or a quarter of a short period) and a
//! second flaky phase; the agent is `kill -9`ed every 2–20 s and the files
//! rotate every 1–5 s. `TORTURE_SEED` replays a run; `TORTURE_RATE` sets
//! records per second per stream (default 200). Prints the figures and
//! exits 1 if anything was lost or duplicated past the bound.
//! `TORTURE_ROTATE_SECS=A-B` and `TORTURE_KILL_SECS=A-B` set the ranges the
//! time between two rotations and between two kills are drawn from
//! (defaults 1-5 and 2-20); a fast pace such as `0.2-0.9` and `0.4-2.5`
//! makes a scan meet a rotation in the middle far more often.
//! `TORTURE_BUFFER=disk` puts a disk buffer in front of the sink (default:
//! the memory buffer).

#[allow(dead_code)]
mod agent_process;
mod sinks_support;
#[path = "torture/mod.rs"]
mod torture;

use std::time::Duration;

use torture::receiver::Phase;
use torture::rng::Rng;
use torture::writer::Rotation;
use torture::{Plan, SinkToml};

fn env_f64(name: &str) -> Option<f64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

/// `A-B` seconds from `name`, as a range of durations.
fn env_secs_range(name: &str) -> Option<std::ops::Range<Duration>> {
    let v = std::env::var(name).ok()?;
    let range = v.split_once('-').and_then(|(a, b)| {
        let (a, b) = (a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?);
        (0.0 < a && a < b).then(|| Duration::from_secs_f64(a)..Duration::from_secs_f64(b))
    });
    Some(range.unwrap_or_else(|| panic!("{name}={v:?} is not a range of seconds such as 0.2-0.9")))
}

fn phases(total: Duration) -> Vec<(std::ops::Range<Duration>, Phase)> {
    let period = total.min(Duration::from_secs(600));
    let outage = Duration::from_secs(60).min(period / 4);
    let mut out = Vec::new();
    let mut start = Duration::ZERO;
    while start < total {
        let at = |f: f64| start + period.mul_f64(f);
        out.push((at(0.1)..at(0.2), Phase::Flaky(0.3)));
        out.push((at(0.4)..at(0.4) + outage, Phase::Down));
        out.push((at(0.7)..at(0.8), Phase::Flaky(0.3)));
        start += period;
    }
    out
}

fn main() {
    let Some(secs) = env_f64("TORTURE_SOAK_SECS") else {
        eprintln!(
            "torture_soak runs only on request: \
             TORTURE_SOAK_SECS=3600 cargo test --release --test torture_soak"
        );
        std::process::exit(2);
    };
    let duration = Duration::from_secs_f64(secs);
    let plan = Plan {
        name: "soak",
        seed: Rng::seed_from_env(),
        duration,
        phases: phases(duration),
        kill_every: Some(
            env_secs_range("TORTURE_KILL_SECS")
                .unwrap_or(Duration::from_secs(2)..Duration::from_secs(20)),
        ),
        dead_for: Duration::ZERO..Duration::from_secs(2),
        records_per_sec: env_f64("TORTURE_RATE").unwrap_or(200.0),
        rotate_every: Some(
            env_secs_range("TORTURE_ROTATE_SECS")
                .unwrap_or(Duration::from_secs(1)..Duration::from_secs(5)),
        ),
        rotations: vec![
            Rotation::Rename,
            Rotation::CopyTruncate,
            Rotation::InodeReuse,
        ],
        keep: 4,
        drain_timeout: Duration::from_secs(300),
        sink: match std::env::var("TORTURE_BUFFER").as_deref() {
            Ok("disk") => SinkToml::http(100).with(
                "buffer = { type = \"disk\", max_bytes = 1073741824, when_full = \"block\" }",
            ),
            Ok("memory") | Err(_) => SinkToml::http(100),
            Ok(other) => panic!("TORTURE_BUFFER={other:?}: memory or disk"),
        },
        progress: Some(Duration::from_secs(30)),
    };
    let r = torture::run(&plan);
    println!("{}", r.table());
    println!(
        "  {:<34} {:.0} events/s written, {:.2} CPU s per 1000 events received",
        "rates",
        r.written_total() as f64 / r.chaos_secs,
        r.cpu_secs * 1000.0 / r.received.max(1) as f64
    );
    let failures = r.delivery_failures();
    if failures.is_empty() {
        println!("soak: 1 passed, 0 failed");
    } else {
        println!(
            "soak FAILED:\n{}\nagent log tail:\n{}",
            failures.join("\n"),
            r.log_tail
        );
        std::process::exit(1);
    }
}
