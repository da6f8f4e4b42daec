//! Wires a [`Config`] into running sources and sinks, and stops them in
//! order: sources stop reading and flush what their parsers hold, sinks
//! drain their queues, sources write their checkpoints last.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::buffers::SinkInput;
use crate::config::Config;
use crate::sinks;
use crate::sources::file::{run_file_source, SourceContext, SourceHandle};
use crate::transforms::parse::ParseStats;
use anyhow::Context;

/// A running agent.
pub struct Topology {
    sources: Vec<SourceHandle>,
    sinks: Vec<sinks::SinkHandle>,
    shutdown: Arc<AtomicBool>,
    /// Entity resolution and correlation shared by every source.
    enrich: Arc<crate::enrich::Shared>,
    /// Stops the enrichment background thread (map reload, snapshots).
    enrich_stop: Arc<AtomicBool>,
    enrich_thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// Runs the HTTP sinks; only built when one is configured, so a
    /// file-only agent stays small.
    runtime: Option<tokio::runtime::Runtime>,
}

/// Worker threads of the HTTP sinks' runtime: request building, gzip and
/// response parsing are light next to the network waits.
pub const SINK_WORKER_THREADS: usize = 2;

/// Start everything in `config`. With `once`, sources stop at the end of
/// their files.
pub fn start(config: &Config, once: bool) -> anyhow::Result<Topology> {
    start_with_stop(config, once, Arc::new(AtomicBool::new(false)))
}

/// Like [`start`], stopping when `shutdown` is set (by a signal handler
/// installed before anything started).
pub fn start_with_stop(
    config: &Config,
    once: bool,
    shutdown: Arc<AtomicBool>,
) -> anyhow::Result<Topology> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    // One correlation state for the whole process, so events of different
    // sources meet; loaded from the last snapshot.
    let enrich = crate::enrich::Shared::new(
        config.enrich.clone(),
        Some(crate::enrich::state_path(&config.data_dir)),
    )
    .map_err(|e| anyhow::anyhow!("enrich: {e}"))?;
    let enrich_stop = Arc::new(AtomicBool::new(false));
    let enrich_thread = Some(
        enrich
            .spawn_background(enrich_stop.clone())
            .context("cannot start the enrichment thread")?,
    );
    let runtime = if config.sinks.iter().any(sinks::is_remote) {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(SINK_WORKER_THREADS)
                .thread_name("idlink-sink")
                .enable_all()
                .build()
                .context("cannot start the sinks' async runtime")?,
        )
    } else {
        None
    };
    let sink_ctx = sinks::SinkContext {
        data_dir: &config.data_dir,
        runtime: runtime.as_ref().map(|r| r.handle()),
        shutdown: shutdown.clone(),
        drain_deadline: config.shutdown_timeout,
    };
    let mut senders: HashMap<String, Vec<SinkInput>> = HashMap::new();
    let mut sink_handles = Vec::new();
    for s in &config.sinks {
        let (tx, handle) =
            sinks::start(s, &sink_ctx).with_context(|| format!("cannot start sink `{}`", s.id))?;
        for input in &s.inputs {
            senders.entry(input.clone()).or_default().push(tx.clone());
        }
        sink_handles.push(handle);
    }
    let mut source_handles = Vec::new();
    for s in &config.sources {
        let ctx = SourceContext {
            data_dir: config.data_dir.clone(),
            local_domains: config.local_domains.clone(),
            enrich: Some(enrich.clone()),
            outputs: senders.remove(&s.id).unwrap_or_default(),
            shutdown: shutdown.clone(),
            once,
            drain_deadline: if once {
                None
            } else {
                Some(config.shutdown_timeout)
            },
        };
        let h = run_file_source(s.clone(), ctx)
            .with_context(|| format!("cannot start source `{}`", s.id))?;
        source_handles.push(h);
    }
    // Senders not handed to a source are dropped here, so each sink's
    // channel closes when its last source finishes.
    drop(senders);
    Ok(Topology {
        sources: source_handles,
        sinks: sink_handles,
        shutdown,
        enrich,
        enrich_stop,
        enrich_thread,
        runtime,
    })
}

impl Topology {
    /// Ask every source to stop reading.
    pub fn stop(&self) {
        self.shutdown.store(true, Ordering::Release);
    }

    /// The flag that [`Topology::stop`] sets (for signal handlers).
    pub fn shutdown_flag(&self) -> Arc<AtomicBool> {
        self.shutdown.clone()
    }

    /// Wait for sources, then sinks, to finish. Returns per-source counts.
    pub fn wait(self) -> anyhow::Result<Vec<(String, ParseStats)>> {
        let mut stats = Vec::new();
        let mut first_err = None;
        for s in self.sources {
            let id = s.id.clone();
            match s.join() {
                Ok(st) => stats.push((id, st)),
                Err(e) => {
                    tracing::error!(source = %id, error = %e, "source failed");
                    first_err.get_or_insert(anyhow::anyhow!("source `{id}`: {e}"));
                }
            }
        }
        for s in self.sinks {
            s.join();
        }
        // Every event has passed the correlator: stop the background thread,
        // which saves the final state; if it could not, try once more here.
        self.enrich_stop.store(true, Ordering::Release);
        let saved = self
            .enrich_thread
            .is_some_and(|t| matches!(t.join(), Ok(Ok(()))));
        if !saved {
            if let Err(e) = self.enrich.save_state() {
                tracing::warn!(error = %e, "cannot write correlation state");
            }
        }
        if let Some(rt) = self.runtime {
            // Every sink task has ended; only idle connections remain.
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }
}
