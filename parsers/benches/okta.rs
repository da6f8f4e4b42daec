//! Okta decode + map + serialise, per event.
//!
//! Input: the first 20,000 lines of `$IDLINK_OKTA_BENCH` (e.g. the
//! `okta.ndjson` written by `shared/bench/gen-logs`), else the shared
//! Okta samples (`shared/samples/okta/events.ndjson`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, Criterion, Throughput};
use idlink_parsers::ocsf::write;
use idlink_parsers::{decoder, Options, Source};

fn records() -> Vec<Vec<u8>> {
    let text = match std::env::var("IDLINK_OKTA_BENCH") {
        Ok(path) => std::fs::read_to_string(path).expect("bench input"),
        Err(_) => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/samples/okta/events.ndjson");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (set IDLINK_OKTA_BENCH)", path.display()))
        }
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(
            std::env::var("IDLINK_BENCH_MAX")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
        )
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

fn bench(c: &mut Criterion) {
    let recs = records();
    let bytes: usize = recs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("okta");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function(
        format!("decode_map_serialize_{}_events_{}_bytes", recs.len(), bytes),
        |b| {
            let mut dec = decoder(Source::Okta, &Options::default());
            let mut buf = Vec::with_capacity(1 << 20);
            b.iter(|| {
                buf.clear();
                for r in &recs {
                    dec.decode(black_box(r), 0, &mut |e| {
                        write::to_out(&e, &mut buf).expect("serialise");
                        buf.push(b'\n');
                    });
                }
                black_box(buf.len())
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);

/// `IDLINK_BENCH_ONCE=1`: one pass over the whole input and exit, for
/// measuring CPU seconds with `/usr/bin/time` instead of wall time.
fn main() {
    if let Ok(mode) = std::env::var("IDLINK_BENCH_ONCE") {
        let recs = records();
        let t0 = std::time::Instant::now();
        if mode == "scan" {
            // The floor: serde_json skipping over every record.
            for r in &recs {
                let _: serde::de::IgnoredAny = serde_json::from_slice(r).expect("json");
            }
            println!("scan {:?}", t0.elapsed());
            return;
        }
        if mode == "ser" {
            // Serialising alone: this crate's writer against serde_json's,
            // over the same mapped events.
            let mut dec = decoder(Source::Okta, &Options::default());
            let mut events = Vec::with_capacity(recs.len());
            for r in &recs {
                dec.decode(r, 0, &mut |e| events.push(std::mem::take(e).into_owned()));
            }
            let mut buf = Vec::with_capacity(1 << 20);
            for round in 0..3 {
                let t = std::time::Instant::now();
                for e in &events {
                    buf.clear();
                    write::to_out(e, &mut buf).expect("serialise");
                }
                let ours = t.elapsed();
                let t = std::time::Instant::now();
                for e in &events {
                    buf.clear();
                    serde_json::to_writer(&mut buf, e).expect("serialise");
                }
                println!(
                    "round {round}: ocsf::write {ours:?}, serde_json {:?}",
                    t.elapsed()
                );
            }
            return;
        }
        let serialise = mode != "map";
        let mut dec = decoder(Source::Okta, &Options::default());
        let mut buf = Vec::with_capacity(1 << 20);
        let mut n = 0usize;
        for r in &recs {
            buf.clear();
            dec.decode(r, 0, &mut |e| {
                if serialise {
                    write::to_out(&e, &mut buf).expect("serialise");
                }
                n += buf.len();
            });
        }
        println!(
            "{} events, {} output bytes, {:?}",
            recs.len(),
            n,
            t0.elapsed()
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
