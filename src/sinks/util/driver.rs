//! The engine every HTTP sink runs: batches → requests → bounded concurrent
//! delivery with retries → acknowledgement or dead letter.
//!
//! Each event of an incoming [`Batch`] becomes an [`Item`] holding the
//! event, its encoded piece of a request body and a clone of the batch's
//! [`AckHandle`]. The batch is therefore acknowledged exactly when the last
//! of its items is dropped, which happens only when the far end accepted it
//! or it was written to the dead-letter file. A sink may split one batch
//! over several requests (and one request may hold several batches); the
//! rule stays the same.
//!
//! Retries are unlimited for retriable failures. They end only when the
//! agent is stopping and the drain deadline (`shutdown_timeout_secs`) has passed: the
//! items are then marked failed, so the checkpoint stays before them and
//! the next run sends them again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::client::{gzip, HttpClient};
use super::config::HttpCommon;
use super::dead_letter::{DeadLetter, Rejection};
use super::retry::Backoff;
use crate::acks::AckHandle;
use crate::event::{Batch, Encoded};
use crate::telemetry;

/// How the pieces of a request body are put together.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// Bytes before the first piece.
    pub prefix: &'static [u8],
    /// Bytes between pieces.
    pub separator: &'static [u8],
    /// Bytes after the last piece.
    pub suffix: &'static [u8],
}

/// One event on its way.
#[derive(Debug)]
pub struct Item {
    /// The event.
    pub event: Encoded,
    /// The source it came from.
    pub source: Arc<str>,
    /// Its part of the request body.
    pub piece: Bytes,
    ack: AckHandle,
}

/// Events sent together.
#[derive(Debug)]
pub struct Request {
    /// What the sink partitions by (e.g. a Sentinel stream); empty if none.
    pub partition: Arc<str>,
    /// The events.
    pub items: Vec<Item>,
    /// Body bytes before compression.
    pub size: usize,
    framing: Framing,
}

impl Request {
    fn new(partition: Arc<str>, framing: Framing) -> Self {
        Request {
            partition,
            items: Vec::new(),
            size: framing.prefix.len() + framing.suffix.len(),
            framing,
        }
    }

    fn with_items(partition: Arc<str>, framing: Framing, items: Vec<Item>) -> Self {
        let mut r = Request::new(partition, framing);
        for i in items {
            r.push(i);
        }
        r
    }

    /// Size after adding a piece of `len` bytes.
    fn size_with(&self, len: usize) -> usize {
        let sep = if self.items.is_empty() {
            0
        } else {
            self.framing.separator.len()
        };
        self.size + sep + len
    }

    fn push(&mut self, item: Item) {
        self.size = self.size_with(item.piece.len());
        self.items.push(item);
    }

    /// The uncompressed body.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.size);
        b.extend_from_slice(self.framing.prefix);
        for (i, it) in self.items.iter().enumerate() {
            if i > 0 {
                b.extend_from_slice(self.framing.separator);
            }
            b.extend_from_slice(&it.piece);
        }
        b.extend_from_slice(self.framing.suffix);
        b
    }

    fn split_half(mut self) -> (Request, Request) {
        let tail = self.items.split_off(self.items.len() / 2);
        let p = self.partition.clone();
        (
            Request::with_items(p.clone(), self.framing, self.items),
            Request::with_items(p, self.framing, tail),
        )
    }
}

/// Why an attempt is to be repeated.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Short, fixed label (the metric's `reason`).
    pub kind: &'static str,
    /// Details for the log (never a secret).
    pub detail: String,
    /// The server's `Retry-After`.
    pub after: Option<Duration>,
}

/// The fate of one item in a response with per-item results.
#[derive(Debug, Clone)]
pub enum ItemResult {
    /// Accepted.
    Delivered,
    /// Send it again.
    Retry(Retry),
    /// Rejected for good.
    Reject(Rejection),
}

/// The outcome of one attempt at a request.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// Every event accepted.
    Delivered,
    /// Nothing accepted; try the whole request again.
    Retry(Retry),
    /// Every event rejected for good.
    Reject(Rejection),
    /// Rejected as a whole (too large, or one bad event spoils it): split
    /// in halves and send each; a single event is rejected for good.
    Split(Rejection),
    /// One result per item, in order.
    PerItem(Vec<ItemResult>),
}

/// What [`Api::send`] gets besides the request.
pub struct SendCtx {
    /// Sink id.
    pub id: Arc<str>,
    /// The client.
    pub client: HttpClient,
    /// Shared settings.
    pub common: HttpCommon,
}

/// What makes a sink a Splunk, Elasticsearch, Sentinel or plain HTTP sink.
pub trait Api: Send + Sync + 'static {
    /// Body framing.
    fn framing(&self) -> Framing;
    /// Partition key: events with different keys never share a request.
    fn partition(&self, _event: &Encoded, _source: &str) -> Option<Arc<str>> {
        None
    }
    /// The event's piece of a body; an error dead-letters the event.
    fn encode(&self, event: &Encoded, source: &str) -> Result<Bytes, Rejection>;
    /// True if `batch.max_bytes` is the API's hard limit: an event that
    /// cannot fit alone is dead-lettered instead of sent.
    fn max_bytes_is_hard(&self) -> bool {
        false
    }
    /// One attempt: build the HTTP request around `body` (compressed if
    /// `ctx.common.gzip`), send it and judge the response.
    fn send(
        &self,
        ctx: &SendCtx,
        req: &Request,
        body: Bytes,
    ) -> impl Future<Output = Attempt> + Send;
}

/// When to give up on retrying: after the agent was asked to stop and the
/// drain deadline passed.
#[derive(Debug)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    deadline: Duration,
    since: Mutex<Option<Instant>>,
}

impl Stop {
    /// Watch `flag` (the topology's shutdown flag).
    pub fn new(flag: Arc<AtomicBool>, deadline: Duration) -> Self {
        Stop {
            flag,
            deadline,
            since: Mutex::new(None),
        }
    }

    /// True once retries must end.
    pub fn expired(&self) -> bool {
        if !self.flag.load(Ordering::Acquire) {
            return false;
        }
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        since.get_or_insert_with(Instant::now).elapsed() >= self.deadline
    }

    /// Sleep `d`, or less if retries must end meanwhile.
    pub async fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || self.expired() {
                return;
            }
            tokio::time::sleep(left.min(Duration::from_millis(250))).await;
        }
    }
}

struct Shared<A> {
    api: A,
    ctx: SendCtx,
    dlq: DeadLetter,
    stop: Stop,
    framing: Framing,
}

struct Pending {
    req: Request,
    deadline: tokio::time::Instant,
}

/// Run a sink until its inputs close and every request is settled.
pub async fn run<A: Api>(api: A, ctx: SendCtx, stop: Stop, mut rx: mpsc::Receiver<Batch>) {
    let framing = api.framing();
    let dlq = DeadLetter::new(&ctx.id, &ctx.common.dead_letter);
    let batch = ctx.common.batch;
    let sem = Arc::new(Semaphore::new(ctx.common.concurrency));
    let shared = Arc::new(Shared {
        api,
        ctx,
        dlq,
        stop,
        framing,
    });
    let mut pending: HashMap<Arc<str>, Pending> = HashMap::new();
    let mut tasks = JoinSet::new();
    let empty: Arc<str> = Arc::from("");
    loop {
        let next = pending.values().map(|p| p.deadline).min();
        tokio::select! {
            biased;
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = r {
                    tracing::error!(sink = %shared.ctx.id, error = %e, "delivery task failed");
                }
            }
            b = rx.recv() => {
                let Some(b) = b else { break };
                let mut full = Vec::new();
                let mut rejected = Vec::new();
                for ev in &b.events {
                    let item_piece = shared.api.encode(ev, &b.source);
                    let piece = match item_piece {
                        Ok(p) => p,
                        Err(rej) => {
                            rejected.push((item(ev, &b, Bytes::new()), rej));
                            continue;
                        }
                    };
                    let key = shared.api.partition(ev, &b.source).unwrap_or_else(|| empty.clone());
                    let it = item(ev, &b, piece);
                    let alone = framing.prefix.len() + framing.suffix.len() + it.piece.len();
                    if shared.api.max_bytes_is_hard() && alone > batch.max_bytes {
                        let rej = Rejection {
                            status: None,
                            kind: "too_large",
                            reason: format!(
                                "event needs a {alone}-byte request; the API limit is {} bytes",
                                batch.max_bytes
                            ),
                        };
                        rejected.push((it, rej));
                        continue;
                    }
                    let p = pending.entry(key.clone()).or_insert_with(|| Pending {
                        req: Request::new(key.clone(), framing),
                        deadline: tokio::time::Instant::now() + batch.timeout,
                    });
                    if !p.req.items.is_empty() && p.req.size_with(it.piece.len()) > batch.max_bytes {
                        if let Some(p) = pending.remove(&key) {
                            full.push(p.req);
                        }
                    }
                    let p = pending.entry(key.clone()).or_insert_with(|| Pending {
                        req: Request::new(key.clone(), framing),
                        deadline: tokio::time::Instant::now() + batch.timeout,
                    });
                    p.req.push(it);
                    if p.req.items.len() >= batch.max_events || p.req.size >= batch.max_bytes {
                        if let Some(p) = pending.remove(&key) {
                            full.push(p.req);
                        }
                    }
                }
                drop(b);
                if !rejected.is_empty() {
                    dead_letter(&shared, rejected);
                }
                for req in full {
                    dispatch(&shared, &sem, &mut tasks, req).await;
                }
            }
            _ = sleep_until(next) => {
                let now = tokio::time::Instant::now();
                let due: Vec<Arc<str>> = pending
                    .iter()
                    .filter(|(_, p)| p.deadline <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in due {
                    if let Some(p) = pending.remove(&k) {
                        dispatch(&shared, &sem, &mut tasks, p.req).await;
                    }
                }
            }
        }
    }
    for (_, p) in pending.drain() {
        dispatch(&shared, &sem, &mut tasks, p.req).await;
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(sink = %shared.ctx.id, error = %e, "delivery task failed");
        }
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn item(ev: &Encoded, b: &Batch, piece: Bytes) -> Item {
    Item {
        event: ev.clone(),
        source: b.source.clone(),
        piece,
        ack: b.ack.clone(),
    }
}

/// Wait for a free slot (backpressure: the sink stops reading its channel
/// meanwhile), then deliver `req` in the background.
async fn dispatch<A: Api>(
    shared: &Arc<Shared<A>>,
    sem: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    req: Request,
) {
    if req.items.is_empty() {
        return;
    }
    // The semaphore is never closed, so acquiring cannot fail.
    let Ok(permit) = sem.clone().acquire_owned().await else {
        return;
    };
    tasks.spawn(deliver(shared.clone(), req, permit));
}

async fn deliver<A: Api>(shared: Arc<Shared<A>>, req: Request, _permit: OwnedSemaphorePermit) {
    let id = &shared.ctx.id;
    let common = &shared.ctx.common;
    let mut queue = vec![req];
    while let Some(mut req) = queue.pop() {
        let mut backoff = Backoff::new(common.backoff_initial, common.backoff_max);
        loop {
            if shared.stop.expired() {
                tracing::warn!(sink = %id, events = req.items.len(),
                    "stopping with undelivered events; they are sent again on the next run");
                for it in &req.items {
                    it.ack.fail();
                }
                break;
            }
            let raw = req.body();
            let body = if common.gzip {
                gzip(&raw)
            } else {
                Bytes::from(raw)
            };
            let attempt = shared.api.send(&shared.ctx, &req, body).await;
            match attempt {
                Attempt::Delivered => {
                    telemetry::sink_written(id, req.items.len() as u64, req.size as u64);
                    break;
                }
                Attempt::Retry(r) => {
                    let d = backoff.next_delay(r.after);
                    telemetry::sink_retry(id, r.kind, &r.detail, backoff.attempts(), d);
                    shared.stop.sleep(d).await;
                }
                Attempt::Reject(rej) => {
                    dead_letter(
                        &shared,
                        req.items.into_iter().map(|i| (i, rej.clone())).collect(),
                    );
                    break;
                }
                Attempt::Split(rej) => {
                    if req.items.len() > 1 {
                        tracing::info!(sink = %id, events = req.items.len(), kind = rej.kind,
                            reason = %rej.reason, "request rejected as a whole; splitting it");
                        let (a, b) = req.split_half();
                        queue.push(b);
                        queue.push(a);
                    } else {
                        dead_letter(
                            &shared,
                            req.items.into_iter().map(|i| (i, rej.clone())).collect(),
                        );
                    }
                    break;
                }
                Attempt::PerItem(results) if results.len() == req.items.len() => {
                    let mut retry = Vec::new();
                    let mut dead = Vec::new();
                    let mut reason: Option<Retry> = None;
                    let (mut n, mut bytes) = (0u64, 0u64);
                    for (it, r) in req.items.into_iter().zip(results) {
                        match r {
                            ItemResult::Delivered => {
                                n += 1;
                                bytes += it.piece.len() as u64;
                            }
                            ItemResult::Retry(r) => {
                                if reason.as_ref().is_none_or(|old| r.after > old.after) {
                                    reason = Some(r);
                                }
                                retry.push(it);
                            }
                            ItemResult::Reject(rej) => dead.push((it, rej)),
                        }
                    }
                    telemetry::sink_written(id, n, bytes);
                    dead_letter(&shared, dead);
                    let Some(r) = reason else { break };
                    req = Request::with_items(req.partition.clone(), shared.framing, retry);
                    let d = backoff.next_delay(r.after);
                    telemetry::sink_retry(id, r.kind, &r.detail, backoff.attempts(), d);
                    shared.stop.sleep(d).await;
                }
                Attempt::PerItem(results) => {
                    let d = backoff.next_delay(None);
                    let detail = format!(
                        "{} results for {} events; sending them all again",
                        results.len(),
                        req.items.len()
                    );
                    telemetry::sink_retry(id, "bad_response", &detail, backoff.attempts(), d);
                    shared.stop.sleep(d).await;
                }
            }
        }
    }
}

/// Write rejected items to the dead-letter file. If that fails, the items
/// count as undelivered (their batches fail; the input is read again next
/// run) rather than lost.
fn dead_letter<A>(shared: &Shared<A>, items: Vec<(Item, Rejection)>) {
    if items.is_empty() {
        return;
    }
    let r = shared
        .dlq
        .write(items.iter().map(|(it, rej)| (&it.event, &*it.source, rej)));
    match r {
        Ok(n) => {
            tracing::warn!(sink = %shared.ctx.id, events = n, file = %shared.dlq.path().display(),
                kind = items[0].1.kind, reason = %items[0].1.reason,
                "events rejected by the far end; written to the dead-letter file");
        }
        Err(e) => {
            telemetry::sink_error(&shared.ctx.id, "dead_letter", &e);
            for (it, _) in &items {
                it.ack.fail();
            }
        }
    }
}
