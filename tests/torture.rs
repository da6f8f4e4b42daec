//! Delivery under torture (CI size, about three minutes): the real agent
//! tails a Postfix log and an Okta NDJSON log that are rotated every way
//! (rename, copytruncate, gzip of the rotated file while it may still be
//! read, delete and re-create with inode reuse) while it is `kill -9`ed at
//! random moments at least 20 times, and the HTTP receiver is down for 60 s
//! in the middle and answers 429/503 at random around it. At the end every
//! written record must have arrived, with at most one sink batch repeated
//! per crash. `TORTURE_SEED=N` replays a run; the longer run is
//! `tests/torture_soak.rs`.

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

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The CI plan around a sink table.
fn ci_plan(sink: SinkToml) -> Plan {
    Plan {
        name: "ci",
        seed: Rng::seed_from_env(),
        duration: secs(150),
        phases: vec![
            (secs(8)..secs(28), Phase::Flaky(0.3)),
            (secs(35)..secs(95), Phase::Down),
            (secs(105)..secs(125), Phase::Flaky(0.3)),
        ],
        kill_every: Some(Duration::from_millis(1500)..secs(5)),
        dead_for: Duration::ZERO..Duration::from_millis(600),
        records_per_sec: 60.0,
        rotate_every: Some(secs(1)..secs(3)),
        rotations: vec![
            Rotation::Rename,
            Rotation::CopyTruncate,
            Rotation::InodeReuse,
        ],
        keep: 3,
        drain_timeout: secs(60),
        sink,
        progress: None,
    }
}

/// Run the CI plan around `sink` and check the guarantee.
fn check(sink: SinkToml) {
    let plan = ci_plan(sink);
    let r = torture::run(&plan);
    println!("{}", r.table());
    let mut failures = r.delivery_failures();
    // The run did what it claims, or its figures prove nothing.
    let mut need = |ok: bool, what: &str| {
        if !ok {
            failures.push(what.to_string());
        }
    };
    need(r.kills >= 20, "fewer than 20 kill -9");
    need(r.renames > 0, "no rename rotation");
    need(r.copytruncates > 0, "no copytruncate");
    need(r.gzips > 0, "no gzip of a rotated file");
    need(r.reuse_deletes > 0, "no delete and re-create");
    need(r.outages == 1 && r.down_secs >= 59.0, "no 60 s outage");
    need(r.answered_429 > 0 && r.answered_503 > 0, "no 429 and 503");
    need(r.with_retry_after > 0, "no Retry-After");
    r.assert_no_failures(&failures);
}

/// The default, bounded memory buffer: during the outage the sources stop
/// reading and the backlog waits in the log files.
#[test]
fn kill_9_rotation_outage_and_flaky_receiver_lose_nothing() {
    check(SinkToml::http(100));
}

/// The disk buffer: during the outage the sources keep reading, the backlog
/// waits in the buffer's segments, and every `kill -9` can hit the buffer
/// mid-write.
#[test]
fn the_same_through_a_disk_buffer() {
    check(SinkToml::http(100).with(DISK_BUFFER));
}

/// Keys of a disk buffer, as a `[sinks.out]` continuation.
const DISK_BUFFER: &str =
    "buffer = { type = \"disk\", max_bytes = 268435456, when_full = \"block\" }";
