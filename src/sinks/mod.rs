//! Outputs. Each sink takes [`Batch`]es from a bounded channel and drops a
//! batch (which acknowledges it, see [`crate::acks`]) only once the far end
//! has it: for [`file`], written, flushed and (by default) fsynced.

pub mod file;
pub mod stdout;

use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::config::{SinkConfig, SinkKind};
use crate::event::Batch;

/// Batches queued per sink before its sources block.
pub const CHANNEL_BATCHES: usize = 8;

/// A running sink.
pub struct SinkHandle {
    /// Sink id.
    pub id: String,
    thread: JoinHandle<()>,
}

impl SinkHandle {
    /// Wait until the sink has handled every batch and its inputs closed.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!(sink = %self.id, "sink thread panicked");
        }
    }
}

/// Start `cfg`; returns the sender its sources write to.
pub fn start(cfg: &SinkConfig) -> std::io::Result<(mpsc::Sender<Batch>, SinkHandle)> {
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let id = cfg.id.clone();
    let thread = match &cfg.kind {
        SinkKind::File {
            path,
            max_bytes,
            max_files,
            fsync,
        } => {
            let sink = file::FileSink::open(&id, path, *max_bytes, *max_files, *fsync)?;
            spawn(&id, move || sink.run(rx))?
        }
        SinkKind::Stdout => {
            let id2 = id.clone();
            spawn(&id, move || stdout::run(&id2, rx))?
        }
    };
    Ok((tx, SinkHandle { id, thread }))
}

fn spawn(id: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink-{id}"))
        .spawn(f)
}

/// Take every batch that is ready now (at least one, waiting for it), so a
/// sink writes and syncs them together.
pub(crate) fn recv_ready(rx: &mut mpsc::Receiver<Batch>, max: usize) -> Vec<Batch> {
    let mut out = Vec::new();
    match rx.blocking_recv() {
        Some(b) => out.push(b),
        None => return out,
    }
    while out.len() < max {
        match rx.try_recv() {
            Ok(b) => out.push(b),
            Err(_) => break,
        }
    }
    out
}
