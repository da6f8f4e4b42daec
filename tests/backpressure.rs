//! Memory under backpressure: the receiver is down, then accepts one
//! request (`batch.max_events` events) per second, while the writer
//! produces more than ten times that. The agent must stop reading rather
//! than buffer: its peak resident memory (VmHWM from /proc/PID/status)
//! stays under [`HELD_BACK_BOUND_MIB`] meanwhile and under
//! [`WHOLE_RUN_BOUND_MIB`] while it catches up, and once the receiver takes
//! everything again, nothing is missing.

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

/// Bounds on the agent's peak RSS (debug build, as CI runs it), while held
/// back and over the whole run (the drain at full speed included). Why these
/// numbers: docs/delivery.md, "Memory under backpressure".
const HELD_BACK_BOUND_MIB: f64 = 72.0;
const WHOLE_RUN_BOUND_MIB: f64 = 96.0;

/// What the sink can take per second at most: one request in flight,
/// answered after one second.
const SINK_EVENTS_PER_SEC: f64 = 100.0;

#[test]
fn peak_rss_stays_bounded_while_the_sink_takes_a_tenth() {
    let sink = SinkToml::http(SINK_EVENTS_PER_SEC as usize);
    let plan = Plan {
        name: "backpressure",
        seed: Rng::seed_from_env(),
        duration: Duration::from_secs(45),
        phases: vec![
            (Duration::ZERO..Duration::from_secs(10), Phase::Down),
            (
                Duration::from_secs(10)..Duration::from_secs(3600),
                Phase::Trickle(Duration::from_secs(1)),
            ),
        ],
        kill_every: None,
        dead_for: Duration::ZERO..Duration::ZERO,
        // Per stream: 1200 records/s in all, twelve times the sink.
        records_per_sec: 6.0 * SINK_EVENTS_PER_SEC,
        rotate_every: Some(Duration::from_secs(3)..Duration::from_secs(6)),
        rotations: vec![Rotation::Rename, Rotation::CopyTruncate],
        keep: 1000,
        drain_timeout: Duration::from_secs(120),
        sink,
        progress: None,
    };
    let r = torture::run(&plan);
    println!("{}", r.table());
    let ratio = r.written_at_chaos_end as f64 / r.received_at_chaos_end.max(1) as f64;
    let held_mib = r.chaos_hwm_kb as f64 / 1024.0;
    let peak_mib = r.peak_hwm_kb as f64 / 1024.0;
    println!(
        "  written / received while held back: {ratio:.1}; \
         peak VmHWM held back {held_mib:.1} MiB, whole run {peak_mib:.1} MiB"
    );
    let mut failures = r.delivery_failures();
    if ratio < 10.0 {
        failures.push(format!(
            "the writer produced only {ratio:.1}x what the sink took"
        ));
    }
    if held_mib > HELD_BACK_BOUND_MIB {
        failures.push(format!(
            "peak RSS held back {held_mib:.1} MiB > bound {HELD_BACK_BOUND_MIB} MiB"
        ));
    }
    if peak_mib > WHOLE_RUN_BOUND_MIB {
        failures.push(format!(
            "peak RSS {peak_mib:.1} MiB > bound {WHOLE_RUN_BOUND_MIB} MiB"
        ));
    }
    r.assert_no_failures(&failures);
}
