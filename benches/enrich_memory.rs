//! 10 million distinct entities through one correlator: prints how many it
//! holds and the resident memory at the cap and at the end, and fails if
//! the cap does not hold. `cargo bench --bench enrich_memory`.

use std::time::Instant;

use idlink::enrich::correlate::{CorrelationConfig, Correlator, Obs, Profile};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let cap = CorrelationConfig::default().max_entities;
    let n: u128 = 10_000_000;
    let mut c = Correlator::new(CorrelationConfig::default());
    let t0 = 1_767_000_000_000i64;
    let mut out = Vec::new();
    let start = Instant::now();
    let before = rss_kib();
    let mut at_cap = 0;
    let mut peak_entities = 0;
    for e in 0..n {
        let target = [e];
        let obs = Obs {
            time: t0 + (e as i64) / 1000,
            phish_targets: &target,
            subject: (e % 10 == 0).then_some((e, Profile::Standard)),
            signin: (e % 10 == 0).then_some(false),
            src_ip: Some(["198.51.100.1", "198.51.100.2", "203.0.113.3"][(e % 3) as usize]),
            ..Default::default()
        };
        c.observe(&obs, &mut out);
        out.clear();
        peak_entities = peak_entities.max(c.entities());
        if e as usize == 2 * cap {
            at_cap = rss_kib();
        }
    }
    let end = rss_kib();
    println!(
        "enrich_memory: {n} distinct entities in {:.1} s; cap {cap}, peak held {peak_entities}, \
         held at end {}; RSS {before} KiB at start, {at_cap} KiB at 2×cap, {end} KiB at end",
        start.elapsed().as_secs_f64(),
        c.entities()
    );
    assert!(
        peak_entities <= cap,
        "cap exceeded: {peak_entities} > {cap}"
    );
    assert!(
        end < at_cap + 128 * 1024,
        "memory kept growing after the cap"
    );
}
