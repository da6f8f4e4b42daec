//! Postfix decode + assemble + map + `serde_json::to_writer` into a reused
//! buffer, over the first 200k lines of the generated benchmark log
//! (`$IDLINK_BENCH_LOG`, default `/work/bench-data/postfix.log`, made by
//! `shared/bench/gen-logs`), else over the lab sample.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idlink_parsers::{decoder, Options, Source};

const MAX_LINES: usize = 200_000;

fn input() -> (String, Vec<u8>) {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var("IDLINK_BENCH_LOG")
            .map(PathBuf::from)
            .unwrap_or_else(|_| manifest.join("../../bench-data/postfix.log")),
        manifest.join("../../shared/samples/lab-postfix/postfix.log"),
    ];
    for p in candidates {
        if let Ok(data) = std::fs::read(&p) {
            let mut end = 0;
            for (k, _) in data
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .take(MAX_LINES)
            {
                end = k + 1;
            }
            let end = if end == 0 { data.len() } else { end };
            return (p.display().to_string(), data[..end].to_vec());
        }
    }
    panic!("no benchmark input: set IDLINK_BENCH_LOG");
}

fn bench(c: &mut Criterion) {
    let (name, data) = input();
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!(
        "bench input: {name}, {} lines, {} bytes",
        lines.len(),
        data.len()
    );
    let opts = Options {
        reference_time_ms: 1_743_465_600_000, // 2025-04-01
        local_domains: vec![
            "example.com".into(),
            "corp.example.com".into(),
            "example.org".into(),
        ],
        ..Options::default()
    };
    let mut g = c.benchmark_group("postfix");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("decode_map_serialise", |b| {
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        b.iter(|| {
            let mut dec = decoder(Source::Postfix, &opts);
            let mut events = 0usize;
            let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
                buf.clear();
                let _ = serde_json::to_writer(&mut buf, &ev);
                events += 1;
            };
            for (k, l) in lines.iter().enumerate() {
                dec.decode(l, k as u64, &mut sink);
            }
            dec.flush(&mut sink);
            events
        })
    });
    g.bench_function("decode_map_only", |b| {
        b.iter(|| {
            let mut dec = decoder(Source::Postfix, &opts);
            let mut events = 0usize;
            let mut sink = |_ev: &mut idlink_parsers::ocsf::Event<'_>| events += 1;
            for (k, l) in lines.iter().enumerate() {
                dec.decode(l, k as u64, &mut sink);
            }
            dec.flush(&mut sink);
            events
        })
    });
    g.finish();
    let mut dec = decoder(Source::Postfix, &opts);
    let (mut events, mut bytes) = (0usize, 0usize);
    let mut buf = Vec::new();
    let mut sink = |ev: &mut idlink_parsers::ocsf::Event<'_>| {
        buf.clear();
        let _ = serde_json::to_writer(&mut buf, &ev);
        events += 1;
        bytes += buf.len();
    };
    for (k, l) in lines.iter().enumerate() {
        dec.decode(l, k as u64, &mut sink);
    }
    dec.flush(&mut sink);
    eprintln!("events: {events}, JSON bytes: {bytes}");
}

criterion_group!(benches, bench);
criterion_main!(benches);
