//! Correlation memory stays bounded: distinct entities through one
//! correlator never hold more than `max_entities`, and the process's
//! resident memory stops growing once the cap is reached.
//!
//! The full 10 million entities run in optimised builds (`cargo test
//! --release --test enrich_memory`, or `cargo bench --bench enrich_memory`,
//! which prints the memory); an unoptimised `cargo test` feeds 1 million
//! through the same code so the suite stays fast.

use idlink::enrich::correlate::{CorrelationConfig, Correlator, Obs, Profile};

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ten_million_distinct_entities_stay_under_the_cap() {
    const CAP: usize = 100_000;
    let n: u128 = if cfg!(debug_assertions) {
        1_000_000
    } else {
        10_000_000
    };
    let mut c = Correlator::new(CorrelationConfig {
        max_entities: CAP,
        max_source_ips: 1_000,
        ..Default::default()
    });
    let t0 = 1_767_000_000_000i64;
    let mut out = Vec::new();
    let mut rss_at_cap = None;
    for e in 0..n {
        let target = [e];
        let obs = Obs {
            time: t0 + (e as i64) / 1000,
            // Every entity gets state: a phish received, and every tenth a
            // failed sign-in from one of many addresses.
            phish_targets: &target,
            subject: (e % 10 == 0).then_some((e, Profile::Standard)),
            signin: (e % 10 == 0).then_some(false),
            src_ip: Some(["198.51.100.1", "198.51.100.2", "203.0.113.3"][(e % 3) as usize]),
            ..Default::default()
        };
        c.observe(&obs, &mut out);
        out.clear();
        if e as usize == 4 * CAP {
            rss_at_cap = rss_kib();
        }
        if e % 100_000 == 0 {
            assert!(c.entities() <= CAP, "{} entities after {e}", c.entities());
            assert!(c.source_ips() <= 1_000);
        }
    }
    assert!(c.entities() <= CAP);
    assert!(c.entities() >= CAP / 2, "the cap is used, not just emptied");
    if let (Some(a), Some(b)) = (rss_at_cap, rss_kib()) {
        // After the cap is reached, millions more entities may not grow
        // memory by more than a generation's worth (allocator slack).
        assert!(b < a + 64 * 1024, "RSS grew from {a} KiB to {b} KiB");
    }
}
