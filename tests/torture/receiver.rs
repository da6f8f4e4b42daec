//! The far end: an in-process HTTP receiver (from `sinks_support`) that
//! counts every sequence token it accepts, and can be taken down, made
//! flaky (429/503 at random, with and without `Retry-After`) or slow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rng::Rng;
use super::writer::token_of;
use crate::sinks_support::{ok, Handler, Reply, Req, Restartable};

/// What the receiver does now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Accept everything.
    Normal,
    /// Listener closed: connection refused.
    Down,
    /// Answer 429 or 503 to this share of requests (not recorded).
    Flaky(f64),
    /// Accept each request only after this delay: a sink that can take
    /// `max_events` per delay and no more (concurrency 1).
    Trickle(Duration),
}

/// What arrived.
#[derive(Debug, Default)]
pub struct Tally {
    /// (stream tag, sequence) → times received.
    pub got: HashMap<(u8, u64), u32>,
    /// Events received, duplicates included.
    pub events: u64,
    /// Their OCSF JSON, bytes.
    pub event_bytes: u64,
    /// Events that carry no token (a torn or corrupted record would).
    pub strays: u64,
    /// The first few of them.
    pub stray_examples: Vec<String>,
    pub requests: u64,
    pub answered_429: u64,
    pub answered_503: u64,
    /// Of those, how many carried `Retry-After`.
    pub with_retry_after: u64,
}

struct Shared {
    phase: Mutex<Phase>,
    tally: Mutex<Tally>,
    rng: Mutex<Rng>,
}

pub struct ChaosReceiver {
    shared: Arc<Shared>,
    server: Restartable,
    /// Times it was taken down, and for how long in all.
    pub outages: u32,
    pub down_total: Duration,
    down_since: Option<Instant>,
}

impl ChaosReceiver {
    pub fn start(rng: Rng) -> ChaosReceiver {
        let shared = Arc::new(Shared {
            phase: Mutex::new(Phase::Normal),
            tally: Mutex::new(Tally::default()),
            rng: Mutex::new(rng),
        });
        let s = shared.clone();
        let handler: Arc<Handler> = Arc::new(move |req: Req| handle(&s, req));
        ChaosReceiver {
            shared,
            server: Restartable::start(handler),
            outages: 0,
            down_total: Duration::ZERO,
            down_since: None,
        }
    }

    /// The sink's endpoint.
    pub fn url(&self) -> String {
        format!("{}/ingest", self.server.url())
    }

    pub fn set_phase(&mut self, phase: Phase) {
        let was = std::mem::replace(&mut *self.shared.phase.lock().unwrap(), phase);
        if was == phase {
            return;
        }
        if phase == Phase::Down {
            self.server.stop();
            self.outages += 1;
            self.down_since = Some(Instant::now());
        } else if was == Phase::Down {
            self.server.restart();
            if let Some(t) = self.down_since.take() {
                self.down_total += t.elapsed();
            }
        }
    }

    pub fn phase(&self) -> Phase {
        *self.shared.phase.lock().unwrap()
    }

    /// Read the tally.
    pub fn with_tally<T>(&self, f: impl FnOnce(&Tally) -> T) -> T {
        f(&self.shared.tally.lock().unwrap())
    }

    /// A cheap handle to ask whether sequences have arrived.
    pub fn delivered_fn(&self) -> Delivered {
        Delivered(self.shared.clone())
    }
}

/// Whether every record of a range has been received (the writer may only
/// delete a file once it has).
#[derive(Clone)]
pub struct Delivered(Arc<Shared>);

impl Delivered {
    pub fn all(&self, tag: u8, seqs: std::ops::Range<u64>) -> bool {
        let t = self.0.tally.lock().unwrap();
        seqs.into_iter().all(|s| t.got.contains_key(&(tag, s)))
    }
}

fn handle(s: &Shared, req: Req) -> Reply {
    let phase = *s.phase.lock().unwrap();
    let mut tally = s.tally.lock().unwrap();
    tally.requests += 1;
    if let Phase::Flaky(p) = phase {
        let mut rng = s.rng.lock().unwrap();
        if rng.chance(p) {
            let code = if rng.chance(0.5) { 429 } else { 503 };
            let mut headers = Vec::new();
            if rng.chance(0.5) {
                headers.push(("retry-after", "1".to_string()));
                tally.with_retry_after += 1;
            }
            if code == 429 {
                tally.answered_429 += 1;
            } else {
                tally.answered_503 += 1;
            }
            return Reply::Status(code, headers, "try later".into());
        }
    }
    for line in req.body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        tally.events += 1;
        tally.event_bytes += line.len() as u64;
        let v: Option<serde_json::Value> = serde_json::from_slice(line).ok();
        match v.as_ref().and_then(token_of) {
            Some(t) => *tally.got.entry(t).or_insert(0) += 1,
            None => {
                tally.strays += 1;
                if tally.stray_examples.len() < 5 {
                    // The original record says most about how it was torn.
                    // (a framing error has no raw_data: its message says
                    // where and why).
                    let field = |k: &str| v.as_ref().and_then(|v| v[k].as_str());
                    let text = match (field("raw_data"), field("message")) {
                        (Some(raw), _) => format!("raw_data: {raw}"),
                        (None, Some(m)) => format!("message: {m}"),
                        _ => String::from_utf8_lossy(line).into_owned(),
                    };
                    tally.stray_examples.push(text.chars().take(400).collect());
                }
            }
        }
    }
    match phase {
        Phase::Trickle(d) => Reply::After(d, Box::new(ok(""))),
        _ => ok(""),
    }
}
