//! The sinks a replay sends to: the agent's own ([`crate::sinks::start`]),
//! each started when the first event for it comes, fed [`Batch`]es whose
//! fate is tracked by one [`Ledger`] per batch, so the replay knows exactly
//! which batches were handled.
//!
//! "Handled" means what it means for `idlink run`: accepted by the far end
//! or written to the sink's dead-letter file. The events the sink wrote to
//! its dead-letter file during the replay (rejected again) are told apart
//! by [`dead_letter::appended`]; the rest of a handled batch was accepted.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::acks::{Ledger, SafePoint};
use crate::buffers::BufferConfig;
use crate::config::{Config, SinkKind};
use crate::event::{Batch, Encoded};
use crate::sinks::util::dead_letter;
use crate::sinks::{self, SinkContext, SinkHandle};

/// Events per batch: one acknowledgement (and, for the file sink, one
/// fsync) covers this many.
const BATCH_EVENTS: usize = 500;

/// What became of the events sent to one sink.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SinkCount {
    /// Events handed to the sink (dry run: that would be).
    pub sent: u64,
    /// Accepted by the far end (the file sink: written and fsynced).
    pub acknowledged: u64,
    /// Rejected again, and written to the sink's dead-letter file.
    pub failed_again: u64,
    /// Neither: the sink gave up (stop, or its dead-letter file could not
    /// be written). Only the replayed file still holds them.
    pub not_delivered: u64,
    /// The sink's dead-letter file (HTTP sinks).
    pub dead_letter: Option<PathBuf>,
}

struct Outlet {
    tx: mpsc::Sender<Batch>,
    handle: SinkHandle,
    dead_letter: Option<PathBuf>,
    /// [`dead_letter::appended`] when the sink started.
    dead_before: u64,
    pending: HashMap<Arc<str>, Vec<Encoded>>,
    batches: Vec<(Ledger, u64)>,
}

impl Outlet {
    fn flush(&mut self, source: Arc<str>, events: Vec<Encoded>) {
        if events.is_empty() {
            return;
        }
        let ledger = Ledger::new([]);
        let ack = ledger.register(vec![SafePoint {
            file: 0,
            offset: 1,
            state: 0,
        }]);
        self.batches.push((ledger, events.len() as u64));
        let batch = Batch {
            source,
            events,
            ack,
        };
        // Blocks while the sink's queue is full (it is retrying): the
        // replay reads no faster than the far end takes.
        if let Err(mpsc::error::SendError(b)) = self.tx.blocking_send(batch) {
            b.ack.fail();
        }
    }
}

/// The sinks of one replay.
pub(super) struct Outlets<'c> {
    config: &'c Config,
    runtime: Option<tokio::runtime::Handle>,
    stop: Arc<AtomicBool>,
    open: BTreeMap<String, Outlet>,
    /// Dry run: counted, never started.
    dry: BTreeMap<String, SinkCount>,
    broken: HashMap<String, String>,
}

impl<'c> Outlets<'c> {
    /// Sinks of `config`, run on `runtime`; `None` is a dry run.
    pub(super) fn new(
        config: &'c Config,
        runtime: Option<tokio::runtime::Handle>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Outlets {
            config,
            runtime,
            stop,
            open: BTreeMap::new(),
            dry: BTreeMap::new(),
            broken: HashMap::new(),
        }
    }

    /// Queue `event` (from `source`) for sink `id`. `Err` says why it
    /// cannot be sent (the sink could not start).
    pub(super) fn send(
        &mut self,
        id: &str,
        source: &Arc<str>,
        event: Encoded,
    ) -> Result<(), String> {
        if let Some(why) = self.broken.get(id) {
            return Err(why.clone());
        }
        let Some(rt) = self.runtime.clone() else {
            self.dry.entry(id.to_string()).or_default().sent += 1;
            return Ok(());
        };
        if !self.open.contains_key(id) {
            match self.start(id, &rt) {
                Ok(o) => {
                    self.open.insert(id.to_string(), o);
                }
                Err(why) => {
                    self.broken.insert(id.to_string(), why.clone());
                    return Err(why);
                }
            }
        }
        let Some(outlet) = self.open.get_mut(id) else {
            return Err(format!("sink `{id}` is not running"));
        };
        let pending = outlet.pending.entry(source.clone()).or_default();
        pending.push(event);
        if pending.len() >= BATCH_EVENTS {
            let events = std::mem::take(pending);
            outlet.flush(source.clone(), events);
        }
        Ok(())
    }

    fn start(&self, id: &str, rt: &tokio::runtime::Handle) -> Result<Outlet, String> {
        let mut cfg = self
            .config
            .sinks
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| format!("no sink `{id}` in the configuration"))?
            .clone();
        // A memory buffer that blocks, whatever the sink is configured
        // with: an acknowledgement must mean delivered (a disk buffer
        // acknowledges on storing), nothing may be dropped, and the disk
        // buffer directory belongs to the running agent.
        cfg.buffer = BufferConfig::default();
        let ctx = SinkContext {
            data_dir: &self.config.data_dir,
            runtime: Some(rt),
            shutdown: self.stop.clone(),
            drain_deadline: self.config.shutdown_timeout,
        };
        let (input, handle) =
            sinks::start(&cfg, &ctx).map_err(|e| format!("sink `{id}` cannot start: {e}"))?;
        let tx = input.tx;
        let dead_letter = match &cfg.kind {
            SinkKind::Remote(r) => Some(r.common.dead_letter.clone()),
            _ => None,
        };
        let dead_before = dead_letter.as_deref().map_or(0, dead_letter::appended);
        Ok(Outlet {
            tx,
            handle,
            dead_letter,
            dead_before,
            pending: HashMap::new(),
            batches: Vec::new(),
        })
    }

    /// Send what is queued, close every sink, wait until each has handled
    /// everything (or given up), and count.
    pub(super) fn finish(mut self) -> BTreeMap<String, SinkCount> {
        for o in self.open.values_mut() {
            for (source, events) in std::mem::take(&mut o.pending) {
                o.flush(source, events);
            }
        }
        let mut handles = Vec::new();
        let mut counts = self.dry;
        for (id, o) in self.open {
            // Closing every channel first lets the sinks drain together.
            drop(o.tx);
            handles.push((id, o.handle, o.dead_letter, o.dead_before, o.batches));
        }
        for (id, handle, dl, before, batches) in handles {
            handle.join();
            let sent: u64 = batches.iter().map(|(_, n)| n).sum();
            let handled: u64 = batches
                .iter()
                .filter(|(l, _)| l.acked(0) == Some(1))
                .map(|(_, n)| n)
                .sum();
            let again = dl
                .as_deref()
                .map_or(0, |p| dead_letter::appended(p) - before);
            counts.insert(
                id,
                SinkCount {
                    sent,
                    acknowledged: handled.saturating_sub(again),
                    failed_again: again,
                    not_delivered: sent - handled,
                    dead_letter: dl,
                },
            );
        }
        counts
    }
}
