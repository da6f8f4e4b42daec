//! Outputs. Each sink takes [`Batch`]es from a bounded channel and drops a
//! batch (which acknowledges it, see [`crate::acks`]) only once the far end
//! has it: for [`file`], written, flushed and (by default) fsynced; for the
//! HTTP sinks ([`splunk_hec`], [`elasticsearch`], [`sentinel`], [`http`]),
//! accepted by the far end (for Splunk with indexer acknowledgement:
//! indexed) or written to the dead-letter file.
//!
//! File and stdout sinks are threads; HTTP sinks are tasks on the
//! topology's tokio runtime ([`util::driver`] is their shared engine).

pub mod elasticsearch;
pub mod file;
pub mod http;
pub mod sentinel;
pub mod splunk_hec;
pub mod stdout;
pub mod util;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::buffers::SinkInput;
use crate::config::{SinkConfig, SinkKind};
use crate::event::Batch;
use util::config::HttpCommon;
use util::driver::{self, Api, SendCtx, Stop};

/// Batches queued per sink before its sources block (the memory buffer's
/// default size, and a disk buffer's read-ahead).
pub const CHANNEL_BATCHES: usize = 4;

/// A checked HTTP sink: the shared settings and the API-specific ones.
#[derive(Debug, Clone)]
pub struct RemoteSink {
    /// Endpoint, batching, compression, requests, TLS, dead letter.
    pub common: HttpCommon,
    /// Which API, with its settings.
    pub api: RemoteApi,
}

/// The HTTP sink types.
#[derive(Debug, Clone)]
pub enum RemoteApi {
    /// Splunk HTTP Event Collector.
    SplunkHec(splunk_hec::SplunkHecSettings),
    /// Elasticsearch / OpenSearch `_bulk`.
    Elasticsearch(elasticsearch::ElasticsearchSettings),
    /// Azure Monitor Logs Ingestion API (Microsoft Sentinel).
    Sentinel(sentinel::SentinelSettings),
    /// NDJSON POST.
    Http(http::HttpSettings),
}

/// What a sink needs from the topology.
pub struct SinkContext<'a> {
    /// Where disk buffers live (`<data_dir>/buffers/<sink id>/`).
    pub data_dir: &'a std::path::Path,
    /// The runtime HTTP sinks run on (`None` if there are none).
    pub runtime: Option<&'a tokio::runtime::Handle>,
    /// The agent's stop flag.
    pub shutdown: Arc<AtomicBool>,
    /// How long HTTP sinks keep retrying after a stop request.
    pub drain_deadline: std::time::Duration,
}

enum Join {
    Thread(JoinHandle<()>),
    Task(std::sync::mpsc::Receiver<()>),
}

/// A running sink.
pub struct SinkHandle {
    /// Sink id.
    pub id: String,
    join: Join,
    buffer: crate::buffers::Stage,
}

impl SinkHandle {
    /// Wait until the sink has handled every batch and its inputs closed.
    pub fn join(self) {
        // The buffer ends first (its input closed, or the agent stopped),
        // which closes the sink's channel.
        self.buffer.join(&self.id);
        match self.join {
            Join::Thread(t) => {
                if t.join().is_err() {
                    tracing::error!(sink = %self.id, "sink thread panicked");
                }
            }
            // The task drops the sender when it ends (also by panic).
            Join::Task(rx) => {
                let _ = rx.recv();
            }
        }
    }
}

/// True if `cfg` needs the async runtime.
pub fn is_remote(cfg: &SinkConfig) -> bool {
    matches!(cfg.kind, SinkKind::Remote(_))
}

/// Start `cfg` behind its buffer; returns where its sources write.
pub fn start(cfg: &SinkConfig, ctx: &SinkContext<'_>) -> std::io::Result<(SinkInput, SinkHandle)> {
    let (tx, rx) = mpsc::channel(cfg.buffer.channel_batches());
    let id = cfg.id.clone();
    let (input, buffer) =
        crate::buffers::start(&id, &cfg.buffer, ctx.data_dir, ctx.shutdown.clone(), tx)?;
    let join = match &cfg.kind {
        SinkKind::File {
            path,
            max_bytes,
            max_files,
            fsync,
        } => {
            let sink = file::FileSink::open(&id, path, *max_bytes, *max_files, *fsync)?;
            Join::Thread(spawn(&id, move || {
                sink.run(rx);
            })?)
        }
        SinkKind::Stdout => {
            let id2 = id.clone();
            Join::Thread(spawn(&id, move || stdout::run(&id2, rx))?)
        }
        SinkKind::Remote(remote) => {
            let rt = ctx
                .runtime
                .ok_or_else(|| std::io::Error::other("HTTP sinks need the async runtime"))?;
            Join::Task(start_remote(&id, remote, ctx, rt, rx)?)
        }
    };
    Ok((input, SinkHandle { id, join, buffer }))
}

fn start_remote(
    id: &str,
    remote: &RemoteSink,
    ctx: &SinkContext<'_>,
    rt: &tokio::runtime::Handle,
    rx: mpsc::Receiver<Batch>,
) -> std::io::Result<std::sync::mpsc::Receiver<()>> {
    let client =
        util::client::HttpClient::new(id, &remote.common).map_err(std::io::Error::other)?;
    let send_ctx = SendCtx {
        id: Arc::from(id),
        client: client.clone(),
        common: remote.common.clone(),
    };
    let stop = Stop::new(ctx.shutdown.clone(), ctx.drain_deadline);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    fn go<A: Api>(
        rt: &tokio::runtime::Handle,
        api: A,
        ctx: SendCtx,
        stop: Stop,
        rx: mpsc::Receiver<Batch>,
        done: std::sync::mpsc::Sender<()>,
    ) {
        rt.spawn(async move {
            let _done = done;
            driver::run(api, ctx, stop, rx).await;
        });
    }
    let c = &remote.common;
    match &remote.api {
        RemoteApi::Http(s) => go(
            rt,
            http::HttpApi::new(&c.endpoint, s.clone()),
            send_ctx,
            stop,
            rx,
            done_tx,
        ),
        RemoteApi::SplunkHec(s) => go(
            rt,
            splunk_hec::HecApi::new(&c.endpoint, s.clone()),
            send_ctx,
            stop,
            rx,
            done_tx,
        ),
        RemoteApi::Elasticsearch(s) => go(
            rt,
            elasticsearch::BulkApi::new(&c.endpoint, s.clone()),
            send_ctx,
            stop,
            rx,
            done_tx,
        ),
        RemoteApi::Sentinel(s) => go(
            rt,
            sentinel::SentinelApi::new(&c.endpoint, s.clone(), client),
            send_ctx,
            stop,
            rx,
            done_tx,
        ),
    }
    Ok(done_rx)
}

fn spawn(id: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink-{id}"))
        .spawn(f)
}

/// Take every batch that is ready now (at least one, waiting for it), so a
/// sink writes and syncs them together.
pub(crate) fn recv_ready(rx: &mut mpsc::Receiver<Batch>, max: usize) -> Vec<Batch> {
    match rx.blocking_recv() {
        Some(b) => with_ready(rx, b, max),
        None => Vec::new(),
    }
}

/// `first` and the batches already waiting behind it, `max` at most.
pub(crate) fn with_ready(rx: &mut mpsc::Receiver<Batch>, first: Batch, max: usize) -> Vec<Batch> {
    let mut out = vec![first];
    while out.len() < max {
        match rx.try_recv() {
            Ok(b) => out.push(b),
            Err(_) => break,
        }
    }
    out
}
