//! Parse + assemble + map + serialise, exactly as the agent does per line
//! (`ParseStage`), over a Postfix log.
//!
//! Input: `$IDLINK_BENCH_POSTFIX` (e.g. the 1 M-line `postfix.log` from
//! `../shared/bench/gen-logs`), else the demo logs. Reports bytes/s; divide
//! by the average line length for lines/s. The whole-process figure (reading,
//! writing, checkpoints) comes from `benches/whole-process.sh`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idlink::transforms::parse::ParseStage;
use idlink_parsers::{Options, Source};

fn input() -> Vec<u8> {
    if let Ok(p) = std::env::var("IDLINK_BENCH_POSTFIX") {
        let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        // A bounded slice keeps one iteration short; 200 k lines is plenty.
        let cut = data
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(200_000)
            .map_or(data.len(), |(i, _)| i + 1);
        return data[..cut].to_vec();
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/demo/");
    let mut data = Vec::new();
    for f in ["postfix.log", "postfix-no-netns.log"] {
        data.extend(std::fs::read(format!("{dir}{f}")).unwrap());
    }
    data
}

fn bench(c: &mut Criterion) {
    let data = input();
    let lines: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let opts = Options {
        reference_time_ms: 1_764_547_200_000,
        local_domains: vec!["example.com".into(), "example.test".into()],
        ..Options::default()
    };
    let mut g = c.benchmark_group("postfix");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("parse_assemble_serialise", |b| {
        b.iter(|| {
            let mut stage = ParseStage::new(Source::Postfix, &opts);
            let mut out = Vec::with_capacity(4096);
            let mut n = 0usize;
            for l in &lines {
                stage.decode(l, &mut out);
                n += out.len();
                out.clear();
            }
            stage.flush(&mut out);
            n + out.len()
        })
    });
    // The same with entity resolution and risk tags, as `idlink run` does.
    let shared = idlink::enrich::Shared::new(
        idlink::enrich::EnrichConfig {
            tenant: "bench".into(),
            local_domains: opts.local_domains.clone(),
            ..Default::default()
        },
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("parse_assemble_enrich_serialise", |b| {
        b.iter(|| {
            let mut stage =
                ParseStage::new(Source::Postfix, &opts).with_enricher(shared.enricher());
            let mut out = Vec::with_capacity(4096);
            let mut n = 0usize;
            for l in &lines {
                stage.decode(l, &mut out);
                n += out.len();
                out.clear();
            }
            stage.flush(&mut out);
            n + out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
